#!/bin/bash
# pvmkit's real-Xen harness. Boots Debian 12's Xen 4.17 and a busybox dom0 under QEMU's software
# emulation (TCG) on an emulated 2-node NUMA machine (4 CPUs: 0-1 on node 0, 2-3 on node 1),
# starts two PV guests with a vif and a disk each, one per node, runs `pvmkit agent --backend xen
# --once` in dom0, checks the result from libxl and /proc, and runs the backend conformance suite
# against the Xen backend in dom0 (tests/xen/dom0-init.sh has the checks); then the recovery phase
# (tests/xen/dom0-recovery.sh): dom0's daemons under `pvmkit supervise`, xenstored killed 10 times,
# xenconsoled and the agent killed, and stock Xen's xenstored killed last.
#
# Usage: run-xen-harness.sh --pvmkit PATH --conformance PATH [--workdir DIR]
# Needs root and Debian's package registry (apt-get). Prints CHECK-PASS:/CHECK-FAIL: lines and a
# final "XEN-HARNESS: PASS" or "XEN-HARNESS: FAIL"; exits 0 only on PASS. Bounded in time: QEMU
# is killed after $PVMKIT_XEN_BOOT_TIMEOUT seconds (default 20 minutes per phase x the host's load,
# at most an hour), or once dom0 has been silent for $PVMKIT_XEN_SILENCE_S seconds x the host's
# load (default 300; dom0 prints a heartbeat every 10 s of its clock), after Xen's debug keys have
# put its state on the console; after $PVMKIT_XEN_NUDGE_S (60) x the load, it is nudged first.
# A boot that never reaches dom0's first line is retried once, and so is a run that stopped silent
# with every check so far passed.
#
# Environment: PVMKIT_XEN_SKIP_APT=1 (packages already there), PVMKIT_XEN_MEM_MB (default 3072,
# split over the two nodes), PVMKIT_XEN_DOM0_MEM_MB (default 512), PVMKIT_XEN_CACHE (where the
# downloaded .deb files are kept between runs; default <workdir>/debs), PVMKIT_XEN_TIMEOUT_SCALE
# (multiplies every wait in dom0; default 1 on an idle host, up to 3 as the host's load rises),
# PVMKIT_XEN_CLOCK (virtual, the default, or real; see below). PVMKIT_XEN_RECOVERY=0 leaves the
# recovery phase out (docs/recovery.md); PVMKIT_XEN_RECOVERY_KILLS=N kills xenstored N times
# instead of 10. For work on that phase only (the run then fails its count):
# PVMKIT_XEN_RECOVERY_ONLY=1 skips the other checks once the guests are up.
#
# The emulated machine's clock is virtual by default (QEMU -icount, sleep=off): it advances with
# the instructions the emulated CPUs execute, not with the host's time, so a busy host makes the
# run slower but never makes a timeout inside it (libxl's compiled-in 10 s for a new backend, a
# `timeout` in dom0) expire early; idle waits are skipped. PVMKIT_XEN_CLOCK=real runs QEMU's
# multi-threaded TCG on the host's clock instead: faster on an idle host, at the mercy of its load.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
pvmkit_bin=""; conformance_bin=""; work=${TMPDIR:-/tmp}/pvmkit-xen-harness
while [ $# -gt 0 ]; do
  case "$1" in
    --pvmkit) pvmkit_bin=$2; shift 2 ;;
    --conformance) conformance_bin=$2; shift 2 ;;
    --workdir) work=$2; shift 2 ;;
    -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
    *) echo "run-xen-harness: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
for f in "$pvmkit_bin" "$conformance_bin"; do
  if [ -z "$f" ] || [ ! -x "$f" ]; then
    echo "run-xen-harness: need --pvmkit and --conformance executables (got '$pvmkit_bin', '$conformance_bin')" >&2; exit 2
  fi
done
pvmkit_bin=$(readlink -f "$pvmkit_bin"); conformance_bin=$(readlink -f "$conformance_bin")
if [ "$(id -u)" != 0 ]; then echo "run-xen-harness: must run as root (apt-get, loop devices in the initramfs build)" >&2; exit 2; fi

