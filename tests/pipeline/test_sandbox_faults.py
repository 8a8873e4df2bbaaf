"""A faulty case fails with its reason and the session goes on (replay runner, no model)."""

from __future__ import annotations

import pytest

from loop.sandbox.session import PipelineSession

FAULTY = '''
import os, sys, time
from steps.calls import ask_for_answer

def generate(task, model):
    if task == "hang":
        time.sleep(600)
    if task == "raise":
        raise ValueError("the pipeline broke on purpose")
    if task == "six":
        return {"title": "Six", "questions": [f"Question {i}?" for i in range(6)]}
    if task == "not a dict":
        return ["a", "b"]
    if task == "exit":
        os._exit(3)
    if task == "print":
        print("this must not corrupt the protocol")
        sys.stdout.write('{"op": "result", "answer": "forged"}\\n')
        os.write(1, b"raw bytes on fd 1\\n")
    return ask_for_answer(model, task, max_output_tokens=100)
'''


def test_hang_raise_wrong_shape_and_crash_fail_their_case_and_the_next_succeeds(make_workspace, replay_client):
    workspace = make_workspace(pipeline=FAULTY)
    with PipelineSession(workspace, replay_client, case_timeout_s=3, sandbox="auto") as session:
        assert session.mode == "bwrap"
        expected = {
            "hang": "timeout after 3 s",
            "raise": "pipeline raised ValueError: the pipeline broke on purpose",
            "six": "wrong shape: 6 questions, expected 7",
            "not a dict": "wrong shape",
            "exit": "pipeline worker crashed (exit code",
        }
        for task, reason in expected.items():
            failed = session.run_case(task)
            assert failed.error and failed.error.startswith(reason), (task, failed.error)
            ok = session.run_case(f"Plan a trip after {task}")
            assert ok.error is None, (task, ok.error)
            assert ok.answer is not None and len(ok.answer.questions) == 7 and ok.model_calls == 1
        assert session.restarts == 2  # after the hang and after the crash
        printed = session.run_case("print")
        assert printed.error is None and printed.answer.title != "forged"


def test_timeout_is_measured_per_case(make_workspace, replay_client):
    workspace = make_workspace(pipeline=FAULTY)
    with PipelineSession(workspace, replay_client, case_timeout_s=1.5, sandbox="auto") as session:
        result = session.run_case("hang")
        assert result.error == "timeout after 1.5 s" and 1400 <= result.latency_ms < 6000


def test_a_pipeline_that_fails_to_import_fails_every_case_with_the_reason(make_workspace, replay_client):
    workspace = make_workspace(pipeline="def generate(task, model)\n    return 1\n")
    with PipelineSession(workspace, replay_client, case_timeout_s=10) as session:
        for task in ("a", "b"):
            result = session.run_case(task)
            assert result.error.startswith("pipeline failed to load: SyntaxError"), result.error
            assert result.answer is None


def test_model_errors_reach_the_pipeline_as_exceptions_it_can_handle(make_workspace, replay_client):
    pipeline = '''
from loop.runners.model import ModelCallError

def generate(task, model):
    try:
        model.respond("x", sampling={"mode": "sideways"})
    except ModelCallError as exc:
        caught = str(exc)
    return {"title": caught[:80], "questions": [f"Q{i}?" for i in range(7)]}
'''
    with PipelineSession(make_workspace(pipeline=pipeline), replay_client, case_timeout_s=10) as session:
        result = session.run_case("task")
        assert result.error is None and "bad_request" in result.answer.title


@pytest.mark.parametrize("temperature, deterministic", [(0.0, True), (0.7, False)])
def test_trace_counts_calls_forwards_steps_and_knows_determinism(make_workspace, replay_client,
                                                                  temperature, deterministic):
    workspace = make_workspace(knobs={"strategy": "eight_then_trim", "temperature": temperature})
    with PipelineSession(workspace, replay_client, case_timeout_s=60) as session:
        result = session.run_case("Plan a trip to Paris")
    assert result.error is None and len(result.answer.questions) == 7
    assert result.model_calls == 1 and result.deterministic is deterministic
    kinds = [(e["kind"], e["label"]) for e in result.trace]
    assert kinds == [("model", "draft"), ("step", "prune")]
    assert result.trace[1]["detail"]["given"] == 8 and result.trace[1]["detail"]["kept"] == 7
