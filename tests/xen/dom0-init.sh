#!/bin/busybox sh
# /init of the harness's dom0 (busybox + Xen's tools + pvmkit). Starts the Xen daemons, creates
# two PV guests (each with a vif on a bridge and a disk on a loop device), one per NUMA node, runs
# `pvmkit agent --backend xen --once` and checks the result from libxl (xl) and /proc.
# Prints CHECK-PASS:/CHECK-FAIL: lines and, at the end, HARNESS-DOM0-DONE; the runner on the host
# turns them into XEN-HARNESS: PASS/FAIL.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:/usr/lib/xen-4.17/bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev; mount -t tmpfs tmpfs /run
mkdir -p /dev/pts; mount -t devpts devpts /dev/pts   # xenconsoled needs ptys for the guests' consoles
mkdir -p /run/xen /run/xenstored /var/log/xen/console; rm -rf /var/run; ln -s /run /var/run
. /etc/harness.conf

CHECKS=0
pass() { echo "CHECK-PASS: $*"; }
fail() { echo "CHECK-FAIL: $*"; }
check() { CHECKS=$((CHECKS+1)); name=$1; shift; if "$@"; then pass "$name"; else fail "$name"; fi; }
uptime_s() { cut -d' ' -f1 /proc/uptime; }
obs() { echo "OBS: $* (dom0 uptime $(uptime_s)s)"; }
finish() { echo "HARNESS-DOM0-DONE checks=$CHECKS uptime=$(uptime_s)"; sync; poweroff -f; }
# wait_for SECONDS COMMAND...: polls once a second; false when it timed out.
wait_for() { t=$1; shift; i=0; while ! "$@" 2>/dev/null; do i=$((i+1)); [ $i -ge "$t" ] && return 1; sleep 1; done; return 0; }

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
xenstored --pid-file /run/xenstored.pid; sleep 1; xen-init-dom0 >/dev/null
xenconsoled --pid-file=/run/xenconsoled.pid --log=guest --log-dir=/var/log/xen/console
obs "dom0 ready, $(free -m | awk '/^Mem:/{print $4}') MiB free"

# ---- the machine ------------------------------------------------------------------------------
xl info -n > /tmp/info
NR_CPUS=$(awk '/^nr_cpus/{print $3}' /tmp/info)
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
kernel = "/guest/vmlinuz"
ramdisk = "/guest/initrd.gz"
extra = "console=hvc0 panic=-1 quiet harness_ip=10.0.0.$((n+2)) harness_peer=10.0.0.1"
memory = 128
vcpus = 1
cpus = "$cpus"
cpus_soft = "node:$n"
vif = [ 'mac=00:16:3e:00:00:0$((n+2)),bridge=xenbr0,script=/etc/xen/scripts/vif-harness' ]
disk = [ 'format=raw,vdev=xvda,access=rw,backendtype=phy,script=/etc/xen/scripts/block-harness,target=/dev/loop$n' ]
CFG
  # libxl waits only ~10 s for a backend to come up; under TCG on a busy host that can lapse, so
  # a failed create is retried (and the attempts are reported).
  CHECKS=$((CHECKS+1)); attempt=1
  while ! timeout -s KILL 300 xl create /root/g$n.cfg >/tmp/create$n.log 2>&1; do
    grep -v '^Parsing' /tmp/create$n.log | tail -4; obs "xl create g$n failed, $(free -m | awk '/^Mem:/{print $4}') MiB free"; cat /var/log/xen/hotplug-harness.log 2>/dev/null | tail -4
    xl destroy g$n >/dev/null 2>&1; attempt=$((attempt+1)); [ $attempt -gt 3 ] && break; sleep 5
  done
  if [ $attempt -le 3 ]; then pass "create guest g$n on node $n (attempt $attempt)"
  else fail "create guest g$n on node $n (3 attempts)"; finish; fi
done
obs "guests created"
G0=$(xl domid g0); G1=$(xl domid g1)
for n in 0 1; do
  check "guest g$n: netfront, blkfront and ping to dom0 up" wait_for "$GUEST_WAIT" grep -q GUEST-PING-OK /var/log/xen/console/guest-g$n.log
done
grep -h 'GUEST-' /var/log/xen/console/guest-g*.log
obs "guests up"

