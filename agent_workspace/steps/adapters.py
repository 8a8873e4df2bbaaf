"""The adapter named in `[pipeline]` (adapter_path, adapter_format), as the `adapter=` of a call."""

from __future__ import annotations

from pathlib import Path

WORKSPACE = Path(__file__).resolve().parent.parent


def adapter_from(settings: dict, workspace: Path = WORKSPACE) -> dict | None:
    path = (settings.get("adapter_path") or "").strip()
    if not path:
        return None
    resolved = Path(path) if Path(path).is_absolute() else workspace / path
    return {"path": str(resolved), "format": settings.get("adapter_format", "gguf-lora")}
