"""`triage review`: out-of-fold label issues of a small labelled folder built here, and a
person's decisions recorded with provenance. The folder is a copy of some
project rows with one label flipped by the test; nothing here writes the project's data."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from triage.annotation.review import label_issues
from triage.cli.app import main
from triage.corpus.labeled import LABELS, load_labeled, text_sha1

ROOT = Path(__file__).resolve().parents[1]
# The test's one deliberate error, made in a copy: the first legal_action row of the
# project's independent paragraphs relabelled market_expansion.
FLIPPED_TO = "market_expansion"


def run(capsys, *args) -> tuple[int, str, str]:
    code = main([str(arg) for arg in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture()
def small_folder(tmp_path):
    """A copy of the independent paragraphs (standalone) and four realistic articles, with
    one label flipped; returns the folder."""
    folder = tmp_path / "labeled"
    folder.mkdir()
    standalone = pd.read_csv(ROOT / "data/labeled/independent.csv", dtype=str, keep_default_na=False)
    flipped = standalone.index[standalone["label"] == "legal_action"][0]
    standalone.loc[flipped, "label"] = FLIPPED_TO
    standalone.to_csv(folder / "independent.csv", index=False)
    realistic = pd.read_csv(ROOT / "data/labeled/realistic.csv", dtype=str, keep_default_na=False)
    four = realistic["article_id"].drop_duplicates().head(4)
    realistic[realistic["article_id"].isin(four)].to_csv(folder / "realistic.csv", index=False)
    return folder, standalone.loc[flipped, "article_id"]


def test_confident_learning_flags_a_row_another_label_reaches_its_threshold():
    rows = pd.DataFrame({"label": ["legal_action", "legal_action", "other", "other"], "text": list("abcd")})
    # legal_action rows average 0.8 on legal_action (its threshold); the last `other` row
    # reaches 0.9 there, the third `other` row only 0.1
    probabilities = np.zeros((4, len(LABELS)))
    probabilities[:, LABELS.index("legal_action")] = [0.9, 0.7, 0.1, 0.9]
    probabilities[:, LABELS.index("other")] = [0.1, 0.3, 0.9, 0.1]
    issues = label_issues(rows, probabilities, list(LABELS))
    assert issues["text"].tolist() == ["d"] and issues.loc[0, "model_label"] == "legal_action"
    assert issues.loc[0, "normalized_margin"] == pytest.approx(-0.8)
    assert issues.loc[0, "threshold_model_label"] == pytest.approx(0.8)


ONE_ROW_OF_EACH_LABEL = (
    "id,text,label,split\n"
    "r1,The sportswear maker sued the marketplace in a federal court over fake trainers.,legal_action,train\n"
    "r2,The marketplace said it removed 40 million fake listings last year.,platform_metrics,train\n"
    "r3,The trade office kept the marketplace on its list of notorious markets.,regulatory_listing,train\n"
    "r4,The company opened a new warehouse to serve shoppers in three more countries.,market_expansion,train\n"
    "r5,The luxury group said the platform still hosts sellers of fake handbags.,brand_criticism,train\n"
    "r6,Shares of the company rose two percent in early trading.,other,train\n"
)


def test_review_of_too_few_rows_says_so_and_shows_probabilities_instead_of_flags(capsys, trained, tmp_path):
    mine = tmp_path / "mine.csv"
    mine.write_text(ONE_ROW_OF_EACH_LABEL, encoding="utf-8")
    code, out, err = run(capsys, "review", "--data", mine, "--model", trained.model_path, "--format", "jsonl")
    assert code == 0, err
    assert "confidently contradicted" not in err
    assert "too few training rows for confident learning: it needs 10 of each label used" in err
    assert "legal_action 1" in err and "other 1" in err
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["article_id"] for r in records] == ["r1", "r2", "r3", "r4", "r5", "r6"]  # file order, no ranks
    assert all("rank" not in r and "normalized_margin" not in r for r in records)
    for record in records:
        assert record["p_given"] == record[f"p_{record['given_label']}"]
        assert sum(record[f"p_{label}"] for label in LABELS) == pytest.approx(1, abs=1e-3)
    code, table, _ = run(capsys, "review", "--data", mine, "--model", trained.model_path)
    assert table.splitlines()[0].startswith("  r1 paragraph 0: given legal_action ")
    assert " out of fold; top " in table


def test_confident_learning_needs_the_minimum_of_every_label_the_rows_use():
    from triage.annotation.review import CONFIDENT_LEARNING_MIN_ROWS_PER_LABEL as minimum
    from triage.annotation.review import labels_below_minimum

    enough = pd.DataFrame({"label": ["legal_action"] * minimum + ["other"] * minimum})
    assert labels_below_minimum(enough) == {}  # labels nobody gave need no rows
    short = pd.DataFrame({"label": ["legal_action"] * minimum + ["other"] * (minimum - 1)})
    assert labels_below_minimum(short) == {"other": minimum - 1}


def review_output(capsys, trained, folder, *options):
    code, out, err = run(
        capsys, "review", "--data", folder, "--model", trained.model_path, "--folds", "3", *options
    )
    assert code == 0, err
    return out


def test_review_puts_the_flipped_row_first_with_both_labels(capsys, trained, small_folder):
    folder, flipped = small_folder
    records = [
        json.loads(line) for line in review_output(capsys, trained, folder, "--format", "jsonl").splitlines()
    ]
    first = records[0]
    assert first["article_id"] == flipped and first["given_label"] == FLIPPED_TO
    assert first["model_label"] == "legal_action" and first["p_model"] > first["p_given"]
    assert {"text", "paragraph", "normalized_margin", "decision", "new_label"} <= set(first)
    assert [r["rank"] for r in records] == list(range(1, len(records) + 1))


def test_review_scores_article_rows_and_standalone_rows_out_of_fold():
    from triage.annotation.review import review_out_of_fold
    from triage.corpus.labeled import load_labeled as load
    from triage.evaluation.training import CHOSEN_SETTINGS

    rows = load(ROOT / "data/labeled/paragraphs.csv")
    rows = rows[rows["split"] == "train"].head(60)  # the first 60 seed training rows: two articles
    standalone = pd.read_csv(ROOT / "data/labeled/independent.csv", dtype=str, keep_default_na=False).head(60)
    standalone["paragraph"] = standalone["paragraph"].astype(int)
    both = pd.concat([rows, standalone], ignore_index=True)
    settings = CHOSEN_SETTINGS.replace(word_ngrams=(1, 1), char_ngrams=None)
    scored, probabilities, _ = review_out_of_fold(both, settings, n_folds=3)
    assert sorted(map(tuple, scored[["article_id", "paragraph"]].values.tolist())) == sorted(
        map(tuple, both[["article_id", "paragraph"]].values.tolist())
    )
    assert probabilities.shape == (len(both), 6)


def test_review_table_and_top(capsys, trained, small_folder):
    folder, flipped = small_folder
    out = review_output(capsys, trained, folder, "--top", "1")
    assert out.startswith(f"  1. {flipped} paragraph 0: given {FLIPPED_TO}") and "  2. " not in out


def test_apply_relabels_and_keeps_with_provenance_and_a_log(capsys, trained, small_folder, tmp_path):
    folder, flipped = small_folder
    out = review_output(capsys, trained, folder, "--format", "csv", "--top", "3")
    decisions = pd.read_csv(io.StringIO(out), dtype=str, keep_default_na=False)
    # a person read the three rows: the first is a lawsuit, the other two keep their labels
    decisions["decision"] = ["relabel" if a == flipped else "keep" for a in decisions["article_id"]]
    decisions.loc[decisions["article_id"] == flipped, "new_label"] = "legal_action"
    sheet = tmp_path / "decisions.csv"
    decisions.to_csv(sheet, index=False)
    before = load_labeled(folder)
    code, _, err = run(capsys, "review", "--data", folder, "--apply", sheet, "--annotator", "rev")
    assert code == 0 and "recorded 1 relabelled and 2 kept" in err, err
    table = pd.read_csv(folder / "independent.csv", dtype=str, keep_default_na=False)
    row = table[table["article_id"] == flipped].iloc[0]
    assert row["label"] == "legal_action" and row["previous_label"] == FLIPPED_TO
    assert row["review_decision"] == "relabel" and row["reviewed_by"] == "rev" and row["reviewed_at"]
    after = load_labeled(folder)
    assert (after["label"] != before["label"]).sum() == 1
    log = pd.read_csv(folder / "review-log.csv", dtype=str, keep_default_na=False)
    assert log["decision"].tolist().count("keep") == 2
    assert log[log["decision"] == "relabel"][["old_label", "new_label"]].values.tolist() == [
        [FLIPPED_TO, "legal_action"]
    ]


def test_review_csv_neutralises_formula_cells_and_apply_reads_them_back(
    capsys, trained, small_folder, tmp_path
):
    """A row whose id and text start like spreadsheet formulas: the CSV holds them with a
    leading ', and --apply finds the row by its real id and text sha1."""
    folder, flipped = small_folder
    table = pd.read_csv(folder / "independent.csv", dtype=str, keep_default_na=False)
    row = table["article_id"] == flipped
    text = "=" + table.loc[row, "text"].iloc[0]
    table.loc[row, ["article_id", "text", "text_sha1"]] = ["@" + flipped, text, text_sha1(text)]
    table.to_csv(folder / "independent.csv", index=False)
    out = review_output(capsys, trained, folder, "--format", "csv", "--top", "1")
    (shown,) = list(csv.DictReader(io.StringIO(out)))
    assert shown["article_id"] == "'@" + flipped and shown["text"] == "'" + text
    shown.update(decision="relabel", new_label="legal_action")
    sheet = tmp_path / "decisions.csv"
    pd.DataFrame([shown]).to_csv(sheet, index=False)
    code, _, err = run(capsys, "review", "--data", folder, "--apply", sheet, "--annotator", "rev")
    assert code == 0 and "recorded 1 relabelled" in err, err
    after = pd.read_csv(folder / "independent.csv", dtype=str, keep_default_na=False)
    (changed,) = after[after["article_id"] == "@" + flipped].to_dict("records")
    assert changed["label"] == "legal_action" and changed["text"] == text


