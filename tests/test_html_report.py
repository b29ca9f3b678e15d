"""`triage predict --format html`: one self-contained page, streamed record by record.

Every article and paragraph in this file was written for the project.
"""

from __future__ import annotations

import io
import json
from html.parser import HTMLParser

from triage.cli.app import main
from triage.corpus.labeled import LABELS as TAXONOMY_LABELS
from triage.web.html_report import HtmlReportWriter

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


def records_part(page: str) -> str:
    """The page's record sections, without the overview (whose rows repeat the tags)."""
    start = page.index('<main id="records">')
    return page[start : page.index("</main>", start)]


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
    elements = Elements(records_part(page))
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
    assert rows["legal_action"] == ["legal_action", "1", "1"]
    assert rows["market_expansion"] == ["market_expansion", "1", "1"]
    assert rows["other"] == ["other", "0", "1"]
    assert rows["brand_criticism"] == ["brand_criticism", "0", "0"]
    assert "1 of 3 paragraphs (33%) needs review." in page


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


# Written for the project: a feed whose columns are not triage's own names, the second row a
# copy of the first under another headline, its url not a web address.
OTHER_COLUMNS_FEED = """url,headline,body,date
https://news.example.org/court?day=2&part=1,Court Orders Sellers To Pay,"A judge ordered three marketplace sellers to pay damages for selling counterfeit handbags.

The platform said it removed the listings and closed the shops.",2026-11-02
javascript:alert(1),Court Orders Sellers To Pay Again,"A judge ordered three marketplace sellers to pay damages for selling counterfeit handbags.

The platform said it removed the listings and closed the shops.",2026-11-03
"""
FEED_OPTIONS = ("--text-column", "body", "--title-column", "headline", "--keep-columns", "url,date")


def _feed_report(capsys, trained, tmp_path, *extra) -> tuple[str, list[dict], str]:
    feed = tmp_path / "feed.csv"
    feed.write_text(OTHER_COLUMNS_FEED, encoding="utf-8")
    _, jsonl, _ = run(
        capsys, "predict", feed, "--model", trained.model_path, *FEED_OPTIONS, "--format", "jsonl"
    )
    code, page, err = run(
        capsys, "predict", feed, "--model", trained.model_path, *FEED_OPTIONS, "--format", "html", *extra
    )
    assert code == 0, err
    return page, [json.loads(line) for line in jsonl.splitlines()], err


# Written for the project: a tag given by a paragraph labelled otherwise.
CRITICISM_BY_A_COURT_PARAGRAPH = article_record(
    "court-and-brand",
    [
        ("The marketplace opened a new warehouse.", "market_expansion", 0.81, False),
        (
            "A judge said the brand owner's complaint about fakes was well founded.",
            "legal_action",
            0.55,
            True,
        ),
    ],
    [
        {"label": "market_expansion", "score": 0.81, "paragraphs": [0], "threshold": 0.5},
        {"label": "brand_criticism", "score": 0.41, "paragraphs": [1], "threshold": 0.35},
    ],
)
CRITICISM_BY_A_COURT_PARAGRAPH["paragraphs"][1]["probabilities"].update(brand_criticism=0.41, other=0.0)


def test_a_tag_no_paragraph_carries_says_which_paragraph_gave_it_its_probability_and_the_threshold():
    buffer = io.StringIO()
    writer = HtmlReportWriter(buffer, LABELS)
    writer.write(CRITICISM_BY_A_COURT_PARAGRAPH)
    writer.finish()
    elements = Elements(records_part(buffer.getvalue()))
    (why,) = elements.with_class("tag-why")
    assert why["data-label"] == "brand_criticism"
    assert " ".join(why["text"].split()) == (
        "brand_criticism: no paragraph is labelled brand_criticism; the tag comes from paragraph [1] "
        "(labelled legal_action, p(brand_criticism) 0.41), at or above the tag's threshold 0.35."
    )
    paragraphs = elements.with_class("para")
    assert [p.get("data-evidence") for p in paragraphs] == [None, "brand_criticism"]
    assert "gives tag brand_criticism" in paragraphs[1]["text"]


