"""Adapters by content, outside git.

An adapter (a GGUF LoRA file or an `.fmadapter` directory) is stored once in a content-addressed store
(`digest.py` names it, `store.py` keeps it, keyed by sha256, under the config's `adapter_store`). A
workspace holds only a small pointer file, `agent_workspace/adapters/<name>.json` (`pointer.py`).
When a pipeline calls the model with that pointer, the trusted parent maps it to the stored file and
verifies size and sha256 (`resolve.py`); the runner then caches the loaded adapter by that sha256, so
the same adapter used from many worktrees is loaded once per runner process. `register.py` puts an
adapter into the store and its pointer into a workspace.
"""
