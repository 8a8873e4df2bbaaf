"""The pointer file a workspace holds instead of the adapter: `agent_workspace/adapters/<name>.json`

    {"sha256": hex, "size": int, "format": "gguf-lora" | "fmadapter",
     "base_model": {"name": str, "sha256": str | null, "signature": str | null},
     "recipe": "sft" | "orpo" | "dpo", "source": str}

The lever of an experiment is derived from its pointers: any pointer → its recipe, else `inference`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from loop.adapters.digest import AdapterFormat
from loop.errors import InputError

POINTER_DIR = "adapters"  # relative to the workspace
Recipe = Literal["sft", "orpo", "dpo"]
RECIPES: tuple[str, ...] = ("sft", "orpo", "dpo")
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$"


class BaseModelRef(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    signature: str | None = None


class AdapterPointer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=1)
    format: AdapterFormat
    base_model: BaseModelRef
    recipe: Recipe
    source: str = Field(min_length=1)

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), indent=2) + "\n"


def pointer_dir(workspace: Path) -> Path:
    return Path(workspace) / POINTER_DIR


def is_pointer_path(path: Path | str) -> bool:
    return Path(path).suffix == ".json"


def read_pointer(path: Path) -> AdapterPointer:
    """Parse one pointer file; InputError naming the file (and the line of a JSON error)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(path, "adapter pointer file does not exist") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(path, f"adapter pointer is not valid JSON: {exc.msg}", line=exc.lineno) from None
    try:
        return AdapterPointer.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "pointer"
        raise InputError(path, f"adapter pointer field `{where}`: {first['msg']}") from None


def write_pointer(workspace: Path, name: str, pointer: AdapterPointer) -> Path:
    import re

    if not re.match(NAME_PATTERN, name) or name.endswith(".json"):
        raise ValueError(f"adapter name {name!r}: letters, digits, '.', '_' and '-' only, no .json suffix")
    path = pointer_dir(workspace) / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(pointer.to_json(), encoding="utf-8")
    return path


def pointer_files(workspace: Path) -> list[Path]:
    directory = pointer_dir(workspace)
    return sorted(directory.glob("*.json")) if directory.is_dir() else []


def lever_of(workspace: Path) -> str:
    """The strongest lever the workspace's pipeline uses: a pointer's recipe, else `inference`."""
    recipes = [read_pointer(path).recipe for path in pointer_files(workspace)]
    for recipe in RECIPES:  # several adapters: the first recipe in RECIPES order, deterministic
        if recipe in recipes:
            return recipe
    return "inference"


def derived_lever(workspace: Path) -> str:
    """The lever an experiment is recorded with; a malformed pointer counts as none here (the
    evaluation then refuses it, naming the file)."""
    try:
        return lever_of(workspace)
    except InputError:
        return "inference"
