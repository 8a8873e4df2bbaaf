"""Evaluation speed: full-30 wall time parallel vs sequential, a repeat run's call counts, and how
much of each judge request sits in the cache-marked prefix.

Measured side by side in one run, with the real anthropic client against a scripted judge server that
answers after 500 ms and the replay runner answering after 100 ms (both real processes/sockets).
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import tempfile
from pathlib import Path

from loop.config import REPO_ROOT, load_config
from loop.db.session import upgrade
from loop.evaluate import evaluate
from loop.judges.anthropic_judge import AnthropicJudge, cached_prefix_share
from loop.schemas import DIMENSIONS
from tests.support.anthropic_server import ScriptedAnthropicServer, text_reply

JUDGE_DELAY_S = 0.5
RUNNER_DELAY_MS = 100


def scripted_judge(body: dict):
    """A plausible, deterministic judge: rubric replies when dims are asked for, else a verdict."""
    schema = body["output_config"]["format"]["schema"]
    seed = int(hashlib.sha256(json.dumps(body["messages"]).encode()).hexdigest(), 16)
    verdict = ("A", "tie", "B")[seed % 3]
    if "dims" in schema.get("properties", {}):
        dims = {d: 2 + (seed >> i) % 4 for i, d in enumerate(DIMENSIONS)}
        reply = {"reasoning": "scripted", "dims": dims, "failure_notes": "scripted", "verdict": verdict}
    else:
        reply = {"reasoning": "scripted", "verdict": verdict}
    return text_reply(json.dumps(reply))


def run(server: ScriptedAnthropicServer, db: Path, concurrency: int):
    config = load_config(REPO_ROOT, database_url=f"sqlite:///{db}", judge="anthropic", runner="replay",
                         anthropic_base_url=server.base_url, judge_concurrency=concurrency)
    upgrade(config)
    with AnthropicJudge(config, backoff_base_s=0.05) as judge:
        return evaluate(config, "full", judge=judge, progress=False)


def main() -> None:
    os.environ["AUTORESEARCH_REPLAY_DELAY_MS"] = str(RUNNER_DELAY_MS)
    os.environ.setdefault("ANTHROPIC_API_KEY", "bench-dummy")
    with tempfile.TemporaryDirectory() as tmp, ScriptedAnthropicServer(scripted_judge, delay_s=JUDGE_DELAY_S) as server:
        sequential = run(server, Path(tmp) / "seq.sqlite", concurrency=1)
        parallel = run(server, Path(tmp) / "par.sqlite", concurrency=16)
        repeat = run(server, Path(tmp) / "par.sqlite", concurrency=16)
        shares = [cached_prefix_share(body) for body in server.requests]
    print(f"eval_setup: 30 cases, judge server {JUDGE_DELAY_S * 1000:.0f} ms, replay runner {RUNNER_DELAY_MS} ms")
    print(f"eval_full_sequential_s: {sequential.wall_s:.2f}")
    print(f"eval_full_parallel_s: {parallel.wall_s:.2f}")
    print(f"eval_parallel_over_sequential: {parallel.wall_s / sequential.wall_s:.3f}  (target <= 0.15)")
    print(f"eval_repeat_model_calls: {repeat.model_calls}  (target 0)")
    print(f"eval_repeat_judge_calls: {repeat.judge_calls}  (target 0)")
    print(f"eval_repeat_wall_s: {repeat.wall_s:.2f}")
    print(f"eval_judge_errors: {parallel.summary.judge_errors}")
    print(f"eval_same_quality_on_repeat: {repeat.summary.quality == parallel.summary.quality}")
    print(f"judge_requests: {len(shares)}")
    print(f"judge_cached_prefix_share_mean: {statistics.mean(shares):.3f}")
    print(f"judge_cached_prefix_share_min: {min(shares):.3f}")
