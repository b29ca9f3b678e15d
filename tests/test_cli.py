"""The `triage` command: each command and option, exit codes, and the installed entry point."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from triage.cli.app import app, main

ROOT = Path(__file__).resolve().parents[1]
ARTICLE = ROOT / "data/raw/004_26175a559591074b.txt"


def run(capsys, *args) -> tuple[int, str, str]:
    code = main([str(arg) for arg in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# --- help ---------------------------------------------------------------------------------
@pytest.mark.parametrize("command", ["train", "evaluate", "predict", "serve", "ingest", "validate"])
def test_every_command_has_help_with_an_example_and_defaults(command):
    result = CliRunner().invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "Example: triage" in result.output
    if command in ("train", "evaluate", "validate"):
        assert "[default: data/labeled]" in result.output


def test_train_help_says_it_replaces_an_existing_model():
    assert "replaced" in CliRunner().invoke(app, ["train", "--help"]).output


# --- predict --------------------------------------------------------------------------------
def test_predict_writes_one_json_object_per_article_naming_the_model(capsys, trained):
    code, out, err = run(capsys, "predict", ARTICLE, "--model", trained.model_path, "--format", "jsonl")
    assert code == 0
    (record,) = [json.loads(line) for line in out.splitlines()]
    assert record["id"] == str(ARTICLE)
    assert record["model"] == trained.card["model_file"]["sha256"][:12]
    assert record["triage_version"]
    assert record["title"].startswith("Alibaba Is Cracking Down")
    paragraph = record["paragraphs"][0]
    assert set(paragraph) >= {
        "index",
        "text",
        "lines",
        "label",
        "probabilities",
        "needs_review",
        "own_probabilities",
    }
    assert abs(sum(paragraph["probabilities"].values()) - 1) < 1e-3
    assert all(set(tag) == {"label", "score", "paragraphs", "threshold"} for tag in record["tags"])


def test_predict_unit_paragraph_labels_each_row_as_it_is(capsys, trained, tmp_path):
    csv_path = tmp_path / "rows.csv"
    csv_path.write_text(
        "id,text\na,The court granted an injunction against the seller.\nb,The brand opened a flagship store.\n"
    )
    code, out, _ = run(
        capsys, "predict", csv_path, "--model", trained.model_path, "--unit", "paragraph", "--format", "jsonl"
    )
    records = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [r["id"] for r in records] == ["a", "b"]
    assert {"label", "probabilities", "needs_review", "model", "triage_version"} <= set(records[0])


def test_predict_csv_has_one_row_per_paragraph_with_its_article_id(capsys, trained):
    code, out, _ = run(capsys, "predict", ARTICLE, "--model", trained.model_path, "--format", "csv")
    lines = out.splitlines()
    assert code == 0 and lines[0].startswith("id,title,paragraph,first_line,last_line,label")
    assert len(lines) - 1 == 13


def test_predict_table_is_for_people(capsys, trained):
    code, out, _ = run(capsys, "predict", ARTICLE, "--model", trained.model_path, "--format", "table")
    assert code == 0 and "tags:" in out


def test_predict_reads_a_directory_in_sorted_order_and_standard_input(capsys, trained, tmp_path, monkeypatch):
    for name in ("b.txt", "a.txt"):
        shutil.copy(ARTICLE, tmp_path / name)
    code, out, _ = run(capsys, "predict", tmp_path, "--model", trained.model_path, "--format", "jsonl")
    assert [json.loads(line)["id"] for line in out.splitlines()] == [
        str(tmp_path / "a.txt"),
        str(tmp_path / "b.txt"),
    ]
    import io

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(ARTICLE.read_bytes())))
    code, out, _ = run(capsys, "predict", "-", "--model", trained.model_path, "--format", "jsonl")
    assert code == 0 and json.loads(out)["id"] == "-"


def test_predict_jsonl_input_with_renamed_columns(capsys, trained, tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps({"key": "x1", "body": ARTICLE.read_text(encoding="utf-8")}) + "\n")
    code, out, _ = run(
        capsys,
        "predict",
        path,
        "--model",
        trained.model_path,
        "--text-column",
        "body",
        "--id-column",
        "key",
        "--format",
        "jsonl",
    )
    assert code == 0 and json.loads(out)["id"] == "x1"


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_an_id_column_that_does_not_exist_is_refused_naming_it(capsys, trained, tmp_path, suffix):
    path = tmp_path / f"in{suffix}"
    text = "Amazon removed six million listings last year, it said in a report."
    if suffix == ".csv":
        path.write_text(f"url,text\nu1,{text}\n")
    else:
        path.write_text(json.dumps({"url": "u1", "text": text}) + "\n")
    code, _, err = run(capsys, "predict", path, "--model", trained.model_path, "--id-column", "uid")
    assert code == 3 and "'uid'" in err and "--id-column" in err


def test_threshold_overrides_the_cards_tag_thresholds(capsys, trained):
    _, out, _ = run(
        capsys, "predict", ARTICLE, "--model", trained.model_path, "--threshold", "0.0", "--format", "jsonl"
    )
    assert len(json.loads(out)["tags"]) == 5  # every label but other reaches 0
    _, out, _ = run(
        capsys, "predict", ARTICLE, "--model", trained.model_path, "--threshold", "1.0", "--format", "jsonl"
    )
    assert json.loads(out)["tags"] == []


def test_explain_adds_the_terms_behind_each_label(capsys, trained):
    _, out, _ = run(
        capsys, "predict", ARTICLE, "--model", trained.model_path, "--explain", "--format", "jsonl"
    )
    paragraphs = json.loads(out)["paragraphs"]
    assert all("explanation" in p for p in paragraphs)
    assert any(p["explanation"] and p["explanation"][0]["weight"] > 0 for p in paragraphs)


def test_no_context_gives_the_paragraph_models_own_probabilities(capsys, trained):
    _, out, _ = run(capsys, "predict", ARTICLE, "--model", trained.model_path, "--format", "jsonl")
    with_context = json.loads(out)
    _, out, _ = run(
        capsys, "predict", ARTICLE, "--model", trained.model_path, "--no-context", "--format", "jsonl"
    )
    without = json.loads(out)
    assert [p["probabilities"] for p in without["paragraphs"]] == [
        p["own_probabilities"] for p in with_context["paragraphs"]
    ]


def test_output_file_is_written_and_an_existing_one_needs_force(capsys, trained, tmp_path):
    target = tmp_path / "out.jsonl"
    assert run(capsys, "predict", ARTICLE, "--model", trained.model_path, "-o", target)[0] == 0
    first = target.read_text()
    code, _, err = run(capsys, "predict", ARTICLE, "--model", trained.model_path, "-o", target)
    assert code == 3 and "already exists (use --force" in err and target.read_text() == first
    assert run(capsys, "predict", ARTICLE, "--model", trained.model_path, "-o", target, "--force")[0] == 0


def test_model_can_be_named_by_the_environment(capsys, trained, monkeypatch):
    monkeypatch.setenv("TRIAGE_MODEL", str(trained.model_path))
    assert run(capsys, "predict", ARTICLE, "--format", "jsonl")[0] == 0


# --- errors are one line with the documented exit code ----------------------------------------
@pytest.mark.parametrize(
    "args, code, message",
    [
        (["predict", "missing.txt"], 3, "no such file"),
        (["predict", ARTICLE, "--model", "missing.json"], 4, "no model at"),
        (["predict", ARTICLE, "--bogus"], 2, "No such option"),
        (["predict", ARTICLE, "--threshold", "2"], 2, "threshold"),
        (["predict"], 2, "Missing argument"),
        (["validate", "--data", "missing"], 3, "no such file or folder"),
    ],
)
def test_errors_are_one_line_with_their_exit_code(capsys, args, code, message):
    got, out, err = run(capsys, *args)
    assert got == code
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err
    assert "Traceback" not in err


def test_debug_shows_the_traceback(capsys):
    from triage.errors import BadInput

    with pytest.raises(BadInput):
        main(["--debug", "predict", "missing.txt"])


def test_the_hint_after_an_unexpected_error_is_a_command_that_shows_the_traceback(
    capsys, tmp_path, monkeypatch
):
    import shlex

    article = tmp_path / "an article.txt"
    article.write_text("A court fined the seller of fake watches.\n", encoding="utf-8")

    def broken_ingest(text):
        raise RuntimeError("a bug in ingestion")

    monkeypatch.setattr("triage.ingestion.article.ingest", broken_ingest)
    code, _, err = run(capsys, "ingest", article)
    assert code == 1 and err.startswith("error: unexpected RuntimeError: a bug in ingestion")
    hint = err.split("for the traceback: ", 1)[1].rstrip().removesuffix(")")
    words = shlex.split(hint)
    assert words[0] == "triage" and words[1:] == ["--debug", "ingest", str(article)]
    with pytest.raises(RuntimeError, match="a bug in ingestion"):
        main(words[1:])


# --- the batch extra's install hint ------------------------------------------------------------
PAGE = "<html><head><title>Fines</title></head><body><p>The court fined the seller.</p></body></html>"


def test_without_the_batch_extra_an_html_page_names_this_checkouts_install_command(
    capsys, trained, tmp_path, monkeypatch
):
    import shlex

    page = tmp_path / "page.html"
    page.write_text(PAGE, encoding="utf-8")
    monkeypatch.setitem(sys.modules, "trafilatura", None)  # as if the extra were not installed
    monkeypatch.chdir(tmp_path)  # elsewhere than the checkout: the paths are written out
    code, _, err = run(capsys, "predict", page, "--model", trained.model_path, "--format", "jsonl")
    assert code == 3 and err.count("\n") == 1
    assert "pip install 'triage[batch]'" not in err
    command = shlex.split(err.split("install the batch extra with ", 1)[1])
    assert command[:6] == [sys.executable, "-m", "pip", "install", "-c", str(ROOT / "constraints.txt")]
    assert command[6:] == ["-e", f"{ROOT}[batch]"]


def test_the_install_command_from_the_checkout_is_the_readmes(monkeypatch):
    from triage.paths import extra_install_command

    monkeypatch.chdir(ROOT)
    command = extra_install_command("batch")
    assert command.endswith("-m pip install -c constraints.txt -e '.[batch]'")
    assert "pip install -c constraints.txt -e '.[batch]'" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_installed_without_a_checkout_the_hint_names_the_extras_requirements(monkeypatch):
    import triage.paths

    monkeypatch.setattr(triage.paths, "checkout_root", lambda: None)
    command = triage.paths.extra_install_command("batch")
    assert "triage" not in command.split("pip install", 1)[1]
    assert "'pyarrow>=15'" in command and "'trafilatura>=1.8'" in command


# --- ingest, validate, evaluate, train -----------------------------------------------------------
def test_ingest_shows_paragraphs_with_line_spans_and_dropped_lines_with_rules(capsys):
    code, out, _ = run(capsys, "ingest", ROOT / "data/raw/003_95466451ce915636.txt", "--show-dropped")
    assert code == 0
    assert "title (line 3): MK Is Accused" in out
    assert "[0] lines 9-9:" in out
    assert "dropped line 1 (navigation): Home >" in out


FURNISHED_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Shoe maker sues marketplace | Example News</title></head>
<body>
<div id="cookie-banner">We use cookies to improve your experience. Accept all cookies?</div>
<nav><a href="/">Home</a> <a href="/business">Business</a> <a href="/tech">Tech</a></nav>
<article>
<h1>Shoe maker sues marketplace over fake trainers</h1>
<p>The shoe maker filed a lawsuit in a federal court on Monday, accusing the marketplace of letting
sellers list thousands of counterfeit trainers.</p>
<p>The complaint asks for damages and for an order that the marketplace remove the listings within a
day of a report from the brand.</p>
<p>A spokesperson for the marketplace said it would fight the claims and that it already removes
infringing listings as soon as rights holders report them.</p>
</article>
<footer>Copyright 2026 Example News. All rights reserved. <a href="/privacy">Privacy</a></footer>
</body></html>
"""


