"""Several workers, one shared `adapter_store`: a worker that lacks an adapter fetches it from the shared
store into its own cache, verifies its sha256 against the pointer, and loads the local copy; a damaged
shared object is refused before anything is copied (#14's adapter decision). Configs come from the real
config loader (`autoresearch.toml` in each worker's repo)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from loop.adapters.resolve import AdapterResolver, check_workspace_adapters
from loop.adapters.store import AdapterStore, open_store, store_root
from loop.config import load_config
from loop.errors import InputError
from loop.runners.protocol import Adapter

from .test_store import _register
from .conftest import workspace_copy


def _worker(tmp_path: Path, name: str, shared: Path | None) -> tuple:
    repo = tmp_path / name
    repo.mkdir()
    if shared is not None:
        (repo / "autoresearch.toml").write_text(f'adapter_store = "{shared}"\n')
    config = load_config(repo)
    return config, workspace_copy(repo / "agent_workspace")


def _cached(config, sha256: str) -> list[Path]:
    objects = Path(config.repo) / ".autoresearch" / "adapters" / "objects"
    return [p for p in objects.rglob(f"{sha256}*")] if objects.is_dir() else []


def _registered_on_the_mac(tmp_path: Path, lora_file: Path):
    """An adapter registered by the Mac worker into the shared store; its pointer copied to the Linux
    worker's workspace (as git brings it)."""
    shared = tmp_path / "mount" / "adapters"
    _, mac_ws = _worker(tmp_path, "mac", shared)
    linux, linux_ws = _worker(tmp_path, "linux", shared)
    reg = _register(AdapterStore(shared), lora_file, mac_ws)
    (linux_ws / "adapters").mkdir(exist_ok=True)
    shutil.copyfile(reg.pointer_path, linux_ws / "adapters" / reg.pointer_path.name)
    return shared, linux, linux_ws, reg


def test_a_worker_lacking_an_adapter_fetches_it_from_the_shared_store_and_verifies_it(tmp_path, lora_file):
    shared = tmp_path / "mount" / "adapters"
    mac, mac_ws = _worker(tmp_path, "mac", shared)
    linux, linux_ws = _worker(tmp_path, "linux", shared)
    assert store_root(mac) == shared == store_root(linux)
    reg = _register(AdapterStore(store_root(mac)), lora_file, mac_ws)  # registered once, into the shared store
    (linux_ws / "adapters").mkdir(exist_ok=True)
    shutil.copyfile(reg.pointer_path, linux_ws / "adapters" / reg.pointer_path.name)  # the pointer travels by git
    assert _cached(linux, reg.pointer.sha256) == []

    checked = check_workspace_adapters(linux_ws, open_store(linux))
    assert [p.sha256 for p in checked] == [reg.pointer.sha256]
    (local,) = _cached(linux, reg.pointer.sha256)
    assert local.read_bytes() == lora_file.read_bytes() and local.stat().st_mode & 0o222 == 0
    resolved = AdapterResolver(linux_ws, open_store(linux)).resolve(
        Adapter(path=f"adapters/{reg.pointer_path.name}", format="gguf-lora"))
    assert Path(resolved.path) == local and resolved.sha256 == reg.pointer.sha256  # the runner loads the local copy
    assert not str(resolved.path).startswith(str(shared))

    # once fetched, the local copy serves even when the shared mount is gone for a while
    shutil.move(shared, tmp_path / "unmounted")
    check_workspace_adapters(linux_ws, open_store(linux))


def test_a_damaged_shared_object_is_refused_and_nothing_is_cached(tmp_path, lora_file):
    shared, linux, linux_ws, reg = _registered_on_the_mac(tmp_path, lora_file)
    damaged = reg.stored.path
    damaged.chmod(0o644)
    data = bytearray(damaged.read_bytes())
    data[-1] ^= 0xFF  # same size, other content: only the sha256 can tell
    damaged.write_bytes(bytes(data))
    with pytest.raises(InputError) as caught:
        check_workspace_adapters(linux_ws, open_store(linux))
    assert "sha256" in str(caught.value) and str(shared) in str(caught.value)
    assert reg.pointer_path.name in str(caught.value)
    assert _cached(linux, reg.pointer.sha256) == []


def test_an_adapter_missing_from_the_shared_store_names_it(tmp_path, lora_file):
    shared, linux, linux_ws, reg = _registered_on_the_mac(tmp_path, lora_file)
    reg.stored.path.unlink()
    with pytest.raises(InputError, match=r"not in the adapter store .*mount"):
        check_workspace_adapters(linux_ws, open_store(linux))


def test_without_a_configured_store_there_is_no_cache(tmp_path):
    solo, _ = _worker(tmp_path, "solo", None)
    store = open_store(solo)
    assert store.cache is None and store.root == Path(solo.repo) / ".autoresearch" / "adapters"
