#!/bin/bash
# One-time smoke test of the Apple path, run by a person on a Mac with Apple Intelligence:
# build fm-runner for the installed SDK, run the XCTests, probe the Apple backend, score the dev gate
# through it, and print a summary to paste into the issue.
#
# It CANNOT run in CI or on Linux (FoundationModels exists only on macOS 26+); it was written on Linux
# and has not been run yet. Usage, from the repository root after `make install`:
#     native/smoke-mac.sh            # writes native/smoke-mac.log and prints the summary
set -u
cd "$(dirname "$0")/.." || exit 1
LOG=native/smoke-mac.log
: >"$LOG"
step() { echo "== $*" | tee -a "$LOG"; }
[ "$(uname -s)" = Darwin ] || { echo "smoke-mac.sh runs on macOS only (this is $(uname -s))"; exit 2; }

FLAGS=$(native/sdk-flags.sh)
step "build (SDK $(xcrun --sdk macosx --show-sdk-version 2>/dev/null), flags: ${FLAGS:-none})"
(cd native && swift build -c release --product fm-runner $FLAGS) >>"$LOG" 2>&1; BUILD=$?

step "swift test"
(cd native && swift test $FLAGS) >>"$LOG" 2>&1; TESTS=$?
XCTESTS=$(grep -E "Executed [0-9]+ tests" "$LOG" | tail -1 | sed 's/^[[:space:]]*//')

step "probe (apple backend)"
PROBE=$(native/.build/release/fm-runner probe 2>>"$LOG"); echo "$PROBE" >>"$LOG"

step "dev gate through the Apple backend"
EVAL=$(.venv/bin/autoresearch eval --gate dev --runner apple --json 2>>"$LOG"); EVAL_RC=$?
echo "$EVAL" >>"$LOG"
GATE=$(printf '%s' "$EVAL" | .venv/bin/python -c '
import json, sys
try:
    r = json.load(sys.stdin)
except ValueError:
    print("no report (see the log)"); sys.exit()
reasons = [o.get("invalid_reason") or "" for o in r["outcomes"]]
refusals = sum("unsupported_schema" in x for x in reasons)
quality, confinement, calls = r["summary"]["quality"], r.get("confinement"), r["model_calls"]
print(f"quality {quality}, invalid {sum(bool(x) for x in reasons)}/{len(reasons)}, "
      f"schema refusals {refusals}, confinement {confinement}, model calls {calls}")')

cat <<EOF

---- paste from here ----
### smoke-mac.sh on $(sw_vers -productName) $(sw_vers -productVersion) ($(sw_vers -buildVersion)), $(uname -m), $(date -u +%F)
- SDK $(xcrun --sdk macosx --show-sdk-version 2>/dev/null), flags \`${FLAGS:-none}\`, Swift $(swift --version 2>/dev/null | head -1)
- build: $([ $BUILD = 0 ] && echo ok || echo "FAILED (first errors below)")
- swift test: $([ $TESTS = 0 ] && echo ok || echo FAILED) — ${XCTESTS:-no XCTest summary}
- probe: \`$PROBE\`
- dev gate (exit $EVAL_RC): $GATE
$(grep -m 8 -E "error:" "$LOG" | sed 's/^/    /')
---- to here (full log: $LOG) ----
EOF
