"""PEFT LoRA → GGUF LoRA with llama.cpp's own `convert_lora_to_gguf.py`, taken from the source
distribution of the llama-cpp-python version installed here (it vendors llama.cpp, its `conversion`
package and `gguf-py`). The sdist comes from $AUTORESEARCH_LLAMA_SDIST (a local .tar.gz) or from PyPI
through `pip download`; the needed members are unpacked once into `<tools>/llama.cpp-<version>/`."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

MEMBERS = ("convert_lora_to_gguf.py", "convert_hf_to_gguf.py", "conversion/", "gguf-py/")


class ConversionError(RuntimeError):
    pass


def converter_dir(tools: Path, log=print) -> Path:
    ver = version("llama-cpp-python")
    target = Path(tools) / f"llama.cpp-{ver}"
    if (target / "convert_lora_to_gguf.py").exists():
        return target
    sdist = os.environ.get("AUTORESEARCH_LLAMA_SDIST")
    with tempfile.TemporaryDirectory() as tmp:
        if not sdist:
            log(f"downloading the llama-cpp-python {ver} source distribution (for llama.cpp's converter) ...")
            subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-binary", ":all:", "--no-deps",
                            f"llama-cpp-python=={ver}", "-d", tmp], check=True)
            sdist = str(next(Path(tmp).glob("llama_cpp_python-*.tar.gz")))
        prefix = f"llama_cpp_python-{ver}/vendor/llama.cpp/"
        staging = Path(tempfile.mkdtemp(prefix=".llama.cpp-", dir=_mkdir(tools)))
        with tarfile.open(sdist) as archive:
            for member in archive.getmembers():
                rel = member.name.removeprefix(prefix)
                if member.name.startswith(prefix) and rel.startswith(MEMBERS) and (member.isfile() or member.isdir()):
                    member.name = rel
                    archive.extract(member, staging, filter="data")
        if not (staging / "convert_lora_to_gguf.py").exists():
            raise ConversionError(f"{sdist} has no vendor/llama.cpp/convert_lora_to_gguf.py")
        staging.rename(target)
    return target


def _mkdir(path: Path) -> Path:
    Path(path).mkdir(parents=True, exist_ok=True)
    return Path(path)


def convert(adapter_dir: Path, base_config_dir: Path, outfile: Path, tools: Path, log=print) -> float:
    """Write the GGUF LoRA; returns the conversion's wall time in seconds."""
    script = converter_dir(tools, log) / "convert_lora_to_gguf.py"
    started = time.perf_counter()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    done = subprocess.run([sys.executable, str(script), "--base", str(base_config_dir), "--outtype", "f32",
                           "--outfile", str(outfile), str(adapter_dir)], capture_output=True, text=True, env=env)
    if done.returncode != 0 or not Path(outfile).exists():
        raise ConversionError(f"convert_lora_to_gguf.py failed ({done.returncode}): {done.stderr[-1500:]}")
    return time.perf_counter() - started
