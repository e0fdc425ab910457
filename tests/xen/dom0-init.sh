#!/bin/busybox sh
# /init of the harness's dom0 (busybox + Xen's tools + pvmkit). Starts the Xen daemons, creates
# two PV guests (each with a vif on a bridge and a disk on a loop device), one per NUMA node, runs
# `pvmkit agent --backend xen --once` and checks the result from libxl (xl) and /proc.
# Prints CHECK-PASS:/CHECK-FAIL: lines and, at the end, HARNESS-DOM0-DONE; the runner on the host
# turns them into XEN-HARNESS: PASS/FAIL.
#
# Under QEMU's software emulation on a busy host everything is slow and timing varies run to run:
# every value read from xl or xenstore is checked before use (and re-read while Xen settles), every
# wait is bounded by a time scaled to the host (TIMEOUT_SCALE, from the runner), and a step that
# fails prints what Xen, libxl and the hotplug scripts logged before it is retried or reported.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:/usr/lib/xen-4.17/bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev; mount -t tmpfs tmpfs /run
mkdir -p /dev/pts; mount -t devpts devpts /dev/pts   # xenconsoled needs ptys for the guests' consoles
mkdir -p /run/xen /run/xenstored /var/log/xen/console; rm -rf /var/run; ln -s /run /var/run
. /etc/harness.conf

# The number of checks a complete run makes: the runner reads these three lines and fails a run
# that made fewer or more. Keep them equal to the check/checked calls: 29 below; with the recovery
# phase (unless PVMKIT_XEN_RECOVERY=0), 9 in dom0-recovery.sh and 4 per kill of xenstored.
BASE_CHECKS=29
RECOVERY_FIXED_CHECKS=9
RECOVERY_CHECKS_PER_KILL=4
EXPECTED_CHECKS=$BASE_CHECKS
[ -n "${RECOVERY:-}" ] && EXPECTED_CHECKS=$((BASE_CHECKS + RECOVERY_FIXED_CHECKS + RECOVERY_CHECKS_PER_KILL * RECOVERY_KILLS))