def test_ingest_reads_a_page_as_predict_does(capsys, trained, tmp_path):
    page = tmp_path / "page.html"
    page.write_text(FURNISHED_PAGE, encoding="utf-8")
    code, out, err = run(capsys, "ingest", page, "--show-dropped")
    assert code == 0, err
    assert "<" not in out and "cookie" not in out.lower()
    code, records, _ = run(capsys, "predict", page, "--model", trained.model_path, "--format", "jsonl")
    (record,) = [json.loads(line) for line in records.splitlines()]
    lines = out.splitlines()
    assert lines[0].endswith(f": {record['title']}")
    assert "extracted main text" in lines[1]
    shown = [line for line in lines if line.startswith("[")]
    assert shown == [
        f"[{p['index']}] lines {p['lines'][0]}-{p['lines'][1]}: {p['text']}" for p in record["paragraphs"]
    ]
    assert len(shown) == 3


def test_ingest_refuses_a_file_of_rows_pointing_to_predict(capsys, tmp_path):
    feed = tmp_path / "feed.csv"
    feed.write_text("id,text\na,The court fined the seller.\n", encoding="utf-8")
    code, out, err = run(capsys, "ingest", feed)
    assert code == 3 and out == "" and err.count("\n") == 1
    assert f"triage predict {feed} --format table" in err


