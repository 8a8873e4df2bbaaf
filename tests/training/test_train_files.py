"""The training data readers (`train_rows`, used by the SFT and the preference recipes): a missing or
empty `train.jsonl`, a line that is not JSON, and a row of the wrong shape are each an InputError naming
the file and the line; blank lines are skipped."""

from __future__ import annotations

import json

import pytest

from loop.errors import InputError
from loop.training.lora import read_examples
from loop.training.preference import read_pairs

SFT = {"messages": [{"role": "user", "content": "Plan a trip"}, {"role": "assistant", "content": "{}"}]}
PAIR = {"prompt": [{"role": "user", "content": "Plan a trip"}], "chosen": "{}", "rejected": "{ }"}


@pytest.mark.parametrize("reader, build", [(read_examples, "train data sft"), (read_pairs, "train data pref")])
def test_a_missing_or_empty_train_file_names_the_command_that_builds_it(tmp_path, reader, build):
    with pytest.raises(InputError, match=build) as missing:
        reader(tmp_path)
    (tmp_path / "train.jsonl").write_text("\n  \n")
    with pytest.raises(InputError, match=build):
        reader(tmp_path)
    assert str(tmp_path / "train.jsonl") in str(missing.value)


@pytest.mark.parametrize("reader, good", [(read_examples, SFT), (read_pairs, PAIR)])
def test_a_line_that_is_not_json_is_named_by_its_number(tmp_path, reader, good):
    (tmp_path / "train.jsonl").write_text(json.dumps(good) + "\n\n" + '{"messages": [\n')
    with pytest.raises(InputError, match="not JSON") as caught:
        reader(tmp_path)
    assert caught.value.line == 3


@pytest.mark.parametrize("reader, good, bad, words", [
    (read_examples, SFT, {"messages": [{"role": "user", "content": "x"}]}, "not an SFT example"),
    (read_pairs, PAIR, {**PAIR, "rejected": ""}, "rejected missing"),
])
def test_a_row_of_the_wrong_shape_is_named_and_good_rows_keep_their_lines(tmp_path, reader, good, bad, words):
    (tmp_path / "train.jsonl").write_text(json.dumps(good) + "\n\n" + json.dumps(good) + "\n")
    assert [row["_line"] for row in reader(tmp_path)] == [1, 3]
    (tmp_path / "train.jsonl").write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    with pytest.raises(InputError, match=words) as caught:
        reader(tmp_path)
    assert caught.value.line == 2
