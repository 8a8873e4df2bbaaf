"""The runner's model identity and the model line it belongs to.

A model line is keyed on what identifies the model: backend + model + model version/variant +
base-model signature where the OS reports one; the OS build only when nothing else identifies the
model (an Apple backend that reports neither a version, a variant nor a signature). Scores, keep
decisions, the running best and the noise floor are compared only inside one (ruler id, model line).
The adapter signature is part of the identity (recorded) but not of the line: an adapter is a lever
the research uses, not a different base model.
"""

from __future__ import annotations

import hashlib
import json

from pydantic import BaseModel


class ModelIdentity(BaseModel):
    backend: str
    model: str | None = None
    version: str | None = None
    variant: str | None = None
    os_build: str | None = None
    base_model_signature: str | None = None
    adapter_signature: str | None = None

    @classmethod
    def of(cls, backend) -> "ModelIdentity":
        """From a runner probe (`loop.runners.protocol.Backend`); fields a runner does not report stay None."""
        return cls(backend=backend.name, model=backend.model, version=backend.model_version,
                   variant=getattr(backend, "model_variant", None), os_build=backend.os_build,
                   base_model_signature=getattr(backend, "base_model_signature", None),
                   adapter_signature=backend.adapter_signature)

    def line_parts(self) -> dict:
        parts = {"backend": self.backend, "model": self.model, "version": self.version, "variant": self.variant,
                 "base_model_signature": self.base_model_signature}
        if not (self.version or self.variant or self.base_model_signature):
            parts["os_build"] = self.os_build  # nothing else identifies the model
        return parts

    def line_key(self) -> str:
        """A short stable key of the model line (16 hex digits)."""
        return hashlib.sha256(json.dumps(self.line_parts(), sort_keys=True).encode()).hexdigest()[:16]

    def label(self) -> str:
        """How a person reads the line: `llama:smollm2@<version>` (variant, OS build where they identify it)."""
        text = f"{self.backend}:{self.model or '?'}"
        tail = self.variant or self.version
        if tail:
            text += f"@{tail[:24]}"
        if "os_build" in self.line_parts() and self.os_build:
            text += f" (OS {self.os_build})"
        return text


def line_key(backend) -> str:
    return ModelIdentity.of(backend).line_key()
