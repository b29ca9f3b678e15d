"""A model is two files: a JSON card people and programs can read and a content-addressed skops file beside it. Loading never runs code from the file: the card must name a .skops file whose sha256 matches, and every type the file would build must be on ALLOWED_TYPES, checked before anything is built."""

from __future__ import annotations

import copy
import hashlib
import json
import re
from pathlib import Path
from typing import Any

from triage.atomic import atomic_write_bytes, atomic_write_text
from triage.errors import ModelRefused
from triage.model.pipeline import sha256_file

CARD_FORMAT = "triage-model-card/1"
# Bumped whenever the card or the estimator changes shape: a card of another schema is
# refused (and retrained by `triage train --if-stale`, which `make run` uses).
CARD_SCHEMA = 5
DEFAULT_MODEL_PATH = Path("models/triage.json")
MODEL_FILE_PATTERN = re.compile(r"^triage\.[0-9a-f]{12}\.skops$")


# --- the allowlist ----------------------------------------------------------------------
# Every type a triage model file contains, no more (tests/test_model.py compares this list
# with the schema of a trained file, both ways). Loading refuses a file that would build
# any other type, before skops builds anything: the types skops trusts by its own defaults
# (every scikit-learn estimator, OrderedDict, ...) too, not only those it distrusts.
ALLOWED_TYPES = frozenset(
    {
        "builtins.dict",
        "builtins.list",
        "builtins.str",
        "builtins.tuple",
        "numpy.float32",
        "numpy.ndarray",
        "sklearn.feature_extraction.text.TfidfTransformer",
        "sklearn.linear_model._logistic.LogisticRegression",
        "sklearn.pipeline.FeatureUnion",
        "sklearn.pipeline.Pipeline",
        "triage.model.features.FastTfidfVectorizer",
        "triage.model.context.ArticleContextModel",
    }
)


def dumps_model(model) -> bytes:
    import skops.io as sio

    return sio.dumps(model_file_content(model))


def model_file_content(model):
    """What the model file holds: the model itself, except that a paragraph model which
    brings code of another package (the semantic model's encoder) is replaced by its
    `model_file_parts()`, types the allowlist already has; loading rebuilds it."""
    parts = getattr(getattr(model, "paragraph_model", None), "model_file_parts", None)
    if parts is None:
        return model
    stored = copy.copy(model)
    stored.paragraph_model = parts()
    return stored


# --- saving: new model file, then the card (the commit point), then the old file goes ---
def _write_model_file(directory: Path, data: bytes) -> Path:
    digest = hashlib.sha256(data).hexdigest()
    path = directory / f"triage.{digest[:12]}.skops"
    if not (path.exists() and sha256_file(path) == digest):
        atomic_write_bytes(path, data)
    return path


def _commit_card(card_path: Path, card: dict) -> None:
    atomic_write_text(card_path, json.dumps(card, indent=2, sort_keys=False, ensure_ascii=False) + "\n")


def _remove_stale_model_file(directory: Path, stale_name: str | None, kept_names: set[str]) -> None:
    if stale_name and stale_name not in kept_names and MODEL_FILE_PATTERN.match(stale_name):
        (directory / stale_name).unlink(missing_ok=True)


def save_model(model, card: dict, card_path: Path | str = DEFAULT_MODEL_PATH) -> dict:
    """Save `model` and its card; a kill at any moment leaves the old or the new model loadable.

    The model file the card named until now stays until the next save (the card records it
    as `previous_model_file`): a `predict` that read the old card a moment before this save
    still finds the file it names. The one before it goes."""
    card_path = Path(card_path)
    directory = card_path.parent
    directory.mkdir(parents=True, exist_ok=True)
    current_name, previous_name = _model_file_names(card_path)
    data = dumps_model(model)
    model_path = _write_model_file(directory, data)
    kept = current_name if current_name != model_path.name else previous_name
    card = {
        **card,
        "format": CARD_FORMAT,
        "schema": CARD_SCHEMA,
        "model_file": {"name": model_path.name, "sha256": hashlib.sha256(data).hexdigest()},
        "previous_model_file": kept,
    }
    _commit_card(card_path, card)
    for stale_name in (current_name, previous_name):
        _remove_stale_model_file(directory, stale_name, {model_path.name, kept})
    return card


def _model_file_names(card_path: Path) -> tuple[str | None, str | None]:
    """(the model file the card at `card_path` names, the one it kept from the save before)."""
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
        return card["model_file"]["name"], card.get("previous_model_file")
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None, None


# --- loading ------------------------------------------------------------------------------
RETRAIN = "retrain with `triage train`"


def read_card(card_path: Path | str) -> dict:
    """The card at `card_path`, or ModelRefused saying why it is not one."""
    card_path = Path(card_path)
    if not card_path.exists():
        raise ModelRefused(f"no model at {card_path}: {RETRAIN} (or pass --model / set TRIAGE_MODEL)")
    if card_path.is_dir():
        raise ModelRefused(
            f"{card_path} is a directory, not a model card (the JSON file `triage train` writes)"
        )
    try:
        with open(card_path, encoding="utf-8") as stream:
            card = json.loads(stream.read(1 << 22))
    except (UnicodeDecodeError, ValueError):
        raise ModelRefused(
            f"{card_path} is not a triage model card (expected the JSON card `triage train` writes)"
        ) from None
    except OSError as exc:
        raise ModelRefused(f"cannot read model card {card_path}: {exc.strerror}") from None
    if not isinstance(card, dict) or card.get("format") != CARD_FORMAT:
        raise ModelRefused(f"{card_path} is not a triage model card (no format {CARD_FORMAT!r})")
    return card


