#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# 10,000 local VIPs on node1's eth0 (N from $KUBELB_LOCAL_N): the client
# sends one ARP request per VIP (one raw AF_PACKET sender/receiver, not one
# arping per VIP) and every VIP is answered exactly once, by node1's MAC;
# ARP for addresses that are not VIPs (node1's and node2's own, a free
# address of the VIPs' aggregate prefix) is answered, or not, by the kernel
# exactly as before the VIPs were added; the per-VIP "answered" counters
# account for every reply. garp_count=0 while adding, so that the add does
# not flood the LAN.

source "$(dirname "$0")/lib.sh"
require_base
require_python

N=${KUBELB_LOCAL_N:-10000}
P=/sys/module/kubelb/parameters
[ -w $P/garp_count ] || skip "no garp_count module parameter"
GARP0=$(cat $P/garp_count)
on_exit "echo $GARP0 > $P/garp_count"
echo 0 >$P/garp_count

lan_setup

# VIP i: 10.10.(i / 250).(i % 250 + 1); 10.10.250.1 is in their aggregate
# 10.10.0.0/16 but never a VIP (N <= 62,500)
[ "$N" -le 62500 ] || skip "KUBELB_LOCAL_N=$N: at most 62500"
vip_list() {
	awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++)
		printf "10.10.%d.%d\n", int(i / 250), i % 250 + 1 }'
}
vip_list >"$TMPD/vips"
FIRST=10.10.0.1
LAST=$(tail -n 1 "$TMPD/vips")

# arp_probe IF SRC_MAC SRC_IP TARGETS OUT: one ARP request per target
# address (broadcast, at most WINDOW unanswered at a time, so no queue on
# the way overflows), then every ARP reply addressed to SRC_IP until the
# line has been quiet for 1.5 s. OUT: "TARGET COUNT ETH_SRC/SHA ..." per
# target, then "stray N" (replies for addresses not asked).
cat >"$TMPD/arp_probe.py" <<'EOF'
import socket, struct, sys, time, select

ifname, smac, sip, targets_file, out_file = sys.argv[1:6]
WINDOW, QUIET = 256, 1.5
smac_b = bytes.fromhex(smac.replace(":", ""))
sip_b = socket.inet_aton(sip)
targets = [l.split()[0] for l in open(targets_file) if l.strip()]
replies = {t: [] for t in targets}
stray = 0

s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0806))
s.bind((ifname, 0x0806))
try:
    s.setsockopt(socket.SOL_SOCKET, 33, 64 << 20)  # SO_RCVBUFFORCE
except OSError:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 20)

def fmt(b):
    return ":".join("%02x" % x for x in b)

received = 0
def drain(timeout):
    """read what is there (waiting up to timeout for the first); False if nothing came"""
    global received, stray
    got = False
    while select.select([s], [], [], timeout)[0]:
        timeout = 0
        data, addr = s.recvfrom(2048)
        if addr[2] == socket.PACKET_OUTGOING or len(data) < 42:
            continue
        op = struct.unpack("!H", data[20:22])[0]
        if op != 2 or data[38:42] != sip_b:
            continue
        got = True
        received += 1
        spa = socket.inet_ntoa(data[28:32])
        ent = fmt(data[6:12]) + "/" + fmt(data[22:28])
        if spa in replies:
            replies[spa].append(ent)
        else:
            stray += 1
    return got

hdr = b"\xff" * 6 + smac_b + b"\x08\x06" + struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1)
start = time.monotonic()
sent = 0
for t in targets:
    # keep at most WINDOW requests unanswered; give up waiting (the
    # missing replies are what the test reports) after QUIET s of silence
    while sent - received >= WINDOW:
        if not drain(QUIET):
            received = sent
    s.send(hdr + smac_b + sip_b + b"\0" * 6 + socket.inet_aton(t))
    sent += 1
    drain(0)
while drain(QUIET):
    pass
secs = time.monotonic() - start
with open(out_file, "w") as f:
    for t in targets:
        f.write("%s %d %s\n" % (t, len(replies[t]), " ".join(replies[t])))
    f.write("stray %d\n" % stray)
print("%d requests, %d replies in %.1f s" % (sent, received, secs))
EOF

probe() {	# probe TARGETS OUT
	nsexec "$NS_CLIENT" "$PYTHON" "$TMPD/arp_probe.py" eth0 "$MAC_CLIENT" 10.9.0.1 "$1" "$2" \
		2>&1 | log_file
}

# what one probe result line says about one target: "COUNT MAC/MAC ..."
result_of() { awk -v t="$1" '$1 == t { $1 = ""; sub(/^ /, ""); print }' "$2"; }

NON_VIPS="10.9.0.11 10.9.0.12 10.10.250.1 10.9.0.99"
# --- before: the kernel's own answers, and silence for the future VIPs ------------
printf '%s\n' $NON_VIPS $FIRST $LAST >"$TMPD/before.targets"
probe "$TMPD/before.targets" "$TMPD/before"
check_eq "before: node1 answers ARP for 10.9.0.11 once, with its MAC" \
	"1 $MAC_NODE1/$MAC_NODE1" "$(result_of 10.9.0.11 "$TMPD/before")"
