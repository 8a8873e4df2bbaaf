"""The portable runner: pipeline-gen/1 on llama.cpp (llama-cpp-python), GGUF models.

    python -m loop.runners.llama_server serve --model PATH [--sha256 HEX] [--n-ctx N] [--threads N]
    python -m loop.runners.llama_server probe --model PATH [--sha256 HEX]

- instructions -> system message, prompt -> user message, through the model's own chat template;
- greedy = temperature 0 (llama.cpp's greedy sampler); random = temperature (default 0.8) with top_k
  or top_p (default top_k 40 / top_p 0.95) and a seed (a fresh random seed when none is given);
- a fresh context per request (`reset()`, no KV reuse), so greedy output repeats exactly;
- output kind json_schema -> a GBNF grammar from the schema (minItems/maxItems honoured), the text
  parsed as JSON; a schema the converter cannot compile -> unsupported_schema;
- GGUF LoRA adapters: one Llama instance per adapter CONTENT (sha256: the request's `adapter.sha256`,
  else the file's), loaded on first use and kept; `probe` reports `adapter_loads`;
- `--sha256` given and the file differs -> every request answered model_hash_mismatch.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import secrets
import sys
import time
from pathlib import Path
from typing import Any

from loop.runners.protocol import Adapter, Backend, Request, Response, Sampling, Timing, Usage
from loop.runners.serve_loop import error_response, run_cli

DEFAULT_MAX_OUTPUT_TOKENS = 512  # title + 7 questions as JSON is ~150-250 tokens; a runaway greedy loop stops here
DEFAULT_TEMPERATURE = 0.8


def file_sha256(path: Path) -> str:
    """sha256 of a file, using `<file>.sha256` written by loop.models when it is newer than the file."""
    stamp = path.with_name(path.name + ".sha256")
    if stamp.exists() and stamp.stat().st_mtime >= path.stat().st_mtime:
        value = stamp.read_text().strip()
        if len(value) == 64:
            return value
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sampling_kwargs(sampling: Sampling | None) -> dict[str, Any]:
    """Protocol sampling -> llama-cpp-python create_chat_completion arguments."""
    sampling = sampling or Sampling(mode="greedy")
    if sampling.mode == "greedy":
        return {"temperature": 0.0, "top_k": 1, "top_p": 1.0, "min_p": 0.0, "seed": sampling.seed or 0}
    top_k = sampling.top_k
    top_p = sampling.top_p
    if top_k is None and top_p is None:
        top_k, top_p = 40, 0.95
    return {
        "temperature": DEFAULT_TEMPERATURE if sampling.temperature is None else sampling.temperature,
        "top_k": top_k or 0,  # 0 = no top-k cut
        "top_p": 1.0 if top_p is None else top_p,
        "min_p": 0.0,
        "seed": sampling.seed if sampling.seed is not None else secrets.randbelow(2**31),
    }


class LlamaBackend:
    """Holds the base model (loaded at start-up) and the adapter instances (loaded on first use)."""

    def __init__(self, model: Path, *, sha256: str | None = None, n_ctx: int = 4096, threads: int | None = None):
        self.model_path = Path(model)
        self.n_ctx = n_ctx
        self.threads = threads
        self.unavailable_code: str | None = None
        self._reason: str | None = None
        self._version: str | None = None
        self._instances: dict[str | None, Any] = {}
        self._hashed: dict[tuple, str] = {}  # (path, inode, size, mtime) -> content sha256
        self.adapter_loads = 0  # adapters loaded by this process (reported by probe)
        self._grammars: dict[str, Any] = {}
        self.load_s: float | None = None
        self._deadline: float | None = None  # perf_counter() time the current request must end by
        self._timed_out = False
        if not self.model_path.is_file():
            self._fail("model_unavailable", f"model file {self.model_path} does not exist")
            return
        actual = file_sha256(self.model_path)
        self._version = actual[:12]
        if sha256 and actual != sha256.lower():
            self._fail("model_hash_mismatch", f"model file {self.model_path.name} has sha256 {actual}, "
                                              f"expected {sha256.lower()}: refusing to run it")
            return
        started = time.perf_counter()
        try:
            self._instances[None] = self._load(None)
        except Exception as exc:  # llama.cpp reports load failures as ValueError/RuntimeError
            self._fail("model_unavailable", f"llama.cpp could not load {self.model_path.name}: {exc}")
            return
        self.load_s = time.perf_counter() - started
        print(f"llama runner: loaded {self.model_path.name} in {self.load_s:.2f}s", file=sys.stderr, flush=True)

    def _fail(self, code: str, reason: str) -> None:
        self.unavailable_code, self._reason = code, reason
        print(f"llama runner: {reason}", file=sys.stderr, flush=True)

    def _load(self, lora_path: str | None):
        from llama_cpp import Llama, StoppingCriteriaList

        llm = Llama(model_path=str(self.model_path), n_ctx=self.n_ctx, n_threads=self.threads,
                    lora_path=lora_path, verbose=False)
        # create_chat_completion takes no stopping criteria, but its chat handler calls
        # llm.create_completion(stopping_criteria=...): add the per-request deadline check there.
        original = llm.create_completion

        def create_completion(*args, stopping_criteria=None, **kwargs):
            criteria = StoppingCriteriaList([self._past_deadline, *(stopping_criteria or [])])
            return original(*args, stopping_criteria=criteria, **kwargs)

        llm.create_completion = create_completion
        return llm

    def _past_deadline(self, _input_ids, _logits) -> bool:
        if self._deadline is not None and time.perf_counter() > self._deadline:
            self._timed_out = True
        return self._timed_out

    def backend(self, adapter_signature: str | None = None) -> Backend:
        return Backend(name="llama", model=self.model_path.name, model_version=self._version,
                       os_build=platform.platform(), adapter_signature=adapter_signature,
                       available=self._reason is None, reason=self._reason, dialect="llama",
                       adapter_loads=self.adapter_loads)

    # --- generate --------------------------------------------------------------------------------
    def generate(self, request: Request) -> Response:
        started = time.perf_counter()
        if not request.prompt:
            return error_response(request.id, self.backend(), "bad_request", "generate needs a non-empty prompt")
        llm, signature, problem = self._instance(request.adapter)
        backend = self.backend(signature)
        if problem:
            return error_response(request.id, backend, *problem)
        grammar, problem = self._grammar(request)
        if problem:
            return error_response(request.id, backend, "unsupported_schema", problem)
        messages = ([{"role": "system", "content": request.instructions}] if request.instructions else [])
        messages.append({"role": "user", "content": request.prompt})
        kwargs = sampling_kwargs(request.sampling)
        kwargs["max_tokens"] = request.max_output_tokens or DEFAULT_MAX_OUTPUT_TOKENS
        self._deadline = started + request.timeout_s if request.timeout_s else None
        self._timed_out = False
        llm.reset()  # fresh context: no KV reuse between requests, so greedy output repeats
        try:
            result = llm.create_chat_completion(messages, grammar=grammar, repeat_penalty=1.0, **kwargs)
        except ValueError as exc:
            if "context window" in str(exc) or "exceed" in str(exc):
                return error_response(request.id, backend, "context_overflow", str(exc), latency_ms=_ms(started))
            raise
        finally:
            self._deadline = None
        if self._timed_out:
            return error_response(request.id, backend, "timeout", f"generation passed the request's "
                                  f"timeout_s={request.timeout_s:g}", retryable=True, latency_ms=_ms(started))
        return self._answer(request, result, backend, started)

    def _answer(self, request: Request, result: dict, backend: Backend, started: float) -> Response:
        choice = result["choices"][0]
        text = choice["message"].get("content") or ""
        usage = Usage(input_tokens=result["usage"]["prompt_tokens"], output_tokens=result["usage"]["completion_tokens"])
        latency = _ms(started)
        parsed = None
        if request.output and request.output.kind == "json_schema":
            try:
                parsed = json.loads(text)
            except json.JSONDecodeError as exc:
                cut = choice.get("finish_reason") == "length"
                why = (f"output stopped at max_output_tokens={request.max_output_tokens or DEFAULT_MAX_OUTPUT_TOKENS} "
                       "before the JSON was complete") if cut else f"output is not valid JSON ({exc})"
                return error_response(request.id, backend, "decoding_failure", why, retryable=not cut, text=text,
                                      usage=usage, latency_ms=latency)
        return Response(id=request.id, ok=True, text=text, json=parsed, usage=usage,
                        timing=Timing(latency_ms=latency), backend=backend)

    def _instance(self, adapter: Adapter | None):
        """(llama, adapter signature, error tuple or None) for a request's adapter. Instances are keyed by
        the adapter's content sha256 (the request's `adapter.sha256`, else the file's own), never by path:
        the same adapter from many worktrees is loaded once per runner process."""
        if adapter is None:
            return self._instances[None], None, None
        if adapter.format != "gguf-lora":
            return None, None, ("adapter_invalid", f"the llama runner takes gguf-lora adapters, not {adapter.format}")
        if adapter.sha256 and adapter.sha256 in self._instances:
            return self._instances[adapter.sha256], adapter.sha256[:12], None
        path = Path(adapter.path)
        if not path.is_file():
            return None, None, ("adapter_not_found", f"adapter file {adapter.path} does not exist")
        key = self._content_sha256(path)
        if adapter.sha256 and key != adapter.sha256:
            return None, None, ("adapter_invalid", f"{adapter.path}: content sha256 {key} differs from the "
                                                   f"request's adapter.sha256 {adapter.sha256}")
        if key not in self._instances:
            problem = self._adapter_problem(str(path.resolve()))
            if problem:
                return None, None, ("adapter_invalid", f"{adapter.path}: {problem}")
            try:
                self._instances[key] = self._load(str(path.resolve()))
            except Exception as exc:
                return None, None, ("adapter_invalid", f"llama.cpp could not apply {adapter.path}: {exc}")
            self.adapter_loads += 1
            print(f"llama runner: loaded adapter {key[:12]} from {adapter.path} "
                  f"({self.adapter_loads} adapter load(s) in this process)", file=sys.stderr, flush=True)
        return self._instances[key], key[:12], None

    def _content_sha256(self, path: Path) -> str:
        st = path.stat()
        fingerprint = (str(path.resolve()), st.st_ino, st.st_size, st.st_mtime_ns)
        if fingerprint not in self._hashed:
            self._hashed[fingerprint] = file_sha256(path)
        return self._hashed[fingerprint]

    def _adapter_problem(self, path: str) -> str | None:
        """Ask llama.cpp itself whether the file is a LoRA adapter for this model. Needed because
        llama-cpp-python 0.3.36 misses a NULL from llama_adapter_lora_init (it tests `is None` on a
        ctypes pointer) and then crashes on the first generate."""
        import llama_cpp

        with open(path, "rb") as fh:
            if fh.read(4) != b"GGUF":
                return "not a GGUF file"
        base = self._instances[None]
        adapter = llama_cpp.llama_adapter_lora_init(base._model.model, path.encode("utf-8"))
        if not adapter:
            return "llama.cpp could not read it as a LoRA adapter for this model (see the runner's stderr)"
        llama_cpp.llama_adapter_lora_free(adapter)
        return None

    def _grammar(self, request: Request):
        """(LlamaGrammar or None, problem or None)."""
        if not request.output or request.output.kind != "json_schema":
            return None, None
        schema = request.output.schema_
        if not schema:
            return None, "output kind json_schema needs a schema"
        key = json.dumps(schema, sort_keys=True)
        if key not in self._grammars:
            from llama_cpp import LlamaGrammar

            try:
                self._grammars[key] = LlamaGrammar.from_json_schema(key, verbose=False)
            except Exception as exc:  # the converter raises ValueError/AssertionError/KeyError/...
                return None, f"the llama runner cannot turn this JSON schema into a grammar: {type(exc).__name__}: {exc}"
        return self._grammars[key], None


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="GGUF model file")
    parser.add_argument("--sha256", help="expected sha256 of the model file; a mismatch refuses every request")
    parser.add_argument("--n-ctx", type=int, default=4096, help="context length (default 4096)")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: llama.cpp's choice)")


def main(argv: list[str] | None = None) -> int:
    return run_cli("pipeline-gen/1 runner on llama.cpp", _arguments,
                   lambda a: LlamaBackend(Path(a.model), sha256=a.sha256, n_ctx=a.n_ctx,
                                          threads=a.threads or _env_threads()), argv)


def _env_threads() -> int | None:
    value = os.environ.get("AUTORESEARCH_LLAMA_THREADS")
    return int(value) if value else None


if __name__ == "__main__":
    sys.exit(main())
