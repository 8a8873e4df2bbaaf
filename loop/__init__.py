"""autoresearch: improve an on-device LLM feature overnight against a frozen ruler."""

__version__ = "0.1.0"
