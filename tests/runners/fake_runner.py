"""A misbehaving runner for client tests: answers the start-up probe properly, then per mode:
`junk` answers generate with a line that is not a pipeline-gen/1 response; `exit` exits on generate."""

import json
import sys

BACKEND = {"name": "mock", "model": "fake", "model_version": None, "os_build": None, "adapter_signature": None}

mode = sys.argv[1]
for line in sys.stdin:
    request = json.loads(line)
    if request["op"] == "probe":
        answer = {"id": request["id"], "ok": True, "text": None, "json": None, "usage": None,
                  "timing": {"latency_ms": None}, "backend": BACKEND, "error": None}
    elif mode == "junk":
        answer = {"id": request["id"], "ok": True, "text": "hi"}  # no backend, no timing
    else:
        print("fake runner: exiting on purpose", file=sys.stderr, flush=True)
        sys.exit(7)
    print(json.dumps(answer), flush=True)
