"""Sandboxed execution of the mutable pipeline: `session.PipelineSession` (one confined worker per
evaluation), `worker` (the confined side), `confine` (environment allow-list, bwrap/sandbox-exec),
`leak.gold_leak` (near-copies of the gold, checked independently of any sandbox)."""
