"""The real-news set: committed files hold no text, the cache is verified, pages are scored by
line span, and the test part is only looked at with --final (logged).

Every page in this file is made up here; the real cache is used only with TRIAGE_REALNEWS=1.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from triage.cli.app import main
from triage.corpus.labeled import LABELS
from triage.corpus.realnews import (
    LABEL_COLUMNS,
    MANIFEST_COLUMNS,
    blocks,
    load_labels,
    load_manifest,
    load_pages,
    page_id,
    select,
)
from triage.errors import BadInput, UsageError
from triage.evaluation.realnews_scoring import (
    MISSED,
    article_counts,
    covering_labels,
    figures,
    logged_test_figures,
    realnews_report,
)

ROOT = Path(__file__).resolve().parents[1]
REALNEWS = ROOT / "data/realnews"
HELDOUT_CHECK = ROOT.parent / "shared/heldout/check.py"
BINARY_SUFFIXES = {".png", ".skops", ".pyc", ".npz", ".parquet"}


def run(capsys, *args) -> tuple[int, str, str]:
    code = main([str(arg) for arg in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# Two made-up pages: a headline, content, a furniture line and a cut last line each.
PAGE_A = (
    "Shoe Maker Takes Marketplace Sellers To Court Over Fake Trainers\n"
    "\n"
    "A footwear company filed a lawsuit in a federal court against forty sellers of fake trainers.\n"
    "The company said the marketplace had paid lip service to its complaints for years.\n"
    "Read more: ten gadgets for the summer\n"
    "The marketplace said it had removed two million listin"
)
PAGE_B = (
    "Officials Add Online Bazaar To Watch List\n"
    "The trade office named the online bazaar in its yearly list of markets known for fakes.\n"
    "Sales on the bazaar grew by a third last year as brands opened official stores.\n"
    "Share this article\n"
)
LABELS_A = ["furniture", "legal_action", "brand_criticism", "furniture", "truncated"]
LABELS_B = ["furniture", "regulatory_listing", "market_expansion", "furniture"]


def _write_set(folder: Path, cache: Path, parts=("dev", "test")) -> pd.DataFrame:
    """A two-page set in `folder` (manifest, labels) and its texts in `cache`."""
    folder.mkdir(parents=True, exist_ok=True)
    cache.mkdir(parents=True, exist_ok=True)
    manifest, label_rows = [], []
    pages = (
        ("https://news.example.org/a", PAGE_A, LABELS_A),
        ("https://news.example.org/b", PAGE_B, LABELS_B),
    )
    for (url, text, kinds), part in zip(pages, parts, strict=True):
        identifier = page_id(url)
        (cache / f"{identifier}.txt").write_bytes(text.encode("utf-8"))
        manifest.append(
            {
                "id": identifier,
                "url": url,
                "retrieved": "2026-12-07",
                "published": "2024",
                "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
                "bytes": str(len(text.encode("utf-8"))),
                "platforms": "other:example",
                "about_alibaba": "no",
                "register": "native",
                "outlet_region": "us",
                "outlet_kind": "newspaper",
                "story": identifier,
                "part": part,
                "dev_check": "no",
            }
        )
        for block, kind in zip(blocks(text), kinds, strict=True):
            label = kind if kind in LABELS else ""
            kind = "content" if label else kind
            label_rows.append(
                {
                    "id": identifier,
                    "block": str(block.index),
                    "first_line": str(block.first_line),
                    "last_line": str(block.last_line),
                    "block_sha1": block.sha1,
                    "kind": kind,
                    "label": label,
                    "kind_pass1": kind,
                    "label_pass1": label,
                    "kind_pass2": kind,
                    "label_pass2": label,
                    "borderline": "no",
                }
            )
    pd.DataFrame(manifest, columns=MANIFEST_COLUMNS).to_csv(folder / "manifest.csv", index=False)
    pd.DataFrame(label_rows, columns=LABEL_COLUMNS).to_csv(folder / "labels.csv", index=False)
    return pd.DataFrame(manifest)


@pytest.fixture()
def made_up_set(tmp_path, monkeypatch):
    folder, cache = tmp_path / "data/realnews", tmp_path / "cache"
    manifest = _write_set(folder, cache)
    monkeypatch.setenv("TRIAGE_REALNEWS_CACHE", str(cache))
    return folder, cache, manifest


# --- blocks and line-span matching -----------------------------------------------------------
def test_every_non_empty_line_is_a_block_numbered_as_ingestion_numbers_lines():
    found = blocks("Headline\r\n\r\nFirst line\n  \nSecond line\n")
    assert [(b.index, b.first_line, b.text) for b in found] == [
        (0, 1, "Headline"),
        (1, 3, "First line"),
        (2, 5, "Second line"),
    ]


def test_a_paragraph_spanning_two_blocks_counts_for_each():
    paragraph = {"lines": [3, 4], "label": "legal_action"}
    assert covering_labels([3, 4, 5], [paragraph]) == [paragraph, paragraph, None]


def _record(spans_and_labels, tags=(), review=()):
    return {
        "paragraphs": [
            {"lines": list(span), "label": label, "needs_review": i in review}
            for i, (span, label) in enumerate(spans_and_labels)
        ],
        "tags": [{"label": tag} for tag in tags],
    }


def _page_blocks(kinds_and_labels):
    return pd.DataFrame(
        [
            {"first_line": line, "kind": kind, "label": label}
            for line, (kind, label) in enumerate(kinds_and_labels, start=1)
        ]
    )


def test_an_uncovered_content_block_counts_wrong_and_furniture_only_counts_in_ingestion():
    page = _page_blocks(
        [("content", "legal_action"), ("content", "brand_criticism"), ("furniture", ""), ("truncated", "")]
    )
    # Line 1 covered, line 2 dropped by ingestion, the furniture line kept, the truncated line kept.
    record = _record([((1, 1), "legal_action"), ((3, 4), "other")], tags=["legal_action"])
    counts = article_counts("p", page, record, record)
    assert counts.context == ["legal_action", MISSED]
    assert (counts.content_blocks, counts.content_covered) == (2, 1)
    assert (counts.furniture_blocks, counts.furniture_kept) == (1, 1)
    assert counts.gold_tags == {"legal_action", "brand_criticism"}
    report = figures([counts])
    # legal_action is right (F1 1); brand_criticism missed (F1 0); `other` on furniture is not scored.
    assert report["in_article_macro_f1"]["value"] == 0.5
    assert report["article_tag_micro_f1"]["value"] == pytest.approx(2 / 3, abs=1e-4)
    assert report["ingestion"]["content_recall"]["value"] == 0.5
    assert report["exact_tags"]["articles"] == 0


def test_the_review_figures_count_flagged_blocks_and_the_errors_among_them():
    page = _page_blocks([("content", "legal_action"), ("content", "other"), ("content", "other")])
    record = _record(
        [((1, 1), "legal_action"), ((2, 2), "platform_metrics"), ((3, 3), "other")], review={1, 2}
    )
    review = figures([article_counts("p", page, record, record)])["review"]
    assert review["flagged_share"] == pytest.approx(2 / 3, abs=1e-4)
    assert (review["errors"], review["errors_caught_share"]) == (1, 1.0)


# --- the committed files ----------------------------------------------------------------
def test_the_committed_manifest_and_labels_follow_their_schema():
    manifest = load_manifest(REALNEWS)
    labels = load_labels(REALNEWS, manifest)
    assert set(labels["id"]) == set(manifest["id"])
    assert (labels[labels["kind"] == "content"]["label"].isin(LABELS)).all()


def test_no_committed_file_of_the_real_news_set_carries_text():
    """Cells are ids, hashes, addresses, labels, numbers and short tags: never a sentence."""
    for path in sorted(REALNEWS.glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as stream:
            for row in csv.DictReader(stream):
                for column, value in row.items():
                    assert len(value.split()) <= 3, f"{path.name}: {column} holds text: {value[:40]!r}"
                    assert len(value) <= 300, f"{path.name}: {column} is {len(value)} characters"


def test_the_set_has_two_parts_and_stories_never_cross_them():
    manifest = load_manifest(REALNEWS)
    assert manifest.groupby("story")["part"].nunique().max() == 1
    assert set(manifest["part"]) == {"dev", "test"}


def test_a_manifest_that_splits_a_story_across_parts_is_refused(made_up_set):
    folder, _, manifest = made_up_set
    manifest["story"] = "one-story"
    manifest.to_csv(folder / "manifest.csv", index=False)
    with pytest.raises(BadInput, match="story is split across parts"):
        load_manifest(folder)


def test_a_labels_file_with_a_text_column_is_refused(made_up_set):
    folder, _, _ = made_up_set
    labels = pd.read_csv(folder / "labels.csv", dtype=str, keep_default_na=False)
    labels["text"] = "a sentence"
    labels.to_csv(folder / "labels.csv", index=False)
    with pytest.raises(BadInput, match="unexpected column"):
        load_labels(folder)


# --- the cache and its verifier ------------------------------------------------------------------
def _verify(folder: Path, cache: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts/realnews.py"),
            "--manifest",
            str(folder / "manifest.csv"),
            "verify",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "TRIAGE_REALNEWS_CACHE": str(cache)},
    )


def test_the_verifier_names_missing_and_changed_pages(made_up_set):
    folder, cache, manifest = made_up_set
    assert _verify(folder, cache).returncode == 0
    first, second = manifest["id"]
    (cache / f"{first}.txt").write_text("edited", encoding="utf-8")
    (cache / f"{second}.txt").unlink()
    result = _verify(folder, cache)
    assert result.returncode == 1
    assert f"changed: {first}" in result.stdout and f"missing: {second}" in result.stdout


def test_adding_a_page_decodes_its_excerpt_literal_exactly(tmp_path):
    excerpt = tmp_path / "excerpt.json"
    excerpt.write_text('"Line one\\u00a0ends\\nLine \\"two\\""\n', encoding="utf-8")
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts/realnews.py"),
            "--manifest",
            str(tmp_path / "none.csv"),
            "add",
            "--url",
            "https://news.example.org/c",
            "--json",
            str(excerpt),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "TRIAGE_REALNEWS_CACHE": str(tmp_path / "cache")},
    )
    assert result.returncode == 0, result.stderr
    cached = (tmp_path / "cache" / f"{page_id('https://news.example.org/c')}.txt").read_bytes()
    assert cached == 'Line one\u00a0ends\nLine "two"'.encode()


def test_scoring_without_the_cache_is_one_line_that_says_how_to_rebuild_it(
    made_up_set, tmp_path, monkeypatch, trained, capsys
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRIAGE_REALNEWS_CACHE", str(tmp_path / "empty"))
    code, _, err = run(capsys, "evaluate", "--realnews", "dev", "--model", trained.model_path)
    assert code == 3
    assert err.startswith("error: ") and err.strip().count("\n") == 0
    assert "README" in err and "rebuild" in err


def test_a_changed_cached_page_is_refused_before_scoring(made_up_set):
    folder, cache, manifest = made_up_set
    (cache / f"{manifest['id'][0]}.txt").write_text("edited", encoding="utf-8")
    with pytest.raises(BadInput, match="differs from the manifest"):
        load_pages("dev", directory=folder, cache=cache)


# --- scoring and the test part ---------------------------------------------------------------------
def test_the_test_part_is_read_only_with_final(made_up_set):
    folder, _, manifest = made_up_set
    with pytest.raises(UsageError, match="--final"):
        select(manifest, "test")
    assert len(select(manifest, "test", final=True)) == 1


def test_evaluate_realnews_test_without_final_is_a_usage_error(
    made_up_set, tmp_path, monkeypatch, trained, capsys
):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "evaluate", "--realnews", "test", "--model", trained.model_path)
    assert code == 2 and "--final" in err


def test_evaluate_realnews_prints_every_figure_with_an_interval(
    made_up_set, tmp_path, monkeypatch, trained, capsys
):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(
        capsys, "evaluate", "--realnews", "dev", "--model", trained.model_path, "--format", "json"
    )
    assert code == 0, err
    report = json.loads(out)
    assert report["articles"] == 1 and report["content_blocks"] == 2
    for figure in ("paragraph_macro_f1", "in_article_macro_f1", "article_tag_micro_f1"):
        assert len(report[figure]["interval"]) == 2
    assert set(report["per_label_f1"]) == set(LABELS)
    assert {"about_alibaba=no", "register=native"} <= set(report["groups"])
    assert report["ingestion"]["furniture_blocks"] == 2


def test_every_final_run_is_logged_and_the_card_figures_follow_the_log(made_up_set, trained):
    folder, cache, _ = made_up_set
    log = folder / "final_log.csv"
    assert logged_test_figures(log, trained.card) is None
    for _ in range(2):
        realnews_report(trained.model, "test", final=True, directory=folder, cache=cache, log_path=log)
    logged = pd.read_csv(log, dtype=str)
    assert len(logged) == 2 and set(logged["model_sha"]) == {trained.model.short_sha}
    assert logged_test_figures(log, trained.card)["articles"] == "1"
    other_model = {**trained.card, "settings": {**trained.card["settings"], "C": 0.5}}
    assert logged_test_figures(log, other_model) is None


# --- keeping the private set unseen -------------------------------------------------------------------
@pytest.mark.skipif(not HELDOUT_CHECK.exists(), reason="../shared/heldout is not beside the repository")
@pytest.mark.parametrize("folder", ["data", "tests", "docs", "notebooks"])
def test_held_out_check_passes_on_every_folder_written_after_reading_real_pages(folder):
    texts = [
        str(path)
        for path in sorted((ROOT / folder).rglob("*"))
        if path.is_file() and path.suffix not in BINARY_SUFFIXES and "__pycache__" not in path.parts
    ]
    result = subprocess.run([sys.executable, str(HELDOUT_CHECK), *texts], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_analysts_model_is_not_measured_by_the_logged_test_figures(trained):
    """A model trained with `--add` is another model: the log's figures never describe it."""
    from triage.evaluation.training_card import realnews_test_figures

    card = json.loads(json.dumps(trained.card))
    added = {"path": "/home/ana/mine.csv", "sha256": "ab" * 32, "rows": 30}
    card["training"]["added"] = [added]
    assert realnews_test_figures(card, ROOT / "data/labeled") == {"note": "not measured for this model"}


