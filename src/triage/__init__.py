"""triage: tag news about counterfeit goods, paragraph by paragraph.

    import triage
    model = triage.load_model("models/triage.json")
    result = model.predict_article(text)          # ingest, label in context, tag
    result.tags, [p.label for p in result.paragraphs]
    model.predict_paragraphs(["Amazon removed 6 million listings."])

Names are imported on first use, so `import triage` (and `triage --help`) stays quick.
No public name is also a submodule's name (the modules are `ingestion`, `training`,
`evaluation`): importing a submodule sets the package attribute of its name, which would
replace the function.
"""

__version__ = "0.1.0"

_PUBLIC = {
    "LABELS": ("triage.corpus.labeled", "LABELS"),
    "load_labeled": ("triage.corpus.labeled", "load_labeled"),
    "ingest": ("triage.ingestion.article", "ingest"),
    "load_model": ("triage.model.predict", "load_model"),
    "TriageModel": ("triage.model.predict", "TriageModel"),
    "train": ("triage.evaluation.training", "train"),
    "evaluate": ("triage.evaluation.report", "split_report"),
}


def __getattr__(name: str):
    if name in _PUBLIC:
        from importlib import import_module

        module, attribute = _PUBLIC[name]
        return getattr(import_module(module), attribute)
    raise AttributeError(f"module 'triage' has no attribute {name!r}")


__all__ = [*_PUBLIC, "__version__"]
