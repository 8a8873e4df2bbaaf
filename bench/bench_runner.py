"""Runner benchmark: the portable llama runner against llama.cpp called in-process.

Prints `key: value` lines: the model used, runner start-up (spawn + model load + first probe), per-answer
latency and decode speed through the runner, the same prompts answered by llama-cpp-python directly in
this process (same model file, schema grammar, greedy decoding, fresh context per call), the protocol's
overhead per answer (target <= 5%), the bare protocol round trip measured on the replay runner, and the
compiled `fm-runner --backend mock` (runner "apple-mock", the Apple code path) per guided call: client
round trip, the runner's own answer time, and their difference, the protocol overhead per call
(`python -m bench.bench_runner --fm-runner` prints only those).
Tokens per second = output tokens / the runner's whole answer time (prompt processing included).

Environment: BENCH_RUNNER_MODEL (default qwen1.5b when its file is present, else smollm2),
BENCH_RUNNER_ROUNDS (default 2 rounds over the 3 tasks), AUTORESEARCH_LLAMA_THREADS (llama.cpp threads).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
import uuid

from loop import models
from loop.runners.client import RunnerClient
from loop.runners.protocol import Output, Request, Sampling

TASKS = ("plan a trip to Paris", "organise a surprise birthday party for my sister", "learn to play the guitar")
INSTRUCTIONS = ("Restate the user's task as a short title, then ask exactly seven clarifying questions that "
                "must be answered before planning it. Reply in JSON.")
SCHEMA = {
    "type": "object",
    "properties": {"title": {"type": "string"},
                   "questions": {"type": "array", "items": {"type": "string"}, "minItems": 7, "maxItems": 7}},
    "required": ["title", "questions"],
    "additionalProperties": False,
}
MAX_TOKENS = 400
N_CTX = 4096


def pick_model() -> str:
    wanted = os.environ.get("BENCH_RUNNER_MODEL")
    if wanted:
        return wanted
    try:
        models.model_path("qwen1.5b")
        return "qwen1.5b"
    except models.ModelFileError:
        return "smollm2"


def threads() -> int | None:
    value = os.environ.get("AUTORESEARCH_LLAMA_THREADS")
    return int(value) if value else None


def runner_answer(client: RunnerClient, task: str) -> tuple[float, dict, str]:
    request = Request(id=uuid.uuid4().hex, op="generate", instructions=INSTRUCTIONS, prompt=f"Task: {task}",
                      sampling=Sampling(mode="greedy"), max_output_tokens=MAX_TOKENS,
                      output=Output(kind="json_schema", schema=SCHEMA))
    started = time.perf_counter()
    response = client.call(request)
    wall = time.perf_counter() - started
    if not response.ok:
        raise SystemExit(f"runner failed on {task!r}: {response.error}")
    return wall, {"latency_ms": response.timing.latency_ms, "out": response.usage.output_tokens}, response.text


def direct_answer(llm, grammar, task: str) -> tuple[float, str]:
    messages = [{"role": "system", "content": INSTRUCTIONS}, {"role": "user", "content": f"Task: {task}"}]
    started = time.perf_counter()
    llm.reset()
    result = llm.create_chat_completion(messages, grammar=grammar, temperature=0.0, top_k=1, top_p=1.0, min_p=0.0,
                                        seed=0, repeat_penalty=1.0, max_tokens=MAX_TOKENS)
    return time.perf_counter() - started, result["choices"][0]["message"]["content"]


def protocol_round_trip_ms(samples: int = 50) -> float:
    argv = [sys.executable, "-m", "loop.runners.replay_server", "serve"]
    with RunnerClient(argv, name="bench-replay") as client:
        times = []
        for i in range(samples):
            request = Request(id=str(i), op="generate", prompt="Task: x", output=Output(kind="json_schema", schema=SCHEMA))
            started = time.perf_counter()
            client.call(request)
            times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def fm_runner_mock_figures(samples: int = 300) -> None:
    """Per guided call on the compiled fm-runner mock, through the same client and dialect check the
    daemon uses: median round trip, the runner's own latency, and the difference (JSON + pipes + check)."""
    from loop.config import load_config
    from loop.runners.factory import fm_runner_path, open_runner

    config = load_config(runner="apple-mock")
    if not fm_runner_path(config).is_file():
        print(f"fm_runner_mock_overhead_ms_per_call: not measured ({fm_runner_path(config)} is not built: make native)")
        return
    with open_runner(config) as client:
        round_trip, inner, check = [], [], []
        for i in range(samples + 10):
            request = Request(id=str(i), op="generate", instructions=INSTRUCTIONS, prompt=f"Task: {TASKS[i % 3]}",
                              output=Output(kind="json_schema", schema=SCHEMA))
            started = time.perf_counter()
            client.check_schema(request)
            checked = time.perf_counter()
            response = client.call(request)
            if not response.ok:
                raise SystemExit(f"fm-runner mock refused the benchmark schema: {response.error}")
            if i >= 10:  # the first calls warm the process and the caches
                round_trip.append(time.perf_counter() - checked)
                inner.append(response.timing.latency_ms / 1000)
                check.append(checked - started)
    overhead = [r - i for r, i in zip(round_trip, inner)]
    print(f"fm_runner_mock_calls: {samples}")
    print(f"fm_runner_mock_round_trip_ms_median: {statistics.median(round_trip) * 1000:.3f}")
    print(f"fm_runner_mock_answer_ms_median: {statistics.median(inner) * 1000:.3f}")
    print(f"fm_runner_mock_overhead_ms_per_call: {statistics.median(overhead) * 1000:.3f}")
    print(f"fm_runner_mock_dialect_check_ms: {statistics.median(check) * 1000:.3f}")


