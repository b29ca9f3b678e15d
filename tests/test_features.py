"""Normalisation and the cue lexicon: what is masked, what is kept."""

from triage.features import (
    CUE_LABELS,
    CueLexicon,
    TextNormalizer,
    cue_counts,
    mask_known_names,
    normalise_numbers,
)


def test_listed_platforms_and_brands_become_placeholders():
    text = mask_known_names(
        "Amazon removed 6 million listings; Alibaba's Tmall hosts Gucci and Louis Vuitton."
    )
    assert "Amazon" not in text and "Alibaba" not in text and "Gucci" not in text
    assert text.count("__platform__") == 3 and text.count("__brand__") == 2


def test_names_inside_other_words_are_kept():
    assert (
        mask_known_names("The wishlist and the amazonian forest") == "The wishlist and the amazonian forest"
    )


def test_numbers_money_percentages_and_years_get_their_own_tokens():
    text = normalise_numbers("In 2018 it removed 96% of 1,200 listings worth $1.2 billion and 250,000 yuan.")
    assert text.split() == [
        "In",
        "__year__",
        "it",
        "removed",
        "__pct__",
        "of",
        "__num__",
        "listings",
        "worth",
        "__money__",
        "and",
        "__money__",
        ".",
    ]


def test_unknown_capitalised_names_are_masked_but_capitalised_common_words_are_kept():
    normaliser = TextNormalizer(mask_names=False, mask_numbers=False).fit(["the court said the seller lost"])
    assert (
        normaliser.normalise("The Court said Zheng Junfang lost.") == "The Court said __name__ __name__ lost."
    )


def test_masking_makes_two_platforms_reports_look_alike():
    normaliser = TextNormalizer().fit(["removed listings stores"])
    assert normaliser.normalise("Amazon removed 6 million listings") == normaliser.normalise(
        "Alibaba removed 240,000 listings"
    )


def test_switched_off_the_normaliser_changes_nothing_but_whitespace():
    normaliser = TextNormalizer(mask_names=False, mask_numbers=False, mask_unknown_names=False).fit([])
    assert normaliser.normalise("Amazon  removed 6 listings") == "Amazon removed 6 listings"


def test_cue_lexicon_counts_whole_phrases_per_label():
    counts = dict(
        zip(
            CUE_LABELS,
            cue_counts(
                "The USTR kept the market on its notorious markets list after a congressional hearing."
            ),
            strict=True,
        )
    )
    assert counts["regulatory_listing"] >= 3
    assert counts["brand_criticism"] == 0


def test_cue_features_are_one_column_per_label():
    matrix = CueLexicon().fit(["x"]).transform(["filed a lawsuit in federal court", "nothing"])
    assert matrix.shape == (2, len(CUE_LABELS)) and matrix[1].sum() == 0
