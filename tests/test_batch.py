"""Batch triage: every format streamed, directories searched, columns carried, output by
suffix, journal and --resume, --jobs, near-duplicates, progress, and the faults of a long run.

Every article and paragraph here was written for these tests."""

from __future__ import annotations

import gzip
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from triage.cli.app import main

TRIAGE = Path(sys.executable).with_name("triage")
LAWSUIT = (
    "Sportswear maker sues marketplace over fake trainers\n"
    "The sportswear maker filed a lawsuit in a federal court on Monday, accusing the marketplace "
    "of letting sellers list thousands of counterfeit trainers and asking for damages.\n"
    "A spokesperson for the marketplace said it would fight the claims and that it removes "
    "infringing listings as soon as rights holders report them.\n"
)
METRICS = (
    "Marketplace says it removed 40 million fake listings\n"
    "The marketplace said its automated filters blocked 40 million suspicious listings last year, "
    "up a quarter on the year before, and that 98 percent were caught before any shopper saw them.\n"
)
PARAGRAPHS = [
    "The luxury group said the platform still hosts sellers of fake handbags despite years of promises.",
    "The trade office kept the marketplace on its list of notorious markets for counterfeiting.",
    "The company opened a new warehouse to serve shoppers in three more countries.",
    "A court ordered the seller to pay damages to the watchmaker for selling copies.",
]


