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

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

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


# --- word helpers ----------------------------------------------------------------------
_WORD = re.compile(r"[^\W\d_][\w'’\-]*", re.UNICODE)
_SMALL_WORDS = frozenset(
    "a an the and or but nor of in on at to for by with from as vs via per into onto".split()
)
_ENGLISH_FUNCTION_WORDS = frozenset(
    """the a an of to in and or is are was were be been has have had that this these those
    it its on for with as by at from not but which who will would can could than then
    there their they he she we you i his her our also after before about more most""".split()
)


# Rules ask for a line's words and whitespace tokens, several times; remembering the last
# few lines' makes that one pass a line (a pure function's memo: it changes no result).
@lru_cache(maxsize=64)
def _words(line: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(line))


@lru_cache(maxsize=64)
def _tokens(line: str) -> tuple[str, ...]:
    return tuple(line.split())


@lru_cache(maxsize=64)
def _fewest_words(line: str) -> int:
    """At least this many words are in `line` (len(_words(line)) >= it), found without a
    regular expression: each whitespace token of letters only is exactly one word."""
    return sum(map(str.isalpha, _tokens(line)))


_BULLETS = "-–—•·*|>"
_BULLET = re.compile(rf"^[\s{re.escape(_BULLETS)}]+")


def _strip_bullet(line: str) -> str:
    if not (line[:1] in _BULLETS or line[:1].isspace()):  # most lines: no bullet to strip
        return line.strip()
    return _BULLET.sub("", line).strip()


def is_headline_case(line: str) -> bool:
    """Most significant words capitalised, as headlines and link lists are written."""
    words = _words(line)
    if len(words) > HEADLINE_MAX_WORDS:
        return False
    significant = [word for word in words if word.lower() not in _SMALL_WORDS]
    if len(significant) < 2:
        return False
    capitalised = sum(1 for word in significant if word[0].isupper())
    return capitalised / len(significant) >= HEADLINE_CAPITALISED_SHARE


# --- line rules: each says whether one line is page furniture of its kind ---------------
_NAVIGATION = re.compile(
    r"^(home|homepage|首页)\s*([>»›/|]|$)|^(current position|you are here|location)\s*[:：]|"
    r"^[^>»›.!?]{1,40}\s[>»›]\s*\S",
    re.I,
)


def is_navigation(line: str) -> bool:
    """Breadcrumbs: "Home >", "Home > News > Retail", "Home / Tech", "World > Europe"."""
    stripped = line.strip()
    return (
        bool(stripped) and len(_words(stripped)) <= NAVIGATION_MAX_WORDS and bool(_NAVIGATION.match(stripped))
    )


