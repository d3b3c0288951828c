#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Raw generic netlink requests with wrong attributes, built by
# tools/genl-raw.py: every rejection must carry the right errno and an
# extack message naming the problem; strict validation rejects unknown
# attributes; modifying commands need CAP_NET_ADMIN over the namespace.

source "$(dirname "$0")/lib.sh"
require_root
require_cmd ip
require_kubelb
require_python

ns_create NS
ns_add_kubelb "$NS" kube-lb0
ns_add_kubelb "$NS" klb1
ns_add_dummy "$NS" d0
IDX=$(ifindex "$NS" kube-lb0)
IDX1=$(ifindex "$NS" klb1)
D0=$(ifindex "$NS" d0)
genl_server_start "$NS"

V4="family=u16:2 addr=ip:10.0.0.1"
V6="family=u16:10 addr=ip:2001:db8::1"

# raw_expect DESC ERRNO MSG ARGS...: the request must fail with ERRNO (an
# ERE such as EINVAL or "EINVAL|ENODEV"; "" = any errno) and carry the
# extack message MSG (exact; "" = any non-empty message).
raw_expect() {
	local desc=$1 want_err=$2 want_msg=$3 out err msg
	shift 3
	out=$(genl "$NS" "$@" 2>&1)
	err=$(echo "$out" | sed -n 's/^error: -[0-9]* //p')
	msg=$(echo "$out" | sed -n 's/^extack: //p')
	if [ -z "$err" ] || ! [[ $err =~ ^(${want_err:-.*})$ ]]; then
		fail "$desc: want ${want_err:-an error}, got '${err:-success}'"
		echo "$out" | log_file
	elif [ -n "$want_msg" ] && [ "$msg" != "$want_msg" ]; then
		fail "$desc: extack '$msg', want '$want_msg'"
	elif [ -z "$msg" ]; then
		fail "$desc: $err without an extack message"
	else
		pass "$desc ($err: $msg)"
	fi
}

raw_ok() {
	local desc=$1 out
	shift
	if out=$(genl "$NS" "$@" 2>&1); then
		pass "$desc"
	else
		fail "$desc"
		echo "$out" | log_file
	fi
}

# --- the family ----------------------------------------------------------------
out=$(genl "$NS" --dump get 2>&1)
if echo "$out" | grep -q "family 'kubelb' not found"; then
	fail "generic netlink family kubelb not registered"
	exit_test
fi
check_eq "empty dump" "ok" "$out"

# --- NEW: success, reply contents ----------------------------------------------
out=$(genl "$NS" new ifindex=u32:$IDX $V4 prefixlen=u8:24 service=str:ns/svc 2>&1)
log "new reply: $(echo "$out" | head -n1)"
check_match "NEW replies with the VIP" "^reply: cmd=2 .*addr=10\.0\.0\.1" "$out"
check_match "NEW reply carries AGGR_REFS=1 (install the aggregate)" "^reply: .*aggr_refs=1" "$out"
check_match "NEW reply carries the creation time" "^reply: .*created=[1-9][0-9]{17,}" "$out"
check_match "NEW acked" "^ok$" "$out"
out=$(genl "$NS" new ifindex=u32:$IDX family=u16:2 addr=ip:10.0.0.2 prefixlen=u8:24 2>&1)
check_match "second VIP in the same /24: AGGR_REFS=2" "^reply: .*aggr_refs=2" "$out"
out=$(genl "$NS" new ifindex=u32:$IDX family=u16:2 addr=ip:10.0.0.3 prefixlen=u8:24 quiet=hex: 2>&1)
check_eq "NEW with QUIET: acked, no reply" "ok" "$out"
out=$(genl "$NS" get family=u16:2 addr=ip:10.0.0.3 2>&1)
check_match "... and the VIP was created, sharing the aggregate" "^reply: cmd=1 .*addr=10\.0\.0\.3 .*aggr_refs=3" "$out"
raw_expect "NEW with QUIET of an existing VIP: the failure is answered" EEXIST "" \
	new ifindex=u32:$IDX family=u16:2 addr=ip:10.0.0.3 quiet=hex:
