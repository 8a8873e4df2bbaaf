"""deps.py: torch is installed first and CPU-only (local wheel, else the CPU index named by
$AUTORESEARCH_TORCH_INDEX), never PyPI's CUDA-pulling Linux wheel; the extra comes after it."""

from __future__ import annotations

import pytest

from loop.training import deps


def test_a_local_cpu_wheel_comes_first(tmp_path, monkeypatch):
    wheel = tmp_path / "torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl"
    wheel.write_bytes(b"")
    monkeypatch.setenv("AUTORESEARCH_WHEELS", str(tmp_path))
    plan = deps.install_plan(["torch", "peft"], system="Linux")
    assert plan[0] == [str(wheel)] and plan[1] == deps.train_pins() and "torch==2.13.0" in plan[1]


def test_the_cpu_index_when_no_wheel(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTORESEARCH_WHEELS", str(tmp_path))
    monkeypatch.setenv("AUTORESEARCH_TORCH_INDEX", "http://127.0.0.1:9/cpu")
    assert deps.install_plan(["torch"], system="Linux")[0] == ["--index-url", "http://127.0.0.1:9/cpu",
                                                               "torch==2.13.0"]


def test_linux_without_a_cpu_route_refuses(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTORESEARCH_WHEELS", str(tmp_path))
    monkeypatch.delenv("AUTORESEARCH_TORCH_INDEX", raising=False)
    with pytest.raises(deps.DependencyError, match="CUDA"):
        deps.install_plan(["torch"], system="Linux")
    assert deps.install_plan(["torch"], system="Darwin")[0] == ["torch==2.13.0"]


def test_make_tests_route_installs_nothing_and_says_why_without_a_cpu_torch(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTORESEARCH_WHEELS", str(tmp_path))
    monkeypatch.delenv("AUTORESEARCH_TORCH_INDEX", raising=False)
    monkeypatch.setattr(deps.platform, "system", lambda: "Linux")
    monkeypatch.setattr(deps, "missing", lambda: ["torch", "peft"])
    monkeypatch.setattr(deps.subprocess, "run", lambda *a, **k: pytest.fail(f"pip ran: {a}"))
    said = []
    assert deps.ensure_where_cpu_torch(log=said.append) is False
    assert len(said) == 1 and "test_preference_real.py" in said[0] and "CUDA" in said[0]


def test_the_extra_brings_trl_for_the_preference_recipes():
    pins = deps.train_pins()
    assert "trl==1.16.0" in pins and "trl" in deps.MODULES and "datasets" in deps.MODULES
    assert deps.install_plan(["trl"], system="Linux") == [pins]  # torch present: the extra alone
