"""The one classification of a failed case: the product's machinery (infrastructure, never scored)
versus the pipeline's own loss, by runner error code and by how the session saw the case fail."""

from __future__ import annotations

import pytest

from loop.case_failures import CaseFailure, cacheable, infrastructure_reason


def call(error: str | None) -> dict:
    return {"kind": "model", "error": error}


@pytest.mark.parametrize("code", ["model_unavailable", "rate_limited", "runner_exited", "model_hash_mismatch"])
def test_runner_codes_of_the_machinery_are_infrastructure(code):
    raised = CaseFailure(kind="pipeline_raised", exc_type="ModelCallError")
    reason = infrastructure_reason("pipeline raised ModelCallError: ...", raised, [call(f"{code}: gone")])
    assert reason is not None and reason.startswith(f"runner error {code}:")
    assert not cacheable("pipeline raised ModelCallError: ...", raised, [call(f"{code}: gone")], True)


@pytest.mark.parametrize("code", ["timeout", "context_overflow", "guardrail", "decoding_failure"])
def test_runner_codes_of_the_pipeline_stay_a_loss(code):
    raised = CaseFailure(kind="pipeline_raised", exc_type="ModelCallError")
    assert infrastructure_reason("pipeline raised ModelCallError: ...", raised, [call(f"{code}: x")]) is None


def test_a_missing_model_file_and_a_sandbox_that_fails_to_start_are_infrastructure():
    missing = CaseFailure(kind="pipeline_raised", exc_type="ModelFileError")
    assert "model file" in infrastructure_reason("pipeline raised ModelFileError: x is missing", missing, [])
    assert "sandbox failed to start" in infrastructure_reason("pipeline worker did not start: bwrap: ...",
                                                              CaseFailure(kind="sandbox_start"), [])


def test_the_pipelines_own_faults_are_a_loss_and_a_recovered_call_is_no_failure():
    for failure in (CaseFailure(kind="pipeline_raised", exc_type="ValueError"), CaseFailure(kind="shape"),
                    CaseFailure(kind="timeout"), CaseFailure(kind="load_error", exc_type="SyntaxError")):
        assert infrastructure_reason("failed", failure, []) is None
    # a rate_limited call the pipeline retried, then answered: the case did not fail
    assert infrastructure_reason(None, None, [call("rate_limited: slow down"), call(None)]) is None
    assert cacheable("pipeline raised ValueError: x", CaseFailure(kind="pipeline_raised"), [], True)
    assert not cacheable("timeout after 3 s", CaseFailure(kind="timeout"), [], True)
