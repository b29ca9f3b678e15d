"""triage predict and triage serve: parse the options, call the batch engine or the page, print the summary."""

from __future__ import annotations

import sys
from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from triage.cli.common import ModelOption, say, warner
from triage.errors import (
    BadInput,
    UsageError,
)


class OutputFormat(StrEnum):
    table = "table"
    jsonl = "jsonl"
    csv = "csv"
    parquet = "parquet"
    html = "html"


class Engine(StrEnum):
    local = "local"
    dask = "dask"


class Unit(StrEnum):
    article = "article"
    paragraph = "paragraph"


# The options of `triage predict`, named here so the command reads as what it does.
PathsArgument = Annotated[
    list[str],
    typer.Argument(
        help="Articles: .txt (optionally .gz), .html/.htm pages, .csv/.jsonl (optionally .gz) or .parquet files of rows, "
        "directories of them (searched recursively), or - for stdin.",
        show_default=False,
    ),
]
FormatOption = Annotated[
    OutputFormat | None,
    typer.Option(
        "--format",
        help="table (people; default on a terminal), jsonl (default otherwise), csv, parquet (with -o) or html "
        "[default: by -o's suffix].",
        show_default=False,
    ),
]
UnitOption = Annotated[
    Unit,
    typer.Option(
        "--unit",
        help="article: ingest, label in context, tag; paragraph: each input is one paragraph as it is.",
    ),
]
ThresholdOption = Annotated[
    float | None,
    typer.Option(
        "--threshold", min=0.0, max=1.0, help="Tag threshold for every label, instead of the card's."
    ),
]
ExplainOption = Annotated[
    bool, typer.Option("--explain", help="Add the terms that pushed each paragraph to its label.")
]
OutputOption = Annotated[
    str | None,
    typer.Option(
        "--output",
        "-o",
        help="Write here (.jsonl, .csv, .parquet, .html) instead of stdout; it appears when the run completes, "
        "finished chunks wait in OUT.partial/. With --engine dask: a directory, a path or an fsspec URL.",
        show_default=False,
    ),
]
ForceOption = Annotated[
    bool,
    typer.Option(
        "--force", help="Let -o replace an existing file (and discard an interrupted run's journal)."
    ),
]
ResumeOption = Annotated[
    bool,
    typer.Option("--resume", help="Continue an interrupted run from OUT.partial/ (same inputs and options)."),
]
StrictOption = Annotated[
    bool,
    typer.Option("--strict", help="Exit 3 on the first skipped row or file instead of warning."),
]
NoContextOption = Annotated[
    bool, typer.Option("--no-context", help="Label article paragraphs without article context.")
]
TextColumnOption = Annotated[
    str, typer.Option("--text-column", help="Text column of row input (csv, jsonl, parquet).")
]
IdColumnOption = Annotated[
    str | None,
    typer.Option(
        "--id-column",
        help="Id column of row input (must exist) [default: 'id' when present, else FILE:ROW].",
    ),
]
TitleColumnOption = Annotated[
    str | None,
    typer.Option(
        "--title-column", help="Title column of row input (must exist) [default: 'title' when present]."
    ),
]
KeepColumnsOption = Annotated[
    str | None,
    typer.Option(
        "--keep-columns",
        help="Input columns to carry into the output, comma-separated (e.g. url,date).",
        show_default=False,
    ),
]
EncodingOption = Annotated[
    str | None,
    typer.Option("--encoding", help="Decode input with this encoding (e.g. gbk) instead of UTF-8."),
]
MaxBytesOption = Annotated[
    int, typer.Option("--max-bytes", min=1, help="Refuse (skip) any one article larger than this.")
]
JobsOption = Annotated[
    int, typer.Option("--jobs", "-j", min=1, help="Score chunks in this many processes; output is identical.")
]
NoRecurseOption = Annotated[
    bool, typer.Option("--no-recurse", help="Read only the top level of input directories.")
]
QuietOption = Annotated[
    bool, typer.Option("--quiet", "-q", help="No progress line and no summary on stderr.")
]
EngineOption = Annotated[
    Engine,
    typer.Option(
        "--engine", help="local: this machine; dask: a Dask cluster (Parquet/JSON lines in, Parquet out)."
    ),
]
SchedulerOption = Annotated[
    str | None,
    typer.Option(
        "--scheduler", help="With --engine dask: the scheduler's address [default: a local cluster]."
    ),
]