mem_mb=${PVMKIT_XEN_MEM_MB:-3072}; dom0_mem_mb=${PVMKIT_XEN_DOM0_MEM_MB:-512}; node_mb=$((mem_mb / 2))
clock=${PVMKIT_XEN_CLOCK:-virtual}
case "$clock" in
  virtual) accel="-accel tcg,thread=single -icount shift=0,sleep=off" ;;
  real) accel="-accel tcg,thread=multi" ;;
  *) echo "run-xen-harness: PVMKIT_XEN_CLOCK must be virtual or real (got '$clock')" >&2; exit 2 ;;
esac
# The host's load: 1 when idle, up to 3 as it rises. On the virtual clock it only stretches the
# host-side limit (QEMU's run time); on the real clock it stretches every wait in dom0 as well.
load_scale=$(awk -v l="$(cut -d' ' -f1 /proc/loadavg)" -v n="$(nproc)" 'BEGIN { s = 1 + int(2 * l / n + 0.5); print (s > 3 ? 3 : s) }')
if [ "$clock" = virtual ]; then scale=${PVMKIT_XEN_TIMEOUT_SCALE:-1}; else scale=${PVMKIT_XEN_TIMEOUT_SCALE:-$load_scale}; fi
case "$scale" in ''|*[!0-9]*|0) echo "run-xen-harness: PVMKIT_XEN_TIMEOUT_SCALE must be a positive integer (got '$scale')" >&2; exit 2;; esac
# The recovery phase (kill -9 of dom0's daemons under pvmkit supervise, then stock xenstored).
recovery=${PVMKIT_XEN_RECOVERY:-1}
case "$recovery" in ''|0) recovery= ;; 1) ;; *) echo "run-xen-harness: PVMKIT_XEN_RECOVERY must be 0 or 1 (got '$recovery')" >&2; exit 2;; esac
kills=${PVMKIT_XEN_RECOVERY_KILLS:-10}
case "$kills" in ''|*[!0-9]*|0) echo "run-xen-harness: PVMKIT_XEN_RECOVERY_KILLS must be a positive integer (got '$kills')" >&2; exit 2;; esac
# QEMU's time limit: 20 minutes per phase, stretched by the host's load, and never more than an
# hour (a hung run must fail with its diagnosis well inside CI's own limit).
boot_timeout=$(( (recovery ? 2400 : 1200) * load_scale )); [ "$boot_timeout" -le 3600 ] || boot_timeout=3600
boot_timeout=${PVMKIT_XEN_BOOT_TIMEOUT:-$boot_timeout}
# The number of checks a complete run makes is written once, in dom0's script.
count_of() { sed -n "s/^$1=\([0-9][0-9]*\)\$/\1/p" "$here/dom0-init.sh"; }
base=$(count_of BASE_CHECKS); fixed=$(count_of RECOVERY_FIXED_CHECKS); per_kill=$(count_of RECOVERY_CHECKS_PER_KILL)
[ -n "$base" ] && [ -n "$fixed" ] && [ -n "$per_kill" ] ||
  { echo "run-xen-harness: no BASE_CHECKS, RECOVERY_FIXED_CHECKS and RECOVERY_CHECKS_PER_KILL lines in $here/dom0-init.sh" >&2; exit 2; }
expected=$base
[ -n "$recovery" ] && expected=$((base + fixed + per_kill * kills))
cache=${PVMKIT_XEN_CACHE:-$work/debs}
mkdir -p "$work" "$cache"; cd "$work"
t0=$(date +%s)
log() { echo "[xen-harness +$(( $(date +%s) - t0 ))s] $*"; }
harness_fail() { echo "CHECK-FAIL: $*"; echo "XEN-HARNESS: FAIL"; exit 1; }

