#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Events of the "events" multicast group as `kubelbctl monitor` (text and
# -j) shows them: add, change (replace), del, and one del per VIP on flush.
# Lines must appear while the monitor runs (a pipe into grep must work),
# and only for the monitor's own namespace.

source "$(dirname "$0")/lib.sh"
require_base
require_python

ns_create NS
ns_create OTHER
ns_add_kubelb "$NS" kube-lb0
ns_add_kubelb "$NS" klb1
ns_add_kubelb "$OTHER" kube-lb0

bg_start MON nsexec "$NS" "$KUBELBCTL" monitor >"$TMPD/mon.txt" 2>"$TMPD/mon.err"
bg_start MONJ nsexec "$NS" "$KUBELBCTL" -j monitor >"$TMPD/mon.json" 2>"$TMPD/mon.jerr"

# Wait until both monitors have subscribed: add probe VIPs until seen.
ready=0
for i in $(seq 1 50); do
	klb "$NS" vip add "10.255.0.$i" >/dev/null 2>&1
	if grep -q "10.255.0.$i" "$TMPD/mon.txt" 2>/dev/null &&
	   grep -q "10.255.0.$i" "$TMPD/mon.json" 2>/dev/null; then
		ready=1
		break
	fi
	sleep 0.2
done
if [ $ready = 0 ]; then
	fail "kubelbctl monitor printed nothing for 10 s of adds"
	log "stderr: $(cat "$TMPD/mon.err" "$TMPD/mon.jerr")"
	exit_test
fi
klb "$NS" vip flush dev kube-lb0 >/dev/null
klb "$NS" vip add 10.255.1.1 >/dev/null    # end-of-probe marker
wait_for 5 grep -q 10.255.1.1 "$TMPD/mon.txt"
klb "$NS" vip del 10.255.1.1 >/dev/null
wait_for 5 grep -q "^del 10.255.1.1" "$TMPD/mon.txt"
wait_for 5 grep -qE '"event": *"del".*"10\.255\.1\.1"|"10\.255\.1\.1".*"event": *"del"' "$TMPD/mon.json"
start_txt=$(wc -l <"$TMPD/mon.txt")
start_json=$(wc -l <"$TMPD/mon.json")

# --- the events ----------------------------------------------------------------
klb "$NS" vip add 10.0.0.1
klb "$NS" vip add 2001:db8::1/64 dev klb1 service ns/web
klb "$OTHER" vip add 10.9.9.9            # another namespace: must not be seen
klb "$NS" vip replace 10.0.0.1/24 service ns/svc
klb "$NS" vip del 10.0.0.1
klb "$NS" vip add 10.0.0.2 dev klb1
klb "$NS" vip add 10.0.0.3 dev klb1
klb "$NS" vip flush dev klb1
klb "$NS" vip add 10.0.0.4                # end marker

want_txt=(
	"add 10.0.0.1/32 dev kube-lb0 mode virtual"
	"add 2001:db8::1/64 dev klb1 mode virtual service ns/web"
	"change 10.0.0.1/24 dev kube-lb0 mode virtual service ns/svc"
	"del 10.0.0.1/24 dev kube-lb0 mode virtual service ns/svc"
	"add 10.0.0.2/32 dev klb1 mode virtual"
	"add 10.0.0.3/32 dev klb1 mode virtual"
	"del 2001:db8::1/64 dev klb1 mode virtual service ns/web"
	"del 10.0.0.2/32 dev klb1 mode virtual"
	"del 10.0.0.3/32 dev klb1 mode virtual"
	"add 10.0.0.4/32 dev kube-lb0 mode virtual"
)

if wait_for 10 grep -q "^add 10.0.0.4/" "$TMPD/mon.txt"; then
	pass "monitor prints events as they happen (line-buffered)"
else
	fail "monitor did not print the last event within 10 s"
fi
got=$(tail -n +$((start_txt + 1)) "$TMPD/mon.txt")
log "monitor output:"
echo "$got" | log_file
for w in "${want_txt[@]}"; do
	check_match "monitor: $w" "^${w//./\\.}\$" "$got"
done
check_eq "monitor: exactly the expected number of events" "${#want_txt[@]}" "$(echo "$got" | grep -c .)"
check_not_contains "monitor does not see other namespaces" "10.9.9.9" "$got"
# order: the change comes after the add and before the del of 10.0.0.1
order=$(echo "$got" | grep ' 10\.0\.0\.1/' | awk '{print $1}' | tr '\n' ' ')
check_eq "events of one VIP in order" "add change del " "$order"

# --- -j ------------------------------------------------------------------------
wait_for 10 grep -q '10.0.0.4' "$TMPD/mon.json"
tail -n +$((start_json + 1)) "$TMPD/mon.json" >"$TMPD/mon.new.json"
check_py "monitor -j: one JSON object per line with event, addr, ..." "$TMPD/mon.new.json" <<'EOF'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
got = [(e["event"], e["addr"], e["prefixlen"], e["dev"]) for e in ev]
want = [("add", "10.0.0.1", 32, "kube-lb0"),
        ("add", "2001:db8::1", 64, "klb1"),
        ("change", "10.0.0.1", 24, "kube-lb0"),
        ("del", "10.0.0.1", 24, "kube-lb0"),
        ("add", "10.0.0.2", 32, "klb1"),
        ("add", "10.0.0.3", 32, "klb1")]
assert got[:6] == want, got
assert sorted(got[6:9]) == sorted([("del", "2001:db8::1", 64, "klb1"),
                                   ("del", "10.0.0.2", 32, "klb1"),
                                   ("del", "10.0.0.3", 32, "klb1")]), got[6:9]
assert got[9:] == [("add", "10.0.0.4", 32, "kube-lb0")], got[9:]
c = ev[2]
assert c["service"] == "ns/svc" and c["mode"] == "virtual", c
assert "created" in c and "owner" in c, c
EOF

kill "$MON" "$MONJ" 2>/dev/null
exit_test
