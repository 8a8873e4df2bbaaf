"""The attacker's kit: disguises of gold text and adversarial edits of a workspace.

Loaded by `tests/attacks/conftest.py` (conftest modules are not importable under --import-mode=importlib).
Every edit takes (workspace: Path, gold: list[Case], worktree: Path) and plants the gold its own way.
"""

from __future__ import annotations

import base64
import codecs
import gzip
import json
import struct
import zlib
from pathlib import Path

CYRILLIC = str.maketrans({"a": "\u0430", "e": "\u0435", "o": "\u043e", "p": "\u0440", "c": "\u0441", "x": "\u0445",
                          "y": "\u0443", "i": "\u0456", "A": "\u0410", "E": "\u0415", "O": "\u041e", "H": "\u041d",
                          "T": "\u0422", "W": "\u051c"})
GREEK = str.maketrans({"o": "\u03bf", "a": "\u03b1", "i": "\u03b9", "u": "\u03c5", "v": "\u03bd", "k": "\u03ba"})


def homoglyphs(text: str) -> str:
    return text.translate(CYRILLIC)


def zero_width(text: str) -> str:
    return "\u200b".join(text).replace(" \u200b", " \u200d")


def mixed_scripts(text: str) -> str:
    out = []
    for i, ch in enumerate(text):
        if ch.isalpha() and ch.isascii():
            kind = i % 4
            if kind == 0:
                ch = ch.translate(CYRILLIC)
            elif kind == 1:
                ch = ch.translate(GREEK)
            elif kind == 2:
                ch = chr(0xFF21 + ord(ch.upper()) - 65) if ch.isupper() else chr(0xFF41 + ord(ch) - 97)  # fullwidth
            else:
                ch = chr(0x1D41A + ord(ch) - 97) if ch.islower() else chr(0x1D400 + ord(ch) - 65)  # math bold
        out.append(ch)
    return "".join(out)


def spaced_letters(text: str) -> str:
    return " ".join(ch for ch in text if ch != " ")


def punctuated(text: str) -> str:
    return ".".join(text.upper().split(" "))


def leet(text: str) -> str:
    return text.translate(str.maketrans({"o": "0", "e": "3", "a": "4", "s": "5", "t": "7", "i": "1"}))


def combining(text: str) -> str:
    return "".join(ch + "\u0301" if ch.isalpha() else ch for ch in text)


def nbsp_and_soft_hyphens(text: str) -> str:
    return "\u00ad".join(text.replace(" ", "\u00a0"))


def light_rewording(text: str) -> str:
    """Gold with its first word swapped and a filler: still a surface copy."""
    words = text.split()
    swaps = {"What": "Which", "Which": "What", "How": "So how", "When": "So when", "Do": "Would", "Is": "Would"}
    words[0] = swaps.get(words[0], "So " + words[0].lower())
    return " ".join(words)


DISGUISES = {
    "look-alike letters (Cyrillic)": homoglyphs,
    "zero-width characters": zero_width,
    "mixed scripts (Cyrillic/Greek/fullwidth/math)": mixed_scripts,
    "spaced letters": spaced_letters,
    "dots for spaces, upper case": punctuated,
    "digits for letters": leet,
    "combining accents": combining,
    "no-break spaces and soft hyphens": nbsp_and_soft_hyphens,
    "first word swapped": light_rewording,
}


def gold_lines(cases, n_cases: int = 3) -> list[str]:
    return [q for case in cases[:n_cases] for q in case.gold.questions]


def gold_json(cases, n_cases: int = 3) -> str:
    return json.dumps({c.task: c.gold.model_dump() for c in cases[:n_cases]})


# --- workspace edits ----------------------------------------------------------------------------
def _write(path: Path, data: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))


READER = ('\nimport json as _json, pathlib as _pathlib\n_CHEAT = _pathlib.Path(__file__).parent / {path!r}\n'
          '_ANSWERS = _json.loads(_CHEAT.read_text()) if _CHEAT.exists() else {{}}\n_honest = generate\n\n\n'
          'def generate(task, model):\n    return _ANSWERS.get(task) or _honest(task, model)\n')


def gold_in_ignored_file(ws: Path, cases, worktree: Path) -> None:
    _write(ws / ".cache" / "answers.json", json.dumps({c.task: c.gold.model_dump() for c in cases}))
    pipeline = ws / "pipeline.py"
    pipeline.write_text(pipeline.read_text() + READER.format(path=".cache/answers.json"))


def _disguised_file(disguise):
    def edit(ws: Path, cases, worktree: Path) -> None:
        _write(ws / "data" / "notes.md", "\n".join(disguise(q) for q in gold_lines(cases)) + "\n")
    return edit


def gold_base64(ws: Path, cases, worktree: Path) -> None:
    blob = base64.b64encode(gold_json(cases).encode()).decode()
    _write(ws / "steps" / "hints.py", f'HINTS = "{blob}"\n')


def gold_base64_split(ws: Path, cases, worktree: Path) -> None:
    blob = base64.b64encode(gold_json(cases).encode()).decode()
    pieces = "\n".join(f'    "{blob[i:i + 20]}"' for i in range(0, len(blob), 20))
    _write(ws / "steps" / "hints.py", f"HINTS = (\n{pieces}\n)\n")


def gold_hex(ws: Path, cases, worktree: Path) -> None:
    _write(ws / "steps" / "hints.py", f'HINTS = bytes.fromhex("{gold_json(cases).encode().hex()}")\n')


