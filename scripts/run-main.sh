#!/usr/bin/env bash
# Sets everything up, builds the pvmkit CLI and runs the main job: the simulation of the embedded
# default scenario (figures are modelled, see docs/simulator.md). Extra arguments go to
# 'pvmkit simulate'.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release --target pvmkit_cli
echo
exec ./build/release/examples/pvmkit/pvmkit simulate "$@"
