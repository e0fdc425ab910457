#!/bin/bash
# pvmkit's real-libvirt harness (tier 2 of the libvirt tests). Starts Debian 12's monolithic
# libvirtd by hand (no systemd), starts a tiny QEMU guest under software emulation (domain type
# 'qemu': TCG, no /dev/kvm needed), runs `pvmkit agent --backend libvirt` against it and reads the
# real CPU affinities back from /proc/<qemu pid>/task/*/status.
#
# Usage: run-libvirt-harness.sh --pvmkit PATH [--workdir DIR]
# Needs root and, when the packages are missing, Debian's package registry (apt-get). Prints
# CHECK-PASS:/CHECK-FAIL: lines and a final "LIBVIRT-HARNESS: PASS" or "LIBVIRT-HARNESS: FAIL";
# exits 0 only on PASS. Every wait is bounded (PVMKIT_LIBVIRT_WAIT seconds, default 90, sized for
# a slow, busy 2-core host); on a failure libvirtd's and QEMU's logs are printed.
#
# How libvirtd runs here without systemd (Debian 12, libvirt 9.0):
#  - packages: libvirt-daemon (the monolithic libvirtd), libvirt-daemon-driver-qemu,
#    libvirt-clients (virsh), qemu-system-x86 (and seabios with it). Not libvirt-daemon-system:
#    that one brings the systemd units, the default network and the accounts, none needed here.
#  - users: as root libvirtd runs its "system" instance, whose QEMU driver refuses to start unless
#    the build's QEMU account exists (libvirt-qemu:libvirt-qemu on Debian, normally created by
#    libvirt-daemon-system). The harness creates that system account and group if missing; QEMU
#    itself runs as root (qemu.conf below), so the account owns nothing.
#  - qemu.conf: the system instance reads /etc/libvirt/qemu.conf only (no option moves it). The
#    harness writes its own for the run and restores what was there: QEMU as root, no DAC/AppArmor
#    relabelling (security_driver "none", dynamic_ownership 0), no cgroups (cgroup_controllers []:
#    without systemd/machined libvirt would have to build the machine/ hierarchy itself; pinning
#    then uses sched_setaffinity, see docs/kvm.md), no private /dev namespace, and QEMU's output
#    written by libvirtd to /var/log/libvirt/qemu/<guest>.log (stdio_handler "file": no virtlogd).
#  - sockets: libvirtd gets its own libvirtd.conf (--config) whose unix_sock_dir is in the work
#    directory, so nothing listens at the system path; clients use
#    qemu:///system?socket=<workdir>/run/libvirt-sock. The QEMU driver's state (/run/libvirt/qemu,
#    /var/lib/libvirt/qemu) is the system one: a libvirtd already running is refused, not shared.
set -euo pipefail

pvmkit_bin=""; work=${TMPDIR:-/tmp}/pvmkit-libvirt-harness
while [ $# -gt 0 ]; do
  case "$1" in
    --pvmkit) pvmkit_bin=$2; shift 2 ;;
    --workdir) work=$2; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "run-libvirt-harness: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
if [ -z "$pvmkit_bin" ] || [ ! -x "$pvmkit_bin" ]; then
  echo "run-libvirt-harness: need --pvmkit <the pvmkit CLI, built with the libvirt component> (got '$pvmkit_bin')" >&2; exit 2
fi
pvmkit_bin=$(readlink -f "$pvmkit_bin")
if [ "$(id -u)" != 0 ]; then echo "run-libvirt-harness: must run as root (libvirtd's system instance)" >&2; exit 2; fi

wait_s=${PVMKIT_LIBVIRT_WAIT:-90}
guest=pvmkit-harness-g0
rm -rf "$work"; mkdir -p "$work/run"; cd "$work"
uri="qemu:///system?socket=$work/run/libvirt-sock"
t0=$(date +%s)
checks=0; failed=0
log() { echo "[libvirt-harness +$(( $(date +%s) - t0 ))s] $*"; }
pass() { checks=$((checks + 1)); echo "CHECK-PASS: $*"; }
fail() { checks=$((checks + 1)); failed=$((failed + 1)); echo "CHECK-FAIL: $*"; }
check() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }
virsh_() { timeout "$wait_s" virsh -q -c "$uri" "$@"; }
diagnose() {
  echo "---- libvirtd log (last 40 lines)"; tail -n 40 "$work/libvirtd.log" 2>/dev/null || true
  echo "---- libvirtd stdout/stderr"; tail -n 20 "$work/libvirtd.out" 2>/dev/null || true
  echo "---- QEMU log of $guest (last 30 lines)"; tail -n 30 "/var/log/libvirt/qemu/$guest.log" 2>/dev/null || true
}
finish() {
  local verdict=PASS
  [ "$failed" -eq 0 ] && [ "$checks" -ge "$expected_checks" ] || verdict=FAIL
  [ "$verdict" = PASS ] || diagnose
  echo "LIBVIRT-HARNESS: $verdict ($checks checks, $failed failed, $(( $(date +%s) - t0 ))s)"
  [ "$verdict" = PASS ]
}
abort() { fail "$*"; finish || true; exit 1; }
expected_checks=19

