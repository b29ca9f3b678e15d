"""The label loop feeds training: `triage train --add FILE`, what the card records of it,
`train --if-stale` with the files the card names, and `evaluate --cv --add`.

To stay quick, the bundled part is the seed paragraphs alone (`paragraphs.csv` in a folder of
its own, with the bundled manifest). Every article below was written for these tests; the
made-up brand "Quorvex" occurs nowhere in the bundled data, so a model whose vocabulary has
it was fitted on the analyst's rows.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
from pathlib import Path

import pytest

from triage.cli.app import main
from triage.corpus.labeled import load_labeled

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / "data/articles.csv"
SEED_TRAINING_ROWS = 108  # paragraphs.csv's train rows

# Six articles of five paragraphs, each paragraph with the label a person gives it.
ARTICLES = {
    "quorvex-sues": (
        "Boot Maker Quorvex Sues Online Sellers Over Copies",
        [
            (
                "Quorvex, a maker of hiking boots, sued nineteen online storefronts in a district court in "
                "Ohio on Tuesday, accusing them of selling copies of its Ridgeline model.",
                "legal_action",
            ),
            (
                "The marketplace named in the filing said its automated checks blocked 48,000 suspicious "
                "boot listings in the first half of the year and suspended 600 seller accounts.",
                "platform_metrics",
            ),
            (
                "A Quorvex spokeswoman said the platform's reporting tool was clumsy and that rights owners "
                "were left to police the site themselves.",
                "brand_criticism",
            ),
            (
                "Ohio's attorney general added the storefronts to a state watch list of online sellers "
                "suspected of trading in fake outdoor gear.",
                "regulatory_listing",
            ),
            (
                "Quorvex expects to double its sales in Europe after opening a distribution centre near "
                "Rotterdam this spring.",
                "market_expansion",
            ),
        ],
    ),
    "toy-watch-list": (
        "Watch List Names Four Marketplaces As Fake Toys Spread",
        [
            (
                "On Friday Brussels put out the newest edition of its watch list of counterfeit and piracy markets, "
                "naming four online marketplaces and two physical markets.",
                "regulatory_listing",
            ),
            (
                "Police in Valencia arrested three men suspected of running a warehouse that shipped "
                "imitation Quorvex toys to buyers across Spain.",
                "legal_action",
            ),
            (
                "One of the named marketplaces reported that it had removed 2.3 million listings for fake "
                "toys last year and trained 400 staff to review complaints.",
                "platform_metrics",
            ),
            (
                "A toy industry association accused the marketplaces of treating counterfeits as a cost of "
                "doing business rather than a danger to children.",
                "brand_criticism",
            ),
            (
                "The association represents about two hundred manufacturers and was founded in Brussels "
                "in 1990.",
                "other",
            ),
        ],
    ),
    "quorvex-store": (
        "Quorvex Opens Its First Flagship Store On A Shopping App",
        [
            (
                "Quorvex launched an official flagship store on a large Southeast Asian shopping app, its "
                "first direct online channel in the region.",
                "market_expansion",
            ),
            (
                "The app said its brand protection programme now covers 9,000 brands and that takedown "
                "requests are handled within a day on average.",
                "platform_metrics",
            ),
            (
                "Shoppers in the capital queued outside a pop-up shop on Saturday, where a band played and "
                "free coffee was handed out.",
                "other",
            ),
            (
                "Last year a court in Jakarta ordered a local reseller to pay damages after it sold boots "
                "bearing a forged Quorvex logo.",
                "legal_action",
            ),
            (
                "Analysts expect online spending on outdoor equipment in the region to grow by a fifth each "
                "year until 2030.",
                "market_expansion",
            ),
        ],
    ),
    "annual-review": (
        "Annual Review Keeps Two Shopping Sites On Notorious List",
        [
            (
                "The trade representative's annual review kept two Chinese e-commerce sites on its "
                "notorious markets list and removed a Brazilian one.",
                "regulatory_listing",
            ),
            (
                "Several luxury houses said the review went too easy on platforms that still let sellers "
                "relist fakes within hours of a takedown.",
                "brand_criticism",
            ),
            (
                "One of the listed sites responded that it had passed 1,500 leads about counterfeiters to "
                "police and closed 120,000 shops.",
                "platform_metrics",
            ),
            (
                "The review is based on comments submitted by companies, trade groups and governments over "
                "several months.",
                "other",
            ),
            (
                "Separately, a federal judge froze the accounts of forty sellers who had been selling "
                "counterfeit Quorvex jackets.",
                "legal_action",
            ),
        ],
    ),
    "open-letter": (
        "Quorvex Chief Calls For Boycott Of Largest Marketplace",
        [
            (
                "Quorvex's chief executive wrote an open letter calling the largest marketplace a safe "
                "haven for counterfeiters and asked other brands to join a boycott.",
                "brand_criticism",
            ),
            (
                "The letter came weeks after the company reported a thirty percent rise in online revenue "
                "and announced plans to enter the Indian market.",
                "market_expansion",
            ),
            (
                "The marketplace replied that its image recognition system scans 200 million new product "
                "photos a day and flags copies before they are published.",
                "platform_metrics",
            ),
            (
                "Members of parliament have asked the consumer regulator to examine whether marketplaces "
                "should be liable for fake goods sold by third parties.",
                "regulatory_listing",
            ),
            (
                "The chief executive, who joined the firm in 2019, previously ran a chain of sports shops.",
                "other",
            ),
        ],
    ),
    "settlement": (
        "Wholesale Seller Settles With Quorvex Over Imitation Shoes",
        [
            (
                "Quorvex and a wholesale seller reached a settlement in which the seller agreed to destroy "
                "10,000 pairs of imitation trail shoes.",
                "legal_action",
            ),
            (
                "The settlement was announced in a short statement that did not include financial terms.",
                "other",
            ),
            (
                "The wholesale platform involved said it had introduced identity checks for new sellers and "
                "cut counterfeit complaints by half.",
                "platform_metrics",
            ),
            (
                "Quorvex also said it would begin selling through a second marketplace in Japan from next "
                "month.",
                "market_expansion",
            ),
            (
                "Consumer advocates criticised the platform, saying identity checks came years too late for "
                "buyers who had been sold fakes.",
                "brand_criticism",
            ),
        ],
    ),
}
GOLD = {text: label for _, paragraphs in ARTICLES.values() for text, label in paragraphs}


def cli(*args) -> int:
    return main([str(arg) for arg in args])


def run(capsys, *args) -> tuple[int, str, str]:
    code = cli(*args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def seeds_only(folder: Path) -> Path:
    """A labelled folder holding the seed paragraphs alone (the quick stand-in for data/labeled)."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "data/labeled/paragraphs.csv", folder / "paragraphs.csv")
    return folder