CHECKS=0
pass() { echo "CHECK-PASS: $*"; : > /tmp/progress; }
fail() { echo "CHECK-FAIL: $*"; : > /tmp/progress; }
check() { CHECKS=$((CHECKS+1)); name=$1; shift; if "$@"; then pass "$name"; else fail "$name"; fi; }
# checked NAME STATUS: counts a check whose outcome a loop already decided (STATUS 0 = pass).
checked() { CHECKS=$((CHECKS+1)); if [ "$2" = 0 ]; then pass "$1"; else fail "$1"; fi; }
uptime_s() { cut -d' ' -f1 /proc/uptime; }
obs() { echo "OBS: $* (dom0 uptime $(uptime_s)s)"; : > /tmp/progress; }
# A run that stops making progress says where it stands: after 60 s of dom0's clock without a
# check or an observation, every process with what it waits on in the kernel, Xen's domains and
# the supervisor's last events go to the console (again each minute it stays stuck).
stall_watch() {
  last=
  while sleep 60; do
    now=$(stat -c %Y /tmp/progress 2>/dev/null)
    if [ -n "$now" ] && [ "$now" = "$last" ]; then
      echo "STALL: no check for 60 s or more (dom0 uptime $(uptime_s)s, load $(cut -d' ' -f1-3 /proc/loadavg))"
      for d in /proc/[0-9]*; do
        c=$(tr '\0' ' ' < $d/cmdline 2>/dev/null | cut -c1-100); [ -n "$c" ] || continue
        echo "STALL: ${d#/proc/} $(cut -d' ' -f3 $d/stat 2>/dev/null) $(cat $d/wchan 2>/dev/null) $c"
      done
      timeout -s KILL 10 xl list 2>&1 | sed 's/^/STALL: xl: /'
      [ -f /run/pvmkit/events.jsonl ] && grep -v '"type":"action"' /run/pvmkit/events.jsonl | tail -4 | sed 's/^/STALL: event: /'
    fi
    last=$now
  done
}
finish() { echo "HARNESS-DOM0-DONE checks=$CHECKS expected=$EXPECTED_CHECKS uptime=$(uptime_s)"; sync; poweroff -f; }
# scaled SECONDS: a time limit for this host.
scaled() { echo $(( $1 * TIMEOUT_SCALE )); }
now_s() { cut -d. -f1 /proc/uptime; }
# wait_for SECONDS COMMAND...: polls about once a second for up to SECONDS (scaled) of dom0's clock,
# however long each try takes; false when it timed out.
wait_for() {
  wf_end=$(( $(now_s) + $(scaled "$1") )); shift
  while ! "$@" 2>/dev/null; do [ "$(now_s)" -ge "$wf_end" ] && return 1; sleep 1; done; return 0
}
is_number() { case "$1" in ''|*[!0-9]*) return 1;; esac; }
free_mb() { free -m | awk '/^Mem:/{print $4}'; }
# xlr ARGS...: xl with a time limit, retried (a hung or crashed xl under load is not the answer).
xlr() {
  xa=1
  while :; do
    timeout -s KILL "$(scaled 40)" xl "$@" && return 0
    xrc=$?; [ $xa -ge 3 ] && { echo "xl $* failed $xa times (last rc=$xrc)" >&2; return $xrc; }
    echo "xl $* failed (rc=$xrc), retrying" >&2; xa=$((xa+1)); sleep 2
  done
}
# domid_of NAME: the guest's domain id, read from xl and confirmed by xenstore's name for it.
domid_of_once() {
  d=$(timeout -s KILL "$(scaled 30)" xl domid "$1" 2>/dev/null | tr -d ' \r')
  is_number "$d" && [ "$(xenstore-read "/local/domain/$d/name" 2>/dev/null)" = "$1" ] && echo "$d"
}
domid_of() {
  i=0; lim=$(scaled 60)
  while :; do
    d=$(domid_of_once "$1") && [ -n "$d" ] && { echo "$d"; return 0; }
    i=$((i+2)); [ $i -ge "$lim" ] && break; sleep 2
  done
  echo "no domain id for $1 after ${lim}s; xl list:" >&2; timeout -s KILL 30 xl list >&2
  for d in $(xenstore-list /local/domain 2>/dev/null); do echo "  /local/domain/$d/name = $(xenstore-read /local/domain/$d/name 2>/dev/null)" >&2; done
  return 1
}
# diagnose_create N DOMID: what libxl, the hotplug scripts, the backends and Xen said.
diagnose_create() {
  echo "--- xl create g$1: libxl's log"; grep -v '^Parsing' /tmp/create$1.log | tail -15
  echo "--- hotplug scripts"; tail -8 /var/log/xen/hotplug-harness.log 2>/dev/null
  if is_number "$2"; then
    for k in vif vbd; do
      for p in $(xenstore-list /local/domain/0/backend/$k/$2 2>/dev/null); do
        b=/local/domain/0/backend/$k/$2/$p
        echo "  $b: state=$(xenstore-read $b/state 2>/dev/null) hotplug-status=$(xenstore-read $b/hotplug-status 2>/dev/null) hotplug-error=$(xenstore-read $b/hotplug-error 2>/dev/null)"
      done
    done
  fi
  echo "--- dom0 kernel"; dmesg | tail -8
  echo "--- Xen"; timeout -s KILL 30 xl dmesg 2>/dev/null | tail -6
  obs "after a failed create of g$1: $(free_mb) MiB free in dom0, $(timeout -s KILL 30 xl info 2>/dev/null | awk '/^free_memory/{print $3}') MiB free in Xen"
}
# gone NAME: no domain of that name is left (a destroyed domain's memory is back with Xen).
gone() { ! timeout -s KILL 30 xl list "$1" >/dev/null 2>&1; }

# CPU lists ("0-1,3", "all") expanded to one number per line.
expand() {
  case "$1" in all) i=0; while [ $i -lt "$NR_CPUS" ]; do echo $i; i=$((i+1)); done; return;; esac
  echo "$1" | tr ',' '\n' | awk -F- 'NF==2{for(i=$1;i<=$2;i++)print i; next} NF==1 && $1!=""{print $1}'
}
# subset A B: every member of list A is in list B, and A is not empty.
subset() {
  a=$(expand "$1"); [ -n "$a" ] || return 1
  b=$(expand "$2")
  for x in $a; do echo "$b" | grep -qx "$x" || return 1; done
}

