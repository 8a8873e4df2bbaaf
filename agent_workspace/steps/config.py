"""Load and validate `pipeline.toml`: a `[pipeline]` table and one `[knobs.NAME]` table per
searchable parameter. Errors are `InputError`s naming the file and line.

Returns {"pipeline": {...}, "knobs": {name: spec}, "values": {name: default}}; a pipeline reads its
knob values from `values` (the sweep agent rewrites the `default`s).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from loop.errors import InputError
from loop.knob_schema import KnobSpec

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


Knob = KnobSpec  # the knob schema is declared once, in the product (loop/knob_schema.py)


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
