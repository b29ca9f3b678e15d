"""One request's work for triage serve: the form's pasted text and uploads, or the API's articles, read by the CLI's own readers and scored within the request's limits."""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Literal

from fastapi import File, Form, UploadFile

from triage.batch.near_duplicates import NearDuplicates, article_text
from triage.batch.scoring import ScoreOptions, score_records
from triage.errors import BadInput
from triage.readers.files import ReadOptions
from triage.readers.inputs import RunIds, iter_inputs, text_record
from triage.records import InputRecord, reserved_output_names
from triage.web.api import ManyArticles, OneArticle
from triage.web.limits import (
    RequestBudget,
    RequestLimits,
    Warnings,
    too_many,
)

SCORING_CHUNK = 100  # records scored between two looks at the clock and the paragraph count
UPLOAD_SUFFIXES = (".txt", ".csv", ".jsonl", ".html", ".htm")
PASTED_ID = "pasted"
# The CLI's options named in the readers' messages, as the form (the page, /api/upload) names them.
FORM_FIELD_FOR_OPTION = {
    "--text-column": "the text column (text_column)",
    "--id-column": "the id column (id_column)",
    "--title-column": "the title column (title_column)",
    "--keep-columns": "the url column (url_column)",
}


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


def triage_form(model, form: TriageForm, limits: RequestLimits) -> Triaged:
    """Predict for the pasted text (read as a .txt file is, in memory) and the uploads, read
    by the CLI's own readers from a private folder, one file at a time: a file that cannot
    be read is named in `failed_files` and the rest go on. Ids and messages name the
    uploaded files, not that folder. BadInput when nothing could be read."""
    if not form.text.strip() and not form.uploads:
        raise BadInput("nothing to triage: paste an article or choose a .txt, .csv, .jsonl or .html file")
    budget, warnings, failed = RequestBudget(form.unit, limits), Warnings(), []
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


def _read_uploads(
    uploads, options: ReadOptions, budget: RequestBudget, warnings: Warnings, failed: list[str]
):
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


def triage_json(model, request: OneArticle | ManyArticles, limits: RequestLimits) -> Triaged:
    """Predict for a JSON request: one article (its first line the headline unless a title is
    given) or a list, each article's own fields kept in its record."""
    if isinstance(request, OneArticle):
        budget, warnings = RequestBudget("article", limits), Warnings()
        if request.title is None:
            records = [
                text_record(PASTED_ID, request.text.encode("utf-8"), ReadOptions(max_bytes=limits.max_bytes))
            ]
        elif request.text.strip():
            records = [InputRecord(PASTED_ID, request.text, request.title.strip() or None)]
        else:
            raise BadInput(f"{PASTED_ID}: empty or whitespace only")
        return _score(model, records, ScoreOptions("article", explain=request.explain), budget, warnings, [])
    budget, warnings = RequestBudget(request.unit, limits), Warnings()
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


def _score(
    model, records, options: ScoreOptions, budget: RequestBudget, warnings: Warnings, failed
) -> Triaged:
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
            raise too_many("paragraphs", budget.limits.max_paragraphs, "--max-paragraphs")
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


def _save(path: Path, data: bytes) -> str:
    path.parent.mkdir(parents=True)
    path.write_bytes(data)
    return str(path)


def _safe_name(filename: str) -> str:
    """The file's own name, without folders or characters a path could misread."""
    name = re.sub(r"[^\w.\- ]", "_", Path(filename.replace("\\", "/")).name).strip(" .")
    return name or "upload"
