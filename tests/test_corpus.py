"""The labelled corpus: schema validation, re-ingestion, the split, near-duplicates."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from triage.corpus.labeled import (
    LABELS,
    NEAR_DUPLICATE_THRESHOLD,
    load_labeled,
    load_labeled_file,
    load_manifest,
    near_duplicate_pairs,
    text_sha1,
)
from triage.errors import BadInput
from triage.ingestion.article import ingest

ROOT = Path(__file__).resolve().parents[1]
LABELED = ROOT / "data/labeled"
SHARED_SEEDS = ROOT.parent / "shared/seeds"


def _row(**changes):
    row = {
        "article_id": "a-1",
        "paragraph": "0",
        "text": "Amazon removed fake listings.",
        "label": "platform_metrics",
        "split": "train",
        "source": "authored",
    }
    row.update(changes)
    row.setdefault("text_sha1", text_sha1(row["text"]))
    if "text_sha1" not in changes:
        row["text_sha1"] = text_sha1(row["text"])
    return row


def _write(tmp_path, rows, columns=None) -> Path:
    path = tmp_path / "authored.csv"
    frame = pd.DataFrame(rows)
    if columns is not None:
        frame = frame[columns]
    frame.to_csv(path, index=False)
    return path


# --- the validator refuses each kind of bad file, naming file, row and problem ------------
@pytest.mark.parametrize(
    "change, message",
    [
        ({"label": "scandal"}, "label 'scandal' is not one of"),
        ({"label": ""}, "label empty is not one of"),
        ({"text": "   "}, "empty text"),
        ({"text_sha1": "0" * 40}, "text_sha1 does not match"),
        ({"split": "test"}, "split 'test' is not allowed for source authored"),
        ({"source": "scraped"}, "source 'scraped' is not one of"),
        ({"paragraph": "-1"}, "is not a whole number"),
    ],
)
def test_validator_rejects_a_bad_row_naming_file_row_and_problem(tmp_path, change, message):
    path = _write(tmp_path, [_row(), _row(article_id="a-2", **change)])
    with pytest.raises(BadInput) as error:
        load_labeled_file(path)
    assert str(error.value).startswith(f"{path}: row 2: ")
    assert message in str(error.value)


def test_validator_rejects_missing_columns(tmp_path):
    path = _write(tmp_path, [_row()], columns=["article_id", "paragraph", "text"])
    with pytest.raises(BadInput, match="missing column"):
        load_labeled_file(path)


def test_validator_rejects_duplicate_article_and_paragraph(tmp_path):
    path = _write(tmp_path, [_row(), _row(text="Another text entirely.")])
    with pytest.raises(BadInput, match=r"row 2: duplicate \(article_id, paragraph\) a-1 0, first at row 1"):
        load_labeled_file(path)


def test_seed_rows_may_be_train_or_test_and_ood_rows_only_ood(tmp_path):
    rows = [
        _row(source="seed", split="test"),
        _row(article_id="s", source="seed", split="train"),
        _row(article_id="o", source="ood", split="ood"),
    ]
    assert len(load_labeled_file(_write(tmp_path, rows))) == 3
    with pytest.raises(BadInput, match="not allowed for source ood"):
        load_labeled_file(_write(tmp_path, [_row(source="ood", split="train")]))


def test_the_bundled_labelled_files_are_valid():
    rows = load_labeled(LABELED)
    assert set(rows["label"]) == set(LABELS)
    assert set(rows["source"]) == {"seed", "authored", "realistic", "independent", "ood", "ood_realistic"}


def test_the_labelled_seed_rows_never_move_whatever_ingestion_does():
    """The held-out split and the seed labels are fixed: every seed row's text_sha1, split
    and label equal the record taken when they were first labelled."""
    lines = (ROOT / "tests/data/seed_rows.sha1").read_text(encoding="utf-8").splitlines()
    recorded = [tuple(line.split("\t")) for line in lines if not line.startswith("#")]
    seeds = load_labeled(LABELED).query("source == 'seed'")
    current = [
        (row.article_id, str(row.paragraph), row.split, row.label, row.text_sha1)
        for row in seeds.itertuples()
    ]
    assert current == recorded


def test_manifest_names_every_article_with_raw_text_and_valid_fields():
    manifest = load_manifest(ROOT / "data/articles.csv")
    assert all((ROOT / path).is_file() for path in manifest["source_file"])
    rows = load_labeled(LABELED)
    multi = rows.groupby("article_id").size()
    assert set(multi[multi > 1].index) <= set(manifest["article_id"])


def test_manifest_validator_rejects_an_unknown_register(tmp_path):
    path = tmp_path / "articles.csv"
    path.write_text(
        "article_id,source,source_file,title,register,about_alibaba\nx,seed,data/raw/x.txt,T,spoken,no\n"
    )
    with pytest.raises(BadInput, match="register 'spoken'"):
        load_manifest(path)


# --- raw data and re-ingestion --------------------------------------------------------------
def test_raw_folder_holds_exactly_the_five_seeds_byte_for_byte():
    raw = sorted(path.name for path in (ROOT / "data/raw").iterdir())
    assert len(raw) == 5 and all(name.endswith(".txt") for name in raw)
    if SHARED_SEEDS.is_dir():
        assert raw == sorted(path.name for path in SHARED_SEEDS.glob("*.txt"))
        for name in raw:
            assert (ROOT / "data/raw" / name).read_bytes() == (SHARED_SEEDS / name).read_bytes()


@pytest.mark.parametrize("source", ["seed", "authored", "realistic", "ood", "ood_realistic"])
def test_reingesting_raw_articles_reproduces_the_labelled_text(source):
    manifest = load_manifest(ROOT / "data/articles.csv")
    rows = load_labeled(LABELED)
    articles = manifest[(manifest["source"] == source) & manifest["source_file"].str.endswith(".txt")]
    assert len(articles) > 0
    for article in articles.itertuples():
        texts = ingest((ROOT / article.source_file).read_text(encoding="utf-8")).texts
        labelled = rows[rows["article_id"] == article.article_id]
        assert len(labelled) > 0
        for row in labelled.itertuples():  # near-duplicates were removed, so rows are a subset
            assert texts[row.paragraph] == row.text, (article.article_id, row.paragraph)
        if source == "seed":
            assert list(labelled.sort_values("paragraph")["text"]) == texts


# --- the held-out split --------------------------------------------------------------------
def test_test_split_is_seed_only_at_least_a_fifth_and_covers_every_label():
    rows = load_labeled(LABELED)
    seeds = rows[rows["source"] == "seed"]
    test = rows[rows["split"] == "test"]
    assert set(test["source"]) == {"seed"}
    assert len(test) >= 0.2 * len(seeds)
    assert set(test["label"]) == set(LABELS)


def test_no_test_paragraph_nearly_duplicates_a_training_row():
    rows = load_labeled(LABELED)
    test = rows[rows["split"] == "test"]
    train = rows[rows["split"] == "train"]
    pairs = near_duplicate_pairs(list(test["text"]), list(train["text"]))
    assert pairs == [], [(test.iloc[i].article_id, train.iloc[j].article_id, s) for i, j, s in pairs]


def test_no_ood_row_nearly_duplicates_a_training_row():
    rows = load_labeled(LABELED)
    ood = rows[rows["split"] == "ood"]
    training = rows[rows["split"] != "ood"]
    assert near_duplicate_pairs(list(ood["text"]), list(training["text"])) == []


def test_written_training_rows_have_no_near_duplicates_among_themselves_or_the_seeds():
    rows = load_labeled(LABELED)
    authored = list(rows.loc[(rows["split"] == "train") & (rows["source"] != "seed"), "text"])
    seeds = list(rows.loc[rows["source"] == "seed", "text"])
    assert [p for p in near_duplicate_pairs(authored, authored) if p[0] != p[1]] == []
    assert near_duplicate_pairs(authored, seeds) == []


def test_near_duplicate_measure_catches_a_retold_paragraph_and_not_a_shared_phrase():
    original = "Gucci and Yves Saint Laurent jointly filed a lawsuit in the federal court of Manhattan, accusing the platform of violating trademark laws"
    retold = "Last May the brands Gucci and Yves Saint Laurent jointly filed a lawsuit in the federal court of Manhattan against the group"
    unrelated = "The platform said the fight against counterfeiting needs the joint efforts of the whole society and all brands"
    assert near_duplicate_pairs([retold], [original])[0][2] >= NEAR_DUPLICATE_THRESHOLD
    assert near_duplicate_pairs([unrelated], [original]) == []