# ---- 1. packages -----------------------------------------------------------------------------
if [ -z "${PVMKIT_XEN_SKIP_APT:-}" ]; then
  log "apt-get: qemu, busybox, Xen 4.17, the kernel"
  export DEBIAN_FRONTEND=noninteractive
  need=""
  for p in qemu-system-x86 busybox-static cpio gzip xz-utils binutils; do dpkg -s "$p" >/dev/null 2>&1 || need="$need $p"; done
  if [ -n "$need" ]; then
    timeout 600 apt-get update -q >/dev/null || harness_fail "apt-get update"
    timeout 900 apt-get install -y -q --no-install-recommends $need >/dev/null || harness_fail "apt-get install$need"
  fi
  kernel_pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
  [ -n "$kernel_pkg" ] || harness_fail "no kernel package behind linux-image-amd64 (apt-get update?)"
  for p in xen-hypervisor-4.17-amd64 xen-utils-4.17 xen-utils-common xenstore-utils "$kernel_pkg"; do
    ls "$cache/${p}_"*.deb >/dev/null 2>&1 && continue
    (cd "$cache" && chown _apt . 2>/dev/null || true; timeout 600 apt-get download -q "$p" >/dev/null) ||
      { timeout 600 apt-get update -q >/dev/null; (cd "$cache" && timeout 600 apt-get download -q "$p" >/dev/null); } ||
      harness_fail "apt-get download $p"
  done
fi
for tool in qemu-system-x86_64 busybox cpio gzip strip readelf; do
  command -v "$tool" >/dev/null || [ -x "/bin/$tool" ] || harness_fail "missing $tool (run without PVMKIT_XEN_SKIP_APT)"
done
busybox=/bin/busybox

