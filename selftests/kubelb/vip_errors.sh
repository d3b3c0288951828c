#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Every rejection path through kubelbctl: exit 1 and one stderr line
# "kubelbctl: ..." that quotes the kernel's extack text or, where kubelbctl
# checks the argument itself first (link, mode local, service), names the
# argument and the problem in its own documented words (the kernel's texts
# for those are checked exactly by genl_raw.sh); and after each rejection
# the kernel table and the FIB still agree (nothing half-added).

source "$(dirname "$0")/lib.sh"
require_base

ns_create NS
ns_add_kubelb "$NS" kube-lb0
ns_add_kubelb "$NS" klb1
ns_add_dummy "$NS" d0

P=/sys/module/kubelb/parameters/max_vips

check "setup: add 10.0.0.1" klb "$NS" vip add 10.0.0.1
check "setup: add 2001:db8::1" klb "$NS" vip add 2001:db8::1

# --- kernel rejections (extack text) -----------------------------------------
check_klb_fails "duplicate IPv4 VIP" "VIP already exists" "$NS" vip add 10.0.0.1
check_klb_fails "duplicate IPv6 VIP" "VIP already exists" "$NS" vip add 2001:db8::1
check_klb_fails "duplicate on another device (address is per namespace)" \
	"VIP already exists" "$NS" vip add 10.0.0.1 dev klb1
check_klb_fails "IPv4 prefix out of range" "prefix length.*out of range for IPv4 \(0-32\)" \
	"$NS" vip add 10.0.0.5/33
check_klb_fails "IPv6 prefix out of range" "prefix length.*out of range for IPv6 \(0-128\)" \
	"$NS" vip add 2001:db8::5/129
check_klb_fails "device is not kubelb (dummy)" "device is not a kubelb device" \
	"$NS" vip add 10.0.0.6 dev d0
check_klb_fails "device is not kubelb (lo)" "device is not a kubelb device" \
	"$NS" vip add 10.0.0.6 dev lo
check_klb_fails "link without mode local" '^kubelbctl: link d0: only allowed with mode local$' \
	"$NS" vip add 10.0.0.7 link d0
check_klb_fails "link with mode virtual" '^kubelbctl: link d0: only allowed with mode local$' \
	"$NS" vip add 10.0.0.7 mode virtual link d0
check_klb_fails "mode local without link" '^kubelbctl: mode local: requires link IFNAME$' \
	"$NS" vip add 10.0.0.8 mode local
check_klb_fails "service without a slash" '^kubelbctl: service noslash: must be NAMESPACE/NAME$' \
	"$NS" vip add 10.0.0.9 service noslash
check_klb_fails "service with an empty name" '^kubelbctl: service ns/: must be NAMESPACE/NAME$' \
	"$NS" vip add 10.0.0.9 service ns/
check_klb_fails "service with an empty namespace" '^kubelbctl: service /name: must be NAMESPACE/NAME$' \
	"$NS" vip add 10.0.0.9 service /name
long=$(printf 'n%.0s' $(seq 1 100))/$(printf 'x%.0s' $(seq 1 100))
# the argument is quoted up to 140 characters
check_klb_fails "service longer than KUBELB_SERVICE_MAX" \
	"^kubelbctl: service ${long:0:140}: namespace and name are at most 63 characters each\$" \
	"$NS" vip add 10.0.0.9 service "$long"
check_klb_fails "a name of 64 characters is too long" \
	'^kubelbctl: service ns/x{64}: namespace and name are at most 63 characters each$' \
	"$NS" vip add 10.0.0.9 service "ns/$(printf 'x%.0s' $(seq 1 64))"
check "a name of 63 characters is accepted" \
	klb "$NS" vip add 10.0.0.9 service "ns/$(printf 'x%.0s' $(seq 1 63))"
check "... and deleted again" klb "$NS" vip del 10.0.0.9
check_klb_fails "replace keeps the rules: link without local" '^kubelbctl: link d0: only allowed with mode local$' \
	"$NS" vip replace 10.0.0.1 link d0
check_eq "rejected replace left the VIP unchanged" "10.0.0.1/32 dev kube-lb0 mode virtual" \
	"$(klb "$NS" vip show 10.0.0.1 2>&1)"

