"""The rule names (shown by triage ingest --show-dropped) and the ordered table of line rules: the first rule that marks a line names why it was dropped."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from triage.ingestion.furniture import (
    is_advertisement,
    is_author_box,
    is_byline,
    is_cookie_notice,
    is_correction,
    is_count_line,
    is_credit_line,
    is_date_line,
    is_disclaimer,
    is_navigation,
    is_page_break,
    is_page_control,
    is_photo_caption,
    is_previous_next_link,
    is_promotion,
    is_separator,
    is_share_line,
    is_tag_line,
)
from triage.ingestion.language import (
    is_agency_credit,
    is_bare_link,
    is_comment_widget,
    is_doubled_line,
    is_field_label,
    is_foreign_language,
    is_foreign_script,
    is_interface_text,
    is_publication_note,
)
from triage.ingestion.words import (
    AUTHOR_BOX_MAX_WORDS,
    BYLINE_MAX_WORDS,
    COMMENT_WIDGET_MAX_WORDS,
    CREDIT_LINE_MAX_WORDS,
    DISCLAIMER_MAX_WORDS,
    FIELD_LABEL_MAX_WORDS,
    INTERFACE_TEXT_MAX_WORDS,
    NAVIGATION_MAX_WORDS,
    PAGE_CONTROL_MAX_WORDS,
    PHOTO_CAPTION_MAX_WORDS,
    PROMOTION_MAX_WORDS,
    PUBLICATION_NOTE_MAX_WORDS,
    fewest_words_of,
)

# --- rule names (shown by `triage ingest --show-dropped`) -------------------------------
BLANK = "blank"
NAVIGATION = "navigation"
DATE_LINE = "date_line"
COUNT_LINE = "count_line"
SHARE_LINE = "share_line"
TAG_LINE = "tag_line"
HEADER_KEYWORDS = "header_keywords"
ADVERTISEMENT = "advertisement"
COOKIE_NOTICE = "cookie_notice"
PAGE_BREAK = "page_break"
SEPARATOR = "separator"
FOREIGN_SCRIPT = "foreign_script"
FOREIGN_LANGUAGE = "foreign_language"
RELATED_SECTION = "related_section"
NEXT_ARTICLE = "next_article_teaser"
PREVIOUS_NEXT_LINK = "previous_next_link"
BYLINE = "byline"
CREDIT_LINE = "credit_line"
PAGE_CONTROL = "page_control"
DISCLAIMER = "disclaimer"
HEADER_LABEL = "header_label"
TRAILING_LABEL = "trailing_label"
FOREIGN_RULES = (FOREIGN_SCRIPT, FOREIGN_LANGUAGE)
MOSTLY_FOREIGN_SHARE = 0.5
AUTHOR_BOX = "author_box"
PHOTO_CAPTION = "photo_caption"
PROMOTION = "promotion"
CORRECTION = "correction_notice"
REPEATED_HEADLINE = "repeated_headline"
HEADLINE_LIST = "headline_list"
STORED_DATE_PREFIX = re.compile(r"^\s*date \d{4}-\d{2}-\d{2}\s+")
# Rules written from the real-news dev pages (data/realnews/, README "Ingestion on real pages").
COMMENT_WIDGET = "comment_widget"
INTERFACE_TEXT = "interface_text"
BARE_LINK = "bare_link"
FIELD_LABEL = "field_label"
PUBLICATION_NOTE = "publication_note"
AGENCY_CREDIT = "agency_credit"
DOUBLED_LINE = "doubled_line"


@dataclass(frozen=True)
class LineRule:
    """One kind of furniture recognised on a line alone: its name, its test, and the most
    words a line of that kind has (None: no limit; the test itself applies it too)."""

    name: str
    matches: Callable[[str], bool]
    max_words: int | None = None


# Furniture recognised on a line alone, in the order they are tried: one entry a rule.
LINE_RULES = (
    LineRule(PAGE_BREAK, is_page_break),
    LineRule(SEPARATOR, is_separator),
    LineRule(NAVIGATION, is_navigation, NAVIGATION_MAX_WORDS),
    LineRule(DATE_LINE, is_date_line),
    LineRule(COUNT_LINE, is_count_line),
    LineRule(SHARE_LINE, is_share_line),
    LineRule(TAG_LINE, is_tag_line),
    LineRule(BYLINE, is_byline, BYLINE_MAX_WORDS),
    LineRule(CREDIT_LINE, is_credit_line, CREDIT_LINE_MAX_WORDS),
    LineRule(PAGE_CONTROL, is_page_control, PAGE_CONTROL_MAX_WORDS),
    LineRule(DISCLAIMER, is_disclaimer, DISCLAIMER_MAX_WORDS),
    LineRule(PREVIOUS_NEXT_LINK, is_previous_next_link),
    LineRule(AUTHOR_BOX, is_author_box, AUTHOR_BOX_MAX_WORDS),
    LineRule(PHOTO_CAPTION, is_photo_caption, PHOTO_CAPTION_MAX_WORDS),
    LineRule(PROMOTION, is_promotion, PROMOTION_MAX_WORDS),
    LineRule(CORRECTION, is_correction),
    LineRule(ADVERTISEMENT, is_advertisement),
    LineRule(COOKIE_NOTICE, is_cookie_notice),
    LineRule(FOREIGN_SCRIPT, is_foreign_script),
    LineRule(FOREIGN_LANGUAGE, is_foreign_language),
    LineRule(COMMENT_WIDGET, is_comment_widget, COMMENT_WIDGET_MAX_WORDS),
    LineRule(INTERFACE_TEXT, is_interface_text, INTERFACE_TEXT_MAX_WORDS),
    LineRule(BARE_LINK, is_bare_link),
    LineRule(FIELD_LABEL, is_field_label, FIELD_LABEL_MAX_WORDS),
    LineRule(PUBLICATION_NOTE, is_publication_note, PUBLICATION_NOTE_MAX_WORDS),
    LineRule(AGENCY_CREDIT, is_agency_credit),
    LineRule(DOUBLED_LINE, is_doubled_line),
)


def furniture_rule(line: str) -> str | None:
    """The name of the first line rule that marks `line` as furniture, or None. A rule
    whose `max_words` the line surely exceeds is not run (a body paragraph skips most)."""
    fewest_words = fewest_words_of(line)
    for rule in LINE_RULES:
        if rule.max_words is not None and fewest_words > rule.max_words:
            continue
        if rule.matches(line):
            return rule.name
    return None
