#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A VIP is real to the rest of Linux: pings to it (IPv4 and IPv6) are
# answered from its own namespace and from a peer namespace routed to it
# over a veth; a socket bound to it receives; its routes are visible with
# iproute2 (proto 95); after del it is no longer delivered; and
# `kubelbctl vip show` flags a VIP whose local route was deleted by hand.

source "$(dirname "$0")/lib.sh"
require_base
require_python
require_cmd ping

ns_create LB
ns_create PEER
ns_add_kubelb "$LB" kube-lb0
veth_pair "$LB" veth-lb "$PEER" veth-peer
ip -n "$LB" addr add 10.99.0.1/24 dev veth-lb
ip -n "$PEER" addr add 10.99.0.2/24 dev veth-peer
ip -n "$LB" addr add fd00:99::1/64 dev veth-lb nodad
ip -n "$PEER" addr add fd00:99::2/64 dev veth-peer nodad
ip -n "$PEER" route add 192.0.2.0/24 via 10.99.0.1
ip -n "$PEER" -6 route add 2001:db8:100::/64 via fd00:99::1

V4=192.0.2.10
V6=2001:db8:100::10

ping4() { nsexec "$1" ping -c 1 -W 2 "$2" >/dev/null 2>&1; }
ping6() { nsexec "$1" ping -6 -c 1 -W 2 "$2" >/dev/null 2>&1; }
fails() { ! "$@"; }

check "no VIP yet: ping $V4 from the peer fails" fails ping4 "$PEER" $V4

check "vip add $V4/24" klb "$LB" vip add $V4/24
check "vip add $V6/64" klb "$LB" vip add $V6/64

# --- FIB visible with iproute2 ---------------------------------------------------
check_match "ip route show table local proto 95 lists the IPv4 VIP" "^local $V4 dev kube-lb0" \
	"$(ip -n "$LB" route show table local proto 95)"
check_match "ip -6 route show table local proto 95 lists the IPv6 VIP" "^local $V6 dev kube-lb0" \
	"$(ip -n "$LB" -6 route show table local proto 95)"
check_match "aggregate 192.0.2.0/24 visible in the main table" '^192\.0\.2\.0/24 dev kube-lb0' \
	"$(ip -n "$LB" route show proto 95)"
check_match "ip route get $V4 resolves to a local route" "^local $V4 dev lo" \
	"$(ip -n "$LB" route get $V4)"

# --- ping ------------------------------------------------------------------------
check "ping $V4 from its own namespace" ping4 "$LB" $V4
check "ping $V6 from its own namespace" ping6 "$LB" $V6
check "ping $V4 from the peer over the veth" ping4 "$PEER" $V4
check "ping $V6 from the peer over the veth" ping6 "$PEER" $V6
check "another address of the aggregate is not answered" fails ping4 "$PEER" 192.0.2.11

# --- sockets receive ------------------------------------------------------------
# IPv4: a socket bound to the VIP (a local route is enough for bind).
# IPv6 binds only to interface addresses (or with IP_FREEBIND), so there a
# socket bound to the wildcard must receive what is sent to the VIP, and
# see the VIP as its local address.
cat >"$TMPD/srv.py" <<'EOF'
import socket, sys
vip, bindaddr = sys.argv[1], sys.argv[2]
fam = socket.AF_INET6 if ":" in vip else socket.AF_INET
udp = socket.socket(fam, socket.SOCK_DGRAM)
udp.bind((bindaddr, 5555))
tcp = socket.socket(fam, socket.SOCK_STREAM)
tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
tcp.bind((bindaddr, 5556))
tcp.listen(1)
print("bound", flush=True)
udp.settimeout(10)
data, peer = udp.recvfrom(100)
udp.sendto(b"pong:" + data, peer)
tcp.settimeout(10)
c, _ = tcp.accept()
c.sendall(b"hello from " + c.getsockname()[0].encode())
c.close()
EOF
cat >"$TMPD/cli.py" <<'EOF'
import socket, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
u = socket.socket(fam, socket.SOCK_DGRAM)
u.settimeout(5)
u.sendto(b"ping", (sys.argv[1], 5555))
print(u.recvfrom(100)[0].decode())
t = socket.create_connection((sys.argv[1], 5556), timeout=5)
print(t.recv(100).decode())
EOF
for vip in $V4 $V6; do
	if [ $vip = $V4 ]; then bindaddr=$vip; what="bound to $vip"; else bindaddr=::; what="on [::]"; fi
	nsexec "$LB" "$PYTHON" "$TMPD/srv.py" $vip $bindaddr >"$TMPD/srv.out" 2>&1 &
	srv=$!
	wait_for 10 grep -q bound "$TMPD/srv.out"
	out=$(nsexec "$PEER" "$PYTHON" "$TMPD/cli.py" $vip 2>&1)
	check_eq "UDP and TCP sockets $what receive what the peer sends to $vip" \
		"pong:ping hello from $vip" "$(echo $out)"
	kill $srv 2>/dev/null
	wait $srv 2>/dev/null
	[ -n "$(grep -v bound "$TMPD/srv.out")" ] && log_file "$TMPD/srv.out"
