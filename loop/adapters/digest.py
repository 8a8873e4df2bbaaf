"""The content digest of an adapter: sha256 of a GGUF file; for an `.fmadapter` directory, sha256 over
its sorted entries, one line per regular file: `<relative posix path>\\0<size>\\0<sha256 hex>\\n`."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

AdapterFormat = Literal["gguf-lora", "fmadapter"]
FMADAPTER_SUFFIX = ".fmadapter"


@dataclass(frozen=True)
class Digest:
    sha256: str
    size: int  # bytes: the file, or every file of the directory added up
    format: AdapterFormat


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def format_of(path: Path) -> AdapterFormat:
    return "fmadapter" if Path(path).is_dir() or Path(path).suffix == FMADAPTER_SUFFIX else "gguf-lora"


def directory_entries(root: Path) -> list[tuple[str, int, str]]:
    """(relative path, size, sha256) of every regular file under `root`, sorted by path."""
    root = Path(root)
    entries = []
    for path in root.rglob("*"):
        if path.is_symlink():
            raise ValueError(f"{path}: an adapter directory may not contain symlinks")
        if path.is_file():
            entries.append((path.relative_to(root).as_posix(), path.stat().st_size, file_sha256(path)))
    return sorted(entries)


def directory_sha256(root: Path) -> tuple[str, int]:
    digest, total = hashlib.sha256(), 0
    for rel, size, sha in directory_entries(root):
        digest.update(f"{rel}\0{size}\0{sha}\n".encode("utf-8"))
        total += size
    return digest.hexdigest(), total


def adapter_digest(path: Path) -> Digest:
    """The digest, size and format of an adapter file or `.fmadapter` directory."""
    path = Path(path)
    if path.is_dir():
        sha, size = directory_sha256(path)
        return Digest(sha, size, "fmadapter")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no adapter file or directory there")
    return Digest(file_sha256(path), path.stat().st_size, "gguf-lora")
