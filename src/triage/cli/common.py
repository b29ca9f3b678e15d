"""What every command shares: the options that name a model and data, say() for people, the warning printer."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from triage.errors import (
    BadInput,
)

ModelOption = Annotated[
    Path | None,
    typer.Option(
        "--model",
        "-m",
        help="Model card to use. [default: $TRIAGE_MODEL, else $TRIAGE_ROOT/models/triage.json, else models/triage.json]",
        show_default=False,
    ),
]
DataOption = Annotated[
    Path | None,
    typer.Option(
        "--data",
        help="Labelled folder (data/labeled/README.md) or one labelled CSV; by default the one in "
        "$TRIAGE_ROOT, else in the working directory. [default: data/labeled]",
        show_default=False,
    ),
]
ManifestOption = Annotated[
    Path | None,
    typer.Option(
        "--manifest",
        help="Article manifest (sources, titles); the default is looked for under $TRIAGE_ROOT, then the "
        "working directory, and none is needed for your own --data. [default: data/articles.csv]",
        show_default=False,
    ),
]
AddOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--add",
        metavar="FILE",
        help="Your own labelled CSV to use besides --data (repeatable): simple-form rows without a split "
        "column are training rows, rows without an article_id standalone paragraphs.",
        show_default=False,
    ),
]


def say(message: str) -> None:
    """A message for people: stderr, so stdout stays data."""
    print(message, file=sys.stderr, flush=True)


def warner(strict: bool, failure: bool = False):
    def warn(message: str) -> None:
        if strict:
            raise BadInput(f"{message} (--strict)")
        say(f"warning: {message}" + ("; going on with the other inputs" if failure else ""))

    return warn
