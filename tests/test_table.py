"""`triage predict --format table`: the reading view, its legend and the terminal's width.

Every paragraph in this file was written for the project.
"""

from __future__ import annotations

from triage.cli.app import main
from triage.corpus.labeled import LABELS
from triage.web.table import table_legend, to_table

# Written for the project.
ARTICLE = """Shoe Brand Sues Over Fakes

A shoe brand filed a lawsuit in a district court against a marketplace seller, claiming trademark infringement and asking for damages over counterfeit boots that were sold to hundreds of buyers across the country last winter.

The marketplace said it closed 12,000 seller accounts last year for listing counterfeit goods and that its scanning tools now check every new listing.
"""


def paragraph(index: int, label: str, top: float, review: bool = False, **others: float) -> dict:
    probabilities = dict.fromkeys(LABELS, 0.0) | others | {label: top}
    return {
        "index": index,
        "text": f"Paragraph {index} text.",
        "label": label,
        "probabilities": probabilities,
        "needs_review": review,
    }


def article(tags: list[dict], paragraphs: list[dict]) -> dict:
    return {"id": "story", "title": "A story", "tags": tags, "dropped_lines": 0, "paragraphs": paragraphs}


def test_each_tag_lists_the_paragraphs_labelled_with_it():
    table = to_table(
        [
            article(
                [{"label": "platform_metrics", "score": 0.93, "paragraphs": [0, 1, 2, 4]}],
                [
                    paragraph(0, "platform_metrics", 0.93),
                    paragraph(1, "platform_metrics", 0.9),
                    paragraph(2, "platform_metrics", 0.9),
                    paragraph(3, "other", 0.6),
                    paragraph(4, "platform_metrics", 0.8),
                ],
            )
        ],
        width=100,
    )
    assert "     platform_metrics 0.93  paragraphs 0-2, 4\n" in table


def test_a_tag_whose_evidence_is_labelled_otherwise_says_so():
    table = to_table(
        [
            article(
                [{"label": "brand_criticism", "score": 0.41, "paragraphs": [1]}],
                [paragraph(0, "other", 0.7), paragraph(1, "legal_action", 0.55, brand_criticism=0.41)],
            )
        ],
        width=100,
    )
    assert (
        "brand_criticism 0.41  no paragraph labelled brand_criticism; from paragraph 1 (labelled legal_action, p 0.41)"
        in table
    )


def test_the_legend_explains_the_review_mark_once_for_articles_and_paragraphs():
    articles = [
        article([], [paragraph(0, "other", 0.4, review=True)]),
        article([], [paragraph(0, "other", 0.9)]),
    ]
    table = to_table(articles, width=100)
    assert "   0 other              0.40 ? Paragraph 0 text." in table
    assert table.count("? after a probability: under the review threshold") == 1
    single = {
        "id": "p1",
        "label": "other",
        "probabilities": paragraph(0, "other", 0.4)["probabilities"],
        "needs_review": True,
    }
    paragraphs_table = to_table([single], width=100)
    assert "p1: other 0.40  (review)" in paragraphs_table
    assert "(review): under the review threshold" in paragraphs_table and "? after" not in paragraphs_table


def test_paragraph_text_is_cut_to_the_terminals_width(capsys, trained, tmp_path, monkeypatch):
    path = tmp_path / "shoes.txt"
    path.write_text(ARTICLE, encoding="utf-8")
    for columns in (80, 160):
        monkeypatch.setenv("COLUMNS", str(columns))
        assert main(["predict", str(path), "--model", str(trained.model_path), "--format", "table"]) == 0
        rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("     0 ")]
        assert len(rows[0]) == columns and rows[0].endswith("...")
    monkeypatch.setenv("COLUMNS", "400")
    main(["predict", str(path), "--model", str(trained.model_path), "--format", "table"])
    assert "hundreds of buyers across the country last winter." in capsys.readouterr().out


def test_a_table_written_in_chunks_can_leave_the_legend_to_its_end():
    chunks = [
        [article([], [paragraph(0, "other", 0.4, review=True)])],
        [article([], [paragraph(0, "other", 0.9)])],
    ]
    streamed = "".join(to_table(chunk, width=100, legend=False) for chunk in chunks)
    streamed += table_legend(articles=True, paragraphs=False)
    assert streamed == to_table([record for chunk in chunks for record in chunk], width=100)
    assert "? after a probability" not in to_table(chunks[0], width=100, legend=False)


def test_control_and_escape_characters_in_an_article_never_reach_the_terminal(capsys, trained, tmp_path):
    """An article can carry ANSI escapes (clear the screen, recolour, retitle the window) and
    control characters; the table prints its words only."""
    hostile = tmp_path / "hostile\x1b[31m.txt"
    hostile.write_text(
        "Shoe Brand \x1b]0;owned\x07Sues Over Fakes\n\n"
        "A shoe brand filed a lawsuit \x1b[2J\x1b[Hin a district court against a marketplace seller,\x08\x08 "
        "claiming trademark infringement\x1b[0m and asking for damages over counterfeit boots.\n",
        encoding="utf-8",
    )
    code = main(
        ["predict", str(hostile), "--model", str(trained.model_path), "--format", "table", "--explain"]
    )
    shown = capsys.readouterr().out
    assert code == 0
    assert not [c for c in shown if (ord(c) < 32 and c != "\n") or 127 <= ord(c) < 160], repr(shown)
    assert "hostile.txt: Shoe Brand Sues Over Fakes" in shown
    assert "A shoe brand filed a lawsuit in a" in shown
