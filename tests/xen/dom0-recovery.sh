#!/bin/busybox sh
# The recovery phase of the real-Xen harness, sourced by dom0-init.sh (which owns pass/fail/check,
# wait_for, xlr, domid_of, G0/G1 and the check count). Two parts:
#   recovery_daemons  at boot, instead of starting xenstored and xenconsoled by hand: `pvmkit
#                     supervise` starts them (and, later, the agent) from /etc/pvmkit/supervise.json;
#   recovery_phase    at the end: with pvmkit, kill -9 xenstored at 10 random instants while both
#                     guests run, the agent runs rounds and a client writes keys, and check the host
#                     after each; kill -9 xenconsoled and the agent; shut g1 down and destroy the
#                     rest; then stock Xen, last (it leaves the host broken): stop pvmkit, kill -9
#                     xenstored, and record what breaks.
# Every check reads its answer back from Xen (xl), xenstore or a guest (its console, a ping).
# Figures go out as "OBS: recovery-figure ..." lines (benchmarks/README.md, "Resilient pVM on Xen").
XS=/usr/lib/xen-4.17/bin
PV=/run/pvmkit
EVENTS=$PV/events.jsonl
KILLS=${RECOVERY_KILLS:-10}   # 10: the checks per kill are counted in dom0-init.sh's EXPECTED_CHECKS

recovery_daemons() {
  mkdir -p /etc/pvmkit $PV
  cat > /etc/pvmkit/supervise.json <<JSON
{
  "supervisor": {
    "budget": {"max_restarts": 20, "period_s": 3600},
    "dependents_budget": {"max_restarts": 5, "period_s": 3600},
    "pvm_budget": {"max_restarts": 1, "period_s": 3600},
    "backoff": {"first_ms": 0, "base_ms": 200, "factor": 2, "cap_ms": 5000, "jitter": 0, "seed": 1, "reset_after_ms": 10000}
  },
  "xenstored": {"trace": "$PV/xenstored.trace"},
  "components": [
    {"name": "xenstored", "kind": "xenstore", "technique": "snapshot_log_replay",
     "command": ["$XS/xenstored", "--pid-file", "/run/xenstored.pid"],
     "detector": {"type": "fixed_timeout", "timeout_ms": 30000, "startup_grace_ms": 60000},
     "probe": {"type": "xenstore", "interval_ms": 2000, "timeout_ms": 20000},
     "budget": {"max_restarts": 30, "period_s": 3600, "recover_within_s": 30},
     "ready_timeout_s": 60,
     "after_first_start": [["$XS/xen-init-dom0"]],
     "on_exit": "leave"},
    {"name": "xenconsoled", "depends_on": ["xenstored"],
     "command": ["$XS/xenconsoled", "--interactive", "--pid-file=/run/xenconsoled.pid", "--log=guest",
                 "--log-dir=/var/log/xen/console"],
     "budget": {"max_restarts": 30, "period_s": 3600, "recover_within_s": 30},
     "on_exit": "leave"},
    {"name": "agent", "depends_on": ["xenstored"],
     "command": ["/bin/sh", "-c",
                 "while [ ! -e $PV/agent.go ]; do sleep 1; done; exec pvmkit agent --backend xen --interval 5 >> $PV/agent.jsonl 2>> $PV/agent.err"],
     "budget": {"max_restarts": 10, "period_s": 3600, "recover_within_s": 20},
     "on_exit": "stop"}
  ]
}
JSON
  pvmkit supervise --config /etc/pvmkit/supervise.json --check > $PV/check.json 2>&1 || { cat $PV/check.json; return 1; }
  pvmkit supervise --config /etc/pvmkit/supervise.json --events $EVENTS 2> $PV/supervise.err &
  SUPERVISE_PID=$!
  # Up when xenstored answers, xen-init-dom0 has named dom0, and xenconsoled runs.
  up() { [ "$(xenstore-read /local/domain/0/name 2>/dev/null)" = Domain-0 ] && pidof xenconsoled >/dev/null; }
  if ! wait_for 120 up; then
    echo "--- supervise"; cat $EVENTS $PV/supervise.err 2>/dev/null | tail -20; return 1
  fi
  obs "pvmkit supervise (pid $SUPERVISE_PID) runs xenstored $(pidof xenstored) and xenconsoled $(pidof xenconsoled)"
}

