"""The step library pipelines are built from. Each module is one inference lever:

config      load and validate pipeline.toml (knob values = their defaults)
tracing     traced_step / traced: deterministic steps appear in the run's trace
sampling    decoding presets (greedy, sampled with temperature/top_p/seed)
prompts     prompt templates kept as files in ../prompts/
output      schema-forced output: exactly N questions (array or named slots), parse, trim
calls       one guided call that returns {"title", "questions"}
chains      draft -> critique -> revise
candidates  several candidates, then pick / vote / pairwise tournament judged by the model itself
retrieval   most similar training-pool tasks as few-shot examples (embedding search)
cleanup     near-duplicate removal, coverage check, over-generate-and-prune
adapters    the adapter (LoRA) named in pipeline.toml, passed on model calls
"""