for m in xen-evtchn xen-privcmd xen-gntdev xen-gntalloc xenfs; do insmod /lib/modules/xen/$m.ko; done
mkdir -p /proc/xen; mount -t xenfs xenfs /proc/xen
if [ -f /etc/dom0-recovery.sh ]; then
  # The recovery phase (dom0-recovery.sh): pvmkit supervise starts the daemons.
  . /etc/dom0-recovery.sh
  recovery_daemons || { fail "pvmkit supervise starts xenstored and xenconsoled"; finish; }
else
  xenstored --pid-file /run/xenstored.pid
  # xen-init-dom0 needs xenstored answering: wait for it rather than for a fixed time.
  wait_for 60 xenstore-ls / >/dev/null || { fail "xenstored does not answer"; finish; }
  xen-init-dom0 >/dev/null || { fail "xen-init-dom0"; finish; }
  xenconsoled --pid-file=/run/xenconsoled.pid --log=guest --log-dir=/var/log/xen/console
fi
obs "dom0 ready, $(free_mb) MiB free, timeouts scaled x$TIMEOUT_SCALE"
stall_watch &
# The runner takes a console silent for minutes for a stopped host: a heartbeat keeps it talking.
(while sleep 10; do echo "HEARTBEAT dom0 uptime $(uptime_s) free $(free_mb) MiB"; done) &

# ---- the machine ------------------------------------------------------------------------------
xlr info -n > /tmp/info
NR_CPUS=$(awk '/^nr_cpus/{print $3}' /tmp/info)
is_number "$NR_CPUS" || { fail "xl info -n gives no nr_cpus"; cat /tmp/info; finish; }
check "xen: 2 NUMA nodes ($(awk '/^nr_nodes/{print $3}' /tmp/info))" grep -q '^nr_nodes *: 2' /tmp/info
# pCPUs of each node from the cpu_topology table ("  0:  core socket node").
awk '/^cpu_topology/{t=1;next} /^(device topology|numa_info)/{t=0} t && $1 ~ /^[0-9]+:$/ {sub(":","",$1); print $1, $4}' /tmp/info > /tmp/cpunode
node_cpus() { awk -v n="$1" '$2==n{printf "%s%s", s, $1; s=","}' /tmp/cpunode; }
NODE0_CPUS=$(node_cpus 0); NODE1_CPUS=$(node_cpus 1)
obs "node 0 pCPUs=$NODE0_CPUS node 1 pCPUs=$NODE1_CPUS"
check "topology: each node has pCPUs" test -n "$NODE0_CPUS" -a -n "$NODE1_CPUS"

# ---- backends and guests ----------------------------------------------------------------------
for m in llc stp bridge xen-netback loop xen-blkback; do insmod /lib/modules/xen/$m.ko || fail "insmod $m"; done
brctl addbr xenbr0; ifconfig xenbr0 10.0.0.1 netmask 255.255.255.0 up
for n in 0 1; do
  dd if=/dev/zero of=/run/disk$n.img bs=1M count=8 2>/dev/null; losetup /dev/loop$n /run/disk$n.img
  eval cpus=\$NODE${n}_CPUS
  cat > /root/g$n.cfg <<CFG
name = "g$n"
type = "pv"
kernel = "/guest/vmlinux"
ramdisk = "/guest/initrd.gz"
extra = "console=hvc0 panic=-1 quiet harness_ip=10.0.0.$((n+2)) harness_peer=10.0.0.1"
memory = 128
vcpus = 1
cpus = "$cpus"
cpus_soft = "node:$n"
vif = [ 'mac=00:16:3e:00:00:0$((n+2)),bridge=xenbr0,script=/etc/xen/scripts/vif-harness' ]
disk = [ 'format=raw,vdev=xvda,access=rw,backendtype=phy,script=/etc/xen/scripts/block-harness,target=/dev/loop$n' ]
CFG
  # Created paused, and unpaused only when both exist: a booting guest under emulation starves dom0,
  # and libxl gives a new backend only 10 s (compiled in) to reach InitWait. A failed create is
  # diagnosed, its domain destroyed and waited for (its memory must be back), then retried.
  CHECKS=$((CHECKS+1)); attempt=1; created=0
  while [ $attempt -le 4 ]; do
    if timeout -s KILL "$(scaled 300)" xl create -p /root/g$n.cfg >/tmp/create$n.log 2>&1; then created=1; break; fi
    diagnose_create $n "$(domid_of_once g$n)"
    timeout -s KILL "$(scaled 60)" xl destroy g$n >/dev/null 2>&1
    wait_for 120 gone g$n || obs "g$n still listed after destroy"
    attempt=$((attempt+1)); sleep $((5 * attempt))
  done
  if [ $created = 1 ]; then pass "create guest g$n on node $n (attempt $attempt)"
  else fail "create guest g$n on node $n (4 attempts)"; finish; fi
