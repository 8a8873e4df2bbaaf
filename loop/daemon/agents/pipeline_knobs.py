"""Reading the `[knobs.NAME]` tables of `pipeline.toml` and rewriting their defaults in place.

The file is edited textually (only the `default = ...` line of a knob changes), so comments, order
and formatting survive: the diff of a sweep experiment is exactly the knobs it moved.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from loop.errors import InputError
from loop.knob_schema import KnobSpec

KNOB_HEADER = re.compile(r"^\s*\[\s*knobs\.\"?([A-Za-z0-9_\-]+)\"?\s*\]\s*(#.*)?$")
ANY_HEADER = re.compile(r"^\s*\[")
DEFAULT_LINE = re.compile(r"^(\s*default\s*=\s*)(.*?)(\s+#.*)?$")


class Knob(KnobSpec):
    """A knob of the schema in loop/knob_schema.py (the one the pipeline loader uses), with its name."""

    name: str


def read_knobs(path: Path) -> dict[str, Knob]:
    """The searchable knobs declared in a pipeline.toml (may be empty)."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(path, f"not valid TOML: {exc}", line=getattr(exc, "lineno", None)) from None
    knobs: dict[str, Knob] = {}
    for name, table in (data.get("knobs") or {}).items():
        try:
            knobs[name] = Knob(name=name, **table)
        except ValidationError as exc:
            first = exc.errors()[0]
            key = ".".join(str(p) for p in first["loc"])
            raise InputError(path, f"[knobs.{name}] {('`' + key + '`: ') if key else ''}"
                                   f"{first['msg'].removeprefix('Value error, ')}") from None
        except TypeError as exc:
            raise InputError(path, f"[knobs.{name}]: {exc}") from None
    return knobs


def format_value(value: Any) -> str:
    """A TOML literal for a knob value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(round(value, 6))
    return json.dumps(str(value))  # a TOML basic string


def set_defaults(path: Path, values: dict[str, Any]) -> None:
    """Rewrite `default = ...` in each named `[knobs.NAME]` table, leaving every other byte alone."""
    path = Path(path)
    lines = path.read_text().splitlines(keepends=True)
    current: str | None = None
    pending = dict(values)
    for index, line in enumerate(lines):
        header = KNOB_HEADER.match(line)
        if header:
            current = header.group(1)
            continue
        if ANY_HEADER.match(line):
            current = None
            continue
        if current in pending:
            match = DEFAULT_LINE.match(line.rstrip("\n"))
            if match:
                newline = "\n" if line.endswith("\n") else ""
                value = format_value(pending.pop(current))
                lines[index] = f"{match.group(1)}{value}{match.group(3) or ''}{newline}"
    if pending:
        raise InputError(path, f"no `default = ...` line found for knob(s) {sorted(pending)}")
    path.write_text("".join(lines))


def describe_change(name: str, old: Any, new: Any) -> str:
    def short(v: Any) -> str:
        return f"{v:g}" if isinstance(v, float) else str(v)

    return f"{name} {short(old)}→{short(new)}"


def set_table_values(path: Path, table: str, values: dict[str, Any]) -> None:
    """Rewrite `key = ...` lines of one plain table (e.g. [pipeline]); missing keys are appended to it."""
    path = Path(path)
    lines = path.read_text().splitlines(keepends=True)
    inside, last_line_of_table, pending = False, None, dict(values)
    for index, line in enumerate(lines):
        if ANY_HEADER.match(line):
            inside = line.strip().split("#")[0].strip() == f"[{table}]"
            continue
        if not inside:
            continue
        if line.strip() and not line.lstrip().startswith("#"):
            last_line_of_table = index
        key = line.split("=", 1)[0].strip()
        if "=" in line and key in pending:
            match = re.match(r"^(\s*[A-Za-z0-9_\-]+\s*=\s*)(.*?)(\s+#.*)?$", line.rstrip("\n"))
            if match:
                lines[index] = f"{match.group(1)}{format_value(pending.pop(key))}{match.group(3) or ''}\n"
    if pending:
        extra = [f"{key} = {format_value(value)}\n" for key, value in pending.items()]
        if last_line_of_table is None:
            lines += [f"\n[{table}]\n", *extra]
        else:
            lines[last_line_of_table + 1:last_line_of_table + 1] = extra
    path.write_text("".join(lines))
