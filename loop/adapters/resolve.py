"""Resolving a pipeline's adapter for a model call, on the trusted side (outside the sandbox).

A pipeline names a pointer (`adapters/<name>.json`, relative to its workspace). The parent reads the
pointer, finds the stored object, verifies size and sha256, and hands the runner the stored path with
its sha256, by which the runner caches the loaded adapter. A raw adapter path (no pointer) is passed
on without a sha256: the runner hashes it itself.
"""

from __future__ import annotations

from pathlib import Path

from loop.adapters.pointer import AdapterPointer, is_pointer_path, pointer_dir, pointer_files, read_pointer
from loop.adapters.store import AdapterStore
from loop.errors import InputError
from loop.runners.protocol import Adapter


class AdapterResolver:
    def __init__(self, workspace: Path, store: AdapterStore | None):
        self.workspace = Path(workspace).resolve()
        self.store = store

    def resolve(self, adapter: Adapter) -> Adapter:
        path = Path(adapter.path)
        path = (path if path.is_absolute() else self.workspace / path).resolve()
        if not is_pointer_path(path):
            return Adapter(path=str(path), format=adapter.format, sha256=None)
        if not path.is_relative_to(pointer_dir(self.workspace).resolve()):
            raise ValueError(f"adapter pointer {adapter.path!r} is not in the workspace's adapters/ directory")
        pointer = read_pointer(path)
        return Adapter(path=str(self.locate(pointer, path)), format=pointer.format, sha256=pointer.sha256)

    def locate(self, pointer: AdapterPointer, pointer_path: Path) -> Path:
        if self.store is None:
            raise InputError(pointer_path, "this evaluation has no adapter store configured, so the pointer "
                                           "cannot be resolved")
        return self.store.locate(pointer, pointer_path)

    def check_workspace(self) -> list[AdapterPointer]:
        """Every pointer of the workspace resolves to a verified stored adapter, or InputError naming it."""
        checked = []
        for path in pointer_files(self.workspace):
            pointer = read_pointer(path)
            self.locate(pointer, path)
            checked.append(pointer)
        return checked


def check_workspace_adapters(workspace: Path, store: AdapterStore | None) -> list[AdapterPointer]:
    """Before an evaluation: a missing or altered adapter is an input error, never a score."""
    return AdapterResolver(workspace, store).check_workspace()