# ---- helpers ------------------------------------------------------------------------------------
rnd() { od -An -N2 -tu2 /dev/urandom | tr -d ' '; }
# ev_after T PATTERN: uptime_s of the first event line after T that matches PATTERN.
ev_after() { grep "$2" $EVENTS | sed -n 's/.*"uptime_s":\([0-9.]*\).*/\1/p' | awk -v t="$1" '$1 >= t {print; exit}'; }
ms_between() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "") print "?"; else printf "%d", (b - a) * 1000 }'; }
names_both() { timeout -s KILL "$(scaled 15)" xl list > /tmp/xl.list 2>/dev/null && grep -q '^g0 ' /tmp/xl.list && grep -q '^g1 ' /tmp/xl.list; }
pings() { ping -c 1 -W 5 "$1" >/dev/null; }
# The longest run of lost replies in a ping log (seq numbers of the replies), in ms at 10 ms.
ping_gap_ms() {
  sed -n 's/.*seq=\([0-9]*\).*/\1/p' "$1" | awk 'NR==1 {last=$1; next} { g = $1 - last - 1; if (g > max) max = g; last = $1 } END { printf "%d", max * 10 }'
}
ping_count() { grep -c 'seq=' "$1"; }
# The pid supervise last started a component as.
pid_of() { grep "\"type\":\"started\".*\"component\":\"$1\"" $EVENTS | tail -1 | sed -n 's/.*"pid":\([0-9]*\).*/\1/p'; }
# The client: writes a key, then its permissions, and records it only once both were acknowledged.
# Keys go 64 to a directory, as a toolstack's records spread over domains and devices: one
# directory of every key would time xenstored's restore, which grows with the square of the
# largest directory (docs/recovery.md), and not the recovery.
client_loop() {
  i=0
  while [ ! -e $PV/client.stop ]; do
    i=$((i+1)); key=/tool/pvmkit-client/d$((i / 64))/k$i
    if timeout -s KILL 120 xenstore-write "$key" "v$i-$((i*7919))" &&
       timeout -s KILL 120 xenstore-chmod "$key" n0 "r$G0"; then
      echo "k$i v$i-$((i*7919)) (n0,r$G0)" >> $PV/acked
    fi
    # A pause between keys: a client that never idles would keep the emulated CPUs busy, and on
    # QEMU's virtual clock every other wait in dom0 would then cost its full length in host time.
    usleep 200000
  done
}
# Every acknowledged key reads back with its value and permissions; prints how many are lost.
# The list of acknowledged keys is copied before the store is read: a key the client gets
# acknowledged while the store is being read is not in that reading, and is not lost.
keys_lost() {
  cp $PV/acked /tmp/acked.snap
  timeout -s KILL "$(scaled 60)" xenstore-ls -p /tool/pvmkit-client > /tmp/keys.now 2>/dev/null || { echo unreadable; return; }
  awk 'NR==FNR { want[$1] = $2 " " $3; n++; next }
       { k = $1; v = $3; gsub(/"/, "", v); p = $NF; if (k in want) got[k] = v " " p }
       END { lost = 0; for (k in want) if (got[k] != want[k]) { lost++; if (lost <= 5) print "lost:", k, want[k], "got", got[k] > "/dev/stderr" }
             print lost + 0 }' /tmp/acked.snap /tmp/keys.now
}
# The guests' part of the store (everything but the client's keys), values and permissions,
# sorted: a directory's order of children is not part of its state (a restore lists them sorted).
guest_tree() { timeout -s KILL "$(scaled 60)" xenstore-ls -f -p /local/domain > "$1.raw" 2>/dev/null && sort "$1.raw" > "$1"; }
vif_devid() { timeout -s KILL "$(scaled 30)" xl network-list g0 2>/dev/null | awk 'NR>1 {print $1; exit}'; }
guest_s_cfg() {
  cat > /root/$1.cfg <<CFG
name = "$1"
type = "pv"
kernel = "/guest/vmlinux"
ramdisk = "/guest/initrd.gz"
extra = "console=hvc0 panic=-1 quiet"
memory = 128
vcpus = 1
cpus = "$NODE0_CPUS"
vif = [ 'mac=00:16:3e:00:01:$2,bridge=xenbr0,script=/etc/xen/scripts/vif-harness' ]
CFG
}
# create_paused NAME: xl create -p works and Xen and xenstore then know the domain by its name.
create_paused() {
  timeout -s KILL "$(scaled 240)" xl create -p /root/$1.cfg > /tmp/create-$1.log 2>&1 && domid_of_once "$1" >/dev/null
}
dump_diag() {
  echo "--- supervise events (tail, without actions)"; grep -v '"type":"action"' $EVENTS | tail -12
  echo "--- xenstored: $(ls -l /run/xenstored 2>&1 | tr '\n' ' ')"
  echo "--- supervise stderr (tail)"; tail -15 $PV/supervise.err
  # xenstored's database, once, for reading off the emulator (gzip + base64 between the markers).
  if [ ! -e /tmp/tdb.dumped ] && [ -f /tmp/tdb.before ]; then
    touch /tmp/tdb.dumped; echo "TDB-BASE64-BEGIN"; gzip -c /tmp/tdb.before | base64; echo "TDB-BASE64-END"
  fi
  echo "--- dom0 event channels"; timeout -s KILL 30 lsevtchn 0 2>/dev/null | tail -12
}

# What the agent changed, round by round (rounds with an empty plan are left out), on the console:
# a run that stops says what dom0's sizing and placement did just before.
agent_watch() {
  seen=0
  while [ ! -e $PV/client.stop ]; do
    sleep 5
    grep '"type":"round"' $PV/agent.jsonl 2>/dev/null | tail -n +$((seen + 1)) > /tmp/rounds.new
    seen=$((seen + $(wc -l < /tmp/rounds.new)))
    grep -v '"steps":0' /tmp/rounds.new | while IFS= read -r l; do
      echo "OBS: agent round $(echo "$l" | sed -n 's/.*"round":\([0-9]*\).*/\1/p') (ok: $(echo "$l" | sed -n 's/.*"ok":\([a-z]*\).*/\1/p')):" \
        "$(echo "$l" | grep -o '"do":{[^}]*}' | sed 's/"do":{"action":"//; s/[}"]//g' | tr '\n' ';')"
    done
  done
}

# ---- the phase ----------------------------------------------------------------------------------
recovery_phase() {
  touch $PV/agent.go
  agent_watch &
  agent_rounds() { grep -c '"type":"round"' $PV/agent.jsonl 2>/dev/null; }
  wait_for 180 sh -c "[ \$(grep -c '\"type\":\"round\"' $PV/agent.jsonl 2>/dev/null) -ge 1 ]"
  check "supervise: xenstored, xenconsoled and the agent run under pvmkit supervise (agent rounds: $(agent_rounds))" \
    sh -c "pidof xenstored >/dev/null && pidof xenconsoled >/dev/null && [ \$(grep -c '\"type\":\"round\"' $PV/agent.jsonl) -ge 1 ]"
  : > $PV/acked
  client_loop > /dev/null 2>&1 &
  CLIENT_PID=$!
  guest_s_cfg g2 10
  total_lost=0; k=1
  while [ $k -le "$KILLS" ]; do
    sleep $(( $(rnd) % 4 ))
    usleep $(( ($(rnd) % 1000) * 1000 ))
    ping -i 0.01 10.0.0.2 > /tmp/ping0 2>&1 & P0=$!
    ping -i 0.01 10.0.0.3 > /tmp/ping1 2>&1 & P1=$!
    sleep 1
    guest_tree /tmp/tree.before   # as close to the kill as it can be read
    acked_before=$(wc -l < $PV/acked)
    old=$(pidof xenstored)
    cp /run/xenstored/tdb /tmp/tdb.before 2>/dev/null   # what the restore reads, for diagnosis
    T0=$(uptime_s)
    kill -9 $old
    obs "kill $k: kill -9 xenstored $old ($acked_before keys acknowledged, dom0 $(free_mb) MiB free)"
    # xl list blocks in the socket's backlog while xenstored is down and answers once it is back.
    if wait_for 20 names_both || { obs "kill $k: not back after 20 s"; dump_diag; wait_for 70 names_both; }; then T1=$(uptime_s); st=0
    else T1=""; st=1; fi
    sleep 1
    kill $P0 $P1 2>/dev/null; wait $P0 $P1 2>/dev/null
    TD=$(ev_after "$T0" '"event":"failed","component":"xenstored"')
    TR=$(ev_after "$T0" '"type":"started","uptime_s":[0-9.]*,"component":"xenstored"')
    # The restore line is written once the stream is ready (prepare_ms: reading the database and
    # writing the stream); from it to the started event is the new xenstored reading the stream.
    rline=$(grep '"type":"restore"' $EVENTS | tail -1)
    restore=$(echo "$rline" | sed 's/.*"report"://')
    prepare_ms=$(echo "$rline" | sed -n 's/.*"prepare_ms":\([0-9]*\).*/\1/p')
    TP=$(echo "$rline" | sed -n 's/.*"uptime_s":\([0-9.]*\).*/\1/p')
    checked "kill $k: after kill -9 of xenstored ($old -> $(pidof xenstored)) xl list names g0 and g1 again" $st
    [ $st = 0 ] || dump_diag
    lost=$(keys_lost); guest_tree /tmp/tree.after
    if cmp -s /tmp/tree.before /tmp/tree.after; then same=yes; else same=no; diff /tmp/tree.before /tmp/tree.after | head -10; fi
    is_number "$lost" && total_lost=$((total_lost + lost)) || total_lost=$((total_lost + 1000000))
    check "kill $k: $acked_before acknowledged keys read back with values and permissions (lost: $lost), guests' tree identical ($same)" \
      test "$lost" = 0 -a "$same" = yes
    echo "OBS: recovery-figure kill=$k detect_ms=$(ms_between "$T0" "$TD") restored_ms=$(ms_between "$T0" "$TR") prepare_ms=${prepare_ms:-?} xenstored_ms=$(ms_between "$TP" "$TR") db_kib=$(( $(stat -c %s /tmp/tdb.before 2>/dev/null || echo 0) / 1024 )) xl_list_ms=$(ms_between "$T0" "$T1") keys=$acked_before lost=$lost ping_g0_gap_ms=$(ping_gap_ms /tmp/ping0) ping_g1_gap_ms=$(ping_gap_ms /tmp/ping1) pings=$(ping_count /tmp/ping0)/$(ping_count /tmp/ping1) restore=$restore"
    # g0's devices: its kernel must see the backend go and come back (the watches it registered).
    dev=$(vif_devid); st=1
    if is_number "$dev" && timeout -s KILL "$(scaled 120)" xl network-detach g0 "$dev" &&
       wait_for 60 sh -c "! xl network-list g0 2>/dev/null | awk 'NR>1' | grep -q ." &&
       timeout -s KILL "$(scaled 120)" xl network-attach g0 mac=00:16:3e:00:00:02 bridge=xenbr0 script=/etc/xen/scripts/vif-harness &&
       wait_for 90 pings 10.0.0.2; then st=0; fi
    checked "kill $k: xl network-detach + network-attach of g0's vif (devid $dev) completes and g0 pings again" $st
    [ $st = 0 ] || { timeout -s KILL 30 xl network-list g0; tail -5 /var/log/xen/console/guest-g0.log; }
    st=1
    if create_paused g2; then st=0; fi
    checked "kill $k: xl create of a new guest (g2) works" $st
    [ $st = 0 ] || tail -8 /tmp/create-g2.log
    timeout -s KILL "$(scaled 120)" xl destroy g2 >/dev/null 2>&1; wait_for 60 gone g2 || obs "g2 still listed"
    k=$((k+1))
  done
  touch $PV/client.stop; wait $CLIENT_PID 2>/dev/null
  obs "client: $(wc -l < $PV/acked) keys acknowledged over $KILLS kills; lost in total: $total_lost"
  check "figures: no acknowledged key lost over $KILLS kills of xenstored (lost: $total_lost)" test "$total_lost" = 0

  # ---- xenconsoled: the guests' consoles are logged again after a kill -9
  ticks() { grep -c TICK /var/log/xen/console/guest-g$1.log; }
  old=$(pidof xenconsoled); t0=$(ticks 0); T0=$(uptime_s)
  kill -9 "$old"
  again() { n=$(pidof xenconsoled) && [ "$n" != "$old" ] && [ "$(ticks 0)" -gt "$t0" ]; }
  if wait_for 60 again; then st=0; else st=1; fi
  TR=$(ev_after "$T0" '"type":"started","uptime_s":[0-9.]*,"component":"xenconsoled"')
  checked "xenconsoled: kill -9 ($old), restarted as $(pidof xenconsoled) in $(ms_between "$T0" "$TR") ms, g0's console logged again ($t0 -> $(ticks 0) ticks)" $st

  echo "OBS: recovery-figure component=xenconsoled restarted_ms=$(ms_between "$T0" "$TR")"

  # ---- the agent: back within its budget (recover_within_s = 20)
  old=$(pid_of agent); r0=$(agent_rounds); T0=$(uptime_s)
  kill -9 "$old"
  back() { n=$(pid_of agent) && [ -n "$n" ] && [ "$n" != "$old" ] && kill -0 "$n" && [ "$(agent_rounds)" -gt "$r0" ]; }
  wait_for 120 back; st=$?
  TR=$(ev_after "$T0" '"type":"started","uptime_s":[0-9.]*,"component":"agent"')
  within=$(grep '"action":"start","component":"agent"' $EVENTS | tail -1 | sed -n 's/.*"within_budget":\([a-z]*\).*/\1/p')
  checked "agent: kill -9 ($old), back as $(pid_of agent) in $(ms_between "$T0" "$TR") ms (within its 20 s budget: ${within:-?}) and runs rounds" \
    "$([ $st = 0 ] && [ "$within" = true ] && echo 0 || echo 1)"
  echo "OBS: recovery-figure component=agent restarted_ms=$(ms_between "$T0" "$TR")"

  # ---- the guests' own watches: g1 sees control/shutdown
  T0=$(uptime_s)
  timeout -s KILL "$(scaled 60)" xl shutdown g1 >/dev/null 2>&1
  down() { grep -q 'reboot: Power down' /var/log/xen/console/guest-g1.log || ! xl list g1 >/dev/null 2>&1 ||
           xl list g1 2>/dev/null | awk 'NR==2 {exit !($5 ~ /s/)}'; }
  wait_for 120 down; st=$?
  checked "xl shutdown g1: its kernel saw the request and powered off ($(grep -c 'Power down' /var/log/xen/console/guest-g1.log) power-down lines; xl: $(xl list g1 2>/dev/null | awk 'NR==2 {print $5}'))" $st
  for g in g0 g1; do timeout -s KILL "$(scaled 120)" xl destroy $g >/dev/null 2>&1; done
  both_gone() { gone g0 && gone g1; }
  check "xl destroy of g0 and g1: both gone" wait_for 60 both_gone

  # ---- stock Xen, last: the same kill without pvmkit
  guest_s_cfg s0 20; guest_s_cfg s1 21
  create_paused s0 || obs "stock: s0 was not created"
  kill "$SUPERVISE_PID"; wait "$SUPERVISE_PID" 2>/dev/null   # leaves xenstored and xenconsoled running
  kill -9 "$(pidof xenstored)"
  if timeout -s KILL "$(scaled 20)" xl list >/dev/null 2>&1; then st=1; else st=0; fi
  checked "stock: with xenstored killed and nothing to restore it, xl list does not answer" $st
  xenstored --pid-file /run/xenstored.pid   # what an operator does: start it again, as at boot
  wait_for 60 xenstore-ls / >/dev/null
  timeout -s KILL 60 xen-init-dom0 >/dev/null 2>&1
  kill "$(pidof xenconsoled)" 2>/dev/null; sleep 1
  xenconsoled --pid-file=/run/xenconsoled.pid --log=guest --log-dir=/var/log/xen/console
  timeout -s KILL "$(scaled 30)" xl list > /tmp/xl.stock 2>&1; cat /tmp/xl.stock
  if grep -q '^s0 ' /tmp/xl.stock; then st=1; else st=0; fi
  checked "stock: the restarted xenstored is empty: xl list no longer names s0 ($(awk 'NR>1 {printf "%s ", $1}' /tmp/xl.stock))" $st
  if create_paused s1; then st=1; else st=0; fi
  checked "stock: xl create of a new guest fails after the restart" $st
  tail -4 /tmp/create-s1.log
}