# --- names kubelbctl resolves --------------------------------------------------
check_klb_fails "unknown device" "no such device" "$NS" vip add 10.0.0.10 dev nosuch0
check_klb_fails "unknown device on flush" "no such device" "$NS" vip flush dev nosuch0
check_klb_fails "unknown device on show" "no such device" "$NS" vip show dev nosuch0
check_klb_fails "unknown link" "nosuch1.*(no such|does not exist)" "$NS" vip add 10.0.0.11 mode local link nosuch1
check_klb_fails "flush of a non-kubelb device" "device is not a kubelb device" "$NS" vip flush dev d0

# --- argument errors name the argument -----------------------------------------
check_klb_fails "bad IPv4 address" "10\.0\.0\.300" "$NS" vip add 10.0.0.300
check_klb_fails "bad prefix syntax" "prefix length \"?abc" "$NS" vip add 10.0.0.12/abc
check_klb_fails "bad mode" "bogus" "$NS" vip add 10.0.0.13 mode bogus
check_klb_fails "missing address" "" "$NS" vip add
check_klb_fails "unknown keyword" "frob" "$NS" vip add 10.0.0.14 frob 1
check_klb_fails "del of a missing VIP" "no such VIP" "$NS" vip del 10.0.0.99

# --- limit ---------------------------------------------------------------------
old=$(cat $P)
on_exit "echo $old > $P"
n=$(klb "$NS" vip show | grep -c .)
echo $((n + 1)) >$P
check "add up to max_vips" klb "$NS" vip add 10.0.0.20
check_klb_fails "VIP limit reached" "VIP limit reached.*max_vips" "$NS" vip add 10.0.0.21
check "replace of an existing VIP is allowed at the limit" klb "$NS" vip replace 10.0.0.20/24
ns_create OTHER
ns_add_kubelb "$OTHER" kube-lb0
check "the limit counts per namespace" klb "$OTHER" vip add 10.0.0.21
check "del frees a slot" klb "$NS" vip del 10.0.0.20
check "add after del at the limit" klb "$NS" vip add 10.0.0.21
echo "$old" >$P

# --- nothing half-done: kernel table and FIB agree -----------------------------
show=$(klb "$NS" vip show 2>&1)
log "VIPs after the rejections:"
echo "$show" | log_file
check_eq "only the accepted VIPs exist" "10.0.0.1 2001:db8::1 10.0.0.21 " \
	"$(echo "$show" | awk '{ sub("/.*", "", $1); printf "%s ", $1 }')"
check_not_contains "no VIP lacks its FIB entries" "fib-missing" "$show"
loc=$( (ip -n "$NS" route show table local proto 95; ip -n "$NS" -6 route show table local proto 95) |
	awk '{print $2}' | sort | tr '\n' ' ')
check_eq "local routes exactly for the accepted VIPs" "10.0.0.1 10.0.0.21 2001:db8::1 " "$loc"

# A local route that already exists (put there by hand, the same one
# kubelb would install) is taken over: the route add's EEXIST counts as
# success (libkubelb), so the VIP is added and kernel table and FIB agree.
ip -n "$NS" route add local 10.0.0.30 dev kube-lb0 table local proto 95
check_eq "VIP over an existing identical local route: added, silently" "" \
	"$(klb "$NS" vip add 10.0.0.30 2>&1)"
check_eq "... and consistent (no fib-missing)" "10.0.0.30/32 dev kube-lb0 mode virtual" \
	"$(klb "$NS" vip show 10.0.0.30 2>&1)"
check_eq "... one local route for it" "local 10.0.0.30 dev kube-lb0 scope host" \
	"$(ip -n "$NS" route show table local proto 95 10.0.0.30 | sed 's/ *$//')"

# An aggregate route that cannot be installed (its device is down): each add
# is undone in the kernel, including a second VIP of the same batch that
# shares the aggregate, and no route of theirs stays behind.
ip -n "$NS" link add klbdown type kubelb
printf 'vip add 10.77.0.1/24 dev klbdown\nvip add 10.77.0.2/24 dev klbdown\n' >"$TMPD/down.batch"
if klb "$NS" -b "$TMPD/down.batch" 2>"$TMPD/err"; then
	fail "adds onto a down device succeeded"
else
	log "adds onto a down device: $(tr '\n' ' ' <"$TMPD/err")"
	check_eq "both adds rolled back in the kernel" "" "$(klb "$NS" vip show dev klbdown 2>&1)"
	check_eq "no route left on the down device" "" \
		"$(ip -n "$NS" route show table all proto 95 dev klbdown 2>&1)"
fi

exit_test