done

# --- fib-missing ---------------------------------------------------------------------
check "delete the IPv4 local route by hand" ip -n "$LB" route del local $V4 dev kube-lb0 table local proto 95
out=$(klb "$LB" vip show $V4 2>&1)
check_match "vip show flags the VIP fib-missing" "^$V4/24 dev kube-lb0 mode virtual fib-missing\$" "$out"
check_not_contains "the IPv6 VIP is not flagged" "fib-missing" "$(klb "$LB" vip show $V6 2>&1)"
out=$(klb "$LB" -j vip show 2>&1)
check_py "-j: fib_missing true only for the IPv4 VIP" <<EOF
import json
d = {v["addr"]: v["fib_missing"] for v in json.loads('''$out''')}
assert d == {"$V4": True, "$V6": False}, d
EOF
check "a VIP without its local route is not delivered" fails ping4 "$PEER" $V4
check "replace repairs the FIB" klb "$LB" vip replace $V4/24
check_not_contains "no fib-missing after replace" "fib-missing" "$(klb "$LB" vip show 2>&1)"
check "ping works again" ping4 "$PEER" $V4
check "delete the IPv6 aggregate by hand" ip -n "$LB" -6 route del 2001:db8:100::/64 dev kube-lb0 proto 95
check_match "a missing aggregate is flagged too" "^$V6/64 .*fib-missing\$" "$(klb "$LB" vip show $V6 2>&1)"
check "replace repairs the aggregate" klb "$LB" vip replace $V6/64
check_match "the IPv6 aggregate route is back after replace" '^2001:db8:100::/64 dev kube-lb0 ' \
	"$(ip -n "$LB" -6 route show table main proto 95)"
check_not_contains "no fib-missing after the aggregate's repair" "fib-missing" "$(klb "$LB" vip show $V6 2>&1)"

# --- del: no longer delivered --------------------------------------------------------
check "vip del $V4" klb "$LB" vip del $V4
check "vip del $V6" klb "$LB" vip del $V6
check "after del: ping $V4 from the peer fails" fails ping4 "$PEER" $V4
check "after del: ping $V6 from the peer fails" fails ping6 "$PEER" $V6
check "after del: ping $V4 in its namespace fails" fails ping4 "$LB" $V4
check_fails_with "after del: binding to $V4 fails" "Cannot assign requested address" \
	nsexec "$LB" "$PYTHON" -c "import socket; socket.socket().bind(('$V4', 5555))"
check_eq "after del: no proto 95 routes" "" \
	"$(ip -n "$LB" route show table all proto 95; ip -n "$LB" -6 route show table all proto 95)"

# --- VIPs of a deleted device stop being delivered -----------------------------------
check "vip add again" klb "$LB" vip add $V4/24
check "ping before device deletion" ping4 "$PEER" $V4
check "delete the kubelb device" ip -n "$LB" link del kube-lb0
check "after device deletion: not delivered" fails ping4 "$PEER" $V4
check_eq "after device deletion: routes gone" "" "$(ip -n "$LB" route show table all proto 95)"

exit_test
