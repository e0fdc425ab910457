#!/usr/bin/env bash
# Sets everything up and runs the whole test suite as CI does: gcc (with benchmarks' smoke runs,
# the header check and the package consumers), clang, AddressSanitizer+UBSan, ThreadSanitizer, a
# plain Release build as a consumer would make it, the scenario suite with its targets checked, the
# fuzzers, a real libvirtd with a QEMU guest (skip: PVMKIT_SKIP_LIBVIRT=1), then the real-Xen
# harness (Xen 4.17 under QEMU, with its recovery phase: xenstored killed under pvmkit supervise,
# then stock; skip it with PVMKIT_SKIP_XEN=1, or only that phase with PVMKIT_XEN_RECOVERY=0).
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

# A plain Release build of the tests, as a consumer would configure it (no preset: warnings are
# warnings there, never errors, so a compiler's new false positive cannot break it).
echo "=== plain Release build of the tests (gcc, no -Werror) ($(( $(date +%s) - start )) s)"
cmake -S . -B build/plain-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DPVMKIT_BUILD_TESTS=ON \
  -DPVMKIT_HEADER_CHECK=OFF -DPVMKIT_BUILD_EXAMPLES=ON >/dev/null
if ! cmake --build build/plain-release -j 2 > build/plain-release.log 2>&1; then tail -40 build/plain-release.log; exit 1; fi
echo "built; $(grep -c 'warning:' build/plain-release.log || true) compiler warnings, none an error"

echo "=== scenario suite, targets checked ($(( $(date +%s) - start )) s)"
build/ci-gcc/examples/pvmkit/pvmkit simulate --suite examples/scenarios --check-targets > build/ci-gcc/suite.txt
sed -n '/against the oracle and the best baseline/,$p' build/ci-gcc/suite.txt

echo "=== fuzzers, ${PVMKIT_FUZZ_SECONDS:-20} s each ($(( $(date +%s) - start )) s)"
bash scripts/fuzz.sh

if [ "${PVMKIT_SKIP_LIBVIRT:-0}" = 1 ]; then
  echo "=== real-libvirtd harness skipped (PVMKIT_SKIP_LIBVIRT=1)"
else
  echo "=== real-libvirtd harness ($(( $(date +%s) - start )) s)"
  bash tests/libvirt/run-libvirt-harness.sh --pvmkit build/ci-gcc/examples/pvmkit/pvmkit \
    --workdir "${PVMKIT_LIBVIRT_WORKDIR:-/tmp/pvmkit-libvirt-harness}"
fi

if [ "${PVMKIT_SKIP_XEN:-0}" = 1 ]; then
  echo "=== real-Xen harness skipped (PVMKIT_SKIP_XEN=1)"
else
  echo "=== real-Xen harness ($(( $(date +%s) - start )) s)"
  bash tests/xen/run-xen-harness.sh --pvmkit build/ci-gcc/examples/pvmkit/pvmkit \
    --conformance build/ci-gcc/tests/xen/test_xen_conformance --workdir "${PVMKIT_XEN_WORKDIR:-/tmp/pvmkit-xen-harness}"
fi
echo "=== all done in $(( $(date +%s) - start )) s"