done
G0=$(domid_of g0) && G1=$(domid_of g1) || { fail "domain ids of the guests"; finish; }
obs "guests created paused: g0=$G0 g1=$G1"
for d in $G0 $G1; do xlr unpause $d || { fail "unpause domain $d"; finish; }; done
for n in 0 1; do
  check "guest g$n: netfront, blkfront and ping to dom0 up" wait_for "$GUEST_WAIT" grep -q GUEST-PING-OK /var/log/xen/console/guest-g$n.log
done
grep -h 'GUEST-' /var/log/xen/console/guest-g*.log
obs "guests up"
# Development of the recovery phase only (PVMKIT_XEN_RECOVERY_ONLY): the count then differs.
[ -n "${RECOVERY_ONLY:-}" ] && [ -f /etc/dom0-recovery.sh ] && { recovery_phase; finish; }

# Guest memory per node, from the hypervisor's own dump ('u' debug key): asked again until the
# dump names both guests (the console ring is written asynchronously).
mem_on() {  # mem_on DOMID NODE: the domain's pages on that node
  awk -v d="$1" -v n="$2" '
    /\(total: [0-9]+\)/ { cur = ""; if (match($0, /(d|Domain )[0-9]+ /)) { s = substr($0, RSTART, RLENGTH); gsub(/[^0-9]/, "", s); cur = s } }
    cur == d && $0 ~ ("Node " n ":") { sub(/.*Node [0-9]+: */, ""); print $1 + 0; exit }' /tmp/numa
}
numa_dump() {
  xlr debug-keys u >/dev/null 2>&1; sleep 1
  xlr dmesg 2>/dev/null | awk '/Memory location of each domain/{m=1; buf=""} m {buf = buf $0 "\n"} END {printf "%s", buf}' > /tmp/numa
  for d in $G0 $G1; do for n in 0 1; do is_number "$(mem_on "$d" $n)" || return 1; done; done
}
wait_for 60 numa_dump || obs "the memory dump does not name both guests"
cat /tmp/numa
for n in 0 1; do
  eval d=\$G$n; other=$((1-n)); here=$(mem_on "$d" $n); there=$(mem_on "$d" $other)
  check "guest g$n (domain $d): memory on node $n (pages node$n=${here:-?} node$other=${there:-?})" \
    test -n "$here" -a -n "$there" -a "${here:-0}" -gt "${there:-0}"
done

# ---- the agent --------------------------------------------------------------------------------
xlr vcpu-list
# What the agent may change: online state and hard/soft affinity (not the running CPU or time).
# An empty answer (xl failed) is an error, never "nothing changed".
vcpu_config() { xlr vcpu-list | awk 'NR>1 {print $1, $2, $3, ($4 == "-" ? "offline" : "online"), $7, $9}' > "$1"; [ -s "$1" ]; }
vcpu_config /tmp/vcpus.before || { fail "xl vcpu-list gives nothing"; finish; }
online_xl() { xlr vcpu-list 0 | awk 'NR>1 && $4 != "-"' | wc -l; }
online_linux() { expand "$(cat /sys/devices/system/cpu/online)" | wc -l; }
BEFORE_ONLINE=$(online_xl)
[ "${BEFORE_ONLINE:-0}" -ge 1 ] || { fail "dom0's online vCPUs unreadable ($BEFORE_ONLINE)"; finish; }

