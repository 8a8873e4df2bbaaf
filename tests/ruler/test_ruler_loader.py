"""What runs is what is locked: ruler code is loaded from source only, bytecode under ruler/ is never
executed nor written, and a planted `ruler/__pycache__` fails `ruler verify` and changes the ruler id."""

from __future__ import annotations

import importlib.util
import os
import py_compile
import shutil
import subprocess
import sys
from pathlib import Path

from loop.ruler_files import ruler_id
from loop.ruler_lock import verify_lock, write_lock

FORGED_VALUE = 0.987654


def forge_bytecode(ruler: Path) -> Path:
    """An "unchecked-hash" pyc for ruler/scoring.py (Python runs it without looking at the source)."""
    source = (ruler / "scoring.py").read_text()
    forged_src = ruler.parent / "forged_scoring.py"
    forged_src.write_text(source + f"\nPAIRWISE_SCORE = {{'candidate': {FORGED_VALUE}, 'tie': 1.0, 'gold': 1.0}}\n")
    target = Path(importlib.util.cache_from_source(str(ruler / "scoring.py")))
    target.parent.mkdir(exist_ok=True)
    py_compile.compile(str(forged_src), cfile=str(target), dfile=str(ruler / "scoring.py"),
                       invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH, doraise=True)
    return target


def import_score(root: Path, import_loop_first: bool) -> str:
    code = ("import loop\n" if import_loop_first else "") + (
        "import ruler.scoring as s, sys\nprint(s.PAIRWISE_SCORE['candidate'], s.__file__)")
    env = {**os.environ, "PYTHONPATH": str(root)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    out = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_forged_bytecode_runs_without_the_loader_and_never_with_it(tmp_path: Path, repo_root: Path):
    shutil.copytree(repo_root / "ruler", tmp_path / "ruler", ignore=shutil.ignore_patterns("__pycache__"))
    forge_bytecode(tmp_path / "ruler")
    plain = import_score(tmp_path, import_loop_first=False)
    assert plain.startswith(str(FORGED_VALUE)) and str(tmp_path) in plain  # the attack is real
    guarded = import_score(tmp_path, import_loop_first=True)
    assert not guarded.startswith(str(FORGED_VALUE)) and str(tmp_path) in guarded


def test_loading_the_ruler_writes_no_bytecode(tmp_path: Path, repo_root: Path):
    shutil.copytree(repo_root / "ruler", tmp_path / "ruler", ignore=shutil.ignore_patterns("__pycache__"))
    import_score(tmp_path, import_loop_first=True)
    assert not (tmp_path / "ruler" / "__pycache__").exists()
    import_score(tmp_path, import_loop_first=False)  # plain Python does write it: the check above can fail
    assert (tmp_path / "ruler" / "__pycache__").exists()


def test_a_planted_pycache_fails_verify_and_changes_the_ruler_id(project_copy: Path):
    ruler = project_copy / "ruler"
    write_lock(ruler)
    before = ruler_id(ruler, "proxy:x")
    (ruler / "__pycache__").mkdir()
    assert verify_lock(ruler) == ["bytecode directory: __pycache__/ (ruler code is loaded from source only: "
                                  "bytecode under ruler/ was planted; delete it)"]
    forge_bytecode(ruler)
    problems = verify_lock(ruler)
    assert len(problems) == 1 and problems[0].startswith("added: __pycache__/scoring.cpython-")
    assert ruler_id(ruler, "proxy:x") != before


def test_an_extension_module_beside_the_source_is_refused(tmp_path: Path, repo_root: Path):
    shutil.copytree(repo_root / "ruler", tmp_path / "ruler", ignore=shutil.ignore_patterns("__pycache__"))
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    (tmp_path / "ruler" / f"scoring{suffix}").write_bytes(b"\x7fELF not really")
    code = "import loop\nimport ruler.scoring"
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(tmp_path)},
                         capture_output=True, text=True, timeout=60)
    assert out.returncode != 0 and "loaded from .py source only" in out.stderr
