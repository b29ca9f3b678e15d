"""The errors a user can cause, each with the exit code the CLI maps it to.

The library raises these; `cli.py` prints `error: <message>` on one line and exits with
`exit_code`. Anything else is a bug (exit 1, traceback only with `--debug`).
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_USAGE = 2
EXIT_BAD_INPUT = 3
EXIT_MODEL_REFUSED = 4
EXIT_QUALITY_FLOOR = 5


class TriageError(Exception):
    """Base of every error meant for the user; the message is one line."""

    exit_code = EXIT_UNEXPECTED


class UsageError(TriageError):
    """An option value that cannot work (a bad threshold, an unknown format)."""

    exit_code = EXIT_USAGE


class BadInput(TriageError):
    """Input data that is missing, empty, unreadable, unsupported or invalid; an -o target
    that exists without --force or cannot be written; a file another triage process is
    writing (locking.py)."""

    exit_code = EXIT_BAD_INPUT


class ModelRefused(TriageError):
    """A model card or file that is missing, foreign, tampered with, or unsafe to load."""

    exit_code = EXIT_MODEL_REFUSED


class QualityFloorNotMet(TriageError):
    """`triage evaluate --min-macro-f1` found the score below the floor."""

    exit_code = EXIT_QUALITY_FLOOR


EXIT_INTERRUPTED = 130


class Interrupted(TriageError):
    """Ctrl-C during a batch: what was finished is kept (`--resume` continues it)."""

    exit_code = EXIT_INTERRUPTED