# ---- 1. packages and the account libvirtd insists on ------------------------------------------
need=""
for p in libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86; do
  dpkg -s "$p" >/dev/null 2>&1 || need="$need $p"
done
if [ -n "$need" ]; then
  log "apt-get install$need"
  export DEBIAN_FRONTEND=noninteractive
  timeout 600 apt-get update -q >/dev/null || abort "apt-get update"
  timeout 900 apt-get install -y -q --no-install-recommends $need >/dev/null || abort "apt-get install$need"
fi
getent group libvirt-qemu >/dev/null || groupadd --system libvirt-qemu
id libvirt-qemu >/dev/null 2>&1 ||
  useradd --system --no-create-home --home-dir /var/lib/libvirt --shell /usr/sbin/nologin -g libvirt-qemu libvirt-qemu
if pgrep -x libvirtd >/dev/null; then abort "another libvirtd is running (pid $(pgrep -x libvirtd | tr '\n' ' ')): stop it first"; fi

# ---- 2. configuration and the daemon ------------------------------------------------------------
qemu_conf=/etc/libvirt/qemu.conf
mkdir -p /etc/libvirt /run/libvirt /var/lib/libvirt/qemu /var/log/libvirt/qemu /var/cache/libvirt
if [ -e "$qemu_conf" ]; then cp -p "$qemu_conf" "$work/qemu.conf.saved"; fi
libvirtd_pid=""
cleanup() {
  set +e
  if [ -n "$libvirtd_pid" ]; then
    timeout 30 virsh -q -c "$uri" destroy "$guest" >/dev/null 2>&1
    kill "$libvirtd_pid" 2>/dev/null
    for _ in $(seq 30); do kill -0 "$libvirtd_pid" 2>/dev/null || break; sleep 1; done
    kill -9 "$libvirtd_pid" 2>/dev/null
  fi
  if [ -e "$work/qemu.conf.saved" ]; then cp -p "$work/qemu.conf.saved" "$qemu_conf"; else rm -f "$qemu_conf"; fi
}
trap cleanup EXIT
cat > "$qemu_conf" <<'EOF'
# written by pvmkit's tests/libvirt/run-libvirt-harness.sh for the length of one run
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
cgroup_controllers = [ ]
namespaces = [ ]
stdio_handler = "file"
EOF
cat > "$work/libvirtd.conf" <<EOF
unix_sock_dir = "$work/run"
unix_sock_rw_perms = "0700"
auth_unix_rw = "none"
auth_unix_ro = "none"
log_outputs = "3:file:$work/libvirtd.log"
EOF
log "starting libvirtd (sockets in $work/run)"
/usr/sbin/libvirtd --config "$work/libvirtd.conf" --pid-file "$work/libvirtd.pid" >"$work/libvirtd.out" 2>&1 &
libvirtd_pid=$!
up=0
for _ in $(seq "$wait_s"); do
  if ! kill -0 "$libvirtd_pid" 2>/dev/null; then break; fi
  if [ -S "$work/run/libvirt-sock" ] && timeout 10 virsh -q -c "$uri" version >/dev/null 2>&1; then up=1; break; fi
  sleep 1
done
[ "$up" = 1 ] || abort "libvirtd answers on $uri within ${wait_s}s"
pass "libvirtd answers on $uri"

# ---- 3. the guest: no OS (SeaBIOS finds nothing to boot and waits), one virtio disk on an I/O thread
truncate -s 16M "$work/disk.img"
cat > "$work/guest.xml" <<EOF
<domain type='qemu'>
  <name>$guest</name>
  <memory unit='MiB'>64</memory>
  <vcpu placement='static'>2</vcpu>
  <iothreads>1</iothreads>
  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>
  <on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot><on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw' iothread='1'/>
      <source file='$work/disk.img'/><target dev='vda' bus='virtio'/>
    </disk>
    <memballoon model='none'/>
  </devices>