# ---- 2. Xen, the kernel, the tools -----------------------------------------------------------
log "extract the packages"
rm -rf x; mkdir -p x
for d in "$cache"/*.deb; do dpkg -x "$d" x; done
[ -f x/boot/xen-4.17-amd64.gz ] || harness_fail "xen-4.17-amd64.gz not in the hypervisor package"
zcat x/boot/xen-4.17-amd64.gz > xen.elf   # multiboot1 ELF: QEMU's -kernel boots it directly
cp x/boot/vmlinuz-* vmlinuz
# dom0 and the guests boot the ELF inside the bzImage: given the bzImage, Xen decompresses dom0's
# at boot and every xl create decompresses the guest's in dom0 (libxc's xz decoder under TCG: about
# 15 s of the emulator per guest created, 12 of them with the recovery phase). The payload is found
# by its compressor's magic bytes, first match wins; without one, the bzImage (slower, same kernel).
kernel_elf() {
  for m in '\xfd7zXZ\x00:xz' '\x28\xb5\x2f\xfd:zstd' '\x1f\x8b\x08:gzip'; do
    tool=${m##*:}; command -v "$tool" >/dev/null || continue
    off=$(LC_ALL=C grep -obUaP "${m%:*}" vmlinuz | head -1 | cut -d: -f1)
    [ -n "$off" ] || continue
    # The payload is followed by the bzImage's trailer, which the decoder reports as garbage.
    tail -c +$((off + 1)) vmlinuz | "$tool" -dc > vmlinux 2>/dev/null || true
    if readelf -n vmlinux 2>/dev/null | grep -q '^ *Xen '; then echo "$tool"; return 0; fi
  done
  rm -f vmlinux; return 1
}
if payload=$(kernel_elf); then log "kernel: the bzImage's $payload payload, decompressed once ($(( $(stat -c %s vmlinux) >> 20 )) MiB)"
else log "kernel: no ELF with Xen notes found in the bzImage; dom0 and the guests boot the bzImage"; cp vmlinuz vmlinux; fi
kver=$(ls x/lib/modules | head -1)
kmod=x/lib/modules/$kver/kernel

busybox_tree() {
  rm -rf "$1"; mkdir -p "$1"/{bin,proc,sys,dev,tmp,etc,root,run}
  cp "$busybox" "$1/bin/busybox"
  for a in $("$busybox" --list); do [ "$a" = busybox ] || ln -sf busybox "$1/bin/$a"; done
}

# ---- 3. the guests' initramfs ----------------------------------------------------------------
log "guest initramfs"
busybox_tree domu
mkdir -p domu/lib/modules
cp "$kmod/drivers/net/xen-netfront.ko" "$kmod/drivers/block/xen-blkfront.ko" domu/lib/modules/
cp "$here/domu-init.sh" domu/init; chmod +x domu/init
(cd domu && find . | cpio -o -H newc 2>/dev/null | gzip -1 > ../domU.cpio.gz)

# ---- 4. dom0's initramfs: busybox, Xen's tools and daemons, pvmkit ----------------------------
log "dom0 initramfs with $(basename "$pvmkit_bin") and $(basename "$conformance_bin")"
r=dom0root
busybox_tree $r
mkdir -p $r/{var/lib/xen,var/log/xen,var/lib/xenstored,var/lock,lib64,lib/x86_64-linux-gnu,lib/modules/xen,guest}
cp -a x/usr $r/; [ -d x/etc ] && cp -a x/etc $r/
rm -rf $r/usr/lib/modules $r/usr/share/doc $r/usr/share/man "$r/lib/modules/$kver" $r/usr/lib/xen-4.17/boot  # boot/: HVM firmware, unused by PV guests
# Our binaries, without debug info (the initramfs is unpacked into dom0's RAM).
strip --strip-debug -o $r/usr/bin/pvmkit "$pvmkit_bin"
strip --strip-debug -o $r/usr/bin/test_xen_conformance "$conformance_bin"
bins="$r/usr/bin/pvmkit $r/usr/bin/test_xen_conformance $r/usr/bin/xenstore"
for b in xl xenstored xenconsoled xen-init-dom0 xenconsole libxl-save-helper; do bins="$bins $r/usr/lib/xen-4.17/bin/$b"; done
for l in $(ldd $bins 2>/dev/null | awk '/=>/{print $3}' | grep '^/' | sort -u); do cp -L "$l" $r/lib/x86_64-linux-gnu/; done
cp -L /lib64/ld-linux-x86-64.so.2 $r/lib64/
cp -L /lib/x86_64-linux-gnu/libgcc_s.so.1 $r/lib/x86_64-linux-gnu/   # glibc dlopens it (pthread_cancel); xl create aborts without
if ! LD_LIBRARY_PATH=$r/lib/x86_64-linux-gnu ldd $r/usr/bin/pvmkit | grep -q 'not found'; then :; else harness_fail "pvmkit's libraries incomplete in dom0"; fi
m=$kmod/drivers/xen
cp $m/xen-evtchn.ko $m/xen-privcmd.ko $m/xen-gntdev.ko $m/xen-gntalloc.ko $m/xenfs/xenfs.ko $r/lib/modules/xen/
cp $kmod/net/llc/llc.ko $kmod/net/802/stp.ko $kmod/net/bridge/bridge.ko $kmod/drivers/net/xen-netback/xen-netback.ko \
   $kmod/drivers/block/loop.ko $kmod/drivers/block/xen-blkback/xen-blkback.ko $r/lib/modules/xen/
mkdir -p $r/etc/xen/scripts
cp "$here/vif-harness" "$here/block-harness" $r/etc/xen/scripts/; chmod +x $r/etc/xen/scripts/*-harness
cp vmlinux $r/guest/vmlinux
cp domU.cpio.gz $r/guest/initrd.gz
cp "$here/dom0-init.sh" $r/init; chmod +x $r/init
# Sourced by /init when present: pvmkit supervise starts the daemons, then the recovery phase.
[ -n "$recovery" ] && cp "$here/dom0-recovery.sh" $r/etc/dom0-recovery.sh
cat > $r/etc/harness.conf <<EOF
GUEST_WAIT=${PVMKIT_XEN_GUEST_WAIT:-300}
SETTLE_WAIT=${PVMKIT_XEN_SETTLE_WAIT:-90}
TIMEOUT_SCALE=$scale
RECOVERY=$recovery
RECOVERY_ONLY=${PVMKIT_XEN_RECOVERY_ONLY:-}
RECOVERY_KILLS=$kills
EOF
(cd $r && find . | cpio -o -H newc 2>/dev/null | gzip -1 > ../dom0.cpio.gz)
log "dom0.cpio.gz $(du -h dom0.cpio.gz | cut -f1)"

# ---- 5. boot ---------------------------------------------------------------------------------
# QEMU's serial console reads from a FIFO the runner holds open, and the runner watches dom0's
# output (every console line but Xen's own; dom0 prints a heartbeat every 10 s of its clock).
# - Silent for PVMKIT_XEN_NUDGE_S (60) s x the load: the runner nudges the emulated host, writing
#   Ctrl-A six times (Xen's console input goes to Xen and back to dom0; nothing else changes).
#   Under TCG with -icount sleep=off the emulated machine can lose its timer interrupt once every
#   CPU is idle: dom0 then waits for a timer that never fires (its kernel reports "rcu_preempt
#   kthread timer wakeup didn't happen" once woken; Xen, "Platform timer appears to have
#   unexpectedly wrapped"), and any interrupt wakes it. docs/xen.md, "Determinism".
# - Silent for PVMKIT_XEN_SILENCE_S (300) s x the load, nudges notwithstanding: the host stopped.
#   The runner sends Xen's debug keys, so that the log says where every CPU and vCPU stood, then
#   stops QEMU at once instead of waiting for the limit.
nudge_after=$(( ${PVMKIT_XEN_NUDGE_S:-60} * load_scale ))
silence_limit=$(( ${PVMKIT_XEN_SILENCE_S:-300} * load_scale ))
hang_watch() {
  local last=-1 quiet=0 lines nudged=0
  while sleep 15; do
    [ -s qemu.pid ] && kill -0 "$(cat qemu.pid)" 2>/dev/null || { [ -s qemu.pid ] && return; continue; }
    lines=$(grep -avc '^(XEN)' boot.log 2>/dev/null || true)
    if [ "$lines" = "$last" ]; then quiet=$((quiet + 15)); else quiet=0; nudged=0; last=$lines; fi
    if [ "$quiet" -ge "$silence_limit" ]; then
      echo "$quiet" > hang.txt
      log "dom0 has been silent for ${quiet}s: Xen's debug keys (q r d 0 e), then QEMU is stopped"
      printf '\001\001\001' >&7; sleep 3
      for key in q r d 0 e; do printf '%s' "$key" >&7; sleep 15; done
      sleep 30; kill -KILL "$(cat qemu.pid)" 2>/dev/null; return
    fi
    if [ "$quiet" -ge $(( (nudged + 1) * nudge_after )) ]; then
      nudged=$((nudged + 1)); echo "$quiet" >> nudges.txt
      log "dom0 has been silent for ${quiet}s: the emulated host nudged (Ctrl-A x6 on its serial input)"
      printf '\001\001\001' >&7; sleep 1; printf '\001\001\001' >&7
    fi
  done
}
boot() {
  log "boot Xen under QEMU TCG ($clock clock): ${mem_mb} MiB in 2 nodes of ${node_mb} MiB, dom0 ${dom0_mem_mb} MiB, timeouts x${scale}, limit ${boot_timeout}s"
  tb=$(date +%s)
  rm -f serial.in qemu.pid hang.txt; mkfifo serial.in; exec 7<>serial.in
  hang_watch & hw=$!
  set +e
  timeout -s KILL "$boot_timeout" qemu-system-x86_64 $accel -cpu max,-smap -m "${mem_mb}M" -smp 4 \
    -nographic -no-reboot -monitor none -serial stdio -pidfile qemu.pid \
    -object memory-backend-ram,id=m0,size="${node_mb}M" -numa node,nodeid=0,cpus=0-1,memdev=m0 \
    -object memory-backend-ram,id=m1,size="${node_mb}M" -numa node,nodeid=1,cpus=2-3,memdev=m1 \
    -kernel xen.elf \
    -append "console=com1 com1=115200,8n1 dom0_mem=${dom0_mem_mb}M,max:${dom0_mem_mb}M dom0_max_vcpus=4 bootscrub=0 noreboot" \
    -initrd "vmlinux console=hvc0 panic=-1 quiet,dom0.cpio.gz" <serial.in 2>&1 |
    sed -u 's/\r//g' | tee boot.log |
    grep --line-buffered -aE '^(CHECK-|OBS:|STALL:|HARNESS-DOM0-DONE|\(XEN\) .*(crash|Panic|FATAL))' |
    while IFS= read -r line; do echo "[xen-harness +$(( $(date +%s) - t0 ))s] $line"; done
  set -e
  kill "$hw" 2>/dev/null || true; wait "$hw" 2>/dev/null || true; exec 7>&-   # the watch is gone after a stop
  log "QEMU ended after $(( $(date +%s) - tb ))s; full console log: $work/boot.log"
}
# hang_report: where a stopped run stood, and Xen's state then (its debug keys' dump).
hang_report() {
  echo "the emulated host stopped: dom0 was silent for $(cat hang.txt)s after: $(grep -a '^\(CHECK-\|OBS:\)' boot.log | tail -1 | cut -c1-200)"
  echo "Xen's state when it stopped (debug keys q r d 0 e), from $work/boot.log:"
  sed -n '/(XEN) .*'"'"'q'"'"' pressed/,$p' boot.log | grep -a '^(XEN)' | head -400
}
rm -f nudges.txt
boot
# dom0's first line ("dom0 ready") is before any guest or pvmkit step: a run that never got there
# failed in QEMU, Xen or dom0's kernel, not in what is tested, and is tried once more. So is a run
# whose emulated host stayed silent despite the nudges with every check so far passed, once its
# state is on record (docs/xen.md, "Determinism"). A run with a failed check is never retried.
if ! grep -aq '^OBS: dom0 ready' boot.log; then
  log "dom0 never came up; the end of the console log:"; tail -25 boot.log
  mv boot.log boot-1.log; boot
elif [ -s hang.txt ] && ! grep -aq '^HARNESS-DOM0-DONE' boot.log && ! grep -aq '^CHECK-FAIL' boot.log; then
  hang_report
  log "booting once more ($(grep -ac '^CHECK-PASS' boot.log) checks had passed; this run's log: $work/boot-1.log)"
  mv boot.log boot-1.log; mv hang.txt hang-1.txt; boot
fi

passes=$(grep -ac '^CHECK-PASS:' boot.log || true)
fails=$(grep -ac '^CHECK-FAIL:' boot.log || true)
# dom0 reports how many checks it ran; a complete run has them all (a crash half-way must not
# look like a pass).
ran=$(sed -n 's/^HARNESS-DOM0-DONE checks=\([0-9]*\).*/\1/p' boot.log | head -1)
if [ -z "$ran" ] && [ -s hang.txt ]; then
  echo "CHECK-FAIL: $(hang_report)"; fails=$((fails + 1))
elif [ -z "$ran" ]; then
  echo "CHECK-FAIL: dom0 did not finish its checks within ${boot_timeout}s (see $work/boot.log)"; tail -25 boot.log; fails=$((fails + 1))
elif [ "$ran" != "$expected" ]; then
  echo "CHECK-FAIL: dom0 ran $ran checks, a complete run makes $expected"; fails=$((fails + 1))
fi
[ -s nudges.txt ] && log "the emulated host was nudged $(wc -l < nudges.txt) times, after dom0 had been silent for: $(tr '\n' ' ' < nudges.txt)s"
log "checks: $passes passed, $fails failed"
if [ "$fails" = 0 ] && [ "$passes" = "$ran" ]; then
  echo "XEN-HARNESS: PASS ($passes checks, $(( $(date +%s) - t0 ))s)"
  exit 0
fi
echo "XEN-HARNESS: FAIL ($passes passed, $fails failed, $(( $(date +%s) - t0 ))s)"
exit 1