# Guest memory per node, from the hypervisor's own dump ('u' debug key).
xl debug-keys u; sleep 1
xl dmesg | awk '/Memory location of each domain/{m=1} m' | tail -12 > /tmp/numa
cat /tmp/numa
mem_on() {  # mem_on DOMID NODE: the domain's pages on that node
  awk -v d="$1" -v n="$2" '
    /\(total: [0-9]+\)/ { cur = ""; if (match($0, /(d|Domain )[0-9]+ /)) { s = substr($0, RSTART, RLENGTH); gsub(/[^0-9]/, "", s); cur = s } }
    cur == d && $0 ~ ("Node " n ":") { sub(/.*Node [0-9]+: */, ""); print $1 + 0; exit }' /tmp/numa
}
for n in 0 1; do
  eval d=\$G$n; other=$((1-n)); here=$(mem_on "$d" $n); there=$(mem_on "$d" $other)
  check "guest g$n (domain $d): memory on node $n (pages node$n=${here:-?} node$other=${there:-?})" \
    test -n "$here" -a -n "$there" -a "${here:-0}" -gt "${there:-0}"
done

# ---- the agent --------------------------------------------------------------------------------
xl vcpu-list
# What the agent may change: online state and hard/soft affinity (not the running CPU or time).
vcpu_config() { xl vcpu-list | awk 'NR>1 {print $1, $2, $3, ($4 == "-" ? "offline" : "online"), $7, $9}'; }
vcpu_config > /tmp/vcpus.before
online_xl() { xl vcpu-list 0 | awk 'NR>1 && $4 != "-"' | wc -l; }
online_linux() { expand "$(cat /sys/devices/system/cpu/online)" | wc -l; }
BEFORE_ONLINE=$(online_xl)

timeout -s KILL 120 pvmkit agent --backend xen --once --dry-run > /tmp/dry.jsonl 2>/tmp/dry.err
rc=$?
check "agent --dry-run exits 0 (rc=$rc)" test $rc = 0
vcpu_config > /tmp/vcpus.dry
check "agent --dry-run changes nothing in libxl's view" cmp -s /tmp/vcpus.before /tmp/vcpus.dry

T=$(uptime_s)
timeout -s KILL 180 pvmkit agent --backend xen --once > /tmp/agent.jsonl 2>/tmp/agent.err
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
wait_for "$SETTLE_WAIT" settled
check "sizing: dom0 online vCPUs = $WANT in libxl ($(online_xl)) and in dom0 Linux ($(online_linux))" settled
check "sizing: the plan changed dom0's vCPU count" test "$WANT" != "$BEFORE_ONLINE"
xl vcpu-list 0 | tee /tmp/vcpus0

# Sizing: the CPU cap the plan set on dom0 is the scheduler's (xl sched-credit2, or credit).
WANT_CAP=$(grep -o '"action":"set_cpu_cap","domain":0,"percent":[0-9]*' /tmp/agent.jsonl | tail -1 | sed 's/.*://')
cap_xl() { { xl sched-credit2 -d 0 2>/dev/null || xl sched-credit -d 0 2>/dev/null; } | awk 'NR==2 {print $4}'; }
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
for n in 0 1; do
  check "traffic: dom0 pings g$n after the agent" ping -c 3 -W 5 10.0.0.$((n+2))
  t1=$(grep -c TICK /var/log/xen/console/guest-g$n.log); sleep 4; t2=$(grep -c TICK /var/log/xen/console/guest-g$n.log)
  check "traffic: g$n keeps writing its disk ($t1 -> $t2 ticks)" test "$t2" -gt "$t1"
done

# ---- the backend conformance suite and error checks on this hypervisor -----------------------
T=$(uptime_s)
PVMKIT_XEN_GUEST=$G0 timeout -s KILL 240 test_xen_conformance --no-version > /tmp/conf.log 2>&1
rc=$?
tail -15 /tmp/conf.log
obs "conformance took $(awk -v t="$T" '{print $1-t}' /proc/uptime)s"
check "conformance: backend suite and Xen error tests pass in dom0 (rc=$rc)" test $rc = 0
check "traffic: dom0 pings g0 and g1 after the conformance suite" sh -c 'ping -c 2 -W 5 10.0.0.2 && ping -c 2 -W 5 10.0.0.3'

finish