def test_validate_reports_counts_and_refuses_a_bad_file(capsys, tmp_path):
    code, out, _ = run(capsys, "validate", "--data", ROOT / "data/labeled")
    assert code == 0 and out.startswith("ok:")
    bad = tmp_path / "paragraphs.csv"
    bad.write_text((ROOT / "data/labeled/paragraphs.csv").read_text().replace(",other,", ",gossip,", 1))
    code, _, err = run(capsys, "validate", "--data", tmp_path)
    assert code == 3 and "label 'gossip'" in err


def test_evaluate_prints_per_label_scores_with_baselines_and_json(capsys, trained, in_repo):
    code, out, _ = run(capsys, "evaluate", "--model", trained.model_path, "--split", "ood")
    assert code == 0
    assert "macro-F1" in out and "baselines (macro-F1): majority" in out and "confusion matrix" in out
    code, out, _ = run(capsys, "evaluate", "--model", trained.model_path, "--format", "json")
    report = json.loads(out)
    assert report["split"] == "test" and report["model"]["per_label"]["other"]["support"] > 0
    assert {"majority", "keyword"} == set(report["baselines"])


def test_evaluate_exits_5_below_the_quality_floor(capsys, trained, in_repo):
    code, _, err = run(capsys, "evaluate", "--model", trained.model_path, "--min-macro-f1", "0.99")
    assert code == 5 and "below the floor" in err
    assert run(capsys, "evaluate", "--model", trained.model_path, "--min-macro-f1", "0.1")[0] == 0