check_eq "before: node2 answers ARP for 10.9.0.12 once, with its MAC" \
	"1 $MAC_NODE2/$MAC_NODE2" "$(result_of 10.9.0.12 "$TMPD/before")"
check_eq "before: nobody answers for $FIRST (not a VIP yet)" "0" "$(result_of $FIRST "$TMPD/before")"

# --- N local VIPs ---------------------------------------------------------------------
sed 's|.*|vip add &/16 mode local link eth0|' "$TMPD/vips" >"$TMPD/add"
start=$(now)
if klb "$NS_NODE1" -b "$TMPD/add" 2>"$TMPD/add.err"; then
	pass "added $N local VIPs (link eth0) in $(elapsed "$start") s"
else
	fail "adding $N local VIPs failed"
	head -n 3 "$TMPD/add.err" | log_file
	exit_test
fi

# node1's own address first, node2's last: the kernel still answers around
# (and after) a burst of VIP requests
{ echo 10.9.0.11; cat "$TMPD/vips"; echo 10.10.250.1; echo 10.9.0.99; echo 10.9.0.12; } \
	>"$TMPD/after.targets"
start=$(now)
probe "$TMPD/after.targets" "$TMPD/after"
log "probe took $(elapsed "$start") s"

# per VIP: exactly one reply, Ethernet source and ARP sender both node1's eth0
awk -v m="$MAC_NODE1/$MAC_NODE1" '
	NR == FNR { vip[$1] = 1; next }
	!($1 in vip) { next }
	{ n++ }
	$2 == 1 && $3 == m { ok++; next }
	$2 == 0 { none++; if (none <= 5) print "# unanswered: " $1; next }
	$2 > 1 { multi++; if (multi <= 5) print "# answered " $2 " times: " $0; next }
	{ wrong++; if (wrong <= 5) print "# wrong MAC: " $0 }
	END { printf "vips=%d once_by_node1=%d unanswered=%d multiple=%d wrong_mac=%d\n",
		n, ok, none, multi, wrong }' "$TMPD/vips" "$TMPD/after" >"$TMPD/summary"
grep '^#' "$TMPD/summary"
check_eq "each of the $N VIPs answered exactly once, by node1's eth0 MAC" \
	"vips=$N once_by_node1=$N unanswered=0 multiple=0 wrong_mac=0" "$(grep -v '^#' "$TMPD/summary")"
check_eq "no replies for addresses not asked" "stray 0" "$(grep '^stray' "$TMPD/after")"

for a in 10.9.0.11 10.9.0.12 10.10.250.1 10.9.0.99; do
	check_eq "ARP for non-VIP $a answered as before the VIPs ($(result_of $a "$TMPD/before"))" \
		"$(result_of $a "$TMPD/before")" "$(result_of $a "$TMPD/after")"
done
check_eq "kernel still answers for node1's own 10.9.0.11 among the VIPs" \
	"1 $MAC_NODE1/$MAC_NODE1" "$(result_of 10.9.0.11 "$TMPD/after")"
check_eq "no answer for 10.10.250.1 (in the VIPs' aggregate, not a VIP)" \
	"0" "$(result_of 10.10.250.1 "$TMPD/after")"

# the kernel's own neighbour code on the client still works for a node
check "client resolves node2 (10.9.0.12) with ping" nsexec "$NS_CLIENT" ping -c 1 -W 5 10.9.0.12
check_match "client's neighbour entry for 10.9.0.12 is node2's MAC" \
	"^10\.9\.0\.12 dev eth0 lladdr $MAC_NODE2 " "$(ip -n "$NS_CLIENT" neigh show 10.9.0.12)"

# --- counters -------------------------------------------------------------------------
klb "$NS_NODE1" -s -j vip show dev kube-lb0 >"$TMPD/stats.json" 2>"$TMPD/stats.err" ||
	log_file "$TMPD/stats.err"
check_py "kubelbctl -s -j: answered is 1 for every VIP and sums to $N; nothing suppressed, nothing announced (garp_count=0)" \
	"$TMPD/stats.json" "$N" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
n = int(sys.argv[2])
assert len(d) == n, "%d VIPs listed, want %d" % (len(d), n)
tot = {k: sum(int(v["stats"][k]) for v in d) for k in ("answered", "suppressed", "announced", "rewritten")}
print(tot)
bad = [(v["addr"], v["stats"]["answered"]) for v in d if int(v["stats"]["answered"]) != 1]
assert tot["answered"] == n, "answered sums to %d, want %d; e.g. %s" % (tot["answered"], n, bad[:5])
assert not bad, "answered != 1: %s" % bad[:5]
assert tot["suppressed"] == 0, tot
assert tot["announced"] == 0, "announcements with garp_count=0: %s" % tot
assert all(v["mode"] == "local" and v["link"] == "eth0" for v in d)
EOF
log "counter totals: $(tail -n 1 "$TMPD/py.out")"

exit_test
