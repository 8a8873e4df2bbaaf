"""The guard's speed shortcuts give exactly the results of the plain computation they replace."""

from __future__ import annotations

import random

from loop.daemon.guard_read import _HEX_RUN, _HEX_SPAN
from loop.textnorm import squeeze_bytes

ASCII = "abcXYZ 0134578 '`\t\n\r\x00\x0b\x7f.,?!-_/\\\"éq"[:-2]  # every ASCII kind the normaliser treats specially


def test_a_reversed_ascii_text_squeezes_to_the_reversed_squeeze():
    rng = random.Random(0)
    for _ in range(500):
        text = "".join(rng.choice(ASCII) for _ in range(rng.randint(0, 80)))
        assert squeeze_bytes(text[::-1]) == squeeze_bytes(text)[::-1], repr(text)


def test_hex_runs_found_inside_spans_are_the_runs_found_in_the_whole_text():
    rng = random.Random(1)
    alphabet = "0123456789abcdefABCDEFx\\ ,:'\"+ghq\n"
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 120)))
        whole = [m.group(0) for m in _HEX_RUN.finditer(text)]
        spans = [m.group(0) for s in _HEX_SPAN.finditer(text) for m in _HEX_RUN.finditer(s.group(0))]
        assert spans == whole, repr(text)


def test_ascii_text_is_normalised_by_table_exactly_as_by_the_unicode_steps():
    from loop.textnorm import _word_bytes, _word_bytes_folded

    rng = random.Random(2)
    every = "".join(map(chr, range(128)))
    assert _word_bytes(every) == _word_bytes_folded(every)
    for _ in range(2000):
        text = "".join(rng.choice(every) for _ in range(rng.randint(0, 60)))
        assert _word_bytes(text) == _word_bytes_folded(text), repr(text)