@pytest.mark.slow
def test_evaluate_cv_with_the_training_folds_reproduces_the_cards_score(capsys, trained, in_repo):
    code, out, _ = run(
        capsys, "evaluate", "--model", trained.model_path, "--cv", "--folds", "5", "--format", "json"
    )
    report = json.loads(out)
    assert code == 0 and report["split"] == "cv5"
    assert report["model"]["macro_f1"] == pytest.approx(trained.card["scores"]["cv"]["context"]["macro_f1"])


@pytest.mark.slow
def test_train_without_authored_rows_fits_only_seed_rows(capsys, tmp_path, in_repo):
    code, _, err = run(capsys, "train", "--model", tmp_path / "m.json", "--no-authored")
    card = json.loads((tmp_path / "m.json").read_text())
    assert code == 0 and "macro-F1" in err
    assert card["training"]["include_authored"] is False
    assert card["training"]["rows"] == 108


def test_installed_entry_point_runs_in_a_subprocess(trained):
    executable = Path(sys.executable).with_name("triage")
    result = subprocess.run(
        [str(executable), "predict", str(ARTICLE), "--model", str(trained.model_path)],
        capture_output=True,
        text=True,
        env={**os.environ},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[0])["tags"]
    missing = subprocess.run(
        [str(executable), "predict", "nope.txt"], capture_output=True, text=True, timeout=60
    )
    assert missing.returncode == 3 and missing.stderr.startswith("error: ")