def main() -> None:
    if "--fm-runner" in sys.argv[1:]:
        fm_runner_mock_figures()
        return
    from llama_cpp import Llama, LlamaGrammar

    name = pick_model()
    path = models.model_path(name)
    sha = models.REGISTRY[name].files[0].sha256
    rounds = int(os.environ.get("BENCH_RUNNER_ROUNDS", "2"))
    print(f"runner_model: {name} ({path.name})")
    print(f"runner_threads: {threads() or 'llama.cpp default'}")
    argv = [sys.executable, "-m", "loop.runners.llama_server", "serve", "--model", str(path), "--sha256", sha,
            "--n-ctx", str(N_CTX)] + (["--threads", str(threads())] if threads() else [])
    started = time.perf_counter()
    client = RunnerClient(argv, name="bench-llama")
    client.start()
    print(f"runner_startup_s: {time.perf_counter() - started:.2f}")
    load = next((line for line in client.stderr_tail(50) if "loaded" in line), "")
    if " in " in load:
        print(f"runner_model_load_s: {load.rsplit(' in ', 1)[1].rstrip('s')}")

    started = time.perf_counter()
    llm = Llama(model_path=str(path), n_ctx=N_CTX, n_threads=threads(), verbose=False)
    print(f"direct_model_load_s: {time.perf_counter() - started:.2f}")
    grammar = LlamaGrammar.from_json_schema(json.dumps(SCHEMA, sort_keys=True), verbose=False)

    via_runner, direct, inner, tokens, same, formatted = [], [], [], [], 0, 0
    try:
        runner_answer(client, "warm up")  # first-call costs (grammar compile, page faults) on both sides
        direct_answer(llm, grammar, "warm up")
        for round_no in range(rounds):
            for task in TASKS:  # interleaved, order alternating per round, so load from others hits both alike
                if round_no % 2:
                    d_wall, d_text = direct_answer(llm, grammar, task)
                    wall, figures, text = runner_answer(client, task)
                else:
                    wall, figures, text = runner_answer(client, task)
                    d_wall, d_text = direct_answer(llm, grammar, task)
                via_runner.append(wall)
                direct.append(d_wall)
                inner.append(figures["latency_ms"] / 1000)
                tokens.append(figures["out"])
                same += text == d_text
                formatted += len(json.loads(text).get("questions", [])) == 7
    finally:
        client.close()
    n = len(via_runner)
    print(f"runner_answers: {n}")
    print(f"runner_answer_latency_s_median: {statistics.median(via_runner):.3f}")
    print(f"runner_answer_latency_s_min: {min(via_runner):.3f}")
    print(f"runner_output_tokens_mean: {statistics.mean(tokens):.1f}")
    print(f"runner_output_tokens_per_s: {sum(tokens) / sum(inner):.1f}")
    print(f"runner_output_tokens_per_s_best: {max(t / s for t, s in zip(tokens, inner)):.1f}")
    print(f"runner_title_plus_7_rate: {formatted}/{n}")
    print(f"direct_answer_latency_s_median: {statistics.median(direct):.3f}")
    print(f"direct_answer_latency_s_min: {min(direct):.3f}")
    print(f"runner_vs_direct_same_text: {same}/{n}")
    # Other processes share these cores, so single timings swing widely (see the spread line); the
    # verdict uses the median of paired ratios, and the transport figures (client wall time minus the
    # runner's own generation time) isolate what the protocol itself costs.
    best_ratio = min(via_runner) / min(direct) - 1
    paired = statistics.median(r / d - 1 for r, d in zip(via_runner, direct))
    transport = [w - i for w, i in zip(via_runner, inner)]
    print(f"protocol_overhead_pct_best_vs_best: {best_ratio * 100:.2f}")
    print(f"protocol_overhead_pct_median_paired: {paired * 100:.2f}")
    print(f"protocol_transport_ms_per_answer_median: {statistics.median(transport) * 1000:.2f}")
    print(f"protocol_transport_pct_median: {statistics.median(t / i for t, i in zip(transport, inner)) * 100:.3f}")
    per_token = [d / t for d, t in zip(direct, tokens)]
    print(f"direct_per_token_time_spread_pct: {(max(per_token) / min(per_token) - 1) * 100:.1f}")
    print(f"protocol_overhead_within_5pct: {'yes' if paired <= 0.05 else 'no'}")
    print(f"protocol_round_trip_ms_replay: {protocol_round_trip_ms():.2f}")
    fm_runner_mock_figures()


if __name__ == "__main__":
    main()
