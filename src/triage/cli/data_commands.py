"""triage ingest, validate, label and review: the commands about the data and its labels."""

from __future__ import annotations

import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from triage.cli.common import DataOption, ManifestOption, ModelOption, say, warner
from triage.cli.predict_commands import EncodingOption, IdColumnOption, TextColumnOption
from triage.errors import (
    BadInput,
    UsageError,
)


class ReviewFormat(StrEnum):
    table = "table"
    jsonl = "jsonl"
    csv = "csv"


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
    from triage.batch.scoring import ingest_record
    from triage.readers.files import ReadOptions
    from triage.readers.inputs import read_article

    record = read_article(path, ReadOptions(encoding=encoding, max_bytes=max_bytes), warn=warner(False))
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
    from triage.annotation import queue as label_queue
    from triage.annotation import session as label_session
    from triage.annotation import spreadsheet as label_spreadsheet

    who = _annotator(annotator)
    if import_from is not None and (paths or export is not None):
        raise UsageError("--import merges a filled-in file: give it no articles and no --export")
    if import_from is not None:
        summary = label_spreadsheet.import_labels(import_from, data, annotator=who, split=split.value)
        say(
            f"merged {summary.merged} rows into {data} ({summary.already_labelled} already there, "
            f"{summary.unlabelled} without a label left out)"
        )
        return
    if not paths:
        raise BadInput("no input: give articles to label, or --import a filled-in queue")
    options = {"text_column": text_column, "id_column": id_column, "encoding": encoding}
    if export is not None:
        from triage.readers.files import check_output_target, write_output

        check_output_target(export, force)
        chosen, _, queue = label_queue.labelling_queue(
            paths, data, model_path=model, strategy=strategy.value, seed=seed, warn=say, **options
        )
        from triage.untrusted import spreadsheet_csv

        frame = label_spreadsheet.queue_frame(queue, chosen.short_sha, strategy.value, blind=blind)
        write_output(export, spreadsheet_csv(frame), force)
        say(f"wrote {len(queue)} paragraphs to {export}: fill in the label column, then --import it")
        return
    summary = label_session.label_interactively(
        paths,
        data,
        annotator=who,
        read_key=label_session.terminal_key_reader(),
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
    from triage.annotation import decisions, review

    if apply is not None:
        applied = decisions.apply_decisions(apply, data, reviewer=_annotator(annotator))
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
