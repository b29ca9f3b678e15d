"""What one request of triage serve may cost: its size, its articles and paragraphs, its time; refusals with the HTTP status and the option that sets the limit."""

from __future__ import annotations

import time
from dataclasses import dataclass

DEFAULT_MAX_REQUEST_BYTES = 5_000_000
DEFAULT_MAX_ARTICLES = 2_000
DEFAULT_MAX_PARAGRAPHS = 20_000
DEFAULT_TIMEOUT_SECONDS = 60.0
WARNINGS_SHOWN = 100


@dataclass(frozen=True)
class RequestLimits:
    """How much work one request may ask for."""

    max_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    max_articles: int = DEFAULT_MAX_ARTICLES
    max_paragraphs: int = DEFAULT_MAX_PARAGRAPHS
    timeout: float = DEFAULT_TIMEOUT_SECONDS


class Refused(Exception):
    """A request the server will not finish: its HTTP status and the message for the user."""

    def __init__(self, status_code: int, message: str):
        super().__init__(message)
        self.status_code = status_code


class Warnings:
    """The first `shown` warnings of a request, and how many more there were."""

    def __init__(self, shown: int = WARNINGS_SHOWN):
        self.shown, self.kept, self.not_shown = shown, [], 0

    def add(self, message: str) -> None:
        if len(self.kept) < self.shown:
            self.kept.append(message)
        else:
            self.not_shown += 1

    def for_the_page(self) -> list[str]:
        return self.kept + ([f"and {self.not_shown:,} more warnings"] if self.not_shown else [])


class Clock:
    """A request's budget of seconds of work; `check` refuses it (503) once spent."""

    def __init__(self, seconds: float):
        self.seconds, self.deadline = seconds, time.monotonic() + seconds

    def check(self) -> None:
        if time.monotonic() > self.deadline:
            raise Refused(
                503,
                f"this request needs more than {self.seconds:g} s of work (the server's --timeout); "
                "send fewer or shorter articles",
            )


class RequestBudget:
    """A request's caps and clock, checked as its records are gathered and scored."""

    def __init__(self, unit: str, limits: RequestLimits):
        self.limits, self.clock = limits, Clock(limits.timeout)
        self.max_inputs, self.what, self.option = (
            (limits.max_articles, "articles", "--max-articles")
            if unit == "article"
            else (limits.max_paragraphs, "paragraphs", "--max-paragraphs")
        )

    def check_inputs(self, count: int) -> None:
        if count > self.max_inputs:
            raise too_many(self.what, self.max_inputs, self.option)


def too_many(what: str, limit: int, option: str) -> Refused:
    return Refused(
        413, f"request too large: more than {limit:,} {what} (the server's {option}); split the input"
    )