raw_expect "QUIET on DEL" EINVAL "KUBELB_A_QUIET is not valid for KUBELB_CMD_VIP_DEL" \
	del family=u16:2 addr=ip:10.0.0.3 quiet=hex:
raw_ok "DEL of the quiet one" del family=u16:2 addr=ip:10.0.0.3

# --- address / family ----------------------------------------------------------
raw_expect "IPv4 family with a 3-byte address" EINVAL "address length does not match family" \
	new ifindex=u32:$IDX family=u16:2 addr=hex:0a0000
raw_expect "IPv4 family with a 16-byte address" EINVAL "address length does not match family" \
	new ifindex=u32:$IDX family=u16:2 addr=ip:2001:db8::7
raw_expect "IPv6 family with a 4-byte address" EINVAL "address length does not match family" \
	new ifindex=u32:$IDX family=u16:10 addr=ip:10.0.0.7
raw_expect "empty address" EINVAL "" new ifindex=u32:$IDX family=u16:2 addr=hex:
raw_expect "unknown address family" "" "unsupported address family" \
	new ifindex=u32:$IDX family=u16:7 addr=ip:10.0.0.7
raw_expect "AF_UNSPEC" "" "unsupported address family" \
	new ifindex=u32:$IDX family=u16:0 addr=ip:10.0.0.7
raw_expect "IPv4 prefix 33" EINVAL "prefix length out of range for IPv4 (0-32)" \
	new ifindex=u32:$IDX $V4 prefixlen=u8:33
raw_expect "IPv6 prefix 129" EINVAL "prefix length out of range for IPv6 (0-128)" \
	new ifindex=u32:$IDX family=u16:10 addr=ip:2001:db8::7 prefixlen=u8:129

# --- missing attributes ----------------------------------------------------------
raw_expect "NEW without address" EINVAL "missing attribute: address (KUBELB_A_ADDR)" \
	new ifindex=u32:$IDX family=u16:2
out=$(genl "$NS" new ifindex=u32:$IDX family=u16:2 2>&1)
check_match "missing address is also reported as NLMSGERR_ATTR_MISS_TYPE=4" "^miss-type: 4$" "$out"
raw_expect "NEW without family" EINVAL "" new ifindex=u32:$IDX addr=ip:10.0.0.7
out=$(genl "$NS" new ifindex=u32:$IDX addr=ip:10.0.0.7 2>&1)
check_match "missing family: extack names it" "^extack: missing attribute: .*KUBELB_A_FAMILY" "$out"
raw_expect "NEW without ifindex" EINVAL "" new $V4
out=$(genl "$NS" new $V4 2>&1)
check_match "missing ifindex: extack names it" "^extack: missing attribute: .*KUBELB_A_IFINDEX" "$out"
check_match "missing ifindex: MISS_TYPE=2" "^miss-type: 2$" "$out"
raw_expect "GET without address" EINVAL "" get family=u16:2
raw_expect "DEL without family" EINVAL "" del addr=ip:10.0.0.1
raw_expect "FLUSH without ifindex" EINVAL "" flush

# --- strict validation ---------------------------------------------------------
raw_expect "unknown attribute type (strict)" EINVAL "Unknown attribute type" \
	new ifindex=u32:$IDX $V4 99=u32:1
