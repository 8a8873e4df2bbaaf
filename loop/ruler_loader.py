"""Ruler code runs from its locked source, never from bytecode.

Python would otherwise execute `ruler/__pycache__/*.pyc` (a forged "unchecked-hash" pyc is run whatever
the source says) or an extension module planted beside `scoring.py`, and write `ruler/__pycache__` on
every import. `install()` puts a finder first on `sys.meta_path` for `ruler` and `ruler.*`: it loads
only `.py` sources, compiles them in memory, and never reads or writes bytecode, so an honest loop never
creates `ruler/__pycache__` and the lock (which covers every file under `ruler/`) catches a planted one.
`loop/__init__.py` installs it, so every entry point that imports `loop` is covered.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys

PACKAGE = "ruler"


class SourceOnlyLoader(importlib.machinery.SourceFileLoader):
    def get_code(self, fullname):
        path = self.get_filename(fullname)
        return self.source_to_code(self.get_data(path), path)

    def set_data(self, path, data, *, _mode=0o666):  # never write bytecode
        return None


class RulerFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):
        if fullname != PACKAGE and not fullname.startswith(PACKAGE + "."):
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None:
            return None
        origin = spec.origin or ""
        if not origin.endswith(".py"):
            raise ImportError(f"{fullname}: ruler code is loaded from .py source only, found {origin!r}")
        spec.loader = SourceOnlyLoader(fullname, origin)
        spec.cached = None
        return spec


def install() -> None:
    if not any(isinstance(f, RulerFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, RulerFinder())
    stale = [name for name, module in list(sys.modules.items())
             if (name == PACKAGE or name.startswith(PACKAGE + "."))
             and not isinstance(getattr(module, "__loader__", None), SourceOnlyLoader)]
    for name in sorted(stale, key=len):  # imported before the finder: load again from source
        importlib.reload(sys.modules[name])
