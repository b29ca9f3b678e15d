"""Layer 5. People labelling: the label queue and its file, the label-error review.

May import: evaluation, batch, model, corpus, readers, ingestion, layer 1.
"""
