"""Raw scraped article text -> title + content paragraphs.

Scrapers hand us one paragraph a line plus the page around it: breadcrumbs, dates,
share counts, tag lines, "Related reading" lists, teasers for the next article, spam in
another script, and sentences cut in two around a link's anchor text. Each rule below is
a named, general function (nothing here knows a particular article); `ingest()` applies
them in a fixed order, so the same text always gives the same paragraphs, and it records
for each kept paragraph the raw lines it came from and for each dropped line the rule
that dropped it. Standard library only: `triage predict` reuses this on any article.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from triage.ingestion.furniture import is_header_keywords
from triage.ingestion.language import is_anchor_fragment, is_next_article_header, is_prose, is_related_header
from triage.ingestion.rules import (
    FOREIGN_RULES,
    HEADER_KEYWORDS,
    HEADER_LABEL,
    HEADLINE_LIST,
    MOSTLY_FOREIGN_SHARE,
    NEXT_ARTICLE,
    RELATED_SECTION,
    REPEATED_HEADLINE,
    STORED_DATE_PREFIX,
    TRAILING_LABEL,
    furniture_rule,
)
from triage.ingestion.words import (
    HEADER_LABEL_MAX_WORDS,
    HEADLINE_MAX_WORDS,
    TITLE_MIN_WORDS,
    fewest_words_of,
    is_headline_case,
    words_of,
)


@dataclass(frozen=True)
class Paragraph:
    """A content paragraph and the raw lines (1-based, inclusive) it was built from."""

    index: int
    text: str
    first_line: int
    last_line: int


@dataclass(frozen=True)
class DroppedLine:
    line: int
    text: str
    rule: str


@dataclass(frozen=True)
class Article:
    title: str | None
    title_line: int | None
    paragraphs: tuple[Paragraph, ...]
    dropped: tuple[DroppedLine, ...] = field(default=())

    @property
    def texts(self) -> list[str]:
        return [paragraph.text for paragraph in self.paragraphs]

    @property
    def foreign_share(self) -> float:
        """The share of the article's text (kept paragraphs plus lines dropped as another
        language or script) that is in another language."""
        foreign = sum(len(line.text.strip()) for line in self.dropped if line.rule in FOREIGN_RULES)
        total = foreign + sum(len(text) for text in self.texts)
        return foreign / total if total else 0.0

    @property
    def mostly_foreign(self) -> bool:
        """Mostly in another language: the model reads English, so such an article gets no tags."""
        return self.foreign_share > MOSTLY_FOREIGN_SHARE


def ingest(text: str) -> Article:
    """Split one scraped article into its title (if a headline opens it) and paragraphs."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and lines[0].startswith("\ufeff"):
        lines[0] = lines[0][1:]
    if lines:  # stored pages open with " date YYYY-MM-DD " glued to their first line
        lines[0] = STORED_DATE_PREFIX.sub("", lines[0], count=1)
    dropped: list[DroppedLine] = []
    kept: list[tuple[int, str]] = []  # (1-based line number, stripped text)
    in_related = False
    teaser_started = False

    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if teaser_started:
            if line:
                dropped.append(DroppedLine(number, raw, NEXT_ARTICLE))
            continue
        if not line:
            continue
        if is_next_article_header(line):
            teaser_started = True
            dropped.append(DroppedLine(number, raw, NEXT_ARTICLE))
            continue
        if is_related_header(line):
            in_related = True
            dropped.append(DroppedLine(number, raw, RELATED_SECTION))
            continue
        if in_related:
            if is_prose(line) and furniture_rule(line) is None:
                in_related = False
            else:
                dropped.append(DroppedLine(number, raw, RELATED_SECTION))
                continue
        rule = furniture_rule(line)
        if rule is not None:
            dropped.append(DroppedLine(number, raw, rule))
            continue
        kept.append((number, line))

    title, title_line, body = split_header(kept, dropped)
    body = drop_trailing_labels(body, dropped)
    dropped.sort(key=lambda line: line.line)
    return Article(title, title_line, tuple(merge_fragments(body, lines)), tuple(dropped))


