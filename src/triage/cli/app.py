"""The `triage` command: typer commands that parse options, call the library and print.

Data goes to stdout; progress, warnings and summaries go to stderr. Every error is one line
`error: ...` with the exit code of its class in errors.py; `--debug` shows the traceback.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Annotated

import typer

from triage import __version__
from triage.cli.common import say
from triage.cli.data_commands import ingest_command, label_command, review_command, validate_command
from triage.cli.model_commands import evaluate_command, train_command
from triage.cli.predict_commands import predict_command, serve_command
from triage.errors import (
    EXIT_UNEXPECTED,
    EXIT_USAGE,
    TriageError,
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


# The commands, in the order --help lists them: each module parses its options and calls the library.
app.command("train")(train_command)
app.command("evaluate")(evaluate_command)
app.command("predict")(predict_command)
app.command("serve")(serve_command)
app.command("ingest")(ingest_command)
app.command("validate")(validate_command)
app.command("label")(label_command)
app.command("review")(review_command)


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
