"""The guard's speed shortcuts give exactly the results of the plain computation they replace."""

from __future__ import annotations

import random

import numpy as np

from loop.daemon.guard_gold import _MULT, WINDOW, _window_hashes
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


def _plain_window_hashes(data: bytes, width: int) -> np.ndarray:
    """The definition: sum of data[i + k] * MULT^(width - 1 - k) mod 2^64, by Horner's rule per window start."""
    arr = np.frombuffer(data, dtype=np.uint8).astype(np.uint64)
    count = max(len(arr) - width + 1, 0)
    out = arr[:count].copy()
    with np.errstate(over="ignore"):
        for k in range(1, width):
            out = out * _MULT + arr[k:count + k]
    return out


def test_prefix_sum_window_hashes_are_the_plain_polynomial_hashes():
    rng = np.random.default_rng(3)
    for length in (0, 1, 11, 12, 13, 100, 5_000, 70_000):
        data = rng.integers(0, 256, length, dtype=np.uint8).tobytes()
        for width in (1, 2, WINDOW, 34):
            assert np.array_equal(_window_hashes(data, width), _plain_window_hashes(data, width)), (length, width)
