"""The report page and `triage serve` in a real browser: Debian's headless Chromium driven by
playwright (its own browser download is not reachable here; `make test` installs chromium).

Screenshots are kept in build/screenshots/ as test artefacts. Every article in this file was
written for the project.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from triage.cli.app import main

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / "build/screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Written for the project.
COURT_ARTICLE = """Handbag Maker Wins Case Against Online Sellers

A federal judge granted a handbag maker an injunction and ordered three online sellers to pay damages for selling counterfeit bags bearing its trademark.

The marketplace said it had removed 1.4 million suspicious listings last year and that its automated checks blocked most fake goods before any sale.

The company's lawyers said the court's ruling would make it easier to freeze the sellers' accounts in future infringement lawsuits.
"""
# Written for the project.
STORE_ARTICLE = """Watchmaker Opens Flagship Store On Shopping App

A Swiss watchmaker opened its first official flagship store on the shopping app this week, betting on fast growth in online luxury sales among young buyers.

The brand said cross-border orders grew 60 percent last year and that it plans to enter three more Asian markets through the platform.
"""


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install it with `apt-get install -y chromium` (make test does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    yield context.new_page()
    context.close()


@pytest.fixture(scope="module")
def server(trained):
    """`triage serve` as a user starts it (default host: loopback), on a free port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    executable = Path(sys.executable).with_name("triage")
    process = subprocess.Popen(
        [str(executable), "serve", "--port", str(port), "--model", str(trained.model_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                assert response.status == 200
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"triage serve did not start: {process.communicate()[1]}")
            time.sleep(0.3)
    yield url
    process.terminate()
    process.wait(timeout=30)
    process.stderr.close()


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def background(element) -> str:
    return element.evaluate("node => getComputedStyle(node).backgroundColor")


def test_a_pasted_article_shows_tag_chips_and_paragraphs_shaded_by_label(page, server):
    page.goto(server)
    page.fill("#text", COURT_ARTICLE)
    page.click("#triage-button")
    page.wait_for_selector(".record")
    screenshot(page, "serve_pasted_article")

    (record,) = page.query_selector_all(".record")
    assert "Handbag Maker Wins Case Against Online Sellers" in record.inner_text()
    chips = record.query_selector_all(".chip[data-label]")
    assert chips, "no tag chips"
    for chip in chips:
        label, score = chip.inner_text().split()
        assert label == chip.get_attribute("data-label") and 0 <= float(score) <= 1
        assert background(chip) not in ("rgba(0, 0, 0, 0)", "rgb(255, 255, 255)")
    paragraphs = record.query_selector_all(".para")
    assert len(paragraphs) == 3
    shade_of = {}
    for paragraph in paragraphs:
        label = paragraph.get_attribute("data-label")
        assert label in paragraph.inner_text()  # named in words, not only shaded
        shade_of.setdefault(label, set()).add(background(paragraph))
    assert all(len(shades) == 1 for shades in shade_of.values()), shade_of  # one shade per label
    shades = [next(iter(s)) for s in shade_of.values()]
    assert len(set(shades)) == len(shades) and "rgba(0, 0, 0, 0)" not in shades  # a shade each


def test_focusing_a_paragraph_shows_its_probabilities(page, server):
    page.goto(server)
    page.fill("#text", COURT_ARTICLE)
    page.click("#triage-button")
    first = page.wait_for_selector(".para")
    assert not first.query_selector(".info").is_visible()
    for _ in range(20):  # tab through the form and the filter to the first paragraph
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('para')"):
            break
    assert page.evaluate("document.activeElement.dataset.index") == "0"
    info = first.query_selector(".info")
    assert info.is_visible()
    assert first.get_attribute("data-label") in info.inner_text()
    screenshot(page, "serve_paragraph_focused")


def test_a_bad_upload_shows_a_message_on_the_page(page, server):
    page.goto(server)
    page.set_input_files(
        "#files", files=[{"name": "scan.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.7"}]
    )
    page.click("#triage-button")
    message = page.wait_for_selector("#message")
    assert message.inner_text() == "scan.pdf: not a .txt, .csv, .jsonl or .html file"
    assert "Traceback" not in page.content()
    screenshot(page, "serve_bad_upload")


def test_the_report_files_label_filter_keeps_the_articles_that_carry_a_label(page, trained, tmp_path, capsys):
    for name, text in (("court.txt", COURT_ARTICLE), ("store.txt", STORE_ARTICLE)):
        (tmp_path / name).write_text(text, encoding="utf-8")
    report = tmp_path / "report.html"
    code = main(
        ["predict", str(tmp_path), "--model", str(trained.model_path), "--format", "html", "-o", str(report)]
    )
    capsys.readouterr()
    assert code == 0
    page.goto(report.as_uri())
    records = page.query_selector_all(".record")
    carried = [set(record.get_attribute("data-labels").split()) for record in records]
    only_one = sorted((carried[0] - carried[1]) | (carried[1] - carried[0]))
    assert only_one, f"both articles carry the same labels {carried}: the texts no longer test the filter"
    label = only_one[0]

    page.select_option("#label-filter", label)
    visible = [record.is_visible() for record in records]
    assert visible == [label in labels for labels in carried]
    for paragraph in page.query_selector_all(".para"):
        dimmed = "dimmed" in paragraph.get_attribute("class").split()
        assert dimmed == (paragraph.get_attribute("data-label") != label)
    assert page.inner_text("#filter-status") == f"showing 1 of 2 with {label}"
    screenshot(page, "report_filtered")

    page.select_option("#label-filter", "")
    assert all(record.is_visible() for record in records)
    assert not page.query_selector_all(".para.dimmed")


# Written for the project: a feed with its own column names, a source address and a date, the
# second row a copy of the first under another headline.
OTHER_COLUMNS_FEED = """link,headline,story,published
https://news.example.org/court-fines,Court Fines Bag Sellers,"A federal judge ordered two marketplace sellers to pay damages for selling counterfeit handbags under a famous trademark.

The court also froze the sellers' accounts until the damages are paid."
https://news.example.org/court-fines-copy,Court Fines Bag Sellers (Updated),"A federal judge ordered two marketplace sellers to pay damages for selling counterfeit handbags under a famous trademark.

The court also froze the sellers' accounts until the damages are paid."
https://news.example.org/store,Watchmaker Opens Store On App,"A Swiss watchmaker opened its first official flagship store on the shopping app this week, betting on fast growth in online luxury sales.

The brand said cross-border orders grew 60 percent last year."
"""


def test_the_report_overview_links_each_article_its_source_and_marks_the_near_duplicate(
    page, trained, tmp_path, capsys
):
    feed = tmp_path / "feed.csv"
    feed.write_text(OTHER_COLUMNS_FEED.replace("\n2026", "2026"), encoding="utf-8")
    report = tmp_path / "report.html"
    code = main(
        ["predict", str(feed), "--model", str(trained.model_path), "--text-column", "story",
         "--title-column", "headline", "--keep-columns", "link,published", "-o", str(report)]
    )  # fmt: skip
    capsys.readouterr()
    assert code == 0
    page.goto(report.as_uri())
    screenshot(page, "report_overview")
    rows = page.query_selector_all(".overview-row")
    assert [row.query_selector("a").inner_text() for row in rows] == [
        "Court Fines Bag Sellers",
        "Court Fines Bag Sellers (Updated)",
        "Watchmaker Opens Store On App",
    ]
    assert page.evaluate("document.getElementById('overview').getBoundingClientRect().top") < page.evaluate(
        "document.querySelector('.record').getBoundingClientRect().top"
    )  # assembled from the journal: the overview comes first
    assert [row.query_selector(".dup-mark") is not None for row in rows] == [False, True, False]

    rows[2].query_selector("a").click()  # a row takes the reader to its article
    assert page.evaluate("location.hash") == "#record-3"
    third = page.query_selector("#record-3")
    assert third.query_selector("h2").inner_text() == "Watchmaker Opens Store On App"
    # the link column is given as --keep-columns link, not url: shown as text
    assert third.query_selector(".source-link") is None

    copy = page.query_selector("#record-2")
    assert copy.query_selector(".dup-mark").is_visible()
    copy.query_selector(".dup-note a").click()
    target = page.evaluate("location.hash")
    assert page.query_selector(target).inner_text() == "Court Fines Bag Sellers"


def test_a_kept_url_is_a_link_and_an_unexplained_tag_says_which_paragraph_gave_it(page, tmp_path):
    """A report written by the writer from records made here, so that one tag is certain to
    come from a paragraph labelled otherwise."""
    from triage.corpus.labeled import LABELS
    from triage.web.html_report import HtmlReportWriter

    def paragraph(index, text, label, probabilities):
        full = dict.fromkeys(LABELS, 0.0) | probabilities
        return {"index": index, "text": text, "label": label, "probabilities": full, "needs_review": False}

    record = {
        "triage_schema": 2, "id": "feed.csv:1", "url": "https://news.example.org/brand", "date": "2026-11-02",
        "title": "Brand Owner Wins Against Sellers",
        "tags": [
            {"label": "legal_action", "score": 0.8, "paragraphs": [0], "threshold": 0.3},
            {"label": "brand_criticism", "score": 0.45, "paragraphs": [1], "threshold": 0.4},
        ],
        "context": True, "dropped_lines": 0, "mostly_foreign": False, "near_duplicate_of": None,
        "paragraphs": [
            paragraph(0, "A judge ruled for the brand owner against the sellers.", "legal_action", {"legal_action": 0.8}),
            paragraph(1, "The brand owner's lawyers said the platform ignored its complaints for years.",
                      "legal_action", {"legal_action": 0.5, "brand_criticism": 0.45}),
        ],
        "model": "0123456789ab", "triage_version": "0.1.0",
    }  # fmt: skip
    report = tmp_path / "report.html"
    with open(report, "w", encoding="utf-8") as stream:
        writer = HtmlReportWriter(stream, list(LABELS), keep_columns=("url", "date"))
        writer.write(record)
        writer.finish()
    page.goto(report.as_uri())
    link = page.query_selector(".record .source-link")
    assert link.get_attribute("href") == "https://news.example.org/brand" and link.is_visible()
    assert page.query_selector(".record .kept").inner_text() == "date: 2026-11-02"
    why = page.query_selector(".tag-why")
    assert (
        why.is_visible()
        and "paragraph [1] (labelled legal_action, p(brand_criticism) 0.45)" in why.inner_text()
    )
    assert "threshold 0.40" in why.inner_text()

    page.select_option("#label-filter", "brand_criticism")
    first, second = page.query_selector_all(".para")
    assert "dimmed" in first.get_attribute("class").split()
    assert "dimmed" not in second.get_attribute("class").split()  # it gave the tag
    assert second.query_selector(".evidence-mark").inner_text() == "gives tag brand_criticism"
    screenshot(page, "report_explained_tag")


def test_the_page_reads_a_csv_with_its_own_column_names_and_names_the_file_it_cannot_read(page, server):
    page.goto(server)
    page.set_input_files(
        "#files",
        files=[
            {"name": "feed.csv", "mimeType": "text/csv", "buffer": OTHER_COLUMNS_FEED.encode()},
            {"name": "scan.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.7"},
        ],
    )
    page.fill("#text_column", "story")
    page.fill("#title_column", "headline")
    page.fill("#url_column", "link")
    page.click("#triage-button")
    page.wait_for_selector(".record")
    screenshot(page, "serve_other_columns_and_a_bad_file")
    failed = page.query_selector("#failed-files")
    assert failed.inner_text() == "not triaged: scan.pdf: not a .txt, .csv, .jsonl or .html file"
    headings = [h.inner_text() for h in page.query_selector_all(".record h2")]
    assert headings == [
        "Court Fines Bag Sellers",
        "Court Fines Bag Sellers (Updated)",
        "Watchmaker Opens Store On App",
    ]
    links = [a.get_attribute("href") for a in page.query_selector_all(".record .source-link")]
    assert links == [
        "https://news.example.org/court-fines",
        "https://news.example.org/court-fines-copy",
        "https://news.example.org/store",
    ]
    assert page.query_selector("#record-2 .dup-mark").is_visible()
    assert page.input_value("#text_column") == "story"  # the form keeps the chosen columns
    legend = page.inner_text("#legend-text")
    assert "tick explain" in legend and "--explain" not in legend


def test_the_live_api_answers_json_posted_with_httpx_as_its_spec_says(server):
    import httpx2
    from jsonschema import Draft202012Validator

    spec = httpx2.get(server + "openapi.json").json()
    answer = httpx2.post(server + "api/predict", json={"text": COURT_ARTICLE, "explain": True}, timeout=60)
    assert answer.status_code == 200
    Draft202012Validator(
        {"$ref": "#/components/schemas/PredictAnswer", "components": spec["components"]}
    ).validate(answer.json())
    assert answer.json()["records"][0]["title"] == "Handbag Maker Wins Case Against Online Sellers"