raw_expect "attribute 0 (strict)" EINVAL "" new ifindex=u32:$IDX $V4 0=u32:1
raw_expect "u32 attribute with 2 bytes" EINVAL "" new ifindex=u16:$IDX $V4
raw_expect "u16 family with 4 bytes" EINVAL "" new ifindex=u32:$IDX family=u32:2 addr=ip:10.0.0.7
raw_expect "NLA_F_NESTED on a u32" EINVAL "" new ifindex+N=u32:$IDX $V4
raw_expect "unknown flag bit" "" "" new ifindex=u32:$IDX family=u16:2 addr=ip:10.0.0.8 flags=u32:1
raw_expect "high flag bit" "" "" new ifindex=u32:$IDX family=u16:2 addr=ip:10.0.0.8 flags=u32:0x80000000
raw_expect "mode out of range" EINVAL "" new ifindex=u32:$IDX family=u16:2 addr=ip:10.0.0.8 mode=u8:2
raw_expect "service too long" "" "" new ifindex=u32:$IDX family=u16:2 addr=ip:10.0.0.8 \
	"service=str:$(printf 'a%.0s' $(seq 1 64))/$(printf 'b%.0s' $(seq 1 70))"
raw_expect "service without a slash" EINVAL "service must be namespace/name" \
	new ifindex=u32:$IDX family=u16:2 addr=ip:10.0.0.8 service=str:noslash
# no extack from the genl core for these two: check the errno only
out=$(genl "$NS" change ifindex=u32:$IDX $V4 2>&1)
check_match "CHANGE is a notification, refused as a request" "^error: -95 EOPNOTSUPP" "$out"
out=$(genl "$NS" --dump flush ifindex=u32:$IDX 2>&1)
check_match "FLUSH has no dump" "^error: -95 EOPNOTSUPP" "$out"
check_match "the rejected requests added nothing (10.0.0.8 absent)" "^error: -2 ENOENT" \
	"$(genl "$NS" get family=u16:2 addr=ip:10.0.0.8 2>&1)"

# --- devices and links ---------------------------------------------------------
raw_expect "unknown ifindex" "" "no such device" new ifindex=u32:999999 family=u16:2 addr=ip:10.0.0.9
raw_expect "ifindex of a dummy" "" "device is not a kubelb device" \
	new ifindex=u32:$D0 family=u16:2 addr=ip:10.0.0.9
raw_expect "link without mode local" EINVAL "link is only allowed with mode local" \
	new ifindex=u32:$IDX family=u16:2 addr=ip:10.0.0.9 link=u32:$D0
raw_expect "link with explicit mode virtual" EINVAL "link is only allowed with mode local" \
	new ifindex=u32:$IDX family=u16:2 addr=ip:10.0.0.9 mode=u8:0 link=u32:$D0
raw_expect "mode local without link" EINVAL "mode local requires a link" \
	new ifindex=u32:$IDX family=u16:2 addr=ip:10.0.0.9 mode=u8:1
raw_expect "mode local with an unknown link" "" "no such link" \
	new ifindex=u32:$IDX family=u16:2 addr=ip:10.0.0.9 mode=u8:1 link=u32:999999
raw_ok "mode local with a link" new ifindex=u32:$IDX family=u16:2 addr=ip:10.0.0.9 mode=u8:1 link=u32:$D0
raw_expect "FLUSH of a non-kubelb device" "" "device is not a kubelb device" flush ifindex=u32:$D0

# --- duplicate, replace, get, del -------------------------------------------------
raw_expect "duplicate" EEXIST "VIP already exists" new ifindex=u32:$IDX $V4
raw_expect "duplicate on another device" EEXIST "VIP already exists" new ifindex=u32:$IDX1 $V4
out=$(genl "$NS" --replace new ifindex=u32:$IDX $V4 prefixlen=u8:16 2>&1)
if echo "$out" | grep -q '^ok$'; then
	pass "NLM_F_REPLACE replaces"
else
	fail "NLM_F_REPLACE on NEW refused"
	echo "$out" | log_file
