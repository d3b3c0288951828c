#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR MIT
# End-to-end smoke test of kubelbctl against the real module, run inside
# the VM:  tools/vm-run userspace/tests/vm-smoke.sh [N]
# (N = lines for the batch timing, default 100000). Not a selftest: it
# prints what it does; it exits non-zero at the first unexpected result.
set -u
K=${KUBELBCTL:-$(dirname "$0")/../kubelbctl}
N=${1:-100000}
fail() { echo "SMOKE FAIL: $*"; exit 1; }
run() { echo "+ $*"; "$@"; }
expect_err() {	# expect_err TEXT cmd...: must exit 1 with TEXT on stderr
	local want=$1 out; shift
	echo "+ $* (expect error: $want)"
	out=$("$@" 2>&1 >/dev/null); local rc=$?
	echo "  -> rc=$rc: $out"
	[ $rc = 1 ] || fail "rc $rc"
	case $out in *"$want"*) ;; *) fail "missing \"$want\"";; esac
}

heal_all() {	# kube-lb0 down/up removed the routes: replace repairs
run $K vip replace 192.0.2.10/24 service default/web || fail "heal"
run $K vip replace 192.0.2.11/24 || fail "heal"
run $K vip replace 2001:db8::10/64 || fail "heal"
run $K vip replace 198.51.100.5 mode local link eth9 service ns/local || fail "heal"
run $K vip replace 203.0.113.7/28 || fail "heal"
}

modprobe dummy 2>/dev/null
ip link add eth9 type dummy && ip link set eth9 up
run ip -d link show kube-lb0 || fail "no kube-lb0"

run $K vip add 192.0.2.10/24 service default/web || fail add
run $K vip add 192.0.2.11/24 || fail add
run $K vip add 2001:db8::10/64 || fail add6
run $K vip add 198.51.100.5 mode local link eth9 service ns/local || fail add-local
run $K -j -s vip add 203.0.113.7/28 || fail add-json
run $K vip show || fail show
run $K -s vip show || fail show-s
echo "+ $K -j -s vip show"; $K -j -s vip show > /tmp/j || fail show-j
python3 -m json.tool < /tmp/j || fail "invalid JSON"
run $K vip show 192.0.2.10 || fail show-one
run $K -j vip show dev kube-lb0 2001:db8::10 || fail show-one-j
run ip route show table all proto 95
run ip -6 route show table all proto 95
run ping -c1 -W2 192.0.2.10 || fail "ping v4"
run ping -6 -c1 -W2 2001:db8::10 || fail "ping v6"

expect_err "VIP already exists" $K vip add 192.0.2.10
expect_err "192.0.2.99" $K vip add 192.0.2.99 dev lo
expect_err "192.0.2.98" $K vip del 192.0.2.98
expect_err "dev nosuch0: no such device" $K vip add 192.0.2.97 dev nosuch0
expect_err "prefix length 33: out of range for IPv4" $K vip add 192.0.2.96/33

echo "== fib-missing"
run ip route del local 192.0.2.11 dev kube-lb0 table local proto 95 || fail "route del"
run $K vip show
$K vip show | grep -q '^192.0.2.11/24 .*fib-missing$' || fail "fib-missing not shown"
$K -j vip show 192.0.2.11 | grep -q '"fib_missing":true' || fail "json fib_missing"
run $K vip replace 192.0.2.11/24 || fail "replace"
$K vip show 192.0.2.11 | grep -q fib-missing && fail "replace did not heal"
run $K vip show 192.0.2.11

echo "== rollback (routes cannot be installed on a down device)"
run ip link set kube-lb0 down
expect_err "192.0.3.77: aggregate route: " $K vip add 192.0.3.77/24
run ip link set kube-lb0 up
$K vip show 192.0.3.77 2>/dev/null && fail "add not rolled back"
run ip route show table all proto 95
run $K vip show
heal_all
run $K vip add 192.0.2.78/24 || fail add
run ip link set kube-lb0 down
expect_err "192.0.2.78: aggregate route: " $K vip replace 192.0.2.78/25 service z/z
run ip link set kube-lb0 up
run $K vip show 192.0.2.78
$K vip show 192.0.2.78 | grep -q "^192.0.2.78/24 dev kube-lb0 mode virtual fib-missing$" || fail "replace not rolled back"
run $K vip replace 192.0.2.78/24 || fail "heal"
run $K vip del 192.0.2.78 || fail del
heal_all
[ "$($K vip show | grep -c fib-missing)" = 0 ] || fail "still fib-missing"