timeout -s KILL "$(scaled 120)" pvmkit agent --backend xen --once --dry-run > /tmp/dry.jsonl 2>/tmp/dry.err
rc=$?
check "agent --dry-run exits 0 (rc=$rc)" test $rc = 0
[ $rc = 0 ] || cat /tmp/dry.err
if vcpu_config /tmp/vcpus.dry && cmp -s /tmp/vcpus.before /tmp/vcpus.dry; then st=0; else st=1; diff /tmp/vcpus.before /tmp/vcpus.dry; fi
checked "agent --dry-run changes nothing in libxl's view" $st

T=$(uptime_s)
timeout -s KILL "$(scaled 180)" pvmkit agent --backend xen --once > /tmp/agent.jsonl 2>/tmp/agent.err
rc=$?
obs "pvmkit agent --backend xen --once took $(awk -v t="$T" '{print $1-t}' /proc/uptime)s"
check "agent --backend xen --once exits 0 (rc=$rc)" test $rc = 0
cat /tmp/agent.err
grep '"type":"snapshot"' /tmp/agent.jsonl | head -c 3000; echo
grep '"type":"round"' /tmp/agent.jsonl | head -c 4000; echo
check "agent: the round applied its plan" grep -q '"type":"round".*"ok":true' /tmp/agent.jsonl
check "agent: found backend tasks of both guests" \
  sh -c "grep '\"type\":\"snapshot\"' /tmp/agent.jsonl | grep -q '\"guest\":$G0' && grep '\"type\":\"snapshot\"' /tmp/agent.jsonl | grep -q '\"guest\":$G1'"
echo "decision records: $(grep -c '"type":"decision"' /tmp/agent.jsonl)"

# Sizing: dom0's online vCPU count must follow the plan's set_vcpu_online steps for domain 0.
ups=$(grep -o '"action":"set_vcpu_online","domain":0,"vcpu":[0-9]*,"online":true' /tmp/agent.jsonl | wc -l)
downs=$(grep -o '"action":"set_vcpu_online","domain":0,"vcpu":[0-9]*,"online":false' /tmp/agent.jsonl | wc -l)
WANT=$((BEFORE_ONLINE + ups - downs))
obs "dom0 online vCPUs before=$BEFORE_ONLINE plan: +$ups -$downs => $WANT"
settled() { [ "$(online_xl)" = "$WANT" ] && [ "$(online_linux)" = "$WANT" ]; }
T=$(uptime_s)
if wait_for "$SETTLE_WAIT" settled; then obs "dom0's vCPUs settled in $(awk -v t="$T" '{print $1-t}' /proc/uptime)s"
else
  obs "dom0's vCPUs did not settle: libxl $(online_xl), Linux online $(cat /sys/devices/system/cpu/online)"
  xlr vcpu-list 0; dmesg | tail -10
fi
check "sizing: dom0 online vCPUs = $WANT in libxl ($(online_xl)) and in dom0 Linux ($(online_linux))" settled
check "sizing: the plan changed dom0's vCPU count" test "$WANT" != "$BEFORE_ONLINE"
xlr vcpu-list 0 | tee /tmp/vcpus0

# Sizing: the CPU cap the plan set on dom0 is the scheduler's (xl sched-credit2, or credit).
WANT_CAP=$(grep -o '"action":"set_cpu_cap","domain":0,"percent":[0-9]*' /tmp/agent.jsonl | tail -1 | sed 's/.*://')
cap_xl() { { xlr sched-credit2 -d 0 2>/dev/null || xlr sched-credit -d 0 2>/dev/null; } | awk 'NR==2 {print $4}'; }
obs "dom0 CPU cap: plan ${WANT_CAP:-none}, scheduler $(cap_xl)"
check "sizing: the plan capped dom0's CPU time (at least one core: ${WANT_CAP:-none} %)" test -n "$WANT_CAP" -a "${WANT_CAP:-0}" -ge 100
check "sizing: dom0's cap in the scheduler = the plan's (${WANT_CAP:-none} vs $(cap_xl))" test "$(cap_xl)" = "$WANT_CAP"

