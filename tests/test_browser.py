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

from triage.cli import main

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
