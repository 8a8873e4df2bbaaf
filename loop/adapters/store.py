"""The content-addressed adapter store: each adapter once, at `<store>/objects/<aa>/<sha256><suffix>`
(suffix `.gguf` or `.fmadapter`), read-only, outside the git history. Optional metadata (recipe, data
card, steps, final loss) sits beside it as `<sha256>.meta.json`.

Several workers share one store by naming it as `adapter_store` (a shared mount). Each worker then
keeps a local cache of it (`<repo>/.autoresearch/adapters`, the same layout): an adapter the worker
lacks is fetched from the shared store, its sha256 verified against the pointer, and the runner loads
the local copy (`open_store`).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from loop.adapters.digest import AdapterFormat, Digest, adapter_digest
from loop.adapters.pointer import AdapterPointer
from loop.errors import InputError

SUFFIX: dict[str, str] = {"gguf-lora": ".gguf", "fmadapter": ".fmadapter"}
_verified: dict[tuple, str] = {}  # stat fingerprint of a stored object -> sha256 it was verified to have


@dataclass(frozen=True)
class StoredAdapter:
    digest: Digest
    path: Path
    added: bool  # False: the same content was already stored


def store_root(config) -> Path:
    """The config's `adapter_store` (relative to the repo), default `<repo>/.autoresearch/adapters`."""
    configured = getattr(config, "adapter_store", None)
    if configured is None:
        return Path(config.repo) / ".autoresearch" / "adapters"
    configured = Path(configured).expanduser()
    return configured if configured.is_absolute() else Path(config.repo) / configured


def open_store(config) -> "AdapterStore":
    """The store an evaluation reads through: the configured one, with this worker's local cache in front
    of it when the configured store lies elsewhere (shared by several workers)."""
    root = store_root(config)
    local = Path(config.repo) / ".autoresearch" / "adapters"
    shared = getattr(config, "adapter_store", None) is not None and local.resolve() != root.resolve()
    return AdapterStore(root, cache=local if shared else None)


class AdapterStore:
    def __init__(self, root: Path, *, cache: Path | None = None):
        """`cache`: this worker's local copy of a shared store; objects are fetched into it on first use."""
        self.root = Path(root)
        self.cache = Path(cache) if cache is not None else None

    def object_path(self, sha256: str, fmt: AdapterFormat) -> Path:
        return self.root / "objects" / sha256[:2] / f"{sha256}{SUFFIX[fmt]}"

    def meta_path(self, sha256: str) -> Path:
        return self.root / "objects" / sha256[:2] / f"{sha256}.meta.json"

    def objects(self) -> list[Path]:
        base = self.root / "objects"
        return sorted(p for p in base.glob("*/*") if not p.name.endswith(".meta.json")) if base.is_dir() else []

    # --- writing -------------------------------------------------------------------------------
    def put(self, source: Path, *, move: bool = False) -> StoredAdapter:
        """Store an adapter by content; the same content twice is stored once."""
        source = Path(source)
        digest = adapter_digest(source)
        target = self.object_path(digest.sha256, digest.format)
        added = False
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=".incoming-", dir=target.parent))
            copy = staging / target.name
            if source.is_dir():
                shutil.copytree(source, copy, symlinks=False)
            else:
                shutil.copyfile(source, copy)
            if adapter_digest(copy) != digest:
                shutil.rmtree(staging, ignore_errors=True)
                raise OSError(f"{source}: changed while it was being copied into the store; try again")
            try:
                os.rename(copy, target)
                added = True
                _read_only(target)
            except OSError:  # stored meanwhile by another process: same content, keep theirs
                if not target.exists():
                    raise
            shutil.rmtree(staging, ignore_errors=True)
        if move:
            shutil.rmtree(source) if source.is_dir() else source.unlink()
        return StoredAdapter(digest=digest, path=target, added=added)

    def put_metadata(self, sha256: str, metadata: dict) -> Path:
        path = self.meta_path(sha256)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(metadata, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
        return path

    def metadata(self, sha256: str) -> dict | None:
        path = self.meta_path(sha256)
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None

    # --- reading -------------------------------------------------------------------------------
    def locate(self, pointer: AdapterPointer, pointer_path: Path) -> Path:
        """The stored object a pointer names, verified (size, then sha256 once per content per process).
        InputError naming the pointer file when it is missing or differs. With a cache: the local copy,
        fetched from this (shared) store first when the worker lacks it; a damaged shared object is
        refused before anything is copied."""
        if self.cache is None:
            return self._verified(pointer, pointer_path)
        local = AdapterStore(self.cache)
        if not local.object_path(pointer.sha256, pointer.format).exists():
            local.put(self._verified(pointer, pointer_path))
        return local.locate(pointer, pointer_path)

    def _verified(self, pointer: AdapterPointer, pointer_path: Path) -> Path:
        target = self.object_path(pointer.sha256, pointer.format)
        if not target.exists():
            raise InputError(pointer_path, f"adapter {pointer.sha256[:12]} ({pointer.format}) is not in the "
                                           f"adapter store {self.root}: register it with `autoresearch train "
                                           f"register` or restore the store")
        fingerprint = _fingerprint(target)
        size = fingerprint[-1] if target.is_file() else sum(entry[1] for entry in fingerprint[1])
        if size != pointer.size:
            raise InputError(pointer_path, f"stored adapter {target} has {size} bytes, the pointer says "
                                           f"{pointer.size}: the store is damaged or the pointer was edited")
        if _verified.get(fingerprint) != pointer.sha256:
            actual = adapter_digest(target).sha256
            if actual != pointer.sha256:
                raise InputError(pointer_path, f"stored adapter {target} has sha256 {actual}, the pointer says "
                                               f"{pointer.sha256}: the store is damaged or the pointer was edited")
            _verified[fingerprint] = actual
        return target


def _fingerprint(path: Path) -> tuple:
    if path.is_file():
        st = path.stat()
        return (str(path), st.st_ino, st.st_mtime_ns, st.st_size)
    files = tuple(sorted((p.relative_to(path).as_posix(), p.stat().st_size, p.stat().st_mtime_ns)
                         for p in path.rglob("*") if p.is_file()))
    return (str(path), files)


def _read_only(path: Path) -> None:
    """Stored files are read-only (directories stay writable so that a store can still be cleaned)."""
    for item in ([p for p in path.rglob("*") if p.is_file()] if path.is_dir() else [path]):
        mode = item.stat().st_mode
        item.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
