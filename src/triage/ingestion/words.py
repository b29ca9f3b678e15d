"""Words as the line rules count them (memoised: a line is asked about by many rules), and the word-count limits of each kind of line."""

from __future__ import annotations

import re
from functools import lru_cache

# A line this short with no closing punctuation, sitting between body lines, is the anchor
# text of a link the scraper cut out of its sentence ("TaoBao", "Rural business").
ANCHOR_MAX_WORDS = 3
ANCHOR_MAX_CHARS = 30
# Inside a related-links list, a line of at least this many words in sentence case is
# prose again: the list has ended and the article goes on.
PROSE_MIN_WORDS = 12
# Share of letters outside the Latin script above which a line is another language's text.
FOREIGN_SCRIPT_SHARE = 0.3
# A long Latin-script line with fewer English function words than this is not English.
ENGLISH_FUNCTION_WORD_SHARE = 0.08
FOREIGN_LANGUAGE_MIN_WORDS = 8
# ... and at least this many function words of another language (de, und, que, yang, ...).
FOREIGN_FUNCTION_WORDS_MIN = 2
# Short lines before the body (section names, datelines, "5 min read") are labels; the
# headline is the first headline-case line with at least this many words.
TITLE_MIN_WORDS = 4
HEADER_LABEL_MAX_WORDS = 4
# Share of significant words capitalised for a line to read as a headline.
HEADLINE_CAPITALISED_SHARE = 0.75
HEADLINE_MAX_WORDS = 30
# The most words a line of each kind has: page furniture is short, so a longer line is
# never tested for it (furniture_rule skips the rule, LINE_RULES names the limit).
NAVIGATION_MAX_WORDS = 10
PAGE_CONTROL_MAX_WORDS = 10
BYLINE_MAX_WORDS = 12
CREDIT_FIELD_MAX_WORDS = 12  # "Source: ...", "Editor: ..."
CREDIT_LINE_MAX_WORDS = 30  # "Reporting by ...; Editing by ..."
DISCLAIMER_MAX_WORDS = 30
PROMOTION_MAX_WORDS = 30
AUTHOR_BOX_MAX_WORDS = 45
PHOTO_CAPTION_MAX_WORDS = 45
COMMENT_WIDGET_MAX_WORDS = 16
INTERFACE_TEXT_MAX_WORDS = 40
FIELD_LABEL_MAX_WORDS = 3
PUBLICATION_NOTE_MAX_WORDS = 30
CAPTION_MARK_MAX_WORDS = 40  # "... | Source: Taobao" (agency names alone have no limit)


# --- word helpers ----------------------------------------------------------------------
WORD_PATTERN = re.compile(r"[^\W\d_][\w'’\-]*", re.UNICODE)
SMALL_WORDS = frozenset(
    "a an the and or but nor of in on at to for by with from as vs via per into onto".split()
)
ENGLISH_FUNCTION_WORDS = frozenset(
    """the a an of to in and or is are was were be been has have had that this these those
    it its on for with as by at from not but which who will would can could than then
    there their they he she we you i his her our also after before about more most""".split()
)


# Rules ask for a line's words and whitespace tokens, several times; remembering the last
# few lines' makes that one pass a line (a pure function's memo: it changes no result).
@lru_cache(maxsize=64)
def words_of(line: str) -> tuple[str, ...]:
    return tuple(WORD_PATTERN.findall(line))


@lru_cache(maxsize=64)
def tokens_of(line: str) -> tuple[str, ...]:
    return tuple(line.split())


@lru_cache(maxsize=64)
def fewest_words_of(line: str) -> int:
    """At least this many words are in `line` (len(words_of(line)) >= it), found without a
    regular expression: each whitespace token of letters only is exactly one word."""
    return sum(map(str.isalpha, tokens_of(line)))


BULLET_CHARACTERS = "-–—•·*|>"
BULLET_PATTERN = re.compile(rf"^[\s{re.escape(BULLET_CHARACTERS)}]+")


def without_bullet(line: str) -> str:
    if not (line[:1] in BULLET_CHARACTERS or line[:1].isspace()):  # most lines: no bullet to strip
        return line.strip()
    return BULLET_PATTERN.sub("", line).strip()


def is_headline_case(line: str) -> bool:
    """Most significant words capitalised, as headlines and link lists are written."""
    words = words_of(line)
    if len(words) > HEADLINE_MAX_WORDS:
        return False
    significant = [word for word in words if word.lower() not in SMALL_WORDS]
    if len(significant) < 2:
        return False
    capitalised = sum(1 for word in significant if word[0].isupper())
    return capitalised / len(significant) >= HEADLINE_CAPITALISED_SHARE
