"""`autoresearch train …` through the real CLI on a project copy with a real SQLite record: the data
builder, the LoRA dry run, and `train register` answering a request (and every bad input refused with
one clear error, nothing stored, the request still open)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from loop.adapters.store import AdapterStore, store_root
from loop.cli import app
from loop.daemon.requests import list_requests
from loop.daemon.watchers import inbox_dir
from loop.models import REGISTRY

runner = CliRunner()


def invoke(config, *args):
    return runner.invoke(app, [*args, "--repo", str(config.repo)])


def request_status(config, request_id):
    return {v.id: v.status for v in list_requests(config)}[request_id]


def test_help_explains_the_track():
    result = runner.invoke(app, ["train", "--help"])
    assert result.exit_code == 0
    for word in ("data", "lora", "register", "request"):
        assert word in result.output
    lora_help = runner.invoke(app, ["train", "lora", "--help"])
    assert lora_help.exit_code == 0 and "--dry-run" in lora_help.output and "CPU" in lora_help.output
    flat = " ".join(lora_help.output.split())
    assert "ORPO by default (no reference model)" in flat and "orpo | dpo" in flat
    drafts_help = runner.invoke(app, ["train", "drafts", "--help"])
    assert drafts_help.exit_code == 0 and "--n" in drafts_help.output and "worst draft" in drafts_help.output


def test_data_then_lora_dry_run(cli_env, sft_request, tmp_path):
    out = tmp_path / "sft"
    built = invoke(cli_env, "train", "data", "sft", "--request", str(sft_request), "--out", str(out),
                   "--limit", "6", "--json")
    assert built.exit_code == 0, built.output
    card = json.loads(built.output)
    assert card["request"] == sft_request and card["counts"]["train"] + card["counts"]["eval"] == 6
    plan = invoke(cli_env, "train", "lora", "--data", str(out), "--out", str(tmp_path / "run"), "--steps", "3",
                  "--dry-run", "--json")
    assert plan.exit_code == 0, plan.output
    plan = json.loads(plan.output)
    assert plan["dry_run"] is True and plan["examples"] == card["counts"]["train"] and plan["request"] == sft_request
    assert plan["settings"]["steps"] == 3 and plan["base_model"].endswith(REGISTRY["smollm2"].main_file)
    assert not (tmp_path / "run").exists()


def test_lora_on_an_empty_data_dir_is_one_clear_error(cli_env, tmp_path):
    (tmp_path / "empty").mkdir()
    result = invoke(cli_env, "train", "lora", "--data", str(tmp_path / "empty"), "--out", str(tmp_path / "run"),
                    "--dry-run")
    assert result.exit_code == 2 and "data_card.json" in result.output and "train data" in result.output


def test_register_queue_hands_the_adapter_to_the_daemon(cli_env, sft_request, tmp_path):
    from tests.support.gguf_lora import write_lora

    adapter = write_lora(tmp_path / "mine.gguf", seed=3)
    result = invoke(cli_env, "train", "register", str(adapter), "--request", str(sft_request), "--recipe", "orpo",
                    "--queue", "--json")
    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    assert answer["experiment"] is None and answer["pin"].startswith("not checked")
    queued = inbox_dir(cli_env.repo) / "mine.gguf"
    assert queued.read_bytes() == adapter.read_bytes()
    sidecar = json.loads((inbox_dir(cli_env.repo) / "mine.gguf.json").read_text())
    assert sidecar["recipe"] == "orpo" and sidecar["request"] == sft_request
    assert AdapterStore(store_root(cli_env)).objects() == []  # the daemon stores it when it evaluates it
    assert request_status(cli_env, sft_request) == "open"  # ... and answers the request then


def test_register_outside_a_git_repository_says_so_and_changes_nothing(cli_env, sft_request, tmp_path):
    from tests.support.gguf_lora import write_lora

    adapter = write_lora(tmp_path / "mine.gguf", seed=3)
    result = invoke(cli_env, "train", "register", str(adapter), "--request", str(sft_request), "--recipe", "sft")
    assert result.exit_code == 2 and "not a git repository" in result.output and "--queue" in result.output
    _nothing_happened(cli_env, sft_request)


def _nothing_happened(config, request_id):
    assert AdapterStore(store_root(config)).objects() == []
    assert not inbox_dir(config.repo).exists() or list(inbox_dir(config.repo).iterdir()) == []
    assert request_status(config, request_id) == "open"


def test_register_refuses_bad_input_and_changes_nothing(cli_env, sft_request, tmp_path):
    from tests.support.gguf_lora import write_lora

    good = write_lora(tmp_path / "good.gguf", seed=4)
    corrupt = tmp_path / "corrupt.gguf"
    corrupt.write_bytes(b"NOPE" + good.read_bytes()[4:])
    other_base = write_lora(tmp_path / "other.gguf", seed=5)
    (tmp_path / "other.gguf.json").write_text(json.dumps(
        {"recipe": "sft", "base_model": {"name": "qwen.gguf", "sha256": "ab" * 32}}))
    bad_meta = tmp_path / "x.fmadapter"
    bad_meta.mkdir()
    (bad_meta / "metadata.json").write_text('{"adapterIdentifier": "x",\n  oops}\n')
    cases = [
        (["train", "register", str(good), "--request", "99", "--recipe", "sft"], "no training request 99"),
        (["train", "register", str(corrupt), "--request", str(sft_request), "--recipe", "sft"], "not a GGUF file"),
        (["train", "register", str(other_base), "--request", str(sft_request)], "base model sha256 ababababab"),
        (["train", "register", str(bad_meta), "--request", str(sft_request), "--recipe", "sft"],
         "metadata.json:2"),
        (["train", "register", str(good), "--request", str(sft_request)], "good.gguf.json"),
        (["train", "register", str(tmp_path / "absent.gguf"), "--request", str(sft_request), "--recipe", "sft"],
         "absent.gguf"),
    ]
    for args, message in cases:
        result = invoke(cli_env, *args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output.replace("\n", ""), (message, result.output)
        _nothing_happened(cli_env, sft_request)


def test_register_without_a_measured_baseline_says_so_and_changes_nothing(cli_env, sft_request, tmp_path):
    from tests.support.gguf_lora import write_lora
    from tests.support.research_repo import git_init

    git_init(cli_env.repo)
    adapter = write_lora(tmp_path / "mine.gguf", seed=3)
    result = invoke(cli_env, "train", "register", str(adapter), "--request", str(sft_request), "--recipe", "sft")
    assert result.exit_code == 2 and "no incumbent" in result.output and "run --once" in result.output
    _nothing_happened(cli_env, sft_request)


def _pref_data(config, request_id, out):
    """`train data pref` on two pool tasks, each with a good and a worse (lower-scored) draft."""
    from loop.ruler_files import load_cases

    pool = load_cases(config.workspace_dir / "data" / "train.jsonl")[:2]
    drafts = out.parent / "drafts.jsonl"
    drafts.write_text("".join(json.dumps({"id": c.id, "draw": draw, "score": score, "answer": {
        "title": f"{draw} {c.id}", "questions": [f"Question {i} for {draw}?" for i in range(7)]}}) + "\n"
        for c in pool for draw, score in (("greedy", 0.6), ("sample-1", 0.1))))
    built = invoke(config, "train", "data", "pref", "--request", str(request_id), "--out", str(out), "--limit", "2",
                   "--eval-share", "0", "--drafts", str(drafts), "--json")
    assert built.exit_code == 0, built.output
    return [json.loads(line) for line in (out / "train.jsonl").read_text().splitlines()]


def test_pref_data_rejects_the_worst_draft_and_the_plan_defaults_to_orpo(cli_env, sft_request, tmp_path):
    rows = _pref_data(cli_env, sft_request, tmp_path / "pref")
    assert len(rows) == 2 and all(json.loads(r["rejected"])["title"].startswith("sample-1 ") for r in rows)
    assert all(r["prompt"][-1]["role"] == "user" and json.loads(r["chosen"])["title"] for r in rows)
    plan = invoke(cli_env, "train", "lora", "--data", str(tmp_path / "pref"), "--out", str(tmp_path / "run"),
                  "--dry-run", "--json")
    assert plan.exit_code == 0, plan.output
    assert json.loads(plan.output)["recipe"] == "orpo" and json.loads(plan.output)["examples"] == 2
    assert not (tmp_path / "run").exists()


def test_lora_bad_input_is_one_clear_error_and_writes_nothing(cli_env, sft_request, tmp_path):
    (tmp_path / "empty").mkdir()
    rows = _pref_data(cli_env, sft_request, tmp_path / "pref")
    broken = tmp_path / "pref" / "train.jsonl"
    broken.write_text(json.dumps({k: v for k, v in rows[0].items() if k != "rejected"}) + "\n")
    sft = tmp_path / "sft"
    assert invoke(cli_env, "train", "data", "sft", "--request", str(sft_request), "--out", str(sft), "--limit",
                  "2").exit_code == 0
    run = tmp_path / "run"
    cases = [
        (["--data", str(tmp_path / "empty"), "--recipe", "orpo"], "data_card.json"),
        (["--data", str(tmp_path / "pref"), "--recipe", "orpo"], f"{broken}:1: not a preference pair"),
        (["--data", str(tmp_path / "pref"), "--recipe", "dpo"], "rejected missing"),
        (["--data", str(tmp_path / "pref"), "--recipe", "kto"], "--recipe kto: unknown recipe; use sft | orpo | dpo"),
        (["--data", str(sft), "--recipe", "orpo"], "sft data cannot train recipe orpo"),
        (["--data", str(tmp_path / "pref"), "--recipe", "sft"], "pref data cannot train recipe sft"),
    ]
    for args, message in cases:
        result = invoke(cli_env, "train", "lora", *args, "--out", str(run))
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output.replace("\n", ""), (message, result.output)
        assert not run.exists()
