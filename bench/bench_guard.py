"""The guard's time per experiment, side by side in one run: the shipped workspace, and a large one
(the shipped workspace plus 10,000 small files and one 50 MB text file; target under 10 s), with the
semantic check on (the MiniLM embedder). Also its false positives on honest pipeline edits generated
from the step library (every knob value of pipeline.toml, and prompt-file rewrites; target 0).
"""

from __future__ import annotations

import itertools
import random
import shutil
import tempfile
import time
import tomllib
from pathlib import Path

from loop.daemon.guard import default_embedder, gold_index, scan_workspace

REPO = Path(__file__).resolve().parents[1]
SMALL_FILES = 10_000
BIG_MB = 50
HONEST_EDITS = 200
TARGET_S = 10.0
WORDS = ("keep each question short and concrete ask about one unknown at a time prefer plain words "
         "avoid yes or no questions when an open one helps order from most to least decision critical").split()


def _timed_scan(ws: Path, index, embedder) -> tuple[float, int, int]:
    global _last_cpu
    started, cpu = time.perf_counter(), time.process_time()
    scan = scan_workspace(ws, index, embedder)
    _last_cpu = time.process_time() - cpu
    return time.perf_counter() - started, len(scan.findings), scan.files


_last_cpu = 0.0  # CPU seconds of the last timed scan (all threads): less moved by other work on a shared box


def _grow(ws: Path) -> None:
    rng = random.Random(0)
    notes = ws / "data" / "notes"
    notes.mkdir(parents=True)
    for i in range(SMALL_FILES):
        (notes / f"n{i:05d}.md").write_text(" ".join(rng.choices(WORDS, k=12)) + f" (note {i})\n")
    line = lambda i: " ".join(rng.choices(WORDS, k=10)) + f" {i}\n"  # noqa: E731
    chunk = "".join(line(i) for i in range(20_000))
    with (ws / "data" / "style.txt").open("w") as out:
        while out.tell() < BIG_MB * 1_000_000:
            out.write(chunk)


def _honest_edits(ws: Path):
    """(label, edit) pairs: knob values of pipeline.toml, then rewritten prompt files."""
    spec = tomllib.loads((ws / "pipeline.toml").read_text())["knobs"]
    text = (ws / "pipeline.toml").read_text()
    for name, knob in spec.items():
        values = knob.get("choices") or ([knob["low"], knob["high"], (knob["low"] + knob["high"]) / 2]
                                          if "low" in knob else [])
        for value in values:
            yield f"{name}={value}", ("pipeline.toml", _set_default(text, name, value))
    rng = random.Random(1)
    for n in itertools.count():
        prompt = rng.choice(sorted(p.name for p in (ws / "prompts").glob("*.md")))
        body = (ws / "prompts" / prompt).read_text() + "\n" + " ".join(rng.choices(WORDS, k=20)) + ".\n"
        yield f"prompt {prompt} #{n}", (f"prompts/{prompt}", body)


def _set_default(text: str, knob: str, value) -> str:
    head, _, tail = text.partition(f"[knobs.{knob}]")
    lines = tail.split("\n")
    for i, line in enumerate(lines):
        if line.startswith("default"):
            lines[i] = f"default = {value!r}".replace("'", '"')
            break
    return head + f"[knobs.{knob}]" + "\n".join(lines)


def main() -> None:
    index = gold_index(REPO / "ruler")
    embedder = default_embedder()
    print(f"guard_semantic_check: {'on' if embedder is not None else 'off (minilm not fetched)'}")
    with tempfile.TemporaryDirectory(prefix="bench-guard-") as tmp:
        shipped = Path(tmp) / "shipped"
        shutil.copytree(REPO / "agent_workspace", shipped, ignore=shutil.ignore_patterns("__pycache__", ".cache"))
        wall, findings, files = _timed_scan(shipped, index, embedder)
        print(f"guard_shipped_s: {wall:.2f}  files: {files}  findings: {findings}")
        large = Path(tmp) / "large"
        shutil.copytree(shipped, large)
        _grow(large)
        wall_l, findings_l, files_l = _timed_scan(large, index, embedder)
        print(f"guard_large_s: {wall_l:.2f}  files: {files_l} (+{SMALL_FILES} small, one {BIG_MB} MB)  "
              f"findings: {findings_l}  target: < {TARGET_S:g} s  {'ok' if wall_l < TARGET_S else 'MISSED'}  "
              f"(cpu {_last_cpu:.2f} s)")
        warm, _, _ = _timed_scan(large, index, embedder)
        print(f"guard_large_warm_s: {warm:.2f}  (the same scan again in this process: per-file and per-line "
              "results cached in memory; the target is the cold figure above)")
        false_positives, done = [], 0
        for label, (rel, body) in itertools.islice(_honest_edits(shipped), HONEST_EDITS):
            original = (shipped / rel).read_text()
            (shipped / rel).write_text(body)
            if scan_workspace(shipped, index, embedder).findings:
                false_positives.append(label)
            (shipped / rel).write_text(original)
            done += 1
        print(f"guard_honest_edits: {done}  false_positives: {len(false_positives)}  target: 0"
              + (f"  ({', '.join(false_positives[:5])})" if false_positives else ""))


if __name__ == "__main__":
    main()
