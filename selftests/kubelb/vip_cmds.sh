#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Every kubelb netlink command through kubelbctl: add (IPv4, IPv6, /PLEN,
# mode local with a link, service), replace (keeps the creation time),
# del, show (text, -j, -s, by dev, by address), flush per device, get of a
# missing VIP, batch mode; and the FIB entries that go with each VIP.

source "$(dirname "$0")/lib.sh"
require_base
require_python

ns_create NS
ns_add_kubelb "$NS" kube-lb0
ns_add_kubelb "$NS" klb1
ns_add_dummy "$NS" d0

routes() { ip -n "$NS" "$@" route show table all proto 95 2>&1; }

# --- add -----------------------------------------------------------------------
check "vip add IPv4 (defaults: /32, dev kube-lb0, mode virtual)" klb "$NS" vip add 10.0.0.1
check "vip add IPv6 /64 on klb1 with a service" klb "$NS" vip add 2001:db8::1/64 dev klb1 service default/web
check "vip add IPv4 /24 mode local link d0" klb "$NS" vip add 10.0.0.2/24 mode local link d0
check "vip add explicit mode virtual and dev" klb "$NS" vip add 10.0.1.1/32 dev kube-lb0 mode virtual

show=$(klb "$NS" vip show 2>&1)
log "vip show:"
echo "$show" | log_file
check_contains "show: IPv4 VIP with defaults" "10.0.0.1/32 dev kube-lb0 mode virtual" "$show"
check_contains "show: IPv6 VIP with service" "2001:db8::1/64 dev klb1 mode virtual service default/web" "$show"
check_contains "show: local VIP with link" "10.0.0.2/24 dev kube-lb0 mode local link d0" "$show"
check_eq "show: one line per VIP" "4" "$(echo "$show" | grep -c .)"
check_not_contains "show: no VIP flagged fib-missing" "fib-missing" "$show"
# exact lines: nothing after the documented fields
check_match "show: exact text of the plain VIP line" '^10\.0\.0\.1/32 dev kube-lb0 mode virtual$' "$show"
check_match "show: exact text of the local VIP line" '^10\.0\.0\.2/24 dev kube-lb0 mode local link d0$' "$show"
# creation order (the dump is in creation order)
order=$(echo "$show" | awk '{print $1}' | tr '\n' ' ')
check_eq "show: VIPs listed in creation order" "10.0.0.1/32 2001:db8::1/64 10.0.0.2/24 10.0.1.1/32 " "$order"

# --- FIB entries ---------------------------------------------------------------
r4l=$(ip -n "$NS" route show table local proto 95)
r6l=$(ip -n "$NS" -6 route show table local proto 95)
r4m=$(ip -n "$NS" route show table main proto 95)
r6m=$(ip -n "$NS" -6 route show table main proto 95)
check_match "local route for 10.0.0.1" '^local 10\.0\.0\.1 dev kube-lb0' "$r4l"
check_match "local route for 10.0.0.2" '^local 10\.0\.0\.2 dev kube-lb0' "$r4l"
check_match "local route for 2001:db8::1 on klb1" '^local 2001:db8::1 dev klb1' "$r6l"
check_match "aggregate route 10.0.0.0/24 in main" '^10\.0\.0\.0/24 dev kube-lb0 .*scope link' "$r4m"
check_match "aggregate route 10.0.0.1/32 in main" '^10\.0\.0\.1 dev kube-lb0 .*scope link' "$r4m"
check_match "aggregate route 2001:db8::/64 in main" '^2001:db8::/64 dev klb1' "$r6m"

# --- show filters --------------------------------------------------------------
out=$(klb "$NS" vip show dev klb1 2>&1)
check_eq "show dev klb1 lists only klb1's VIP" "2001:db8::1/64 dev klb1 mode virtual service default/web" "$out"
out=$(klb "$NS" vip show 10.0.0.2 2>&1)
check_eq "show ADDR (get) prints that VIP" "10.0.0.2/24 dev kube-lb0 mode local link d0" "$out"
out=$(klb "$NS" vip show 2001:db8::1 2>&1)
check_eq "show IPv6 ADDR (get)" "2001:db8::1/64 dev klb1 mode virtual service default/web" "$out"
check_klb_fails "show of a missing VIP" "no such VIP" "$NS" vip show 10.9.9.9
check_klb_fails "show of a missing IPv6 VIP" "no such VIP" "$NS" vip show 2001:db8::99

# --- -s ------------------------------------------------------------------------
out=$(klb "$NS" -s vip show 2>&1)
check_match "-s: counters line under each VIP" '^    answered 0 suppressed 0 announced 0 rewritten 0$' "$out"
check_eq "-s: one counters line per VIP" "4" "$(echo "$out" | grep -c '^    answered ')"

# --- -j ------------------------------------------------------------------------
klb "$NS" -j vip show >"$TMPD/show.json" 2>&1
check_py "-j: JSON array with the documented keys and values" "$TMPD/show.json" <<'EOF'
import json, sys, time
d = json.load(open(sys.argv[1]))
assert isinstance(d, list) and len(d) == 4, "want a list of 4, got %r" % (d,)
by = {v["addr"]: v for v in d}
for k in ("addr", "prefixlen", "dev", "mode", "owner", "created", "fib_missing"):
    for v in d:
        assert k in v, "key %s missing in %r" % (k, v)
