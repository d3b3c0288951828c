# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# bgp_lib.sh - what bgp_bird.sh and bgp_frr.sh share: the topology, the
# rendering of the shipped configs in deploy/routing, and the checks. Source
# it after lib.sh. A test defines, for its daemon:
#   router_learned   the prefixes (IPv4 and IPv6) the router's daemon learnt
#                    from the node, one a line, any order
#   router_offered   the prefixes the router's daemon sends the node (its
#                    client subnet)
#   node_learned     the prefixes the node's daemon accepted from the router
#                    (must stay none)
#   ROUTER_KPROTO    the protocol the router's daemon installs routes with
#                    in the kernel (bird, bgp)
#   bgp_diag         print both daemons' state (shown at the first failure)
# then calls bgp_setup, starts the daemons (router first), waits for the
# sessions and calls bgp_checks.
#
#   client eth0 ----------- eth1 router eth0 ----------- eth0 node
#   10.0.2.2/24             10.0.2.1/24  10.0.1.1/24      10.0.1.2/24
#   fd00:2::2/64            fd00:2::1/64 fd00:1::1/64     fd00:1::2/64
#   fe80::2:2               fe80::2:1    fe80::1:1        fe80::1:2
#   (IPv6 addresses nodad: nothing tentative)
# The node is AS 65001, the router AS 65000 (eBGP on the shared link, one
# session per address family). The router forwards; its daemon installs what
# it learns and offers the node its client subnet, which the node must
# refuse. The node has, besides kube-lb0, routes that must never be
# advertised (see bgp_setup).

BGP_NODE4=10.0.1.2
BGP_NODE6=fd00:1::2
BGP_ROUTER4=10.0.1.1
BGP_ROUTER6=fd00:1::1
BGP_NODE_AS=65001
BGP_ROUTER_AS=65000
BGP_PORT=8080
# seconds allowed for one change to reach the router (daemon and kernel)
BGP_WAIT=${BGP_WAIT:-20}
DEPLOY_DIR=$KLB_ROOT/deploy/routing

# The VIPs: aggregated (externalTrafficPolicy Cluster) and host routes (Local)
AGG4_VIPS=(192.0.2.10/24 192.0.2.11/24 192.0.2.12/24)
AGG4=192.0.2.0/24
HOST4=203.0.113.7
AGG6_VIPS=(2001:db8:10::10/64 2001:db8:10::11/64)
AGG6=2001:db8:10::/64
HOST6=2001:db8:20::7

