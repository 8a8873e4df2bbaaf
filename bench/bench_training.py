"""LoRA training on CPU, measured with the product's own code in one run.

SFT data: two training-pool tasks (agent_workspace/data/train.jsonl) rendered by the shipped pipeline
(`loop.training.render`, as `train data sft` does), one example a step (batch 1), cut at SEQ_TOKENS.
Each model trains with `loop.training.lora.train_sft` in its own fresh spawned process, so its peak
RSS (VmHWM) is its own: SmolLM2-135M, then Qwen2.5-Coder-0.5B (each loaded from the runner's GGUF,
dequantised to float32 by transformers).

Figures: lora_sft_<model>_s_per_step (with peak_rss_mb, batch, rank, steps, seq_tokens), lora_load_s per
model (GGUF into transformers, outside the s/step figure), lora_convert_s (the SmolLM2 adapter to a GGUF
LoRA, `loop.training.convert`), and the llama runner's greedy answer time on SmolLM2 without and with
that adapter, alternated, median of ANSWERS each: runner_answer_s_base / _adapter, adapter_overhead_ratio.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
import warnings
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

from loop.config import REPO_ROOT

MODELS = ("smollm2", "qwen0.5b")
EXAMPLES = 2
STEPS = 3
RANK = 8
SEQ_TOKENS = 256  # LoraSettings.max_tokens: an example longer than this is cut
LEARNING_RATE = 3e-3  # as tests/training/test_lora_real.py: enough for 3 steps to move the answer
ANSWERS = 5
ANSWER_TOKENS = 10  # below both greedy answers' natural length, so base and adapter emit the same count


def _sft_data(out_dir: Path) -> Path:
    """train.jsonl with EXAMPLES pool tasks, rendered by the shipped pipeline (the `train data sft` rows)."""
    from loop.ruler_files import load_cases
    from loop.training.render import PipelineRenderer

    workspace = out_dir / "agent_workspace"
    shutil.copytree(REPO_ROOT / "agent_workspace", workspace, ignore=shutil.ignore_patterns("__pycache__", ".cache"))
    rows = []
    with PipelineRenderer(workspace) as renderer:
        for case in load_cases(workspace / "data" / "train.jsonl")[:EXAMPLES]:
            call = renderer.render(case.task, case.gold)
            if call.error or call.calls != 1:
                raise RuntimeError(f"rendering {case.id}: {call.calls} calls, {call.error}")
            rows.append({"id": case.id, "task": case.task, "messages": [
                {"role": "system", "content": call.instructions}, {"role": "user", "content": call.prompt},
                {"role": "assistant", "content": call.answer_text}]})
    data = out_dir / "sft"
    data.mkdir()
    (data / "train.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return data


def _rss_mb(field: str) -> float | None:
    """VmHWM (peak) or VmRSS (now) of this process in MB; None where /proc is missing (macOS)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _peak_rss_mb() -> float:
    import resource

    peak = _rss_mb("VmHWM")
    if peak is not None:
        return peak
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return maxrss / (1 << 20) if sys.platform == "darwin" else maxrss / 1024  # bytes on macOS, KB on Linux


def train_child(data_dir: str, out_dir: str, gguf: str) -> dict:
    """Runs in a fresh spawned process: one train_sft run; its figures and this process's peak RSS."""
    from loop.training import deps

    deps.offline_env()
    os.environ["TQDM_DISABLE"] = "1"  # transformers' own dequantising bar
    warnings.simplefilter("ignore", FutureWarning)
    import torch

    from loop.training import lora

    seen: dict = {}
    encode_all = lora.encode_all

    def recording(tokenizer, examples, path, max_tokens):  # the sequence lengths, and the RSS after loading
        encoded = encode_all(tokenizer, examples, path, max_tokens)
        seen.update(tokens=[len(ids) for ids, _ in encoded], load_rss_mb=_rss_mb("VmRSS"),
                    load_peak_mb=_rss_mb("VmHWM"), cpu=time.process_time())
        return encoded

    lora.encode_all = recording
    settings = lora.LoraSettings(rank=RANK, alpha=2 * RANK, steps=STEPS, learning_rate=LEARNING_RATE,
                                 max_tokens=SEQ_TOKENS, save_every=STEPS)
    result = lora.train_sft(Path(data_dir), Path(out_dir), Path(gguf), settings, log=lambda _: None, progress=False)
    cpu_per_step = (time.process_time() - seen.pop("cpu")) / STEPS  # all threads; less moved by other work
    return {"result": result.model_dump(), "peak_rss_mb": _peak_rss_mb(), "threads": torch.get_num_threads(),
            "cpu_s_per_step": cpu_per_step, **seen}


def _train(name: str, data: Path, root: Path) -> dict | None:
    from loop import models

    try:
        gguf = models.model_path(name)
    except models.ModelFileError as exc:  # not fetched, or not the registered file
        print(f"lora_sft_{_key(name)}_s_per_step: skipped ({exc})")
        return None
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        started = time.perf_counter()
        child = pool.submit(train_child, str(data), str(root / f"run-{name}"), str(gguf)).result()
    child["wall_s"] = time.perf_counter() - started
    child["gguf"] = str(gguf)
    return child


def _key(name: str) -> str:
    return name.replace(".", "")