</domain>
EOF
rm -f "/var/log/libvirt/qemu/$guest.log"
virsh_ create "$work/guest.xml" >/dev/null || abort "virsh create $guest"
qemu_pid=""
for _ in $(seq "$wait_s"); do
  if [ "$(virsh_ domstate "$guest" 2>/dev/null)" = running ] && [ -s "/run/libvirt/qemu/$guest.pid" ]; then
    qemu_pid=$(cat "/run/libvirt/qemu/$guest.pid"); break
  fi
  sleep 1
done
[ -n "$qemu_pid" ] && [ -d "/proc/$qemu_pid" ] || abort "$guest running with a QEMU process within ${wait_s}s"
pass "$guest running under TCG, QEMU pid $qemu_pid"

# The threads by their QEMU names (libvirt starts QEMU with debug-threads=on).
tid_of() { for t in /proc/"$qemu_pid"/task/*; do [ "$(cat "$t/comm" 2>/dev/null)" = "$1" ] && basename "$t"; done; true; }
allowed() { awk '/^Cpus_allowed_list:/{print $2}' "/proc/$qemu_pid/task/$1/status" 2>/dev/null; }
# The threads that live as long as the guest (QEMU starts and ends "worker" threads as it likes).
all_affinities() { for t in "$qemu_pid" $vcpu_tids $io_tid; do echo "$(cat "/proc/$qemu_pid/task/$t/comm") $(allowed "$t")"; done; }
# A CPU list ("0-2,5") as one CPU per line, to compare sets.
expand() { echo "$1" | tr ',' '\n' | awk -F- 'NF==2{for(i=$1;i<=$2;i++)print i;next}NF==1&&$1!=""{print $1}' | sort; }
libvirt_pins() { virsh_ vcpupin "$guest"; virsh_ emulatorpin "$guest"; virsh_ iothreadinfo "$guest"; }
vcpu_tids=$(for t in /proc/"$qemu_pid"/task/*; do case "$(cat "$t/comm")" in "CPU "*/TCG) basename "$t";; esac; done)
io_tid=$(tid_of "IO iothread1")
check "QEMU has 2 vCPU threads (CPU n/TCG) and the I/O thread (IO iothread1)" \
  test "$(echo "$vcpu_tids" | wc -w)" = 2 -a -n "$io_tid"
host_cpus=$(awk '/^Cpus_allowed_list:/{print $2}' /proc/self/status)
agent() { timeout "$wait_s" "$pvmkit_bin" agent --backend libvirt --uri "$uri" --state-file "$work/pvm.state" "$@"; }

# ---- 4. a dry run changes nothing ---------------------------------------------------------------
before_proc=$(all_affinities); before_libvirt=$(libvirt_pins)
set +e; agent --once --dry-run >"$work/dry.jsonl" 2>"$work/dry.err"; rc=$?; set -e
check "dry run exits 0 (got $rc: $(head -c 300 "$work/dry.err"))" test "$rc" = 0
check "dry run plans the guest's emulator and I/O thread and applies nothing" \
  grep -q '"dry_run":true,"steps":[1-9][0-9]*,"plan":\[.*"set_task_affinity"' "$work/dry.jsonl"
check "dry run: every QEMU thread's affinity and libvirt's pinning unchanged, no reservation written" \
  test "$(all_affinities)" = "$before_proc" -a "$(libvirt_pins)" = "$before_libvirt" -a ! -e "$work/pvm.state"

