"""How the guard reads a workspace file: what kind of file it is, and every text it may carry.

Every file is read whole, whatever its size. A file is text when its bytes decode as UTF-8 (NUL and
other control bytes included: they are removed by the normaliser, not a reason to skip) or as UTF-16/32
with a byte-order mark. Otherwise only a known binary header classifies it:
- weights (GGUF, safetensors, anything inside a `*.fmadapter` bundle, pickled or zipped tensors):
  never allowed in the workspace, which holds adapter pointers only;
- images (PNG, JPEG, GIF, WebP): allowed, recorded with size and sha256, and their printable runs
  (metadata chunks) are still scanned as text;
- anything else (bytecode, archives, executables, unknown bytes) is unreadable to the guard and so
  not allowed either: what the guard cannot read, the pipeline must not be able to use.

`decoded_variants(text)` lists the texts hidden in a text: reversed, base64 / base32 / hex runs (also
when split across lines or string literals), escape sequences (\\x.., \\u.., %.., &#..;), ROT13,
one-byte XOR keys (for text that does not read as language), and gzip/zlib/bz2/xz payloads inside
decoded bytes; decoding is applied up to `MAX_DEPTH` levels deep.
"""

from __future__ import annotations

import base64
import binascii
import bz2
import codecs
import gzip
import hashlib
import html
import lzma
import re
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

MAX_DEPTH = 3
MIN_ENCODED_CHARS = 16
IMAGE_MAGIC = ((b"\x89PNG\r\n\x1a\n", "png"), (b"\xff\xd8\xff", "jpeg"), (b"GIF87a", "gif"), (b"GIF89a", "gif"))
WEIGHT_SUFFIXES = {".gguf", ".safetensors", ".pt", ".pth", ".ckpt", ".bin", ".onnx", ".mlmodel", ".npz", ".npy",
                   ".h5", ".pb", ".tflite"}
_PRINTABLE_RUN = re.compile(rb"[\x20-\x7e\t\n]{8,}")
# base64/base32 runs: long tokens, also pieces joined by string-literal syntax or line breaks
_B64_TOKEN = r"[A-Za-z0-9+/_-]{8,}={0,2}"
_JOIN = r"""(?:\s*["']\s*\+?\s*\\?\s*["']?|\s*\n\s*["']?)"""
_B64_RUN = re.compile(_B64_TOKEN + r"(?:" + _JOIN + _B64_TOKEN + r")*")
_HEX_RUN = re.compile(r"(?:(?:\\x|0x)?[0-9a-fA-F]{2}[\s,:'\"+]*){8,}")
# every hex run lies inside a stretch of these characters at least 16 long: the run regex (which backtracks
# at every hex letter of plain prose) is applied only inside such stretches, with the same matches
_HEX_SPAN = re.compile(r"[0-9a-fA-Fx\\\s,:'\"+]{16,}")
_ESCAPE = re.compile(r"\\x[0-9a-fA-F]{2}|\\u[0-9a-fA-F]{4}|\\U[0-9a-fA-F]{8}|%[0-9a-fA-F]{2}|&#x?[0-9a-fA-F]+;|\\N\{[^}]+\}")


@dataclass
class FileRead:
    rel: str
    kind: str  # text | image | weights | unreadable | symlink
    size: int
    sha256: str
    text: str | None = None
    detail: str = ""


