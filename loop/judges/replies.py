"""The official judge's structured replies (pydantic at the boundary) and their JSON schemas."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

Score = Literal[1, 2, 3, 4, 5]
Pick = Literal["A", "tie", "B"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Dims(_Strict):
    atomicity: Score
    specificity: Score
    coverage: Score
    naturalness: Score
    non_redundancy: Score


class BlindDims(_Strict):
    """coverage-blind mode: coverage is neither asked nor scored."""

    atomicity: Score
    specificity: Score
    naturalness: Score
    non_redundancy: Score


class RubricReply(_Strict):
    reasoning: str
    dims: Dims
    failure_notes: str
    verdict: Pick


class BlindRubricReply(_Strict):
    reasoning: str
    dims: BlindDims
    failure_notes: str
    verdict: Pick


class VerdictReply(_Strict):
    reasoning: str
    verdict: Pick


class MalformedReply(ValueError):
    """The model's reply is not the JSON object the schema asks for."""


def rubric_model(mode: str) -> type[RubricReply] | type[BlindRubricReply]:
    return RubricReply if mode == "standard" else BlindRubricReply


@lru_cache(maxsize=8)
def json_schema(model: type[BaseModel]) -> dict:
    """The model's JSON schema in the form structured outputs accept (no numeric bounds etc.)."""
    from anthropic import transform_schema

    return transform_schema(model.model_json_schema())


def parse_reply(text: str, model: type[BaseModel]) -> BaseModel:
    """Parse the reply text into `model`; tolerate a ```json fence, nothing else. Raises MalformedReply."""
    body = text.strip()
    if body.startswith("```"):
        body = body.strip("`").removeprefix("json").strip()
    try:
        return model.model_validate(json.loads(body))
    except (ValueError, ValidationError) as exc:  # JSONDecodeError is a ValueError
        raise MalformedReply(f"{model.__name__}: {str(exc).splitlines()[0][:200]}") from None