def test_train_if_stale_keeps_a_current_model_and_says_so(capsys, model_copy):
    before = model_copy.read_bytes()
    code, _, err = run(capsys, "train", "--if-stale", "--model", model_copy)
    assert code == 0 and "is current; not retraining" in err
    assert model_copy.read_bytes() == before


def test_a_model_of_another_card_schema_is_refused_by_predict_with_a_retrain_message(capsys, model_copy):
    card = json.loads(model_copy.read_text())
    card["schema"] = 1
    model_copy.write_text(json.dumps(card))
    code, _, err = run(capsys, "predict", ARTICLE, "--model", model_copy)
    assert code == 4 and "card schema 1" in err and "retrain" in err


def test_predict_reports_the_lines_ingestion_dropped_per_article(capsys, trained):
    page = Path(__file__).resolve().parent / "data/articles/styled_news_site_page.txt"
    code, out, _ = run(capsys, "predict", page, "--model", trained.model_path, "--format", "jsonl")
    record = json.loads(out)
    assert code == 0 and record["dropped_lines"] == 20 and record["mostly_foreign"] is False
    assert record["title"] == "Shoe Maker Sues Marketplace Sellers Over Copies Of Its Trail Boot"
    _, table, _ = run(capsys, "predict", page, "--model", trained.model_path, "--format", "table")
    assert "dropped 20 lines of page furniture" in table


def test_an_article_mostly_in_another_language_gets_a_warning_and_no_tags(capsys, trained, tmp_path):
    french = "La marque a déposé une plainte contre les vendeurs de la plateforme pour contrefaçon et elle demande des dommages."
    path = tmp_path / "fr.txt"
    path.write_text(
        "\n".join([french] * 4 + ["The brand sued the sellers over fake bags, its lawyers said."])
    )
    code, out, err = run(capsys, "predict", path, "--model", trained.model_path, "--format", "jsonl")
    record = json.loads(out)
    assert code == 0 and record["tags"] == [] and record["mostly_foreign"] is True
    assert "mostly in another language" in err


def test_training_rows_with_all_take_the_held_out_seeds_but_never_an_ood_set():
    from triage.corpus.labeled import load_labeled
    from triage.evaluation.training import training_rows

    rows = load_labeled(Path(__file__).resolve().parents[1] / "data/labeled")
    everything = training_rows(rows, use_all=True)
    assert "test" in set(everything["split"]) and "ood" not in set(everything["split"])
    assert set(training_rows(rows, include_authored=False)["source"]) == {"seed"}


def test_debug_holds_for_its_own_call_only(capsys):
    """--debug is the call's state, not the module's: the next call without it prints one line."""
    from triage.errors import BadInput

    with pytest.raises(BadInput):
        main(["--debug", "predict", "missing.txt"])
    assert main(["predict", "missing.txt"]) != 0
    assert capsys.readouterr().err.startswith("error: ")
