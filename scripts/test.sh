#!/usr/bin/env bash
# Sets everything up and runs the whole test suite as CI does: gcc (with benchmarks' smoke runs,
# the header check and the package consumers), clang, AddressSanitizer+UBSan, ThreadSanitizer,
# then the real-Xen harness (Xen 4.17 under QEMU; skip it with PVMKIT_SKIP_XEN=1).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/ccache}"
# Paths relative to the checkout, so a clone in another folder reuses the cache.
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
ccache --max-size=5G >/dev/null

start=$(date +%s)
for preset in ci-gcc ci-clang asan-ubsan tsan; do
  echo "=== $preset: configure and build ($(( $(date +%s) - start )) s)"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset"
  echo "=== $preset: test"
  ctest --preset "$preset"
done

if [ "${PVMKIT_SKIP_XEN:-0}" = 1 ]; then
  echo "=== real-Xen harness skipped (PVMKIT_SKIP_XEN=1)"
else
  echo "=== real-Xen harness ($(( $(date +%s) - start )) s)"
  bash tests/xen/run-xen-harness.sh --pvmkit build/ci-gcc/examples/pvmkit/pvmkit \
    --conformance build/ci-gcc/tests/xen/test_xen_conformance --workdir "${PVMKIT_XEN_WORKDIR:-/tmp/pvmkit-xen-harness}"
fi
echo "=== all done in $(( $(date +%s) - start )) s"
