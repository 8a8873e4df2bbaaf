"""The same RunnerClient drives the Swift fm-runner (its Foundation-only mock backend), when it is built."""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from pathlib import Path

import pytest

from loop.runners.client import RunnerClient
from loop.runners.protocol import Output, Request, Sampling

from .conftest import ANSWER_SCHEMA

BINARY = Path(__file__).resolve().parents[2] / "native" / ".build" / "release" / "fm-runner"
pytestmark = [
    pytest.mark.needs_swift,
    pytest.mark.skipif(not BINARY.is_file(), reason=f"fm-runner is not built ({BINARY}); run `make native`"),
]


def generate(**fields) -> Request:
    return Request(id=uuid.uuid4().hex, op="generate", prompt="Task: plan a trip to Paris", **fields)


@pytest.fixture(scope="module")
def fm():
    with RunnerClient([str(BINARY), "serve", "--backend", "mock"], timeout_s=30, name="fm-mock") as client:
        yield client


def test_probe_names_the_mock_backend(fm):
    backend = fm.probe()
    assert backend.name == "mock" and backend.available is True and backend.os_build


def test_schema_output_and_greedy_repeatability(fm):
    first = fm.call(generate(output=Output(kind="json_schema", schema=ANSWER_SCHEMA), sampling=Sampling(mode="greedy")))
    second = fm.call(generate(output=Output(kind="json_schema", schema=ANSWER_SCHEMA), sampling=Sampling(mode="greedy")))
    assert first.ok and len(first.json_["questions"]) == 7
    assert first.json_ == second.json_


def test_bad_input_keeps_the_process_serving(fm):
    pid = fm.pid
    assert fm.call_raw("{broken").error.code == "bad_request"
    assert fm.call_raw('{"id": "u", "op": "dance"}').error.code == "unknown_op"
    assert fm.call(generate()).ok and fm.pid == pid


def test_a_killed_fm_runner_is_restarted():
    argv = [str(BINARY), "serve", "--backend", "mock", "--delay-ms", "1500"]
    with RunnerClient(argv, timeout_s=30, name="fm-kill") as client:
        first_pid = client.pid
        results: list = []
        worker = threading.Thread(target=lambda: results.append(client.call(generate())))
        worker.start()
        time.sleep(0.5)
        os.kill(first_pid, signal.SIGKILL)
        worker.join(30)
        assert len(results) == 1 and results[0].ok and client.restarts == 1