def test_every_tag_predict_writes_carries_its_threshold_and_reaches_it(capsys, trained, tmp_path):
    _, records, _ = _feed_report(capsys, trained, tmp_path)
    tags = [tag for record in records for tag in record["tags"]]
    assert tags and all(tag["score"] >= tag["threshold"] > 0 for tag in tags)


def test_the_title_is_the_heading_a_kept_web_url_the_link_and_other_kept_columns_beneath(
    capsys, trained, tmp_path
):
    page, records, _ = _feed_report(capsys, trained, tmp_path)
    elements = Elements(records_part(page))
    headings = [e["text"] for e in elements.elements if e["tag"] == "h2"]
    assert headings == ["Court Orders Sellers To Pay", "Court Orders Sellers To Pay Again"]
    (link,) = elements.with_class("source-link")
    assert link["href"] == "https://news.example.org/court?day=2&part=1"  # the & escaped in the page
    assert "https://news.example.org/court?day=2&amp;part=1" in page
    (not_a_link,) = elements.with_class("source-text")
    assert not_a_link["text"] == "javascript:alert(1)" and not_a_link["tag"] == "span"
    assert [e["text"] for e in elements.with_class("kept")] == ["date: 2026-11-02", "date: 2026-11-03"]
    assert [e["text"] for e in elements.with_class("record-id")] == [r["id"] for r in records]


def test_a_near_duplicate_is_marked_links_to_its_first_copy_and_is_counted_as_the_terminal_counts(
    capsys, trained, tmp_path
):
    page, records, err = _feed_report(capsys, trained, tmp_path)
    assert records[1]["near_duplicate_of"] == records[0]["id"]
    elements = Elements(page)
    first, copy = elements.with_class("record")
    assert "near-duplicate" in copy["class"].split() and "near-duplicate" not in first["class"].split()
    (note,) = elements.with_class("dup-note")
    (link,) = [e for e in elements.elements if e["tag"] == "a" and e["text"] == records[0]["id"]]
    (target,) = [e for e in elements.elements if "#" + e.get("id", "") == link["href"]]
    assert target["tag"] == "h2" and target["text"] == records[0]["title"]  # the first copy's heading
    # the summary counts tags as the closing line does: the copy's once
    terminal = dict(pair.rsplit(" ", 1) for pair in err.split("tags: ")[1].strip().split(", "))
    page_counts = {
        row["data-label"]: row["text"].split()[1]
        for row in elements.elements
        if row["tag"] == "tr" and row.get("data-label") and row["text"].split()[1] != "0"
    }
    assert page_counts == terminal
    assert "1 near-duplicate counted once" in page and "1 near-duplicate counted once" in err


def test_the_overview_comes_first_with_o_and_at_the_end_when_streamed_with_a_link_at_the_top(
    capsys, trained, tmp_path
):
    streamed, records, _ = _feed_report(capsys, trained, tmp_path)
    target = tmp_path / "report.html"
    _feed_report(capsys, trained, tmp_path, "-o", target)
    from_journal = target.read_text(encoding="utf-8")
    for page, overview_first in ((from_journal, True), (streamed, False)):
        assert (page.index('id="overview"') < page.index('<main id="records">')) == overview_first
        assert page.index('href="#overview"') < page.index('<main id="records">')
        elements = Elements(page)
        rows = elements.with_class("overview-row")
        assert [" ".join(row["text"].split()[:5]) for row in rows] == [r["title"] for r in records][:1] + [
            " ".join(records[1]["title"].split()[:5])
        ]
        links = [e["href"] for e in elements.elements if e["tag"] == "a" and e["href"].startswith("#record-")]
        assert links[:2] == [f"#{section['id']}" for section in elements.with_class("record")]
        assert "near-duplicate" in rows[1]["text"] and "near-duplicate" not in rows[0]["text"]
    assert records_part(streamed) == records_part(from_journal)