# ---- 5. the agent's round -----------------------------------------------------------------------
set +e; agent --once >"$work/round1.jsonl" 2>"$work/round1.err"; rc=$?; set -e
check "agent round exits 0 (got $rc: $(head -c 300 "$work/round1.err"))" test "$rc" = 0
check "the round applied its plan" grep -q '"type":"round".*"dry_run":false.*"ok":true' "$work/round1.jsonl"
reserved=$(awk '$1=="cpus"{print $2}' "$work/pvm.state" 2>/dev/null || true)
check "the pVM's CPU reservation is recorded ($reserved)" test -n "$reserved"
dom_id=$(virsh_ domid "$guest" | tr -d ' ' || true)
# Task ids as libvirt_backend.hpp makes them: libvirt_task_bit (1 << 48) | domid << 8 | iothread.
emu_task=$(( (1 << 48) | (dom_id << 8) )); io_task=$(( emu_task | 1 ))
planned() { { grep '"type":"round"' "$work/round1.jsonl" | grep -o "\"task\":$1,\"cpus\":\"[0-9,-]*\"" | head -1 | sed 's/.*"cpus":"//; s/"//'; } || true; }
emu_cpus=$(planned "$emu_task"); io_cpus=$(planned "$io_task")
inside() { [ -n "$1" ] && [ -z "$(comm -23 <(expand "$1") <(expand "$2"))" ]; }
check "Closer put the emulator ($emu_cpus) and I/O thread ($io_cpus) on the pVM's CPUs ($reserved)" \
  eval 'inside "$emu_cpus" "$reserved" && inside "$io_cpus" "$reserved"'
check "/proc: QEMU's emulator thread (pid $qemu_pid) runs on $emu_cpus (has $(allowed "$qemu_pid"))" \
  test "$(expand "$(allowed "$qemu_pid")")" = "$(expand "$emu_cpus")"
check "/proc: the I/O thread (tid $io_tid) runs on $io_cpus (has $(allowed "$io_tid"))" \
  test "$(expand "$(allowed "$io_tid")")" = "$(expand "$io_cpus")"
guest_cpus=$(comm -23 <(expand "$host_cpus") <(expand "$reserved") | paste -sd, -)
vcpus_ok=1
for t in $vcpu_tids; do
  [ "$(expand "$(allowed "$t")")" = "$(expand "$guest_cpus")" ] || vcpus_ok=0
  echo "  vCPU thread $t ($(cat "/proc/$qemu_pid/task/$t/comm")): Cpus_allowed_list $(allowed "$t")"
done
check "/proc: the guest's vCPU threads run on the host's CPUs less the reservation ($guest_cpus)" test "$vcpus_ok" = 1 -a -n "$guest_cpus"
libvirt_emu=$(virsh_ emulatorpin "$guest" | tr -d ' \n' | sed 's/^[*]://' || true)
check "libvirt reports the same emulator pinning (virsh emulatorpin: $libvirt_emu)" test "$libvirt_emu" = "$emu_cpus"

# ---- 6. a second round finds the host settled -------------------------------------------------
after_round1=$(all_affinities)
set +e; agent --once >"$work/round2.jsonl" 2>"$work/round2.err"; rc=$?; set -e
check "second round exits 0 and moves no task" \
  eval 'test "$rc" = 0 && grep -q "\"type\":\"round\".*\"ok\":true" "$work/round2.jsonl" && ! grep "\"type\":\"round\"" "$work/round2.jsonl" | grep -q set_task_affinity'
check "second round: every QEMU thread's affinity as the first round left it" test "$(all_affinities)" = "$after_round1"

# ---- 7. kill -9 of QEMU is seen and reported ---------------------------------------------------
set +e
timeout $((3 * wait_s)) "$pvmkit_bin" agent --backend libvirt --uri "$uri" --state-file "$work/pvm.state" \
  --rounds 2 --interval 10 >"$work/kill.jsonl" 2>"$work/kill.err" &
agent_pid=$!
set -e
for _ in $(seq "$wait_s"); do grep -q '"type":"round","round":1' "$work/kill.jsonl" 2>/dev/null && break; sleep 1; done
grep -q '"type":"round","round":1' "$work/kill.jsonl" || abort "the agent's first round within ${wait_s}s"
log "kill -9 $qemu_pid (QEMU of $guest)"
kill -9 "$qemu_pid"
set +e; wait "$agent_pid"; rc=$?; set -e
ran_after_kill() { test "$rc" = 0 && grep -q '"type":"round","round":2' "$work/kill.jsonl"; }
check "the agent's second round ran after the kill and exited 0 (exit $rc)" ran_after_kill
check "the agent reported the guest gone" grep -q "\"type\":\"guest_gone\",\"round\":2,\"id\":$dom_id,\"name\":\"$guest\"" "$work/kill.jsonl"
saw_crash() { grep -q "shutting down, reason=crashed" "/var/log/libvirt/qemu/$guest.log" && ! virsh_ list --name | grep -qx "$guest"; }
check "libvirt saw it too: QEMU's log says 'shutting down, reason=crashed', the guest is no longer running" saw_crash

finish
