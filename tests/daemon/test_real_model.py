"""End to end with the real SmolLM2 llama runner: `run --once --agent sweep` on a fresh clone."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SMOLLM2 = REPO / "models" / "smollm2" / "SmolLM2-135M-Instruct.Q4_1.gguf"


@pytest.mark.slow
# the baseline is now also scored on the 20 holdout cases and a keep is confirmed on fresh draws: about
# 90 real SmolLM2 answers in all, more than the suite's default 600 s on two loaded cores
@pytest.mark.timeout(1500)
def test_run_once_with_smollm2_on_a_fresh_clone(tmp_path, h, daemon_env):
    if not SMOLLM2.exists():
        pytest.fail(f"{SMOLLM2} missing: run `autoresearch models fetch --model smollm2 --model minilm`")
    repo = tmp_path / "repo"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(repo)], check=True)
    if not (repo / "ruler" / "RULER.lock").exists():
        from loop.ruler_lock import write_lock

        write_lock(repo / "ruler")
        h.git(repo, "add", "ruler/RULER.lock")
        h.git(repo, "commit", "-q", "-m", "lock the ruler")
    done = h.cli(repo, "run", "--once", "--agent", "sweep", "--runner", "llama", "--model", "smollm2", "--no-live",
                 env={"AUTORESEARCH_RUNNER": "llama", "AUTORESEARCH_MODELS_DIR": str(REPO / "models")},
                 timeout=1400)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = h.rows(h.config_for(repo, runner="llama", model="smollm2"))
    assert rows[0].status == "kept" and rows[0].agent == "baseline"
    assert rows[0].runner_model and "smollm2" in rows[0].runner_model.lower() or "SmolLM2" in rows[0].runner_model
    assert rows[1].status in ("kept", "discarded"), rows[1].reason
    assert rows[1].hypothesis.startswith("sweep: ") and rows[1].quality is not None
    assert rows[1].trace_svg and rows[1].trace_svg.lstrip().startswith("<svg")
    t = h.trailers(repo, "refs/experiments/0001")
    assert t["Runner-Model"].lower().startswith(rows[1].runner_model.lower())
    h.assert_git_clean(repo)
