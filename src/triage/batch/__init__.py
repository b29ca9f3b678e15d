"""Layer 4. The batch engine: chunks, --jobs, journal and --resume, near-duplicates, dask,
the writer interface and the data writers (jsonl, csv, parquet).

Presentation writers (html, table) live in `web/` and reach the engine through the writer
interface, passed in by `cli/`; nothing here imports `web/`.
May import: model, readers, ingestion, corpus, layer 1.
"""
