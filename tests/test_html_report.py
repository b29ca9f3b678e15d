"""`triage predict --format html`: one self-contained page, streamed record by record.

Every article and paragraph in this file was written for the project.
"""

from __future__ import annotations

import io
import json
from html.parser import HTMLParser

from triage.cli import main
from triage.corpus import LABELS as TAXONOMY_LABELS
from triage.html import HtmlReportWriter

LABELS = list(TAXONOMY_LABELS)

# Written for the project.
ARTICLE_WITH_MARKUP = """Sneaker Maker Takes Sellers To Court

A sportswear maker filed a lawsuit in federal court on Tuesday, asking a judge for an injunction against twelve sellers it says sold counterfeit trainers on the marketplace.

The marketplace said it removed 3.2 million suspicious listings last year and that its detection systems blocked most of them before any buyer saw them.

A reader who pasted <script>alert('owned')</script> under the story asked whether the <b>fake</b> pairs were still for sale.
"""


class Elements(HTMLParser):
    """Every element of a page with its attributes and the text inside it (nested text too)."""

    VOID = {"meta", "br", "img", "input", "link", "hr"}

    def __init__(self, page: str):
        super().__init__()
        self.elements: list[dict] = []
        self._open: list[dict] = []
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        element = {"tag": tag, **{name: value or "" for name, value in attrs}, "text": ""}
        self.elements.append(element)
        if tag not in self.VOID:
            self._open.append(element)

    def handle_endtag(self, tag):
        while self._open:
            if self._open.pop()["tag"] == tag:
                break

    def handle_data(self, data):
        for element in self._open:
            element["text"] += data

    def with_class(self, name: str) -> list[dict]:
        return [element for element in self.elements if name in element.get("class", "").split()]