fi
check_match "replace reply carries PREV with the old prefix" "prev=\([^)]*prefixlen=24" "$out"
# 10.0.0.0/24 was shared with 10.0.0.2: one user left after the replace
check_match "replace reply: PREV's aggregate has AGGR_REFS=1 left" "prev=\([^)]*aggr_refs=1" "$out"
outer=$(echo "$out" | grep '^reply:' | sed 's/prev=([^)]*)//')
check_match "replace reply: the VIP as now held, /16" "prefixlen=16" "$outer"
check_match "replace reply: new /16 aggregate AGGR_REFS=1" "aggr_refs=1" "$outer"
out=$(genl "$NS" get $V4 2>&1)
check_match "GET shows the replaced VIP" "^reply: cmd=1 .*addr=10\.0\.0\.1 .*prefixlen=16" "$out"
check_not_contains "replace sets every attribute: service dropped" "service=" "$out"
raw_expect "GET of a missing VIP" ENOENT "no such VIP" get family=u16:2 addr=ip:10.9.9.9
raw_expect "GET of a missing IPv6 VIP" ENOENT "no such VIP" get $V6
raw_expect "DEL of a missing VIP" ENOENT "no such VIP" del family=u16:2 addr=ip:10.9.9.9
raw_expect "DEL with another device's ifindex" "" "VIP belongs to another device" \
	del ifindex=u32:$IDX1 $V4
out=$(genl "$NS" del $V4 2>&1)
check_match "DEL replies with the deleted VIP and AGGR_REFS=0" "^reply: cmd=3 .*addr=10\.0\.0\.1.*aggr_refs=0" "$out"
raw_ok "v6 NEW" new ifindex=u32:$IDX $V6
out=$(genl "$NS" get $V6 2>&1)
check_match "GET v6: prefixlen defaults to 128" "^reply: cmd=1 .*addr=2001:db8::1 .*prefixlen=128" "$out"
out=$(genl "$NS" --dump get family=u16:10 2>&1)
check_eq "dump filtered by family returns only IPv6" "1" "$(echo "$out" | grep -c '^reply:')"
out=$(genl "$NS" --dump get ifindex=u32:$IDX1 2>&1)
check_eq "dump filtered by another device returns nothing" "0" "$(echo "$out" | grep -c '^reply:')"
raw_ok "FLUSH kube-lb0" flush ifindex=u32:$IDX
out=$(genl "$NS" --dump get 2>&1)
check_eq "nothing left after FLUSH" "ok" "$out"

# --- CAP_NET_ADMIN ---------------------------------------------------------------
# setpriv (util-linux) and unprivileged user namespaces exist wherever the
# selftests run (tools/vm-run's VMs): without them these checks fail.
if ! command -v setpriv >/dev/null; then
	fail "setpriv not installed (util-linux): cannot check CAP_NET_ADMIN"
	exit_test
fi
nobody="setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all"
out=$(nsexec "$NS" $nobody "$PYTHON" "$GENL_RAW" new ifindex=u32:$IDX $V4 2>&1)
check_match "NEW without CAP_NET_ADMIN: EPERM" "^error: -1 EPERM" "$out"
out=$(nsexec "$NS" $nobody "$PYTHON" "$GENL_RAW" flush ifindex=u32:$IDX 2>&1)
check_match "FLUSH without CAP_NET_ADMIN: EPERM" "^error: -1 EPERM" "$out"
out=$(nsexec "$NS" $nobody "$PYTHON" "$GENL_RAW" del $V4 2>&1)
check_match "DEL without CAP_NET_ADMIN: EPERM" "^error: -1 EPERM" "$out"
out=$(nsexec "$NS" $nobody "$PYTHON" "$GENL_RAW" --dump get 2>&1)
check_eq "dump without CAP_NET_ADMIN is allowed" "ok" "$out"
genl "$NS" new ifindex=u32:$IDX $V4 >/dev/null
# CAP_NET_ADMIN in an own user namespace is not CAP_NET_ADMIN over this one
out=$(nsexec "$NS" $nobody unshare -Ur "$PYTHON" "$GENL_RAW" del $V4 2>&1)
check_match "root of a child user namespace cannot DEL here (unprivileged user namespaces available)" \
	"^error: -1 EPERM" "$out"
check_match "VIP still there" "^reply: cmd=1" "$(genl "$NS" get $V4 2>&1)"

exit_test