_MONTHS = (
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
_WEEKDAYS = (
    r"mon(?:day)?|tue(?:s(?:day)?)?|wed(?:nesday)?|thu(?:rs(?:day)?)?|fri(?:day)?|sat(?:urday)?|sun(?:day)?"
)
_DATE_PARTS = [
    r"\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}日?",  # 2019/7/24, 2021-03-14
    r"\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}",  # 14.03.2021, 3/14/21
    rf"\d{{1,2}}(?:st|nd|rd|th)?\s+(?:{_MONTHS})\.?,?\s+\d{{4}}",  # 14 March 2021
    rf"(?:{_MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}",  # March 14, 2021
    rf"(?:{_MONTHS})\.?\s+\d{{4}}",  # March 2021
    r"\d{1,2}[:.]\d{2}(?::\d{2})?\s*(?:am|pm|a\.m\.|p\.m\.)?",  # 12:53:00, 9:12 pm, 07.00
    rf"\b(?:{_WEEKDAYS})\b,?",
    r"\b(?:gmt|utc|bst|cet|cst|est|edt|pst|pdt|ist|jst|hkt|sgt)(?:[+-]\d{1,2})?\b",
    r"\b\d+\s+(?:minutes?|mins?|hours?|hrs?|days?|weeks?)\s+ago\b",
    r"\b(?:published|updated|posted|last\s+updated|date|time|on|at|input|modify|modified|publish)\b:?",
]
_DATE_TOKEN = re.compile("|".join(_DATE_PARTS), re.I)
_HAS_DATE = re.compile("|".join(_DATE_PARTS[:6]), re.I)
_DATE_SOURCE_TAIL = re.compile(r"\b(source|views?|clicks?|author)\s*[:：].*$", re.I)
_DATE_SEPARATORS = re.compile(r"[\s|,;:\-–—/()\[\]·•]+")
_DATE_COUNT = re.compile(r"\d{1,7}")
# The words a date token above can take whole (a month can also end a longer word: "dismay
# 2021"). Any other word of letters leaves something in the residue, so a line with four of
# them is no date line, which is_date_line knows before running the regular expressions.
_MONTH_NAMES = tuple(
    "jan january feb february mar march apr april may jun june jul july aug august sep sept "
    "september oct october nov november dec december".split()
)
_DATE_WORDS = frozenset(
    (
        *_MONTH_NAMES,
        *"mon monday tue tues tuesday wed wednesday thu thurs thursday fri friday sat saturday sun sunday".split(),
        *"gmt utc bst cet cst est edt pst pdt ist jst hkt sgt am pm".split(),
        *"minute minutes min mins hour hours hr hrs day days week weeks ago".split(),
        *"published updated posted last date time on at input modify modified publish".split(),
    )
)
_DATE_LABELS = ("source", "view", "click", "author")
DATE_LINE_MAX_OTHER_WORDS = 3  # a dateline's place name: "Buenos Aires, 22 April 2025"


def is_date_line(line: str) -> bool:
    """A line that holds only a date or time, maybe with labels and a view/share count."""
    stripped = line.strip()
    if not stripped or _words_no_date_can_take(stripped) > DATE_LINE_MAX_OTHER_WORDS:
        return False
    if not _HAS_DATE.search(stripped):
        return False
    residue = _DATE_TOKEN.sub(" ", stripped)
    # A date with its source and view count: "2025-11-12 09:30 Source: Liquor Times Views: 31".
    residue = _DATE_SOURCE_TAIL.sub(" ", residue)
    residue = _DATE_SEPARATORS.sub(" ", residue).strip()
    if residue == "" or _DATE_COUNT.fullmatch(residue):
        return True
    # A dateline: a place name before the date ("Buenos Aires, 22 April 2025").
    place = residue.split()
    return len(place) <= DATE_LINE_MAX_OTHER_WORDS and all(word[0].isupper() for word in place)


def _words_no_date_can_take(stripped: str) -> int:
    """How many words of plain ASCII letters, none a word of _DATE_WORDS nor ending in a month
    name, come before anything that could start the dropped "Source: ..." tail; counted up
    to one past the dateline's limit. Each leaves a word in is_date_line's residue."""
    labelled = ":" in stripped or "：" in stripped
    count = 0
    for token in _tokens(stripped):
        lowered = token.lower()
        if labelled and (not token.isascii() or any(label in lowered for label in _DATE_LABELS)):
            break  # the tail may start here (non-ASCII letters can fold to a label's: "ſource")
        if token.isascii() and token.isalpha() and lowered not in _DATE_WORDS:
            if not lowered.endswith(_MONTH_NAMES):
                count += 1
                if count > DATE_LINE_MAX_OTHER_WORDS:
                    break
    return count


_COUNT = re.compile(
    r"\d[\d,.]*|(shares?|views?|comments?|likes?|reads?)\s*:?\s*\d[\d,.]*k?|"
    r"\d[\d,.]*k?\s*(shares?|views?|comments?|likes?|reads?)"
)


def is_count_line(line: str) -> bool:
    """A lone share or view counter: "4", "Shares: 37", "1,204 views"."""
    return bool(_COUNT.fullmatch(line.strip().lower()))


_SHARE_WORDS = frozenset(
    "share this article story page post on to via facebook twitter x linkedin whatsapp weibo wechat "
    "qq zone space moments email e-mail print copy link tweet pinterest reddit telegram save comment "
    "comments line kakao".split()
)


_SHARE_TOKEN = re.compile(r"[\w\-]+")
_SHARE_FIRST_WORDS = frozenset({"share", "tweet", "email", "print"})


def is_share_line(line: str) -> bool:
    """Social buttons: "Share this", "Share on Facebook | Twitter", "Share to: WeChat Weibo"."""
    first = _SHARE_TOKEN.search(line)
    if first is None or first.group().lower() not in _SHARE_FIRST_WORDS:
        return False
    words = [word.lower() for word in _SHARE_TOKEN.findall(line)]
    return len(words) <= 12 and all(w in _SHARE_WORDS for w in words)


_BYLINE = re.compile(r"^(by|written by|words by)\s+\S", re.I)
_BYLINE_ROLE = re.compile(r"\b(reporter|correspondent|staff writer|contributing writer)\b", re.I)
_EMAIL = re.compile(r"\S+@\S+\.\w+")


def is_byline(line: str) -> bool:
    """ "By Jane Doe", "Jane Doe Retail correspondent", "Lee Su-jin, reporter lee@news.example":
    a short line naming the writer."""
    stripped = line.strip()
    if len(_words(stripped)) > BYLINE_MAX_WORDS or stripped.endswith((".", "!", "?")):
        return False
    return bool(_BYLINE.match(stripped) or _BYLINE_ROLE.search(stripped) or _EMAIL.search(stripped))


_CREDIT_FIELD = re.compile(
    r"^(source|sources|reporter|reporters|author|authors|editor|editors|responsible editor|"
    r"editor in charge|chief editor|edited by|photo|photos|photograph|image|picture|credit|"
    r"publish(ed)?( time| date)?|release time|font( size)?|views?|clicks?)\s*[:：]",
    re.I,
)


def is_credit_line(line: str) -> bool:
    """Labelled page fields and credits: "Source: Daily News", "Editor: Li Na", "Reporting by
    ...; Editing by ...", "【Editor: Li Na】"."""
    stripped = _strip_bullet(line)
    if len(_words(stripped)) <= CREDIT_FIELD_MAX_WORDS and bool(_CREDIT_FIELD.match(stripped)):
        return True
    return len(_words(stripped)) <= CREDIT_LINE_MAX_WORDS and bool(
        _CREDITS.match(stripped) or _BRACKETED_CREDIT.fullmatch(stripped)
    )


_BRACKETED_CREDIT = re.compile(r"【[^】]{1,40}】")
_CREDITS = re.compile(
    r"^[(\[]?\s*(reporting|additional reporting|editing|writing|compiled|produced|graphics?|"
    r"translated|translation|research) by\b",
    re.I,
)
_PERSON = r"[A-Z][\w'’.\-]+(?:\s+[A-Z][\w'’.\-]+){1,3}"
_AUTHOR_BOX = re.compile(
    rf"^{_PERSON},?\s+(covers|reports on|reports from|writes (the|about|on)|has (covered|reported|written)|"
    rf"contributed (reporting|to this)|is (a|an|the|[A-Z][\w'’ .\-]{{1,40}}'s)\b[^.]{{0,80}}?"
    r"\b(reporter|correspondent|editor|columnist|writer|contributor|journalist))\b",
)


def is_author_box(line: str) -> bool:
    """The writer's box: "Jane Doe covers retail for The Daily. She is based in Seattle."."""
    stripped = line.strip()
    return len(_words(stripped)) <= AUTHOR_BOX_MAX_WORDS and bool(_AUTHOR_BOX.match(stripped))


_CAPTION_PREFIX = re.compile(
    r"^(photo|photograph|image|picture|pictured|file photo|illustration)\s*[:：]", re.I
)
_CAPTION_SUFFIX = re.compile(
    r"(\bfile (photo|picture|image)|\b(in a (file )?(photograph|picture|photo)\b.*)|\b(photo|picture|image|photograph)\s*[:：]\s*[\w .&/\-]{1,40}|"
    r"\bcourtesy of [^.]{1,60}\.?|\((photo|picture|image)[^)]{0,60}\))\s*$",
    re.I,
)


def is_photo_caption(line: str) -> bool:
    """A photo caption or credit line: "Photo: Alamy Parcels on a belt ...", "... File photo",
    "... Picture: SUPPLIED", "... Courtesy of Maison X." (a caption is short)."""
    stripped = _strip_bullet(line)
    return len(_words(stripped)) <= PHOTO_CAPTION_MAX_WORDS and bool(
        _CAPTION_PREFIX.match(stripped) or _CAPTION_SUFFIX.search(stripped)
    )


_PROMOTION = re.compile(
    r"^((get|receive|sign up|subscribe|follow|join|never miss|stay (informed|up to date)|want (more|the latest)|"
    r"scan the qr code|download (the|our)|for more|more [\w\- ]{1,30},?\s*please)\b.{0,160}"
    r"(newsletter|briefing|inbox|e-?mail|google news|qr code|alerts|sign up|subscribe|"
    r"(this|our|the) (official )?account|(the|our) app)|catch all the\b.{0,120}\bon [A-Z].*)",
    re.I,
)


def is_promotion(line: str) -> bool:
    """Newsletter, app and follow prompts: "Get the Trade Desk newsletter every Tuesday."."""
    stripped = _strip_bullet(line)
    words = _words(stripped)
    if len(words) > PROMOTION_MAX_WORDS:
        return False
    return bool(_PROMOTION.match(stripped)) or (len(words) <= 8 and "newsletter" in stripped.lower())


_CORRECTION = re.compile(r"^(correction|clarification|editor'?s note)\b[^:]{0,60}:", re.I)


def is_correction(line: str) -> bool:
    """ "Correction, November 20: An earlier version of this story misstated ..."."""
    return bool(_CORRECTION.match(line.strip()))


_PAGE_CONTROL = re.compile(
    r"^(listen to this (article|story)|\d+\s*min(ute)?s?\s+read|sign up\b.*|subscribe\b.*|"
    r"follow us\b.*|back to top|print|close|print this page|font size|comments?( \(\d+\))?|"
    r"skip to (main )?(content|navigation|search)|jump to (content|navigation)|share full article|"
    r"view comments|download (our|the) app\b.*|click here\b.*|report an error|"
    r"(\[[^\]]{1,20}\]\s*)+)$",
    re.I,
)


def is_page_control(line: str) -> bool:
    """Buttons and prompts of the page: "Listen to this article", "[Print] [Close]"."""
    stripped = line.strip()
    return len(_words(stripped)) <= PAGE_CONTROL_MAX_WORDS and bool(_PAGE_CONTROL.match(stripped))


_DISCLAIMER_START = re.compile(
    r"^(disclaimer|statement|copyright|©|\(c\)|risk warning|\*?this (article|text) (was|is) "
    r"(created|translated|produced|part of|for reference))"
)
_DISCLAIMER_PHRASE = re.compile(
    r"all rights reserved|reprint(ing)? (is )?prohibited|reproduction (is )?prohibited|"
    r"only represents? (the )?author|(does not|doesn't) constitute (any )?(investment|operation|legal) advice|"
    r"translated (automatically|by machine)|(automatic|machine) translation|translated by machine|"
    r"pictures? (in this article )?(are|is) from (the )?(network|internet)|reprint,? please indicate|"
    r"if there is (an )?infringement,? please|our (editorial )?standards|trust principles|"
    r"explore more on these topics|views are (his|her|their|my) own|for reference only"
)


def is_disclaimer(line: str) -> bool:
    """Rights and disclaimer notices: "Copyright reserved, reprint prohibited"."""
    stripped = line.strip()
    if len(_words(stripped)) > DISCLAIMER_MAX_WORDS:
        return False
    lowered = stripped.lower()
    return bool(_DISCLAIMER_START.match(lowered) or _DISCLAIMER_PHRASE.search(lowered))


_PREVIOUS_NEXT = re.compile(
    r"^(previous|prev|next|read next|up next|next (article|story|post)|previous (article|story|post)|"
    r"read (the )?next (article|story)|read more|read also|also read|see also|"
    r"leggi anche|lire aussi|lesen sie auch|lea también|leia também|baca juga|xem thêm)\s*[:：>»]\s*\S",
    re.I,
)


def is_previous_next_link(line: str) -> bool:
    """ "Previous: <headline>", "Read next: <headline>": a link to another story."""
    return bool(_PREVIOUS_NEXT.match(_strip_bullet(line)))


_TAG_PREFIX = re.compile(
    r"^((hot |related )?tags?|keywords?|topics?|filed under|categories|category|labels?|关键词|标签)\s*[:：]",
    re.I,
)


def is_tag_line(line: str) -> bool:
    """Keyword lists: "Tags: Amazon, counterfeits", "Keywords: ..."."""
    return bool(_TAG_PREFIX.match(_strip_bullet(line)))


_CAPITALISED_RUN = re.compile(r"[A-Z][a-z]+")


def is_header_keywords(line: str) -> bool:
    """A keyword run glued into one token ("AlibabaFake"), as tag widgets print them.

    Only meaningful before the body starts: the same shape inside the body is anchor text.
    """
    stripped = line.strip().rstrip(".")
    return bool(stripped) and " " not in stripped and len(_CAPITALISED_RUN.findall(stripped)) >= 2


_ADVERTISEMENT = re.compile(
    r"^(advertisement|advertising|sponsored( content)?|ad|promoted|"
    r"story continues below( this)? advertisement|scroll to continue( with content)?)\s*:?$",
    re.I,
)


def is_advertisement(line: str) -> bool:
    return bool(_ADVERTISEMENT.match(_strip_bullet(line)))


_COOKIE_CONSENT = re.compile(
    r"accept|consent|agree|continu|privacy|experience|settings|personali[sz]|(we|site) uses?"
)


def is_cookie_notice(line: str) -> bool:
    """Consent banners: mention cookies and what the reader agrees to."""
    lowered = line.lower()
    return "cookie" in lowered and bool(_COOKIE_CONSENT.search(lowered))


_PAGE_BREAK = re.compile(r"[{\[<]\s*page[\s_-]?break\s*[}\]>]", re.I)


def is_page_break(line: str) -> bool:
    return bool(_PAGE_BREAK.fullmatch(line.strip()))


def is_separator(line: str) -> bool:
    """Punctuation alone on a line: "|", "---", "* * *"."""
    stripped = line.strip()
    return bool(stripped) and all(not ch.isalnum() for ch in stripped)


def is_foreign_script(line: str) -> bool:
    """Text mostly in another script (the seeds carry Chinese spam and headlines).

    A letter is Latin when its Unicode name says so; the name is looked up once per distinct
    non-ASCII letter of the line (ASCII letters are Latin), and letters are counted with
    str.count, so an English line costs a few C calls, not a Python step per character."""
    if line.isascii():
        return False
    letters = [ch for ch in set(line) if ch.isalpha()]
    other = [ch for ch in letters if not ch.isascii() and "LATIN" not in unicodedata.name(ch, "")]
    if not other:
        return False
    other_count = sum(map(line.count, other))
    return other_count / sum(map(line.count, letters)) >= FOREIGN_SCRIPT_SHARE


_FOREIGN_FUNCTION_WORDS = frozenset(
    """de la le les des du et est un une une dans pour par sur que qui pas au aux ce
    der die das und ist mit von zu den dem nicht auf für ein eine im sich auch
    el los las del y en por con para una es lo se al su sus como más pero
    il di della delle che per non sono gli nel alla le dei degli anche sui sul aussi auch también também juga
    do da os em uma não mais com na no ao dos das pelo pela
    het van een en op te zijn niet met voor dat
    och att är som för på med av till inte
    yang dan di ini itu dengan untuk dari tidak ke akan pada juga
    và của là có cho những các được trong với không này người
    ve bir bu ile için da de olarak çok daha
    w i z na się do nie że jest o po""".split()
)
_ONLY_FOREIGN_FUNCTION_WORDS = _FOREIGN_FUNCTION_WORDS - _ENGLISH_FUNCTION_WORDS


def is_foreign_language(line: str) -> bool:
    """A long Latin-script line in another language: almost no English function words and
    several of another language's. English prose, however terse, is never dropped."""
    if _surely_english(line):
        return False
    words = list(map(str.lower, _words(line)))
    if len(words) < FOREIGN_LANGUAGE_MIN_WORDS:
        return False
    english = sum(map(_ENGLISH_FUNCTION_WORDS.__contains__, words))
    if english / len(words) >= ENGLISH_FUNCTION_WORD_SHARE:
        return False
    foreign = sum(map(_ONLY_FOREIGN_FUNCTION_WORDS.__contains__, words))
    return foreign >= FOREIGN_FUNCTION_WORDS_MIN and not is_headline_case(line)


def _surely_english(line: str) -> bool:
    """English function words reach their share of the line's words even counted at their
    fewest (whitespace tokens that are one, lowercased) over the most words the line can
    hold: one in two characters (words are separated), or, closer, a token of letters and
    digits is at most one word and any other token at most one in two of its characters.
    True settles is_foreign_language without its word list."""
    tokens = _tokens(line)
    english = sum(map(_ENGLISH_FUNCTION_WORDS.__contains__, map(str.lower, tokens)))
    if not english:
        return False
    if english / ((len(line) + 1) // 2) >= ENGLISH_FUNCTION_WORD_SHARE:
        return True
    most_words = sum(map(str.isalnum, tokens)) + sum(
        (len(token) + 1) // 2 for token in tokens if not token.isalnum()
    )
    return english / most_words >= ENGLISH_FUNCTION_WORD_SHARE


_RELATED_HEADER = re.compile(
    r"^(related( reading| articles?| stories| news| content| posts| links| topics)?|you (may|might) also like|"
    r"more (stories|news|from [\w\s]+|on this( topic)?)|recommended( for you| reading| stories)?|"
    r"further reading|see also|(read|also) (more|also|read)|most (read|popular|viewed)|popular (now|stories)|"
    r"latest (headlines|news|stories)|more on this (story|topic)|related coverage|hot (reading|news)|"
    r"top stories|editor'?s picks|trending( now)?|相关阅读|相关文章|"
    r"(the )?(reporter|author|writer)'?s? (other|more|latest|recent) (articles|stories|news)|"
    r"(other|more) (articles|stories) (by|from) [\w .'\-]{1,40})\s*[:：]?$",
    re.I,
)


def is_related_header(line: str) -> bool:
    """The header of a related-links block: "Related reading", "You may also like"."""
    return bool(_RELATED_HEADER.match(_strip_bullet(line)))


_NEXT_ARTICLE = re.compile(
    r"^(read (the )?next (article|story)|next (article|story|post)|up next|continue reading next)\s*[:：>»]?$",
    re.I,
)


def is_next_article_header(line: str) -> bool:
    """ "Read the next article": everything after it belongs to another story."""
    return bool(_NEXT_ARTICLE.match(_strip_bullet(line)))


def is_prose(line: str) -> bool:
    """A sentence-case line long enough to be an article's paragraph, not a link title."""
    stripped = line.strip()
    return (
        len(_words(stripped)) >= PROSE_MIN_WORDS
        and not is_headline_case(stripped)
        and not stripped.startswith(("-", "–", "—", "•", "·", "*", "|"))
    )


def is_anchor_fragment(line: str) -> bool:
    """A link's anchor text cut out of its sentence: a few words, no closing punctuation."""
    stripped = line.strip()
    return (
        len(stripped) <= ANCHOR_MAX_CHARS
        and 0 < len(_words(stripped)) <= ANCHOR_MAX_WORDS
        and stripped[0].isalnum()
        and stripped[-1] not in ".!?:;。！？\"”'’)"
    )


_COMMENT_WIDGET = re.compile(
    r"^((with )?(no|one|\d+) comments?(\b|(?=[A-Z])).{0,40}|leave a (reply|comment)|post a comment|add a comment|"
    r"your e-?mail( address)? will not be (published|shown|displayed|shared)\b.*|required fields are marked.*|"
    r"(notify me|save my name)\b.{0,80})$",
    re.I,
)


def is_comment_widget(line: str) -> bool:
    """The comment box under an article: "3 comments:", "Leave a Reply", "Your email address
    will not be published."."""
    stripped = _strip_bullet(line)
    return len(_words(stripped)) <= COMMENT_WIDGET_MAX_WORDS and bool(_COMMENT_WIDGET.match(stripped))


_INTERFACE_TEXT = re.compile(
    r"^(hide ads?|close ads?|open in (the )?app|adjust font size|text size|more options|learn more|"
    r"e-?mail us|rss feeds?|table of contents|(pdf|print|digital) edition|photo gallery|current issue|"
    r"previous issues|make .{1,40} your homepage|fill out this field|please enter a valid e-?mail( address)?|"
    r"begin typing to search\b.*|type (here )?to search\b.*|press enter to search\b.*|"
    r"you are using an? (outdated|unsupported|old) browser\b.*)\s*[:.]?$",
    re.I,
)
# "Next articleTen tips ...": the link's label glued to the next headline (case decides it).
_GLUED_LINK = re.compile(r"^(Previous|Next|Prev) (article|post|story)(?=[A-Z0-9\"“‘'])")


def is_interface_text(line: str) -> bool:
    """Words of the page's own controls and forms: "Hide Ad", "Open in App", "Begin typing to
    search", "You are using an outdated browser", "Next articleTen tips ..."."""
    stripped = _strip_bullet(line)
    return len(_words(stripped)) <= INTERFACE_TEXT_MAX_WORDS and bool(
        _INTERFACE_TEXT.match(stripped) or _GLUED_LINK.match(stripped)
    )


_ADDRESS = re.compile(r"(https?://|www\.)\S+")
_SIDEBAR_PROMOTION = re.compile(r"<<[^<>]{1,160}>>")
_IMAGE_NAME = re.compile(r"[\w\-.]{1,80}\.(jpe?g|png|gif|webp)", re.I)


def is_bare_link(line: str) -> bool:
    """An address or an image file name alone on a line, or a sidebar promotion in << >>."""
    stripped = line.strip()
    return bool(
        _ADDRESS.fullmatch(stripped)
        or _SIDEBAR_PROMOTION.fullmatch(stripped)
        or _IMAGE_NAME.fullmatch(stripped)
    )


_SPEECH_VERB = re.compile(r"\b(said|says|told|added|wrote|asked)\b", re.I)


def is_field_label(line: str) -> bool:
    """A label of up to three words ending in a colon, with nothing after it ("web:",
    "Key insights:"): it introduces a widget or a list, never a topic of its own."""
    stripped = _strip_bullet(line)
    return (
        stripped.endswith((":", "："))
        and 0 < len(_words(stripped)) <= FIELD_LABEL_MAX_WORDS
        and not _SPEECH_VERB.search(stripped)
    )


_PUBLICATION_NOTE = re.compile(
    r"^[(\[]?\s*((this|the) (article|story|report|piece) (was|is|has been) (first |originally )?"
    r"(published|posted|updated)\b.*|(first|originally) (published|posted) (in|on|by)\b.*|"
    r"with inputs from\b.*|I'?m [A-Z][\w'’\-]+( [A-Z][\w'’\-]+){0,2}, an? [^.]{0,40}"
    r"\b(journalist|writer|reporter|editor|author|correspondent)\b.*)$",
    re.I,
)


def is_publication_note(line: str) -> bool:
    """Where a story ran and who wrote it: "This article was first published on ...", "(With
    inputs from agencies)", "I'm Jo Bloggs, a journalist at ..."."""
    stripped = line.strip()
    return len(_words(stripped)) <= PUBLICATION_NOTE_MAX_WORDS and bool(_PUBLICATION_NOTE.match(stripped))


_AGENCIES = (
    r"afp|ap|reuters|bloomberg|getty( images)?|alamy|pa|pa wire|epa|xinhua|ians|pti|ani|"
    r"shutterstock|istock|cfp|vcg|imaginechina|efe|ansa|dpa|bernama|yonhap|kyodo|supplied|handout"
)
_AGENCY_CREDIT = re.compile(rf"^[\s•·*|\-]*({_AGENCIES})([\s/|,&•·]+({_AGENCIES}))*[\s.]*$", re.I)
_CAPTION_MARK = re.compile(
    r"(\[(cfp|vcg|afp|xinhua|photo|file)\]|\|\s*(source|photo|image|credit)\s*:\s*[^|]{1,40})\s*$", re.I
)


_SCREENSHOT = re.compile(r"^(screenshot|screen grab|headshot of)\b", re.I)
_BY = re.compile(r"by", re.I)


def is_agency_credit(line: str) -> bool:
    """A photo credit: agency names alone ("AFP", "Alamy / PA"), a "Screenshot: ..." caption,
    or a caption ending in its credit ("... [CFP]", "... | Source: Taobao")."""
    stripped = line.strip()
    return bool(
        _AGENCY_CREDIT.match(stripped)
        or _SCREENSHOT.match(_strip_bullet(stripped))
        or (
            _fewest_words(stripped) <= CAPTION_MARK_MAX_WORDS
            and len(_words(stripped)) <= CAPTION_MARK_MAX_WORDS
            and _CAPTION_MARK.search(stripped)
        )
        or _BY.fullmatch(stripped)
    )


def is_doubled_line(line: str) -> bool:
    """One phrase printed twice on a line ("Fake bags. Fake bags."), as a caption and its
    alt text or a headline and its link come out of some pages."""
    if not _letters_pair_up(line):
        return False
    words = _words(line)
    half = len(words) // 2
    return (
        len(words) >= 2
        and len(words) % 2 == 0
        and [w.lower() for w in words[:half]] == [w.lower() for w in words[half:]]
    )


def _letters_pair_up(line: str) -> bool:
    """Each ASCII letter occurs an even number of times in the lowercased line, as it does
    in a doubled line (every letter is in a word, and the two halves' words are equal,
    lowercased). Most lines fail this at the first letter or two tried, in a few C calls."""
    lowered = line.lower()
    return all(lowered.count(letter) % 2 == 0 for letter in _LETTERS_BY_FREQUENCY)


_LETTERS_BY_FREQUENCY = "etaoinshrdlcumwfgypbvkjxqz"


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
    fewest_words = _fewest_words(line)
    for rule in LINE_RULES:
        if rule.max_words is not None and fewest_words > rule.max_words:
            continue
        if rule.matches(line):
            return rule.name
    return None


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
        elif is_headline_case(line) and len(_words(line)) >= TITLE_MIN_WORDS:
            header.append((number, line))
        elif len(_words(line)) <= HEADER_LABEL_MAX_WORDS and not _ends_sentence(line):
            dropped.append(DroppedLine(number, line, HEADER_LABEL))
        else:
            break
    else:
        position = len(kept)
    body = kept[position:]
    title = title_line = None
    if header:
        title_line, title = max(header, key=lambda item: (len(_words(item[1])), -item[0]))
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
    return TITLE_MIN_WORDS <= len(_words(stripped)) <= HEADLINE_MAX_WORDS and not stripped.endswith(
        (".", "!", "?", "。", "！", "？", ":", ";", ",", '"', "”", "'", "’")
    )


def _headline_key(text: str) -> str:
    return " ".join(word.lower() for word in _words(text))


def _drop_repeated_headline(
    body: list[tuple[int, str]], title: str, dropped: list[DroppedLine]
) -> list[tuple[int, str]]:
    """The page's own headline printed again in the body is furniture, not a paragraph."""
    key = _headline_key(title)
    title_words = key.count(" ") + 1
    kept = []
    for number, line in body:
        if _fewest_words(line) <= title_words and _headline_key(line) == key:
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
    return is_headline_case(line) and len(_words(line)) >= TITLE_MIN_WORDS and not _ends_sentence(line)


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
