"""The manual training track: data from the training pool (`data.py`, rendered by the pipeline's own
code in `render.py`, checked against ruler and holdout in `leaks.py`), LoRA training (`lora.py`,
optional `[train]` dependencies installed on demand by `deps.py`), conversion to a GGUF LoRA
(`convert.py`), and registration against a request (`register.py`)."""
