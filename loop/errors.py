"""Errors that point a person at the exact file and line that is wrong."""

from __future__ import annotations

from pathlib import Path


class InputError(ValueError):
    """Bad input in a file the user (or the agent) wrote. Message names file and, if known, line."""

    def __init__(self, path: Path | str, message: str, line: int | None = None):
        self.path = Path(path)
        self.line = line
        self.detail = message
        where = f"{self.path}:{line}" if line is not None else f"{self.path}"
        super().__init__(f"{where}: {message}")
