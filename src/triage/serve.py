"""`triage serve`: the report page and a JSON API on this machine, a thin layer like the CLI.

The page (GET /) takes pasted text or uploaded .txt/.csv/.jsonl files and answers with the
same view as `triage predict --format html`; POST /api/predict answers with the records
`triage predict --format jsonl` writes, as {"records": [...], "warnings": [...]} (its spec:
/openapi.json; FastAPI's /docs page is off: it loads its script from a CDN). Uploads go
through the CLI's own readers (triage.io), so the same files are accepted and refused with
the same messages. The model is loaded once, when the app is made. A request over
`max_request_bytes` gets 413 before the app reads it.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import replace
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
UPLOAD_SUFFIXES = (".txt", ".csv", ".jsonl", ".html", ".htm")
PASTED_ID = "pasted"


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
) -> FastAPI:
    """The web app around one loaded model (a model, or its card's path: loaded here, once)."""
    triage_model = model if isinstance(model, TriageModel) else load_model(model)
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
            objects, warnings = _triage(triage_model, form, max_request_bytes)
        except TriageError as exc:
            return HTMLResponse(_page(triage_model.labels, message=str(exc), form=form), status_code=400)
        return HTMLResponse(_page(triage_model.labels, objects, warnings=warnings, form=form))

    @app.post("/api/predict")
    def api_predict(form: Annotated[TriageForm, Depends(TriageForm)]) -> JSONResponse:
        """The records `triage predict --format jsonl` writes for the same input, as a list,
        and the warnings it would print."""
        try:
            objects, warnings = _triage(triage_model, form, max_request_bytes)
        except TriageError as exc:
            return JSONResponse({"detail": str(exc)}, status_code=400)
        return JSONResponse({"records": objects, "warnings": warnings})

    return app


def _triage(model, form: TriageForm, max_bytes: int) -> tuple[list[dict], list[str]]:
    """Predict for the pasted text (read as a .txt file is, without touching the disk) and
    the uploads, read by the CLI's own readers from a private folder; ids and messages name
    the uploaded files, not that folder."""
    if not form.text.strip() and not form.uploads:
        raise BadInput("nothing to triage: paste an article or choose a .txt, .csv, .jsonl or .html file")
    records, warnings = [], []
    if form.text.strip():
        records.append(text_record(PASTED_ID, form.text.encode("utf-8"), ReadOptions(max_bytes=max_bytes)))
    if form.uploads:
        records += _read_uploads(form.uploads, max_bytes, warnings)
    objects, scoring_warnings = score_records(model, records, ScoreOptions(form.unit, explain=form.explain))
    return objects, warnings + scoring_warnings


def _read_uploads(uploads: list[UploadFile], max_bytes: int, warnings: list[str]) -> list:
    with tempfile.TemporaryDirectory(prefix="triage-serve-") as folder:
        paths = []
        for number, upload in enumerate(uploads, start=1):
            name = _safe_name(upload.filename)
            if Path(name).suffix.lower() not in UPLOAD_SUFFIXES:
                raise BadInput(f"{name}: not a .txt, .csv, .jsonl or .html file")
            paths.append(_save(Path(folder) / str(number) / name, upload.file.read()))
        inside = re.compile(re.escape(folder) + r"/\d+/")

        def local(message: str) -> str:
            return inside.sub("", message)

        try:
            return [
                replace(record, id=local(record.id))
                for record in iter_inputs(
                    paths, warn=lambda m: warnings.append(local(m)), max_bytes=max_bytes
                )
            ]
        except BadInput as exc:
            raise BadInput(local(str(exc))) from None


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
# `worker_app`; the model and the size limit reach them through the environment.
WORKER_MODEL_VARIABLE = "TRIAGE_SERVE_MODEL"
WORKER_MAX_BYTES_VARIABLE = "TRIAGE_SERVE_MAX_BYTES"


def worker_app() -> FastAPI:
    """The app of one `--workers` process, around its own copy of the model."""
    return create_app(
        os.environ[WORKER_MODEL_VARIABLE], max_request_bytes=int(os.environ[WORKER_MAX_BYTES_VARIABLE])
    )


def serve(
    model_path: Path | None = None,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
    workers: int = 1,
    progress: Callable[[str], None] = lambda m: None,
) -> None:
    """Load the model, then serve until interrupted: in this process, or in `workers`
    processes that each load their own (this one only checks the model file, so a bad one
    is refused before anything listens, either way)."""
    import uvicorn

    from triage.model import check_model_file
    from triage.paths import default_model_path

    model_path = Path(model_path) if model_path is not None else default_model_path()
    if workers == 1:
        app = create_app(model_path, max_request_bytes=max_request_bytes)
    else:
        check_model_file(model_path)
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
    os.environ[WORKER_MODEL_VARIABLE] = str(model_path.resolve())
    os.environ[WORKER_MAX_BYTES_VARIABLE] = str(max_request_bytes)
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
