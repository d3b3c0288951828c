#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# 100,000 VIPs: added with `kubelbctl -b`, all listed by `kubelbctl vip show`
# (text and -j) and by a raw dump over many recvmsg() calls; while another
# process adds and deletes other VIPs, every VIP present throughout the dump
# is listed exactly once. Prints the times taken.

source "$(dirname "$0")/lib.sh"
require_base
require_python

N=${KUBELB_DUMP_N:-100000}
CHURN=500

ns_create NS
ns_add_kubelb "$NS" kube-lb0

# N stable VIPs from 10.64.0.0, churn VIPs from 10.128.0.0
awk -v n=$N 'BEGIN { for (i = 0; i < n; i++)
	printf "vip add 10.%d.%d.%d\n", 64 + int(i / 65536), int(i / 256) % 256, i % 256 }' >"$TMPD/add"
awk -v n=$CHURN 'BEGIN { for (i = 0; i < n; i++)
	printf "vip add 10.128.%d.%d/16\n", int(i / 256), i % 256 }' >"$TMPD/churn.add"
awk -v n=$CHURN 'BEGIN { for (i = 0; i < n; i++)
	printf "vip del 10.128.%d.%d\n", int(i / 256), i % 256 }' >"$TMPD/churn.del"

start=$(now)
if klb "$NS" -b "$TMPD/add" 2>"$TMPD/add.err"; then
	pass "kubelbctl -b added $N VIPs in $(elapsed "$start") s"
else
	fail "kubelbctl -b of $N VIPs failed after $(elapsed "$start") s"
	head -n 3 "$TMPD/add.err" | log_file
	exit_test
fi

start=$(now)
klb "$NS" vip show >"$TMPD/show" 2>"$TMPD/show.err"
t=$(elapsed "$start")
check_eq "vip show lists $N lines (took $t s)" "$N" "$(wc -l <"$TMPD/show")"
check_eq "every VIP listed once" "$N" "$(awk '{print $1}' "$TMPD/show" | sort -u | wc -l)"
check_eq "no VIP flagged fib-missing" "0" "$(grep -c fib-missing "$TMPD/show")"
check_eq "first VIP first (creation order)" "10.64.0.0/32 dev kube-lb0 mode virtual" "$(head -n1 "$TMPD/show")"

# routes: one local route per VIP
n=$(ip -n "$NS" route show table local proto 95 | wc -l)
check_eq "$N local routes with proto 95" "$N" "$n"

# --- dump while another process adds and deletes VIPs ---------------------------
cat >"$TMPD/churn.sh" <<EOF
while [ ! -e "$TMPD/stop" ]; do
	"$KUBELBCTL" -b "$TMPD/churn.add" >/dev/null 2>&1
	echo add >>"$TMPD/churn.log"
	"$KUBELBCTL" -b "$TMPD/churn.del" >/dev/null 2>&1
	echo del >>"$TMPD/churn.log"
done
EOF
bg_start CH nsexec "$NS" bash "$TMPD/churn.sh"
wait_for 60 test -s "$TMPD/churn.log"

start=$(now)
klb "$NS" -j vip show >"$TMPD/dump.json" 2>"$TMPD/dump.err"
t=$(elapsed "$start")
check_py "vip show -j during churn: each of the $N VIPs exactly once (took $t s)" \
	"$TMPD/dump.json" "$N" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
n = int(sys.argv[2])
stable = [v["addr"] for v in d if not v["addr"].startswith("10.128.")]
assert len(set(stable)) == len(stable), "a VIP listed more than once"
assert len(stable) == n, "stable VIPs listed: %d of %d" % (len(stable), n)
print("churn VIPs seen in this dump:", len(d) - n)
EOF
log "$(cat "$TMPD/py.out")"
start=$(now)
out=$(genl "$NS" --dump --addr-stats 10.6 get 2>&1)
t=$(elapsed "$start")
# (a raw dump over many recvmsg() calls: genl-raw reads 64 KiB at a time)
check_match "raw dump during churn: each of the $N VIPs exactly once (took $t s)" \
	"^addr-stats: total=[0-9]+ matched=$N distinct=$N dups=0\$" "$out"
log "$out"
touch "$TMPD/stop"
wait "$CH" 2>/dev/null
log "churn rounds during the dumps: $(grep -c add "$TMPD/churn.log") adds, $(grep -c del "$TMPD/churn.log") dels of $CHURN VIPs"
[ "$(grep -c . "$TMPD/churn.log")" -ge 2 ] && pass "churn actually ran during the dumps" ||
	fail "churn did not run (cannot prove dump consistency)"

start=$(now)
check "vip flush of $N VIPs" klb "$NS" vip flush
log "flush took $(elapsed "$start") s"
check_eq "nothing left" "0" "$(klb "$NS" vip show | wc -l)"
check_eq "no routes left" "0" "$(ip -n "$NS" route show table all proto 95 | wc -l)"

exit_test