def test_evaluate_says_whether_the_real_news_test_figures_describe_this_model(model_copy, capsys):
    card = json.loads(model_copy.read_text())
    card["realnews_test"] = {"note": "not measured for this model"}
    model_copy.write_text(json.dumps(card))
    code, out, _ = run(capsys, "evaluate", "--split", "ood", "--model", model_copy)
    assert code == 0 and "real news test: not measured for this model" in out


# --- with the real cache (TRIAGE_REALNEWS=1 only, so every machine takes the same path) -------
REAL_CACHE = pytest.mark.skipif(
    os.environ.get("TRIAGE_REALNEWS") != "1", reason="needs the real-news cache: set TRIAGE_REALNEWS=1"
)


@REAL_CACHE
def test_the_real_cache_matches_every_hash_of_the_manifest():
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts/realnews.py"), "verify"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


@REAL_CACHE
def test_no_written_text_nearly_duplicates_a_real_page():
    written = [ROOT / "data/realistic/raw", ROOT / "data/authored/raw", ROOT / "tests", ROOT / "docs"]
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts/realnews.py"), "overlap", *map(str, written)],
        capture_output=True,
        text=True,
    )
    new = [line for line in result.stdout.splitlines() if "realistic-r10-" in line or "tests/" in line]
    assert not new, new
