"""`triage label`: the queue, the analyst's file, the key loop, export/import, and the simple
`id,text,label` form. Every text here was written for the project's tests."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from triage.annotation.queue import LabelFile, build_queue, read_label_file, uncertainty_scores
from triage.annotation.session import LABEL_KEYS, LabelSession, label_interactively
from triage.annotation.spreadsheet import import_labels
from triage.cli.app import main
from triage.corpus.labeled import COLUMNS, LABELS, load_labeled
from triage.records import InputRecord

# An article written for these tests: a headline, then five paragraphs on different topics.
ARTICLE = """Shoe Brand Takes Marketplace Sellers To Court Over Copied Trainers

A sportswear maker filed a lawsuit in a federal court on Monday against forty sellers on an online marketplace, claiming trademark infringement and asking for an injunction.

The marketplace said it removed 12,000 listings of the trainers last quarter and closed 300 seller accounts, using image recognition to find copies before they went on sale.

The brand's chief executive criticised the platform, saying its takedown process was slow and that it paid lip service to protecting designers.

Separately, the trade representative's office kept the marketplace on its notorious markets list in its annual review published in January.

The brand also plans to open twenty flagship stores across Southeast Asia next year as its online sales grew by a third.
"""


def run(capsys, *args) -> tuple[int, str, str]:
    code = main([str(arg) for arg in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def keys(*pressed: str):
    """A read-key function that presses these keys in order."""
    queue = list(pressed)
    return lambda: queue.pop(0)


@pytest.fixture()
def article_path(tmp_path) -> Path:
    path = tmp_path / "articles" / "shoe-brand.txt"
    path.parent.mkdir()
    path.write_text(ARTICLE, encoding="utf-8")
    return path


@pytest.fixture()
def model(trained):
    return trained.model


def queue_for(model, labelled=None, strategy="margin", seed=0):
    labelled = labelled if labelled is not None else pd.DataFrame(columns=list(COLUMNS))
    return build_queue([InputRecord("shoe-brand", ARTICLE)], model, labelled, strategy, seed)


# --- the queue ----------------------------------------------------------------------------------
def test_margin_puts_the_closest_top_two_first_and_entropy_the_flattest():
    probabilities = [[0.9, 0.1, 0, 0, 0, 0], [0.45, 0.4, 0.15, 0, 0, 0], [0.4, 0.2, 0.2, 0.2, 0, 0]]
    assert list(uncertainty_scores(probabilities, "margin").argsort()[::-1]) == [1, 2, 0]
    assert uncertainty_scores(probabilities, "entropy").argmax() == 2
    assert list(uncertainty_scores(probabilities, "random", seed=3)) == list(
        uncertainty_scores(probabilities, "random", seed=3)
    )


def test_the_queue_holds_every_paragraph_ranked_by_margin_with_suggestions_and_terms(model):
    queue = queue_for(model)
    assert len(queue) == 5
    margins = [
        sorted(item.probabilities.values())[-1] - sorted(item.probabilities.values())[-2] for item in queue
    ]
    assert margins == sorted(margins)
    assert all(item.title.startswith("Shoe Brand") for item in queue)
    assert any(item.terms for item in queue)
    by_index = {item.paragraph: item for item in queue}
    assert by_index[1].previous_text == by_index[0].text and by_index[4].next_text is None


def test_paragraphs_already_labelled_exactly_or_nearly_leave_the_queue(model, tmp_path):
    queue = queue_for(model)
    label_file = LabelFile(tmp_path / "mine.csv", annotator="ana")
    first = next(item for item in queue if item.paragraph == 4)
    label_file.record(first, "market_expansion", suggestion=first.suggestion)
    assert first.text not in [item.text for item in queue_for(model, label_file.rows)]
    # the same paragraph with a few words added, labelled under another article
    lawsuit = next(item for item in queue if item.paragraph == 0)
    edited = replace(lawsuit, article_id="elsewhere", text=lawsuit.text + " Shares fell.")
    label_file.record(edited, "legal_action", suggestion="legal_action")
    remaining = [item.paragraph for item in queue_for(model, label_file.rows)]
    assert 0 not in remaining and len(remaining) == 3


# --- the loop -----------------------------------------------------------------------------------
def session(model, path, *pressed, blind=False):
    out = io.StringIO()
    label_file = LabelFile(path, annotator="ana", model_sha=model.short_sha, strategy="margin")
    summary = LabelSession(queue_for(model, label_file.rows), label_file, keys(*pressed), out, blind).run()
    return summary, out.getvalue(), label_file


def test_each_key_writes_its_label_at_once_with_provenance(model, tmp_path):
    path = tmp_path / "mine.csv"
    summary, _, _ = session(model, path, "3", "q")
    assert summary.labelled == 1 and summary.quit
    (row,) = pd.read_csv(path, dtype=str, keep_default_na=False).to_dict("records")
    assert row["label"] == "legal_action" and row["annotator"] == "ana" and row["split"] == "train"
    assert row["model_sha"] == model.short_sha and row["strategy"] == "margin"
    assert row["suggestion"] in LABELS and row["source_file"] == "shoe-brand" and row["first_line"]
    assert row["labeled_at"].endswith("+00:00")
    assert len(load_labeled(path)) == 1


def test_undo_removes_the_last_answer_and_shows_its_paragraph_again(model, tmp_path):
    path = tmp_path / "mine.csv"
    summary, out, _ = session(model, path, "1", "2", "u", "6", "q")
    rows = load_labeled(path)
    assert sorted(rows["label"]) == ["brand_criticism", "other"] and summary.labelled == 2
    assert "undone: platform_metrics removed" in out


def test_back_returns_to_the_previous_paragraph_and_a_new_key_replaces_its_answer(model, tmp_path):
    path = tmp_path / "mine.csv"
    session(model, path, "1", "b", "4", "q")
    rows = load_labeled(path)
    assert list(rows["label"]) == ["regulatory_listing"]


# Key sequences beyond the happy path: {queue position: label key} the file must hold after them.
KEY_SEQUENCES = [
    (("1", "b", "2", "u", "u", "q"), {}),  # a replaced answer is undone once, then nothing is left
    (("1", "2", "b", "3", "u", "u", "q"), {}),
    (("1", "2", "b", "b", "4", "u", "q"), {1: "2"}),  # the replaced answer was the newest: it goes first
    (("u", "b", "1", "q"), {0: "1"}),  # undo and back with nothing before them
    (("s", "u", "1", "q"), {1: "1"}),
    (("1", "u", "u", "2", "q"), {0: "2"}),
    (("1", "2", "3", "4", "b", "6", "5"), {0: "1", 1: "2", 2: "3", 3: "6", 4: "5"}),  # the queue ends
    (("1", "2", "3", "4", "u", "u", "q"), {0: "1", 1: "2"}),
    (("1", "b", "b", "b", "u", "u", "2", "q"), {0: "2"}),
]


@pytest.mark.parametrize("pressed, expected", KEY_SEQUENCES, ids=[" ".join(k) for k, _ in KEY_SEQUENCES])
def test_key_sequences_leave_exactly_the_standing_answers_in_the_file(model, tmp_path, pressed, expected):
    path = tmp_path / "mine.csv"
    queue = queue_for(model)
    summary, _, _ = session(model, path, *pressed)
    rows = read_label_file(path)
    held = dict(zip(rows["paragraph"].astype(int), rows["label"], strict=True))
    assert held == {queue[position].paragraph: LABEL_KEYS[key] for position, key in expected.items()}
    assert summary.labelled == len(expected)


def test_answer_back_answer_undo_undo_says_there_is_nothing_left_to_undo(model, tmp_path):
    _, out, _ = session(model, tmp_path / "mine.csv", "1", "b", "2", "u", "u", "q")
    assert "undone: platform_metrics removed" in out and "nothing to undo" in out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pressed=st.lists(st.sampled_from(["1", "2", "6", "s", "u", "b", "?", "x"]), max_size=14))
def test_any_key_sequence_keeps_the_file_equal_to_the_answers_on_screen(model, tmp_path_factory, pressed):
    path = tmp_path_factory.mktemp("keys") / "mine.csv"
    label_file = LabelFile(path, annotator="ana", model_sha=model.short_sha, strategy="margin")
    queue = queue_for(model)
    active = LabelSession(queue, label_file, keys(*pressed, "q"), io.StringIO())
    active.run()
    rows = read_label_file(path)  # what is on disk, not what the session holds
    held = dict(zip(rows["paragraph"].astype(int), rows["label"], strict=True))
    assert held == {queue[position].paragraph: label for position, label in active.answers.items()}


def test_source_file_is_the_file_a_row_came_from_not_its_id(capsys, trained, tmp_path):
    feed = tmp_path / "feed.csv"
    feed.write_text('id,text\nstory-7,"' + ARTICLE.replace('"', "") + '"\n', encoding="utf-8")
    queue = tmp_path / "queue.csv"
    code, _, err = run(
        capsys, "label", feed, "--data", tmp_path / "m.csv", "--model", trained.model_path, "--export", queue
    )
    assert code == 0, err
    rows = pd.read_csv(queue, dtype=str, keep_default_na=False)
    assert set(rows["article_id"]) == {"story-7"} and set(rows["source_file"]) == {str(feed)}


def test_skip_leaves_a_paragraph_for_the_next_run_and_the_queue_can_finish(model, tmp_path):
    path = tmp_path / "mine.csv"
    summary, out, _ = session(model, path, "s", "1", "2", "3", "4")
    assert summary.labelled == 4 and summary.skipped == 1 and not summary.quit
    assert "queue done" in out
    assert len(queue_for(model, read_label_file(path))) == 1


def test_question_mark_shows_the_definitions_and_an_unknown_key_says_so(model, tmp_path):
    _, out, _ = session(model, tmp_path / "mine.csv", "?", "x", "q")
    assert "regulatory_listing: governments listing" in out and "unknown key 'x'" in out


def test_blind_hides_the_models_suggestion_and_terms(model, tmp_path):
    _, seen, _ = session(model, tmp_path / "a.csv", "q")
    _, blind, _ = session(model, tmp_path / "b.csv", "q", blind=True)
    assert "model: " in seen and "model: " not in blind and "terms: " not in blind


def test_ctrl_c_stops_the_loop_and_keeps_every_answer_given(model, tmp_path):
    path = tmp_path / "mine.csv"
    with pytest.raises(KeyboardInterrupt):
        session(model, path, "1", "2", "\x03")
    assert len(load_labeled(path)) == 2


def test_an_invalid_labelled_file_is_refused_before_any_work(capsys, trained, article_path, tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text(
        "article_id,paragraph,text,text_sha1,label,split,source\na,0,Text.,bad,other,train,analyst\n"
    )
    before = path.read_bytes()
    queue = tmp_path / "queue.csv"
    code, _, err = run(
        capsys, "label", article_path, "--data", path, "--model", trained.model_path, "--export", queue
    )
    assert code == 3 and "row 1: text_sha1" in err and path.read_bytes() == before
    assert not queue.exists()


def test_label_without_a_terminal_says_to_export(capsys, trained, article_path, tmp_path):
    code, _, err = run(
        capsys, "label", article_path, "--data", tmp_path / "m.csv", "--model", trained.model_path
    )
    assert code == 3 and "needs a terminal" in err and "--export" in err
    assert not (tmp_path / "m.csv").exists()


# --- export and import --------------------------------------------------------------------------
def test_export_then_import_round_trip_merges_the_filled_in_rows(capsys, trained, article_path, tmp_path):
    queue_path, data = tmp_path / "queue.csv", tmp_path / "mine.csv"
    code, _, err = run(
        capsys, "label", article_path, "--data", data, "--model", trained.model_path, "--export", queue_path
    )
    assert code == 0, err
    with queue_path.open(encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    assert [row["rank"] for row in rows] == ["1", "2", "3", "4", "5"]
    assert {"suggestion", "p_legal_action", "uncertainty", "terms"} <= set(rows[0])
    # the analyst reads each paragraph and fills in two labels, leaving the rest blank
    answers = {"0": "legal_action", "1": "platform_metrics"}
    for row in rows:
        row["label"] = answers.get(row["paragraph"], "")
    _write_rows(queue_path, rows)
    code, _, err = run(capsys, "label", "--import", queue_path, "--data", data, "--annotator", "ana")
    assert code == 0 and "merged 2 rows" in err and "3 without a label" in err
    merged = load_labeled(data)
    assert dict(zip(merged["paragraph"].astype(str), merged["label"], strict=True)) == answers
    code, _, err = run(capsys, "label", "--import", queue_path, "--data", data, "--annotator", "ana")
    assert code == 0 and "merged 0 rows" in err and "2 already there" in err


# Paragraphs written for this test, each starting like a spreadsheet formula (or with a quote).
FORMULA_LIKE = {
    "f1": '=HYPERLINK("http://example.invalid","Click") said the brand, which accused the marketplace of ignoring fake handbags.',
    "f2": "+44 was the dialling code the seller gave before the court froze his accounts over counterfeit watches.",
    "f3": "-5% was how far the platform said fake listings fell after it removed two million of them last year.",
    "f4": "@marketplace was tagged by the brand in a post criticising its slow takedowns of copied trainers.",
    "f5": "'Quoted' was how the trade office described the platform on its notorious markets list this year.",
}


def test_export_neutralises_formula_cells_and_import_restores_text_and_sha1(capsys, trained, tmp_path):
    from triage.corpus.labeled import text_sha1

    feed, queue_path, data = tmp_path / "feed.csv", tmp_path / "queue.csv", tmp_path / "mine.csv"
    pd.DataFrame({"id": list(FORMULA_LIKE), "text": list(FORMULA_LIKE.values())}).to_csv(feed, index=False)
    code, _, err = run(
        capsys, "label", feed, "--data", data, "--model", trained.model_path, "--export", queue_path
    )
    assert code == 0, err
    with queue_path.open(encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    assert {row["text"] for row in rows} == {"'" + text for text in FORMULA_LIKE.values()}
    assert not [value for row in rows for value in row.values() if value[:1] in ("=", "+", "@")]
    for row in rows:
        row["label"] = "other"
    _write_rows(queue_path, rows)
    code, _, err = run(capsys, "label", "--import", queue_path, "--data", data, "--annotator", "ana")
    assert code == 0 and "merged 5 rows" in err, err
    merged = read_label_file(data)
    assert dict(zip(merged["article_id"], merged["text"], strict=True)) == FORMULA_LIKE
    assert list(merged["text_sha1"]) == [text_sha1(text) for text in merged["text"]]


def test_the_label_screen_prints_no_control_or_escape_characters(model, tmp_path):
    hostile = replace(
        queue_for(model)[0],
        article_id="story\x1b]0;renamed window\x07",
        title="A \x1b[1mbold\x1b[0m headline",
        text="The court \x1b[2J\x1b[Hruled\r against the seller\x00 of fakes.",
        terms=("court\x1b[31m",),
    )
    label_file = LabelFile(tmp_path / "mine.csv", annotator="ana")
    out = io.StringIO()
    LabelSession([hostile], label_file, keys("q"), out).run()
    shown = out.getvalue()
    assert not [c for c in shown if (ord(c) < 32 and c != "\n") or 127 <= ord(c) < 160], repr(shown)
    assert ">> The court ruled  against the seller of fakes." in shown and "A bold headline" in shown


def test_import_with_one_bad_row_names_it_and_merges_nothing(capsys, tmp_path):
    data = tmp_path / "mine.csv"
    data.write_text(
        "id,text,label\nk,A kept paragraph about a court ruling.,legal_action\n", encoding="utf-8"
    )
    import_labels(data, tmp_path / "target.csv", annotator="ana")
    before = (tmp_path / "target.csv").read_bytes()
    sheet = tmp_path / "sheet.csv"
    sheet.write_text(
        "id,text,label\nn1,A new paragraph on store openings.,market_expansion\nn2,Another one.,lawsuit\n",
        encoding="utf-8",
    )
    code, _, err = run(capsys, "label", "--import", sheet, "--data", tmp_path / "target.csv")
    assert code == 3 and "row 2: label 'lawsuit'" in err and err.count("\n") == 1
    assert (tmp_path / "target.csv").read_bytes() == before


def test_import_refuses_to_change_a_label_already_in_the_file(tmp_path):
    from triage.errors import BadInput

    target = tmp_path / "target.csv"
    first = tmp_path / "first.csv"
    first.write_text("id,text,label\nk,A paragraph about a court ruling.,legal_action\n", encoding="utf-8")
    import_labels(first, target, annotator="ana")
    first.write_text("id,text,label\nk,A paragraph about a court ruling.,other\n", encoding="utf-8")
    with pytest.raises(BadInput, match="row 1: already labelled legal_action"):
        import_labels(first, target, annotator="ana")
    assert load_labeled(target)["label"].tolist() == ["legal_action"]


def _write_rows(path: Path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


# --- the real terminal --------------------------------------------------------------------------
def test_the_terminal_loop_end_to_end_label_undo_quit_resume_and_ctrl_c(trained, article_path, tmp_path):
    """Drive the installed `triage label` in a pseudo-terminal, as an analyst would."""
    import re
    import sys

    pexpect = pytest.importorskip("pexpect")
    data = tmp_path / "mine.csv"
    executable = str(Path(sys.executable).with_name("triage"))
    arguments = ["label", str(article_path), "--data", str(data), "--model", str(trained.model_path)]

    def start():
        child = pexpect.spawn(executable, arguments + ["--annotator", "ana"], encoding="utf-8", timeout=90)
        child.expect("q quit")
        return child

    def shown_paragraph(child) -> str:
        return re.findall(r">> (.*)", child.before)[-1].strip()

    child = start()
    first = shown_paragraph(child)
    child.send("3")
    child.expect("saved legal_action")
    child.expect("q quit")
    second = shown_paragraph(child)
    child.send("2")
    child.expect("saved platform_metrics")
    child.send("u")
    child.expect("undone: platform_metrics removed")
    child.expect("q quit")
    assert shown_paragraph(child) == second
    child.send("q")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    rows = load_labeled(data)
    assert rows["label"].tolist() == ["legal_action"] and rows["text"].tolist() == [first]

    child = start()  # resume: the labelled paragraph is gone, the undone one comes first
    assert shown_paragraph(child) == second
    child.send("6")
    child.expect("saved other")
    child.expect("q quit")
    child.sendintr()
    child.expect("error: interrupted")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    assert load_labeled(data)["label"].tolist() == ["legal_action", "other"]


def test_while_a_label_session_is_open_other_writers_of_its_file_are_refused(
    capsys, trained, article_path, tmp_path
):
    """Two writers of one labelled file would each rewrite it without the other's rows: the
    open session holds it, an import, a second session and `review --apply` are refused
    naming its process, and once it ends they work."""
    import re
    import sys

    from triage.errors import BadInput

    pexpect = pytest.importorskip("pexpect")
    data = tmp_path / "mine.csv"
    sheet = tmp_path / "sheet.csv"
    sheet.write_text("id,text,label\nn1,A new paragraph on store openings.,market_expansion\n")
    decisions = tmp_path / "decisions.csv"
    decisions.write_text("article_id,paragraph,decision,new_label\nn1,0,keep,\n")
    arguments = ["label", str(article_path), "--data", str(data), "--model", str(trained.model_path)]
    session = pexpect.spawn(
        str(Path(sys.executable).with_name("triage")), arguments, encoding="utf-8", timeout=90
    )
    session.expect("q quit")
    session.send("3")
    session.expect("saved legal_action")
    session.expect("q quit")
    holder = f"another triage process is writing it (pid {session.pid}: triage label"
    for command in (
        ["label", "--import", sheet, "--data", data],
        ["review", "--apply", decisions, "--data", data],
    ):
        code, _, err = run(capsys, *command)
        assert code == 3 and f"--data {data}: {holder}" in err and err.count("\n") == 1, err
    with pytest.raises(BadInput, match=re.escape(holder)):  # a second session, before it asks anything
        label_interactively(
            [str(article_path)],
            data,
            annotator="bo",
            read_key=keys("1"),
            out=io.StringIO(),
            model_path=trained.model_path,
        )
    session.send("q")
    session.expect(pexpect.EOF)
    session.close()
    code, _, err = run(capsys, "label", "--import", sheet, "--data", data)
    assert code == 0 and "merged 1 rows" in err
    assert sorted(load_labeled(data)["label"]) == ["legal_action", "market_expansion"]
    assert not list(tmp_path.glob(".*.lock"))  # the lock file goes with its writer


def test_a_blind_export_leaves_out_what_the_model_thinks(capsys, trained, article_path, tmp_path):
    queue_path = tmp_path / "queue.csv"
    code, _, _ = run(
        capsys,
        "label",
        article_path,
        "--data",
        tmp_path / "m.csv",
        "--model",
        trained.model_path,
        "--export",
        queue_path,
        "--blind",
    )
    header = queue_path.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert code == 0 and "text" in header and "label" in header
    assert not {"suggestion", "terms", "p_other"} & set(header)


def test_import_takes_no_articles(capsys, article_path, tmp_path):
    code, _, err = run(
        capsys, "label", article_path, "--import", tmp_path / "q.csv", "--data", tmp_path / "m.csv"
    )
    assert code == 2 and "--import merges a filled-in file" in err


def test_two_inputs_with_one_id_do_not_overwrite_each_others_labels(model):
    warnings = []
    other_article = (
        "Regulators Question Marketplace\n\n"
        "Members of parliament summoned the marketplace's managers to a hearing on fake toys sold to children.\n\n"
        "The company was founded in a small flat and now employs several thousand people.\n"
    )
    records = [InputRecord("same-id", ARTICLE), InputRecord("same-id", other_article)]
    empty = pd.DataFrame(columns=list(COLUMNS))
    queue = build_queue(records, model, empty, "margin", 0, warnings.append)
    keys_in_queue = [(item.article_id, item.paragraph) for item in queue]
    assert len(keys_in_queue) == len(set(keys_in_queue))
    assert any("give inputs unique ids" in message for message in warnings)