def predict_command(
    ctx: typer.Context,
    paths: PathsArgument,
    model: ModelOption = None,
    output_format: FormatOption = None,
    unit: UnitOption = Unit.article,
    threshold: ThresholdOption = None,
    explain: ExplainOption = False,
    output: OutputOption = None,
    force: ForceOption = False,
    resume: ResumeOption = False,
    strict: StrictOption = False,
    no_context: NoContextOption = False,
    text_column: TextColumnOption = "text",
    id_column: IdColumnOption = None,
    title_column: TitleColumnOption = None,
    keep_columns: KeepColumnsOption = None,
    encoding: EncodingOption = None,
    max_bytes: MaxBytesOption = 20_000_000,
    jobs: JobsOption = 1,
    no_recurse: NoRecurseOption = False,
    quiet: QuietOption = False,
    engine: EngineOption = Engine.local,
    scheduler: SchedulerOption = None,
) -> None:
    """Label each paragraph and tag each article, streaming any number of inputs.

    Example: triage predict data/raw/004_26175a559591074b.txt --format table
    """
    from triage.batch.engine import BatchRequest, run_batch
    from triage.batch.scoring import ScoreOptions
    from triage.batch.writers import format_for_output
    from triage.readers.files import ReadOptions

    kept = _kept_columns(keep_columns)
    read_options = ReadOptions(
        encoding=encoding,
        max_bytes=max_bytes,
        text_column=text_column,
        id_column=id_column,
        title_column=title_column,
        keep_columns=kept,
        recurse=not no_recurse,
    )
    score_options = ScoreOptions(unit.value, not no_context, threshold, explain)
    if engine == Engine.dask:
        _refuse_what_dask_does_not_use(ctx, output_format)
        _predict_on_dask(paths, output, model, read_options, score_options, scheduler, force, quiet)
        return
    if scheduler is not None:
        raise UsageError("--scheduler needs --engine dask")
    output_path = Path(output) if output is not None else None
    read_options = replace(read_options, exclude=_written_by_this_run(output_path))
    chosen = format_for_output(
        output_path, output_format.value if output_format else None, sys.stdout.isatty()
    )
    from triage.web.writers import PRESENTATION_WRITERS

    request = BatchRequest(
        paths,
        read_options,
        score_options,
        chosen,
        output_path,
        model,
        force,
        resume,
        jobs,
        show_progress=not quiet and sys.stderr.isatty(),
        writers=PRESENTATION_WRITERS,
    )
    summary = run_batch(request, warn=warner(strict), file_failed=warner(strict, failure=True))
    if not quiet:
        say(summary.line(unit.value) + (f"; wrote {output}" if output else ""))
    if summary.failed_files:
        from triage.wording import counted

        raise BadInput(
            f"{counted(len(summary.failed_files), 'file')} could not be read to the end: {summary.failed_files[0]}"
        )


def _predict_on_dask(paths, output, model, read_options, score_options, scheduler, force, quiet) -> None:
    """`triage predict --engine dask`: Parquet partitions under -o, scored on a cluster."""
    from triage.batch.distributed import run_dask

    if output is None:
        raise UsageError("--engine dask needs -o DIRECTORY for its Parquet partitions")
    run_dask(
        paths,
        output,
        model,
        read_options,
        score_options,
        scheduler=scheduler,
        force=force,
        say=(lambda message: None) if quiet else say,
        warn=warner(strict=False),
    )


# Options of `triage predict` that --engine dask does not use (its output is Parquet
# partitions of the CSV columns, read and written by the cluster): named, never ignored.
NOT_FOR_DASK = {
    "resume": "--resume",
    "jobs": "--jobs",
    "strict": "--strict",
    "max_bytes": "--max-bytes",
    "no_recurse": "--no-recurse",
    "explain": "--explain",
}


def _refuse_what_dask_does_not_use(ctx: typer.Context, output_format) -> None:
    given = [  # by the source's name: typer carries its own copy of click's ParameterSource
        option
        for name, option in NOT_FOR_DASK.items()
        if ctx.get_parameter_source(name).name not in ("DEFAULT", "DEFAULT_MAP")
    ]
    if output_format is not None and output_format != OutputFormat.parquet:
        given.append(f"--format {output_format.value}")
    if given:
        raise UsageError(
            f"--engine dask does not take {', '.join(given)}: those are the local engine's options "
            "(the cluster writes Parquet partitions of the csv columns, in its own parallelism)"
        )


def _kept_columns(value: str | None) -> tuple[str, ...]:
    """The names of --keep-columns, once each (the library refuses names the output uses)."""
    return tuple(dict.fromkeys(column.strip() for column in (value or "").split(",") if column.strip()))


def _written_by_this_run(output: Path | None) -> tuple[Path, ...]:
    if output is None:
        return ()
    from triage.batch.journal import journal_directory
    from triage.locking import lock_path

    return (output, journal_directory(output), lock_path(output))


def serve_command(
    host: Annotated[
        str,
        typer.Option(
            "--host", help="Address to listen on; other than loopback, anyone who can reach it may use it."
        ),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = 8000,
    model: ModelOption = None,
    max_bytes: Annotated[
        int, typer.Option("--max-bytes", min=1, help="Refuse requests larger than this (HTTP 413).")
    ] = 5_000_000,
    max_articles: Annotated[
        int,
        typer.Option("--max-articles", min=1, help="Refuse requests of more articles than this (HTTP 413)."),
    ] = 2_000,
    max_paragraphs: Annotated[
        int,
        typer.Option(
            "--max-paragraphs", min=1, help="Refuse requests of more paragraphs than this (HTTP 413)."
        ),
    ] = 20_000,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout", min=0.001, help="Answer 503 once a request has taken this many seconds of work."
        ),
    ] = 60.0,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            help="Processes answering requests at once; each loads its own copy of the model.",
        ),
    ] = 1,
) -> None:
    """Serve a page where you paste an article or upload files (.txt, .csv, .jsonl, .html) and see
    the html report; POST /api/predict takes JSON articles and POST /api/upload files, both
    answering with predict's jsonl records (spec: /openapi.json). Needs the serve extra:
    pip install -e '.[serve]'.

    Example: triage serve --port 8000
    """
    from triage.errors import UsageError

    try:
        from triage.web.limits import RequestLimits
        from triage.web.serve import serve
    except ModuleNotFoundError as exc:
        raise UsageError(f"triage serve needs {exc.name}: pip install -e '.[serve]'") from None
    limits = RequestLimits(max_bytes, max_articles, max_paragraphs, timeout)
    serve(model, host=host, port=port, limits=limits, workers=workers, progress=say)
