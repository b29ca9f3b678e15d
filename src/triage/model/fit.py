"""Fitting the pipeline the settings ask for: TF-IDF alone, or with the semantic model around it."""

from __future__ import annotations

from triage.model.pipeline import Settings, build_pipeline


def fit_pipeline(settings: Settings, texts, labels):
    """The fitted paragraph model for `settings`: the TF-IDF pipeline, or with a
    `sentence_weight` the semantic model around it (triage.model.semantic)."""
    if settings.sentence_weight is not None:
        from triage.model.semantic import fit_semantic_model

        return fit_semantic_model(settings, list(texts), list(labels))
    return build_pipeline(settings).fit(list(texts), list(labels))
