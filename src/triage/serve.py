"""`triage serve`: the report page and a JSON API on this machine, a thin layer like the CLI.

The page (GET /) takes pasted text or uploaded .txt/.csv/.jsonl files and answers with the
same view as `triage predict --format html`; POST /api/predict answers with the records
`triage predict --format jsonl` writes, as {"records": [...], "warnings": [...]} (its spec:
/openapi.json; FastAPI's /docs page is off: it loads its script from a CDN). Uploads go
through the CLI's own readers (triage.io), so the same files are accepted and refused with
the same messages. The model is loaded once, when the app is made.

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

from fastapi import Depends, FastAPI, File, Form, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse

from triage.batch import ScoreOptions, score_records
from triage.errors import BadInput, TriageError, UsageError
from triage.html import report_page, template_environment
from triage.io import ReadOptions, iter_inputs, text_record
from triage.predict import TriageModel, load_model

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

    def __init__(self, app, max_bytes: int, labels: list[str]):
        self.app = app
        self.max_bytes = max_bytes
        self.labels = labels

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
            response = HTMLResponse(_page(self.labels, message=message), status_code=413)
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
    ):
        self.text = text
        self.uploads = [upload for upload in files or [] if upload.filename]
        self.unit = unit
        self.explain = explain


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
    app.add_middleware(RequestSizeLimit, max_bytes=max_request_bytes, labels=triage_model.labels)

    @app.get("/", response_class=HTMLResponse)
    def page() -> HTMLResponse:
        return HTMLResponse(_page(triage_model.labels))

    @app.post("/", response_class=HTMLResponse)
    def page_report(form: Annotated[TriageForm, Depends(TriageForm)]) -> HTMLResponse:
        try:
            with scoring:
                objects, warnings = _triage(triage_model, form, limits)
        except TriageError as exc:
            return HTMLResponse(_page(triage_model.labels, message=str(exc), form=form), status_code=400)
        except Refused as exc:
            page = _page(triage_model.labels, message=str(exc), form=form)
            return HTMLResponse(page, status_code=exc.status_code)
        return HTMLResponse(_page(triage_model.labels, objects, warnings=warnings.for_the_page(), form=form))

    @app.post("/api/predict")
    def api_predict(form: Annotated[TriageForm, Depends(TriageForm)]) -> JSONResponse:
        """The records `triage predict --format jsonl` writes for the same input, as a list,
        the first 100 warnings it would print, and how many more there were."""
        try:
            with scoring:
                objects, warnings = _triage(triage_model, form, limits)
        except TriageError as exc:
            return JSONResponse({"detail": str(exc)}, status_code=400)
        except Refused as exc:
            return JSONResponse({"detail": str(exc)}, status_code=exc.status_code)
        return JSONResponse(
            {"records": objects, "warnings": warnings.kept, "warnings_not_shown": warnings.not_shown}
        )

    return app


def _triage(model, form: TriageForm, limits: RequestLimits) -> tuple[list[dict], Warnings]:
    """Predict for the pasted text (read as a .txt file is, in memory) and the uploads, read
    by the CLI's own readers from a private folder; ids and messages name the uploaded
    files, not that folder. Refused (413) as soon as the inputs or their paragraphs pass the
    caps, or (503) once the work has taken longer than the timeout."""
    if not form.text.strip() and not form.uploads:
        raise BadInput("nothing to triage: paste an article or choose a .txt, .csv, .jsonl or .html file")
    clock, warnings = Clock(limits.timeout), Warnings()
    max_inputs, what, option = (
        (limits.max_articles, "articles", "--max-articles")
        if form.unit == "article"
        else (limits.max_paragraphs, "paragraphs", "--max-paragraphs")
    )
    records = []
    if form.text.strip():
        records.append(
            text_record(PASTED_ID, form.text.encode("utf-8"), ReadOptions(max_bytes=limits.max_bytes))
        )
        if len(records) > max_inputs:
            raise _too_many(what, max_inputs, option)
    if form.uploads:
        with tempfile.TemporaryDirectory(prefix="triage-serve-") as folder:
            paths = []
            for number, upload in enumerate(form.uploads, start=1):
                name = _safe_name(upload.filename)
                if Path(name).suffix.lower() not in UPLOAD_SUFFIXES:
                    raise BadInput(f"{name}: not a .txt, .csv, .jsonl or .html file")
                paths.append(_save(Path(folder) / str(number) / name, upload.file.read()))
            inside = re.compile(re.escape(folder) + r"/\d+/")

            def local(message: str) -> str:
                return inside.sub("", message)

            def warn(message: str) -> None:
                warnings.add(local(message))
                clock.check()  # a file of empty rows is all warnings and no records

            try:
                for record in iter_inputs(paths, warn=warn, max_bytes=limits.max_bytes):
                    records.append(replace(record, id=local(record.id)))
                    if len(records) > max_inputs:
                        raise _too_many(what, max_inputs, option)
                    clock.check()
            except BadInput as exc:
                raise BadInput(local(str(exc))) from None
    options = ScoreOptions(form.unit, explain=form.explain)
    objects, paragraphs = [], 0
    for start in range(0, len(records), SCORING_CHUNK):
        clock.check()
        scored, scoring_warnings = score_records(model, records[start : start + SCORING_CHUNK], options)
        for message in scoring_warnings:
            warnings.add(message)
        objects += scored
        paragraphs += sum(len(record.get("paragraphs", ())) for record in scored)
        if paragraphs > limits.max_paragraphs:
            raise _too_many("paragraphs", limits.max_paragraphs, "--max-paragraphs")
    return objects, warnings


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


def _page(labels: list[str], objects=(), *, message=None, warnings=(), form: TriageForm | None = None) -> str:
    """The form, as the user left it (with a message when the request was refused), above
    the report of `objects`."""
    form_html = (
        template_environment()
        .get_template("serve_form.html")
        .render(
            message=message,
            warnings=warnings,
            text=form.text if form else "",
            unit=form.unit if form else "article",
            explain=form.explain if form else False,
            suffixes=",".join(UPLOAD_SUFFIXES),
        )
    )
    return report_page(objects, labels, title="triage", preamble=form_html)


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
        f"serving on http://{host}:{port}/{processes} (API: POST /api/predict, spec: /openapi.json); Ctrl-C stops"
    )
    if workers == 1:
        uvicorn.run(app, host=host, port=port, log_level="warning")
        return
    del app  # each worker makes its own
    os.environ[WORKER_MODEL_VARIABLE] = str(model_path.resolve())
    os.environ[WORKER_LIMITS_VARIABLE] = json.dumps(asdict(limits))
    config = uvicorn.Config(
        "triage.serve:worker_app", factory=True, workers=workers, host=host, port=port, log_level="warning"
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
