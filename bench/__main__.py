"""Run every benchmark module (bench/bench_*.py) in one process and print its figures.

Usage: python -m bench [NAME ...]   e.g. `python -m bench eval runner`
Each module has `main()` that prints greppable `key: value` lines measured side by side in this run.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
import traceback

import bench


def main(argv: list[str]) -> int:
    names = sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if m.name.startswith("bench_"))
    wanted = [n for n in names if not argv or n.removeprefix("bench_") in argv]
    failed = 0
    for name in wanted:
        print(f"\n## {name.removeprefix('bench_')}", flush=True)
        started = time.perf_counter()
        try:
            importlib.import_module(f"bench.{name}").main()
        except Exception:
            failed += 1
            traceback.print_exc()
            print(f"{name}_error: see traceback above")
        print(f"{name}_wall_s: {time.perf_counter() - started:.1f}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
