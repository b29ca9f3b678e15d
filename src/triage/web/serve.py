"""`triage serve`: the report page and a JSON API on this machine, a thin layer like the CLI.

The page (GET /) takes pasted text or uploaded .txt/.csv/.jsonl/.html files, with the names
of the columns to read, and answers with the same view as `triage predict --format html`.
The API answers with the records `triage predict --format jsonl` writes, as {"records":
[...], "warnings": [...], ...}: POST /api/predict takes JSON (one article, or a list of
them), POST /api/upload the page's multipart form. Its spec (/openapi.json; FastAPI's /docs
page is off: it loads its script from a CDN) documents both requests and the record,
generated from the record's one definition (triage.records). Uploads go through the CLI's
own readers (triage.readers.inputs), file by file as the CLI reads a folder: a file that cannot be read
gets its message and the others are triaged. The model is loaded once, when the app is made.

A request is limited in work, not only in bytes (5 MB of tiny CSV rows is a million
articles): over `max_request_bytes` it gets 413 before the app reads it; over
`max_articles` inputs or `max_paragraphs` paragraphs, 413 with a message as soon as the
count passes the cap; past `timeout` seconds of work, 503 (the clock is checked between
chunks of SCORING_CHUNK records). The first WARNINGS_SHOWN warnings are kept, the rest
counted.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Annotated, Literal

from fastapi import Body, Depends, FastAPI, File, Form, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field, JsonValue

from triage.batch.near_duplicates import NearDuplicates, article_text
from triage.batch.scoring import ScoreOptions, score_records
from triage.errors import BadInput, TriageError, UsageError
from triage.model.predict import TriageModel, load_model
from triage.readers.files import ReadOptions
from triage.readers.inputs import RunIds, iter_inputs, text_record
from triage.records import ArticleRecord, InputRecord, ParagraphRecord, reserved_output_names
from triage.web.html_report import report_page, template_environment

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_MAX_REQUEST_BYTES = 5_000_000
DEFAULT_MAX_ARTICLES = 2_000
DEFAULT_MAX_PARAGRAPHS = 20_000
DEFAULT_TIMEOUT_SECONDS = 60.0
WARNINGS_SHOWN = 100
SCORING_CHUNK = 100  # records scored between two looks at the clock and the paragraph count
UPLOAD_SUFFIXES = (".txt", ".csv", ".jsonl", ".html", ".htm")
PASTED_ID = "pasted"
PAGE_EXPLAIN_HINT = "tick explain"
# The CLI's options named in the readers' messages, as the form (the page, /api/upload) names them.
FORM_FIELD_FOR_OPTION = {
    "--text-column": "the text column (text_column)",
    "--id-column": "the id column (id_column)",
    "--title-column": "the title column (title_column)",
    "--keep-columns": "the url column (url_column)",
}


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


class RequestSizeLimit:
    """ASGI middleware: 413 for a body over `max_bytes`, told by Content-Length or counted
    while it arrives (a chunked upload is read into memory only up to the limit)."""

    def __init__(self, app, max_bytes: int, model: TriageModel):
        self.app = app
        self.max_bytes = max_bytes
        self.model = model

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            return await self._refuse(scope, send)
        if declared is not None:
            return await self.app(scope, receive, send)
        chunks, received = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return await self.app(scope, receive, send)
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                return await self._refuse(scope, send)
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        replayed = {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        async def replay():
            nonlocal replayed
            message, replayed = replayed, None
            return message if message is not None else await receive()

        return await self.app(scope, replay, send)

    async def _refuse(self, scope, send):
        message = f"request too large: the limit is {self.max_bytes:,} bytes"
        if scope["path"].startswith("/api/"):
            response = JSONResponse({"detail": message}, status_code=413)
        else:
            response = HTMLResponse(_page(self.model, message=message), status_code=413)
        await response(scope, None, send)


class TriageForm:
    """The form fields of the page and of the API: the inputs of `triage predict`."""

    def __init__(
        self,
        text: Annotated[str, Form(description="An article (or, with unit=paragraph, one paragraph).")] = "",
        files: Annotated[
            list[UploadFile] | None,
            File(description=".txt articles, or .csv / .jsonl files with id and text."),
        ] = None,
        unit: Annotated[
            Literal["article", "paragraph"], Form(description="As `triage predict --unit`.")
        ] = "article",
        explain: Annotated[bool, Form(description="Add the terms behind each paragraph's label.")] = False,
        text_column: Annotated[
            str, Form(description="The column of .csv/.jsonl files holding the text.")
        ] = "text",
        id_column: Annotated[str, Form(description="Their id column (default: id, when there is one).")] = "",
        title_column: Annotated[
            str, Form(description="Their title column (default: title, when there is one).")
        ] = "",
        url_column: Annotated[
            str,
            Form(description="Their column of source addresses, kept in the records and linked on the page."),
        ] = "",
    ):
        self.text = text
        self.uploads = [upload for upload in files or [] if upload.filename]
        self.unit = unit
        self.explain = explain
        self.text_column = text_column.strip() or "text"
        self.id_column = id_column.strip()
        self.title_column = title_column.strip()
        self.url_column = url_column.strip()

    def read_options(self, max_bytes: int) -> ReadOptions:
        """How the uploaded files are read: the CLI's options from the form's column fields."""
        return ReadOptions(
            max_bytes=max_bytes,
            text_column=self.text_column,
            id_column=self.id_column or None,
            title_column=self.title_column or None,
            keep_columns=(self.url_column,) if self.url_column else (),
        )


class OneArticle(BaseModel):
    """One article to triage: its text, and its title when the text does not start with it."""

    model_config = ConfigDict(extra="forbid")
    text: str = Field(description="The article; without `title`, its first line is read as the headline.")
    title: str | None = None
    explain: bool = Field(False, description="Add the terms behind each paragraph's label.")


class ArticleIn(BaseModel):
    """An article of a batch; fields other than id, text and title are kept in its record."""

    model_config = ConfigDict(extra="allow")
    id: str
    text: str
    title: str | None = None
    __pydantic_extra__: dict[str, JsonValue]


class ManyArticles(BaseModel):
    """Articles (or, with unit=paragraph, paragraphs) to triage, as `triage predict` reads rows."""

    model_config = ConfigDict(extra="forbid")
    articles: list[ArticleIn]
    unit: Literal["article", "paragraph"] = Field("article", description="As `triage predict --unit`.")
    explain: bool = Field(False, description="Add the terms behind each paragraph's label.")


class PredictAnswer(BaseModel):
    """The records `triage predict --format jsonl` writes for the same input, the first 100
    warnings, how many more there were, and the uploaded files that could not be read."""

    records: list[ArticleRecord | ParagraphRecord]
    warnings: list[str]
    warnings_not_shown: int
    failed_files: list[str] = Field(default_factory=list)


class Problem(BaseModel):
    """A refused request: why, in one line."""

    detail: str


API_RESPONSES = {
    200: {"model": PredictAnswer},
    400: {"model": Problem, "description": "Nothing readable to triage"},
    413: {"model": Problem, "description": "Over the server's byte, article or paragraph limit"},
    503: {"model": Problem, "description": "Over the server's --timeout of work"},
}


@dataclass
class Triaged:
    """What a request came to: the output records, its warnings, and the files that failed."""

    records: list[dict]
    warnings: Warnings
    failed_files: list[str]

    def for_the_api(self) -> dict:
        return {
            "records": self.records,
            "warnings": self.warnings.kept,
            "warnings_not_shown": self.warnings.not_shown,
            "failed_files": self.failed_files,
        }


def create_app(
    model: TriageModel | Path | str | None = None,
    *,
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
    max_articles: int = DEFAULT_MAX_ARTICLES,
    max_paragraphs: int = DEFAULT_MAX_PARAGRAPHS,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> FastAPI:
    """The web app around one loaded model (a model, or its card's path: loaded here, once)."""
    triage_model = model if isinstance(model, TriageModel) else load_model(model)
    limits = RequestLimits(max_request_bytes, max_articles, max_paragraphs, timeout)
    # One request is scored at a time: threads scoring side by side only fight over Python's
    # lock (4 clients got 0.8x one client's requests/s); the others wait their turn.
    scoring = threading.Lock()
    app = FastAPI(
        title="triage",
        summary="Tag news about counterfeit goods, paragraph by paragraph.",
        docs_url=None,
        redoc_url=None,
    )
    app.add_middleware(RequestSizeLimit, max_bytes=max_request_bytes, model=triage_model)

    @app.get("/", response_class=HTMLResponse)
    def page() -> HTMLResponse:
        return HTMLResponse(_page(triage_model))

    @app.post("/", response_class=HTMLResponse)
    def page_report(form: Annotated[TriageForm, Depends(TriageForm)]) -> HTMLResponse:
        try:
            with scoring:
                triaged = _triage_form(triage_model, form, limits)
        except TriageError as exc:
            return HTMLResponse(_page(triage_model, message=str(exc), form=form), status_code=400)
        except Refused as exc:
            page = _page(triage_model, message=str(exc), form=form)
            return HTMLResponse(page, status_code=exc.status_code)
        return HTMLResponse(_page(triage_model, triaged, form=form))

    @app.post("/api/predict", responses=API_RESPONSES)
    def api_predict(request: Annotated[OneArticle | ManyArticles, Body()]) -> JSONResponse:
        """Triage one article (`text`, optional `title`) or a list of them (`articles`, each
        with `id`, `text`, optional `title` and fields of its own, which its record keeps)."""
        return _answer(lambda: _triage_json(triage_model, request, limits))

    @app.post("/api/upload", responses=API_RESPONSES)
    def api_upload(form: Annotated[TriageForm, Depends(TriageForm)]) -> JSONResponse:
        """The page's form: pasted text and files, read as `triage predict` reads them, file
        by file (a file that cannot be read is named in `failed_files`; the others are triaged)."""
        return _answer(lambda: _triage_form(triage_model, form, limits))

    def _answer(work: Callable[[], Triaged]) -> JSONResponse:
        try:
            with scoring:
                triaged = work()
        except TriageError as exc:
            return JSONResponse({"detail": str(exc)}, status_code=400)
        except Refused as exc:
            return JSONResponse({"detail": str(exc)}, status_code=exc.status_code)
        return JSONResponse(triaged.for_the_api())

    return app


class _Budget:
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
            raise _too_many(self.what, self.max_inputs, self.option)


def _triage_form(model, form: TriageForm, limits: RequestLimits) -> Triaged:
    """Predict for the pasted text (read as a .txt file is, in memory) and the uploads, read
    by the CLI's own readers from a private folder, one file at a time: a file that cannot
    be read is named in `failed_files` and the rest go on. Ids and messages name the
    uploaded files, not that folder. BadInput when nothing could be read."""
    if not form.text.strip() and not form.uploads:
        raise BadInput("nothing to triage: paste an article or choose a .txt, .csv, .jsonl or .html file")
    budget, warnings, failed = _Budget(form.unit, limits), Warnings(), []
    options = form.read_options(limits.max_bytes)
    if form.url_column and form.url_column in reserved_output_names(model.labels):
        raise BadInput(f"url column {form.url_column!r}: the records already have a field of that name")
    records = []
    if form.text.strip():
        records.append(text_record(PASTED_ID, form.text.encode("utf-8"), options))
    if form.uploads:
        records += _read_uploads(form.uploads, options, budget, warnings, failed)
    if not records:
        raise BadInput("; ".join(failed) if failed else "nothing to triage")
    return _score(model, records, ScoreOptions(form.unit, explain=form.explain), budget, warnings, failed)


def _read_uploads(uploads, options: ReadOptions, budget: _Budget, warnings: Warnings, failed: list[str]):
    """The records of the uploaded files, each read on its own from a private folder."""
    records = []
    with tempfile.TemporaryDirectory(prefix="triage-serve-") as folder:
        inside = re.compile(re.escape(folder) + r"/\d+/")

        def local(message: str) -> str:
            return inside.sub("", message)

        def warn(message: str) -> None:
            warnings.add(_in_form_words(local(message)))
            budget.clock.check()  # a file of empty rows is all warnings and no records

        def file_failed(message: str) -> None:
            failed.append(_in_form_words(local(message)))

        for number, upload in enumerate(uploads, start=1):
            name = _safe_name(upload.filename)
            if Path(name).suffix.lower() not in UPLOAD_SUFFIXES:
                file_failed(f"{name}: not a .txt, .csv, .jsonl or .html file")
                continue
            path = _save(Path(folder) / str(number) / name, upload.file.read())
            try:
                for record in iter_inputs([path], warn=warn, options=options, file_failed=file_failed):
                    records.append(replace(record, id=local(record.id)))
                    budget.check_inputs(len(records))
                    budget.clock.check()
            except BadInput as exc:
                file_failed(str(exc))
    return records


def _triage_json(model, request: OneArticle | ManyArticles, limits: RequestLimits) -> Triaged:
    """Predict for a JSON request: one article (its first line the headline unless a title is
    given) or a list, each article's own fields kept in its record."""
    if isinstance(request, OneArticle):
        budget, warnings = _Budget("article", limits), Warnings()
        if request.title is None:
            records = [
                text_record(PASTED_ID, request.text.encode("utf-8"), ReadOptions(max_bytes=limits.max_bytes))
            ]
        elif request.text.strip():
            records = [InputRecord(PASTED_ID, request.text, request.title.strip() or None)]
        else:
            raise BadInput(f"{PASTED_ID}: empty or whitespace only")
        return _score(model, records, ScoreOptions("article", explain=request.explain), budget, warnings, [])
    budget, warnings = _Budget(request.unit, limits), Warnings()
    budget.check_inputs(len(request.articles))
    reserved, ids, records = reserved_output_names(model.labels), RunIds(warnings.add), []
    for number, article in enumerate(request.articles, start=1):
        where = f"article {number} (id {article.id})"
        clashing = sorted(set(article.model_extra or {}) & reserved)
        if clashing:
            raise BadInput(f"{where}: {', '.join(clashing)}: the record already has a field of that name")
        if not article.text.strip():
            warnings.add(f"skipped {where}: empty text")
            continue
        if len(article.text.encode("utf-8")) > limits.max_bytes:
            warnings.add(f"skipped {where}: text over {limits.max_bytes:,} bytes")
            continue
        ids.note(article.id, where)
        title = article.title.strip() if article.title and article.title.strip() else None
        records.append(InputRecord(article.id, article.text, title, dict(article.model_extra or {})))
    if not records:
        raise BadInput("nothing to triage: every article's text is empty")
    return _score(model, records, ScoreOptions(request.unit, explain=request.explain), budget, warnings, [])


def _score(model, records, options: ScoreOptions, budget: _Budget, warnings: Warnings, failed) -> Triaged:
    """Score `records` in chunks, refused (413) once their paragraphs pass the cap or (503)
    once the work has taken longer than the timeout; near-duplicate articles are marked as
    `triage predict` marks them."""
    budget.check_inputs(len(records))
    objects, paragraphs = [], 0
    duplicates = NearDuplicates() if options.unit == "article" else None
    for start in range(0, len(records), SCORING_CHUNK):
        budget.clock.check()
        scored, scoring_warnings = score_records(model, records[start : start + SCORING_CHUNK], options)
        for message in scoring_warnings:
            warnings.add(message)
        if duplicates is not None:  # as the batch engine marks them
            for record in scored:
                sampled = NearDuplicates.sampled_grams(article_text(record))
                record["near_duplicate_of"] = duplicates.original_of(record["id"], sampled)
        objects += scored
        paragraphs += sum(len(record.get("paragraphs", ())) for record in scored)
        if paragraphs > budget.limits.max_paragraphs:
            raise _too_many("paragraphs", budget.limits.max_paragraphs, "--max-paragraphs")
    return Triaged(objects, warnings, failed)


def _in_form_words(message: str) -> str:
    """A reader's message in the words of the form (the page's and /api/upload's): its
    fields, not the CLI's options."""
    message = re.sub(
        r"use (--[a-z-]+)",
        lambda match: f"set {FORM_FIELD_FOR_OPTION.get(match.group(1), match.group(1))}",
        message,
    )
    return re.sub(r"pass --encoding(, e\.g\. --encoding \w+)?", "upload a UTF-8 copy", message)


def _too_many(what: str, limit: int, option: str) -> Refused:
    return Refused(
        413, f"request too large: more than {limit:,} {what} (the server's {option}); split the input"
    )


def _save(path: Path, data: bytes) -> str:
    path.parent.mkdir(parents=True)
    path.write_bytes(data)
    return str(path)


def _safe_name(filename: str) -> str:
    """The file's own name, without folders or characters a path could misread."""
    name = re.sub(r"[^\w.\- ]", "_", Path(filename.replace("\\", "/")).name).strip(" .")
    return name or "upload"


def _page(
    model: TriageModel, triaged: Triaged | None = None, *, message=None, form: TriageForm | None = None
) -> str:
    """The form, as the user left it (with a message when the request was refused, and one
    for each file that could not be read), above the report of what was triaged."""
    form = form or TriageForm()
    form_html = (
        template_environment()
        .get_template("serve_form.html")
        .render(
            message=message,
            failed_files=triaged.failed_files if triaged else (),
            warnings=triaged.warnings.for_the_page() if triaged else (),
            form=form,
            suffixes=",".join(UPLOAD_SUFFIXES),
        )
    )
    return report_page(
        triaged.records if triaged else (),
        model.labels,
        title="triage",
        preamble=form_html,
        keep_columns=(form.url_column,) if form.url_column else (),
        url_column=form.url_column or "url",
        explain=form.explain,
        explain_hint=PAGE_EXPLAIN_HINT,
        card=model.card,
    )


def _check_can_listen(host: str, port: int) -> None:
    """A port in use or an address not on this machine is the user's to fix: say so in one
    line (uvicorn would log it and exit on its own terms)."""
    import socket

    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        raise UsageError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}; choose another --host or --port"
        ) from None