def vocabulary(card_path: Path) -> set[str]:
    from triage.model.predict import load_model

    pipeline = load_model(card_path).pipeline
    words = dict(pipeline.named_steps["features"].transformer_list)["words"]
    return set(words.vocabulary_)


@pytest.fixture(scope="module")
def loop(trained, tmp_path_factory):
    """The loop, scripted: export the label queue of six articles, fill in all 30 labels as a
    person would in a spreadsheet, import them into mine.csv, then `train --add mine.csv`."""
    folder = tmp_path_factory.mktemp("loop")
    articles = folder / "articles"
    articles.mkdir()
    for name, (title, paragraphs) in ARTICLES.items():
        body = "\n\n".join(text for text, _ in paragraphs)
        (articles / f"{name}.txt").write_text(f"{title}\n\n{body}\n", encoding="utf-8")
    mine, queue = folder / "mine.csv", folder / "queue.csv"
    model = ("--model", trained.model_path)
    assert cli("label", articles, "--data", mine, "--export", queue, *model) == 0
    with open(queue, encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream))
    for row in rows:
        row["label"] = GOLD[row["text"]]
    with open(queue, "w", encoding="utf-8", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    assert cli("label", "--import", queue, "--data", mine, "--annotator", "ana") == 0
    card_path = folder / "models/triage.json"
    data = seeds_only(folder / "labeled")
    assert cli("train", "--data", data, "--manifest", MANIFEST, "--add", mine, "--model", card_path) == 0
    return {
        "folder": folder,
        "mine": mine,
        "queued": len(rows),
        "data": data,
        "card_path": card_path,
        "card": json.loads(card_path.read_text(encoding="utf-8")),
    }


def test_thirty_labelled_paragraphs_train_with_the_bundled_data_and_the_card_names_their_file(loop):
    mine = loop["mine"]
    assert loop["queued"] == 30 and len(load_labeled(mine)) == 30
    added = loop["card"]["training"]["added"]
    assert added == [
        {"path": str(mine.resolve()), "sha256": hashlib.sha256(mine.read_bytes()).hexdigest(), "rows": 30}
    ]
    # The fit saw the rows: 30 more training rows, held out in the folds too, and the made-up
    # brand that only they contain is in the saved model's vocabulary.
    assert loop["card"]["training"]["rows"] == SEED_TRAINING_ROWS + 30
    assert loop["card"]["scores"]["cv"]["context"]["n"] == SEED_TRAINING_ROWS + 30
    assert "quorvex" in vocabulary(loop["card_path"])


def test_train_if_stale_retrains_with_the_files_the_card_names(capsys, loop, tmp_path):
    card_path = tmp_path / "triage.json"
    card = {**loop["card"], "schema": 1}  # written by an older triage: stale
    card_path.write_text(json.dumps(card), encoding="utf-8")
    code, _, err = run(
        capsys, "train", "--if-stale", "--data", loop["data"], "--manifest", MANIFEST, "--model", card_path
    )
    assert code == 0, err
    assert f"adding {loop['mine'].resolve()}" in err
    retrained = json.loads(card_path.read_text(encoding="utf-8"))
    assert retrained["schema"] != 1
    assert [entry["path"] for entry in retrained["training"]["added"]] == [str(loop["mine"].resolve())]
    assert retrained["training"]["rows"] == SEED_TRAINING_ROWS + 30
    assert "quorvex" in vocabulary(card_path)


def test_train_if_stale_names_a_missing_added_file_in_one_line_and_keeps_the_model(capsys, loop, tmp_path):
    gone = tmp_path / "gone.csv"
    card = {**loop["card"], "schema": 1}
    card["training"] = {**card["training"], "added": [{"path": str(gone), "sha256": "0" * 64, "rows": 3}]}
    card_path = tmp_path / "triage.json"
    card_path.write_text(json.dumps(card), encoding="utf-8")
    before = card_path.read_bytes()
    code, _, err = run(capsys, "train", "--if-stale", "--data", loop["data"], "--model", card_path)
    assert code == 3 and err.startswith("error: ") and err.count("\n") == 1, err
    assert str(gone) in err and "missing" in err
    assert card_path.read_bytes() == before


def test_an_added_file_that_changed_since_training_makes_the_model_stale(loop, tmp_path):
    from triage.evaluation.training_card import stale_training

    card_path = tmp_path / "models/triage.json"
    card_path.parent.mkdir()
    shutil.copy(loop["card_path"], card_path)
    name = loop["card"]["model_file"]["name"]
    shutil.copy(loop["card_path"].parent / name, card_path.parent / name)
    assert stale_training(card_path) == (None, [loop["mine"].resolve()])
    mine = tmp_path / "mine.csv"
    shutil.copy(loop["mine"], mine)
    reason, files = stale_training(card_path, [mine])
    assert "other --add files" in reason and files == [mine]


def test_train_without_add_says_it_leaves_out_the_files_the_previous_model_added(loop):
    from triage.evaluation.training_card import dropped_additions

    assert dropped_additions(loop["card_path"], []) == [str(loop["mine"].resolve())]
    assert dropped_additions(loop["card_path"], [loop["mine"]]) == []


def test_evaluate_cv_with_add_holds_out_each_standalone_paragraph_as_a_fold_of_its_own(
    capsys, trained, tmp_path
):
    mine = tmp_path / "mine.csv"
    mine.write_text(
        "text,label\n"
        "The court fined the seller of fake Quorvex boots and ordered the stock destroyed.,legal_action\n"
        "Quorvex opened a new shop in Lisbon and plans three more this year.,market_expansion\n"
        "The platform said it closed 5000 stores selling fake Quorvex goods.,platform_metrics\n",
        encoding="utf-8",
    )
    data = seeds_only(tmp_path / "labeled")
    code, out, err = run(
        capsys,
        *("evaluate", "--cv", "--add", mine, "--data", data, "--manifest", MANIFEST),
        *("--model", trained.model_path, "--format", "json", "--jobs", "1"),
    )
    assert code == 0, err
    report = json.loads(out)
    assert report["rows"] == SEED_TRAINING_ROWS + 3  # the three paragraphs were held out and scored
    assert "leave-one-article-out on 111 training rows" in err
    # each its own fold group, and no article: no article tags, no per-article line
    seed_training_articles = {"seed-000", "seed-002", "seed-004"}
    assert report["article_tags"]["articles"] == len(seed_training_articles)
    assert set(report["per_article"]) == seed_training_articles


def test_evaluate_add_without_cv_is_a_usage_error(capsys, trained, tmp_path):
    mine = tmp_path / "mine.csv"
    mine.write_text("text,label\nSome text.,other\n", encoding="utf-8")
    code, _, err = run(capsys, "evaluate", "--add", mine, "--model", trained.model_path)
    assert code == 2 and err.startswith("error: ") and "--add needs --cv" in err


def test_an_added_folder_or_missing_file_is_one_line_naming_it(capsys, tmp_path):
    data = seeds_only(tmp_path / "labeled")
    for path, fragment in ((tmp_path, "is a folder"), (tmp_path / "nope.csv", "no such file")):
        code, _, err = run(capsys, "train", "--data", data, "--add", path, "--model", tmp_path / "m.json")
        assert code == 3 and err.startswith("error: ") and err.count("\n") == 1, err
        assert f"--add {path}" in err and fragment in err


def test_a_simple_file_given_as_data_without_a_split_points_to_add(capsys, tmp_path):
    mine = tmp_path / "mine.csv"
    mine.write_text("text,label\nThe court fined the seller.,legal_action\n", encoding="utf-8")
    code, _, err = run(capsys, "train", "--data", mine, "--model", tmp_path / "m.json")
    assert code == 3 and err.count("\n") == 1 and "--add" in err


def test_too_few_rows_to_fit_is_one_line_not_a_crash(capsys, tmp_path):
    mine = tmp_path / "mine.csv"
    mine.write_text(
        "text,label,split\nThe court fined the seller.,legal_action,train\nSales grew.,market_expansion,train\n",
        encoding="utf-8",
    )
    code, _, err = run(capsys, "train", "--data", mine, "--model", tmp_path / "m.json")
    last = err.splitlines()[-1]
    assert code == 3 and last.startswith("error: cannot fit the model") and "Traceback" not in err, err


def test_without_the_repository_a_user_trains_on_their_own_file_with_data(
    capsys, loop, tmp_path, monkeypatch
):
    """Installed without the repository: no bundled data, no manifest; the labelled file from
    `triage label` (training rows, in articles) is enough."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TRIAGE_ROOT", raising=False)
    code, _, err = run(capsys, "train", "--data", loop["mine"], "--model", "m.json", "--jobs", "1")
    assert code == 0, err
    card = json.loads((tmp_path / "m.json").read_text(encoding="utf-8"))
    assert card["training"]["rows"] == 30 and card["training"]["manifest"] == {}
    assert card["scores"]["cv"]["context"]["n"] == 30