def test_the_review_table_prints_no_escape_sequences_from_the_text():
    from triage.annotation.review import render_review_table

    issues = pd.DataFrame(
        [
            {
                "rank": 1,
                "article_id": "id\x1b]0;owned\x07",
                "paragraph": 0,
                "given_label": "other",
                "p_given": 0.1,
                "model_label": "legal_action",
                "p_model": 0.9,
                "text": "The court \x1b[2J\x1b[31mruled\x1b[0m against the seller.\x08\x08",
            }
        ]
    )
    shown = render_review_table(issues)
    assert "\x1b" not in shown and "\x08" not in shown and "\x07" not in shown
    assert "The court ruled against the seller." in shown


def test_apply_with_one_bad_row_names_it_and_changes_nothing(capsys, small_folder, tmp_path):
    folder, flipped = small_folder
    before = (folder / "independent.csv").read_bytes()
    sheet = tmp_path / "decisions.csv"
    sheet.write_text(
        f"article_id,paragraph,decision,new_label\n{flipped},0,relabel,legal_action\n{flipped},0,relabel,gossip\n",
        encoding="utf-8",
    )
    code, _, err = run(capsys, "review", "--data", folder, "--apply", sheet)
    assert code == 3 and "row 2: new_label 'gossip'" in err and err.count("\n") == 1
    assert (folder / "independent.csv").read_bytes() == before
    assert not (folder / "review-log.csv").exists()


def test_apply_refuses_a_row_whose_text_changed_since_the_review(capsys, small_folder, tmp_path):
    folder, flipped = small_folder
    sheet = tmp_path / "decisions.csv"
    sheet.write_text(
        f"article_id,paragraph,text_sha1,decision,new_label\n{flipped},0,{text_sha1('old text')},keep,\n",
        encoding="utf-8",
    )
    code, _, err = run(capsys, "review", "--data", folder, "--apply", sheet)
    assert code == 3 and "changed since the review" in err


@pytest.mark.parametrize("command", ["label", "review"])
def test_label_and_review_help_give_an_example(command):
    from typer.testing import CliRunner

    from triage.cli.app import app

    result = CliRunner().invoke(app, [command, "--help"])
    assert result.exit_code == 0 and f"Example: triage {command}" in result.output
