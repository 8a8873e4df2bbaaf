"""`python -m bench judges` (the proxies only; the LLM judge and the real baseline are bench figures):
it runs through the bench runner, prints every figure and the same ladder count as the sanity suite."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_bench_judges_prints_ladder_agreement_and_time_figures():
    env = {**os.environ, "BENCH_JUDGES_LOCAL_LADDERS": "0", "BENCH_JUDGES_BASELINE": "0"}
    done = subprocess.run([sys.executable, "-m", "bench", "judges"], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    out = done.stdout
    assert "bench_judges_error" not in out
    ordered = re.search(r"judges_proxy_v2_ladder_pairs_ordered: (\d+)/75", out)
    assert ordered and int(ordered.group(1)) >= 68, out  # >= 90 % of 75
    assert re.search(r"judges_proxy_v2_s_per_case: \d+\.\d{3}", out), out
    assert re.search(r"judges_agree_proxy_v2_vs_proxy_v1_verdict: raw \d+\.\d% +kappa -?\d\.\d{3}", out), out
    assert "judges_agree_proxy_v2_vs_proxy_v1_coverage" in out
    for gate in ("full", "dev"):  # the stored full-gate candidates, judged whatever BENCH_JUDGES_BASELINE says
        gap = re.search(rf"judges_stored_{gate}_baseline_minus_replay: ([+-]\d\.\d{{3}})  \(target >= 0.05; clearly", out)
        assert gap and float(gap.group(1)) >= 0.05, out


def test_bench_judges_full_gate_figures(capsys, tmp_path):
    """The replay-vs-baseline part on the full gate (the replay runner standing in for the baseline's llama
    runner, which is a `make bench` figure): full and dev figures from one run per runner (the dev line
    equals a dev-gate evaluation of its own), both gaps, and proxy v2 against v1 on the full gate's
    candidates."""
    from bench.bench_judges import replay_vs_baseline
    from loop.config import load_config
    from loop.db.session import upgrade
    from loop.evaluate import evaluate
    from loop.judges.proxy_v2 import ProxyV2Judge

    replay_vs_baseline(load_config(REPO), "full", baseline_runner="replay")
    out = capsys.readouterr().out
    full = re.search(r"judges_full_replay_quality: (\d\.\d{3})  \(W/T/L \d+/\d+/\d+, scored 30, wall \d+ s\)", out)
    dev = re.search(r"judges_dev_replay_quality: (\d\.\d{3})  \(W/T/L \d+/\d+/\d+, scored 10 ", out)
    assert full and dev and re.search(r"judges_full_baseline_quality: \d\.\d{3}", out), out
    assert "judges_full_baseline_minus_replay: +0.000" in out, out  # the same runner on both sides
    assert re.search(r"judges_dev_baseline_minus_replay: [+-]\d\.\d{3}", out), out
    assert "judges_full_candidates_agree_proxy_v2_vs_proxy_v1_candidates: 60  left_out: 0" in out, out
    assert re.search(r"judges_full_candidates_agree_proxy_v2_vs_proxy_v1_coverage: raw \d+\.\d%", out), out
    cfg = load_config(REPO, database_url=f"sqlite:///{tmp_path / 'r.sqlite'}", runner="replay", judge="proxy")
    upgrade(cfg)
    alone = evaluate(cfg, "dev", judge=ProxyV2Judge(), progress=False, use_cache=False)
    assert f"{alone.summary.quality:.3f}" == dev.group(1)
