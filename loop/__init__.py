"""autoresearch: improve an on-device LLM feature overnight against a frozen ruler."""

__version__ = "0.1.0"

from loop.ruler_loader import install as _load_ruler_from_source_only  # noqa: E402

_load_ruler_from_source_only()