# Placement: dom0 vCPUs pinned inside each node's pCPUs (online ones), from xl vcpu-list 0.
pvm_cpus_of_node() {
  eval ncpus=\$NODE$1_CPUS
  awk 'NR>1 && $4 != "-" {print $3, $7}' /tmp/vcpus0 | while read v hard; do subset "$hard" "$ncpus" && printf '%s,' "$v"; done | sed 's/,$//'
}
P0=$(pvm_cpus_of_node 0); P1=$(pvm_cpus_of_node 1)
obs "dom0 vCPUs pinned on node 0: ${P0:-none}; on node 1: ${P1:-none}"
check "placement: dom0 has a vCPU pinned on each node" test -n "$P0" -a -n "$P1"
for n in 0 1; do
  eval d=\$G$n; eval P=\$P$n
  found=0; bad=0
  for s in /proc/[0-9]*/comm; do
    c=$(cat "$s" 2>/dev/null) || continue
    case "$c" in vif$d.*|$d.xvd*|blkback.$d.*) ;; *) continue;; esac
    p=${s%/comm}; a=$(awk '/^Cpus_allowed_list/{print $2}' "$p/status")
    found=$((found+1))
    if subset "$a" "$P"; then echo "  g$n thread ${p#/proc/} $c on dom0 vCPUs $a (node $n: $P) ok"
    else echo "  g$n thread ${p#/proc/} $c on dom0 vCPUs $a, not inside node $n's ($P)"; bad=$((bad+1)); fi
  done
  check "placement: g$n's $found backend threads run on dom0 vCPUs of node $n" test $found -ge 3 -a $bad = 0
  found=0; bad=0
  for irq in $(grep -E " vif$d\.[0-9]+" /proc/interrupts | awk -F: '{print $1}' | tr -d ' '); do
    a=$(cat /proc/irq/$irq/smp_affinity_list); e=$(cat /proc/irq/$irq/effective_affinity_list 2>/dev/null || echo "$a")
    found=$((found+1))
    if subset "$a" "$P" && subset "$e" "$P"; then echo "  g$n IRQ $irq affinity $a effective $e ok"
    else echo "  g$n IRQ $irq affinity $a effective $e, not inside node $n's ($P)"; bad=$((bad+1)); fi
  done
  check "placement: g$n's $found netback IRQs are bound to dom0 vCPUs of node $n" test $found -ge 1 -a $bad = 0
done
# blkif-backend IRQs do not name their guest: each node must hold exactly the one of its guest.
b0=0; b1=0
for irq in $(grep -E 'blkif-backend' /proc/interrupts | awk -F: '{print $1}' | tr -d ' '); do
  a=$(cat /proc/irq/$irq/smp_affinity_list); echo "  blkif-backend IRQ $irq affinity $a"
  subset "$a" "$P0" && b0=$((b0+1)); subset "$a" "$P1" && b1=$((b1+1))
done
check "placement: one blkif-backend IRQ on each node's dom0 vCPUs (node0=$b0 node1=$b1)" test $b0 = 1 -a $b1 = 1

# ---- traffic still flows ----------------------------------------------------------------------
# A lost echo under emulation is not a broken path: ping until one comes back, within a bound.
pings() { ping -c 1 -W 5 "$1" >/dev/null; }
ticks() { grep -c TICK /var/log/xen/console/guest-g$1.log; }
for n in 0 1; do
  check "traffic: dom0 pings g$n after the agent" wait_for 60 pings 10.0.0.$((n+2))
  t1=$(ticks $n); wait_for 60 sh -c "[ \$(grep -c TICK /var/log/xen/console/guest-g$n.log) -gt $t1 ]"; t2=$(ticks $n)
  check "traffic: g$n keeps writing its disk ($t1 -> $t2 ticks)" test "$t2" -gt "$t1"
done

# ---- the backend conformance suite and error checks on this hypervisor -----------------------
T=$(uptime_s)
PVMKIT_XEN_GUEST=$G0 timeout -s KILL "$(scaled 240)" test_xen_conformance --no-version > /tmp/conf.log 2>&1
rc=$?
tail -15 /tmp/conf.log
obs "conformance took $(awk -v t="$T" '{print $1-t}' /proc/uptime)s"
check "conformance: backend suite and Xen error tests pass in dom0 (rc=$rc)" test $rc = 0
pings_both() { pings 10.0.0.2 && pings 10.0.0.3; }
check "traffic: dom0 pings g0 and g1 after the conformance suite" wait_for 60 pings_both

[ -f /etc/dom0-recovery.sh ] && recovery_phase
finish