def _print_training(name: str, child: dict) -> None:
    result, key = child["result"], _key(name)
    tokens = child.get("tokens") or [0]
    load_rss = child.get("load_rss_mb")
    print(f"lora_sft_{key}_s_per_step: {result['s_per_step']:.2f}  peak_rss_mb: {child['peak_rss_mb']:.0f}  "
          f"batch: 1  rank: {RANK}  steps: {result['steps']}  seq_tokens: {min(tokens)}-{max(tokens)} "
          f"(cap {SEQ_TOKENS})  torch_threads: {child['threads']}  cpu_s_per_step: {child['cpu_s_per_step']:.2f}")
    after = (f"  rss_after_load_mb: {load_rss:.0f}  peak_during_load_mb: {child['load_peak_mb']:.0f}"
             if load_rss else "")
    print(f"lora_load_s: {result['load_s']:.1f}  model: {name}  (GGUF {Path(child['gguf']).name} into transformers, "
          f"float32; not in s/step){after}")
    print(f"lora_{key}_losses: {' '.join(f'{v:.3f}' for v in result['losses'])}  "
          f"child_wall_s: {child['wall_s']:.1f} (spawn + imports + load + steps + save)")


def _convert(child: dict, root: Path) -> Path:
    from loop.training.convert import base_facts, convert

    converted = convert(Path(child["result"]["adapter_dir"]), Path(child["gguf"]), root / "smollm2-sft.gguf")
    size_kb = Path(converted.path).stat().st_size / 1024
    started = time.perf_counter()
    base_facts(Path(child["gguf"]))  # the converter's read of the base GGUF (all its metadata), timed alone
    facts_s = time.perf_counter() - started
    print(f"lora_convert_s: {converted.seconds:.2f}  tensors: {converted.tensors}  size_kb: {size_kb:.0f}  "
          f"(of which ~{facts_s:.2f} s is base_facts: GGUFReader parsing the base model's metadata)")
    return Path(converted.path)


def _answer(client, row: dict, adapter) -> tuple[float, str, int, int]:
    """(seconds, text, input tokens, output tokens) of one greedy answer to the row's prompt."""
    from loop.runners.protocol import Request, Sampling

    system, user = row["messages"][0]["content"], row["messages"][1]["content"]
    started = time.perf_counter()
    response = client.call(Request(id=uuid.uuid4().hex, op="generate", instructions=system, prompt=user,
                                   sampling=Sampling(mode="greedy"), max_output_tokens=ANSWER_TOKENS, adapter=adapter))
    seconds = time.perf_counter() - started
    if not response.ok:
        raise RuntimeError(f"runner: {response.error}")
    usage = response.usage
    return seconds, response.text or "", usage.input_tokens or 0, usage.output_tokens or 0


def _runner_overhead(gguf: Path, lora: Path, row: dict) -> None:
    from loop.runners.client import RunnerClient
    from loop.runners.protocol import Adapter, adapter_digest

    adapter = Adapter(path=str(lora), format="gguf-lora", sha256=adapter_digest(lora))
    argv = [sys.executable, "-m", "loop.runners.llama_server", "serve", "--model", str(gguf), "--n-ctx", "2048",
            "--threads", "2"]
    with RunnerClient(argv, timeout_s=180, name="bench-training") as client:
        _answer(client, row, None)  # warm-up: the first answer of a fresh process
        first_adapter_s, _, prompt_tokens, _ = _answer(client, row, adapter)  # loads the adapter instance
        base_s, adapter_s = [], []
        for _ in range(ANSWERS):
            seconds, plain_text, _, n_base = _answer(client, row, None)
            base_s.append(seconds)
            seconds, adapted_text, _, n_adapter = _answer(client, row, adapter)
            adapter_s.append(seconds)
        loads = client.probe().adapter_loads
    base, adapted = statistics.median(base_s), statistics.median(adapter_s)
    print(f"runner_answer_s_base: {base:.3f}  runner_answer_s_adapter: {adapted:.3f}  "
          f"adapter_overhead_ratio: {adapted / base:.2f}  (SmolLM2, greedy, {prompt_tokens} prompt tokens, "
          f"max {ANSWER_TOKENS}: output tokens base {n_base} / adapter {n_adapter}, median of {ANSWERS} each, "
          "alternated)")
    changed = "yes" if adapted_text != plain_text else "no"
    print(f"runner_adapter_first_answer_s: {first_adapter_s:.2f}  (loads the adapter instance)  "
          f"adapter_loads: {loads}  adapter_changed_answer: {changed} (first {ANSWER_TOKENS} tokens)")


def main() -> None:
    from loop.training import deps

    lacking = [name for name in deps.missing() if name in ("torch", "transformers", "peft", "gguf", "safetensors")]
    if lacking:
        print(f"lora_training: skipped (the [train] extra is missing: {', '.join(lacking)} not importable; "
              "`make train-deps` installs it)")
        return
    deps.offline_env()  # inherited by the spawned training processes
    with tempfile.TemporaryDirectory(prefix="bench-training-") as tmp:
        root = Path(tmp)
        data = _sft_data(root)
        trained = {}
        for name in MODELS:
            child = _train(name, data, root)
            if child is not None:
                _print_training(name, child)
                trained[name] = child
        if "smollm2" not in trained:
            return
        lora = _convert(trained["smollm2"], root)
        row = json.loads((data / "train.jsonl").read_text().splitlines()[0])
        _runner_overhead(Path(trained["smollm2"]["gguf"]), lora, row)


if __name__ == "__main__":
    main()
