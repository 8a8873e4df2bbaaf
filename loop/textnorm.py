"""The one text normaliser behind every gold-text check (output leak check, workspace guard, proxy form
rules, training-pool test), so that a disguise defeats all of them or none.

- `fold(text)`: the disguise-proof spelling of a text that keeps its case and punctuation (for form
  rules that look at "?" or commas): Unicode NFKC; combining marks, zero-width, format and control
  characters removed (whitespace controls become spaces); every look-alike character of another script
  replaced by the ASCII character it imitates (Unicode confusables, from `confusable-homoglyphs`).
- `normalise(text)`: `fold`, then case folding, digits that pass for letters read as letters
  everywhere ("y0ur" -> "your", "4" -> "a": applied to gold and text alike, so numbers still compare),
  apostrophes dropped and every other run of punctuation or space made one space.
- `squeeze(text)`: `normalise` without the spaces, for character n-grams that survive "w h a t" or
  "w.h.a.t".
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

# characters that render as nothing (or as a plain space) and are used to break up words
_INVISIBLE_CATEGORIES = {"Cf", "Cc", "Cs", "Co", "Cn", "Mn", "Me", "Zl", "Zp"}
_WHITESPACE_CONTROLS = {"\t", "\n", "\r", "\x0b", "\x0c", "\u2028", "\u2029", "\x85"}
# digits and symbols used for letters ("wh4t", "y0ur", "$ave"); applied everywhere, to gold and text alike
_LEET = dict(zip(b"0134578@$", b"oleastbas"))
_WORD_BYTES = set(range(ord("a"), ord("z") + 1)) | set(range(ord("0"), ord("9") + 1))
_TO_WORDS = bytes(_LEET.get(c, c if c in _WORD_BYTES else 32) for c in range(256))
_APOSTROPHES = b"'`"


@lru_cache(maxsize=1)
def _fold_table() -> dict[int, str]:
    """Non-ASCII character -> the ASCII character it looks like (letters, digits, punctuation)."""
    from confusable_homoglyphs.utils import load

    table: dict[int, str] = {}
    for char, lookalikes in load("confusables.json").items():
        if len(char) != 1:
            continue
        if char.isascii() and (char.isalnum() or char in "?,.;:!'\"-"):
            for entry in lookalikes:
                other = entry["c"]
                if len(other) == 1 and not other.isascii():
                    table.setdefault(ord(other), char)
        elif not char.isascii():
            ascii_twins = [e["c"] for e in lookalikes if len(e["c"]) == 1 and e["c"].isascii() and e["c"].isalnum()]
            if ascii_twins:
                table.setdefault(ord(char), ascii_twins[0])
    for space in ("\u00a0", "\u2007", "\u202f", "\u3000", "\u1680"):
        table[ord(space)] = " "
    return table


@lru_cache(maxsize=1)
def _invisible_table() -> dict[int, str | None]:
    table: dict[int, str | None] = {}
    for code in range(0x110000):
        char = chr(code)
        if unicodedata.category(char) in _INVISIBLE_CATEGORIES:
            table[code] = " " if char in _WHITESPACE_CONTROLS else None
    for keep in ("\t", "\n"):
        table[ord(keep)] = keep
    return table


def fold(text: str) -> str:
    """NFKC, invisible characters out, look-alikes of other scripts mapped to ASCII; case and punctuation kept."""
    text = unicodedata.normalize("NFKC", text)
    if text.isascii():
        return text.translate(_ASCII_CONTROLS)
    text = unicodedata.normalize("NFKD", text).translate(_invisible_table())
    text = text.translate(_fold_table())
    return unicodedata.normalize("NFKC", text)


_ASCII_CONTROLS = {c: (" " if chr(c) in "\r\x0b\x0c" else None) for c in range(32) if chr(c) not in "\t\n"}
_ASCII_CONTROLS[127] = None


def _word_bytes(text: str) -> bytes:
    """Folded, case-folded text as ASCII bytes of [a-z0-9 ] (look-alike digits as letters, apostrophes dropped)."""
    if text.isascii():  # every step maps an ASCII character on its own: one table lookup per byte
        table, dropped = _ascii_tables()
        return text.encode("ascii").translate(table, dropped)
    return _word_bytes_folded(text)


def _word_bytes_folded(text: str) -> bytes:
    folded = fold(text).casefold()
    data = folded.encode("ascii", "replace") if not folded.isascii() else folded.encode("ascii")
    return data.translate(_TO_WORDS, _APOSTROPHES)


@lru_cache(maxsize=1)
def _ascii_tables() -> tuple[bytes, bytes]:
    """`_word_bytes_folded` of each ASCII character, as a `bytes.translate` table and the bytes it drops."""
    table, dropped = bytearray(range(256)), bytearray()
    for code in range(128):
        out = _word_bytes_folded(chr(code))
        if out:
            assert len(out) == 1, (code, out)
            table[code] = out[0]
        else:
            dropped.append(code)
    return bytes(table), bytes(dropped)


def normalise(text: str) -> str:
    """Lower-case words separated by single spaces, after `fold` and look-alike digits as letters."""
    return " ".join(_word_bytes(text).decode("ascii").split())


def words(text: str) -> list[str]:
    return normalise(text).split()


def squeeze(text: str) -> str:
    """`normalise` with every space removed: "W h a t" and "What" squeeze alike."""
    return _word_bytes(text).replace(b" ", b"").decode("ascii")


def squeeze_bytes(text: str) -> bytes:
    """`squeeze` as bytes, for large texts."""
    return _word_bytes(text).replace(b" ", b"")


def char_grams(squeezed: str, n: int = 5) -> set[str]:
    if len(squeezed) <= n:
        return {squeezed} if squeezed else set()
    return {squeezed[i:i + n] for i in range(len(squeezed) - n + 1)}


def word_grams(tokens: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)}
