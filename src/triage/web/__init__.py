"""Layer 5. What people look at: the HTML report writer and templates, the terminal table,
the local page (`triage serve`).

May import: batch, model, readers, ingestion, layer 1.
"""
