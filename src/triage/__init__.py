"""triage: tag news about counterfeit goods, paragraph by paragraph.

    import triage
    model = triage.load_model("models/triage.json")
    result = model.predict_article(text)          # ingest, label in context, tag
    result.tags, [p.label for p in result.paragraphs]
    model.predict_paragraphs(["Amazon removed 6 million listings."])
"""

__version__ = "0.1.0"

from triage.corpus import LABELS, load_labeled  # noqa: E402
from triage.ingest import ingest  # noqa: E402
from triage.predict import TriageModel, load_model  # noqa: E402


def train(*args, **kwargs):
    """Train and save a model (see triage.train.train); imported lazily, it is heavy."""
    from triage.train import train as _train

    return _train(*args, **kwargs)


__all__ = ["LABELS", "TriageModel", "ingest", "load_labeled", "load_model", "train", "__version__"]
