"""`train export-apple`: the SFT data in the Apple adapter toolkit's JSONL format, checked line by line
against a schema fixture written from Apple's documentation, and TRAIN.md with the toolkit's commands,
the adapter-name rule, the base model the adapter is locked to, and "SFT only". Bad input writes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from loop.cli import app
from loop.errors import InputError
from loop.runners.protocol import Backend
from loop.training.apple_export import export_apple

SCHEMA = json.loads((Path(__file__).parent / "fixtures" / "apple_toolkit_example.schema.json").read_text())
APPLE = Backend(name="apple", model="system", model_version=None, os_build="25A354", model_variant="AFM 2 Core",
                base_model_signature="9799725", available=True)
runner = CliRunner()


@pytest.fixture
def sft_data(cli_env, sft_request, tmp_path) -> Path:
    out = tmp_path / "sft"
    built = runner.invoke(app, ["train", "data", "sft", "--request", str(sft_request), "--out", str(out),
                                "--limit", "8", "--eval-share", "0.3", "--repo", str(cli_env.repo)])
    assert built.exit_code == 0, built.output
    return out


def lines(path: Path) -> list:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_every_exported_line_fits_the_toolkit_schema_and_keeps_the_rendered_messages(sft_data, tmp_path):
    done = export_apple(sft_data, tmp_path / "apple", APPLE)
    train, valid = lines(tmp_path / "apple" / "train.jsonl"), lines(tmp_path / "apple" / "valid.jsonl")
    source = [json.loads(x)["messages"] for x in (sft_data / "train.jsonl").read_text().splitlines()]
    assert done.counts == {"train.jsonl": len(train), "valid.jsonl": len(valid)} and len(train) + len(valid) == 8
    assert train == source  # exactly the messages the pipeline's own guided call rendered (the prompt pin)
    for example in train + valid:
        jsonschema.validate(example, SCHEMA)
        assert [m["role"] for m in example] == ["system", "user", "assistant"]
        assert set(json.loads(example[-1]["content"])) >= {"title"}  # the answer as the schema's JSON


def test_the_schema_fixture_refuses_what_the_toolkit_would_not_read():
    bad = [{"messages": [{"role": "user", "content": "p"}]},  # an object, not the array of messages
           [{"role": "user", "content": "p"}, {"role": "model", "content": "r"}],
           [{"role": "user", "content": "p"}, {"role": "assistant", "content": ""}],
           [{"role": "user", "content": "p", "extra": 1}, {"role": "assistant", "content": "r"}]]
    for example in bad:
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(example, SCHEMA)


def test_train_md_names_commands_name_rule_locked_base_model_and_sft_only(sft_data, tmp_path):
    done = export_apple(sft_data, tmp_path / "apple", APPLE, adapter_name="trip_titles")
    text = done.train_md.read_text()
    out = tmp_path / "apple"
    assert f"python -m examples.train_adapter \\\n  --train-data {out / 'train.jsonl'} \\\n  --eval-data " \
           f"{out / 'valid.jsonl'}" in text
    assert "python -m export.export_fmadapter \\\n  --adapter-name trip_titles \\" in text
    assert "letters, digits and underscores only" in text and "SFT only" in text
    assert "AFM 2 Core" in text and "9799725" in text and done.base_model == "apple:system@AFM 2 Core"
    assert "trip_titles.fmadapter --request 1" in text


def test_bad_input_is_one_clear_error_and_writes_nothing(sft_data, tmp_path):
    with pytest.raises(ValueError, match="letters, digits and underscores"):
        export_apple(sft_data, tmp_path / "a", APPLE, adapter_name="trip-titles")
    card = json.loads((sft_data / "data_card.json").read_text())
    (sft_data / "data_card.json").write_text(json.dumps({**card, "kind": "pref"}))
    with pytest.raises(InputError, match="trains SFT only"):
        export_apple(sft_data, tmp_path / "b", APPLE)
    (sft_data / "data_card.json").write_text(json.dumps(card))
    rows = (sft_data / "train.jsonl").read_text().splitlines()
    broken = json.loads(rows[1])
    broken["messages"][-1]["role"] = "model"
    (sft_data / "train.jsonl").write_text("\n".join([rows[0], json.dumps(broken), *rows[2:]]) + "\n")
    with pytest.raises(InputError, match=r"train\.jsonl:2: message 3, `role`"):
        export_apple(sft_data, tmp_path / "c", APPLE)
    assert not any((tmp_path / d).exists() for d in "abc")


def test_export_apple_cli_probes_the_configured_runner(cli_env, sft_data, tmp_path):
    result = runner.invoke(app, ["train", "export-apple", "--data", str(sft_data), "--out", str(tmp_path / "x"),
                                 "--json", "--repo", str(cli_env.repo)])
    assert result.exit_code == 0, result.output
    done = json.loads(result.output)
    assert done["base_model"].startswith("replay:") and done["adapter_name"] == "request_0001_sft"
    assert "non-Apple runner" in (tmp_path / "x" / "TRAIN.md").read_text()
