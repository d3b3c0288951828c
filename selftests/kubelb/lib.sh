# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# lib.sh - helpers shared by the kubelb selftests. Source it, don't run it.
#
# One way to do each thing:
#   require_*          skip (exit 4) when a prerequisite is missing
#   ns_create VAR      a fresh network namespace, deleted by the EXIT trap
#   ns_add_kubelb NS [DEV]   a kubelb device (default kube-lb0), up
#   ns_add_dummy NS DEV      a dummy device, up
#   veth_pair NS1 IF1 NS2 IF2
#   lan_setup          client, node1, node2 on a bridged LAN: NS_LAN NS_CLIENT
#                      NS_NODE1 NS_NODE2, MAC_* (addresses: see lan_setup)
#   nsexec NS CMD...   CMD in namespace NS ("-" = the current one)
#   klb NS ARGS...     kubelbctl in namespace NS
#   genl NS ARGS...    tools/genl-raw.py in namespace NS
#   genl_server_start NS               faster genl for many requests
#   check DESC CMD...  pass when CMD exits 0
#   check_eq / check_match / check_contains / check_not_contains
#   check_fails_with DESC MSG CMD...   CMD must fail and print MSG on stderr
#   check_klb_fails DESC ERE NS ARGS... kubelbctl must fail the documented way
#   check_py DESC ARGS... <<'EOF'       python3 script with asserts
#   wait_for SECONDS CMD...            poll until CMD succeeds
#   vip_mon_start NAME NS              `kubelbctl monitor` in NS, subscribed
#   vip_mon_mark NAME; announce_done NAME ADDR...   each ADDR's announcement
#                                      burst ended since the mark (its kernel
#                                      event: no polling that loads the VM)
#   on_exit CMD...     run CMD (a string, eval'ed) in the EXIT trap
#   bg_start VAR CMD...                background job killed by the trap
#   capture_start VAR NS DEV [FILTER]  tcpdump into $TMPD/VAR.pcap, until
#   capture_stop VAR; capture_read VAR [ARGS] prints it (-n -e -tt)
#   now / elapsed START                wall-clock timing (seconds, 3 decimals)
#   klb_batch NS LINE...               kubelbctl -b with these lines
#   announce_times VIP MAC PKTS [SINCE] timestamps of VIP's announcements by
#                      MAC in tcpdump text PKTS (capture_read CAP -v)
#   gaps_ms TIMESTAMP...               the gaps between them, in ms
#   client_lladdr IP / lladdr_is IP MAC    the client's neighbour entry
#   module_restore_on_exit             reload kubelb.ko as it was, on exit
# Every test ends with `exit_test`. Diagnostics are printed as "# ..." lines.
#
# The EXIT trap also fails the test if the kernel log gained an oops, a
# warning, a KASAN/UBSAN/lockdep/kmemleak report or a refcount-leak message
# while it ran.

KSFT_PASS=0
KSFT_FAIL=1
KSFT_SKIP=4

KLB_SELFTEST_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KLB_ROOT=$(cd "$KLB_SELFTEST_DIR/../.." && pwd)
KUBELBCTL=${KUBELBCTL:-$KLB_ROOT/userspace/kubelbctl}
# The module file: $KUBELB_KO, else the copy tools/vm-run loaded, else the build.
if [ -z "${KUBELB_KO:-}" ]; then
	KUBELB_KO=$KLB_ROOT/kmod/kubelb.ko
	[ -f /run/vm-run/kubelb.ko ] && KUBELB_KO=/run/vm-run/kubelb.ko
fi
PYTHON=${PYTHON:-/usr/bin/python3}
GENL_RAW=$KLB_ROOT/tools/genl-raw.py
# KLOG_REPORTS: what a kernel log must not gain while a test runs
source "$KLB_ROOT/tools/kernel-log.sh"
TEST_NAME=$(basename "$0" .sh)
RET=$KSFT_PASS

_KLB_NS=()
_KLB_BG=()
_KLB_ON_EXIT=()
_KLB_NS_SEQ=0
_KLB_MARK="kubelb-selftest: start $TEST_NAME pid $$ $RANDOM"
TMPD=$(mktemp -d "/tmp/kubelb-$TEST_NAME.XXXXXX")

