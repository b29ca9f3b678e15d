"""The bad-input and fault matrix: every case gives a one-line error with its exit code, or a
warning naming what was skipped while the rest is triaged, and nothing existing is lost."""

from __future__ import annotations

import errno
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import triage.readers.files as triage_io
from triage.cli.app import main
from triage.ingestion.article import ingest

ROOT = Path(__file__).resolve().parents[1]
ARTICLE_TEXT = (ROOT / "data/raw/004_26175a559591074b.txt").read_text(encoding="utf-8")
ENGLISH = "The court ordered the marketplace to remove the fake handbags and pay damages to the brand."
CHINESE = "法院判决平台删除假冒手提包并向品牌赔偿损失。"
TRIAGE = Path(sys.executable).with_name("triage")


def run(capsys, *args):
    code = main([str(arg) for arg in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(code, err, expected_code, fragment):
    assert code == expected_code, err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert fragment in err, err
    assert "Traceback" not in err


@pytest.fixture()
def predict(capsys, trained):
    def _predict(*args):
        return run(capsys, "predict", *args, "--model", trained.model_path, "--format", "jsonl")

    return _predict


# --- files that cannot be read as articles -------------------------------------------------
@pytest.mark.parametrize(
    "content, fragment",
    [
        (b"", "empty or whitespace only"),
        (b"  \n\t\n   ", "empty or whitespace only"),
        (bytes(range(256)) * 4, "binary"),
    ],
)
def test_empty_whitespace_and_binary_files_are_refused(predict, tmp_path, content, fragment):
    path = tmp_path / "article.txt"
    path.write_bytes(content)
    assert_one_line_error(*predict(path)[::2], 3, fragment)


def test_a_file_over_max_bytes_is_refused(predict, tmp_path):
    path = tmp_path / "big.txt"
    path.write_text(ENGLISH * 100)
    assert_one_line_error(*predict(path, "--max-bytes", "1000")[::2], 3, "over --max-bytes 1,000")


@pytest.mark.parametrize("codec", ["gbk", "big5", "latin-1"])
def test_legacy_encodings_are_refused_unless_named(predict, tmp_path, codec):
    text = (ENGLISH + " " + ("Café" if codec == "latin-1" else CHINESE)) + "\n" + ENGLISH
    if codec == "big5":
        text = ENGLISH + " 法院判決平台刪除假冒手提包。\n" + ENGLISH
    path = tmp_path / "legacy.txt"
    path.write_bytes(text.encode(codec))
    assert_one_line_error(*predict(path)[::2], 3, "not UTF-8")
    code, out, _ = predict(path, "--encoding", codec)
    assert code == 0 and json.loads(out)["paragraphs"]


def test_an_unknown_encoding_name_is_refused(predict, tmp_path):
    path = tmp_path / "a.txt"
    path.write_text(ENGLISH)
    assert_one_line_error(*predict(path, "--encoding", "klingon")[::2], 3, "unknown encoding")


@pytest.mark.parametrize("extra", [[], ["--encoding", "utf-16"]])
def test_utf16_with_a_bom_is_read_with_or_without_encoding(predict, tmp_path, extra):
    path = tmp_path / "utf16.txt"
    path.write_bytes(ARTICLE_TEXT.encode("utf-16"))
    code, out, _ = predict(path, *extra)
    assert code == 0 and json.loads(out)["title"].startswith("Alibaba Is Cracking Down")


def test_mixed_chinese_and_english_keeps_the_english_paragraphs(predict, tmp_path):
    path = tmp_path / "mixed.txt"
    path.write_text(f"{CHINESE}\n{ENGLISH}\n{CHINESE}{CHINESE}\n{ENGLISH} 淘宝\n", encoding="utf-8")
    code, out, _ = predict(path)
    texts = [p["text"] for p in json.loads(out)["paragraphs"]]
    assert code == 0 and texts == [ENGLISH, f"{ENGLISH} 淘宝"]


def test_one_line_of_a_million_characters_is_triaged(predict, tmp_path):
    path = tmp_path / "long.txt"
    path.write_text(
        (ENGLISH + " ") * (1_000_000 // (len(ENGLISH) + 1)) + "x" * (1_000_000 % (len(ENGLISH) + 1)),
        encoding="utf-8",
    )
    assert len(path.read_text(encoding="utf-8")) == 1_000_000
    started = time.time()
    code, out, _ = predict(path)
    assert code == 0 and len(json.loads(out)["paragraphs"]) == 1
    print(f"1,000,000-character line triaged in {time.time() - started:.1f}s")


def test_an_article_that_ingestion_empties_gets_a_warning_and_no_tags(predict, tmp_path):
    path = tmp_path / "furniture.txt"
    path.write_text("Home > News\nAdvertisement\nShare this\n2024/5/9 08:30:00\n")
    code, out, err = predict(path)
    assert code == 0 and "warning:" in err and "kept no paragraphs" in err
    assert json.loads(out)["tags"] == []


# --- CSV and JSONL inputs -----------------------------------------------------------------
def test_csv_without_the_text_column_is_refused(predict, tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("id,body\n1,hello\n")
    assert_one_line_error(*predict(path)[::2], 3, "no 'text' column (columns: id, body)")


def test_csv_with_empty_texts_duplicate_ids_quoted_newlines_and_a_bom(predict, tmp_path):
    path = tmp_path / "in.csv"
    rows = f'id,text\r\n1,"{ENGLISH}\n{ENGLISH}"\r\n2,\r\n1,{ENGLISH}\r\n'
    path.write_bytes(b"\xef\xbb\xbf" + rows.encode("utf-8"))
    code, out, err = predict(path)
    records = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert [r["id"] for r in records] == ["1", "1"]
    assert len(records[0]["paragraphs"]) == 2  # the quoted newline kept both lines in one article
    assert "skipped" in err and "row 2 (id 2)" in err
    assert "duplicate id '1'" in err


def test_default_ids_name_the_file_by_its_path_within_the_input_folder(predict, tmp_path):
    for year in ("2023", "2024"):
        (tmp_path / year).mkdir()
        (tmp_path / year / "feed.csv").write_text(f"text\n{ENGLISH}\n", encoding="utf-8")
    code, out, err = predict(tmp_path)
    assert code == 0, err
    assert [json.loads(line)["id"] for line in out.splitlines()] == ["2023/feed.csv:1", "2024/feed.csv:1"]
    assert "duplicate id" not in err


def test_falsy_ids_are_kept_and_missing_ones_get_the_default(predict, tmp_path):
    path = tmp_path / "feed.jsonl"
    ids = [0, "", None, False, "0"]
    path.write_text("".join(json.dumps({"id": value, "text": ENGLISH}) + "\n" for value in ids))
    code, out, err = predict(path)
    assert code == 0, err
    assert [json.loads(line)["id"] for line in out.splitlines()] == [
        "0",
        "feed.jsonl:2",
        "feed.jsonl:3",
        "False",
        "0",
    ]
    assert f"{path} line 5: duplicate id '0' (as {path} line 1;" in err


def test_a_duplicate_id_across_files_of_a_run_is_warned_about(predict, tmp_path):
    (tmp_path / "a.csv").write_text(f"id,text\nx7,{ENGLISH}\n", encoding="utf-8")
    (tmp_path / "b.jsonl").write_text(json.dumps({"id": "x7", "text": ENGLISH}) + "\n", encoding="utf-8")
    code, out, err = predict(tmp_path / "a.csv", tmp_path / "b.jsonl")
    assert code == 0 and [json.loads(line)["id"] for line in out.splitlines()] == ["x7", "x7"]
    assert f"warning: {tmp_path / 'b.jsonl'} line 1: duplicate id 'x7' (as {tmp_path / 'a.csv'} row 1;" in err


def test_csv_empty_text_is_exit_3_with_strict(predict, tmp_path):
    path = tmp_path / "in.csv"
    path.write_text(f"id,text\n1,{ENGLISH}\n2,\n")
    assert_one_line_error(*predict(path, "--strict")[::2], 3, "(--strict)")


def test_jsonl_with_a_broken_line_in_the_middle_triages_the_rest(predict, tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text(
        json.dumps({"id": "a", "text": ENGLISH})
        + "\n{broken\n"
        + json.dumps({"id": "b", "text": ENGLISH})
        + "\n"
    )
    code, out, err = predict(path)
    assert code == 0 and [json.loads(line)["id"] for line in out.splitlines()] == ["a", "b"]
    assert "line 2: not valid JSON" in err
    assert_one_line_error(*predict(path, "--strict")[::2], 3, "line 2")


def test_one_invalid_byte_in_a_jsonl_feed_skips_only_its_line(predict, tmp_path):
    path = tmp_path / "feed.jsonl"
    lines = [json.dumps({"id": name, "text": ENGLISH}).encode() for name in ("a", "b", "c", "d")]
    lines[1] = lines[1].replace(b"fake", b"f\xffke")
    path.write_bytes(b"\n".join(lines) + b"\n")
    code, out, err = predict(path)
    assert code == 0, err
    assert [json.loads(line)["id"] for line in out.splitlines()] == ["a", "c", "d"]
    assert f"warning: skipped {path} line 2: not valid utf-8" in err and "skipped 1" in err
    assert_one_line_error(*predict(path, "--strict")[::2], 3, "line 2: not valid utf-8")


def test_one_invalid_byte_in_a_csv_feed_skips_only_its_row_even_inside_quoted_newlines(predict, tmp_path):
    path = tmp_path / "feed.csv"
    path.write_bytes(
        b'id,text\na,"' + ENGLISH.encode() + b'"\nb,"' + ENGLISH.encode() + b"\ncaf\xe9 " + ENGLISH.encode()
        + b'"\nc,"' + ENGLISH.encode() + b"\n" + ENGLISH.encode() + b'"\n'
    )  # fmt: skip
    code, out, err = predict(path)
    assert code == 0, err
    records = [json.loads(line) for line in out.splitlines()]
    assert [record["id"] for record in records] == ["a", "c"] and len(records[1]["paragraphs"]) == 2
    assert f"warning: skipped {path} row 2: not valid utf-8" in err


@pytest.mark.parametrize("codec", ["utf-16", "gbk"])
def test_an_invalid_sequence_in_a_feed_of_another_encoding_skips_only_its_row(predict, tmp_path, codec):
    """UTF-16 (two bytes a unit) and GBK (a lead byte that wants a trail byte) resynchronise
    too: the bad sequence never takes the quote, comma or newline after it."""
    before = f'id,text\na,{ENGLISH}\nb,"{ENGLISH} '
    after = f'"\nc,{ENGLISH}\n'
    if codec == "utf-16":  # a lone high surrogate; one byte-order mark, at the start
        data = (
            before.encode("utf-16")
            + "\ud800".encode("utf-16-le", "surrogatepass")
            + after.encode("utf-16-le")
        )
    else:  # a lead byte followed by a quote
        data = before.encode("gbk") + b"\x81" + after.encode("gbk")
    path = tmp_path / "feed.csv"
    path.write_bytes(data)
    code, out, err = predict(path, *(["--encoding", "gbk"] if codec == "gbk" else []))
    assert code == 0, err
    assert [json.loads(line)["id"] for line in out.splitlines()] == ["a", "c"]
    assert f"warning: skipped {path} row 2: not valid" in err


def test_a_csv_that_cannot_be_resynchronised_is_named_as_failed_with_the_rows_before_kept(
    predict, tmp_path, monkeypatch
):
    """Past the csv module's field limit inside a quoted field that spans lines, the next line
    may still be inside that field: triage stops the file there rather than guess rows."""
    import csv

    import triage.cli.app

    monkeypatch.setattr(triage.cli.app, "CSV_FIELD_LIMIT", 131_072)  # the field below is 190,000 characters
    path = tmp_path / "feed.csv"
    long_text = "\n".join([ENGLISH] * 2000)
    path.write_text(f'id,text\na,{ENGLISH}\nb,"{long_text}"\nc,{ENGLISH}\n', encoding="utf-8")
    other = tmp_path / "other.jsonl"
    other.write_text(json.dumps({"id": "z", "text": ENGLISH}) + "\n", encoding="utf-8")
    try:
        code, out, err = predict(path, other, "--max-bytes", "1000")
    finally:
        csv.field_size_limit(triage.cli.app.CSV_FIELD_LIMIT)  # what the next `main` sets anyway
    assert code == 3
    assert [json.loads(line)["id"] for line in out.splitlines()] == ["a", "z"]
    assert f"{path}: not a readable CSV after row 1 (field larger than field limit" in err
    assert "its later rows are not read" in err and "1 file could not be read to the end" in err


def test_a_csv_field_over_max_bytes_but_under_the_field_limit_is_skipped_and_the_file_read_on(
    predict, tmp_path
):
    """The csv field limit is the CLI's, set once (the default --max-bytes), not each reader's
    max(--max-bytes, 128 KiB): a long field is one skipped row, not the end of its file."""
    path = tmp_path / "feed.csv"
    long_text = "\n".join([ENGLISH] * 2000)  # 190,000 characters
    path.write_text(f'id,text\na,{ENGLISH}\nb,"{long_text}"\nc,{ENGLISH}\n', encoding="utf-8")
    code, out, err = predict(path, "--max-bytes", "1000")
    assert code == 0, err
    assert [json.loads(line)["id"] for line in out.splitlines()] == ["a", "c"]
    assert "(id b): text over --max-bytes 1,000" in err


@pytest.mark.parametrize("suffix", [".docx", ".pdf", ".gz"])
def test_unsupported_formats_exit_3_naming_the_supported_ones(predict, tmp_path, suffix):
    path = tmp_path / f"input{suffix}"
    path.write_bytes(b"whatever")
    assert_one_line_error(
        *predict(path)[::2], 3, "not supported; use .txt, .csv, .jsonl (each optionally .gz), .parquet, .html"
    )


def test_a_gzipped_text_article_is_read_as_the_text_itself(predict, tmp_path):
    import gzip

    plain = tmp_path / "article.txt"
    plain.write_text(ARTICLE_TEXT, encoding="utf-8")
    packed = tmp_path / "article.txt.gz"
    packed.write_bytes(gzip.compress(ARTICLE_TEXT.encode("utf-8")))
    code, out, err = predict(packed)
    assert code == 0, err
    (record,) = [json.loads(line) for line in out.splitlines()]
    (expected,) = [json.loads(line) for line in predict(plain)[1].splitlines()]
    assert record["id"] == str(packed)
    assert record["paragraphs"] == expected["paragraphs"] and record["tags"] == expected["tags"]


def test_a_gzipped_text_article_over_max_bytes_once_unpacked_is_refused(predict, tmp_path):
    import gzip

    packed = tmp_path / "article.txt.gz"
    packed.write_bytes(gzip.compress(((ENGLISH + "\n") * 200).encode()))  # 18 KB; packed, a few hundred bytes
    assert_one_line_error(
        *predict(packed, "--max-bytes", "5000")[::2], 3, "over --max-bytes 5,000 once unpacked"
    )


def test_a_truncated_gzipped_text_article_is_named(predict, tmp_path):
    import gzip

    data = gzip.compress(ARTICLE_TEXT.encode("utf-8"))
    packed = tmp_path / "article.txt.gz"
    packed.write_bytes(data[: len(data) // 2])
    code, _, err = predict(packed)
    assert code == 3 and f"{packed}: truncated or corrupt gzip data" in err and "Traceback" not in err


def test_a_directory_mixing_good_and_unreadable_files(predict, tmp_path, monkeypatch):
    for name in ("a.txt", "b.txt", "c.txt"):
        (tmp_path / name).write_text(ARTICLE_TEXT, encoding="utf-8")
    (tmp_path / "d.txt").write_bytes(b"caf\xe9 is Latin-1, not UTF-8 \x81")
    real_open = open

    def guarded_open(path, *args, **kwargs):  # CI runs as root: inject the permission error
        if Path(path).name == "b.txt":
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(triage_io, "open", guarded_open, raising=False)
    code, out, err = predict(tmp_path)
    assert code == 0
    assert [Path(json.loads(line)["id"]).name for line in out.splitlines()] == ["a.txt", "c.txt"]
    assert "b.txt: permission denied" in err and "d.txt: not UTF-8" in err


def test_a_file_no_one_can_read_is_skipped_in_a_directory_even_for_root(predict, tmp_path):
    """chmod 0 does not stop root (CI runs as root); a path under a file stops everyone."""
    (tmp_path / "a.txt").write_text(ARTICLE_TEXT, encoding="utf-8")
    (tmp_path / "b.txt").symlink_to(tmp_path / "a.txt" / "inside.txt")  # ENOTDIR on open
    code, out, err = predict(tmp_path)
    assert code == 0 and [json.loads(line)["id"] for line in out.splitlines()] == [str(tmp_path / "a.txt")]
    assert f"skipped {tmp_path / 'b.txt'}: cannot read (Not a directory)" in err


def _run_triage(*args, timeout=120):
    return subprocess.run(
        [str(TRIAGE), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize("command", ["predict", "ingest", "label"])
def test_a_fifo_given_as_input_is_refused_before_it_is_opened(tmp_path, command):
    """Opening a FIFO waits for a writer for ever: the test runs under a timeout."""
    fifo = tmp_path / "feed.txt"
    os.mkfifo(fifo)
    extra = (
        ["--data", tmp_path / "mine.csv", "--export", tmp_path / "queue.csv"] if command == "label" else []
    )
    result = _run_triage(command, fifo, *extra, timeout=60)
    assert_one_line_error(result.returncode, result.stderr, 3, f"{fifo}: is a named pipe (FIFO), not a file")


def test_a_fifo_in_a_directory_is_skipped_with_a_warning(trained, tmp_path):
    (tmp_path / "a.txt").write_text(ARTICLE_TEXT, encoding="utf-8")
    os.mkfifo(tmp_path / "b.jsonl")
    result = _run_triage("predict", tmp_path, "--model", trained.model_path, "--format", "jsonl", timeout=120)
    assert result.returncode == 0, result.stderr
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == [str(tmp_path / "a.txt")]
    assert f"skipped {tmp_path / 'b.jsonl'}: is a named pipe (FIFO)" in result.stderr


def test_a_csv_with_only_a_header_is_refused_naming_it(predict, tmp_path):
    feed = tmp_path / "feed.csv"
    feed.write_text("url,headline,body,date\n", encoding="utf-8")
    assert_one_line_error(*predict(feed, "--text-column", "body")[::2], 3, f"{feed}: no rows, only a header")


def test_a_parquet_file_with_no_rows_is_refused_naming_it(predict, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    feed = tmp_path / "feed.parquet"
    pq.write_table(pa.table({"id": pa.array([], pa.string()), "text": pa.array([], pa.string())}), feed)
    assert_one_line_error(*predict(feed)[::2], 3, f"{feed}: no rows")


def test_a_csv_with_only_a_header_among_other_feeds_is_named_and_skipped(predict, tmp_path):
    (tmp_path / "a.csv").write_text("id,text\n", encoding="utf-8")
    (tmp_path / "b.csv").write_text(f"id,text\nb1,{ENGLISH}\n", encoding="utf-8")
    code, out, err = predict(tmp_path)
    assert code == 0, err
    assert [json.loads(line)["id"] for line in out.splitlines()] == ["b1"]
    assert f"skipped {tmp_path / 'a.csv'}: no rows, only a header" in err


def test_an_empty_directory_is_refused(predict, tmp_path):
    assert_one_line_error(*predict(tmp_path)[::2], 3, "no articles to read")


def test_stdin_with_no_input_is_refused(predict, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"")))
    assert_one_line_error(*predict("-")[::2], 3, "standard input: no text")


# --- outputs: nothing existing is overwritten or left half-written ------------------------------
def test_a_run_refused_before_any_chunk_leaves_no_journal_to_resume(predict, tmp_path):
    article = tmp_path / "a.txt"
    article.write_text("   \n", encoding="utf-8")
    target = tmp_path / "out.jsonl"
    assert_one_line_error(*predict(article, "-o", target)[::2], 3, "empty or whitespace only")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]
    article.write_text(ARTICLE_TEXT, encoding="utf-8")
    code, _, err = predict(article, "-o", target)  # no --force, no --resume asked for
    assert code == 0, err


def test_output_into_a_missing_folder_creates_it(predict, tmp_path):
    (tmp_path / "a.txt").write_text(ARTICLE_TEXT, encoding="utf-8")
    target = tmp_path / "new" / "deeper" / "out.jsonl"
    code, _, err = predict(tmp_path / "a.txt", "-o", target)
    assert code == 0, err
    assert json.loads(target.read_text())["id"] == str(tmp_path / "a.txt")
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.jsonl"]


def test_a_refused_run_into_a_missing_folder_leaves_no_folder_behind(predict, tmp_path):
    (tmp_path / "empty.txt").write_text("   \n", encoding="utf-8")
    assert_one_line_error(
        *predict(tmp_path / "empty.txt", "-o", tmp_path / "new" / "deeper" / "out.jsonl")[::2],
        3,
        "empty or whitespace only",
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.txt"]


def test_an_interrupted_run_into_a_new_folder_keeps_its_journal_there(predict, tmp_path, monkeypatch):
    (tmp_path / "a.txt").write_text(ARTICLE_TEXT, encoding="utf-8")
    target = tmp_path / "new" / "out.jsonl"
    monkeypatch.setattr("triage.batch.journal._replace", _fail_with(KeyboardInterrupt()))
    assert predict(tmp_path / "a.txt", "-o", target)[0] == 130
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.jsonl.partial"]


def test_output_under_a_file_is_refused_naming_it(predict, tmp_path):
    (tmp_path / "a.txt").write_text(ARTICLE_TEXT, encoding="utf-8")
    assert_one_line_error(
        *predict(tmp_path / "a.txt", "-o", tmp_path / "a.txt" / "out.jsonl")[::2],
        3,
        f"cannot create the folder {tmp_path / 'a.txt'}",
    )
    assert (tmp_path / "a.txt").read_text(encoding="utf-8") == ARTICLE_TEXT


def _fail_with(failure):
    def failing(*args, **kwargs):
        raise failure

    return failing


@pytest.mark.parametrize(
    "where, failure, fragment",
    [
        (
            "triage.batch.journal._replace",
            PermissionError(errno.EACCES, "Permission denied"),
            "Permission denied",
        ),
        (
            "shutil.copyfileobj",
            OSError(errno.ENOSPC, "No space left on device"),
            "No space left",
        ),
    ],
    ids=["rename refused", "disk full while writing"],
)
def test_write_failures_on_output_leave_the_old_file_intact_and_resume_finishes(
    predict, tmp_path, monkeypatch, where, failure, fragment
):
    article = tmp_path / "a.txt"
    article.write_text(ARTICLE_TEXT, encoding="utf-8")
    target = tmp_path / "out.jsonl"
    target.write_text("previous results\n")
    with monkeypatch.context() as patch:
        patch.setattr(where, _fail_with(failure))
        assert_one_line_error(*predict(article, "-o", target, "--force")[::2], 3, fragment)
    assert target.read_text() == "previous results\n"
    # the finished work waits in the journal, and --resume completes the run from it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "out.jsonl", "out.jsonl.partial"]
    code, _, err = predict(article, "-o", target, "--force", "--resume")
    assert code == 0, err
    assert json.loads(target.read_text())["id"] == str(article)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "out.jsonl"]


def test_a_journal_that_cannot_be_written_is_a_clear_error(predict, tmp_path, monkeypatch):
    article = tmp_path / "a.txt"
    article.write_text(ARTICLE_TEXT, encoding="utf-8")
    monkeypatch.setattr(
        "triage.atomic.os.replace", _fail_with(OSError(errno.ENOSPC, "No space left on device"))
    )
    assert_one_line_error(*predict(article, "-o", tmp_path / "out.jsonl")[::2], 3, "cannot write the journal")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_existing_output_is_not_overwritten_without_force(predict, tmp_path):
    article = tmp_path / "a.txt"
    article.write_text(ARTICLE_TEXT, encoding="utf-8")
    target = tmp_path / "out.jsonl"
    target.write_text("keep me\n")
    assert_one_line_error(*predict(article, "-o", target)[::2], 3, "already exists")
    assert target.read_text() == "keep me\n"


# --- labelled data the validator must refuse ------------------------------------------------------
@pytest.mark.parametrize(
    "old, new, fragment",
    [
        (",other,", ",gossip,", "label 'gossip'"),
        (",other,", ",,", "label empty"),
        (",train,seed", ",holdout,seed", "split 'holdout'"),
    ],
)
def test_a_labelled_csv_with_a_bad_value_is_refused(capsys, tmp_path, old, new, fragment):
    text = (ROOT / "data/labeled/paragraphs.csv").read_text(encoding="utf-8")
    (tmp_path / "paragraphs.csv").write_text(text.replace(old, new, 1), encoding="utf-8")
    assert_one_line_error(*run(capsys, "validate", "--data", tmp_path)[::2], 3, fragment)


def test_a_labelled_csv_with_a_wrong_sha1_is_refused(capsys, tmp_path):
    lines = (ROOT / "data/labeled/paragraphs.csv").read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].replace("time bomb", "time fuse")
    (tmp_path / "paragraphs.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert_one_line_error(
        *run(capsys, "validate", "--data", tmp_path)[::2], 3, "row 1: text_sha1 does not match"
    )


# --- faults in real processes ---------------------------------------------------------------------
KILL_SCRIPT = textwrap.dedent("""
    import sys, sklearn
    from triage.model.context import ArticleContextModel
    from triage.model.pipeline import Settings, align_probabilities
    from triage.model.fit import fit_pipeline
    from triage.model.card import save_model
    texts = ["court injunction damages seller", "platform removed listings", "brand accused platform",
             "notorious markets list", "flagship store growth", "company founded in"] * 3
    labels = ["legal_action", "platform_metrics", "brand_criticism", "regulatory_listing", "market_expansion", "other"] * 3
    card = {"labels": sorted(set(labels)), "versions": {"scikit-learn": sklearn.__version__}}
    settings = Settings(min_df=1, char_ngrams=None)
    for round in range(1000):
        pipeline = fit_pipeline(settings, texts + [f"extra text number {round}"], labels + ["other"])
        own = align_probabilities(pipeline.classes_, pipeline.predict_proba(texts), card["labels"])
        context = ArticleContextModel(pipeline, 0.0, labels=tuple(card["labels"])).fit(own, labels)
        save_model(context, card, sys.argv[1])
        print(round, flush=True)
""")


@pytest.mark.slow  # real processes killed at four moments: the full suite, not the fast tier
@pytest.mark.parametrize("delay", [0.3, 0.9, 1.7, 2.6])
def test_sigkill_during_repeated_saves_leaves_a_model_that_loads(tmp_path, delay):
    from triage.model.predict import load_model

    card = tmp_path / "triage.json"
    process = subprocess.Popen(
        [sys.executable, "-c", KILL_SCRIPT, str(card)], stdout=subprocess.PIPE, text=True
    )
    process.stdout.readline()  # the first model is saved
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    process.stdout.close()
    model = load_model(card)
    assert model.predict_paragraphs(["a court granted an injunction"])[0].label


def test_a_reader_closing_the_pipe_early_gets_no_traceback(trained, tmp_path):
    for i in range(30):
        (tmp_path / f"{i:02d}.txt").write_text(ARTICLE_TEXT, encoding="utf-8")
    command = f"'{TRIAGE}' predict '{tmp_path}' --model '{trained.model_path}' --format csv | head -1"
    result = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command], capture_output=True, text=True, timeout=300
    )
    assert result.stdout.startswith("id,title,paragraph")
    assert result.returncode == 0, result.stderr  # pipefail: this is triage's own exit status
    assert result.stderr == "", result.stderr


@pytest.mark.slow  # four model loads in subprocesses
def test_four_concurrent_predictions_on_one_model_agree(trained, tmp_path):
    article = tmp_path / "a.txt"
    article.write_text(ARTICLE_TEXT, encoding="utf-8")
    command = [str(TRIAGE), "predict", str(article), "--model", str(trained.model_path), "--format", "jsonl"]
    processes = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)
    ]
    outputs = [process.communicate(timeout=300) for process in processes]
    assert all(process.returncode == 0 for process in processes), [err for _, err in outputs]
    assert len({out for out, _ in outputs}) == 1
    record = json.loads(outputs[0][0])
    expected = trained.model.predict_article(ARTICLE_TEXT)
    assert [p["label"] for p in record["paragraphs"]] == expected.labels


# --- properties -------------------------------------------------------------------------------
@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80), max_size=12))
def test_ingestion_never_raises_and_never_invents_text(lines):
    text = "\n".join(lines)
    article = ingest(text)
    source_words = text.split()
    output_words = [word for paragraph in article.texts for word in paragraph.split()]
    position = 0
    for word in output_words:  # every output word comes from the input, in order
        position = source_words.index(word, position) + 1


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=300))
def test_predict_on_any_unicode_string_gives_one_valid_label_and_probabilities_summing_to_1(trained, text):
    (prediction,) = trained.model.predict_paragraphs([text])
    assert prediction.label in trained.model.labels
    assert abs(sum(prediction.probabilities.values()) - 1) < 1e-3


# --- untrusted text: spreadsheet cells and the terminal ---------------------------------------
@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_cell_survives_the_spreadsheet_round_trip_and_none_starts_like_a_formula(cell):
    from triage.untrusted import FORMULA_LEADS, for_spreadsheet, from_spreadsheet

    written = for_spreadsheet(cell)
    assert from_spreadsheet(written) == cell
    assert not written or written[0] not in FORMULA_LEADS


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8")))
def test_what_reaches_the_terminal_holds_no_control_character(text):
    import unicodedata

    from triage.untrusted import for_terminal

    assert not [c for c in for_terminal(text) if unicodedata.category(c) == "Cc"]
