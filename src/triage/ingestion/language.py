"""Line rules about language and prose: another script or language, related-reading and next-article headers, prose, anchor fragments, widgets, interface text, bare links, field labels, agency credits, doubled lines."""

from __future__ import annotations

import re
import unicodedata

from triage.ingestion.words import (
    ANCHOR_MAX_CHARS,
    ANCHOR_MAX_WORDS,
    CAPTION_MARK_MAX_WORDS,
    COMMENT_WIDGET_MAX_WORDS,
    ENGLISH_FUNCTION_WORD_SHARE,
    ENGLISH_FUNCTION_WORDS,
    FIELD_LABEL_MAX_WORDS,
    FOREIGN_FUNCTION_WORDS_MIN,
    FOREIGN_LANGUAGE_MIN_WORDS,
    FOREIGN_SCRIPT_SHARE,
    INTERFACE_TEXT_MAX_WORDS,
    PROSE_MIN_WORDS,
    PUBLICATION_NOTE_MAX_WORDS,
    fewest_words_of,
    is_headline_case,
    tokens_of,
    without_bullet,
    words_of,
)


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
_ONLY_FOREIGN_FUNCTION_WORDS = _FOREIGN_FUNCTION_WORDS - ENGLISH_FUNCTION_WORDS


def is_foreign_language(line: str) -> bool:
    """A long Latin-script line in another language: almost no English function words and
    several of another language's. English prose, however terse, is never dropped."""
    if _surely_english(line):
        return False
    words = list(map(str.lower, words_of(line)))
    if len(words) < FOREIGN_LANGUAGE_MIN_WORDS:
        return False
    english = sum(map(ENGLISH_FUNCTION_WORDS.__contains__, words))
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
    tokens = tokens_of(line)
    english = sum(map(ENGLISH_FUNCTION_WORDS.__contains__, map(str.lower, tokens)))
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
    return bool(_RELATED_HEADER.match(without_bullet(line)))


_NEXT_ARTICLE = re.compile(
    r"^(read (the )?next (article|story)|next (article|story|post)|up next|continue reading next)\s*[:：>»]?$",
    re.I,
)


def is_next_article_header(line: str) -> bool:
    """ "Read the next article": everything after it belongs to another story."""
    return bool(_NEXT_ARTICLE.match(without_bullet(line)))


def is_prose(line: str) -> bool:
    """A sentence-case line long enough to be an article's paragraph, not a link title."""
    stripped = line.strip()
    return (
        len(words_of(stripped)) >= PROSE_MIN_WORDS
        and not is_headline_case(stripped)
        and not stripped.startswith(("-", "–", "—", "•", "·", "*", "|"))
    )


def is_anchor_fragment(line: str) -> bool:
    """A link's anchor text cut out of its sentence: a few words, no closing punctuation."""
    stripped = line.strip()
    return (
        len(stripped) <= ANCHOR_MAX_CHARS
        and 0 < len(words_of(stripped)) <= ANCHOR_MAX_WORDS
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
    stripped = without_bullet(line)
    return len(words_of(stripped)) <= COMMENT_WIDGET_MAX_WORDS and bool(_COMMENT_WIDGET.match(stripped))


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
    stripped = without_bullet(line)
    return len(words_of(stripped)) <= INTERFACE_TEXT_MAX_WORDS and bool(
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
    stripped = without_bullet(line)
    return (
        stripped.endswith((":", "："))
        and 0 < len(words_of(stripped)) <= FIELD_LABEL_MAX_WORDS
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
    return len(words_of(stripped)) <= PUBLICATION_NOTE_MAX_WORDS and bool(_PUBLICATION_NOTE.match(stripped))


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
        or _SCREENSHOT.match(without_bullet(stripped))
        or (
            fewest_words_of(stripped) <= CAPTION_MARK_MAX_WORDS
            and len(words_of(stripped)) <= CAPTION_MARK_MAX_WORDS
            and _CAPTION_MARK.search(stripped)
        )
        or _BY.fullmatch(stripped)
    )


def is_doubled_line(line: str) -> bool:
    """One phrase printed twice on a line ("Fake bags. Fake bags."), as a caption and its
    alt text or a headline and its link come out of some pages."""
    if not _letters_pair_up(line):
        return False
    words = words_of(line)
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