export LC_ALL=C

log()  { printf '# %s\n' "$*"; }
pass() { log "PASS: $*"; }
fail() { log "FAIL: $*"; RET=$KSFT_FAIL; }
skip() { log "SKIP: $*"; exit $KSFT_SKIP; }

# Print a file (or stdin) as diagnostics.
log_file() { sed 's/^/#   /' "${1:--}"; }

# Microseconds since the epoch, without forking (process creation is slow
# under TCG: every fork+exec avoided counts).
_usec() { local t=${EPOCHREALTIME/./}; echo $((10#$t)); }
now() { _usec; }
# elapsed START: seconds since START (from now), 3 decimals
elapsed() {
	local d=$(($(_usec) - $1))
	printf '%d.%03d' $((d / 1000000)) $((d % 1000000 / 1000))
}

# usec TIMESTAMP: a tcpdump or $EPOCHREALTIME timestamp in microseconds
usec() { local t=${1/./}; echo $((10#$t)); }

# --- kubelbctl, announcements, the client's neighbours --------------------------

# klb_batch NS LINE...: kubelbctl -b with these lines
klb_batch() {
	local ns=$1
	shift
	printf '%s\n' "$@" | klb "$ns" -b -
}

# announce_times VIP MAC PKTS [SINCE]: the timestamps (space separated) of
# the announcements of VIP sent by MAC, at or after $EPOCHREALTIME SINCE:
# gratuitous ARPs (a request, sender = target = VIP, broadcast) or
# unsolicited NAs (to ff02::1, override, MAC as target link-layer address)
announce_times() {
	local vip=$1 mac=$2 since=${4:-0} line re out=''
	if [[ $vip == *:* ]]; then
		re="^([0-9]+\.[0-9]+) $mac > 33:33:00:00:00:01, .*> ff02::1: .*neighbor advertisement, length [0-9]+, tgt is $vip, Flags \[override\].*destination link-address option \(2\), length 8 \(1\): $mac"
	else
		re="^([0-9]+\.[0-9]+) $mac > ff:ff:ff:ff:ff:ff, ethertype ARP .*Request who-has ${vip//./\\.}( \([0-9a-f:]+\))? tell ${vip//./\\.},"
	fi
	since=$(usec "$since")
	while IFS= read -r line; do
		[[ $line =~ $re ]] && [ "$(usec "${BASH_REMATCH[1]}")" -ge "$since" ] &&
			out+="${out:+ }${BASH_REMATCH[1]}"
	done <<<"$3"
	echo "$out"
}

# gaps_ms TIMESTAMP...: the gaps between consecutive timestamps, in ms
gaps_ms() {
	local prev='' t out=''
	for t in "$@"; do
		t=$(usec "$t")
		[ -n "$prev" ] && out+="${out:+ }$(((t - prev) / 1000))"
		prev=$t
	done
	echo "$out"
}

# client_lladdr IP: the MAC of the client's neighbour entry for IP (on its
# eth0, lan_setup's client)
client_lladdr() {
	local out
	out=$(ip -n "$NS_CLIENT" neigh show "$1" dev eth0)
	[[ $out =~ lladdr\ ([0-9a-f:]+) ]] && echo "${BASH_REMATCH[1]}"
}
lladdr_is() { [ "$(client_lladdr "$1")" = "$2" ]; }

# module_restore_on_exit: for a test that unloads or reloads kubelb: on
# exit, load it again with the ifname and max_vips it has now, as the tests
# that follow expect it.
module_restore_on_exit() {
	local p=/sys/module/kubelb/parameters
	_KLB_IFNAME0=$(cat $p/ifname)
	_KLB_MAX0=$(cat $p/max_vips)
	on_exit _klb_module_restore
}
_klb_module_restore() {
	local p=/sys/module/kubelb/parameters
	if [ ! -d /sys/module/kubelb ] ||
	   [ "$(cat $p/ifname 2>/dev/null)" != "$_KLB_IFNAME0" ]; then
		rmmod kubelb 2>/dev/null
		insmod "$KUBELB_KO" ifname="$_KLB_IFNAME0" max_vips="$_KLB_MAX0" ||
			log "FAIL: could not reload $KUBELB_KO"
	fi
	echo "$_KLB_MAX0" >$p/max_vips 2>/dev/null
}

# --- prerequisites -----------------------------------------------------------

require_root() {
	[ "$(id -u)" -eq 0 ] || skip "must run as root"
}

require_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip "$c not found"
	done
}

require_kubelb() {
	[ -d /sys/module/kubelb ] || skip "kubelb module not loaded"
}

require_kubelbctl() {
	[ -x "$KUBELBCTL" ] || skip "$KUBELBCTL not built"
}

require_python() {
	[ -x "$PYTHON" ] || skip "$PYTHON not found"
}

require_ko() {
	[ -f "$KUBELB_KO" ] || skip "$KUBELB_KO not built"
}

# The usual prologue: root, module loaded, kubelbctl built, ip(8).
require_base() {
	require_root
	require_cmd ip
	require_kubelb
	require_kubelbctl
}

# --- namespaces and devices --------------------------------------------------

# ns_create VAR: create a namespace, store its name in VAR, bring lo up.
ns_create() {
	local var=$1 name
	_KLB_NS_SEQ=$((_KLB_NS_SEQ + 1))
	name="klb-$TEST_NAME-$$-$_KLB_NS_SEQ"
	ip netns add "$name" || { fail "ip netns add $name"; exit_test; }
	_KLB_NS+=("$name")
	ip -n "$name" link set lo up
	printf -v "$var" '%s' "$name"
}

# ns_del NS: delete a namespace now (and forget it for the trap).
ns_del() {
	local ns=$1 i
	ip netns del "$ns"
	for i in "${!_KLB_NS[@]}"; do
		[ "${_KLB_NS[$i]}" = "$ns" ] && unset '_KLB_NS[i]'
	done
}

ns_add_kubelb() {
	local ns=$1 dev=${2:-kube-lb0}
	ip -n "$ns" link add "$dev" type kubelb &&
		ip -n "$ns" link set "$dev" up
}

ns_add_dummy() {
	local ns=$1 dev=$2
	ip -n "$ns" link add "$dev" type dummy &&
		ip -n "$ns" link set "$dev" up
}

# veth_pair NS1 IF1 NS2 IF2: a veth pair, both ends up.
veth_pair() {
	ip link add "$2" netns "$1" type veth peer name "$4" netns "$3" &&
		ip -n "$1" link set "$2" up &&
		ip -n "$3" link set "$4" up
}

# lan_setup: a LAN for the ARP/NDP tests, in fresh namespaces.
# Sets NS_LAN NS_CLIENT NS_NODE1 NS_NODE2 (MAC_* are set at source time).
#
#   NS_LAN: bridge br0 with ports lan-client, lan-node1, lan-node2; bridge
#   defaults (STP off; multicast snooping on, but without a querier the
#   bridge floods NS and MLD); no IPv6 on br0 and its ports (no own traffic).
#
#   client eth0  MAC_CLIENT=02:00:00:00:00:01     10.9.0.1/24   fd00:9::1/64
#   node1  eth0  MAC_NODE1=02:00:00:00:01:00      10.9.0.11/24  fd00:9::11/64
#   node2  eth0  MAC_NODE2=02:00:00:00:02:00      10.9.0.12/24  fd00:9::12/64
#   a second segment, a direct veth node1 eth1 <-> client eth1:
#   node1  eth1  MAC_NODE1_ETH1=02:00:00:00:01:01 10.9.1.11/24  fd00:9:1::11/64
#   client eth1  MAC_CLIENT1=02:00:00:00:00:02    10.9.1.1/24   fd00:9:1::1/64
#
# IPv6 addresses are added nodad, the link-local ones too (the usual EUI-64
# addresses, e.g. fe80::ff:fe00:1 for 02:00:00:00:00:01, added by hand with
# addrgenmode none): nothing is tentative when lan_setup returns.
# Everything is up; each node has a kubelb device kube-lb0, up, no VIPs.
MAC_CLIENT=02:00:00:00:00:01
MAC_CLIENT1=02:00:00:00:00:02
MAC_NODE1=02:00:00:00:01:00
MAC_NODE1_ETH1=02:00:00:00:01:01
MAC_NODE2=02:00:00:00:02:00
lan_setup() {
	ns_create NS_LAN
	ns_create NS_CLIENT
	ns_create NS_NODE1
	ns_create NS_NODE2
	# links are created down, each end in its namespace; one ip(8) per
	# namespace (process creation is slow in the VM)
	ip -batch - <<EOF || { fail "lan_setup: links"; exit_test; }
link add br0 netns $NS_LAN type bridge
link add eth0 netns $NS_CLIENT address $MAC_CLIENT type veth peer name lan-client netns $NS_LAN
link add eth0 netns $NS_NODE1 address $MAC_NODE1 type veth peer name lan-node1 netns $NS_LAN
link add eth0 netns $NS_NODE2 address $MAC_NODE2 type veth peer name lan-node2 netns $NS_LAN
link add eth1 netns $NS_NODE1 address $MAC_NODE1_ETH1 type veth peer name eth1 netns $NS_CLIENT address $MAC_CLIENT1
EOF
	ip -n "$NS_LAN" -batch - <<EOF || { fail "lan_setup: bridge"; exit_test; }
link set br0 addrgenmode none
link set br0 up
link set lan-client addrgenmode none
link set lan-client master br0 up
link set lan-node1 addrgenmode none
link set lan-node1 master br0 up
link set lan-node2 addrgenmode none
link set lan-node2 master br0 up
EOF
	_lan_host "$NS_CLIENT" eth0 10.9.0.1/24 fd00:9::1/64 fe80::ff:fe00:1 \
		eth1 10.9.1.1/24 fd00:9:1::1/64 fe80::ff:fe00:2
	_lan_host "$NS_NODE1" eth0 10.9.0.11/24 fd00:9::11/64 fe80::ff:fe00:100 \
		eth1 10.9.1.11/24 fd00:9:1::11/64 fe80::ff:fe00:101
	_lan_host "$NS_NODE2" eth0 10.9.0.12/24 fd00:9::12/64 fe80::ff:fe00:200
	ns_add_kubelb "$NS_NODE1" kube-lb0 || { fail "lan_setup: kube-lb0 in node1"; exit_test; }
	ns_add_kubelb "$NS_NODE2" kube-lb0 || { fail "lan_setup: kube-lb0 in node2"; exit_test; }
}

# _lan_host NS {IF V4 V6 LL}...: a host's addresses, its links up
_lan_host() {
	local ns=$1 b=
	shift
	while [ $# -ge 4 ]; do
		b+="link set $1 addrgenmode none
addr add $2 dev $1
addr add $3 dev $1 nodad
addr add $4/64 dev $1 nodad
link set $1 up
"
		shift 4
	done
	ip -n "$ns" -batch - <<<"$b" || { fail "lan_setup: addresses in $ns"; exit_test; }
}

# Run a command in a namespace ("-" = the current one). Enters only the
# network namespace (like `ip netns exec` but without remounting /sys, which
# costs a second under TCG): /sys/class/net shows the caller's namespace.
if command -v busybox >/dev/null 2>&1 && busybox nsenter --help >/dev/null 2>&1; then
	_KLB_NSENTER=(busybox nsenter)
else
	_KLB_NSENTER=(nsenter)
fi
nsexec() {
	local ns=$1 cmd=$2
	shift 2
	if [ "$ns" = "-" ]; then
		"$cmd" "$@"
		return
	fi
	# an absolute path, so that busybox runs the real program, not its applet
	if [[ $cmd != */* ]]; then
		hash "$cmd" 2>/dev/null && cmd=${BASH_CMDS[$cmd]}
	fi
	"${_KLB_NSENTER[@]}" --net="/run/netns/$ns" "$cmd" "$@"
}

# nsexec_bg NS CMD [ARGS...]: CMD in namespace NS ("-" = the current one),
# in the background, as a direct child of this shell (`nsexec ... &` would
# fork a subshell running the function: its $! is not CMD's, and killing
# it leaves CMD running). NSEXEC_PID gets CMD's pid. Redirect the call to
# redirect CMD.
NSEXEC_PID=
nsexec_bg() {
	local ns=$1 cmd=$2
	shift 2
	if [[ $cmd != */* ]]; then
		hash "$cmd" 2>/dev/null && cmd=${BASH_CMDS[$cmd]}
	fi
	# <&0: keep our stdin (a background job's default is /dev/null)
	if [ "$ns" = "-" ]; then
		"$cmd" "$@" <&0 &
	else
		"${_KLB_NSENTER[@]}" --net="/run/netns/$ns" "$cmd" "$@" <&0 &
	fi
	NSEXEC_PID=$!
}

# KLB_PREFIX: a command to run kubelbctl under (e.g. setpriv ...), normally empty
KLB_PREFIX=()
klb() {
	local ns=$1
	shift
	nsexec "$ns" "${KLB_PREFIX[@]}" "$KUBELBCTL" "$@"
}

# genl NS ARGS...: one tools/genl-raw.py request; prints its answer, returns
# its exit status. Python starts slowly under TCG, so after
# `genl_server_start NS` requests for NS go to one long-running genl-raw.py.
_KLB_GENL_NS=
genl_server_start() {
	local ns=$1
	mkfifo "$TMPD/genl.in" "$TMPD/genl.out" || return 1
	nsexec "$ns" "$PYTHON" "$GENL_RAW" --server <"$TMPD/genl.in" >"$TMPD/genl.out" &
	_KLB_BG+=($!)
	exec {_KLB_GENL_W}>"$TMPD/genl.in"
	exec {_KLB_GENL_R}<"$TMPD/genl.out"
	_KLB_GENL_NS=$ns
}

genl() {
	local ns=$1 line
	shift
	if [ -z "$_KLB_GENL_NS" ] || [ "$ns" != "$_KLB_GENL_NS" ]; then
		nsexec "$ns" "$PYTHON" "$GENL_RAW" "$@"
		return
	fi
	printf '%q ' "$@" >&$_KLB_GENL_W
	printf '\n' >&$_KLB_GENL_W
	while IFS= read -r -t 60 line <&$_KLB_GENL_R; do
		if [[ $line == "@@ rc="* ]]; then
			return "${line#@@ rc=}"
		fi
		printf '%s\n' "$line"
	done
	echo "genl-raw server: no answer"
	return 2
}

# vip_mon_start NAME NS: `kubelbctl monitor` in NS into $TMPD/NAME.mon, in
# the background; returns once it is subscribed (a probe VIP was seen)
declare -A _VIP_MON_MARK=()
vip_mon_start() {
	local name=$1 ns=$2 f=$TMPD/$1.mon pid
	: >"$f"
	bg_start pid nsexec "$ns" "$KUBELBCTL" monitor >>"$f" 2>&1
	if ! wait_for 20 _vip_mon_probe "$ns" "$f"; then
		fail "kubelbctl monitor in $ns shows nothing"
		return 1
	fi
	klb "$ns" vip del 198.18.255.1 >/dev/null 2>&1
	wait_for 5 _file_has "$f" "del 198.18.255.1/"
	vip_mon_mark "$name"
}
_vip_mon_probe() {
	klb "$1" vip del 198.18.255.1 >/dev/null 2>&1
	klb "$1" vip add 198.18.255.1 >/dev/null 2>&1
	_file_has "$2" "add 198.18.255.1/"
}

# vip_mon_mark NAME: announce_done looks only at events after this
vip_mon_mark() { _VIP_MON_MARK[$1]=$(wc -l <"$TMPD/$1.mon"); }

# announce_done NAME ADDR...: since the mark, the kernel said of each ADDR
# that its announcement burst is over (the last packet has been sent)
announce_done() {
	local f=$TMPD/$1.mon skip=${_VIP_MON_MARK[$1]:-0} a l n
	shift
	for a in "$@"; do
		n=0
		while IFS= read -r l; do
			n=$((n + 1))
			[ $n -le "$skip" ] && continue
			[[ $l == "announce $a/"*" announce idle" ]] && continue 2
		done <"$f"
		return 1
	done
}

# link_gone NS DEV: DEV does not exist (any more) in NS
link_gone() { ! ip -n "$1" link show "$2" >/dev/null 2>&1; }

ifindex() {
	ip -n "$1" -o link show "$2" | cut -d: -f1
}

# --- assertions --------------------------------------------------------------

check() {
	local desc=$1
	shift
	if "$@" >"$TMPD/check.out" 2>&1; then
		pass "$desc"
	else
		fail "$desc (exit $?: $*)"
		log_file "$TMPD/check.out"
	fi
}

check_eq() {
	local desc=$1 expected=$2 actual=$3
	if [ "$expected" = "$actual" ]; then
		pass "$desc"
	else
		fail "$desc"
		log "  expected: $(printf '%s' "$expected" | head -c 2000)"
		log "  actual:   $(printf '%s' "$actual" | head -c 2000)"
	fi
}

# _has_line ERE TEXT: some line of TEXT matches ERE (no fork)
_has_line() {
	local re=$1 line
	while IFS= read -r line; do
		[[ $line =~ $re ]] && return 0
	done <<<"$2"
	return 1
}

# check_match DESC ERE TEXT: some line of TEXT matches ERE
check_match() {
	local desc=$1 re=$2 text=$3
	if _has_line "$re" "$text"; then
		pass "$desc"
	else
		fail "$desc (no line matches /$re/)"
		printf '%s\n' "$text" | head -n 40 | log_file
	fi
}

# check_contains DESC NEEDLE TEXT (fixed string)
check_contains() {
	local desc=$1 needle=$2 text=$3
	if [[ $text == *"$needle"* ]]; then
		pass "$desc"
	else
		fail "$desc (missing \"$needle\")"
		printf '%s\n' "$text" | head -n 40 | log_file
	fi
}

check_not_contains() {
	local desc=$1 needle=$2 text=$3
	if [[ $text == *"$needle"* ]]; then
		fail "$desc (unexpected \"$needle\")"
		printf '%s\n' "$text" | head -n 40 | log_file
	else
		pass "$desc"
	fi
}

# _slurp VAR FILE: file contents into VAR (no fork)
_slurp() { IFS= read -r -d '' "$1" <"$2"; }

# check_fails_with DESC MSG CMD...: CMD must exit non-zero and print MSG
# (fixed string, "" = anything) on stderr.
check_fails_with() {
	local desc=$1 msg=$2 rc err=
	shift 2
	"$@" >"$TMPD/cf.out" 2>"$TMPD/cf.err"
	rc=$?
	_slurp err "$TMPD/cf.err"
	if [ $rc -eq 0 ]; then
		fail "$desc: succeeded, expected failure with \"$msg\""
	elif [[ $err != *"$msg"* ]]; then
		fail "$desc: exit $rc but stderr lacks \"$msg\""
		log_file "$TMPD/cf.err"
	else
		pass "$desc (${err%%$'\n'*})"
	fi
}

# check_klb_fails DESC MSG NS ARGS...: kubelbctl ARGS in NS must exit 1 with
# exactly one line on stderr, "kubelbctl: ...", containing MSG (an ERE,
# matched against the line without its newline: ^ and $ anchor to it).
check_klb_fails() {
	local desc=$1 msg=$2 ns=$3 rc err= nl
	shift 3
	klb "$ns" "$@" >"$TMPD/cf.out" 2>"$TMPD/cf.err"
	rc=$?
	_slurp err "$TMPD/cf.err"
	nl=${err//[!$'\n']/}
	if [ $rc -eq 0 ]; then
		fail "$desc: 'kubelbctl $*' succeeded, expected \"$msg\""
	elif ! [[ ${err%$'\n'} =~ $msg ]]; then
		fail "$desc: 'kubelbctl $*' exit $rc, stderr does not match /$msg/"
		log_file "$TMPD/cf.err"
	elif [ $rc -ne 1 ] || [ ${#nl} -ne 1 ] || [[ $err != "kubelbctl: "* ]]; then
		fail "$desc: want exit 1 and one 'kubelbctl: ' line, got exit $rc, ${#nl} lines"
		log_file "$TMPD/cf.err"
	else
		pass "$desc (${err%$'\n'})"
	fi
}

# check_py DESC [ARGS...] <<'EOF': run the python3 script given on stdin
# (assert statements) with ARGS; pass when it exits 0.
check_py() {
	local desc=$1
	shift
	if "$PYTHON" - "$@" >"$TMPD/py.out" 2>&1; then
		pass "$desc"
	else
		fail "$desc"
		tail -n 5 "$TMPD/py.out" | log_file
	fi
}

# wait_for SECONDS CMD...: poll every 0.1 s.
wait_for() {
	local end=$(($(_usec) + $1 * 1000000))
	shift
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		[ "$(_usec)" -gt $end ] && return 1
		sleep 0.1
	done
}

# --- cleanup -----------------------------------------------------------------

on_exit() { _KLB_ON_EXIT+=("$*"); }

# bg_start VAR CMD...: start CMD in the background, store its pid in VAR.
bg_start() {
	local var=$1
	shift
	if [ "$1" = nsexec ]; then
		shift
		nsexec_bg "$@"
	else
		"$@" &
		NSEXEC_PID=$!
	fi
	_KLB_BG+=("$NSEXEC_PID")
	printf -v "$var" '%s' "$NSEXEC_PID"
}

# capture_start VAR NS DEV [FILTER...]: tcpdump on DEV in NS into
# $TMPD/VAR.pcap (every packet written at once: nothing is lost when
# capture_stop follows right after a packet), in the background;
# returns when tcpdump listens. VAR gets its pid.
capture_start() {
	local var=$1 ns=$2 dev=$3
	shift 3
	"${_KLB_NSENTER[@]}" --net="/run/netns/$ns" /usr/bin/tcpdump -Z root -U --immediate-mode -n \
		-i "$dev" -w "$TMPD/$var.pcap" "$@" 2>"$TMPD/$var.err" &
	_KLB_BG+=($!)
	printf -v "$var" '%s' "$!"
	if ! wait_for 20 _file_has "$TMPD/$var.err" "listening on"; then
		fail "tcpdump on $dev in $ns did not start"
		log_file "$TMPD/$var.err"
		return 1
	fi
}

# capture_stop VAR: stop the capture (tcpdump writes what it has)
capture_stop() {
	local var=$1
	kill -INT "${!var}" 2>/dev/null
	wait "${!var}" 2>/dev/null
}

# capture_read VAR [TCPDUMP-ARGS...]: the captured packets, one a line:
# `tcpdump -r -n -e -tt` (epoch timestamps, MACs), continuation lines of -v
# joined to their packet's line
capture_read() {
	local var=$1 out line prev=
	shift
	out=$(/usr/bin/tcpdump -r "$TMPD/$var.pcap" -n -e -tt "$@" 2>/dev/null)
	while IFS= read -r line; do
		if [[ $line == [[:space:]]* ]]; then
			prev+=" ${line#"${line%%[![:space:]]*}"}"
			continue
		fi
		[ -n "$prev" ] && printf '%s\n' "$prev"
		prev=$line
	done <<<"$out"
	[ -n "$prev" ] && printf '%s\n' "$prev"
}

# _file_has FILE STRING: FILE contains STRING (no fork)
_file_has() {
	local s=
	[ -f "$1" ] && IFS= read -r -d '' s <"$1"
	[[ $s == *"$2"* ]]
}

_klb_dmesg_check() {
	local out
	out=$(dmesg 2>/dev/null | sed -n "\|$_KLB_MARK|,\$p" |
		grep -E "$KLOG_REPORTS" | head -n 20)
	[ -z "$out" ] && return 0
	log "FAIL: kernel log gained errors during $TEST_NAME:"
	printf '%s\n' "$out" | log_file
	return 1
}

_klb_exit() {
	local rc=$? i pid
	set +e
	for pid in "${_KLB_BG[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for pid in "${_KLB_BG[@]}"; do
		wait "$pid" 2>/dev/null
	done
	for ((i = ${#_KLB_ON_EXIT[@]} - 1; i >= 0; i--)); do
		eval "${_KLB_ON_EXIT[$i]}"
	done
	for i in "${_KLB_NS[@]}"; do
		ip netns del "$i" 2>/dev/null
	done
	if ! _klb_dmesg_check && [ $rc -ne $KSFT_FAIL ]; then
		rc=$KSFT_FAIL
	fi
	rm -rf "$TMPD"
	exit $rc
}

exit_test() {
	exit $RET
}

trap _klb_exit EXIT
echo "$_KLB_MARK" >/dev/kmsg 2>/dev/null
