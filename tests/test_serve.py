"""`triage serve`: the page and the JSON API, through FastAPI's TestClient.

Every article and paragraph in this file was written for the project.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient

from triage.cli.app import main
from triage.web.serve import create_app

LIMIT = 50_000
# Written for the project.
PASTED_ARTICLE = """Regulator Names Online Bazaar In Annual Report

The trade office placed the online bazaar on its list of notorious markets for counterfeit goods for a second year, citing complaints from brand owners.

A footwear company filed suit against the bazaar in a district court, seeking damages over fake running shoes sold by its merchants.
"""
FEED_CSV = (
    "id,text\n"
    'first,"The platform said it removed 2 million fake listings in the quarter and closed 9,000 shops."\n'
    'second,"Lawmakers held a hearing on counterfeit toys sold through online marketplaces."\n'
)


@pytest.fixture(scope="module")
def client(trained):
    with TestClient(create_app(trained.model_path, max_request_bytes=LIMIT)) as test_client:
        yield test_client


def test_the_api_answers_with_the_records_predict_writes_for_the_same_file(client, trained, tmp_path, capsys):
    feed = tmp_path / "feed.csv"
    feed.write_text(FEED_CSV, encoding="utf-8")
    for unit in ("article", "paragraph"):
        main(["predict", str(feed), "--model", str(trained.model_path), "--format", "jsonl", "--unit", unit])
        cli_records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        response = client.post(
            "/api/upload",
            files=[("files", ("feed.csv", FEED_CSV.encode(), "text/csv"))],
            data={"unit": unit},
        )
        assert response.status_code == 200
        assert response.json()["records"] == cli_records


def test_a_pasted_article_is_ingested_labelled_and_tagged(client):
    response = client.post("/api/upload", data={"text": PASTED_ARTICLE, "explain": "true"})
    assert response.status_code == 200
    (record,) = response.json()["records"]
    assert record["id"] == "pasted"
    assert record["title"] == "Regulator Names Online Bazaar In Annual Report"
    assert len(record["paragraphs"]) == 2 and all("explanation" in p for p in record["paragraphs"])


def test_a_pasted_article_is_read_as_a_text_file_is_without_touching_the_disk(
    client, trained, tmp_path, monkeypatch, capsys
):
    import tempfile

    as_file = tmp_path / "pasted"
    as_file.write_text(PASTED_ARTICLE, encoding="utf-8")
    main(["predict", str(as_file), "--model", str(trained.model_path), "--format", "jsonl"])
    expected = {**json.loads(capsys.readouterr().out), "id": "pasted"}

    def no_folders(*args, **kwargs):
        raise AssertionError("a pasted article went through a temporary folder")

    monkeypatch.setattr(tempfile, "TemporaryDirectory", no_folders)
    response = client.post("/api/upload", data={"text": PASTED_ARTICLE})
    assert response.status_code == 200
    assert response.json()["records"] == [expected]


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("scan.pdf", b"%PDF-1.7 binary", "scan.pdf: not a .txt, .csv, .jsonl or .html file"),
        ("feed.csv", b"name,body\nx,y\n", "feed.csv: no 'text' column (columns: name, body)"),
        ("notes.txt", b"\x00\x01\x02\x03 binary", "notes.txt: looks like a binary file, not text"),
        ("latin.txt", "Caf\u00e9 owners sued the seller.".encode("latin-1"), "latin.txt: not UTF-8"),
        ("rows.jsonl", b"not json at all\n", "rows.jsonl: no JSON lines"),
    ],
)
def test_a_bad_upload_gets_400_with_a_message_naming_the_file(client, name, content, message):
    response = client.post("/api/upload", files=[("files", (name, content, "application/octet-stream"))])
    assert response.status_code == 400
    assert response.json()["detail"].startswith(message)
    assert "triage-serve-" not in response.json()["detail"]  # no server-side folder leaks


def test_a_request_with_nothing_to_triage_is_refused(client):
    response = client.post("/api/upload", data={"text": "   "})
    assert response.status_code == 400 and "nothing to triage" in response.json()["detail"]


def test_an_unknown_unit_is_refused_with_422(client):
    response = client.post("/api/upload", data={"text": PASTED_ARTICLE, "unit": "sentence"})
    assert response.status_code == 422


def test_a_request_over_the_size_limit_gets_413_whether_its_length_is_declared_or_not(client):
    declared = client.post("/api/upload", data={"text": "counterfeit " * (LIMIT // 10)})
    assert declared.status_code == 413 and "50,000 bytes" in declared.json()["detail"]

    def chunks():
        for _ in range(LIMIT // 1000 + 1):
            yield b"x" * 1000

    streamed = client.post("/api/upload", content=chunks(), headers={"content-type": "text/plain"})
    assert streamed.status_code == 413


def _rows_csv(texts: list[str]) -> bytes:
    return ("id,text\n" + "".join(f'r{i},"{text}"\n' for i, text in enumerate(texts))).encode()


def test_2001_tiny_rows_get_413_before_any_is_scored(client, monkeypatch):
    """A few bytes a row: far under --max-bytes, over the default cap of 2,000 articles."""
    scored = []
    files = [("files", ("tiny.csv", _rows_csv(["Fake bags."] * 2001), "text/csv"))]
    with monkeypatch.context() as patch:
        patch.setattr("triage.web.requests.score_records", lambda *a: scored.append(1))
        response = client.post("/api/upload", files=files)
    assert response.status_code == 413 and scored == []
    assert (
        "more than 2,000 articles" in response.json()["detail"]
        and "--max-articles" in response.json()["detail"]
    )
    response = client.post("/api/upload", files=files, data={"unit": "paragraph"})
    assert response.status_code == 200 and len(response.json()["records"]) == 2001  # 20,000 paragraphs


@pytest.fixture(scope="module")
def strict_client(trained):
    app = create_app(trained.model_path, max_request_bytes=LIMIT, max_articles=3, max_paragraphs=4)
    with TestClient(app) as test_client:
        yield test_client


def test_requests_over_the_article_or_paragraph_cap_get_413_naming_it(strict_client):
    over = [
        (
            {"files": [("files", ("f.csv", _rows_csv(["A court fined the seller."] * 4), "text/csv"))]},
            "article",
            "3 articles",
        ),
        (
            {"files": [("files", ("f.csv", _rows_csv(["A court fined the seller."] * 5), "text/csv"))]},
            "paragraph",
            "4 paragraphs",
        ),
        (
            {
                "data": {
                    "text": PASTED_ARTICLE
                    + "\nThe bazaar said it would appeal.\n\nIts shares fell.\n\nAnalysts were calm.\n"
                }
            },
            "article",
            "4 paragraphs",
        ),
    ]
    for request, unit, limit in over:
        data = {**request.get("data", {}), "unit": unit}
        response = strict_client.post("/api/upload", files=request.get("files"), data=data)
        assert response.status_code == 413 and f"more than {limit}" in response.json()["detail"], (
            response.text
        )
    page = strict_client.post("/", files=over[0][0]["files"], data={"unit": "article"})
    assert page.status_code == 413 and "more than 3 articles" in page.text
    assert strict_client.post("/api/upload", data={"text": PASTED_ARTICLE}).status_code == 200


def test_the_first_100_warnings_are_kept_and_the_rest_counted(client):
    files = [("files", ("gaps.csv", _rows_csv([""] * 150 + ["A court fined the seller."]), "text/csv"))]
    response = client.post("/api/upload", files=files, data={"unit": "paragraph"})
    assert response.status_code == 200
    body = response.json()
    assert len(body["records"]) == 1 and len(body["warnings"]) == 100 and body["warnings_not_shown"] == 50
    page = client.post("/", files=files, data={"unit": "paragraph"})
    assert "and 50 more warnings" in page.text


def test_a_request_is_scored_in_chunks_and_past_the_timeout_gets_503(trained, monkeypatch):
    import triage.web.requests as serve_module

    chunks = []
    score_records = serve_module.score_records
    monkeypatch.setattr(
        serve_module,
        "score_records",
        lambda model, records, options: chunks.append(len(records)) or score_records(model, records, options),
    )
    files = [("files", ("f.csv", _rows_csv([f"A court fined seller {i}." for i in range(250)]), "text/csv"))]
    with TestClient(create_app(trained.model_path)) as patient:
        assert patient.post("/api/upload", files=files, data={"unit": "paragraph"}).status_code == 200
    assert chunks == [100, 100, 50]
    with TestClient(create_app(trained.model_path, timeout=0.001)) as hasty:
        response = hasty.post("/api/upload", files=files, data={"unit": "paragraph"})
        assert response.status_code == 503 and "--timeout" in response.json()["detail"]
        page = hasty.post("/", files=files, data={"unit": "paragraph"})
        assert page.status_code == 503 and "more than 0.001 s of work" in page.text


def test_the_page_shows_a_bad_upload_as_a_message_not_a_traceback(client):
    response = client.post("/", files=[("files", ("scan.pdf", b"%PDF-1.7", "application/pdf"))])
    assert response.status_code == 400
    assert (
        'role="alert"' in response.text
        and "scan.pdf: not a .txt, .csv, .jsonl or .html file" in response.text
    )
    assert "Traceback" not in response.text


def test_the_page_over_the_size_limit_says_so(client):
    response = client.post("/", data={"text": "counterfeit " * (LIMIT // 10)})
    assert response.status_code == 413 and "request too large" in response.text


def test_the_page_shows_the_report_of_a_pasted_article_and_keeps_the_text(client):
    response = client.post("/", data={"text": PASTED_ARTICLE})
    assert response.status_code == 200
    assert response.text.count('class="para ') == 2
    assert "citing complaints from brand owners." in response.text.split("</textarea>")[0]


def test_the_page_before_any_input_is_the_form_and_no_empty_summary(client):
    response = client.get("/")
    assert response.status_code == 200
    assert '<textarea id="text" name="text"></textarea>' in response.text
    assert "Nothing triaged yet." in response.text and "Tags across" not in response.text


def test_the_page_keeps_the_chosen_unit_and_explain_after_a_request(client):
    response = client.post(
        "/", data={"text": "The court fined the seller.", "unit": "paragraph", "explain": "true"}
    )
    assert response.status_code == 200
    assert '<option value="paragraph" selected>' in response.text
    assert 'name="explain" value="true" checked>' in response.text


def test_the_api_spec_is_served_and_names_the_predict_endpoint(client):
    spec = client.get("/openapi.json").json()
    assert {"/api/predict", "/api/upload"} <= set(spec["paths"])


def test_the_model_is_loaded_once_for_all_requests(trained, monkeypatch):
    import triage.web.serve

    loads = []
    real_load = triage.web.serve.load_model
    monkeypatch.setattr(triage.web.serve, "load_model", lambda path: loads.append(path) or real_load(path))
    with TestClient(create_app(trained.model_path)) as test_client:
        for _ in range(3):
            assert test_client.post("/api/upload", data={"text": PASTED_ARTICLE}).status_code == 200
    assert loads == [trained.model_path]


def test_triage_help_does_not_import_the_web_stack():
    code = "import sys; from triage.cli.app import main; main(['--help']); print(sorted(m for m in ('fastapi', 'uvicorn', 'jinja2') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.splitlines()[-1] == "[]"


def test_serve_refuses_a_missing_model_and_a_port_in_use_in_one_line(capsys, trained):
    import socket

    assert main(["serve", "--model", "missing.json"]) == 4
    assert capsys.readouterr().err.startswith("error: no model at")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--model", str(trained.model_path), "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot listen on 127.0.0.1:{port}") and err.count("\n") == 1


def test_serve_with_two_workers_answers_as_one_process_does(client, trained):
    """The installed `triage serve --workers 2`, on loopback, in a loop that stops by itself."""
    import http.client
    import socket
    import time
    from pathlib import Path

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    executable = str(Path(sys.executable).with_name("triage"))
    server = subprocess.Popen(
        [executable, "serve", "--workers", "2", "--port", str(port), "--model", str(trained.model_path)],
        stderr=subprocess.PIPE,
        text=True,
    )
    body = json.dumps({"text": PASTED_ARTICLE})
    try:
        deadline, answer = time.monotonic() + 120, None
        while answer is None and time.monotonic() < deadline and server.poll() is None:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            try:
                connection.request("POST", "/api/predict", body, {"Content-Type": "application/json"})
                answer = json.loads(connection.getresponse().read())
            except OSError:
                time.sleep(0.5)
            finally:
                connection.close()
    finally:
        server.terminate()
        _, err = server.communicate(timeout=60)
    assert answer == client.post("/api/predict", json={"text": PASTED_ARTICLE}).json()
    assert "in 2 processes" in err


def test_the_workers_listen_on_a_tcp_socket_so_keep_alive_answers_are_not_held_back():
    """uvicorn binds its own with protocol 0, and asyncio then leaves Nagle's algorithm on for
    every connection: each keep-alive answer after the first waited ~40 ms for an ACK."""
    import socket

    from triage.web.serve import listening_socket

    with listening_socket("127.0.0.1", 0) as listener:
        assert listener.proto == socket.IPPROTO_TCP and listener.get_inheritable()


def test_one_request_is_scored_at_a_time_and_the_others_wait(trained, monkeypatch):
    """Threads scoring side by side only contend for Python's lock; requests queue instead."""
    import threading
    import time

    import triage.web.requests

    active, most = [0], [0]
    real_score = triage.web.requests.score_records

    def slow_score(*args, **kwargs):
        active[0] += 1
        most[0] = max(most[0], active[0])
        time.sleep(0.05)
        active[0] -= 1
        return real_score(*args, **kwargs)

    monkeypatch.setattr(triage.web.requests, "score_records", slow_score)
    with TestClient(create_app(trained.model_path)) as test_client:
        codes = []
        threads = [
            threading.Thread(
                target=lambda: codes.append(
                    test_client.post("/api/upload", data={"text": PASTED_ARTICLE}).status_code
                )
            )
            for _ in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert codes == [200] * 4 and most[0] == 1


# --- the JSON API and its spec ---------------------------------------------------------------
def _spec_validator(client, schema_name: str):
    """A validator of `schema_name` as the served spec defines it (OpenAPI 3.1: JSON Schema
    2020-12, with its references into the spec's components)."""
    from jsonschema import Draft202012Validator

    spec = client.get("/openapi.json").json()
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": spec["components"]}
    return Draft202012Validator(schema)


def _answer_schema_of(client, path: str) -> str:
    spec = client.get("/openapi.json").json()
    reference = spec["paths"][path]["post"]["responses"]["200"]["content"]["application/json"]["schema"][
        "$ref"
    ]
    return reference.rsplit("/", 1)[1]


def test_a_json_article_is_triaged_and_the_answer_validates_against_the_spec(client):
    import httpx2

    assert isinstance(client, httpx2.Client)  # TestClient is httpx's client (the httpx2 package), in process
    validator = _spec_validator(client, _answer_schema_of(client, "/api/predict"))
    response = client.post("/api/predict", json={"text": PASTED_ARTICLE, "explain": True})
    assert response.status_code == 200, response.text
    validator.validate(response.json())
    (record,) = response.json()["records"]
    assert record["title"] == "Regulator Names Online Bazaar In Annual Report"
    assert all("explanation" in paragraph for paragraph in record["paragraphs"])
    titled = client.post("/api/predict", json={"text": PASTED_ARTICLE.split("\n", 2)[2], "title": "Given"})
    assert titled.status_code == 200 and titled.json()["records"][0]["title"] == "Given"


def test_json_articles_keep_their_own_fields_and_validate_against_the_spec_in_either_unit(client):
    validator = _spec_validator(client, "PredictAnswer")
    articles = [
        {"id": "a1", "text": PASTED_ARTICLE, "url": "https://news.example.org/a1", "date": "2026-11-02"},
        {"id": "a2", "text": "The platform said it removed 2 million fake listings.", "title": "Listings"},
        {"id": "a3", "text": "   "},
    ]
    for unit in ("article", "paragraph"):
        response = client.post("/api/predict", json={"articles": articles, "unit": unit})
        assert response.status_code == 200, response.text
        validator.validate(response.json())
        records = response.json()["records"]
        assert [record["id"] for record in records] == ["a1", "a2"]
        assert records[0]["url"] == "https://news.example.org/a1" and records[0]["date"] == "2026-11-02"
        assert response.json()["warnings"] == ["skipped article 3 (id a3): empty text"]


def test_the_records_predict_writes_validate_against_the_spec_and_follow_its_key_order(
    client, trained, tmp_path, capsys
):
    from triage.records import ARTICLE_KEYS, PARAGRAPH_KEYS

    feed = tmp_path / "feed.csv"
    feed.write_text(FEED_CSV, encoding="utf-8")
    for unit, name, keys in (
        ("article", "ArticleRecord", ARTICLE_KEYS),
        ("paragraph", "ParagraphRecord", PARAGRAPH_KEYS),
    ):
        main(
            [
                "predict",
                str(feed),
                "--model",
                str(trained.model_path),
                "--format",
                "jsonl",
                "--unit",
                unit,
                "--explain",
            ]
        )
        validator = _spec_validator(client, name)
        for line in capsys.readouterr().out.splitlines():
            validator.validate(json.loads(line))
            written = list(json.loads(line))
            assert written == [key for key in keys if key in written]


def test_the_spec_documents_both_requests_and_the_record_from_its_one_definition(client):
    from pydantic import TypeAdapter

    from triage.records import ArticleRecord

    spec = client.get("/openapi.json").json()
    body = spec["paths"]["/api/predict"]["post"]["requestBody"]["content"]
    assert {ref["$ref"] for ref in body["application/json"]["schema"]["anyOf"]} == {
        "#/components/schemas/OneArticle",
        "#/components/schemas/ManyArticles",
    }
    assert "multipart/form-data" in spec["paths"]["/api/upload"]["post"]["requestBody"]["content"]
    generated = TypeAdapter(ArticleRecord).json_schema(ref_template="#/components/schemas/{model}")
    assert spec["components"]["schemas"]["ArticleRecord"] == {
        key: value for key, value in generated.items() if key != "$defs"
    }


def test_json_requests_that_cannot_be_triaged_get_a_one_line_answer(strict_client):
    cases = [
        (
            {"articles": [{"id": "x", "text": "A court fined the seller.", "tags": "mine"}]},
            400,
            "tags: the record",
        ),
        (
            {"articles": [{"id": str(i), "text": "A court fined the seller."} for i in range(4)]},
            413,
            "more than 3 articles",
        ),
        ({"articles": [{"id": "x", "text": " "}]}, 400, "nothing to triage"),
        ({"text": "  "}, 400, "empty or whitespace only"),
    ]
    for body, status, message in cases:
        response = strict_client.post("/api/predict", json=body)
        assert response.status_code == status and message in response.json()["detail"], response.text
    assert strict_client.post("/api/predict", json={"txt": "typo"}).status_code == 422


# Written for the project: a feed that names its columns its own way.
OTHER_COLUMNS_CSV = (
    "link,headline,story\n"
    'https://news.example.org/raid,Customs Seize Fake Watches,"Customs officers seized 4,000 fake watches sold through an online marketplace."\n'
)


def test_uploads_are_read_with_the_chosen_columns_and_a_bad_file_fails_alone(client):
    files = [
        ("files", ("feed.csv", OTHER_COLUMNS_CSV.encode(), "text/csv")),
        ("files", ("scan.pdf", b"%PDF-1.7", "application/pdf")),
        ("files", ("other.csv", b"name,body\nx,y\n", "text/csv")),
    ]
    columns = {"text_column": "story", "title_column": "headline", "url_column": "link"}
    response = client.post("/api/upload", files=files, data=columns)
    assert response.status_code == 200, response.text
    (record,) = response.json()["records"]
    assert (
        record["title"] == "Customs Seize Fake Watches" and record["link"] == "https://news.example.org/raid"
    )
    assert response.json()["failed_files"] == [
        "scan.pdf: not a .txt, .csv, .jsonl or .html file",
        "other.csv: no 'story' column (columns: name, body); set the text column (text_column)",
    ]
    page = client.post("/", files=files, data=columns)
    assert page.status_code == 200
    assert (
        'href="https://news.example.org/raid"' in page.text and "Customs Seize Fake Watches</h2>" in page.text
    )
    assert (
        "not triaged: other.csv: no &#39;story&#39; column" in page.text and "--text-column" not in page.text
    )
    assert 'value="story"' in page.text  # the form keeps the chosen columns


def test_the_page_legend_speaks_of_the_explain_box_not_a_command_line_option(client):
    page = client.post("/", data={"text": PASTED_ARTICLE}).text
    assert "(tick explain for the terms behind its label)" in page and "--explain" not in page


def test_a_near_duplicate_is_marked_as_predict_marks_it(client, trained, tmp_path, capsys):
    rows = [("first", PASTED_ARTICLE), ("again", PASTED_ARTICLE.replace("second year", "third year"))]
    feed = tmp_path / "feed.jsonl"
    feed.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in rows), encoding="utf-8")
    main(["predict", str(feed), "--model", str(trained.model_path), "--format", "jsonl"])
    cli_records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [record["near_duplicate_of"] for record in cli_records] == [None, "first"]
    response = client.post("/api/predict", json={"articles": [{"id": i, "text": t} for i, t in rows]})
    assert response.json()["records"] == cli_records
