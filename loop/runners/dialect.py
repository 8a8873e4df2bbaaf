"""Schema dialects: the JSON-Schema subset each runner backend honours (guided output).

The data is `native/protocol/schema-dialects.json`, the one source of truth (the Swift core embeds the
same file). A runner's probe names its dialect (`Backend.dialect`); `dialect_for(backend)` is that
entry, or None when the runner does not say. `SchemaDialect.first_violation(schema)` finds the first
keyword (or type) outside the dialect with its JSON path, in the same words the Swift side uses:
`keyword 'minLength' at properties.title`.

The sandboxed pipeline cannot read `native/`: the trusted parent sends `SchemaDialect.model_dump()`
with each case and the pipeline's model handle exposes it as `model.dialect`.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any, Iterator, NamedTuple

from pydantic import BaseModel, ConfigDict

from loop.errors import InputError

DIALECTS_PATH = Path(__file__).resolve().parents[2] / "native" / "protocol" / "schema-dialects.json"
ROOT = "(root)"


class DialectViolation(NamedTuple):
    keyword: str
    path: str
    detail: str

    def message(self, dialect: str) -> str:
        return f"keyword '{self.keyword}' at {self.path} is not in the {dialect} schema dialect{self.detail}"


class SchemaDialect(BaseModel):
    """One entry of schema-dialects.json."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str
    full_json_schema: bool
    types: tuple[str, ...]
    keywords: tuple[str, ...]
    annotations: tuple[str, ...]

    def allows(self, keyword: str) -> bool:
        """May a schema in this dialect use `keyword` (a constraint or an annotation)?"""
        return self.full_json_schema or keyword in self.keywords or keyword in self.annotations

    def first_violation(self, schema: dict) -> DialectViolation | None:
        if self.full_json_schema:
            return None
        for path, node in _nodes(schema, ROOT):
            for key in node:
                if not self.allows(key):
                    return DialectViolation(key, path, "")
            kind = node.get("type")
            if kind is not None and kind not in self.types:
                return DialectViolation("type", path, f" (type {json.dumps(kind)}; the dialect has {', '.join(self.types)})")
        return None


def _child(path: str, suffix: str) -> str:
    return suffix if path == ROOT else f"{path}.{suffix}"


def _nodes(node: Any, path: str) -> Iterator[tuple[str, dict]]:
    """Every schema object in `node` with its path (properties.*, items, anyOf[i], $defs.*)."""
    if not isinstance(node, dict):
        return
    yield path, node
    for key in ("properties", "$defs"):
        children = node.get(key)
        if isinstance(children, dict):
            for name, child in children.items():
                yield from _nodes(child, _child(path, f"{key}.{name}"))
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            yield from _nodes(node[key], _child(path, key))
    if isinstance(node.get("anyOf"), list):
        for index, child in enumerate(node["anyOf"]):
            yield from _nodes(child, _child(path, f"anyOf[{index}]"))


@functools.lru_cache(maxsize=4)
def load_dialects(path: Path = DIALECTS_PATH) -> dict[str, SchemaDialect]:
    try:
        data = json.loads(Path(path).read_text())
        return {name: SchemaDialect(name=name, **entry) for name, entry in data["dialects"].items()}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(path, f"not a schema-dialects file: {exc}") from None


def dialect_named(name: str | None) -> SchemaDialect | None:
    if name is None:
        return None
    try:
        return load_dialects()[name]
    except KeyError:
        raise InputError(DIALECTS_PATH, f"the runner reports schema dialect {name!r}, which is not in this file "
                                        f"(known: {', '.join(load_dialects())})") from None


def dialect_for(backend) -> SchemaDialect | None:
    """The dialect a probed backend reports (None when it reports none)."""
    return dialect_named(getattr(backend, "dialect", None)) if backend is not None else None
