"""Layer 4. Scores, baselines, folds, the training run, reports, the real-news measurements.

Owns: how a model is measured and chosen (`train` chooses on out-of-fold scores, so it lives here).
May import: model, corpus, ingestion, layer 1.
"""
