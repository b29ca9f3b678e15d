"""Layer 2. One reader per input format, directory walking, and the input-record iterator.

Owns: what `triage predict` accepts (txt, csv, jsonl, parquet, html, stdin) and how it is read.
May import: ingestion, layer 1.
"""
