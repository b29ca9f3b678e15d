"""The `triage` command: typer commands that parse options, call the library and print.

Data goes to stdout; progress, warnings and summaries go to stderr. Every error is one line
`error: ...` with the exit code of its class in errors.py; `--debug` shows the traceback.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from triage import __version__
from triage.errors import (
    EXIT_UNEXPECTED,
    EXIT_USAGE,
    BadInput,
    QualityFloorNotMet,
    TriageError,
    UsageError,
)


class _ReaderClosedThePipe(Exception):
    """Stdout's reader went away (`triage predict ... | head -1`): not an error."""


class _TriageGroup(typer.core.TyperGroup):
    """Lets a closed pipe reach `main`: click would turn the BrokenPipeError into exit 1
    before any handler of ours runs."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            raise _ReaderClosedThePipe() from None


app = typer.Typer(
    cls=_TriageGroup,
    name="triage",
    help="Tag news about counterfeit goods, paragraph by paragraph, with the topics analysts route by.",
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@dataclass
class Invocation:
    """What one call of `main` was asked besides its command (held by the call, not the module)."""

    debug: bool = False


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


class Split(StrEnum):
    test = "test"
    ood = "ood"
    ood_clean = "ood-clean"


class RealNewsPart(StrEnum):
    dev = "dev"
    dev_check = "dev-check"
    test = "test"


class ReportFormat(StrEnum):
    table = "table"
    json = "json"


class OutputFormat(StrEnum):
    table = "table"
    jsonl = "jsonl"
    csv = "csv"
    parquet = "parquet"
    html = "html"


class ReviewFormat(StrEnum):
    table = "table"
    jsonl = "jsonl"
    csv = "csv"


class Engine(StrEnum):
    local = "local"
    dask = "dask"


class Unit(StrEnum):
    article = "article"
    paragraph = "paragraph"


def say(message: str) -> None:
    """A message for people: stderr, so stdout stays data."""
    print(message, file=sys.stderr, flush=True)


@app.callback()
def main_options(
    context: typer.Context,
    debug: Annotated[bool, typer.Option("--debug", help="Show the full traceback of an error.")] = False,
    version: Annotated[
        bool, typer.Option("--version", help="Print the version and exit.", is_eager=True)
    ] = False,
) -> None:
    """Tag news about counterfeit goods, paragraph by paragraph.

    Example: triage predict data/raw/004_26175a559591074b.txt
    """
    if isinstance(context.obj, Invocation):  # run through `main` (not typer's test runner)
        context.obj.debug = debug
    if version:
        print(f"triage {__version__}")
        raise typer.Exit()


@app.command("train")
def train_command(
    data: DataOption = None,
    add: AddOption = None,
    manifest: ManifestOption = None,
    model: Annotated[
        Path | None,
        typer.Option(
            "--model",
            "-m",
            help="Card to write; an existing model there is replaced (that is what train is for). "
            "[default: $TRIAGE_MODEL, else $TRIAGE_ROOT/models/triage.json, else models/triage.json]",
            show_default=False,
        ),
    ] = None,
    no_authored: Annotated[
        bool,
        typer.Option(
            "--no-authored", help="Train on the seed paragraphs alone (no text written for the project)."
        ),
    ] = False,
    use_all: Annotated[
        bool,
        typer.Option(
            "--all", help="Fit on every row but ood (test rows too); held-out scores then mean nothing."
        ),
    ] = False,
    jobs: Annotated[
        int, typer.Option("--jobs", "-j", min=1, help="Parallel workers for leave-one-article-out.")
    ] = 2,
    semantic: Annotated[
        bool,
        typer.Option(
            "--semantic",
            help="Add sentence embeddings beside TF-IDF (the semantic extra: pip install -e '.[semantic]'); "
            "slower to train and to predict.",
        ),
    ] = False,
    if_stale: Annotated[
        bool,
        typer.Option(
            "--if-stale",
            help="Train only when --model is missing, written by another card schema or scikit-learn minor, "
            "trained with another encoder than the installed one, or with other --add files or older versions "
            "of them; without --add, add the files its card names (and --semantic when its card is semantic).",
        ),
    ] = False,
) -> None:
    """Fit the model on the train split (and the rows of each --add file), fit its thresholds
    and temperature on out-of-fold predictions of the seed and realistic articles and the
    added rows (5 groups), save it.

    Replaces the model at --model: the new model file is written first, then the card
    (the commit point); the old model file stays until the next train.

    Example: triage train --add mine.csv
    """
    from triage.evaluation.training import (
        CHOSEN_SETTINGS,
        SEMANTIC_SETTINGS,
        dropped_additions,
        recorded_semantic,
        stale_training,
        summary_lines,
        train,
    )
    from triage.paths import default_model_path

    model = model or default_model_path()
    add = list(add or [])
    if if_stale:
        semantic = semantic or recorded_semantic(model)
        reason, add = stale_training(model, add)
        if reason is None:
            say(f"{model} is current; not retraining (drop --if-stale to retrain anyway)")
            return
        say(f"training: {reason}" + (f"; adding {', '.join(map(str, add))}" if add else ""))
    for path in dropped_additions(model, add):
        say(f"note: the model at {model} was also trained on {path} (--add); this one is not")
    result = train(
        data,
        model,
        add=add,
        manifest_path=manifest,
        include_authored=not no_authored,
        use_all=use_all,
        n_jobs=jobs,
        settings=SEMANTIC_SETTINGS if semantic else CHOSEN_SETTINGS,
        progress=say,
    )
    for line in summary_lines(result.card):
        say(line)


@app.command("evaluate")
def evaluate_command(
    model: ModelOption = None,
    data: DataOption = None,
    add: Annotated[
        list[Path] | None,
        typer.Option(
            "--add",
            metavar="FILE",
            help="With --cv: your own labelled CSV to cross-validate with --data (repeatable), as "
            "`triage train --add` trains on it.",
            show_default=False,
        ),
    ] = None,
    manifest: ManifestOption = None,
    split: Annotated[
        Split,
        typer.Option(
            "--split",
            help="Rows to score: the held-out seed paragraphs, the realistic out-of-domain set, or the clean one.",
        ),
    ] = Split.test,
    cv: Annotated[
        bool,
        typer.Option(
            "--cv",
            help="Leave-one-article-out on the seed and realistic training articles instead (slow: one fit per article).",
        ),
    ] = False,
    folds: Annotated[
        int | None,
        typer.Option(
            "--folds",
            min=2,
            help="With --cv: hold the articles out in this many groups (what `triage train` uses: 5) instead of one by one.",
        ),
    ] = None,
    output_format: Annotated[
        ReportFormat, typer.Option("--format", help="table for people, json for programs.")
    ] = ReportFormat.table,
    min_macro_f1: Annotated[
        float | None,
        typer.Option("--min-macro-f1", min=0.0, max=1.0, help="Exit 5 if macro-F1 is below this floor."),
    ] = None,
    no_context: Annotated[
        bool, typer.Option("--no-context", help="Score paragraphs without article context.")
    ] = False,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Parallel workers for --cv.")] = 2,
    realnews: Annotated[
        RealNewsPart | None,
        typer.Option(
            "--realnews",
            help="Score whole cached real-news pages (data/realnews/) instead: dev (every choice is made "
            "here), dev-check (a slice no choice reads), or test (only with --final).",
            show_default=False,
        ),
    ] = None,
    final: Annotated[
        bool,
        typer.Option(
            "--final",
            help="With --realnews test: the one logged look at the test part (data/realnews/final_log.csv).",
        ),
    ] = False,
) -> None:
    """Score the model: per-label precision/recall/F1/support, macro-F1, confusion matrix,
    article-tag micro-F1, beside a majority and a keyword baseline on the same rows.

    Example: triage evaluate --split ood --format json; triage evaluate --realnews dev
    """
    from triage.evaluation.report import cross_validation_report, render_report, split_report

    if final and realnews != RealNewsPart.test:
        raise UsageError("--final goes with --realnews test (it logs a look at the test part)")
    if realnews is not None:
        from triage.evaluation.realnews_scoring import realnews_report, render_realnews
        from triage.model.predict import load_model

        report = realnews_report(load_model(model), realnews.value, final=final, progress=say)
        print(json.dumps(report, indent=2) if output_format == ReportFormat.json else render_realnews(report))
        if min_macro_f1 is not None and report["in_article_macro_f1"]["value"] < min_macro_f1:
            raise QualityFloorNotMet(
                f"in-article macro-F1 {report['in_article_macro_f1']['value']:.3f} is below the floor {min_macro_f1:.3f}"
            )
        return
    if add and not cv:
        raise UsageError("--add needs --cv (to score the model on your own file, give it as --data)")
    if cv:
        report = cross_validation_report(
            model,
            data,
            context=not no_context,
            n_jobs=jobs,
            progress=say,
            manifest_path=manifest,
            n_folds=folds,
            add=add or (),
        )
    else:
        report = split_report(model, data, split.value, context=not no_context, manifest_path=manifest)
    print(
        json.dumps(report, indent=2) if output_format == ReportFormat.json else render_report(report),
        end="\n",
    )
    if min_macro_f1 is not None and report["model"]["macro_f1"] < min_macro_f1:
        raise QualityFloorNotMet(
            f"macro-F1 {report['model']['macro_f1']:.3f} is below the floor {min_macro_f1:.3f}"
        )


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


@app.command("predict")
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
    from triage.batch.engine import BatchRequest, ScoreOptions, run_batch
    from triage.batch.writers import format_for_output
    from triage.readers.inputs import ReadOptions

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
    summary = run_batch(request, warn=_warner(strict), file_failed=_warner(strict, failure=True))
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
        warn=_warner(strict=False),
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
    from triage.batch.engine import journal_directory
    from triage.locking import lock_path

    return (output, journal_directory(output), lock_path(output))


@app.command("serve")
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
        from triage.web.serve import RequestLimits, serve
    except ModuleNotFoundError as exc:
        raise UsageError(f"triage serve needs {exc.name}: pip install -e '.[serve]'") from None
    limits = RequestLimits(max_bytes, max_articles, max_paragraphs, timeout)
    serve(model, host=host, port=port, limits=limits, workers=workers, progress=say)


@app.command("ingest")
def ingest_command(
    path: Annotated[
        str,
        typer.Argument(
            help="One article: .txt (optionally .gz), an .html/.htm page (its main text, as predict reads "
            "it), or - for stdin.",
            show_default=False,
        ),
    ],
    show_dropped: Annotated[
        bool,
        typer.Option("--show-dropped", help="Also list every dropped line and the rule that dropped it."),
    ] = False,
    encoding: Annotated[
        str | None, typer.Option("--encoding", help="Decode with this encoding instead of UTF-8.")
    ] = None,
    max_bytes: Annotated[
        int, typer.Option("--max-bytes", min=1, help="Refuse files larger than this.")
    ] = 20_000_000,
) -> None:
    """Show the title and paragraphs ingestion keeps, with their line spans: the article as
    `triage predict` reads and ingests it.

    Example: triage ingest data/raw/003_95466451ce915636.txt --show-dropped
    """
    from triage.batch.engine import ingest_record
    from triage.readers.inputs import ReadOptions, read_article

    record = read_article(path, ReadOptions(encoding=encoding, max_bytes=max_bytes), warn=_warner(False))
    article = ingest_record(record)
    print(f"title (line {article.title_line}): {article.title}" if article.title_line else _title(article))
    if record.lines_refer_to:
        print(f"(line numbers count lines of the page's {record.lines_refer_to}, as in predict's records)")
    for paragraph in article.paragraphs:
        print(f"[{paragraph.index}] lines {paragraph.first_line}-{paragraph.last_line}: {paragraph.text}")
    if show_dropped:
        for line in article.dropped:
            print(f"dropped line {line.line} ({line.rule}): {line.text.strip()}")


def _title(article) -> str:
    return f"title: {article.title}" if article.title else "title: (none found)"


@app.command("validate")
def validate_command(data: DataOption = None) -> None:
    """Check the labelled files against the schema; exit 3 naming the file, row and problem.

    Example: triage validate --data data/labeled
    """
    from triage.corpus.labeled import load_labeled
    from triage.paths import resolve_data

    data = resolve_data(data)
    rows = load_labeled(data)
    counts = rows.groupby(["source", "split"]).size()
    print(f"ok: {len(rows)} labelled rows in {data}")
    for (source, split), count in counts.items():
        print(f"  {source:<9} {split:<6} {count}")


class Strategy(StrEnum):
    margin = "margin"
    entropy = "entropy"
    random = "random"


class LabelSplit(StrEnum):
    train = "train"
    test = "test"


LabelDataOption = Annotated[
    Path,
    typer.Option(
        "--data",
        help="Your labelled CSV file: created when missing, every answer written to it at once.",
        show_default=False,
    ),
]
AnnotatorOption = Annotated[
    str,
    typer.Option(
        "--annotator", help="Your name, recorded with every label. [default: $USER]", show_default=False
    ),
]


def _annotator(name: str | None) -> str:
    return name or os.environ.get("USER") or "analyst"


@app.command("label")
def label_command(
    paths: Annotated[
        list[str] | None,
        typer.Argument(
            help="Articles to label: anything `triage predict` takes (not needed with --import).",
            show_default=False,
        ),
    ] = None,
    data: LabelDataOption = ...,  # type: ignore[assignment]
    model: ModelOption = None,
    strategy: Annotated[
        Strategy,
        typer.Option(
            "--strategy", help="Order of the queue: smallest top-two margin, highest entropy, or random."
        ),
    ] = Strategy.margin,
    seed: Annotated[int, typer.Option("--seed", help="Seed of --strategy random.")] = 0,
    annotator: AnnotatorOption = "",
    blind: Annotated[
        bool,
        typer.Option(
            "--blind", help="Hide the model's suggestion, also from --export (an independent second pass)."
        ),
    ] = False,
    split: Annotated[
        LabelSplit, typer.Option("--split", help="Split of the new rows: train, or test to score on.")
    ] = LabelSplit.train,
    export: Annotated[
        Path | None,
        typer.Option(
            "--export", help="Write the ranked queue with suggestions to this CSV instead of asking."
        ),
    ] = None,
    import_from: Annotated[
        Path | None,
        typer.Option("--import", help="Merge the filled-in labels of a CSV (an --export, or id,text,label)."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Let --export replace an existing file.")] = False,
    text_column: TextColumnOption = "text",
    id_column: IdColumnOption = None,
    encoding: EncodingOption = None,
) -> None:
    """Label your own articles, most uncertain paragraph first, into your own labelled file.

    Keys: 1-6 the labels, s skip, u undo, b back, q quit, ? the definitions. Paragraphs
    already in --data are left out, so running again resumes.

    Example: triage label articles/ --data mine.csv --annotator ana
    """
    from triage.annotation import queue as label

    who = _annotator(annotator)
    if import_from is not None and (paths or export is not None):
        raise UsageError("--import merges a filled-in file: give it no articles and no --export")
    if import_from is not None:
        summary = label.import_labels(import_from, data, annotator=who, split=split.value)
        say(
            f"merged {summary.merged} rows into {data} ({summary.already_labelled} already there, "
            f"{summary.unlabelled} without a label left out)"
        )
        return
    if not paths:
        raise BadInput("no input: give articles to label, or --import a filled-in queue")
    options = {"text_column": text_column, "id_column": id_column, "encoding": encoding}
    if export is not None:
        from triage.readers.inputs import check_output_target, write_output

        check_output_target(export, force)
        chosen, _, queue = label.labelling_queue(
            paths, data, model_path=model, strategy=strategy.value, seed=seed, warn=say, **options
        )
        from triage.untrusted import spreadsheet_csv

        frame = label.queue_frame(queue, chosen.short_sha, strategy.value, blind=blind)
        write_output(export, spreadsheet_csv(frame), force)
        say(f"wrote {len(queue)} paragraphs to {export}: fill in the label column, then --import it")
        return
    summary = label.label_interactively(
        paths,
        data,
        annotator=who,
        read_key=label.terminal_key_reader(),
        out=sys.stderr,
        model_path=model,
        strategy=strategy.value,
        seed=seed,
        blind=blind,
        split=split.value,
        warn=say,
        **options,
    )
    say(f"{summary.labelled} labelled, {summary.remaining} left in the queue; labels in {data}")


@app.command("review")
def review_command(
    data: DataOption = None,
    manifest: ManifestOption = None,
    model: ModelOption = None,
    top: Annotated[int, typer.Option("--top", min=1, help="List at most this many rows.")] = 20,
    output_format: Annotated[
        ReviewFormat,
        typer.Option(
            "--format", help="table for people; csv (fill in decision, new_label, then --apply) or jsonl."
        ),
    ] = ReviewFormat.table,
    folds: Annotated[
        int,
        typer.Option(
            "--folds",
            min=2,
            help="Hold the training articles (and the standalone paragraphs) out in this many groups.",
        ),
    ] = 5,
    loao: Annotated[
        bool, typer.Option("--loao", help="One article per fold instead (slow: one fit per article).")
    ] = False,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Parallel workers for the folds.")] = 1,
    apply: Annotated[
        Path | None,
        typer.Option(
            "--apply", help="Record the decisions (keep/relabel) of a filled-in review CSV in --data."
        ),
    ] = None,
    annotator: AnnotatorOption = "",
) -> None:
    """List training rows whose label the model, trained without them, confidently
    contradicts (confident learning: README); --apply records a person's decisions on them.

    Example: triage review --data data/labeled --top 20
    """
    from triage.annotation import review

    if apply is not None:
        applied = review.apply_decisions(apply, data, reviewer=_annotator(annotator))
        say(
            f"recorded {applied.relabelled} relabelled and {applied.kept} kept in "
            f"{', '.join(map(str, applied.files))}; log: {applied.log_path}"
        )
        return
    result = review.review_rows(
        data,
        model_path=model,
        n_folds=None if loao else folds,
        n_jobs=jobs,
        manifest_path=manifest,
        progress=say,
    )
    rows = result.rows
    if result.flagged:
        say(f"{len(rows)} rows confidently contradicted; showing {min(top, len(rows))}")
    else:
        say(f"{review.too_few_message(result.too_few)}; showing {min(top, len(rows))} of {len(rows)}")
    shown = rows.head(top)
    if output_format == ReviewFormat.csv:
        from triage.untrusted import spreadsheet_csv

        sys.stdout.write(spreadsheet_csv(shown))
    elif output_format == ReviewFormat.jsonl:
        sys.stdout.write(shown.to_json(orient="records", lines=True, force_ascii=False))
    elif result.flagged:
        sys.stdout.write(review.render_review_table(shown))
    else:
        sys.stdout.write(review.render_plain_table(shown))
    sys.stdout.flush()


def _warner(strict: bool, failure: bool = False):
    def warn(message: str) -> None:
        if strict:
            raise BadInput(f"{message} (--strict)")
        say(f"warning: {message}" + ("; going on with the other inputs" if failure else ""))

    return warn


# Python's csv module holds one field-size limit for the whole process (csv.field_size_limit),
# so it is set once, here where the CLI starts, never by a reader per file: a field up to
# the default --max-bytes is read (and skipped with a warning when over the command's own
# --max-bytes); a longer one stops its file, named, with the rows before it kept (the csv
# module cannot find the next row inside an over-long quoted field).
CSV_FIELD_LIMIT = 20_000_000


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app, turn errors into one line and an exit code."""
    import csv

    csv.field_size_limit(CSV_FIELD_LIMIT)
    command = typer.main.get_command(app)
    invocation = Invocation()  # --debug in this call only, however often main runs in a process
    try:
        result = command.main(args=argv, prog_name="triage", standalone_mode=False, obj=invocation)
        if result == 130:  # typer turns Ctrl-C into Exit(130) and returns that code here
            say("error: interrupted")
            return 130
        sys.stdout.flush()  # a closed pipe shows here when the last data was still buffered
        return 0
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        say("error: aborted")
        return 130
    except typer.TyperException as exc:  # usage errors: unknown option, bad value, missing argument
        say(f"error: {exc.format_message()}")
        return EXIT_USAGE
    except TriageError as exc:
        if invocation.debug:
            raise
        say(f"error: {exc}")
        return exc.exit_code
    except (BrokenPipeError, _ReaderClosedThePipe):
        _silence_stdout()
        return 0
    except KeyboardInterrupt:
        say("error: interrupted")
        return 130
    except Exception as exc:
        if invocation.debug:
            raise
        say(f"error: unexpected {type(exc).__name__}: {exc} (for the traceback: {_debug_command(argv)})")
        return EXIT_UNEXPECTED


def _debug_command(argv: list[str] | None) -> str:
    """The command line that reruns this one with the traceback: --debug goes before the command."""
    import shlex

    arguments = sys.argv[1:] if argv is None else argv
    return shlex.join(["triage", "--debug", *arguments])


def _silence_stdout() -> None:
    """After the reader closed the pipe, point stdout at /dev/null so exit does not complain."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def run() -> None:
    sys.exit(main())
