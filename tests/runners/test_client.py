"""RunnerClient lifecycle against the replay runner and a misbehaving fake: restart-once on death and
timeout, validation of every response, one request at a time across threads, shutdown on close."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from loop.runners.client import RunnerClient, RunnerError
from loop.runners.protocol import Request

from .conftest import replay_argv

FAKE = str(Path(__file__).with_name("fake_runner.py"))


def generate(prompt: str = "Task: plan a picnic", **fields) -> Request:
    return Request(id=uuid.uuid4().hex, op="generate", prompt=prompt, **fields)


def test_a_runner_killed_mid_request_is_restarted_and_the_call_succeeds():
    with RunnerClient(replay_argv("--delay-ms", "1500"), timeout_s=30, name="kill") as client:
        first_pid = client.pid
        results: list = []
        worker = threading.Thread(target=lambda: results.append(client.call(generate())))
        worker.start()
        time.sleep(0.6)  # the request is now inside the runner's delay
        os.kill(first_pid, signal.SIGKILL)
        worker.join(30)
        assert len(results) == 1 and results[0].ok
        assert client.restarts == 1 and client.calls == 1
        assert client.pid != first_pid


def test_a_runner_that_does_not_answer_in_time_is_replaced_then_the_error_is_raised():
    with RunnerClient(replay_argv("--delay-ms", "5000"), timeout_s=0.5, name="slow") as client:
        started = time.monotonic()
        with pytest.raises(RunnerError) as info:
            client.call(generate())
        assert info.value.code == "timeout" and info.value.retryable
        assert "after one restart" in info.value.message
        assert client.restarts == 1 and client.calls == 0
        assert time.monotonic() - started < 4.5


def test_a_request_timeout_is_honoured_by_the_runner_without_a_restart():
    with RunnerClient(replay_argv("--delay-ms", "1000"), timeout_s=30, name="deadline") as client:
        response = client.call(generate(timeout_s=0.2))
        assert not response.ok and response.error.code == "timeout"
        assert client.restarts == 0 and client.calls == 1


def test_a_response_that_is_not_pipeline_gen_1_is_a_bad_response():
    with RunnerClient([sys.executable, FAKE, "junk"], timeout_s=10, name="junk") as client:
        with pytest.raises(RunnerError) as info:
            client.call(generate())
        assert info.value.code == "bad_response" and "backend" in info.value.message
        assert not info.value.retryable


def test_a_runner_that_keeps_dying_gives_runner_exited_with_its_stderr():
    with RunnerClient([sys.executable, FAKE, "exit"], timeout_s=10, name="dies") as client:
        with pytest.raises(RunnerError) as info:
            client.call(generate())
        assert info.value.code == "runner_exited" and "exiting on purpose" in info.value.message
        assert client.restarts == 1


def test_a_runner_that_cannot_start_reports_why(tmp_path):
    broken = tmp_path / "answers.json"
    broken.write_text("{not json")
    client = RunnerClient(replay_argv("--answers", str(broken)), timeout_s=10, name="broken")
    try:
        with pytest.raises(RunnerError) as info:
            client.start()
        assert "answers file is not JSON" in info.value.message and str(broken) in info.value.message
    finally:
        client.close()


def test_a_missing_executable_is_a_clear_error(tmp_path):
    client = RunnerClient([str(tmp_path / "no-such-runner"), "serve"], name="missing")
    with pytest.raises(RunnerError) as info:
        client.start()
    assert "cannot start" in info.value.message
    client.close()


def test_concurrent_callers_each_get_their_own_answer():
    with RunnerClient(replay_argv("--delay-ms", "100"), timeout_s=30, name="threads") as client:
        requests = [generate(f"Task: topic number {i}") for i in range(4)]
        answers: dict[str, object] = {}

        def ask(request):
            answers[request.id] = client.call(request)

        threads = [threading.Thread(target=ask, args=(r,)) for r in requests]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert {r.id for r in requests} == set(answers)
        for request in requests:
            assert answers[request.id].id == request.id
            assert request.prompt.split(": ")[1] in answers[request.id].text.lower()
        assert client.calls == 4


def test_close_sends_shutdown_and_the_runner_exits_cleanly():
    client = RunnerClient(replay_argv(), name="close")
    client.start()
    process = client._process.proc
    client.close()
    assert process.returncode == 0  # it obeyed shutdown; a terminate would give -15
    with pytest.raises(RunnerError):
        client.call(generate())


def test_probe_returns_the_backend_and_is_not_counted_as_a_call():
    with RunnerClient(replay_argv(), name="probe") as client:
        backend = client.probe()
        assert backend.name == "replay" and backend.available is True
        assert client.calls == 0


def test_the_runner_stderr_is_kept_in_a_ring_buffer(smollm2_path):
    from .conftest import llama_argv

    with RunnerClient(llama_argv(smollm2_path), name="stderr") as client:
        client.probe()
        assert any("loaded SmolLM2" in line for line in client.stderr_tail())
