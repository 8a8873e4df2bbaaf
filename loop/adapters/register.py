"""Registering an adapter: into the store (by content), its pointer into a workspace, and
`[pipeline] adapter_path` pointing at the pointer so every model call of the pipeline uses it.

The recipe and base model come from a small metadata file beside a dropped adapter
(`<adapter>.json` next to `x.gguf` → `x.gguf.json`, or `metadata.json` inside an `.fmadapter`
directory may carry them) or from the caller (`train register --recipe`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from loop.adapters.digest import format_of
from loop.adapters.pointer import POINTER_DIR, AdapterPointer, BaseModelRef, Recipe, write_pointer
from loop.adapters.store import AdapterStore, StoredAdapter
from loop.errors import InputError


class DropMetadata(BaseModel):
    """What a person says about a dropped adapter (the sidecar `<adapter>.json`)."""

    model_config = ConfigDict(extra="allow")
    recipe: Recipe
    name: str | None = None
    base_model: BaseModelRef | None = None


@dataclass(frozen=True)
class Registration:
    name: str
    pointer: AdapterPointer
    pointer_path: Path
    stored: StoredAdapter


def sidecar_path(adapter: Path) -> Path:
    return Path(adapter).with_name(Path(adapter).name + ".json")


def read_drop_metadata(adapter: Path, recipe: str | None = None) -> DropMetadata:
    """The sidecar of a dropped adapter; without one, `recipe` must be given. InputError otherwise."""
    sidecar = sidecar_path(adapter)
    if not sidecar.exists():
        if recipe is None:
            raise InputError(sidecar, f"adapter {Path(adapter).name} has no metadata file: write "
                                      f'{{"recipe": "sft"}} (sft|orpo|dpo) into {sidecar.name} beside it, '
                                      f"or register it with `autoresearch train register --recipe`")
        return DropMetadata(recipe=recipe)
    try:
        data = json.loads(sidecar.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(sidecar, f"not valid JSON: {exc.msg}", line=exc.lineno) from None
    if recipe is not None and isinstance(data, dict):
        data["recipe"] = recipe
    try:
        return DropMetadata.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InputError(sidecar, f"`{'.'.join(map(str, first['loc'])) or 'metadata'}`: {first['msg']}") from None


def check_fmadapter(path: Path) -> dict:
    """An `.fmadapter` directory needs a `metadata.json` holding a JSON object."""
    metadata = Path(path) / "metadata.json"
    if not metadata.is_file():
        raise InputError(metadata, "an .fmadapter directory needs metadata.json (the toolkit writes it)")
    try:
        data = json.loads(metadata.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(metadata, f"malformed adapter metadata: {exc}",
                         line=getattr(exc, "lineno", None)) from None
    if not isinstance(data, dict):
        raise InputError(metadata, "malformed adapter metadata: expected a JSON object")
    return data


def check_gguf(path: Path) -> None:
    with Path(path).open("rb") as fh:
        if fh.read(4) != b"GGUF":
            raise InputError(path, "not a GGUF file (no GGUF magic): a llama.cpp LoRA adapter is a .gguf file")


def adapter_name(source: Path, wanted: str | None = None) -> str:
    stem = wanted or Path(source).name.removesuffix(".gguf").removesuffix(".fmadapter")
    return re.sub(r"[^A-Za-z0-9_.-]", "_", stem).strip("._-")[:80] or "adapter"


def register_adapter(store: AdapterStore, source: Path, workspace: Path, *, recipe: str, base_model: BaseModelRef,
                     origin: str, name: str | None = None, move: bool = False,
                     metadata: dict | None = None) -> Registration:
    """Store `source`, write `adapters/<name>.json` into `workspace`, point pipeline.toml at it."""
    from loop.daemon.agents.pipeline_knobs import set_table_values

    source = Path(source)
    fmt = format_of(source)
    check_fmadapter(source) if fmt == "fmadapter" else check_gguf(source)
    stored = store.put(source, move=move)
    pointer = AdapterPointer(sha256=stored.digest.sha256, size=stored.digest.size, format=stored.digest.format,
                             base_model=base_model, recipe=recipe, source=origin)
    final_name = adapter_name(source, name)
    path = write_pointer(workspace, final_name, pointer)
    set_table_values(Path(workspace) / "pipeline.toml", "pipeline",
                     {"adapter_path": f"{POINTER_DIR}/{final_name}.json", "adapter_format": fmt})
    if metadata:
        store.put_metadata(stored.digest.sha256, {**(store.metadata(stored.digest.sha256) or {}), **metadata})
    return Registration(name=final_name, pointer=pointer, pointer_path=path, stored=stored)


def base_model_of(config) -> BaseModelRef:
    """The base model the configured portable runner uses (name and pinned sha256)."""
    from loop.models import REGISTRY

    spec = REGISTRY.get(config.model)
    if spec is None:
        return BaseModelRef(name=str(config.model))
    return BaseModelRef(name=spec.main_file, sha256=spec.files[0].sha256, signature=None)