v = by["10.0.0.1"]
assert v["prefixlen"] == 32 and v["dev"] == "kube-lb0" and v["mode"] == "virtual", v
assert "link" not in v and "service" not in v, "link/service keys on a plain VIP: %r" % v
assert v["owner"] == 0 and v["fib_missing"] is False, v
assert abs(v["created"] / 1e9 - time.time()) < 3600, "created not ns since epoch: %r" % v["created"]
v = by["2001:db8::1"]
assert v["prefixlen"] == 64 and v["dev"] == "klb1" and v["service"] == "default/web", v
v = by["10.0.0.2"]
assert v["mode"] == "local" and v["link"] == "d0" and v["prefixlen"] == 24, v
assert "stats" not in v, "stats without -s: %r" % v
EOF

klb "$NS" -j -s vip show 10.0.0.1 >"$TMPD/show.json" 2>&1
check_py "-j -s: stats object for one VIP" "$TMPD/show.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
assert isinstance(d, list) and len(d) == 1, d
s = d[0]["stats"]
assert s == {"answered": 0, "suppressed": 0, "announced": 0, "rewritten": 0}, s
EOF

# an add with -j prints the VIP as the kernel now holds it
klb "$NS" -j vip add 10.0.0.7 >"$TMPD/add.json" 2>&1
check_py "-j vip add: the VIP as created, with the kernel's creation time" "$TMPD/add.json" <<'EOF'
import json, sys, time
d = json.load(open(sys.argv[1]))
assert isinstance(d, list) and len(d) == 1, d
v = d[0]
assert v["addr"] == "10.0.0.7" and v["prefixlen"] == 32 and v["dev"] == "kube-lb0", v
assert abs(v["created"] / 1e9 - time.time()) < 3600, "no creation time: %r" % v
EOF
check "... deleted again" klb "$NS" vip del 10.0.0.7

# --- replace -------------------------------------------------------------------
created() {
	klb "$NS" -j vip show "$1" | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)[0]["created"])'
}
# creation times are in nanoseconds: a re-created VIP could not keep it
c1=$(created 10.0.0.1)
check "vip replace changes prefix and service" klb "$NS" vip replace 10.0.0.1/24 service ns1/svc1
out=$(klb "$NS" vip show 10.0.0.1 2>&1)
check_eq "replaced VIP shows the new attributes" "10.0.0.1/24 dev kube-lb0 mode virtual service ns1/svc1" "$out"
c2=$(created 10.0.0.1)
check_eq "replace keeps the creation time" "$c1" "$c2"
r4m=$(ip -n "$NS" route show table main proto 95)
check_not_contains "replace removed the old /32 aggregate" "10.0.0.1 dev kube-lb0" "$r4m"
check_match "replace: /24 aggregate present" '^10\.0\.0\.0/24 dev kube-lb0' "$r4m"
check_match "replace: local route still present" '^local 10\.0\.0\.1 dev kube-lb0' \
	"$(ip -n "$NS" route show table local proto 95)"

check "vip replace to mode local with link" klb "$NS" vip replace 10.0.0.1/24 mode local link d0
check_eq "replace to local" "10.0.0.1/24 dev kube-lb0 mode local link d0" "$(klb "$NS" vip show 10.0.0.1 2>&1)"
check "vip replace back to virtual" klb "$NS" vip replace 10.0.0.1/24
check_eq "replace back to virtual drops link and service" "10.0.0.1/24 dev kube-lb0 mode virtual" \
	"$(klb "$NS" vip show 10.0.0.1 2>&1)"
check "vip replace of a missing VIP creates it" klb "$NS" vip replace 10.0.2.1
check_eq "replace-created VIP" "10.0.2.1/32 dev kube-lb0 mode virtual" "$(klb "$NS" vip show 10.0.2.1 2>&1)"
# replace with another dev: the kernel refuses it (a VIP never moves
# between devices; del and add it) and nothing changes
check_klb_fails "replace onto another device is refused" \
	'^kubelbctl: 10\.0\.2\.1: VIP belongs to another device$' "$NS" vip replace 10.0.2.1 dev klb1
check_eq "refused replace left the VIP on kube-lb0" "10.0.2.1/32 dev kube-lb0 mode virtual" \
	"$(klb "$NS" vip show 10.0.2.1 2>&1)"
check_eq "and its local route" "local 10.0.2.1 dev kube-lb0 scope host" \
	"$(ip -n "$NS" route show table local proto 95 10.0.2.1 | sed 's/ *$//')"
check_not_contains "no fib-missing after replaces" "fib-missing" "$(klb "$NS" vip show 2>&1)"

# --- shared aggregate: removed with the last VIP that uses it ------------------
# 10.0.0.1/24 and 10.0.0.2/24 share 10.0.0.0/24
check "vip del 10.0.0.1" klb "$NS" vip del 10.0.0.1
check_match "aggregate kept while 10.0.0.2/24 still uses it" '^10\.0\.0\.0/24 dev kube-lb0' \
	"$(ip -n "$NS" route show table main proto 95)"
