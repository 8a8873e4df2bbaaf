"""Load and validate `pipeline.toml`: a `[pipeline]` table and one `[knobs.NAME]` table per
searchable parameter. Errors are `InputError`s naming the file and line.

Returns {"pipeline": {...}, "knobs": {name: spec}, "values": {name: default}}; a pipeline reads its
knob values from `values` (the sweep agent rewrites the `default`s).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from loop.errors import InputError

CONFIG_NAME = "pipeline.toml"


class PipelineSettings(BaseModel):
    """`[pipeline]`: fixed settings (not searched). Extra keys are allowed for new pipelines."""

    model_config = ConfigDict(extra="allow")
    name: str = "baseline"
    instructions: str = "system"  # prompt file (prompts/NAME.md) used as the model's instructions
    max_output_tokens: int = Field(default=400, ge=1)
    critique_tokens: int = Field(default=200, ge=1)
    max_chars: int = Field(default=0, ge=0)  # 0 = no length limit in the schema
    seed: int = Field(default=0, ge=0)
    adapter_path: str = ""  # "" = no adapter; relative to the workspace or absolute
    adapter_format: Literal["gguf-lora", "fmadapter"] = "gguf-lora"
    topics: list[str] = Field(default_factory=list)  # coverage check topics


class Knob(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["float", "int", "categorical"]
    low: float | None = None
    high: float | None = None
    choices: list[Any] | None = None
    default: Any
    help: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> "Knob":
        if self.type == "categorical":
            if not self.choices:
                raise ValueError("a categorical knob needs a non-empty `choices` list")
            if self.low is not None or self.high is not None:
                raise ValueError("a categorical knob takes `choices`, not `low`/`high`")
            if self.default not in self.choices:
                raise ValueError(f"default {self.default!r} is not one of the choices {self.choices}")
            return self
        if self.choices is not None:
            raise ValueError(f"a {self.type} knob takes `low`/`high`, not `choices`")
        if self.low is None or self.high is None or self.low > self.high:
            raise ValueError("needs numeric `low` <= `high`")
        if self.type == "int" and not all(float(v).is_integer() for v in (self.low, self.high)):
            raise ValueError("an int knob needs integer `low`/`high`")
        if isinstance(self.default, bool) or not isinstance(self.default, (int, float)):
            raise ValueError(f"default {self.default!r} is not a number")
        if self.type == "int" and not isinstance(self.default, int):
            raise ValueError(f"default {self.default!r} of an int knob is not an integer")
        if not self.low <= self.default <= self.high:
            raise ValueError(f"default {self.default} is outside [{self.low}, {self.high}]")
        return self


def load_pipeline_config(workspace_dir: Path | str) -> dict:
    path = Path(workspace_dir) / CONFIG_NAME
    if not path.exists():
        raise InputError(path, "missing: the pipeline's configuration file")
    text = path.read_text()
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        where = re.search(r"at line (\d+)", str(exc))  # python 3.11's tomllib has no .lineno
        line = getattr(exc, "lineno", None) or (int(where.group(1)) if where else None)
        raise InputError(path, f"not valid TOML: {exc}", line=line) from None
    unknown = set(data) - {"pipeline", "knobs"}
    if unknown:
        name = sorted(unknown)[0]
        raise InputError(path, f"unknown top-level table or key `{name}` (expected [pipeline], [knobs.*])",
                         line=_line_of(text, name))
    try:
        settings = PipelineSettings.model_validate(data.get("pipeline", {}))
    except ValidationError as exc:
        key = str(exc.errors()[0]["loc"][0])
        raise InputError(path, f"[pipeline] `{key}`: {exc.errors()[0]['msg']}",
                         line=_line_of(text, key, table="pipeline")) from None
    knobs: dict[str, dict] = {}
    for name, spec in data.get("knobs", {}).items():
        table = f"knobs.{name}"
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) or not isinstance(spec, dict):
            raise InputError(path, f"`knobs.{name}` must be a table named like an identifier",
                             line=_line_of(text, name))
        try:
            knobs[name] = Knob.model_validate(spec).model_dump(exclude_none=True)
        except ValidationError as exc:
            first = exc.errors()[0]
            key = str(first["loc"][0]) if first["loc"] else None
            line = _line_of(text, key, table=table) if key else _table_line(text, table)
            raise InputError(path, f"[{table}] {('`' + key + '`: ') if key else ''}"
                             f"{first['msg'].removeprefix('Value error, ')}", line=line) from None
    return {"pipeline": settings.model_dump(), "knobs": knobs,
            "values": {name: spec["default"] for name, spec in knobs.items()}}


def _table_line(text: str, table: str) -> int | None:
    header = re.compile(r"^\s*\[\s*" + re.escape(table).replace(r"\.", r"\s*\.\s*") + r"\s*\]")
    for number, line in enumerate(text.splitlines(), 1):
        if header.match(line):
            return number
    return None


def _line_of(text: str, key: str, table: str | None = None) -> int | None:
    """Line of `key = ...` inside `[table]` (or anywhere), else the table header's line."""
    lines = text.splitlines()
    start = (_table_line(text, table) or 0) if table else 0
    for number in range(start, len(lines)):
        line = lines[number].strip()
        if table and number > start and line.startswith("["):
            break
        if re.match(rf"{re.escape(key)}\s*=", line) or re.match(rf"\[\s*{re.escape(key)}[\].]", line):
            return number + 1
    return start or None
