"""Ingestion: each furniture rule, fragment merging, titles, and the seeds' gold."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from triage.ingestion import article, furniture, language, rules, words
from triage.ingestion.article import ingest

ROOT = Path(__file__).resolve().parents[1]
ARTICLES = ROOT / "tests/data/articles"


# --- one rule, one test -------------------------------------------------------------------
@pytest.mark.parametrize(
    "line",
    [
        "Home >",
        "Home > News > Retail",
        "Home / Tech / E-commerce",
        "Home | Economy",
        "World > Europe",
        "Current position: Home > Finance",
    ],
)
def test_breadcrumbs_are_navigation(line):
    assert furniture.is_navigation(line)


def test_a_sentence_with_a_greater_than_sign_is_not_navigation():
    assert not furniture.is_navigation(
        "Sales in the first quarter were > 20% higher than a year ago, the company said on Monday."
    )


@pytest.mark.parametrize(
    "line",
    [
        "2019/7/24 12:53:00 3",
        "March 14, 2021",
        "14 Mar 2021 | 09:12",
        "Published: 2021-03-14 09:12 GMT",
        "Updated 14.03.2021",
        "Friday 5 December 2025 06:00 GMT",
        "Buenos Aires, 22 April 2025",
    ],
)
def test_date_and_dateline_lines_are_dropped(line):
    assert furniture.is_date_line(line)


def test_a_sentence_that_starts_with_a_date_is_content():
    assert not furniture.is_date_line("On March 3, 2021 the court ruled against the seller.")


@pytest.mark.parametrize("line", ["4", "162", "Shares: 37", "1,204 views"])
def test_lone_counters_are_count_lines(line):
    assert furniture.is_count_line(line)


@pytest.mark.parametrize(
    "line", ["Share this", "Share on Facebook | Twitter | LinkedIn", "Share to: WeChat Weibo QQ Space"]
)
def test_social_buttons_are_share_lines(line):
    assert furniture.is_share_line(line)


def test_a_sentence_about_shares_is_not_a_share_line():
    assert not furniture.is_share_line("Shares of the company fell 3% after the report.")


@pytest.mark.parametrize(
    "line", ["Tags: Amazon, counterfeits", "Keywords: customs", "Hot Tags: Taobao Court"]
)
def test_keyword_lists_are_tag_lines(line):
    assert furniture.is_tag_line(line)


def test_glued_keywords_before_the_body_are_dropped_but_the_same_shape_inside_is_an_anchor():
    text = "A Headline About Fake Goods Online\nAlibabaFake\nThe first paragraph is long enough to be prose, about fakes.\nTaoBao\nand the sentence goes on."
    article = ingest(text)
    assert [line.rule for line in article.dropped] == [rules.HEADER_KEYWORDS]
    assert article.texts == [
        "The first paragraph is long enough to be prose, about fakes. TaoBao and the sentence goes on."
    ]


@pytest.mark.parametrize(
    "line", ["By Jane Doe", "By a Technology Correspondent", "By Staff Reporter Published March 11, 2026"]
)
def test_short_bylines_are_dropped(line):
    assert furniture.is_byline(line)


def test_a_sentence_starting_with_by_is_content():
    assert not furniture.is_byline("By the end of June, the platform had handled over 20 million listings.")


@pytest.mark.parametrize(
    "line",
    [
        "Source: Hangzhou Daily",
        "Editor: Li Na",
        "Responsible editor: Wang Lei",
        "Publish time: 2025/09/03",
        "Photo: A warehouse of seized goods",
    ],
)
def test_labelled_page_fields_are_credit_lines(line):
    assert furniture.is_credit_line(line)


@pytest.mark.parametrize(
    "line",
    [
        "Listen to this article",
        "5 min read",
        "[Print] [Close]",
        "Sign up for our daily newsletter",
        "Follow us on social media",
    ],
)
def test_page_buttons_and_prompts_are_page_controls(line):
    assert furniture.is_page_control(line)


@pytest.mark.parametrize(
    "line",
    [
        "Copyright reserved, reprint prohibited",
        "Disclaimer: for reference only.",
        "Statement: this article content only represent author view.",
    ],
)
def test_rights_notices_are_disclaimers(line):
    assert furniture.is_disclaimer(line)


@pytest.mark.parametrize("line", ["Advertisement", "ADVERTISEMENT", "Sponsored content"])
def test_advertisement_markers_are_dropped(line):
    assert furniture.is_advertisement(line)


def test_cookie_banners_are_dropped():
    assert furniture.is_cookie_notice(
        "We use cookies to improve your experience. By continuing you accept our policy."
    )


def test_page_break_markers_and_separators_are_dropped():
    assert furniture.is_page_break("{page_break}")
    assert furniture.is_separator("|")
    assert furniture.is_separator("* * *")


def test_lines_in_another_script_are_dropped_and_mixed_english_is_kept():
    assert language.is_foreign_script("亚洲日韩视频欧美在线视频永久免费")
    assert language.is_foreign_script("FILA簽約木村光希,擔任潮流運動代言人")
    assert not language.is_foreign_script(
        "Taobao (淘宝) said it removed 2 million listings of fake shoes last year."
    )


def test_a_long_line_in_another_latin_language_is_dropped():
    assert language.is_foreign_language(
        "La plataforma eliminó millones de productos falsificados durante su campaña anual contra vendedores"
    )
    assert not language.is_foreign_language(
        "The platform removed millions of fake products during its annual campaign against sellers."
    )


def test_related_reading_drops_the_list_until_prose_returns():
    text = "\n".join(
        [
            "First paragraph of the story, long enough to count as a real paragraph of prose.",
            "Related reading",
            "- Cotton Prices Slump Again",
            "Company news",
            "|",
            "2019/7/24 12:53:00",
            "4",
            "The story then goes on with another full paragraph that is clearly written as prose.",
        ]
    )
    article = ingest(text)
    assert article.texts[-1].startswith("The story then goes on")
    assert [line.rule for line in article.dropped] == [rules.RELATED_SECTION] * 6


def test_read_the_next_article_drops_everything_after_it():
    text = "A paragraph of the article itself that is long enough to be prose.\nRead the next article\nOther Story Headline\nOther story text that belongs to the next article entirely."
    article = ingest(text)
    assert article.texts == ["A paragraph of the article itself that is long enough to be prose."]
    assert {line.rule for line in article.dropped} == {rules.NEXT_ARTICLE}


def test_previous_and_next_links_are_dropped_one_line_each():
    assert furniture.is_previous_next_link("Previous: Court Explains Trademark Squatting")
    assert furniture.is_previous_next_link("Read next: How Rules Change Online Shopping")


# --- the furniture of real news pages (second round) ---------------------------------------
@pytest.mark.parametrize(
    "line",
    [
        "Pat Example covers retail and small business for The Harbourside Courier.",
        "Lee Example reports on trade policy from Washington. He previously covered shipping.",
        "Sam Example is The Courier's Paris correspondent, covering luxury goods.",
        "Kim Example is a senior reporter covering marketplaces in West Africa.",
        "Jo Example has covered consumer affairs since 2009.",
        "Ana Example writes the Bottom Line column for The Counter. Her views are her own.",
    ],
)
def test_author_boxes_are_dropped(line):
    assert furniture.is_author_box(line) and rules.furniture_rule(line) is not None


def test_a_sentence_about_a_person_covering_something_is_not_an_author_box():
    assert not furniture.is_author_box(
        "Maria Example, who covers the case for the brand, said the ruling was a relief."
    )
    assert not furniture.is_author_box(
        "The lawyer covers the costs of the test purchases, the complaint says."
    )


@pytest.mark.parametrize(
    "line",
    [
        "Reporting by Pat Example in Chicago; Editing by Lee Example",
        "(Reporting by Pat Example; Editing by Lee Example)",
        "【Editor: Li Example】",
        "Lee Example, reporter lee@news.example",
        "Pat Example Retail correspondent",
    ],
)
def test_credits_and_reporter_lines_are_dropped(line):
    assert rules.furniture_rule(line) in (rules.CREDIT_LINE, rules.BYLINE)


@pytest.mark.parametrize(
    "line",
    [
        "Photo: Courier archive Parcels on a belt at a fulfilment centre, in a file picture.",
        "Customs officers inspect a container at the port. Picture: SUPPLIED",
        "A delivery agent sorts parcels at a warehouse on the edge of the city. File photo",
        "The brand's flagship on the high street. Courtesy of the brand.",
    ],
)
def test_photo_captions_and_credits_are_dropped(line):
    assert rules.furniture_rule(line) == rules.PHOTO_CAPTION


@pytest.mark.parametrize(
    "line",
    [
        "Get the Courier business briefing in your inbox every weekday morning.",
        "Follow us in Google News to receive the latest notes.",
        "Scan the QR code to follow the official account for more news.",
        "More cross-border information, please pay attention to this account.",
        "Catch all the market updates and company results on The Ledger.",
    ],
)
def test_newsletter_and_follow_prompts_are_dropped(line):
    assert furniture.is_promotion(line) and rules.furniture_rule(line) is not None


def test_a_sentence_that_starts_with_get_is_not_a_prompt():
    line = "Get rid of repeat sellers, the association told the platform, or it would close its account."
    assert rules.furniture_rule(line) is None


@pytest.mark.parametrize(
    "line",
    [
        "Correction, March 15: An earlier version of this story misstated the number of stores.",
        "Risk warning: The market has risks. This article does not constitute investment advice.",
        "This text was translated automatically from the German original.",
        "The pictures in this article are from network, if there is infringement please contact us.",
        "Our Standards: The Trust Principles.",
        "Skip to main content",
        "2025-11-12 09:30 Source: Example Industry Times Views: 3126",
        "Sun 8 Mar 2026 07.00 GMT",
    ],
)
def test_corrections_disclaimers_skip_links_and_dated_source_lines_are_dropped(line):
    assert rules.furniture_rule(line) is not None


@pytest.mark.parametrize(
    "line",
    [
        "Amazon sues 20 sellers over fake boots sold in its Seattle store",
        "Shoppers say fakes arrive within days, regulators say platforms must act faster",
        "Brands pile on before the vote",
    ],
)
def test_english_is_never_dropped_as_a_foreign_language(line):
    assert rules.furniture_rule(line) is None


def test_a_line_in_another_latin_script_language_is_dropped():
    assert language.is_foreign_language(
        "Iscriviti alla newsletter per ricevere le notizie del giorno e le analisi della redazione"
    )
    assert language.is_foreign_language(
        "La marque a déposé une plainte contre les vendeurs de la plateforme pour contrefaçon"
    )


def test_the_longest_headline_in_the_header_is_the_title_not_the_site_tagline():
    article = ingest(
        "The Example Trade Journal\nNews > Brands\nMaker Opens Flagship On Platform, Takes Aim At Resale Fakes\n"
        "The maker opened its flagship store on the platform on Thursday, it said in a statement."
    )
    assert article.title == "Maker Opens Flagship On Platform, Takes Aim At Resale Fakes"


def test_a_sentence_case_first_line_without_a_full_stop_is_the_title():
    article = ingest(
        "JD.com 618 order volume hit new record, genuine goods become the key word\n"
        "The platform said on Thursday that orders rose by a fifth during the promotion."
    )
    assert article.title.startswith("JD.com 618 order volume")
    assert article.texts == [
        "The platform said on Thursday that orders rose by a fifth during the promotion."
    ]


def test_the_headline_repeated_in_the_body_is_dropped_and_never_a_paragraph():
    article = ingest(
        "Court Orders Sellers To Pay Maker For Fake Boots\n"
        "The court ordered eleven sellers to pay damages to the maker on Tuesday.\n"
        "Court orders sellers to pay maker for fake boots\n"
        "The sellers did not respond to requests for comment made through the platform."
    )
    assert [line.rule for line in article.dropped] == [rules.REPEATED_HEADLINE]
    assert len(article.paragraphs) == 2


def test_headlines_of_other_stories_after_the_last_paragraph_are_dropped():
    article = ingest(
        "The court ordered eleven sellers to pay damages to the maker on Tuesday, its lawyers said.\n"
        "Reporter's other articles\nCity Council Approves New Cycle Lanes\nLocal Bakery Wins Regional Prize\n"
    )
    assert len(article.paragraphs) == 1
    article = ingest(
        "The court ordered eleven sellers to pay damages to the maker on Tuesday, its lawyers said.\n"
        "City Council Approves New Cycle Lanes\nLocal Bakery Wins Regional Prize\n"
    )
    assert [line.rule for line in article.dropped] == [rules.HEADLINE_LIST] * 2


def test_an_article_mostly_in_another_language_is_flagged():
    french = "La marque a déposé une plainte contre les vendeurs de la plateforme pour contrefaçon et elle demande des dommages."
    article = ingest(
        "\n".join([french] * 4 + ["The brand filed a complaint against the sellers on the platform."])
    )
    assert article.mostly_foreign
    assert not ingest("The brand filed a complaint against the sellers on the platform.").mostly_foreign


# --- fragments -----------------------------------------------------------------------------
def test_lone_anchor_line_is_merged_into_sentence():
    text = "Nevertheless, some foreign brands seem to be right.\nAlibaba\nThe effort is not to be bought."
    article = ingest(text)
    assert article.texts == [
        "Nevertheless, some foreign brands seem to be right. Alibaba The effort is not to be bought."
    ]
    assert (article.paragraphs[0].first_line, article.paragraphs[0].last_line) == (1, 3)


def test_chained_anchor_lines_make_one_paragraph():
    text = "In July 1st, LV, Burberry, HP,\nAdidas\nThere are more than 100 lines with a long history.\nbrand\nThe big guys gathered in Hangzhou."
    assert len(ingest(text).paragraphs) == 1


def test_anchor_is_not_merged_across_page_furniture():
    text = "The first paragraph of the story is here and it ends.\nAdvertisement\nTaobao\nThe second paragraph starts after the advertisement."
    assert ingest(text).texts == [
        "The first paragraph of the story is here and it ends.",
        "Taobao The second paragraph starts after the advertisement.",
    ]


def test_a_quote_split_over_two_lines_is_one_paragraph():
    text = 'He said: "you always take a patch to stop bleeding.\nIf the root is not removed, it will be full of holes. "\nHe believes the root is offline.'
    assert ingest(text).texts == [
        'He said: "you always take a patch to stop bleeding. If the root is not removed, it will be full of holes. "',
        "He believes the root is offline.",
    ]


# --- titles ----------------------------------------------------------------------------------
def test_headline_case_first_line_is_the_title():
    article = ingest(
        "Platform Removes Fake Shoes After Brand Complaints\nThe platform removed the listings on Monday after complaints."
    )
    assert article.title == "Platform Removes Fake Shoes After Brand Complaints"
    assert article.texts == ["The platform removed the listings on Monday after complaints."]


def test_text_without_a_headline_keeps_its_first_paragraph():
    text = "The platform removed the listings on Monday after complaints from brands.\nA second paragraph follows here."
    article = ingest(text)
    assert article.title is None
    assert article.texts[0].startswith("The platform removed")


def test_section_labels_before_the_headline_are_not_the_title():
    article = ingest(
        "Tech | Commerce\nAsia Pacific\neBay Extends Its Authentication Service To Germany\nThe body starts here with a sentence of prose."
    )
    assert article.title == "eBay Extends Its Authentication Service To Germany"


# --- whole articles --------------------------------------------------------------------------
EXPECTED = {
    "styled_marketplace_fines.txt": (
        "Marketplace Operator Is Fined For Fake Sneakers, Brand Side Say Not Enough",
        [(7, 7), (9, 9), (11, 11)],
    ),
    "styled_customs_report.txt": (
        "Customs Report Show Counterfeit Parcels From Cross-Border Channel Rise Again",
        [(4, 4), (6, 8), (10, 10)],
    ),
    "styled_no_headline.txt": (None, [(2, 2), (3, 3), (5, 5)]),
    "styled_news_site_page.txt": (
        "Shoe Maker Sues Marketplace Sellers Over Copies Of Its Trail Boot",
        [(6, 6), (11, 11), (12, 12), (14, 14), (17, 17)],
    ),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_articles_with_furniture_the_seeds_lack_are_ingested_correctly(name):
    title, spans = EXPECTED[name]
    article = ingest((ARTICLES / name).read_text(encoding="utf-8"))
    assert article.title == title
    assert [(p.first_line, p.last_line) for p in article.paragraphs] == spans


def test_every_dropped_line_names_its_rule_and_every_paragraph_its_lines():
    article = ingest((ARTICLES / "styled_marketplace_fines.txt").read_text(encoding="utf-8"))
    assert all(line.rule for line in article.dropped)
    assert all(1 <= p.first_line <= p.last_line for p in article.paragraphs)


def test_ingestion_is_deterministic():
    text = (ROOT / "data/raw/003_95466451ce915636.txt").read_text(encoding="utf-8")
    assert ingest(text) == ingest(text)


def test_windows_line_endings_and_a_bom_change_nothing():
    text = (ROOT / "data/raw/000_72e6380c1300aee7.txt").read_text(encoding="utf-8")
    assert ingest("\ufeff" + text.replace("\n", "\r\n")).texts == ingest(text).texts


# --- the seeds' gold ------------------------------------------------------------------------
def _gold():
    with open(ROOT / "tests/data/seed_ingest_gold.tsv", encoding="utf-8") as stream:
        rows = [
            row
            for row in csv.DictReader((line for line in stream if not line.startswith("#")), delimiter="\t")
        ]
    return rows


def _marks(path: Path) -> dict[int, str]:
    article = ingest(path.read_text(encoding="utf-8"))
    marks = {}
    if article.title_line:
        marks[article.title_line] = "title"
    lines = path.read_text(encoding="utf-8").split("\n")
    for paragraph in article.paragraphs:
        marks[paragraph.first_line] = "keep"
        for number in range(paragraph.first_line + 1, paragraph.last_line + 1):
            marks[number] = "merge" if lines[number - 1].strip() else "drop"
    return marks


def test_seed_ingestion_matches_the_hand_marked_gold():
    gold = _gold()
    predicted = {}
    for name in {row["file"] for row in gold}:
        for number, mark in _marks(ROOT / "data/raw" / name).items():
            predicted[(name, number)] = mark
    wrong = []
    true_drop = predicted_drop = both_drop = 0
    for row in gold:
        key = (row["file"], int(row["line"]))
        got = predicted.get(key, "drop")
        true_drop += row["mark"] == "drop"
        predicted_drop += got == "drop"
        both_drop += row["mark"] == "drop" and got == "drop"
        if got != row["mark"]:
            wrong.append(f"{key[0]}:{key[1]} gold={row['mark']} got={got} {row['text']}")
    precision = both_drop / predicted_drop
    recall = both_drop / true_drop
    print(f"dropping on the seeds: precision {precision:.3f}, recall {recall:.3f}; {len(wrong)} lines wrong")
    print("\n".join(wrong))
    assert (precision, recall) == (1.0, 1.0)
    assert wrong == []


# --- rules written from the real-news dev pages (every sentence here is made up) -----------
@pytest.mark.parametrize(
    "line, rule",
    [
        ("7 comments:", rules.COMMENT_WIDGET),
        ("No Comments", rules.COMMENT_WIDGET),
        ("2 CommentsPrint E-mail", rules.COMMENT_WIDGET),
        ("Leave a Reply", rules.COMMENT_WIDGET),
        ("Your email will not be shown to other readers.", rules.COMMENT_WIDGET),
        ("Hide Ad", rules.INTERFACE_TEXT),
        ("Open in App", rules.INTERFACE_TEXT),
        ("Please enter a valid email address.", rules.INTERFACE_TEXT),
        (
            "You are using an old browser, so some parts of this site may not show as intended.",
            rules.INTERFACE_TEXT,
        ),
        ("Next articleSeven ways to pack a suitcase", rules.INTERFACE_TEXT),
        ("https://files.example.org/report-2031.pdf", rules.BARE_LINK),
        ("<<Free guide: choosing a parcel tracker>>", rules.BARE_LINK),
        ("market_stall_photo.jpg", rules.BARE_LINK),
        ("Quick facts:", rules.FIELD_LABEL),
        ("This article was first published on the Harbour Post site.", rules.PUBLICATION_NOTE),
        ("(With inputs from wire services)", rules.PUBLICATION_NOTE),
        ("I'm Dana Ferro, a reporter at the Valley Ledger covering small business.", rules.PUBLICATION_NOTE),
        ("Reuters / AFP", rules.AGENCY_CREDIT),
        ("Screenshot: the seller's storefront", rules.AGENCY_CREDIT),
        ("Stacks of boxed trainers at a depot. [CFP]", rules.AGENCY_CREDIT),
        ("A knock-off watch on sale | Source: Marketpage", rules.AGENCY_CREDIT),
        ("By", rules.AGENCY_CREDIT),
        ("Cheap perfume. Cheap perfume.", rules.DOUBLED_LINE),
    ],
)
def test_page_furniture_seen_on_real_pages_is_dropped_by_its_rule(line, rule):
    assert rules.furniture_rule(line) == rule


@pytest.mark.parametrize(
    "line",
    [
        "Three comments from the regulator set off a wave of takedowns on the marketplace last week.",
        "The platform said it would open in the app store of every region by June.",
        "Next year the marketplace plans to hire 300 more reviewers for its brand registry.",
        "Customs officers told reporters:",
        "Reuters reported that the seller had moved its stock to a second warehouse.",
        "The court heard that the fake bags were sold by the same two shops, the same two shops.",
    ],
)
def test_sentences_that_only_look_like_that_furniture_are_kept(line):
    assert rules.furniture_rule(line) is None


def test_the_stored_date_prefix_leaves_the_first_paragraph_and_its_line_number():
    article = ingest(
        " date 2031-04-02 The marketplace removed 40,000 listings of fake chargers in March, its report said.\n"
        "Brands said the figures were not enough to stop the trade.\n"
    )
    first = article.paragraphs[0]
    assert first.text.startswith("The marketplace removed") and first.first_line == 1


# --- speed without a change in output ------------------------------------------------------------
def _labelled_and_raw_texts() -> dict[str, str]:
    """Every raw article of the repository (seeds, authored, realistic, both OOD sets), every
    labelled paragraph, and each line of each raw article on its own."""
    texts = {}
    for path in sorted((ROOT / "data").glob("**/raw/*.txt")) + sorted(ARTICLES.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        texts[str(path)] = text
        for number, line in enumerate(text.split("\n")):
            texts[f"{path}:{number}"] = line
    for path in sorted((ROOT / "data/labeled").glob("*.csv")) + [ROOT / "data/shared/realistic_articles.csv"]:
        with open(path, encoding="utf-8", newline="") as stream:
            for number, row in enumerate(csv.DictReader(stream)):
                texts[f"{path}:{number}"] = row["text"]
    return texts


# Lines written to sit at the edge of each shortcut: a date token eating part of a word, a
# label after a time, a doubled line with non-ASCII letters, terse English, another language.
EDGE_LINES = [
    "Published 12:30 ammay 2021",
    "12:30 ammay 2021, 9:15 pmjune 2022, 7:00 amjan 2020, 6:45 pmoct 2019",
    "Published on Monday at 12:30 pm, updated on Tuesday at 9:00 am 2021-03-01",
    "12:30 pm Monday March 3, 2024 Source: Trade Wire Views: 31",
    "Alpha Beta Gamma source 12:30: 2021-03-01",
    "alpha beta gamma delta 2021-03-01",
    "Buenos Aires, 22 April 2025",
    "Posted on Tuesday at 9:12 pm by the desk team for you",
    "İstanbul deal. İstanbul deal.",
    "Fake bags, fake bags",
    "Fake bags. Fake bags. Fake",
    "Der Markt und die Marke sind mit dem Verfahren nicht zufrieden, auch wenn das Gericht entschied.",
    "Police seized 40 trucks, 300 boxes, 12 vans.",
    "Photo: Reuters | Source: Trade Desk",
    "中文标题 Chinese headline",
]


def _without_shortcuts(monkeypatch) -> None:
    """Every rule run in full on every line: no word-count skipping, no early answers."""
    for module in (article, rules, furniture, language):  # each module that counts words before a rule
        if hasattr(module, "fewest_words_of"):
            monkeypatch.setattr(module, "fewest_words_of", lambda line: 0)
    monkeypatch.setattr(furniture, "_words_no_date_can_take", lambda line: 0)
    monkeypatch.setattr(language, "_surely_english", lambda line: False)
    monkeypatch.setattr(language, "_letters_pair_up", lambda line: True)


def test_every_labelled_and_raw_article_ingests_the_same_with_and_without_the_shortcuts(monkeypatch):
    texts = {**_labelled_and_raw_texts(), **{f"edge:{i}": line for i, line in enumerate(EDGE_LINES)}}
    with_shortcuts = {key: ingest(text) for key, text in texts.items()}
    _without_shortcuts(monkeypatch)
    changed = [key for key, text in texts.items() if ingest(text) != with_shortcuts[key]]
    assert not changed, changed[:5]
    assert {rule for article in with_shortcuts.values() for rule in (d.rule for d in article.dropped)} >= {
        rules.DATE_LINE,
        rules.FOREIGN_SCRIPT,
        rules.DOUBLED_LINE,
        rules.NAVIGATION,
        rules.CREDIT_LINE,
    }  # the comparison reaches the rules that have shortcuts


def _script_by_name(line: str) -> bool:
    """is_foreign_script as first written: each letter's Unicode name looked up."""
    import unicodedata

    latin = other = 0
    for ch in line:
        if ch.isalpha():
            if "LATIN" in unicodedata.name(ch, ""):
                latin += 1
            else:
                other += 1
    return other > 0 and other / (latin + other) >= words.FOREIGN_SCRIPT_SHARE


def test_the_script_check_agrees_with_each_letters_unicode_name_for_every_letter():
    import sys

    letters = [chr(code) for code in range(sys.maxunicode + 1) if chr(code).isalpha()]
    lines = ["".join(letters[i : i + 40]) for i in range(0, len(letters), 40)]
    lines += [f"{letter} ab" for letter in letters[::7]] + [f"{letter} abc" for letter in letters[::7]]
    assert [language.is_foreign_script(line) for line in lines] == [_script_by_name(line) for line in lines]


def test_each_line_rule_is_one_named_entry_of_the_table_in_order():
    assert all(isinstance(rule, rules.LineRule) for rule in rules.LINE_RULES)
    assert len({rule.name for rule in rules.LINE_RULES}) == len(rules.LINE_RULES)
    assert rules.LINE_RULES[0].name == rules.PAGE_BREAK and rules.LINE_RULES[-1].name == rules.DOUBLED_LINE