def _binary_kind(rel: str, data: bytes) -> tuple[str, str]:
    parts = Path(rel).parts
    if any(p.endswith(".fmadapter") for p in parts):
        return "weights", "inside an .fmadapter bundle"
    if data[:4] == b"GGUF":
        return "weights", "GGUF header"
    if len(data) >= 9:
        (header_len,) = struct.unpack("<Q", data[:8])
        if 0 < header_len < len(data) and data[8:9] == b"{":
            return "weights", "safetensors header"
    for magic, name in IMAGE_MAGIC:
        if data.startswith(magic):
            return "image", name
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image", "webp"
    if data[:1] == b"\x80" and data[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return "weights", "pickle (tensors or code)"
    if data[:4] == b"PK\x03\x04" and Path(rel).suffix.lower() in WEIGHT_SUFFIXES:
        return "weights", "zipped tensors"
    if Path(rel).suffix.lower() in WEIGHT_SUFFIXES:
        return "weights", f"{Path(rel).suffix} file"
    return "unreadable", "binary without a known header (bytecode, archive, executable or unknown)"


def _decode_text(data: bytes) -> str | None:
    for bom, codec in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                       (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                       (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            try:
                return data.decode(codec)
            except UnicodeDecodeError:
                return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def read_file(root: Path, rel: str) -> FileRead:
    path = Path(root) / rel
    if path.is_symlink():
        target = str(path.readlink())
        return FileRead(rel, "symlink", len(target), hashlib.sha256(target.encode()).hexdigest(), text=target)
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    suffix = Path(rel).suffix.lower()
    text = None if suffix in WEIGHT_SUFFIXES - {".bin"} or any(p.endswith(".fmadapter") for p in Path(rel).parts) \
        else _decode_text(data)
    if text is not None:
        return FileRead(rel, "text", len(data), digest, text=text)
    kind, detail = _binary_kind(rel, data)
    runs = "\n".join(m.group(0).decode("ascii") for m in _PRINTABLE_RUN.finditer(data)) if kind == "image" else None
    return FileRead(rel, kind, len(data), digest, text=runs, detail=detail)


# --- hidden texts -----------------------------------------------------------------------------
def _as_text(data: bytes) -> str | None:
    for opener in (gzip.decompress, zlib.decompress, bz2.decompress, lzma.decompress):
        try:
            data = opener(data)
            break
        except Exception:
            continue
    text = _decode_text(data)
    if text is None or not text.strip():
        return None
    printable = sum(ch.isprintable() or ch in "\n\t" for ch in text)
    return text if printable >= 0.85 * len(text) and any(ch.isalpha() for ch in text) else None


def _b64_pieces(run: str) -> list[bytes]:
    compact = re.sub(r"""["']\s*\+?\s*\\?\s*["']?|\s+""", "", run)
    found = []
    for candidate in {compact, compact.replace("-", "+").replace("_", "/")}:
        body = candidate.rstrip("=")
        for shift in range(4):  # a run may start mid-word ("b64 = 'V2hh...")
            piece = body[shift:]
            piece += "=" * (-len(piece) % 4)
            try:
                found.append(base64.b64decode(piece, validate=True))
            except (binascii.Error, ValueError):
                continue
        try:
            found.append(base64.b32decode(candidate.upper() + "=" * (-len(candidate) % 8)))
        except (binascii.Error, ValueError):
            pass
    return found


def _hex_piece(run: str) -> bytes | None:
    digits = re.sub(r"\\x|0x|[^0-9a-fA-F]", "", run)
    try:
        return bytes.fromhex(digits[: len(digits) // 2 * 2])
    except ValueError:
        return None


def _unescape(text: str) -> str:
    def one(match: re.Match) -> str:
        token = match.group(0)
        try:
            if token.startswith("%"):
                return unquote(token)
            if token.startswith("&"):
                return html.unescape(token)
            return codecs.decode(token, "unicode_escape")
        except Exception:
            return token

    return _ESCAPE.sub(one, text)


XOR_MAX_BYTES = 2_000_000
_LETTERS = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ ")


_LETTER_BYTES = bytes(sorted(_LETTERS))


def _letter_share(data: bytes) -> float:
    return (len(data) - len(data.translate(None, _LETTER_BYTES))) / len(data) if data else 0.0


def _single_byte_xor(text: str) -> str | None:
    """Text that does not read as language but does under a one-byte XOR key (a cheap cipher)."""
    data = text.encode("utf-8", "surrogateescape")
    if len(data) < 64 or len(data) > XOR_MAX_BYTES or _letter_share(data[:4096]) >= 0.6:
        return None
    sample = data[:4096]
    best_key = max(range(1, 256), key=lambda k: _letter_share(sample.translate(_XOR_TABLES[k])))
    if _letter_share(sample.translate(_XOR_TABLES[best_key])) < 0.75:
        return None
    return data.translate(_XOR_TABLES[best_key]).decode("utf-8", "replace")


_XOR_TABLES = [bytes(b ^ key for b in range(256)) for key in range(256)]


def decoded_variants(text: str, depth: int = 0) -> list[tuple[str, str]]:
    """(how, text) for each text hidden in `text` (not including `text` itself)."""
    if depth >= MAX_DEPTH or not text:
        return []
    out: list[tuple[str, str]] = [("reversed", text[::-1])]
    if _ESCAPE.search(text):
        out.append(("escapes", _unescape(text)))
    if depth == 0:
        out.append(("rot13", codecs.encode(text, "rot13")))
    hidden: list[tuple[str, str]] = []
    for match in _B64_RUN.finditer(text):
        run = match.group(0)
        if len(run) >= MIN_ENCODED_CHARS and not re.fullmatch(r"[a-z\s'\"+]+", run):
            for data in _b64_pieces(match.group(0)):
                decoded = _as_text(data)
                if decoded:
                    hidden.append(("base64", decoded))
    for match in (m for span in _HEX_SPAN.finditer(text) for m in _HEX_RUN.finditer(span.group(0))):
        data = _hex_piece(match.group(0))
        decoded = _as_text(data) if data and len(data) >= MIN_ENCODED_CHARS // 2 else None
        if decoded:
            hidden.append(("hex", decoded))
    if depth == 0:
        xored = _single_byte_xor(text)
        if xored:
            hidden.append(("xor", xored))
    for how, decoded in hidden:
        out.append((how, decoded))
        out += [(f"{how}+{inner}", t) for inner, t in decoded_variants(decoded, depth + 1) if inner != "rot13"]
    return out
