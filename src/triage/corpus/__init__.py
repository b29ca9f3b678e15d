"""Layer 2. Labelled files and the manifest: schema, loading, validation, split; the real-news set.

Owns: `LABELS`, the labelled CSVs' columns and provenance, near-duplicate pairs, the real-news pages.
May import: ingestion, layer 1.
"""