# bgp_setup: the namespaces NS_NODE NS_ROUTER NS_CLIENT, addressed, with the
# node's other routes:
#   connected subnets   10.0.1.0/24 fd00:1::/64 (eth0), 172.16.5.0/24
#                       fd00:5::/64 (dummy0)
#   addresses           172.16.5.1 fd00:5::1 on dummy0; 10.96.0.10/32 and
#                       fd00:96::10/128 on kube-lb0 (as kube-proxy's IPVS
#                       mode puts Service IPs on its device)
#   static              172.17.0.0/16 fd00:17::/48 via the router, proto static
#   another program's   172.18.0.0/16 fd00:18::/48 dev dummy0, proto 96
#                       172.19.0.0/16 dev dummy0, proto dhcp
#   default routes      via the router (proto boot)
bgp_setup() {
	ns_create NS_NODE
	ns_create NS_ROUTER
	ns_create NS_CLIENT
	ip -batch - <<EOF || { fail "bgp_setup: links"; exit_test; }
link add eth0 netns $NS_NODE type veth peer name eth0 netns $NS_ROUTER
link add eth1 netns $NS_ROUTER type veth peer name eth0 netns $NS_CLIENT
EOF
	ip -n "$NS_NODE" -batch - <<EOF || { fail "bgp_setup: node"; exit_test; }
link add kube-lb0 type kubelb
link set kube-lb0 up
link add dummy0 type dummy
link set dummy0 addrgenmode none
link set dummy0 up
link set eth0 addrgenmode none
link set eth0 up
addr add $BGP_NODE4/24 dev eth0
addr add $BGP_NODE6/64 dev eth0 nodad
addr add fe80::1:2/64 dev eth0 nodad
addr add 172.16.5.1/24 dev dummy0
addr add fd00:5::1/64 dev dummy0 nodad
addr add 10.96.0.10/32 dev kube-lb0
addr add fd00:96::10/128 dev kube-lb0 nodad
route add default via $BGP_ROUTER4
route add default via $BGP_ROUTER6
route add 172.17.0.0/16 via $BGP_ROUTER4 proto static
route add fd00:17::/48 via $BGP_ROUTER6 proto static
route add 172.18.0.0/16 dev dummy0 proto 96
route add fd00:18::/48 dev dummy0 proto 96
route add 172.19.0.0/16 dev dummy0 proto dhcp
EOF
	ip -n "$NS_ROUTER" -batch - <<EOF || { fail "bgp_setup: router"; exit_test; }
link set eth0 addrgenmode none
link set eth0 up
link set eth1 addrgenmode none
link set eth1 up
addr add $BGP_ROUTER4/24 dev eth0
addr add $BGP_ROUTER6/64 dev eth0 nodad
addr add fe80::1:1/64 dev eth0 nodad
addr add 10.0.2.1/24 dev eth1
addr add fd00:2::1/64 dev eth1 nodad
addr add fe80::2:1/64 dev eth1 nodad
EOF
	ip -n "$NS_CLIENT" -batch - <<EOF || { fail "bgp_setup: client"; exit_test; }
link set eth0 addrgenmode none
link set eth0 up
addr add 10.0.2.2/24 dev eth0
addr add fd00:2::2/64 dev eth0 nodad
addr add fe80::2:2/64 dev eth0 nodad
route add default via 10.0.2.1
route add default via fd00:2::1
EOF
	nsexec "$NS_ROUTER" sysctl -qw net.ipv4.ip_forward=1 \
		net.ipv6.conf.all.forwarding=1 ||
		{ fail "bgp_setup: forwarding on the router"; exit_test; }
	# the node's routes before any VIP and daemon: they must end the same
	{ ip -n "$NS_NODE" route; ip -n "$NS_NODE" -6 route; } >"$TMPD/node-routes"
}

# bg_daemon VAR NS CMD...: CMD in NS in the background, VAR its pid, stopped
# by the EXIT trap. The nsenter binary execs CMD (for a network namespace
# neither util-linux nor busybox forks), so the pid is CMD's own: bg_start
# with nsexec, a shell function, would leave a subshell in between and CMD
# would outlive the trap's kill. Redirect CMD's output: a daemon that kept
# the test's stdout open would hold up whoever reads it.
bg_daemon() {
	local var=$1 ns=$2
	shift 2
	bg_start "$var" "${_KLB_NSENTER[@]}" --net="/run/netns/$ns" "$@"
}

