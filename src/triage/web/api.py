"""The JSON API's shapes (pydantic, from triage.records so the spec cannot drift from what predict writes) and its documented error answers."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from triage.records import ArticleRecord, ParagraphRecord


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