def load_model_file(card_path: Path | str) -> tuple[Any, dict]:
    """The estimator a card names, after checking its name, hash, versions and types."""
    card_path = Path(card_path)
    card = read_card(card_path)
    model_file = card.get("model_file") or {}
    name = str(model_file.get("name", ""))
    if not MODEL_FILE_PATTERN.match(name):
        raise ModelRefused(f"{card_path}: model file {name!r} is not a triage .skops file; {RETRAIN}")
    path = card_path.parent / name
    if not path.is_file():
        raise ModelRefused(f"{card_path}: its model file {name} is missing; {RETRAIN}")
    try:
        data = path.read_bytes()  # read once: these bytes are hashed, audited and loaded
    except OSError as exc:
        raise ModelRefused(f"cannot read model file {path}: {exc.strerror or exc}") from None
    if hashlib.sha256(data).hexdigest() != model_file.get("sha256"):
        raise ModelRefused(
            f"{path}: bytes differ from the sha256 its card records (changed or truncated); {RETRAIN}"
        )
    _check_versions(card, card_path)
    if "encoder" in card:  # the semantic model: the encoder comes from the installed package
        from triage.model.semantic import check_encoder, restore

        check_encoder(card["encoder"], card_path)
        return restore(_load_skops(data, path), card, card_path), card
    estimator = _load_skops(data, path)
    if isinstance(getattr(estimator, "paragraph_model", None), dict):
        raise ModelRefused(
            f"{card_path}: its model file holds a semantic model but the card names no encoder"
        )
    return estimator, card


def stale_reason(card_path: Path | str) -> str | None:
    """Why the model at `card_path` must be retrained (missing, unreadable, another card
    schema or scikit-learn minor, another encoder than the installed one), or None when it is
    current. Cheap: reads only the card (and hashes a semantic model's encoder file)."""
    try:
        card = read_card(card_path)
        _check_versions(card, Path(card_path))
        if "encoder" in card:
            from triage.model.semantic import check_encoder

            check_encoder(card["encoder"], card_path)
    except ModelRefused as exc:
        return str(exc)
    return None


def _check_versions(card: dict, card_path: Path) -> None:
    import sklearn

    if card.get("schema") != CARD_SCHEMA:
        raise ModelRefused(
            f"{card_path}: card schema {card.get('schema', 1)}, this triage reads schema {CARD_SCHEMA} "
            f"(the model was written by another version); {RETRAIN}"
        )
    trained = str(card.get("versions", {}).get("scikit-learn", ""))
    if trained.split(".")[:2] != sklearn.__version__.split(".")[:2]:
        raise ModelRefused(
            f"{card_path}: saved with scikit-learn {trained or 'unknown'}, this is {sklearn.__version__}; {RETRAIN}"
        )


def skops_types(data: bytes) -> set[str]:
    """Every type the skops file `data` would build ("module.Class"), read from its schema.

    skops' own audit (get_untrusted_types) names only the types it does not trust by default;
    this lists all of them, so the allowlist is the whole rule."""
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        schema = json.loads(archive.read("schema.json"))
    found: set[str] = set()
    nodes = [schema]
    while nodes:
        node = nodes.pop()
        if isinstance(node, dict):
            if "__class__" in node:
                found.add(f"{node.get('__module__', '?')}.{node['__class__']}")
            nodes.extend(node.values())
        elif isinstance(node, list):
            nodes.extend(node)
    return found


# Model files written before the folders (triage 0.1: triage.model, triage.features) name the
# classes by their old modules; loading reads those names as today's, so such a file needs no
# retraining. Only these two names are read differently: every other type is refused as before.
OLD_TYPE_NAMES = {
    "triage.model.ArticleContextModel": "triage.model.context.ArticleContextModel",
    "triage.features.FastTfidfVectorizer": "triage.model.features.FastTfidfVectorizer",
}


def with_current_type_names(data: bytes) -> bytes:
    """`data` (a skops file) with OLD_TYPE_NAMES read as today's names: the schema's modules
    rewritten, every other member of the archive copied as it is."""
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        schema = json.loads(archive.read("schema.json"))
        renamed, nodes = 0, [schema]
        while nodes:
            node = nodes.pop()
            if isinstance(node, dict):
                old = f"{node.get('__module__')}.{node.get('__class__')}"
                if old in OLD_TYPE_NAMES:
                    node["__module__"] = OLD_TYPE_NAMES[old].rsplit(".", 1)[0]
                    renamed += 1
                nodes.extend(node.values())
            elif isinstance(node, list):
                nodes.extend(node)
        if not renamed:
            return data
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as copy:
            for member in archive.infolist():
                content = json.dumps(schema) if member.filename == "schema.json" else archive.read(member)
                copy.writestr(member, content)
    return buffer.getvalue()


def _load_skops(data: bytes, path: Path):
    import skops.io as sio

    try:
        data = with_current_type_names(data)
        types = skops_types(data)
        untrusted = set(sio.get_untrusted_types(data=data))
    except Exception as exc:  # not a zip, no schema, corrupt: all mean "not a skops file"
        raise ModelRefused(f"{path} is not a readable skops file ({type(exc).__name__}); {RETRAIN}") from None
    refused = sorted((types | untrusted) - ALLOWED_TYPES)
    if refused:
        raise ModelRefused(
            f"{path} contains types outside the allowlist: {', '.join(refused[:5])}; refusing to load it"
        )
    try:
        return sio.loads(data, trusted=sorted(untrusted))
    except Exception as exc:
        raise ModelRefused(f"{path} could not be loaded ({type(exc).__name__}); {RETRAIN}") from None
