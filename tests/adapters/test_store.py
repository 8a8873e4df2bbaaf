"""The content-addressed adapter store and the pointer files: stored once, digests by content,
outside the git history, and every bad pointer an error naming the pointer file."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from loop.adapters.digest import adapter_digest, directory_sha256, file_sha256
from loop.adapters.pointer import lever_of, read_pointer
from loop.adapters.register import register_adapter
from loop.adapters.resolve import AdapterResolver, check_workspace_adapters
from loop.errors import InputError
from loop.runners.protocol import Adapter

from .conftest import SMOLLM2_BASE, workspace_copy


def _register(store, source, workspace, **kw):
    return register_adapter(store, source, workspace, recipe=kw.pop("recipe", "sft"), base_model=SMOLLM2_BASE,
                            origin=kw.pop("origin", "test"), **kw)


def test_the_same_adapter_registered_twice_is_stored_once(store, lora_file, tmp_path):
    copy = tmp_path / "elsewhere" / "renamed.gguf"
    copy.parent.mkdir()
    shutil.copyfile(lora_file, copy)
    first = _register(store, lora_file, workspace_copy(tmp_path / "ws1"))
    second = _register(store, copy, workspace_copy(tmp_path / "ws2"), name="sft-one")
    assert first.stored.added is True and second.stored.added is False
    assert store.objects() == [first.stored.path] == [second.stored.path]
    assert first.stored.path.read_bytes() == lora_file.read_bytes()
    assert first.pointer == second.pointer and first.pointer.sha256 == file_sha256(lora_file)
    assert first.stored.path.stat().st_mode & 0o222 == 0


def test_the_pointer_file_has_exactly_the_contract_fields(store, lora_file, tmp_path):
    workspace = workspace_copy(tmp_path / "ws")
    reg = _register(store, lora_file, workspace, recipe="orpo", origin="adapters/inbox/sft-one.gguf")
    data = json.loads((workspace / "adapters" / "sft-one.json").read_text())
    assert sorted(data) == ["base_model", "format", "recipe", "sha256", "size", "source"]
    assert data["size"] == lora_file.stat().st_size and data["format"] == "gguf-lora" and data["recipe"] == "orpo"
    assert data["base_model"] == {"name": SMOLLM2_BASE.name, "sha256": None, "signature": None}
    toml = (workspace / "pipeline.toml").read_text()
    assert 'adapter_path = "adapters/sft-one.json"' in toml and reg.pointer_path == workspace / "adapters/sft-one.json"
    assert lever_of(workspace) == "orpo" and lever_of(workspace_copy(tmp_path / "plain")) == "inference"


def test_an_fmadapter_digest_is_over_sorted_path_size_sha_entries(store, tmp_path):
    bundle = tmp_path / "trip.fmadapter"
    (bundle / "weights").mkdir(parents=True)
    (bundle / "metadata.json").write_text('{"adapterIdentifier": "trip"}')
    (bundle / "weights" / "adapter.bin").write_bytes(os.urandom(4096))
    sha, size = directory_sha256(bundle)
    import hashlib

    lines = "".join(f"{rel}\0{len(p.read_bytes())}\0{hashlib.sha256(p.read_bytes()).hexdigest()}\n"
                    for rel, p in sorted((p.relative_to(bundle).as_posix(), p) for p in bundle.rglob("*") if p.is_file()))
    assert sha == hashlib.sha256(lines.encode()).hexdigest() and size == 4096 + len('{"adapterIdentifier": "trip"}')
    twin = tmp_path / "copy" / "other-name.fmadapter"
    shutil.copytree(bundle, twin)
    assert adapter_digest(twin).sha256 == sha  # by content, not by name or place
    first = _register(store, bundle, workspace_copy(tmp_path / "ws1"))
    second = _register(store, twin, workspace_copy(tmp_path / "ws2"))
    assert second.stored.added is False and store.objects() == [first.stored.path]
    assert first.stored.path.name == f"{sha}.fmadapter" and first.pointer.format == "fmadapter"
    (twin / "weights" / "adapter.bin").write_bytes(os.urandom(4096))
    assert adapter_digest(twin).sha256 != sha


def test_an_fmadapter_with_malformed_metadata_is_refused_naming_the_file(store, tmp_path):
    bundle = tmp_path / "bad.fmadapter"
    bundle.mkdir()
    (bundle / "metadata.json").write_text("{not json")
    with pytest.raises(InputError, match=r"bad\.fmadapter/metadata\.json.*malformed"):
        _register(store, bundle, workspace_copy(tmp_path / "ws"))
    assert store.objects() == []


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@l", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@l"}
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True).stdout


def _packed_kib(repo: Path) -> int:
    _git(repo, "gc", "-q", "--aggressive", "--prune=now")
    stats = dict(line.split(": ") for line in _git(repo, "count-objects", "-v").splitlines())
    return int(stats["size-pack"]) + int(stats["size"])


def test_git_gc_size_does_not_grow_by_the_adapters_size(store, tmp_path):
    from tests.support.gguf_lora import write_lora

    adapter = write_lora(tmp_path / "big.gguf", seed=3, rank=256)  # ~1.2 MB of incompressible floats
    adapter_kib = adapter.stat().st_size // 1024
    repo = tmp_path / "repo"
    workspace_copy(repo / "agent_workspace")
    (repo / ".gitignore").write_text("/.autoresearch/\n")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "base")
    before = _packed_kib(repo)
    from loop.adapters.store import AdapterStore

    repo_store = AdapterStore(repo / ".autoresearch" / "adapters")  # the default place: inside the repo, ignored
    _register(repo_store, adapter, repo / "agent_workspace")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "adapter pointer")
    with_pointer = _packed_kib(repo)
    assert "agent_workspace/adapters/big.json" in _git(repo, "ls-files").split()
    assert with_pointer - before < adapter_kib / 20, (before, with_pointer, adapter_kib)
    # the control: committing the adapter itself grows the pack by about its size
    shutil.copyfile(adapter, repo / "agent_workspace" / "adapters" / "big.gguf")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "adapter itself")
    assert _packed_kib(repo) - with_pointer > adapter_kib * 0.8


def test_a_pointer_whose_stored_file_is_missing_is_an_error_naming_the_pointer(store, lora_file, tmp_path):
    workspace = workspace_copy(tmp_path / "ws")
    reg = _register(store, lora_file, workspace)
    reg.stored.path.unlink()
    with pytest.raises(InputError) as caught:
        check_workspace_adapters(workspace, store)
    assert str(reg.pointer_path) in str(caught.value) and "not in the adapter store" in str(caught.value)


def test_a_pointer_whose_hash_does_not_match_is_an_error_naming_the_pointer(store, lora_file, tmp_path):
    workspace = workspace_copy(tmp_path / "ws")
    reg = _register(store, lora_file, workspace)
    edited = reg.pointer.model_copy(update={"sha256": "0" * 64})
    # the pointer now names content the store does not have under that digest: plant a same-size object there
    planted = store.object_path("0" * 64, "gguf-lora")
    planted.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(lora_file, planted)
    reg.pointer_path.write_text(edited.to_json())
    with pytest.raises(InputError) as caught:
        check_workspace_adapters(workspace, store)
    assert str(reg.pointer_path) in str(caught.value) and "sha256" in str(caught.value)
    resolver = AdapterResolver(workspace, store)
    with pytest.raises(InputError, match="sha256"):
        resolver.resolve(Adapter(path="adapters/sft-one.json", format="gguf-lora"))


def test_a_stored_file_damaged_after_registration_is_caught_by_size(store, lora_file, tmp_path):
    workspace = workspace_copy(tmp_path / "ws")
    reg = _register(store, lora_file, workspace)
    reg.stored.path.chmod(0o644)
    reg.stored.path.write_bytes(reg.stored.path.read_bytes() + b"x")
    with pytest.raises(InputError, match=r"sft-one\.json.*bytes"):
        check_workspace_adapters(workspace, store)


def test_a_malformed_pointer_names_the_file_and_line(tmp_path):
    path = tmp_path / "adapters" / "x.json"
    path.parent.mkdir()
    path.write_text('{\n  "sha256": "ab",\n  oops\n}')
    with pytest.raises(InputError) as caught:
        read_pointer(path)
    assert caught.value.path == path and caught.value.line == 3
    path.write_text(json.dumps({"sha256": "ab", "size": 1, "format": "gguf-lora", "recipe": "sft",
                                "base_model": {"name": "m"}, "source": "s"}))
    with pytest.raises(InputError, match="sha256"):
        read_pointer(path)


def test_the_resolver_maps_a_pointer_to_the_stored_file_with_its_digest(store, lora_file, tmp_path):
    workspace = workspace_copy(tmp_path / "ws")
    reg = _register(store, lora_file, workspace)
    resolved = AdapterResolver(workspace, store).resolve(Adapter(path="adapters/sft-one.json",
                                                                      format="fmadapter"))
    assert resolved == Adapter(path=str(reg.stored.path), format="gguf-lora", sha256=reg.pointer.sha256)
    outside = tmp_path / "stray.json"
    outside.write_text(reg.pointer.to_json())
    with pytest.raises(ValueError, match="adapters/ directory"):
        AdapterResolver(workspace, store).resolve(Adapter(path=str(outside), format="gguf-lora"))
    raw = AdapterResolver(workspace, store).resolve(Adapter(path=str(lora_file), format="gguf-lora",
                                                                 sha256="f" * 64))
    assert raw.sha256 is None  # a digest the pipeline claims is never passed on: the runner hashes raw files