check_not_contains "local route of the deleted VIP gone" "local 10.0.0.1 " \
	"$(ip -n "$NS" route show table local proto 95)"
check "vip del 10.0.0.2 dev kube-lb0" klb "$NS" vip del 10.0.0.2 dev kube-lb0
check_not_contains "aggregate removed with its last VIP" "10.0.0.0/24" \
	"$(ip -n "$NS" route show table main proto 95)"

# --- del -----------------------------------------------------------------------
check_klb_fails "del of a deleted VIP" "no such VIP" "$NS" vip del 10.0.0.1
check_klb_fails "del with the wrong dev" "VIP belongs to another device" "$NS" vip del 2001:db8::1 dev kube-lb0
check "VIP survives a del with the wrong dev" klb "$NS" vip show 2001:db8::1
check "del IPv6 without dev finds it on klb1" klb "$NS" vip del 2001:db8::1
check_klb_fails "deleted IPv6 VIP is gone" "no such VIP" "$NS" vip show 2001:db8::1
check_eq "no IPv6 proto 95 routes left" "" "$(ip -n "$NS" -6 route show table all proto 95)"

# --- flush per device ----------------------------------------------------------
klb "$NS" vip flush dev klb1
klb "$NS" vip flush
cat >"$TMPD/batch" <<'EOF'
# a comment line, then blank line

vip add 10.1.0.1 dev kube-lb0
vip add 10.1.0.2/28
vip add 2001:db8:1::1/120
vip add 10.2.0.1 dev klb1
vip add 10.2.0.2 dev klb1
vip add 2001:db8:2::1 dev klb1
EOF
check "kubelbctl -b FILE with comments" klb "$NS" -b "$TMPD/batch"
check_eq "batch added 6 VIPs" "6" "$(klb "$NS" vip show | grep -c .)"
check "kubelbctl -b - (stdin)" klb "$NS" -b - <<<"vip add 10.3.0.1"
check "stdin batch VIP present" klb "$NS" vip show 10.3.0.1

check "vip flush dev klb1" klb "$NS" vip flush dev klb1
out=$(klb "$NS" vip show 2>&1)
check_not_contains "flush dev klb1 removed klb1's VIPs" "dev klb1" "$out"
check_eq "flush dev klb1 kept kube-lb0's VIPs" "4" "$(echo "$out" | grep -c 'dev kube-lb0')"
check_eq "flush dev klb1 removed its routes" "" "$(routes | grep 'dev klb1')"
check "vip flush (default dev kube-lb0)" klb "$NS" vip flush
check_eq "nothing left after flush" "" "$(klb "$NS" vip show 2>&1)"
check_eq "no proto 95 routes left (v4)" "" "$(ip -n "$NS" route show table all proto 95)"
check_eq "no proto 95 routes left (v6)" "" "$(ip -n "$NS" -6 route show table all proto 95)"
check "flush of an empty device succeeds" klb "$NS" vip flush dev klb1
check_eq "-j show of nothing is an empty array" "[]" "$(klb "$NS" -j vip show | tr -d ' \n')"

# --- batch errors: FILE:LINE: prefix, stops at the first error -----------------
cat >"$TMPD/bad" <<'EOF'
vip add 10.4.0.1
vip add 10.4.0.1
vip add 10.4.0.2
EOF
klb "$NS" -b "$TMPD/bad" >"$TMPD/b.out" 2>"$TMPD/b.err"
rc=$?
check_eq "batch with a duplicate exits 1" 1 "$rc"
check_match "batch error names FILE:LINE" "^(kubelbctl: )?$TMPD/bad:2: .*VIP already exists" "$(cat "$TMPD/b.err")"
check "batch kept what came before the error" klb "$NS" vip show 10.4.0.1
check_eq "batch reports exactly one error" "1" "$(grep -c . "$TMPD/b.err")"
# "stops at the first error, after finishing what was already sent": a
# line that was sent with the failing one may have been applied; a line
# far behind it must not be.
{ echo "vip add 10.5.0.1"; echo "vip add 10.5.0.1"
  for i in $(seq 1 3000); do echo "vip add 10.6.$((i / 256)).$((i % 256))"; done
  echo "vip add 10.7.0.1"; } >"$TMPD/bad2"
klb "$NS" -b "$TMPD/bad2" >/dev/null 2>"$TMPD/b.err"
check_match "long batch: error at line 2" ":2: .*VIP already exists" "$(cat "$TMPD/b.err")"
check_klb_fails "long batch stopped at the first error (last line not applied)" "no such VIP" "$NS" vip show 10.7.0.1
log "lines applied after the failing one: $(klb "$NS" vip show | grep -c '^10\.6\.')"

# --- help ----------------------------------------------------------------------
out=$(klb "$NS" help 2>&1)
check_contains "help documents vip add" "vip add ADDR[/PLEN]" "$out"
check_klb_fails "unknown command" '^kubelbctl: vip frobnicate: unknown subcommand \(add, replace, del, show, flush, announce\)$' "$NS" vip frobnicate

exit_test
