"""`train register` closes the loop on a real research repository (replay runner, proxy judge): the
adapter is stored, its pointer goes into a new experiment's workspace, the experiment is evaluated as
`interactive` with the adapter's recipe as lever, and the request is answered with that experiment and
its quality; `requests --json` shows request → adapter → experiment → quality, and so does the agent's
next iteration prompt and the digest. A daemon that evaluates
a queued adapter answers the request the same way. Bad input records nothing."""

from __future__ import annotations

import json
import os

from typer.testing import CliRunner

from loop.adapters.store import AdapterStore, store_root
from loop.cli import app
from loop.daemon.requests import create_request, list_requests

runner = CliRunner()


def cli(repo, *args):
    env = {"AUTORESEARCH_REPO": str(repo), "DATABASE_URL": f"sqlite:///{repo.parent / 'record.sqlite'}",
           "AUTORESEARCH_JUDGE": "proxy", "AUTORESEARCH_RUNNER": "replay", "AUTORESEARCH_AGENT": "sweep"}
    return runner.invoke(app, [*args, "--repo", str(repo)] if args[0] == "train" else list(args),
                         env={**os.environ, **env})


def test_register_evaluates_the_adapter_and_answers_the_request(repo_copy, h, tmp_path):
    from tests.support.gguf_lora import write_lora

    config = h.config_for(repo_copy)
    request = create_request(config, "sft", "coverage stays low", "r01: coverage 2", send=False)
    data = tmp_path / "sft"
    built = cli(repo_copy, "train", "data", "sft", "--request", str(request), "--out", str(data), "--limit", "3")
    assert built.exit_code == 0, built.output
    # an uncommitted edit of the main checkout is not what the experiment evaluates: the pin is checked
    # against the research tip's pipeline (a check against the checkout would refuse this)
    system = repo_copy / "agent_workspace" / "prompts" / "system.md"
    system.write_text(system.read_text() + "\nAnswer in French.\n")
    before = set(h.rows(config))
    adapter = write_lora(tmp_path / "trip_sft.gguf", seed=7)
    done = cli(repo_copy, "train", "register", str(adapter), "--request", str(request), "--recipe", "dpo",
               "--data", str(data), "--json")
    assert done.exit_code == 0, done.output
    answer = json.loads(done.output)
    assert answer["pin"] == "checked"
    (number,) = set(h.rows(config)) - before
    row = h.rows(config)[number]
    assert answer["experiment"] == number and row.operator == "interactive" and row.lever == "dpo"
    assert row.status in ("kept", "discarded") and row.quality is not None and answer["quality"] == row.quality
    tree = h.git(repo_copy, "ls-tree", "-r", "--name-only", f"refs/experiments/{number:04d}").split()
    assert "agent_workspace/adapters/trip_sft.json" in tree and not any(p.endswith(".gguf") for p in tree)
    pointer = json.loads(h.git(repo_copy, "show", f"refs/experiments/{number:04d}:agent_workspace/adapters/trip_sft.json"))
    assert pointer["sha256"] == answer["sha256"] and pointer["recipe"] == "dpo"
    assert AdapterStore(store_root(config)).metadata(answer["sha256"])["request"] == request
    assert adapter.exists()  # registered by copy: the person's file stays where it was
    listed = cli(repo_copy, "requests", "--all", "--json")
    assert listed.exit_code == 0, listed.output
    (view,) = [v for v in json.loads(listed.output) if v["id"] == request]
    assert view["status"] == "answered" and view["adapter_sha256"] == answer["sha256"]
    assert view["answer_experiment"] == number and view["answer_quality"] == row.quality
    assert f"experiment {number:04d}" in (repo_copy / "requests" / f"{request:04d}.md").read_text()
    # the agent's side: the next iteration's prompt (the one renderer) lists the requests and the score
    from loop.supervisor.context import next_prompt

    still_open = create_request(config, "orpo", "tone drifts on long tasks", "r07: tone 1", send=False)
    prompt = next_prompt(config).prompt
    assert (f"- Request {request:04d} (sft, answered): adapter `{answer['sha256'][:12]}` → experiment "
            f"{number:04d} ({row.status}) → quality {row.quality:.3f}") in prompt
    assert f"- Request {still_open:04d} (orpo, open)" in prompt and "tone drifts on long tasks" in prompt
    digest = cli(repo_copy, "digest")
    assert digest.exit_code == 0, digest.output
    assert (f"| {request:04d} | sft | `{answer['sha256'][:12]}` | {number:04d} | {row.status} | "
            f"{row.quality:.3f} |") in digest.output


def test_register_for_a_request_that_does_not_exist_records_nothing(repo_copy, h, tmp_path):
    from tests.support.gguf_lora import write_lora

    config = h.config_for(repo_copy)
    before = set(h.rows(config))
    done = cli(repo_copy, "train", "register", str(write_lora(tmp_path / "a.gguf", seed=1)), "--request", "41",
               "--recipe", "sft")
    assert done.exit_code == 2 and "no training request 41" in done.output
    assert set(h.rows(config)) == before and AdapterStore(store_root(config)).objects() == []


def test_the_daemon_answers_a_queued_request_after_evaluating_it(repo_copy, h, tmp_path):
    from loop.daemon.runloop import Daemon, RunOptions
    from tests.support.gguf_lora import write_lora

    config = h.config_for(repo_copy)
    request = create_request(config, "orpo", "tone drifts", "r03: tone 1", send=False)
    queued = cli(repo_copy, "train", "register", str(write_lora(tmp_path / "tone.gguf", seed=2)), "--request",
                 str(request), "--recipe", "orpo", "--queue")
    assert queued.exit_code == 0, queued.output
    assert {v.id: v.status for v in list_requests(config)}[request] == "open"
    Daemon(config, RunOptions(once=True, live=False, handle_signals=False)).run()
    interactive = [r for r in h.rows(config).values() if r.operator == "interactive"]
    assert len(interactive) == 1 and interactive[0].lever == "orpo"
    view = {v.id: v for v in list_requests(config)}[request]
    assert view.status == "answered" and view.answer_experiment == interactive[0].number
    assert view.answer_quality == interactive[0].quality
    stored = AdapterStore(store_root(config)).metadata(view.adapter_sha256)
    assert stored["request"] == request and stored["recipe"] == "orpo"  # the sidecar's facts kept with it