def test_the_legend_says_how_to_see_the_terms_only_where_they_are_missing():
    without, with_terms = io.StringIO(), io.StringIO()
    HtmlReportWriter(without, LABELS).finish()
    HtmlReportWriter(with_terms, LABELS, explain=True).finish()
    (legend,) = [e for e in Elements(without.getvalue()).elements if e.get("id") == "legend-text"]
    assert "(run triage predict with --explain for the terms behind its label)" in legend["text"]
    (legend,) = [e for e in Elements(with_terms.getvalue()).elements if e.get("id") == "legend-text"]
    assert "for its probabilities and the terms behind its label." in legend["text"]
    assert "--explain" not in legend["text"]


def test_the_legend_and_summary_say_what_the_review_flag_flags_and_catches_from_the_cards_test_figures():
    measured = {
        "realnews_test": {
            "date": "2026-12-07T15:47:00+00:00",
            "articles": "74",
            "review_flagged_share": "0.6",
            "review_errors_caught_share": "0.8253",
        }
    }
    for card, said in (
        (
            measured,
            "On the real-news test (74 articles, logged 2026-12-07) the review flag marked 60% "
            "of paragraphs and caught 83% of the paragraphs the model labelled wrongly.",
        ),
        ({"realnews_test": {"note": "not measured for this model"}}, "No real-news test figure exists yet"),
        ({"realnews_test": {"date": "2026-12-01", "articles": "74"}}, "No real-news test figure exists yet"),
    ):
        buffer = io.StringIO()
        writer = HtmlReportWriter(buffer, LABELS, card=card)
        writer.write(COURT_STORY)
        writer.finish()
        elements = Elements(buffer.getvalue())
        (legend,) = [e for e in elements.elements if e.get("id") == "legend-text"]
        (summary,) = [e for e in elements.elements if e.get("id") == "review-count"]
        assert said in " ".join(legend["text"].split())
        assert " ".join(summary["text"].split()).startswith(
            "1 of 2 paragraphs (50%) needs review. " + said[:30]
        )


def test_a_repeated_id_anchors_only_its_first_record_which_a_near_duplicate_links_to():
    again = {**COURT_STORY, "near_duplicate_of": "court-story"}
    buffer = io.StringIO()
    writer = HtmlReportWriter(buffer, LABELS)
    writer.write([COURT_STORY, STORE_STORY, again])
    writer.finish()
    elements = Elements(buffer.getvalue())
    ids = [element["id"] for element in elements.elements if element.get("id")]
    assert len(ids) == len(set(ids))  # no anchor twice on the page
    (link,) = [e for e in elements.elements if e["tag"] == "a" and e["href"].startswith("#id-")]
    headings = [e for e in elements.elements if e["tag"] == "h2" and e["text"] == "court-story"]
    assert len(headings) == 2  # the story and its copy
    assert "#" + headings[0].get("id", "") == link["href"] and "id" not in headings[1]


def test_a_streamed_overview_waits_on_disk_past_its_memory_share_and_comes_out_the_same(monkeypatch):
    import triage.web.html_report

    pages = []
    for spool_bytes in (1 << 20, 64):  # the second rolls its rows over to a temporary file
        monkeypatch.setattr(triage.web.html_report, "SPOOL_BYTES", spool_bytes)
        buffer = io.StringIO()
        writer = HtmlReportWriter(buffer, LABELS)
        writer.write([COURT_STORY, STORE_STORY] * 20)
        assert writer._spool._rolled == (spool_bytes == 64)
        writer.finish()
        pages.append(buffer.getvalue())
    assert pages[0] == pages[1] and pages[0].count('class="overview-row"') == 40
