"""A models folder reached through a symlink works inside bubblewrap (real bwrap, shipped workspace).

Tried as a new user would, `models/` a symlink to a shared folder: the retrieval lever's embedder file
was invisible inside the sandbox and every case failed with ModelFileError. The real model files are
the verified ones (AUTORESEARCH_MODELS_DIR, else the repo's models/); only symlinks are made here.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from loop.models import models_dir
from loop.sandbox import confine
from loop.sandbox.session import PipelineSession


def _real_minilm() -> Path:
    found = (models_dir() / "minilm").resolve()
    assert (found / "model.onnx").exists(), f"{found} missing: run `autoresearch models fetch --model minilm`"
    return found


def _retrieve_once(make_workspace, replay_client) -> tuple[str | None, list[dict]]:
    workspace = make_workspace(knobs={"n_examples": 2})  # the retrieval lever: embeds the task and the pool
    with PipelineSession(workspace, replay_client, case_timeout_s=120, sandbox="bwrap") as session:
        assert session.mode == "bwrap"
        result = session.run_case("Plan a trip to Paris")
    return result.error, result.trace


def _assert_retrieved(error, trace) -> None:
    assert error is None, error
    steps = [e for e in trace if e.get("kind") == "step" and "retriev" in (e.get("label") or "")]
    assert steps, [e.get("label") for e in trace]


def test_models_dir_named_through_a_symlink_works_in_bwrap(tmp_path, monkeypatch, make_workspace, replay_client):
    shared = tmp_path / "shared-models"
    shared.mkdir()
    (shared / "minilm").symlink_to(_real_minilm(), target_is_directory=True)
    link = tmp_path / "models-link"
    link.symlink_to(shared, target_is_directory=True)
    monkeypatch.setenv("AUTORESEARCH_MODELS_DIR", str(link))
    binds = confine.model_binds()
    assert (shared.resolve(), Path(os.path.abspath(link))) in binds  # the spelling the worker uses
    assert (_real_minilm(), _real_minilm()) in binds  # the symlinked entry's real target
    _assert_retrieved(*_retrieve_once(make_workspace, replay_client))


def test_without_the_extra_binds_the_same_layout_fails_with_model_file_error(tmp_path, monkeypatch, make_workspace,
                                                                             replay_client):
    """The failure the fix removes, reproduced with the pre-fix binds (the resolved directory only)."""
    link = tmp_path / "models-link"
    link.symlink_to(_real_minilm().parent, target_is_directory=True)
    monkeypatch.setenv("AUTORESEARCH_MODELS_DIR", str(link))
    monkeypatch.setattr(confine, "model_binds", lambda: [(link.resolve(), link.resolve())])
    error, _ = _retrieve_once(make_workspace, replay_client)
    assert error is not None and "ModelFileError" in error and str(link) in error


@pytest.fixture(autouse=True)
def _bwrap_required():
    ok, why = confine._bwrap_works()
    assert ok, f"these tests need a working bubblewrap: {why}"
