"""The shipped ruler has the shapes DESIGN.md fixes: 30 cases, dev = 10 ids, 20 holdout cases."""

from __future__ import annotations

from pathlib import Path

from loop.ruler_files import gate_cases, load_cases


def test_gates_and_counts(repo_root: Path):
    ruler = repo_root / "ruler"
    assert len(gate_cases(ruler, "full")) == 30
    assert len(gate_cases(ruler, "dev")) == 10
    assert len(load_cases(ruler / "holdout.jsonl")) == 20
    ids = {c.id for c in gate_cases(ruler, "full")} | {c.id for c in load_cases(ruler / "holdout.jsonl")}
    assert len(ids) == 50


def test_every_ruler_file_says_it_is_frozen(repo_root: Path):
    ruler = repo_root / "ruler"
    for path in sorted(ruler.rglob("*")):
        if path.is_file() and path.name != "RULER.lock" and "__pycache__" not in path.parts:
            head = path.read_text()[:600].upper()
            assert "FROZEN" in head, f"{path} does not say at its top that it is frozen"
