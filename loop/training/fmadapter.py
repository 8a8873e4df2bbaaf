"""Validating a dropped `.fmadapter` directory before it is registered.

What the toolkit's export writes (`export.export_fmadapter`): a directory `<name>.fmadapter` holding
`metadata.json` (camelCase keys) and `adapter_weights.bin`, optionally a draft model. Apple's public
pages do not spell `metadata.json` out; the fields checked here are the ones exported packages carry
and the on-device runner reads (native/README.md): `adapterIdentifier` (`fmadapter-<name>-<7 hex of
the signature>`), `baseModelSignature` (40 lowercase hex: the system model the adapter is locked to),
`loraRank` (positive), and optional `author`, `description`, `license`,
`speculativeDecodingDraftTokenCount`, `creatorDefined`. The adapter name follows the toolkit's rule
(letters, digits, underscores). The signature must match the 7-hex prefix the runner's probe reports
(`base_model_signature`), when it reports one.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from loop.errors import InputError
from loop.training.apple_export import ADAPTER_NAME

METADATA = "metadata.json"
WEIGHTS = "adapter_weights.bin"


class FmadapterMetadata(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    adapter_identifier: str = Field(alias="adapterIdentifier", min_length=1)
    base_model_signature: str = Field(alias="baseModelSignature", pattern=r"^[0-9a-f]{40}$")
    lora_rank: int = Field(alias="loraRank", ge=1)
    author: str | None = None
    description: str | None = None
    license: str | None = None
    draft_token_count: int | None = Field(default=None, alias="speculativeDecodingDraftTokenCount", ge=1)
    creator_defined: dict | None = Field(default=None, alias="creatorDefined")

    @property
    def name(self) -> str:
        """The adapter name inside `fmadapter-<name>-<7 hex>`."""
        parts = self.adapter_identifier.split("-")
        return "-".join(parts[1:-1]) if len(parts) >= 3 and parts[0] == "fmadapter" else self.adapter_identifier


def _line_of(text: str, key: str) -> int | None:
    for number, line in enumerate(text.splitlines(), 1):
        if f'"{key}"' in line:
            return number
    return None


def validate_fmadapter(path: Path, runner_signature: str | None = None) -> FmadapterMetadata:
    """The package's metadata, or InputError naming the file (and line) of the first problem."""
    path = Path(path)
    if not path.is_dir() or path.suffix != ".fmadapter":
        raise InputError(path, "an Apple adapter is a directory named <name>.fmadapter (the toolkit's export)")
    meta_path = path / METADATA
    if not meta_path.is_file():
        raise InputError(meta_path, "an .fmadapter directory needs metadata.json (the toolkit's export writes it)")
    text = meta_path.read_text(encoding="utf-8", errors="replace")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(meta_path, f"malformed adapter metadata: {exc.msg} (column {exc.colno})",
                         line=exc.lineno) from None
    if not isinstance(data, dict):
        raise InputError(meta_path, "malformed adapter metadata: expected a JSON object")
    try:
        meta = FmadapterMetadata.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = str(first["loc"][0]) if first["loc"] else "metadata"
        raise InputError(meta_path, f"`{key}`: {first['msg']}", line=_line_of(text, key)) from None
    if not ADAPTER_NAME.match(meta.name):
        raise InputError(meta_path, f"adapter name {meta.name!r} (from adapterIdentifier): letters, digits and "
                                    f"underscores only", line=_line_of(text, "adapterIdentifier"))
    if not (path / WEIGHTS).is_file():
        raise InputError(path / WEIGHTS, "the package has no adapter weights (adapter_weights.bin)")
    if runner_signature and not meta.base_model_signature.startswith(runner_signature.lower()):
        raise InputError(meta_path, f"the adapter is locked to base model {meta.base_model_signature[:7]}…, but "
                                    f"the runner's system model is {runner_signature}…: retrain it with the "
                                    f"toolkit version for this OS", line=_line_of(text, "baseModelSignature"))
    return meta
