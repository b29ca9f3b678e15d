"""The baselines every score is printed beside."""

from triage.evaluation.baselines import cue_counts, keyword_baseline, majority_baseline


def test_cue_phrases_count_whole_phrases_and_stems_per_label():
    counts = cue_counts("The brands filed a lawsuit and protested the platform's decision.")
    assert counts["legal_action"] >= 1 and counts["brand_criticism"] >= 1
    assert cue_counts("The weather was fine.") == {label: 0 for label in counts}


def test_keyword_baseline_takes_the_most_cued_label_and_other_when_none():
    assert keyword_baseline(
        ["The court granted an injunction in the trademark infringement case.", "Hello."]
    ) == [
        "legal_action",
        "other",
    ]


def test_majority_baseline_repeats_the_most_frequent_training_label():
    assert majority_baseline(["other", "legal_action", "other"], 2) == ["other", "other"]


def test_the_keyword_rule_reads_the_lexicon_it_is_given_each_time():
    """No module-level cache: a rule built from another lexicon uses that lexicon."""
    text = "The court granted an injunction; the umbrella seller sold out."
    assert keyword_baseline([text]) == ["legal_action"]
    assert keyword_baseline([text], lexicon={"market_expansion": ("umbrella",)}) == ["market_expansion"]
    assert keyword_baseline([text]) == ["legal_action"]