# With --workers N, uvicorn starts N processes that import the app by name and call
# `worker_app`; the model and the request limits reach them through the environment.
WORKER_MODEL_VARIABLE = "TRIAGE_SERVE_MODEL"
WORKER_LIMITS_VARIABLE = "TRIAGE_SERVE_LIMITS"


def worker_app() -> FastAPI:
    """The app of one `--workers` process, around its own copy of the model."""
    limits = RequestLimits(**json.loads(os.environ[WORKER_LIMITS_VARIABLE]))
    return create_app(
        os.environ[WORKER_MODEL_VARIABLE],
        max_request_bytes=limits.max_bytes,
        max_articles=limits.max_articles,
        max_paragraphs=limits.max_paragraphs,
        timeout=limits.timeout,
    )


def serve(
    model_path: Path | None = None,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    limits: RequestLimits = RequestLimits(),
    workers: int = 1,
    progress: Callable[[str], None] = lambda m: None,
) -> None:
    """Load the model (a bad one is refused before anything listens), then serve until
    interrupted: in this process, or in `workers` processes that each load their own."""
    import uvicorn

    from triage.paths import default_model_path

    model_path = Path(model_path) if model_path is not None else default_model_path()
    app = create_app(  # loaded here too with --workers: a bad model is refused before anything listens
        model_path,
        max_request_bytes=limits.max_bytes,
        max_articles=limits.max_articles,
        max_paragraphs=limits.max_paragraphs,
        timeout=limits.timeout,
    )
    _check_can_listen(host, port)
    if host not in ("127.0.0.1", "localhost", "::1"):
        progress(f"warning: serving on {host}: anyone who can reach this machine can use it")
    processes = f" in {workers} processes" if workers > 1 else ""
    progress(
        f"serving on http://{host}:{port}/{processes} (API: POST /api/predict JSON, /api/upload files; "
        "spec: /openapi.json); Ctrl-C stops"
    )
    if workers == 1:
        uvicorn.run(app, host=host, port=port, log_level="warning")
        return
    del app  # each worker makes its own
    os.environ[WORKER_MODEL_VARIABLE] = str(model_path.resolve())
    os.environ[WORKER_LIMITS_VARIABLE] = json.dumps(asdict(limits))
    config = uvicorn.Config(
        "triage.web.serve:worker_app",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_level="warning",
    )
    from uvicorn.supervisors import Multiprocess

    try:  # what uvicorn.run does for workers, with our own listening socket
        Multiprocess(config, sockets=[listening_socket(host, port)]).run()
    except KeyboardInterrupt:
        pass


def listening_socket(host: str, port: int):
    """The socket the --workers processes accept on, made with protocol TCP: uvicorn binds
    its own with protocol 0, on which asyncio never sets TCP_NODELAY for the connections,
    so each keep-alive request after the first waits ~40 ms for a delayed ACK (uvicorn
    issue #3149)."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.set_inheritable(True)
    return listener
