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
import threading
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

from fastapi import Body, Depends, FastAPI
from fastapi.responses import HTMLResponse, JSONResponse

from triage.errors import TriageError, UsageError
from triage.model.predict import TriageModel, load_model
from triage.web.api import API_RESPONSES, ManyArticles, OneArticle
from triage.web.html_report import report_page, template_environment
from triage.web.limits import (
    DEFAULT_MAX_ARTICLES,
    DEFAULT_MAX_PARAGRAPHS,
    DEFAULT_MAX_REQUEST_BYTES,
    DEFAULT_TIMEOUT_SECONDS,
    Refused,
    RequestLimits,
)
from triage.web.requests import UPLOAD_SUFFIXES, Triaged, TriageForm, triage_form, triage_json

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
PAGE_EXPLAIN_HINT = "tick explain"


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
                triaged = triage_form(triage_model, form, limits)
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
        return _answer(lambda: triage_json(triage_model, request, limits))

    @app.post("/api/upload", responses=API_RESPONSES)
    def api_upload(form: Annotated[TriageForm, Depends(TriageForm)]) -> JSONResponse:
        """The page's form: pasted text and files, read as `triage predict` reads them, file
        by file (a file that cannot be read is named in `failed_files`; the others are triaged)."""
        return _answer(lambda: triage_form(triage_model, form, limits))

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
