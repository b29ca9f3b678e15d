"""An analyst's own labels in the simple form `id,text,label` (optionally article_id, title,
split): loaded, validated and scored like the schema's files. Texts written for the tests."""

from __future__ import annotations

import json
from pathlib import Path

from triage.cli.app import main
from triage.corpus.labeled import load_labeled


def run(capsys, *args) -> tuple[int, str, str]:
    code = main([str(arg) for arg in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _two_standalone_paragraphs(folder: Path) -> Path:
    mine = folder / "mine.csv"
    mine.write_text(
        "id,text,label\n"
        "a1,The court granted the shoe maker an injunction against three marketplace sellers.,legal_action\n"
        "a2,The retailer opened twelve flagship stores in the region this year.,market_expansion\n",
        encoding="utf-8",
    )
    return mine


# --------------------------------------------------------------------------
def test_a_simple_id_text_label_csv_is_scored_by_evaluate(capsys, trained, tmp_path, in_repo):
    mine = _two_standalone_paragraphs(tmp_path)
    code, out, err = run(
        capsys, "evaluate", "--data", mine, "--model", trained.model_path, "--format", "json"
    )
    assert code == 0, err
    report = json.loads(out)
    assert report["rows"] == 2 and report["model"]["per_label"]["legal_action"]["support"] == 1


def test_the_simple_form_gets_documented_defaults():
    frame = load_labeled(_write(["article_id,text,label", "x,First paragraph.,other", "x,Second one.,other"]))
    assert list(frame["article_id"]) == ["x", "x"] and list(frame["paragraph"]) == [0, 1]
    assert set(frame["split"]) == {"test"} and set(frame["source"]) == {"analyst"}
    no_ids = load_labeled(_write(["text,label", "Only text here.,other"]))
    assert list(no_ids["article_id"]) == ["row-1"]


def test_a_bad_label_in_a_simple_csv_names_its_row_in_one_line(capsys, tmp_path, trained):
    mine = tmp_path / "mine.csv"
    mine.write_text("id,text,label\na,Fine text.,other\nb,More text.,gossip\n", encoding="utf-8")
    code, _, err = run(capsys, "evaluate", "--data", mine, "--model", trained.model_path)
    assert code == 3 and err.startswith("error: ") and err.count("\n") == 1
    assert "row 2: label 'gossip'" in err


def test_provenance_columns_do_not_stop_a_file_from_loading(tmp_path):
    path = _write(
        [
            "article_id,paragraph,text,text_sha1,label,split,source,annotator",
            "a,0,Text.,{sha},other,train,analyst,ana",
        ]
    )
    assert load_labeled(path)["label"].tolist() == ["other"]


def _write(lines: list[str]) -> Path:
    import hashlib
    import tempfile

    folder = Path(tempfile.mkdtemp())
    path = folder / "file.csv"
    sha = hashlib.sha1(b"Text.").hexdigest()
    path.write_text("\n".join(line.replace("{sha}", sha) for line in lines) + "\n", encoding="utf-8")
    return path


# --- rows without an article_id are standalone paragraphs -------------------------------
def test_evaluate_gives_standalone_paragraphs_no_article_tags(capsys, trained, tmp_path):
    mine = _two_standalone_paragraphs(tmp_path)
    code, out, err = run(
        capsys, "evaluate", "--data", mine, "--model", trained.model_path, "--format", "json"
    )
    assert code == 0, err
    report = json.loads(out)
    assert report["rows"] == 2 and report["article_tags"]["articles"] == 0
    _, table, _ = run(capsys, "evaluate", "--data", mine, "--model", trained.model_path)
    assert "no articles (standalone paragraphs carry no article tags)" in table


SIX_STANDALONE_ROWS = (
    "id,text,label\n"
    "p1,The sportswear maker sued the marketplace in a federal court over fake trainers.,legal_action\n"
    "p2,The marketplace said it removed 40 million fake listings last year.,platform_metrics\n"
    "p3,The trade office kept the marketplace on its list of notorious markets.,regulatory_listing\n"
    "p4,The company opened a new warehouse to serve shoppers in three more countries.,market_expansion\n"
    "p5,The luxury group said the platform still hosts sellers of fake handbags.,brand_criticism\n"
    "p6,Shares of the company rose two percent in early trading.,other\n"
)


def test_evaluate_on_rows_without_article_id_says_they_are_standalone_not_articles(capsys, trained, tmp_path):
    mine = tmp_path / "mine.csv"
    mine.write_text(SIX_STANDALONE_ROWS, encoding="utf-8")
    code, table, err = run(capsys, "evaluate", "--data", mine, "--model", trained.model_path)
    assert code == 0, err
    assert table.splitlines()[0] == "split test: 6 paragraphs (standalone: rows without an article_id)"
    assert "95% interval over standalone paragraphs" in table
    assert "over articles" not in table and "in article context" not in table
    assert "article-tag micro-F1: no articles" in table
    _, out, _ = run(capsys, "evaluate", "--data", mine, "--model", trained.model_path, "--format", "json")
    assert json.loads(out)["standalone_paragraphs"] == 6


def test_evaluate_on_a_mix_counts_the_standalone_rows_and_the_articles(capsys, trained, tmp_path):
    mine = tmp_path / "mine.csv"
    standalone = ["," + line.split(",", 1)[1] for line in SIX_STANDALONE_ROWS.splitlines()[1:]]
    story = "story,The court granted the shoe maker an injunction against three sellers.,legal_action"
    mine.write_text("\n".join(["article_id,text,label", *standalone, story]) + "\n", encoding="utf-8")
    code, table, err = run(capsys, "evaluate", "--data", mine, "--model", trained.model_path)
    assert code == 0, err
    assert table.splitlines()[0] == "split test: 7 paragraphs (in article context; 6 of them standalone)"
    assert "95% interval over articles and standalone paragraphs" in table
    assert "over 1 article\n" in table + "\n"


def test_rows_with_an_article_id_are_articles_and_rows_without_one_standalone(capsys, trained, tmp_path):
    mine = tmp_path / "mine.csv"
    mine.write_text(
        "article_id,text,label\n"
        "story,The court granted the shoe maker an injunction against three sellers.,legal_action\n"
        "story,The marketplace said it removed 40000 listings of fake shoes last year.,platform_metrics\n"
        ",The retailer opened twelve flagship stores in the region this year.,market_expansion\n",
        encoding="utf-8",
    )
    rows = load_labeled(mine)
    assert list(rows["standalone"]) == [False, False, True]
    assert list(rows["article_id"]) == ["story", "story", "row-3"]
    code, out, err = run(
        capsys, "evaluate", "--data", mine, "--model", trained.model_path, "--format", "json"
    )
    assert code == 0, err
    assert json.loads(out)["article_tags"]["articles"] == 1


def test_under_add_simple_rows_train_and_made_up_ids_name_their_file(tmp_path):
    data = tmp_path / "base.csv"
    data.write_text("article_id,text,label,split\nbase,A base paragraph.,other,train\n", encoding="utf-8")
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    first.write_text("text,label\nOne paragraph.,other\nAnother one.,other\n", encoding="utf-8")
    second.write_text("text,label,split\nA third.,other,test\n", encoding="utf-8")
    rows = load_labeled(data, add=[first, second])
    added = rows.iloc[1:]  # after base.csv's row
    assert list(added["article_id"]) == ["first.csv:row-1", "first.csv:row-2", "second.csv:row-1"]
    assert list(added["split"]) == ["train", "train", "test"] and added["standalone"].all()
    assert list(load_labeled(first)["split"]) == ["test", "test"]  # --data keeps the evaluate default


def test_each_added_standalone_paragraph_is_a_fold_group_of_its_own():
    from triage.corpus.labeled import load_manifest
    from triage.evaluation.scores import decision_article_ids, loao_folds

    root = Path(__file__).resolve().parents[1]
    mine = _write(
        [
            "text,label",
            "The court fined the seller of fake boots.,legal_action",
            "The brand opened a new shop in Lisbon.,market_expansion",
        ]
    )
    rows = load_labeled(root / "data/labeled/paragraphs.csv", add=[mine])
    article_ids = decision_article_ids(rows, load_manifest(root / "data/articles.csv"))
    folds = {fold.article_ids: fold for fold in loao_folds(rows, article_ids)}
    for article_id in ("file.csv:row-1", "file.csv:row-2"):
        assert len(folds[(article_id,)].test_index) == 1
    assert len(loao_folds(rows, article_ids, n_folds=5)) == 5


def test_standalone_rows_leave_the_tag_thresholds_to_articles():
    import numpy as np

    from triage.corpus.labeled import LABELS
    from triage.model.context import ArticleContextModel
    from triage.model.tags import DEFAULT_TAG_THRESHOLD

    generator = np.random.default_rng(0)
    probabilities = generator.dirichlet(np.ones(len(LABELS)), size=60)
    gold = [LABELS[i % len(LABELS)] for i in range(60)]
    groups = [f"p{i}" for i in range(60)]
    fitted = ArticleContextModel(labels=LABELS).fit(probabilities, gold, groups, standalone=[True] * 60)
    assert set(fitted.tag_thresholds_.values()) == {DEFAULT_TAG_THRESHOLD}


def test_training_on_the_seeds_alone_keeps_the_analysts_rows(tmp_path):
    from triage.evaluation.training import training_rows

    root = Path(__file__).resolve().parents[1]
    mine = _write(["text,label", "The court fined the seller of fake boots.,legal_action"])
    rows = load_labeled(root / "data/labeled/paragraphs.csv", add=[mine])
    assert set(training_rows(rows, include_authored=False)["source"]) == {"seed", "analyst"}