def run(capsys, *args) -> tuple[int, str, str]:
    code = main([str(arg) for arg in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def article_record(record_id: str, paragraphs: list[tuple[str, str, float, bool]], tags: list[dict]) -> dict:
    """An article record shaped as `triage predict --format jsonl` writes one."""
    rows = []
    for index, (text, label, top, review) in enumerate(paragraphs):
        rest = (1 - top) / (len(LABELS) - 1)
        probabilities = {name: (top if name == label else rest) for name in LABELS}
        rows.append(
            {
                "index": index,
                "text": text,
                "label": label,
                "probabilities": probabilities,
                "needs_review": review,
            }
        )
    return {
        "id": record_id,
        "title": None,
        "tags": tags,
        "context": True,
        "dropped_lines": 0,
        "mostly_foreign": False,
        "paragraphs": rows,
        "model": "0123456789ab",
        "triage_version": "0.1.0",
    }


COURT_STORY = article_record(
    "court-story",
    [
        ("A judge ordered the seller to pay damages for the fake handbags.", "legal_action", 0.91, False),
        ("Nothing else happened that week.", "other", 0.52, True),
    ],
    [{"label": "legal_action", "score": 0.91, "paragraphs": [0]}],
)
STORE_STORY = article_record(
    "store-story",
    [("The watchmaker opened its first flagship store on the platform.", "market_expansion", 0.88, False)],
    [{"label": "market_expansion", "score": 0.88, "paragraphs": [0]}],
)


def test_an_article_containing_script_shows_as_text_and_injects_nothing(capsys, trained, tmp_path):
    article = tmp_path / "markup.txt"
    article.write_text(ARTICLE_WITH_MARKUP, encoding="utf-8")
    code, page, _ = run(capsys, "predict", article, "--model", trained.model_path, "--format", "html")
    assert code == 0
    elements = Elements(page)
    assert [element["tag"] for element in elements.elements].count("script") == 1  # the page's own filter
    assert not [element for element in elements.elements if element["tag"] == "b"]
    texts = [element["text"] for element in elements.with_class("text")]
    assert (
        "A reader who pasted <script>alert('owned')</script> under the story asked whether the <b>fake</b> pairs were still for sale."
        in texts
    )
    assert "&lt;script&gt;" in page


def test_the_page_loads_nothing_from_the_network(capsys, trained, tmp_path):
    article = tmp_path / "markup.txt"
    article.write_text(ARTICLE_WITH_MARKUP, encoding="utf-8")
    _, page, _ = run(
        capsys, "predict", article, "--model", trained.model_path, "--format", "html", "--explain"
    )
    elements = Elements(page)
    assert not [element for element in elements.elements if element.get("src") or element["tag"] == "link"]
    assert "http:" not in page and "https:" not in page and "url(" not in page and "@import" not in page
    assert "default-src 'none'" in page  # and the browser is told to refuse anything it missed


def test_each_article_has_its_tags_as_chips_with_scores_and_shaded_paragraphs(capsys, trained, tmp_path):
    article = tmp_path / "markup.txt"
    article.write_text(ARTICLE_WITH_MARKUP, encoding="utf-8")
    _, jsonl, _ = run(capsys, "predict", article, "--model", trained.model_path, "--format", "jsonl")
    _, page, _ = run(capsys, "predict", article, "--model", trained.model_path, "--format", "html")
    record = json.loads(jsonl)
    elements = Elements(page)
    (section,) = elements.with_class("record")
    chips = [chip for chip in elements.with_class("chip") if chip.get("data-label")]
    assert [(chip["data-label"], chip["text"].split()) for chip in chips] == [
        (tag["label"], [tag["label"], f"{tag['score']:.2f}"]) for tag in record["tags"]
    ]
    paragraphs = elements.with_class("para")
    assert [p["data-label"] for p in paragraphs] == [p["label"] for p in record["paragraphs"]]
    for shown, predicted in zip(paragraphs, record["paragraphs"], strict=True):
        assert f"lab-{LABELS.index(predicted['label'])}" in shown["class"].split()
        assert predicted["label"] in shown["text"]  # the label in words, not only in colour
        assert shown["tabindex"] == "0"  # the probabilities show on focus too
        assert f"{predicted['probabilities'][predicted['label']]:.3f}" in shown["text"]


def test_explain_terms_are_in_the_paragraphs_hover_box(capsys, trained, tmp_path):
    article = tmp_path / "markup.txt"
    article.write_text(ARTICLE_WITH_MARKUP, encoding="utf-8")
    _, jsonl, _ = run(
        capsys, "predict", article, "--model", trained.model_path, "--format", "jsonl", "--explain"
    )
    _, page, _ = run(
        capsys, "predict", article, "--model", trained.model_path, "--format", "html", "--explain"
    )
    infos = Elements(page).with_class("info")
    for info, paragraph in zip(infos, json.loads(jsonl)["paragraphs"], strict=True):
        for term in paragraph["explanation"]:
            assert term["term"] in info["text"]


def test_paragraphs_that_need_review_are_marked_in_words():
    buffer = io.StringIO()
    writer = HtmlReportWriter(buffer, LABELS)
    writer.write(COURT_STORY)
    writer.finish()
    paragraphs = Elements(buffer.getvalue()).with_class("para")
    assert ["review" in p["class"].split() for p in paragraphs] == [False, True]
    assert ["review" in p["text"].split() for p in paragraphs] == [False, True]


def test_records_are_written_as_they_come_and_the_summary_counts_them_at_the_end():
    buffer = io.StringIO()
    writer = HtmlReportWriter(buffer, LABELS, title="Tuesday's feed")
    writer.write(COURT_STORY)
    assert "A judge ordered the seller" in buffer.getvalue() and 'id="summary"' not in buffer.getvalue()
    writer.write(STORE_STORY)
    writer.finish()
    page = buffer.getvalue()
    assert page.rstrip().endswith("</html>") and "<title>Tuesday&#39;s feed</title>" in page
    rows = {
        row["data-label"]: row["text"].split()
        for row in Elements(page).elements
        if row["tag"] == "tr" and row.get("data-label")
    }
    assert rows["legal_action"] == ["legal_action", "1", "1", "court-story"]
    assert rows["market_expansion"] == ["market_expansion", "1", "1", "store-story"]
    assert rows["other"] == ["other", "0", "1"]
    assert rows["brand_criticism"] == ["brand_criticism", "0", "0"]
    assert "1 paragraph needs review" in page


def test_a_chunk_of_records_writes_the_same_page_as_one_record_at_a_time():
    one_by_one, chunked = io.StringIO(), io.StringIO()
    writer = HtmlReportWriter(one_by_one, LABELS)
    writer.write(COURT_STORY)
    writer.write(STORE_STORY)
    writer.finish()
    writer = HtmlReportWriter(chunked, LABELS)
    writer.write([COURT_STORY, STORE_STORY])
    writer.write([])
    writer.finish()
    assert chunked.getvalue() == one_by_one.getvalue()


def test_the_label_filter_offers_every_label_and_each_record_says_which_it_carries():
    buffer = io.StringIO()
    writer = HtmlReportWriter(buffer, LABELS)
    writer.write(COURT_STORY)
    writer.write(STORE_STORY)
    writer.finish()
    elements = Elements(buffer.getvalue())
    options = [e["value"] for e in elements.elements if e["tag"] == "option"]
    assert options == ["", *LABELS]
    assert [record["data-labels"] for record in elements.with_class("record")] == [
        "legal_action other",
        "market_expansion",
    ]


def test_unit_paragraph_records_render_with_their_label(capsys, trained, tmp_path):
    rows = tmp_path / "rows.csv"
    rows.write_text(
        "id,text\n"
        "p1,The court granted an injunction against the counterfeit seller.\n"
        "p2,The platform said it closed 40000 seller accounts last quarter.\n",
        encoding="utf-8",
    )
    _, jsonl, _ = run(
        capsys, "predict", rows, "--model", trained.model_path, "--unit", "paragraph", "--format", "jsonl"
    )
    code, page, _ = run(
        capsys, "predict", rows, "--model", trained.model_path, "--unit", "paragraph", "--format", "html"
    )
    assert code == 0
    records = [json.loads(line) for line in jsonl.splitlines()]
    elements = Elements(page)
    assert [section["id"] for section in elements.with_class("record")] == ["record-1", "record-2"]
    assert [p["data-label"] for p in elements.with_class("para")] == [r["label"] for r in records]


def test_html_output_goes_to_a_file_with_o(capsys, trained, tmp_path):
    target = tmp_path / "report.html"
    article = tmp_path / "markup.txt"
    article.write_text(ARTICLE_WITH_MARKUP, encoding="utf-8")
    code, out, err = run(
        capsys, "predict", article, "--model", trained.model_path, "--format", "html", "-o", target
    )
    assert code == 0 and out == "" and f"wrote {target}" in err
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