def run(capsys, *args):
    code = main([str(arg) for arg in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture()
def predict(capsys, trained):
    def _predict(*args):
        return run(capsys, "predict", *args, "--model", trained.model_path)

    return _predict


def jsonl_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def write_rows_jsonl(path: Path, rows: list[dict], compress: bool = False) -> Path:
    data = "".join(json.dumps(row) + "\n" for row in rows).encode()
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


# --- formats -----------------------------------------------------------------------------------
def test_gzipped_jsonl_and_csv_read_like_plain_ones(predict, tmp_path):
    rows = [{"id": f"p{i}", "text": text} for i, text in enumerate(PARAGRAPHS)]
    write_rows_jsonl(tmp_path / "plain.jsonl", rows)
    write_rows_jsonl(tmp_path / "packed.jsonl.gz", rows, compress=True)
    csv_text = "id,text\n" + "".join(f'{row["id"]},"{row["text"]}"\n' for row in rows)
    (tmp_path / "packed.csv.gz").write_bytes(gzip.compress(csv_text.encode()))
    outputs = [
        jsonl_lines(predict(tmp_path / name, "--unit", "paragraph", "--format", "jsonl")[1])
        for name in ("plain.jsonl", "packed.jsonl.gz", "packed.csv.gz")
    ]
    assert [r["id"] for r in outputs[0]] == ["p0", "p1", "p2", "p3"]
    assert outputs[0] == outputs[1] == outputs[2]


def test_parquet_input_with_kept_columns_and_a_title_column(predict, tmp_path):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(
        {
            "doc": ["a1", "a2"],
            "body": [LAWSUIT, METRICS],
            "headline": ["Fake trainers lawsuit", "Listings removed"],
            "url": ["https://example.invalid/1", "https://example.invalid/2"],
            "published": pd.to_datetime(["2026-01-05", "2026-02-07"]),
        }
    )
    frame.to_parquet(tmp_path / "feed.parquet")
    code, out, err = predict(
        tmp_path / "feed.parquet",
        "--text-column", "body",
        "--id-column", "doc",
        "--title-column", "headline",
        "--keep-columns", "url,published",
        "--format", "jsonl",
    )  # fmt: skip
    records = jsonl_lines(out)
    assert code == 0, err
    assert [r["id"] for r in records] == ["a1", "a2"]
    assert records[0]["url"] == "https://example.invalid/1"
    assert records[1]["published"].startswith("2026-02-07")
    assert all(r["triage_schema"] == 2 for r in records)


def test_html_page_main_text_is_extracted_and_its_declared_charset_honoured(predict, tmp_path):
    pytest.importorskip("trafilatura")
    body = "".join(f"<p>{line}</p>" for line in LAWSUIT.splitlines()[1:])
    page = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1252">'
        "<title>Fake trainers lawsuit \u2013 Daily</title></head><body>"
        "<nav><a href='/'>Home</a> <a href='/news'>News</a></nav>"
        f"<article><h1>Fake trainers lawsuit</h1>{body}<p>Caf\u00e9 owners were not involved.</p></article>"
        "<footer>Copyright notice</footer></body></html>"
    )
    path = tmp_path / "page.html"
    path.write_bytes(page.encode("windows-1252"))
    code, out, err = predict(path, "--format", "jsonl")
    record = json.loads(out)
    assert code == 0, err
    texts = [p["text"] for p in record["paragraphs"]]
    assert any("federal court" in text for text in texts)
    assert any("Café" in text for text in texts)  # decoded as the page declares, not guessed
    assert not any("Home" in text for text in texts)
    assert record["lines_refer_to"] == "extracted main text"
    assert "legal_action" in [tag["label"] for tag in record["tags"]]


def test_an_html_page_that_is_only_navigation_gets_a_warning_and_no_tags(predict, tmp_path):
    pytest.importorskip("trafilatura")
    path = tmp_path / "menu.html"
    path.write_text("<html><body><nav><a href='/a'>Home</a> | <a href='/b'>World</a></nav></body></html>")
    code, out, err = predict(path, "--format", "jsonl")
    assert code == 0
    warning = next(line for line in err.splitlines() if line.startswith("warning:"))
    assert "menu.html" in warning and warning.endswith(
        "no tags"
    )  # trafilatura or our ingestion found no text
    assert json.loads(out)["tags"] == []


# --- directories -------------------------------------------------------------------------------------
def _mixed_folder(root: Path) -> Path:
    (root / "nested" / "deeper").mkdir(parents=True)
    (root / "a.txt").write_text(LAWSUIT)
    write_rows_jsonl(root / "nested" / "b.jsonl.gz", [{"id": "b1", "text": METRICS}], compress=True)
    (root / "nested" / "deeper" / "c.txt").write_text(METRICS)
    (root / "notes.docx").write_bytes(b"PK\x03\x04 not an article")
    return root


def test_the_summary_counts_the_files_and_rows_the_warnings_skipped(predict, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text(LAWSUIT)
    (folder / "brief.pdf").write_bytes(b"%PDF-1.4 not an article")
    (folder / "notes.docx").write_bytes(b"PK\x03\x04 not an article")
    code, _, err = predict(folder, "--format", "jsonl")
    assert code == 0, err
    assert f"warning: skipped 2 files of unsupported types in {folder}" in err
    assert "; skipped 2 files;" in _summary(err)
    write_rows_jsonl(folder / "feed.jsonl", [{"id": "r1", "text": METRICS}, {"id": "r2", "text": ""}])
    (folder / "empty.txt").write_text("  \n")
    code, _, err = predict(folder, "--format", "jsonl")
    assert code == 0, err
    assert "; skipped 1 row and 3 files;" in _summary(err)


def test_counts_of_one_read_in_the_singular(predict, tmp_path):
    feed = write_rows_jsonl(
        tmp_path / "feed.jsonl", [{"id": "r1", "text": LAWSUIT}, {"id": "r2", "text": ""}]
    )
    code, _, err = predict(feed, "--format", "jsonl")
    assert code == 0, err
    assert _summary(err).startswith("triaged 1 article; skipped 1 row;")
    page = tmp_path / "page.txt"
    page.write_text("Home > News\n" + LAWSUIT)
    code, out, _ = predict(page, "--format", "table")
    assert code == 0 and "dropped 1 line of page furniture" in out


def test_directories_are_searched_recursively_and_unsupported_files_are_named(predict, tmp_path):
    folder = _mixed_folder(tmp_path / "in")
    code, out, err = predict(folder, "--format", "jsonl")
    assert code == 0, err
    ids = [Path(r["id"]).name for r in jsonl_lines(out)]
    assert ids == ["a.txt", "b1", "c.txt"]
    assert "skipped 1 file of unsupported types" in err and "notes.docx" in err
    code, out, _ = predict(folder, "--format", "jsonl", "--no-recurse")
    assert [Path(r["id"]).name for r in jsonl_lines(out)] == ["a.txt"]
    code, _, err = predict(folder, "--format", "jsonl", "--strict")
    assert code == 3 and "notes.docx" in err and "(--strict)" in err


def test_the_output_target_and_triages_own_outputs_are_not_read_back(predict, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text(LAWSUIT)
    first = folder / "first.jsonl"
    assert predict(folder, "-o", first)[0] == 0
    second = folder / "second.csv"
    code, _, err = predict(folder, "-o", second)
    assert code == 0, err
    import pandas as pd

    rows = pd.read_csv(second)
    assert len(rows) == 2 and set(rows["id"]) == {str(folder / "a.txt")}  # nothing of first.jsonl


def test_long_outputs_of_every_format_and_html_reports_are_not_read_back(predict, tmp_path):
    """A record far longer than 4 KB, in every format triage writes: the next run over the
    folder reads only the article."""
    folder = tmp_path / "in"
    folder.mkdir()
    article = folder / "a.txt"
    article.write_text(
        LAWSUIT
        + "".join(
            f"In filing {number}, the sportswear maker listed another {number * 40} listings of fake "
            "trainers that it said the marketplace left online after it had reported them.\n"
            for number in range(1, 40)
        )
    )
    for name in ("last.jsonl", "last.csv", "last.parquet", "report.html"):
        code, _, err = predict(article, "-o", folder / name)
        assert code == 0, err
    first_record = (folder / "last.jsonl").read_text().splitlines()[0]
    assert len(first_record) > 4096 and first_record.startswith('{"triage_schema": 2, ')
    code, out, err = predict(folder, "--format", "jsonl")
    assert code == 0, err
    assert [record["id"] for record in jsonl_lines(out)] == [str(article)]
    assert "warning" not in err


# --- outputs ----------------------------------------------------------------------------------------
def test_output_format_follows_the_suffix_and_csv_has_title_and_tag_scores(predict, tmp_path):
    import pandas as pd

    (tmp_path / "a.txt").write_text(LAWSUIT)
    for suffix in ("jsonl", "csv", "parquet"):
        code, _, err = predict(tmp_path / "a.txt", "-o", tmp_path / f"out.{suffix}")
        assert code == 0, err
    from_json = jsonl_lines((tmp_path / "out.jsonl").read_text())[0]
    from_csv = pd.read_csv(tmp_path / "out.csv")
    from_parquet = pd.read_parquet(tmp_path / "out.parquet")
    assert list(from_csv.columns) == list(from_parquet.columns)
    assert from_csv["title"].iloc[0] == from_json["title"]
    legal = next(tag for tag in from_json["tags"] if tag["label"] == "legal_action")
    assert from_csv["tag_legal_action"].iloc[0] == pytest.approx(legal["score"])
    assert from_parquet["tag_legal_action"].iloc[0] == pytest.approx(legal["score"])
    assert len(from_csv) == len(from_parquet) == len(from_json["paragraphs"])


def test_a_suffix_that_contradicts_format_and_a_reserved_kept_column_are_usage_errors(predict, tmp_path):
    (tmp_path / "a.txt").write_text(LAWSUIT)
    code, _, err = predict(tmp_path / "a.txt", "-o", tmp_path / "out.csv", "--format", "jsonl")
    assert code == 2 and "suffix says csv" in err
    code, _, err = predict(tmp_path / "a.txt", "--keep-columns", "label")
    assert code == 2 and "--keep-columns label: the output already has a column of that name" in err


def _output_names(predict, tmp_path) -> set[str]:
    """Every top-level key and column that triage's outputs really carry, read back from
    them: articles (a text file and an HTML page), paragraphs with --explain, CSV, Parquet."""
    pd = pytest.importorskip("pandas")
    pytest.importorskip("trafilatura")
    (tmp_path / "a.txt").write_text(LAWSUIT)
    page = "".join(f"<p>{line}</p>" for line in LAWSUIT.splitlines()[1:])
    (tmp_path / "page.html").write_text(f"<html><body><article>{page}</article></body></html>")
    names = set()
    for args in (
        [tmp_path / "a.txt", tmp_path / "page.html", "--explain"],
        [tmp_path / "a.txt", "--unit", "paragraph", "--explain"],
    ):
        code, out, err = predict(*args, "--format", "jsonl")
        assert code == 0, err
        names |= {key for record in jsonl_lines(out) for key in record}
    for suffix in (".csv", ".parquet"):
        code, _, err = predict(tmp_path / "a.txt", "-o", tmp_path / f"out{suffix}")
        assert code == 0, err
        read = pd.read_csv if suffix == ".csv" else pd.read_parquet
        names |= set(read(tmp_path / f"out{suffix}").columns)
    return names


def test_a_kept_column_may_take_no_name_of_any_output_format(predict, tmp_path):
    names = _output_names(predict, tmp_path)
    assert {
        "lines_refer_to",
        "explanation",
        "runner_up",
        "paragraph",
        "text",
        "p_other",
        "tag_other",
    } <= names
    for name in sorted(names):
        feed = tmp_path / "feed.csv"
        feed.write_text(
            f"id,text,{name}\nr1,{PARAGRAPHS[0]},mine\n"
            if name not in ("id", "text")
            else f"id,text\nr1,{PARAGRAPHS[0]}\n"
        )
        code, out, err = predict(feed, "--keep-columns", name, "-o", tmp_path / f"kept-{name}.csv")
        assert code == 2 and f"--keep-columns {name}: " in err, name
        assert not (tmp_path / f"kept-{name}.csv").exists()


def test_a_users_url_and_date_stay_kept_columns_in_every_format(predict, tmp_path):
    pd = pytest.importorskip("pandas")
    feed = tmp_path / "feed.csv"
    feed.write_text(f"id,text,url,date\nr1,{PARAGRAPHS[0]},https://example.invalid/r1,2026-03-01\n")
    for suffix in (".jsonl", ".csv", ".parquet"):
        target = tmp_path / f"out{suffix}"
        code, _, err = predict(feed, "--keep-columns", "url,date", "-o", target)
        assert code == 0, err
        if suffix == ".jsonl":
            rows = jsonl_lines(target.read_text())
        else:
            rows = (pd.read_csv if suffix == ".csv" else pd.read_parquet)(target).to_dict("records")
        assert [(row["url"], str(row["date"])) for row in rows] == [
            ("https://example.invalid/r1", "2026-03-01")
        ]


def test_max_bytes_limits_one_article_not_the_feed(predict, tmp_path):
    rows = [{"id": "small", "text": PARAGRAPHS[0]}, {"id": "huge", "text": "word " * 5000}]
    path = write_rows_jsonl(tmp_path / "feed.jsonl", rows * 50)
    code, out, err = predict(path, "--unit", "paragraph", "--max-bytes", "1000", "--format", "jsonl")
    assert code == 0
    assert [r["id"] for r in jsonl_lines(out)] == ["small"] * 50
    assert "(id huge): text over --max-bytes 1,000" in err
    assert "skipped 50" in err  # the summary line


def test_syndicated_copies_are_flagged_and_counted_once(predict, tmp_path):
    copy = LAWSUIT.replace("on Monday", "on Monday morning") + "Shares of the marketplace fell slightly.\n"
    rows = [
        {"id": "original", "text": LAWSUIT},
        {"id": "other", "text": METRICS},
        {"id": "copy", "text": copy},
    ]
    code, out, err = predict(write_rows_jsonl(tmp_path / "feed.jsonl", rows), "--format", "jsonl")
    records = {r["id"]: r for r in jsonl_lines(out)}
    assert code == 0
    assert records["copy"]["near_duplicate_of"] == "original"
    assert records["original"]["near_duplicate_of"] is None and records["other"]["near_duplicate_of"] is None
    assert "triaged 3 articles" in err and "1 near-duplicate counted once" in err


def test_the_sampled_three_grams_are_those_of_the_regular_expression_definition():
    """NearDuplicates.sampled_grams finds words without a regular expression where it can;
    the definition: crc32 of each `\\w+` 3-gram of the lowercased text, 1 in 4 kept."""
    import re
    import zlib

    from triage.batch.near_duplicates import SAMPLE_EVERY, NearDuplicates

    texts = [
        LAWSUIT,
        METRICS + "The seller’s “genuine” stock — 40% of it — was fake; İstanbul’s café_owners said so.",
        "Ünïcödé wörds: naïve façade, ½ price, x² rise, ١٢٣ units\u00a0and\u2028more ΣΑΣ ΟΔΟΣ",
        "a b",
        "",
    ]
    for text in texts:
        words = re.findall(r"\w+", text.lower())
        grams = (" ".join(words[i : i + 3]).encode() for i in range(len(words) - 2))
        expected = {h for h in map(zlib.crc32, grams) if h % SAMPLE_EVERY == 0}
        sampled = NearDuplicates.sampled_grams(text)
        assert set(sampled) == expected and len(sampled) == len(expected)
        assert list(set(sampled)) == list(expected)  # the same set order: it breaks ties between originals


def test_the_near_duplicate_index_answers_as_a_dict_of_first_holders_across_its_merges(monkeypatch):
    """The definition: each sampled 3-gram maps to the first article that held it; an article
    is a copy of the earlier one it shares most with (ties: the set's order), when they share
    enough; only originals are held. The index keeps most of it in sorted arrays, merged in."""
    import random
    from collections import Counter

    from triage.batch.near_duplicates import NearDuplicates

    monkeypatch.setattr(NearDuplicates, "MERGE_EVERY", 7)
    rng = random.Random(0)
    pool = [rng.randrange(0, 2**32, 4) for _ in range(400)]
    articles = []
    for _ in range(300):
        copied = rng.choice(articles)[: rng.randint(0, 40)] if articles and rng.random() < 0.4 else []
        articles.append(list(dict.fromkeys(copied + [rng.choice(pool) for _ in range(rng.randint(0, 30))])))
    index, first_holder, held_ids, held_sizes, copies = NearDuplicates(), {}, [], [], 0
    for number, grams in enumerate(articles):
        record_id, signature = f"r{number}", set(grams)
        shared = Counter(first_holder[h] for h in signature if h in first_holder)
        expected = next(
            (
                held_ids[article]
                for article, count in shared.most_common()
                if count >= index.min_shared
                and count / max(min(len(signature), held_sizes[article]), 1) >= index.threshold
            ),
            None,
        )
        if expected is None:
            for h in signature:
                first_holder.setdefault(h, len(held_ids))
            held_ids.append(record_id)
            held_sizes.append(len(signature))
        copies += expected is not None
        assert index.original_of(record_id, grams) == expected
    assert copies > 20 and len(index) == len(first_holder)


def test_progress_is_silent_off_a_terminal_and_quiet_drops_the_summary(predict, tmp_path):
    from triage.batch.progress import Progress
    from triage.records import InputRecord

    (tmp_path / "a.txt").write_text(LAWSUIT)
    code, _, err = predict(tmp_path / "a.txt", "--format", "jsonl")
    assert code == 0 and err.startswith("triaged 1 article in") and "\r" not in err
    code, _, err = predict(tmp_path / "a.txt", "--format", "jsonl", "--quiet")
    assert code == 0 and err == ""

    import io

    shown = io.StringIO()
    progress = Progress(True, total_bytes=1000, stream=shown)
    progress.last -= 1  # as if half a second had passed
    progress.update(250, InputRecord("x", "text", source=str(tmp_path / "a.txt"), offset=500))
    assert "250 rows" in shown.getvalue() and "rows/s" in shown.getvalue() and "ETA" in shown.getvalue()


def test_the_progress_line_leaves_stdout_to_the_records():
    """The progress line draws on stderr; stdout (records, maybe piped to jq) is not redirected."""
    import io
    import sys

    from triage.batch.progress import Progress

    stdout = sys.stdout
    progress = Progress(True, total_bytes=1000, stream=io.StringIO())
    try:
        assert sys.stdout is stdout
    finally:
        progress.close()


# --- parallel ---------------------------------------------------------------------------------------
def test_jobs_2_writes_exactly_what_jobs_1_writes(trained, tmp_path, monkeypatch):
    monkeypatch.setenv("TRIAGE_CHUNK_RECORDS", "7")
    rows = [{"id": f"r{i}", "text": f"{PARAGRAPHS[i % 4]} Report {i}."} for i in range(60)]
    feed = write_rows_jsonl(tmp_path / "feed.jsonl", rows)
    articles = write_rows_jsonl(
        tmp_path / "articles.jsonl", [{"id": f"a{i}", "text": LAWSUIT + METRICS * (i % 3)} for i in range(20)]
    )
    for source, unit in ((feed, "paragraph"), (articles, "article")):
        outputs = []
        for jobs in ("1", "2"):
            target = tmp_path / f"{unit}-{jobs}.jsonl"
            code = main(
                [
                    "predict",
                    str(source),
                    "--unit",
                    unit,
                    "--model",
                    str(trained.model_path),
                    "-o",
                    str(target),
                    "-j",
                    jobs,
                    "-q",
                ]
            )
            assert code == 0
            outputs.append(target.read_bytes())
        assert outputs[0] == outputs[1]


def _repository_articles() -> list[dict]:
    """Every raw article the labelled set was built from and both OOD sets' (the manifest's
    text files), a syndicated copy, an article that is all furniture and one of a line."""
    import csv

    root = Path(__file__).resolve().parents[1]
    with open(root / "data/articles.csv", encoding="utf-8", newline="") as stream:
        files = [row["source_file"] for row in csv.DictReader(stream) if row["source_file"].endswith(".txt")]
    rows = [{"id": name, "text": (root / name).read_text(encoding="utf-8")} for name in files]
    copy = rows[0]["text"].replace("\n", "\nSyndicated with thanks.\n", 1)
    return [
        *rows,
        {"id": "copy", "text": copy},
        {"id": "furniture", "text": "Advertisement\nShare this article\n2024-05-01 09:30\n"},
        {"id": "one-line", "text": METRICS.splitlines()[1]},
    ]


def test_articles_scored_a_chunk_at_a_time_are_byte_for_byte_those_scored_one_by_one(
    trained, tmp_path, monkeypatch
):
    """The reference is the one-article-at-a-time path: `predict_article` per article, in order,
    near-duplicates counted as the run counts them; `triage predict` scores a chunk of articles
    together, in one process or two, whatever the chunk size."""
    from triage import __version__
    from triage.batch.near_duplicates import NearDuplicates, article_text
    from triage.model.predict import load_model
    from triage.records import InputRecord, article_record, to_jsonl

    rows = _repository_articles()
    feed = write_rows_jsonl(tmp_path / "articles.jsonl", rows)
    model = load_model(trained.model_path)
    for explain in (False, True):
        reference, duplicates = [], NearDuplicates()
        for row in rows:
            prediction = model.predict_article(row["text"], explain=explain)
            record = article_record(
                InputRecord(row["id"], row["text"]), prediction, model.short_sha, __version__
            )
            record["near_duplicate_of"] = duplicates.original_of(
                row["id"], NearDuplicates.sampled_grams(article_text(record))
            )
            reference.append(record)
        expected = to_jsonl(reference).encode()
        assert any(record["near_duplicate_of"] for record in reference)
        runs = [("1", "1"), ("7", "1"), ("1000", "1"), ("1", "2"), ("7", "2"), ("1000", "2")]
        for chunk, jobs in runs if not explain else [("7", "1"), ("1000", "2")]:
            monkeypatch.setenv("TRIAGE_CHUNK_RECORDS", chunk)
            target = tmp_path / f"out-{chunk}-{jobs}-{explain}.jsonl"
            options = ["--explain"] if explain else []
            code = main(
                [
                    "predict",
                    str(feed),
                    "--model",
                    str(trained.model_path),
                    "-o",
                    str(target),
                    "-j",
                    jobs,
                    "-q",
                    *options,
                ]
            )
            assert code == 0
            assert target.read_bytes() == expected, (chunk, jobs, explain)


# --- faults: truncated and corrupt files, interrupted runs ------------------------------------------------
def test_a_truncated_gz_and_a_corrupt_parquet_are_named_while_the_other_files_go_on(predict, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text(LAWSUIT)
    data = gzip.compress(
        "".join(json.dumps({"id": f"g{i}", "text": PARAGRAPHS[i % 4]}) + "\n" for i in range(400)).encode()
    )
    (folder / "b.jsonl.gz").write_bytes(data[: len(data) // 2])
    (folder / "c.parquet").write_bytes(b"PAR1 this is not really parquet PAR1")
    (folder / "d.txt").write_text(METRICS)
    code, out, err = predict(folder, "--format", "jsonl")
    ids = [Path(r["id"]).name for r in jsonl_lines(out)]
    assert code == 3
    assert ids[0] == "a.txt" and ids[-1] == "d.txt"  # the files after the broken ones were read
    assert "b.jsonl.gz: truncated or corrupt gzip data" in err
    assert "c.parquet: not a readable Parquet file" in err
    assert err.strip().splitlines()[-1].startswith("error: 2 files could not be read to the end")


def _start(args: list[str], env: dict) -> subprocess.Popen:
    """The installed triage in a session of its own, so a kill can reach its worker processes."""
    return subprocess.Popen(
        [str(TRIAGE), *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, **env},
        start_new_session=True,
    )


def _wait_for_parts(journal: Path, parts: int, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        manifest = journal / "manifest.json"
        if manifest.exists():
            try:
                if len(json.loads(manifest.read_text())["parts"]) >= parts:
                    return
            except ValueError:
                pass
        assert process.poll() is None, process.stderr.read().decode()
        time.sleep(0.05)
    raise AssertionError("the run wrote no parts in time")


@pytest.mark.slow
@pytest.mark.parametrize("kill", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "SIGINT"])
def test_an_interrupted_run_resumes_with_every_row_exactly_once(trained, tmp_path, kill):
    rows = [{"id": f"r{i:05d}", "text": f"{PARAGRAPHS[i % 4]} Item {i}."} for i in range(6000)]
    feed = write_rows_jsonl(tmp_path / "feed.jsonl", rows)
    target = tmp_path / "out.jsonl"
    args = [
        "predict",
        str(feed),
        "--unit",
        "paragraph",
        "--model",
        str(trained.model_path),
        "-o",
        str(target),
    ]
    env = {"TRIAGE_CHUNK_RECORDS": "50"}
    process = _start(args, env)
    _wait_for_parts(tmp_path / "out.jsonl.partial", 3, process)
    process.send_signal(kill)
    _, err = process.communicate(timeout=60)
    assert not target.exists()  # the target appears only when a run completes
    if kill == signal.SIGINT:
        assert process.returncode == 130 and "--resume" in err.decode()
    again = _start(args, env)
    _, err = again.communicate(timeout=300)
    assert again.returncode == 3 and "add --resume" in err.decode()
    resumed = _start([*args, "--resume"], env)
    _, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err.decode()
    ids = [json.loads(line)["id"] for line in target.read_text().splitlines()]
    assert ids == [row["id"] for row in rows]
    assert not (tmp_path / "out.jsonl.partial").exists()


def test_a_second_run_on_the_same_output_is_refused_naming_the_first(capsys, trained, tmp_path):
    """Run B (with --force, --resume or neither) would delete or append to run A's journal:
    it is refused with one line naming A's process, and A finishes with every row."""
    rows = [{"id": f"r{i:05d}", "text": f"{PARAGRAPHS[i % 4]} Item {i}."} for i in range(6000)]
    feed = write_rows_jsonl(tmp_path / "feed.jsonl", rows)
    target = tmp_path / "out.jsonl"
    args = ["predict", feed, "--unit", "paragraph", "--model", trained.model_path, "-o", target]
    first = _start(args, {"TRIAGE_CHUNK_RECORDS": "50"})
    _wait_for_parts(tmp_path / "out.jsonl.partial", 1, first)
    for extra in (["--force"], ["--resume"], []):
        code, _, err = run(capsys, *args, *extra)
        assert code == 3 and err.count("\n") == 1, err
        assert f"-o {target}: another triage process is writing it (pid {first.pid}: triage predict" in err
    _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err.decode()
    assert [json.loads(line)["id"] for line in target.read_text().splitlines()] == [r["id"] for r in rows]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["feed.jsonl", "out.jsonl"]  # no lock left


def _feed_folder(tmp_path: Path, rows: int) -> Path:
    """Rows with an empty text every seventh (skipped with a warning), a truncated .gz file
    early on (it fails after its first rows), and repeated articles (near-duplicates)."""
    folder = tmp_path / "in"
    folder.mkdir()

    def text(i: int) -> str:
        return "" if i % 7 == 3 else (LAWSUIT if i % 3 else METRICS) + f"Reported on day {i % 11}.\n"

    write_rows_jsonl(folder / "a.jsonl", [{"id": f"a{i:04d}", "text": text(i)} for i in range(6)])
    broken = gzip.compress(
        "".join(json.dumps({"id": f"b{i}", "text": PARAGRAPHS[i % 4]}) + "\n" for i in range(40)).encode()
    )
    (folder / "b.jsonl.gz").write_bytes(broken[: len(broken) // 2])
    write_rows_jsonl(folder / "c.jsonl", [{"id": f"c{i:04d}", "text": text(i)} for i in range(rows)])
    return folder


def _summary(err: str) -> str:
    """The closing summary line without its timing."""
    line = next(line for line in err.splitlines() if line.startswith("triaged "))
    return re.sub(r" in [\d.]+s \([\d,]+/s\)|; wrote .*", "", line)


@pytest.mark.parametrize("unit", ["paragraph", "article"])
def test_a_resumed_jobs_2_run_counts_skipped_rows_and_failed_files_once(
    capsys, trained, tmp_path, monkeypatch, unit
):
    """Ctrl-C after the first chunk is committed, while -j 2 has read chunks ahead: the
    resumed run's rows and summary are those of a run never interrupted."""
    monkeypatch.setenv("TRIAGE_CHUNK_RECORDS", "5")
    folder = _feed_folder(tmp_path, rows=40)
    args = ["predict", folder, "--unit", unit, "--model", trained.model_path, "-j", "2"]
    code, _, whole_err = run(capsys, *args, "-o", tmp_path / "whole.jsonl")
    assert code == 3 and "1 file failed" in _summary(whole_err) and "skipped 0" not in whole_err

    from triage.batch.journal import Journal

    add = Journal.add

    def interrupted_after_one_part(journal, *part):
        if journal.manifest["parts"]:
            raise KeyboardInterrupt
        add(journal, *part)

    target = tmp_path / "resumed.jsonl"
    with monkeypatch.context() as patch:
        patch.setattr(Journal, "add", interrupted_after_one_part)
        assert run(capsys, *args, "-o", target)[0] == 130
    code, _, resumed_err = run(capsys, *args, "-o", target, "--resume")
    assert code == 3
    assert _summary(resumed_err) == _summary(whole_err)
    assert target.read_bytes() == (tmp_path / "whole.jsonl").read_bytes()


@pytest.mark.slow
@pytest.mark.parametrize("unit", ["paragraph", "article"])
def test_sigkill_then_resume_with_jobs_2_gives_the_rows_and_summary_of_an_uninterrupted_run(
    trained, tmp_path, unit
):
    """The whole run (its worker processes too) is killed while -j 2 has chunks read ahead;
    with --unit article the near-duplicate index is rebuilt from the journal on resume."""
    folder = _feed_folder(tmp_path, rows=3000)
    args = ["predict", folder, "--unit", unit, "--model", trained.model_path, "-j", "2"]
    env = {"TRIAGE_CHUNK_RECORDS": "20"}
    whole = _start([*args, "-o", tmp_path / "whole.jsonl"], env)
    _, whole_err = whole.communicate(timeout=600)
    assert whole.returncode == 3, whole_err.decode()  # the truncated .gz
    target = tmp_path / "resumed.jsonl"
    process = _start([*args, "-o", target], env)
    _wait_for_parts(tmp_path / "resumed.jsonl.partial", 3, process)
    os.killpg(process.pid, signal.SIGKILL)
    process.communicate(timeout=60)
    resumed = _start([*args, "-o", target, "--resume"], env)
    _, resumed_err = resumed.communicate(timeout=600)
    assert resumed.returncode == 3, resumed_err.decode()
    assert _summary(resumed_err.decode()) == _summary(whole_err.decode())
    assert "near-duplicate" in _summary(whole_err.decode()) or unit == "paragraph"
    assert target.read_bytes() == (tmp_path / "whole.jsonl").read_bytes()


def _six_paragraphs(tmp_path: Path) -> Path:
    return write_rows_jsonl(
        tmp_path / "feed.jsonl", [{"id": f"r{i}", "text": PARAGRAPHS[i % 4]} for i in range(6)]
    )


def _interrupted_at_the_rename(predict, monkeypatch, feed: Path, target: Path, *args):
    """Ctrl-C at the last moment of a run, in chunks of 2: the target is assembled, not yet
    renamed into place."""
    monkeypatch.setenv("TRIAGE_CHUNK_RECORDS", "2")
    with monkeypatch.context() as patch:
        patch.setattr("triage.batch.journal._replace", lambda *a: (_ for _ in ()).throw(KeyboardInterrupt()))
        return predict(feed, "--unit", "paragraph", "-o", target, *args)


def test_resume_refuses_inputs_that_changed(predict, tmp_path, monkeypatch):
    feed, target = _six_paragraphs(tmp_path), tmp_path / "out.jsonl"
    code, _, err = _interrupted_at_the_rename(predict, monkeypatch, feed, target)
    assert code == 130 and "--resume" in err
    write_rows_jsonl(feed, [{"id": "new", "text": PARAGRAPHS[0]}] * 7)
    code, _, err = predict(feed, "--unit", "paragraph", "-o", target, "--resume")
    assert code == 3 and "other input files" in err
    code, _, err = predict(feed, "--unit", "paragraph", "-o", target, "--force")
    assert code == 0 and len(target.read_text().splitlines()) == 7


def test_resume_refuses_a_journal_of_another_triage_schema(predict, tmp_path, monkeypatch):
    feed, target = _six_paragraphs(tmp_path), tmp_path / "out.jsonl"
    assert _interrupted_at_the_rename(predict, monkeypatch, feed, target)[0] == 130
    manifest_path = tmp_path / "out.jsonl.partial" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["triage_schema"] -= 1  # what an older triage left behind
    manifest_path.write_text(json.dumps(manifest))
    code, _, err = predict(feed, "--unit", "paragraph", "-o", target, "--resume")
    assert code == 3 and f"triage_schema {manifest['triage_schema']}" in err and "--force" in err
    assert not target.exists()


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_ctrl_c_while_assembling_the_target_leaves_no_temporary_file(predict, tmp_path, monkeypatch, suffix):
    feed, target = _six_paragraphs(tmp_path), tmp_path / f"out{suffix}"
    code, _, err = _interrupted_at_the_rename(predict, monkeypatch, feed, target)
    assert code == 130 and "--resume" in err
    assert sorted(path.name for path in tmp_path.iterdir()) == ["feed.jsonl", f"out{suffix}.partial"]
    code, _, _ = predict(feed, "--unit", "paragraph", "-o", target, "--resume")
    assert code == 0 and target.exists()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["feed.jsonl", f"out{suffix}"]


def test_the_parquet_target_is_flushed_to_disk_before_it_is_renamed_into_place(
    predict, tmp_path, monkeypatch
):
    feed = _six_paragraphs(tmp_path)
    synced, real_fsync = [], os.fsync

    def recording_fsync(descriptor):
        synced.append(Path(os.readlink(f"/proc/self/fd/{descriptor}")).name)
        real_fsync(descriptor)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    code, _, _ = predict(feed, "--unit", "paragraph", "-o", tmp_path / "out.parquet")
    assert code == 0
    assert any(name.startswith(".out.parquet.") and name.endswith(".tmp") for name in synced), synced


def test_workers_refuse_a_model_that_a_train_replaced_during_the_run(
    capsys, model_copy, tmp_path, monkeypatch
):
    """The run loads the model, then a `triage train` replaces the card before the worker
    processes load it: the workers refuse, and no output mixes two models."""
    import copy

    import triage.model.predict as predict_module
    from triage.model.card import save_model

    load_model = predict_module.load_model

    def load_then_a_train_replaces_it(path=None):
        model = load_model(path)
        retrained = copy.deepcopy(model.context_model)
        retrained.context_window = 0.3
        save_model(retrained, dict(model.card), path)
        return model

    monkeypatch.setattr(predict_module, "load_model", load_then_a_train_replaces_it)
    # workers that load only after the change (not started alongside the run's own load)
    monkeypatch.setattr("triage.batch.engine.start_workers", lambda *args: None)
    monkeypatch.setenv("TRIAGE_CHUNK_RECORDS", "3")
    feed = write_rows_jsonl(
        tmp_path / "feed.jsonl", [{"id": f"r{i}", "text": PARAGRAPHS[i % 4]} for i in range(12)]
    )
    target = tmp_path / "out.jsonl"
    code, _, err = run(
        capsys, "predict", feed, "--unit", "paragraph", "--model", model_copy, "-o", target, "-j", "2", "-q"
    )
    assert code == 4 and "the model changed during this run" in err and err.count("\n") == 1
    assert not target.exists()


# --- beyond one machine ----------------------------------------------------------------------------------
@pytest.mark.slow
def test_the_dask_engine_on_a_local_cluster_equals_the_local_engine(trained, tmp_path):
    pytest.importorskip("distributed")
    import pandas as pd
    from distributed import LocalCluster

    paragraphs = [{"id": f"p{i:05d}", "text": f"{PARAGRAPHS[i % 4]} Case {i}."} for i in range(3000)]
    articles = [
        {"id": f"a{i:04d}", "text": (LAWSUIT if i % 2 else METRICS) + f"Note {i}.\n"} for i in range(200)
    ]
    pd.DataFrame(paragraphs).to_parquet(tmp_path / "paragraphs.parquet")
    write_rows_jsonl(tmp_path / "articles.jsonl", articles)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        for source, unit in (
            (tmp_path / "paragraphs.parquet", "paragraph"),
            (tmp_path / "articles.jsonl", "article"),
        ):
            common = ["predict", str(source), "--unit", unit, "--model", str(trained.model_path), "-q"]
            assert main([*common, "-o", str(tmp_path / f"{unit}-local.parquet")]) == 0
            assert (
                main(
                    [
                        *common,
                        "--engine",
                        "dask",
                        "--scheduler",
                        cluster.scheduler_address,
                        "-o",
                        str(tmp_path / f"{unit}-dask"),
                    ]
                )
                == 0
            )
            local = pd.read_parquet(tmp_path / f"{unit}-local.parquet")
            distributed = pd.read_parquet(tmp_path / f"{unit}-dask")
            if unit == "article":  # the dask engine leaves near-duplicate flags out (README)
                local = local.assign(near_duplicate_of=None)
            assert len(local) == len(distributed) > 0
            for column in local.columns:
                left, right = local[column].astype(object), distributed[column].astype(object)
                assert [None if pd.isna(v) else v for v in left] == [
                    None if pd.isna(v) else v for v in right
                ], column


def test_a_feed_with_no_readable_row_is_an_error_and_leaves_no_output(predict, tmp_path):
    feed = write_rows_jsonl(tmp_path / "feed.jsonl", [{"id": "a", "text": " "}, {"id": "b", "text": ""}])
    code, _, err = predict(feed, "-o", tmp_path / "out.jsonl")
    assert code == 3 and err.strip().splitlines()[-1] == f"error: no readable input in {feed}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["feed.jsonl"]


# --- the dask engine: URLs, what --force may remove, options it does not use, skipped rows ----------
@pytest.fixture(scope="module")
def thread_cluster():
    """A cluster of threads in this process, so that memory:// (per process) is shared."""
    pytest.importorskip("distributed")
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        yield cluster


def _dask(trained, cluster, *args):
    return main(
        ["predict", *map(str, args), "--engine", "dask", "--scheduler", cluster.scheduler_address]
        + ["--model", str(trained.model_path), "--unit", "paragraph"]
    )


@pytest.mark.parametrize(
    "option", [["--resume"], ["--jobs", "2"], ["--strict"], ["--max-bytes", "1000"], ["--no-recurse"],
               ["--explain"], ["--format", "csv"]],
)  # fmt: skip
def test_options_the_dask_engine_does_not_use_are_usage_errors_naming_them(predict, tmp_path, option):
    feed = write_rows_jsonl(tmp_path / "feed.jsonl", [{"id": "r1", "text": PARAGRAPHS[0]}])
    code, _, err = predict(feed, "--engine", "dask", "-o", tmp_path / "scored", *option)
    assert code == 2 and f"--engine dask does not take {' '.join(option[:1])}" in err
    assert not (tmp_path / "scored").exists()


def test_the_dask_engine_reads_and_writes_fsspec_urls(trained, thread_cluster, tmp_path, monkeypatch):
    fsspec = pytest.importorskip("fsspec")
    pd = pytest.importorskip("pandas")
    monkeypatch.chdir(tmp_path)  # a URL taken for a path would make a folder "memory:" here
    memory = fsspec.filesystem("memory")
    rows = pd.DataFrame({"id": ["p0", "p1", "p2"], "text": PARAGRAPHS[:3]})
    with memory.open("/triage-test/in/feed.parquet", "wb") as stream:
        rows.to_parquet(stream)
    try:
        assert (
            _dask(
                trained,
                thread_cluster,
                "memory://triage-test/in/feed.parquet",
                "-o",
                "memory://triage-test/out",
            )
            == 0
        )
        scored = pd.read_parquet("memory://triage-test/out")
        assert sorted(scored["id"]) == ["p0", "p1", "p2"]
        assert memory.exists("/triage-test/out/_triage_output.json")
    finally:
        memory.rm("/triage-test", recursive=True)
    feed = tmp_path / "feed.parquet"
    rows.to_parquet(feed)
    assert _dask(trained, thread_cluster, f"file://{feed}", "-o", f"file://{tmp_path}/out") == 0
    assert sorted(pd.read_parquet(tmp_path / "out")["id"]) == ["p0", "p1", "p2"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["feed.parquet", "out"]


def test_dask_force_replaces_only_a_directory_the_engine_wrote(trained, thread_cluster, tmp_path, capsys):
    pd = pytest.importorskip("pandas")
    feed = tmp_path / "feed.parquet"
    pd.DataFrame({"id": ["p0"], "text": PARAGRAPHS[:1]}).to_parquet(feed)
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "notes.txt").write_text("not triage's")
    assert _dask(trained, thread_cluster, feed, "-o", theirs, "--force") == 3
    assert "not a directory that triage --engine dask wrote" in capsys.readouterr().err
    assert [path.name for path in theirs.iterdir()] == ["notes.txt"]
    ours = tmp_path / "ours"
    assert _dask(trained, thread_cluster, feed, "-o", ours) == 0
    assert _dask(trained, thread_cluster, feed, "-o", ours) == 3  # exists, no --force
    pd.DataFrame({"id": ["p5", "p6"], "text": PARAGRAPHS[2:4]}).to_parquet(feed)
    assert _dask(trained, thread_cluster, feed, "-o", ours, "--force") == 0
    assert sorted(pd.read_parquet(ours)["id"]) == ["p5", "p6"]


def test_dask_warns_on_skipped_rows_and_never_writes_nan_ids(trained, thread_cluster, tmp_path, capsys):
    pd = pytest.importorskip("pandas")
    rows = [
        {"id": 1, "text": PARAGRAPHS[0]},
        {"id": 2, "text": "  "},
        {"id": None, "text": PARAGRAPHS[1]},
        {"text": PARAGRAPHS[2]},
        {"id": 0, "text": PARAGRAPHS[3]},
    ]
    feed = write_rows_jsonl(tmp_path / "feed.jsonl", rows)
    assert _dask(trained, thread_cluster, feed, "-o", tmp_path / "scored") == 0
    err = capsys.readouterr().err
    assert sorted(pd.read_parquet(tmp_path / "scored")["id"]) == ["0", "1"]
    assert f"warning: skipped 1 row(s) of {feed} (ids 2): empty or missing 'text'" in err
    assert f"warning: skipped 2 row(s) of {feed}: no id" in err
    assert "skipped 3 input row(s)" in err
