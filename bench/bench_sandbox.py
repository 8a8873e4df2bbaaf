"""Per-case overhead of sandboxed pipeline execution over calling `generate` in-process.

Same pipeline (the shipped baseline: one guided call), same replay runner (no delay), N cases each
way; the difference of the per-case means is what the worker round trips and the sandbox cost.
Target: <= 50 ms per case. Worker start-up (once per evaluation) is reported separately.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

from loop.runners.client import RunnerClient
from loop.runners.model import DirectModel
from loop.sandbox.session import PipelineSession
from loop.sandbox.worker import load_pipeline

WORKSPACE = Path(__file__).resolve().parents[1] / "agent_workspace"
CASES = 40
TARGET_MS = 50.0


def _tasks(n: int) -> list[str]:
    return [f"Plan event number {i} for the team" for i in range(n)]


def _in_process(client: RunnerClient, tasks: list[str]) -> list[float]:
    generate = load_pipeline(WORKSPACE)
    times = []
    for task in tasks:
        trace: list[dict] = []
        started = time.perf_counter()
        generate(task, DirectModel(client, on_call=trace.append))
        times.append((time.perf_counter() - started) * 1000)
    return times


def _sandboxed(client: RunnerClient, tasks: list[str], mode: str) -> tuple[list[float], float, str]:
    started = time.perf_counter()
    with PipelineSession(WORKSPACE, client, case_timeout_s=60, sandbox=mode) as session:
        startup_ms = (time.perf_counter() - started) * 1000
        times = []
        for task in tasks:
            case_started = time.perf_counter()
            result = session.run_case(task)
            times.append((time.perf_counter() - case_started) * 1000)
            if result.error:
                raise RuntimeError(f"benchmark case failed: {result.error}")
        return times, startup_ms, session.mode


def main(cases: int = CASES) -> None:
    tasks = _tasks(cases)
    argv = [sys.executable, "-m", "loop.runners.replay_server", "serve", "--delay-ms", "0"]
    with RunnerClient(argv, name="replay") as client:
        _in_process(client, tasks[:3])  # warm up imports and the runner
        direct = _in_process(client, tasks)
        sandboxed, startup_ms, mode = _sandboxed(client, tasks, "auto")
    direct_ms, sandbox_ms = statistics.mean(direct), statistics.mean(sandboxed)
    overhead = sandbox_ms - direct_ms
    print(f"sandbox_mode: {mode}")
    print(f"sandbox_cases: {cases}")
    print(f"sandbox_in_process_ms_per_case: {direct_ms:.2f}")
    print(f"sandbox_sandboxed_ms_per_case: {sandbox_ms:.2f}")
    print(f"sandbox_sandboxed_p95_ms: {sorted(sandboxed)[int(0.95 * (len(sandboxed) - 1))]:.2f}")
    print(f"sandbox_overhead_ms_per_case: {overhead:.2f}")
    print(f"sandbox_worker_startup_ms: {startup_ms:.1f}")
    print(f"sandbox_overhead_target_ms: {TARGET_MS:.0f}")
    print(f"sandbox_overhead_within_target: {overhead <= TARGET_MS}")


if __name__ == "__main__":
    main()
