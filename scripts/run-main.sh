#!/usr/bin/env bash
# Sets everything up, builds the pvmkit CLI and runs the main job: the scenario suite
# (examples/scenarios), every placement x sizing pair deployments use today against Closer and the
# bounded oracle, Closer's targets checked on each (figures are modelled, see docs/simulator.md).
# Extra arguments go to 'pvmkit simulate' (e.g. --json, --csv DIR, --check-targets).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release --target pvmkit_cli
echo
exec ./build/release/examples/pvmkit/pvmkit simulate --suite examples/scenarios "$@"