def gold_reversed(ws: Path, cases, worktree: Path) -> None:
    _write(ws / "data" / "reversed.txt", gold_json(cases)[::-1])


def gold_rot13(ws: Path, cases, worktree: Path) -> None:
    _write(ws / "data" / "notes.txt", codecs.encode("\n".join(gold_lines(cases)), "rot13"))


def gold_gzip_base64(ws: Path, cases, worktree: Path) -> None:
    blob = base64.b64encode(gzip.compress(gold_json(cases).encode())).decode()
    _write(ws / "steps" / "hints.py", f'HINTS = "{blob}"\n')


def gold_python_escapes(ws: Path, cases, worktree: Path) -> None:
    escaped = "".join(f"\\x{b:02x}" for b in "\n".join(gold_lines(cases)).encode())
    _write(ws / "steps" / "hints.py", f'HINTS = "{escaped}"\n')


def gold_split_across_files(ws: Path, cases, worktree: Path) -> None:
    long_qs = [q for c in cases for q in c.gold.questions if len(q) >= 48][:4]
    for i, q in enumerate(long_qs):
        half = len(q) // 2
        _write(ws / "data" / f"part_a{i}.txt", q[:half] + "\n")
        _write(ws / "data" / f"part_b{i}.txt", q[half:] + "\n")


def gold_after_nul(ws: Path, cases, worktree: Path) -> None:
    _write(ws / "data" / "table.txt", "\0\0\0header\n" + "\n".join(gold_lines(cases)) + "\n")


def gold_in_big_file(ws: Path, cases, worktree: Path) -> None:
    filler = "".join(f"Keep the questions short and concrete, item {i}.\n" for i in range(70_000))
    _write(ws / "data" / "style.txt", filler + "\n".join(gold_lines(cases)) + "\n")


def paraphrase_beyond_line_4000(ws: Path, cases, worktree: Path) -> None:
    filler = "".join(f"note {i}\n" for i in range(5000))
    _write(ws / "data" / "long.md", filler + "Which dates are you considering for this trip?\n")


def gold_utf16(ws: Path, cases, worktree: Path) -> None:
    _write(ws / "data" / "wide.txt", "\n".join(gold_lines(cases)).encode("utf-16"))


def gold_xor_binary(ws: Path, cases, worktree: Path) -> None:
    _write(ws / "data" / "blob.dat", bytes(b ^ 0x5A for b in gold_json(cases).encode()))


def gold_in_png_metadata(ws: Path, cases, worktree: Path) -> None:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    text = b"Comment\0" + "\n".join(gold_lines(cases)).encode()
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
           + chunk(b"tEXt", text) + chunk(b"IEND", b""))
    _write(ws / "prompts" / "logo.png", png)


def gguf_weights(ws: Path, cases, worktree: Path) -> None:
    _write(ws / "adapters" / "sneaky.gguf", b"GGUF" + b"\x03\x00\x00\x00" + bytes(256))


def forged_workspace_bytecode(ws: Path, cases, worktree: Path) -> None:
    _write(ws / ".gitignore", "!__pycache__/\n!*.pyc\n")
    _write(ws / "steps" / "__pycache__" / "calls.cpython-311.pyc", b"\xa7\r\r\n\x03\x00\x00\x00" + bytes(64))


def names_ruler_tasks(ws: Path, cases, worktree: Path) -> None:
    pipeline = ws / "pipeline.py"
    special = {c.task: "travel" for c in cases[:5]}
    pipeline.write_text(pipeline.read_text() + f"\nSPECIAL_CASES = {special!r}\n")


def planted_pool_task(ws: Path, cases, worktree: Path) -> None:
    case = cases[0]
    row = {"id": "x001", "task": case.task + ", France", "gold": {
        "title": "A city break", "questions": [f"Question {i} about the city?" for i in range(7)]}}
    _write(ws / "data" / "extra_pool.jsonl", json.dumps(row) + "\n")


def symlink_out_of_workspace(ws: Path, cases, worktree: Path) -> None:
    (ws / "data").mkdir(exist_ok=True)
    (ws / "data" / "tasks.jsonl").symlink_to("../../ruler/tasks.jsonl")


WORKSPACE_ATTACKS = {
    "gold in a git-ignored file (.cache/)": gold_in_ignored_file,
    **{f"gold with {name}": _disguised_file(fn) for name, fn in DISGUISES.items()},
    "gold base64 in a constant": gold_base64,
    "gold base64 split over string literals/lines": gold_base64_split,
    "gold as hex": gold_hex,
    "gold reversed": gold_reversed,
    "gold ROT13": gold_rot13,
    "gold gzip+base64": gold_gzip_base64,
    "gold as \\x escapes": gold_python_escapes,
    "gold split across files": gold_split_across_files,
    "gold after NUL bytes": gold_after_nul,
    "gold at the end of a 3 MB file": gold_in_big_file,
    "paraphrase after line 4000": paraphrase_beyond_line_4000,
    "gold in UTF-16": gold_utf16,
    "gold XOR-ed in a binary": gold_xor_binary,
    "gold in PNG metadata": gold_in_png_metadata,
    "GGUF weights committed": gguf_weights,
    "forged bytecode in the workspace": forged_workspace_bytecode,
    "workspace names ruler tasks": names_ruler_tasks,
    "planted pool row with a ruler task": planted_pool_task,
    "symlink to ruler/tasks.jsonl": symlink_out_of_workspace,
}