def split_header(
    kept: list[tuple[int, str]], dropped: list[DroppedLine]
) -> tuple[str | None, int | None, list[tuple[int, str]]]:
    """Find the headline among the lines before the body; drop the labels around it.

    Before the first body line, a glued keyword run is a tag widget and a line of a few
    words is a section name or dateline ("Business Desk", "Washington"). Of the
    headline-case lines of TITLE_MIN_WORDS or more, the longest is the title (a site's name
    or tagline, "Xinmin Evening News English Edition", is shorter than its headline); the
    others are header labels. With no headline-case title, a first body line
    that reads as a headline (no closing punctuation, more text after it) is the title.
    Anything else starts the body.
    """
    header: list[tuple[int, str]] = []
    position = 0
    for position, (number, line) in enumerate(kept):  # noqa: B007 (position is used after the loop)
        if is_header_keywords(line):
            dropped.append(DroppedLine(number, line, HEADER_KEYWORDS))
        elif is_headline_case(line) and len(words_of(line)) >= TITLE_MIN_WORDS:
            header.append((number, line))
        elif len(words_of(line)) <= HEADER_LABEL_MAX_WORDS and not _ends_sentence(line):
            dropped.append(DroppedLine(number, line, HEADER_LABEL))
        else:
            break
    else:
        position = len(kept)
    body = kept[position:]
    title = title_line = None
    if header:
        title_line, title = max(header, key=lambda item: (len(words_of(item[1])), -item[0]))
        for number, line in header:
            if number != title_line:
                dropped.append(DroppedLine(number, line, HEADER_LABEL))
    elif len(body) > 1 and reads_as_headline(body[0][1]):
        (title_line, title), body = body[0], body[1:]
    if title:
        body = _drop_repeated_headline(body, title, dropped)
    return title, title_line, body


def reads_as_headline(line: str) -> bool:
    """A sentence-case headline: a few words to a long line, no closing punctuation."""
    stripped = line.strip()
    return TITLE_MIN_WORDS <= len(words_of(stripped)) <= HEADLINE_MAX_WORDS and not stripped.endswith(
        (".", "!", "?", "。", "！", "？", ":", ";", ",", '"', "”", "'", "’")
    )


def _headline_key(text: str) -> str:
    return " ".join(word.lower() for word in words_of(text))


def _drop_repeated_headline(
    body: list[tuple[int, str]], title: str, dropped: list[DroppedLine]
) -> list[tuple[int, str]]:
    """The page's own headline printed again in the body is furniture, not a paragraph."""
    key = _headline_key(title)
    title_words = key.count(" ") + 1
    kept = []
    for number, line in body:
        if fewest_words_of(line) <= title_words and _headline_key(line) == key:
            dropped.append(DroppedLine(number, line, REPEATED_HEADLINE))
        else:
            kept.append((number, line))
    return kept


def drop_trailing_labels(body: list[tuple[int, str]], dropped: list[DroppedLine]) -> list[tuple[int, str]]:
    """Short lines after the last sentence are page labels, not anchor text: nothing follows.
    Headline-case lines there are links to other stories (a story never ends on a subhead)."""
    while body and (is_anchor_fragment(body[-1][1]) or _is_headline_link(body[-1][1])):
        number, line = body.pop()
        rule = TRAILING_LABEL if is_anchor_fragment(line) else HEADLINE_LIST
        dropped.append(DroppedLine(number, line, rule))
    return body


def _is_headline_link(line: str) -> bool:
    return is_headline_case(line) and len(words_of(line)) >= TITLE_MIN_WORDS and not _ends_sentence(line)


def _ends_sentence(line: str) -> bool:
    return line.rstrip().endswith((".", "!", "?", "。", "！", "？", '"', "”"))


def continues_open_quote(previous: str, line: str) -> bool:
    """`line` closes a quotation that `previous` opened and left open (a quote split in two)."""
    return previous.count('"') % 2 == 1 and line.count('"') % 2 == 1


def merge_fragments(body: list[tuple[int, str]], lines: list[str]) -> list[Paragraph]:
    """Join the lines a scraper split out of one paragraph back together.

    An anchor fragment: the scraper cut a sentence at a link, so the line before ends where
    the anchor began and the line after goes on from it; all three are one paragraph
    (chains merge too). A split quote: a line that closes the quotation the previous line
    left open continues that paragraph.
    """
    groups: list[list[tuple[int, str]]] = []
    join_next = False
    for number, line in body:
        fragment = is_anchor_fragment(line)
        # Only lines with nothing but blank lines between them were one paragraph: an
        # advertisement or a page break in between means the page itself separated them.
        adjacent = bool(groups) and all(not lines[i].strip() for i in range(groups[-1][-1][0], number - 1))
        if adjacent and (
            fragment or join_next or continues_open_quote(" ".join(t for _, t in groups[-1]), line)
        ):
            groups[-1].append((number, line))
        else:
            groups.append([(number, line)])
        join_next = fragment
    return [
        Paragraph(index, " ".join(text for _, text in group), group[0][0], group[-1][0])
        for index, group in enumerate(groups)
    ]
