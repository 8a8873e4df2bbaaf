"""The generation cache never serves one model's answers to another (a new model line)."""

from loop.eval_cache import _key, generation_key
from loop.runners.protocol import Backend


def apple(**fields) -> Backend:
    return Backend(name="apple", model="SystemLanguageModel.default", os_build="26.4 (25E100)", **fields)


def test_a_new_base_model_under_the_same_os_build_is_another_cache_entry():
    before = generation_key("ws", apple(base_model_signature="aaaaaaa"), "task")
    assert generation_key("ws", apple(base_model_signature="bbbbbbb"), "task") != before
    assert generation_key("ws", apple(base_model_signature="aaaaaaa", model_variant="AFM 3 Core"), "task") != before
    assert generation_key("ws", apple(base_model_signature="aaaaaaa"), "task") == before


def test_runners_that_report_no_variant_or_signature_keep_their_cache_keys():
    llama = Backend(name="llama", model="m.gguf", model_version="abc", os_build="Linux")
    assert generation_key("ws", llama, "task") == _key("gen/1", "ws", "llama", "m.gguf", "abc", "Linux", "task")
