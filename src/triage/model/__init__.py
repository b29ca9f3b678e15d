"""Layer 3. The model: features, the pipeline and its card, article context, tags, predict.

Owns: one scikit-learn object from text to probabilities, its file and card, `TriageModel`.
May import: ingestion, layer 1.
"""
