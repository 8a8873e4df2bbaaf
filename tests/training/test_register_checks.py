"""What `train register` checks before anything is stored: an `.fmadapter`'s metadata.json (fields,
adapter-name rule, base-model signature against the runner's probe) and the prompt pin (the pipeline
still sends the instructions and prompt the SFT data was rendered with). Each failure is one error
naming the file (and line), with nothing stored, nothing queued and the request still open."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from loop.adapters.store import AdapterStore, store_root
from loop.cli import app
from loop.daemon.requests import list_requests
from loop.errors import InputError
from loop.training.fmadapter import validate_fmadapter
from loop.training.register import check_registration

SIGNATURE = "9799725ff8e851184037110b422d891ad3b92ec1"
GOOD = {"adapterIdentifier": "fmadapter-trip_titles-9799725", "baseModelSignature": SIGNATURE, "loraRank": 32,
        "author": "supervisor", "speculativeDecodingDraftTokenCount": 5}
runner = CliRunner()


def package(where: Path, metadata: dict | str, weights: bool = True) -> Path:
    where.mkdir(parents=True)
    text = metadata if isinstance(metadata, str) else json.dumps(metadata, indent=2)
    (where / "metadata.json").write_text(text)
    if weights:
        (where / "adapter_weights.bin").write_bytes(b"\x00" * 128)
    return where


def test_a_toolkit_package_passes_with_its_fields_read(tmp_path):
    meta = validate_fmadapter(package(tmp_path / "trip_titles.fmadapter", GOOD), runner_signature="9799725")
    assert meta.name == "trip_titles" and meta.lora_rank == 32 and meta.draft_token_count == 5


@pytest.mark.parametrize("metadata, weights, runner_sig, message", [
    ('{\n  "adapterIdentifier": "x",\n  oops\n}', True, None, "metadata.json:3: malformed adapter metadata"),
    ({k: v for k, v in GOOD.items() if k != "loraRank"}, True, None, "`loraRank`: Field required"),
    ({**GOOD, "loraRank": 0}, True, None, "metadata.json:4: `loraRank`"),
    ({**GOOD, "baseModelSignature": "9799725"}, True, None, "metadata.json:3: `baseModelSignature`"),
    ({**GOOD, "adapterIdentifier": "fmadapter-trip-titles-9799725"}, True, None,
     "metadata.json:2: adapter name 'trip-titles'"),
    (GOOD, False, None, "adapter_weights.bin: the package has no adapter weights"),
    (GOOD, True, "1a2b3c4", "metadata.json:3: the adapter is locked to base model 9799725"),
])
def test_a_malformed_package_is_refused_naming_file_and_line(tmp_path, metadata, weights, runner_sig, message):
    path = package(tmp_path / "trip_titles.fmadapter", metadata, weights)
    with pytest.raises(InputError) as caught:
        validate_fmadapter(path, runner_signature=runner_sig)
    assert message in str(caught.value)


def test_registration_refuses_an_adapter_for_another_system_model_and_changes_nothing(cli_env, sft_request,
                                                                                     tmp_path):
    path = package(tmp_path / "trip_titles.fmadapter", GOOD)
    with pytest.raises(InputError, match="locked to base model 9799725"):
        check_registration(cli_env, path, sft_request, recipe="sft", runner_signature="1a2b3c4")
    assert AdapterStore(store_root(cli_env)).objects() == []
    assert {v.id: v.status for v in list_requests(cli_env)}[sft_request] == "open"


@pytest.fixture
def sft_data(cli_env, sft_request, tmp_path) -> Path:
    out = tmp_path / "sft"
    built = runner.invoke(app, ["train", "data", "sft", "--request", str(sft_request), "--out", str(out),
                                "--limit", "3", "--repo", str(cli_env.repo)])
    assert built.exit_code == 0, built.output
    return out


def test_the_prompt_pin_holds_while_the_pipeline_sends_the_same_prompt(cli_env, sft_request, sft_data, tmp_path):
    from tests.support.gguf_lora import write_lora

    checked = check_registration(cli_env, write_lora(tmp_path / "a.gguf", seed=1), sft_request, recipe="sft",
                                 data_dir=sft_data)
    assert checked.pin == "checked" and checked.card["probe_prompt_sha256"]


def test_a_pin_mismatch_is_refused_at_registration(cli_env, sft_request, sft_data, tmp_path):
    from tests.support.gguf_lora import write_lora

    system = cli_env.workspace_dir / "prompts" / "system.md"
    system.write_text(system.read_text() + "\nAlways answer in French.\n")
    adapter = write_lora(tmp_path / "a.gguf", seed=1)
    result = runner.invoke(app, ["train", "register", str(adapter), "--request", str(sft_request), "--recipe", "sft",
                                 "--data", str(sft_data), "--queue", "--repo", str(cli_env.repo)])
    assert result.exit_code == 2, result.output
    flat = result.output.replace("\n", "")
    assert "data_card.json" in flat and "prompt pin mismatch" in flat and "instructions" in flat
    assert AdapterStore(store_root(cli_env)).objects() == [] and not (cli_env.repo / "adapters" / "inbox").exists()
    assert {v.id: v.status for v in list_requests(cli_env)}[sft_request] == "open"


def test_the_inbox_refuses_a_dropped_fmadapter_before_it_becomes_an_experiment(tmp_path, caplog, monkeypatch):
    """The daemon's inbox (`next_ready`, which the run loop asks for the next adapter to evaluate)."""
    from loop.daemon import watchers
    from loop.daemon.watchers import InboxWatch

    monkeypatch.setattr(watchers, "wait_settled", lambda path: path.exists())  # written already: no 1 s wait

    inbox = tmp_path / "inbox"
    package(inbox / "bad_meta.fmadapter", '{\n  "adapterIdentifier": "fmadapter-bad_meta-9799725",\n  oops\n}')
    package(inbox / "other_os.fmadapter", {**GOOD, "adapterIdentifier": "fmadapter-other_os-9799725"})
    for name in ("bad_meta", "other_os"):
        (inbox / f"{name}.fmadapter.json").write_text('{"recipe": "sft"}')
    watch = InboxWatch(inbox)
    watch.runner_signature = lambda: "1a2b3c4"  # the run loop wires the runner's probe in here
    watch.scan()
    drain = lambda: {watch.next_ready() for _ in range(watch.queue.qsize())}  # noqa: E731
    with caplog.at_level("ERROR", logger="loop.daemon"):
        assert drain() == {None}
    assert "bad_meta.fmadapter/metadata.json:3: malformed adapter metadata" in caplog.text
    assert "other_os.fmadapter/metadata.json:3: the adapter is locked to base model 9799725" in caplog.text
    watch.runner_signature = lambda: "9799725"  # the right OS: offered again once it changes, then accepted
    (inbox / "other_os.fmadapter" / "metadata.json").write_text(json.dumps(
        {**GOOD, "adapterIdentifier": "fmadapter-other_os-9799725"}))
    watch.scan()  # both are offered again (refused ones are forgotten); the broken one is still refused
    assert drain() == {None, inbox / "other_os.fmadapter"}