# bgp_render SRC DST {COUNT ERE REPLACEMENT}...: DST is SRC with each line
# matching ^ERE$ replaced (\1..\9 in REPLACEMENT: the ERE's groups), each
# ERE matching exactly COUNT lines: the edit points the shipped file
# documents are the ones the test edits, and a shipped file that changed
# them fails here rather than half-rendered. (Pure bash: under TCG every
# process counts.)
bgp_render() {
	local src=$1 dst=$2 lines=() changed=() i g n re rep
	mapfile -t lines <"$src" || return 1
	shift 2
	while [ $# -ge 3 ]; do
		n=0
		re="^$2\$"
		for i in "${!lines[@]}"; do
			[[ ${lines[i]} =~ $re ]] || continue
			rep=$3
			for g in 1 2 3 4 5 6 7 8 9; do
				rep=${rep//\\$g/${BASH_REMATCH[g]}}
			done
			lines[i]=$rep
			changed+=("$rep")
			n=$((n + 1))
		done
		if [ "$n" != "$1" ]; then
			fail "${src#"$KLB_ROOT"/}: $n lines match /$re/, expected $1"
			return 1
		fi
		shift 3
	done
	printf '%s\n' "${lines[@]}" >"$dst" || return 1
	log "rendered ${src#"$KLB_ROOT"/} (${#changed[@]} lines changed):"
	for i in "${changed[@]}"; do
		log "  $i"
	done
}

# The listener on the node: one python3 process accepting on every VIP
# (IP_FREEBIND, because IPv6 bind() checks interface addresses, not routes)
# and greeting each connection with "kubelb ADDRESS".
bgp_listener_start() {
	local v addrs=()
	for v in "${AGG4_VIPS[@]}" "$HOST4" "${AGG6_VIPS[@]}" "$HOST6"; do
		addrs+=("${v%/*}")
	done
	bg_daemon BGP_LISTENER "$NS_NODE" "$PYTHON" -c '
import selectors, socket, sys
sel = selectors.DefaultSelector()
for a in sys.argv[3:]:
    s = socket.socket(socket.AF_INET6 if ":" in a else socket.AF_INET)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_IP, 15, 1)  # IP_FREEBIND
    s.bind((a, int(sys.argv[2])))
    s.listen(8)
    sel.register(s, selectors.EVENT_READ)
open(sys.argv[1], "w").write("listening\n")
while True:
    for key, _ in sel.select():
        c, _ = key.fileobj.accept()
        c.sendall(("kubelb %s\n" % key.fileobj.getsockname()[0]).encode())
        c.close()
' "$TMPD/listener.ready" "$BGP_PORT" "${addrs[@]}" >"$TMPD/listener.err" 2>&1
}

# tcp_hello ADDR...: from the client, connect to each ADDR:BGP_PORT and print
# one line each: "ADDR: " and the greeting, or "ADDR: no connection" (bash's
# /dev/tcp: one process for all)
tcp_hello() {
	nsexec "$NS_CLIENT" timeout 20 bash -c '
port=$1
shift
for a; do
	if { IFS= read -r -t 4 l <&3; } 2>/dev/null 3<>"/dev/tcp/$a/$port"; then
		echo "$a: $l"
	else
		echo "$a: no connection"
	fi
done' _ "$BGP_PORT" "$@"
}

# _prefix_list: route lines ("ip route" output, or one prefix a line) on
# stdin to one line of sorted, unique prefixes; host routes get their /32 or
# /128 (pure bash, as bgp_render)
_prefix_list() {
	local p rest out=() i j t
	while read -r p rest; do
		[ -z "$p" ] && continue
		if [[ $p != */* ]]; then
			if [[ $p == *:* ]]; then p+=/128; else p+=/32; fi
		fi
		out+=("$p")
	done
	for ((i = 1; i < ${#out[@]}; i++)); do
		t=${out[i]}
		for ((j = i - 1; j >= 0; j--)); do
			[[ ${out[j]} > $t ]] || break
			out[j + 1]=${out[j]}
		done
		out[j + 1]=$t
	done
	t=
	for ((i = 0; i < ${#out[@]}; i++)); do
		[ $i -gt 0 ] && [ "${out[i]}" = "${out[i - 1]}" ] && continue
		t+="${t:+ }${out[i]}"
	done
	printf '%s\n' "$t"
}

# router_kernel: "IPv4 list | IPv6 list": what the router's daemon put in its
# kernel
router_kernel() {
	printf '%s | %s\n' \
		"$(ip -n "$NS_ROUTER" -4 route show proto "$ROUTER_KPROTO" | _prefix_list)" \
		"$(ip -n "$NS_ROUTER" -6 route show proto "$ROUTER_KPROTO" | _prefix_list)"
}

# daemon_list FUNC: "IPv4 list | IPv6 list" of the prefixes FUNC
# (router_learned, node_learned) prints, one a line
daemon_list() {
	local out p v4= v6=
	out=$("$1")
	while read -r p; do
		case $p in
		*:*) v6+="$p"$'\n' ;;
		?*) v4+="$p"$'\n' ;;
		esac
	done <<<"$out"
	printf '%s | %s\n' "$(_prefix_list <<<"$v4")" "$(_prefix_list <<<"$v6")"
}

_kernel_is() { [ "$(router_kernel)" = "$1" ]; }

# expect_routes "IPV4 PREFIX ..." "IPV6 PREFIX ..." WHAT: within BGP_WAIT
# seconds the router's kernel holds exactly these prefixes ("" = none) from
# its daemon, and its daemon learnt exactly these from the node. The kernel
# is polled (cheap); a daemon learns a route before it installs it and
# forgets it before removing it, so once the kernel matches the daemon must
# too, unless it learnt something more.
expect_routes() {
	local want what=$3 t0
	want="$(printf '%s\n' $1 | _prefix_list) | $(printf '%s\n' $2 | _prefix_list)"
	t0=$(now)
	wait_for "$BGP_WAIT" _kernel_is "$want"
	check_eq "router's kernel has exactly {$want} $what ($(elapsed "$t0") s)" \
		"$want" "$(router_kernel)"
	check_eq "router's daemon learnt exactly {$want} from the node" \
		"$want" "$(daemon_list router_learned)"
	# the daemons' state at the first mismatch, while it lasts
	if [ $RET -ne 0 ] && [ -z "${_BGP_DIAG_DONE:-}" ]; then
		_BGP_DIAG_DONE=1
		bgp_diag 2>&1 | log_file
	fi
}

# klb_batch LINE...: kubelbctl -b with these lines, in the node (one
# process for all)
klb_batch() {
	local desc=$1 l
	for l in "${@:2}"; do
		desc+="; $l"
	done
	check "kubelbctl: $desc" klb "$NS_NODE" -b - <<<"$(printf '%s\n' "$@")"
}

# bgp_checks: the scenario, once the sessions are up
bgp_checks() {
	local v vips=() dels=() want out

	# Cluster: a VIP with a prefix length brings its aggregate. The node's
	# routes of every other kind were in its kernel before the daemons
	# started, so they went out in the first updates, ahead of these: the
	# router holding exactly the aggregates shows they stayed home.
	klb_batch "vip add ${AGG4_VIPS[0]}" "vip add ${AGG6_VIPS[0]}"
	expect_routes "$AGG4" "$AGG6" "after one VIP each (the node's other routes stay home)"

	# more VIPs in the aggregates share them; a VIP at full length (Local)
	# gets a host route, and only it does
	for v in "${AGG4_VIPS[@]:1}" "${AGG6_VIPS[@]:1}" "$HOST4" "$HOST6"; do
		vips+=("vip add $v")
	done
	klb_batch "${vips[@]}"
	expect_routes "$AGG4 $HOST4" "$AGG6 $HOST6" \
		"after ${#AGG4_VIPS[@]}+${#AGG6_VIPS[@]} aggregated VIPs and 2 host VIPs"
	log "node: $(ip -n "$NS_NODE" route show table all proto 95 | wc -l) kubelb routes (proto 95, both tables, both families)"

	# The client behind the router reaches the VIPs
	wait_for 30 _file_has "$TMPD/listener.ready" listening ||
		{ fail "listener on the node did not start"; log_file "$TMPD/listener.err"; }
	vips=("${AGG4_VIPS[0]%/*}" "$HOST4" "${AGG6_VIPS[0]%/*}" "$HOST6")
	want=
	for v in "${vips[@]}"; do
		want+="$v: kubelb $v"$'\n'
	done
	check_eq "client: TCP to ${vips[*]} port $BGP_PORT, answered by the node" \
		"${want%$'\n'}" "$(tcp_hello "${vips[@]}")"

	# Withdrawals: host routes go with their VIP, an aggregate stays while
	# any VIP shares it
	klb_batch "vip del ${AGG4_VIPS[0]%/*}" "vip del ${AGG6_VIPS[0]%/*}" \
		"vip del $HOST4" "vip del $HOST6"
	expect_routes "$AGG4" "$AGG6" "after vip del of the host VIPs and one aggregated VIP each"
	for v in "${AGG4_VIPS[@]:1}" "${AGG6_VIPS[@]:1}"; do
		dels+=("vip del ${v%/*}")
	done
	klb_batch "${dels[@]}"
	expect_routes "" "" "after vip del of every VIP"
	out=$(tcp_hello "${AGG4_VIPS[1]%/*}" "$HOST6")
	check_eq "client: ${AGG4_VIPS[1]%/*} and $HOST6 unreachable once withdrawn" \
		"${AGG4_VIPS[1]%/*}: no connection"$'\n'"$HOST6: no connection" "$out"

	# The node took nothing from the router, which offers it a route
	check_eq "router's daemon offers the node its client subnet" \
		"10.0.2.0/24 | fd00:2::/64" "$(daemon_list router_offered)"
	check_eq "node's daemon accepted no route from the router" " | " \
		"$(daemon_list node_learned)"
	check_eq "node's kernel routes unchanged by the daemon" \
		"$(cat "$TMPD/node-routes")" \
		"$(ip -n "$NS_NODE" route; ip -n "$NS_NODE" -6 route)"
}