echo "== replace changes prefix: aggregate moves"
run $K vip replace 203.0.113.7/24 service a/b || fail replace2
run ip route show proto 95

echo "== monitor"
$K monitor > /tmp/mon.txt & MP=$!
$K -j monitor > /tmp/monj.txt & MJ=$!
sleep 1
$K vip add 192.0.2.50/24 service x/y
$K vip replace 192.0.2.50/25 mode local link eth9
$K vip del 192.0.2.50
sleep 1
kill $MP $MJ; wait $MP $MJ 2>/dev/null
run cat /tmp/mon.txt
run cat /tmp/monj.txt
[ "$(wc -l < /tmp/mon.txt)" = 3 ] || fail "monitor: expected 3 events"

echo "== del"
run $K vip del 192.0.2.10 || fail del
run ip route show table all proto 95
ip route show proto 95 | grep -q '^192.0.2.0/24' || fail "shared aggregate removed too early"
run $K vip del 192.0.2.11 dev kube-lb0 || fail del
ip route show proto 95 | grep -q '^192.0.2.0/24' && fail "aggregate not removed"
run $K vip show

echo "== batch errors"
printf 'vip add 10.9.0.1\n# comment\n\nvip add 10.9.0.2 bogus\nvip add 10.9.0.3\n' > /tmp/b1
expect_err "/tmp/b1:4: kubelbctl: bogus: unknown keyword" $K -b /tmp/b1
$K vip show 10.9.0.1 >/dev/null || fail "line before the error not executed"
$K vip show 10.9.0.3 >/dev/null 2>&1 && fail "line after the error executed"
printf 'vip add 10.9.0.4\nvip add 10.9.0.1\nvip add 10.9.0.5\n' > /tmp/b2
expect_err "/tmp/b2:2: kubelbctl: 10.9.0.1: VIP already exists" $K -b /tmp/b2
printf 'vip del 10.9.0.1\nvip del 10.9.0.4\nvip del 10.9.0.5\n' | $K -b - || fail "batch stdin"

echo "== flush"
run $K vip flush || fail flush
run $K vip show
[ -z "$(ip route show table all proto 95)$(ip -6 route show table all proto 95)" ] || fail "routes left after flush"

echo "== batch of $N"
python3 - "$N" > /tmp/add.txt <<'PY'
import sys
n = int(sys.argv[1])
for i in range(n):
    print("vip add 10.%d.%d.%d/24" % (i >> 16, (i >> 8) & 255, i & 255))
PY
sed 's/^vip add \([0-9.]*\)\/24/vip del \1/' /tmp/add.txt > /tmp/del.txt
s=$(date +%s.%N); $K -b /tmp/add.txt || fail "batch add"; e=$(date +%s.%N)
echo "TIMING batch add $N: $(echo "$e - $s" | bc) s"
s=$(date +%s.%N); c=$($K vip show | wc -l); e=$(date +%s.%N)
echo "TIMING vip show ($c lines): $(echo "$e - $s" | bc) s"
[ "$c" = "$N" ] || fail "show count $c"
$K vip show | grep -c fib-missing && fail "fib-missing after batch"
s=$(date +%s.%N); $K -j vip show > /dev/null || fail "json show"; e=$(date +%s.%N)
echo "TIMING vip show -j: $(echo "$e - $s" | bc) s"
echo "routes: $(ip route show table all proto 95 | wc -l)"
s=$(date +%s.%N); $K -b /tmp/del.txt || fail "batch del"; e=$(date +%s.%N)
echo "TIMING batch del $N: $(echo "$e - $s" | bc) s"
echo "routes left: $(ip route show table all proto 95 | wc -l)"
$K -b /tmp/add.txt || fail "batch add 2"
s=$(date +%s.%N); $K vip flush || fail "flush"; e=$(date +%s.%N)
echo "TIMING flush $N: $(echo "$e - $s" | bc) s"
echo "routes left: $(ip route show table all proto 95 | wc -l)"
echo "SMOKE OK"
