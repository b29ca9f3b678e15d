"""Line rules for page furniture: navigation, datelines, counts, share bars, bylines and credits, captions, promotions, notices, page controls, tags, advertisements."""

from __future__ import annotations

import re

from triage.ingestion.words import (
    AUTHOR_BOX_MAX_WORDS,
    BYLINE_MAX_WORDS,
    CREDIT_FIELD_MAX_WORDS,
    CREDIT_LINE_MAX_WORDS,
    DISCLAIMER_MAX_WORDS,
    NAVIGATION_MAX_WORDS,
    PAGE_CONTROL_MAX_WORDS,
    PHOTO_CAPTION_MAX_WORDS,
    PROMOTION_MAX_WORDS,
    tokens_of,
    without_bullet,
    words_of,
)

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
        bool(stripped)
        and len(words_of(stripped)) <= NAVIGATION_MAX_WORDS
        and bool(_NAVIGATION.match(stripped))
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
    for token in tokens_of(stripped):
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
    if len(words_of(stripped)) > BYLINE_MAX_WORDS or stripped.endswith((".", "!", "?")):
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
    stripped = without_bullet(line)
    if len(words_of(stripped)) <= CREDIT_FIELD_MAX_WORDS and bool(_CREDIT_FIELD.match(stripped)):
        return True
    return len(words_of(stripped)) <= CREDIT_LINE_MAX_WORDS and bool(
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
    return len(words_of(stripped)) <= AUTHOR_BOX_MAX_WORDS and bool(_AUTHOR_BOX.match(stripped))


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
    stripped = without_bullet(line)
    return len(words_of(stripped)) <= PHOTO_CAPTION_MAX_WORDS and bool(
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
    stripped = without_bullet(line)
    words = words_of(stripped)
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
    return len(words_of(stripped)) <= PAGE_CONTROL_MAX_WORDS and bool(_PAGE_CONTROL.match(stripped))


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
    if len(words_of(stripped)) > DISCLAIMER_MAX_WORDS:
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
    return bool(_PREVIOUS_NEXT.match(without_bullet(line)))


_TAG_PREFIX = re.compile(
    r"^((hot |related )?tags?|keywords?|topics?|filed under|categories|category|labels?|关键词|标签)\s*[:：]",
    re.I,
)


def is_tag_line(line: str) -> bool:
    """Keyword lists: "Tags: Amazon, counterfeits", "Keywords: ..."."""
    return bool(_TAG_PREFIX.match(without_bullet(line)))


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
    return bool(_ADVERTISEMENT.match(without_bullet(line)))


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
