"""The compiled fm-runner (mock backend) and the Python protocol agree on adapters by content and on the
probe fields added for macOS 27 (issue 9): one load per adapter per process however many paths it is
used from, the same digest in Swift and Python (`adapter_digest`), `adapter_unsupported` where the
backend cannot load adapters, and a malformed metadata.json named in the error.

Builds nothing: uses native/.build/{release,debug}/fm-runner when present (`make native` builds it)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from loop.runners.client import RunnerClient
from loop.runners.protocol import Adapter, Backend, Request, adapter_digest, load_schema

NATIVE = Path(__file__).resolve().parents[2] / "native"
CANDIDATES = [NATIVE / ".build" / "release" / "fm-runner", NATIVE / ".build" / "debug" / "fm-runner"]
BINARY = next((path for path in CANDIDATES if path.exists()), CANDIDATES[0])
needs_binary = pytest.mark.skipif(not BINARY.exists(), reason="fm-runner not built here: run `make native`")
SIGNATURE = "9799725ff8e851184037110b422d891ad3b92ec1"


def make_fmadapter(where: Path, weights: bytes = b"WEIGHTS", metadata: str | None = None) -> Path:
    where.mkdir(parents=True)
    (where / "metadata.json").write_text(metadata or json.dumps(
        {"adapterIdentifier": "fmadapter-t-9799725", "baseModelSignature": SIGNATURE}))
    (where / "adapter_weights.bin").write_bytes(weights)
    return where


def mock_runner(**env: str) -> RunnerClient:
    return RunnerClient([str(BINARY), "serve", "--backend", "mock"], env={**os.environ, **env},
                        timeout_s=30, name="fm-runner-adapters")


def generate(client: RunnerClient, path: Path, sha256: str | None = None):
    return client.call(Request(id="g", op="generate", prompt="Task: plan a trip",
                                  adapter=Adapter(path=str(path), format="fmadapter", sha256=sha256)))


def test_digest_is_the_sha256_of_the_sorted_manifest(tmp_path):
    adapter = make_fmadapter(tmp_path / "a.fmadapter")
    (adapter / "draft").mkdir()
    (adapter / "draft" / "draft.mil").write_bytes(b"d")
    import hashlib

    def sha(data: bytes) -> str:
        return hashlib.sha256(data).hexdigest()

    meta = (adapter / "metadata.json").read_bytes()
    manifest = (f"adapter_weights.bin\t7\t{sha(b'WEIGHTS')}\n" f"draft/draft.mil\t1\t{sha(b'd')}\n"
                f"metadata.json\t{len(meta)}\t{sha(meta)}\n")
    assert adapter_digest(adapter) == sha(manifest.encode())
    copy = shutil.copytree(adapter, tmp_path / "elsewhere" / "b.fmadapter")
    assert adapter_digest(copy) == adapter_digest(adapter)
    (copy / "adapter_weights.bin").write_bytes(b"WEIGHTS!")
    assert adapter_digest(copy) != adapter_digest(adapter)


def test_schema_and_models_carry_the_new_probe_fields_and_error_code():
    schema = load_schema()["$defs"]
    fields = {"model_variant", "base_model_signature", "context_tokens", "adapters_supported", "adapter_loads"}
    assert fields <= set(schema["Backend"]["properties"]) and fields <= set(Backend.model_fields)
    assert fields.isdisjoint(schema["Backend"]["required"]), "new fields stay optional (backward compatible)"
    assert "adapter_unsupported" in schema["Error"]["properties"]["code"]["enum"]
    assert "sha256" in schema["Adapter"]["properties"] and "sha256" not in schema["Adapter"]["required"]
    with pytest.raises(ValueError):
        Adapter(path="/a", format="fmadapter", sha256="ABC")


@needs_binary
def test_five_worktrees_one_adapter_one_load_and_swift_agrees_with_python_on_the_digest(tmp_path):
    paths = [make_fmadapter(tmp_path / f"wt{i}" / "adapters" / "x.fmadapter") for i in range(5)]
    with mock_runner() as client:
        assert client.probe().adapter_loads == 0
        for path in paths:
            response = generate(client, path)
            assert response.ok and response.backend.adapter_signature == SIGNATURE
        assert client.probe().adapter_loads == 1
        # The digest Python computes is the key Swift computed: naming it explicitly loads nothing new.
        assert generate(client, paths[0], sha256=adapter_digest(paths[0])).ok
        assert client.probe().adapter_loads == 1
        other = make_fmadapter(tmp_path / "other.fmadapter", weights=b"OTHER")
        assert generate(client, other).ok
        assert client.probe().adapter_loads == 2


@needs_binary
def test_probe_reports_the_mock_model_facts():
    with mock_runner() as client:
        backend = client.probe()
    assert (backend.model_variant, backend.context_tokens, backend.adapters_supported) == ("mock", 4096, True)
    assert backend.base_model_signature is None


@needs_binary
def test_adapter_unsupported_is_a_clear_error_and_the_runner_keeps_serving(tmp_path):
    adapter = make_fmadapter(tmp_path / "x.fmadapter")
    with mock_runner(FM_RUNNER_MOCK_ADAPTERS="unsupported") as client:
        assert client.probe().adapters_supported is False
        refused = generate(client, adapter)
        assert not refused.ok and refused.error.code == "adapter_unsupported"
        assert str(adapter) in refused.error.message and "cannot load adapters" in refused.error.message
        assert refused.text is None and refused.json_ is None
        plain = client.call(Request(id="p", op="generate", prompt="Task: plan a trip"))
        assert plain.ok and client.probe().adapter_loads == 0


@needs_binary
def test_malformed_metadata_names_the_file_and_line(tmp_path):
    adapter = make_fmadapter(tmp_path / "bad.fmadapter", metadata='{\n  "adapterIdentifier": "x",\n  oops\n}')
    with mock_runner() as client:
        response = generate(client, adapter)
    assert not response.ok and response.error.code == "adapter_invalid"
    assert f"{adapter / 'metadata.json'}:3:3: malformed metadata.json" in response.error.message
