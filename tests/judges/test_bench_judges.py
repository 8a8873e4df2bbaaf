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
