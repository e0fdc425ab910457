#!/usr/bin/env bash
# Regenerates tests/golden/ from a built CLI, after a deliberate change to decisions or to the
# model (say why in the commit). Usage: scripts/update-golden.sh [path/to/pvmkit]
set -euo pipefail
cd "$(dirname "$0")/.."
cli="${1:-build/dev/examples/pvmkit/pvmkit}"
"$cli" agent --backend mock --once > tests/golden/agent-mock-once.jsonl
for s in overload-one-node four-node-asymmetric flash-crowd-return; do
  "$cli" simulate --scenario "examples/scenarios/$s.json" --json --flipping none > "tests/golden/simulate-$s.json"
done
"$cli" simulate --scenario examples/scenarios/overload-one-node.json --flipping none > tests/golden/simulate-overload-one-node.txt
git status --short tests/golden
