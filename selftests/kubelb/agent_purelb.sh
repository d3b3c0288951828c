#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The README's "Migrating from PureLB's lbnodeagent", step by step, on a
# cluster PureLB left behind: agent_purelb.json (for tools/fake-kube-api
# --load: the Services PureLB's allocator and lbnodeagent wrote, with
# purelb.io/allocated-by, -from, pool-type and announcing-IPv4/-IPv6 as
# PureLB v2 writes them, an ETP Local Service with purelb.io/allow-local,
# and a Service of another load balancer's class) and
# agent_purelb.servicegroups.json (what `kubectl get servicegroups.purelb.io
# -A -o json` prints: a local pool, a remote pool with default and /120
# aggregation, a remote pool of host routes). The nodes start as
# lbnodeagent left them: a dummy kube-lb0 with the remote-pool addresses on
# both, local-pool addresses as secondaries on the announcing node's eth0
# (300 s lifetime, noprefixroute, as PureLB v2 adds them), and the other
# load balancer's /32 on node1's eth0. The README's kubectl and jq commands
# run as written, against the fake API server.
#  - step 2's jq turns the ServiceGroups into exactly the --aggregate flags;
#  - step 3's nodeSelector matches no node;
#  - step 5 on node1 alone: PureLB's kube-lb0 is a dummy and blocks a
#    kubelb device of that name ("File exists"); after the clean-up node1's
#    agent holds the local VIPs (node2 has no agent yet), so the client
#    gets ARP replies from both for an address PureLB left on node2 (the
#    README says so), and node2 keeps PureLB's state untouched;
#  - step 5 on node2 too: every local VIP on the node elected by
#    sha256(node "#" ip), moved off PureLB's announcer where they differ,
#    answered by ARP from that node only; the allow-local ETP Local VIP on
#    the node with the endpoint; the remote VIPs virtual on both nodes with
#    the aggregate routes (proto 95) step 2's flags give; none of PureLB's
#    addresses left; the other load balancer's Service and address
#    untouched and not held;
#  - step 6 removes PureLB's announcing annotations only: kubelb's
#    announcing annotations, PureLB's allocation annotations and the
#    ingress stay.

source "$(dirname "$0")/agent_lib.sh"
require_agent
require_fake_api
require_cmd arping kubectl

agent_setup
api_start --load "$KLB_SELFTEST_DIR/agent_purelb.json"
kc_write "$TMPD/admin.kubeconfig" token="$ADMIN_TOKEN"
# kubectl as the cluster's admin, next to the API server
kc() { nsexec "$NS_LAN" kubectl --kubeconfig "$TMPD/admin.kubeconfig" "$@"; }

WEB=10.9.0.240		# shop/web; PureLB announced it from node2
CART4=10.9.0.242	# shop/cart, dual-stack; PureLB announced both from node2
CART6=fd00:9::241
API=10.9.0.241		# ops/api, ETP Local + allow-local, endpoint on node2; PureLB: node1
STREAM4=172.31.0.5	# media/stream, remote pool 172.31.0.0/24 (default aggregation)
STREAM6=fd00:31::5	# ... and fd00:31::/64, aggregation /120
HOSTS=172.32.0.7	# media/hosts, remote pool 172.32.0.0/24, aggregation /32
OTHER=10.9.0.200	# other/vip, class kube-vip.io/kube-vip-class, on node1's eth0
LOCAL="mode local link eth0"
VIRT="dev kube-lb0 mode virtual"
check_eq "precondition: $API's election order is node1 first" node1 "$(winner $API node1 node2)"

# --- the nodes as PureLB's lbnodeagent left them ------------------------------------------
# purelb_node NODE LOCAL-ADDRESS...: lan_setup's kubelb device replaced by
# lbnodeagent's dummy with the remote-pool addresses, plus the local-pool
# addresses NODE announced
purelb_node() {
	local ns=${NODE_NS[$1]} a b
	shift
	b="link del kube-lb0
link add kube-lb0 type dummy
link set kube-lb0 up
addr add $STREAM4/24 dev kube-lb0
addr add $STREAM6/120 dev kube-lb0 nodad
addr add $HOSTS/32 dev kube-lb0
"
	for a in "$@"; do
		b+="addr add $a dev eth0 valid_lft 300 preferred_lft 300 noprefixroute"
		[[ $a == *:* ]] && b+=" nodad"
		b+=$'\n'
	done
	ip -n "$ns" -batch - <<<"$b" || { fail "PureLB's state on $ns"; exit_test; }
}
purelb_node node1 $API/24
purelb_node node2 $WEB/24 $CART4/24 $CART6/64
ip -n "$NS_NODE1" addr add $OTHER/32 dev eth0 || { fail "kube-vip's $OTHER on node1"; exit_test; }
check_eq "before: PureLB's node2 answers ARP for $WEB" "recv=2 from: ${MAC_NODE2,,}*2" "$(arp_replies $WEB)"

# addrs NODE: NODE's addresses, one "DEV ADDRESS/LEN" a line
addrs() {
	local _i dev _f cidr _r
	while read -r _i dev _f cidr _r; do
		echo "$dev $cidr"
	done <<<"$(ip -n "${NODE_NS[$1]}" -o addr show)"
}
# routes NODE: NODE's proto 95 routes in table main
routes() {
	ip -n "${NODE_NS[$1]}" route show table main proto 95
	ip -n "${NODE_NS[$1]}" -6 route show table main proto 95
}
node2_before=$(addrs node2)

# --- step 2: the agent's options from the ServiceGroups ----------------------------------------
# (no process substitution: the test VM has no /dev/fd)
aggr=$(jq -r '
  .items[] | .spec.remote // empty |
  ([.] + (.v4pools // []) + (.v6pools // []) + [.v4pool, .v6pool])[] |
  select(. != null and .subnet != null) |
  "--aggregate=\(.subnet)=\(if (.aggregation // "default") == "default"
      then "/" + (.subnet | split("/")[1]) else .aggregation end)"' \
	"$KLB_SELFTEST_DIR/agent_purelb.servicegroups.json")
mapfile -t AGGR <<<"$aggr"
check_eq "step 2: one --aggregate per remote pool, the subnet's length for \"default\"" \
	"--aggregate=172.32.0.0/24=/32 --aggregate=172.31.0.0/24=/24 --aggregate=fd00:31::/64=/120" \
	"${AGGR[*]}"
# the DaemonSet's own args (deploy/kubernetes/daemonset.yaml) and step 2's
AGENT_ARGS=(--metrics-addr=127.0.0.1:9477 "${AGGR[@]}")

# --- step 3: lbnodeagent's nodeSelector ----------------------------------------------------------
check_eq "step 3: no node carries kubelb.io/purelb-lbnodeagent=off (lbnodeagent runs nowhere)" "" \
	"$(kc get nodes -l 'kubelb.io/purelb-lbnodeagent=off' -o name 2>&1)"

# --- step 5, node by node ----------------------------------------------------------------------
kc get svc -A -o json | jq -r '.items[] |
  select(.metadata.annotations["purelb.io/allocated-by"] == "PureLB") |
  .status.loadBalancer.ingress[]?.ip' | sort -u >"$TMPD/lb-ips.txt"
check_eq "step 5: lb-ips.txt holds PureLB's Service IPs, not the other load balancer's" \
	"$(printf '%s\n' $WEB $API $CART4 $STREAM4 $HOSTS $STREAM6 $CART6)" "$(<"$TMPD/lb-ips.txt")"
cat >"$TMPD/step5.sh" <<'EOF'
ip link del kube-lb0
while read -r a; do
    ip -o addr show to "$a" | while read -r _ dev _ cidr _; do
        ip addr del "$cidr" dev "$dev"
    done
done <lb-ips.txt
EOF
# step5 NODE: the README's commands in NODE's namespace. The module is
# loaded once for the whole VM, so a node's `modprobe kubelb` becomes the
# device it would create, `ip link add kube-lb0 type kubelb`, and its
# "File exists" failure that command's.
step5() {
	local ns=${NODE_NS[$1]}
	check_match "step 5 on $1: ip -d link show kube-lb0 says dummy (PureLB's)" '^ *dummy' \
		"$(ip -n "$ns" -d link show kube-lb0)"
	check_fails_with "step 5 on $1: no kubelb device of that name while PureLB's is there" \
		"File exists" ip -n "$ns" link add kube-lb0 type kubelb
	check "step 5 on $1: PureLB's kube-lb0 and addresses removed" \
		nsexec "$ns" bash -c "cd '$TMPD' && bash -e step5.sh"
	check "step 5 on $1: kube-lb0 of kind kubelb" ns_add_kubelb "$ns"
	agent_start "$1" "${AGENT_ARGS[@]}"
}

step5 node1
check_holders "node1 done, node2 not yet: node1 holds $WEB (node2 has no agent)" 20 $WEB node1 "$LOCAL"
check_holders "... and $CART4" 10 $CART4 node1 "$LOCAL"
check_holders "... and $CART6" 10 $CART6 node1 "$LOCAL"
check_holders "... the remote $STREAM4 virtual on node1" 10 $STREAM4 node1 "$VIRT"
r=$(arp_replies $CART4)
check "... $CART4, left on node2 by PureLB, is answered by node1 and node2 until node2's turn ($r)" \
	eval '[[ $r == *"${MAC_NODE1,,}"* && $r == *"${MAC_NODE2,,}"* ]]'
check_eq "... node2, not converted yet, keeps PureLB's addresses" "$node2_before" "$(addrs node2)"
check_match "... and PureLB's dummy kube-lb0" '^ *dummy' "$(ip -n "$NS_NODE2" -d link show kube-lb0)"

step5 node2
for ip in $WEB $CART4 $CART6; do
	w=$(winner "$ip" node1 node2)
	check_holders "both done: $ip local on $w only (first by sha256)" 20 "$ip" "$w" "$LOCAL"
done
check_holders "... $API (ETP Local, allow-local) on node2, the node with the endpoint" 10 $API node2 "$LOCAL"
check_holders "... $STREAM4 virtual on both, /24 (--aggregate default)" 10 $STREAM4 "node1 node2" \
	"^${STREAM4//./\\.}/24 $VIRT"
check_holders "... $STREAM6 virtual on both, /120" 10 $STREAM6 "node1 node2" "^$STREAM6/120 $VIRT"
check_holders "... $HOSTS virtual on both, /32" 10 $HOSTS "node1 node2" "^${HOSTS//./\\.}/32 $VIRT"
check_holders "... the other class's $OTHER held by no agent" 5 $OTHER ""
w=$(winner $WEB node1 node2)
check_eq "arping $WEB: one reply per request, from $w" "recv=2 from: ${NODE_MAC[$w],,}*2" "$(arp_replies $WEB)"
w=$(winner $CART4 node1 node2)
check_eq "arping $CART4: one reply per request, from $w" "recv=2 from: ${NODE_MAC[$w],,}*2" "$(arp_replies $CART4)"
for n in node1 node2; do
	r=$(routes $n)
	check_match "$n: aggregate route 172.31.0.0/24 (proto 95, kube-lb0)" '^172\.31\.0\.0/24 dev kube-lb0 ' "$r"
	check_match "$n: host route $HOSTS" "^${HOSTS//./\\.} dev kube-lb0 " "$r"
	check_match "$n: aggregate route fd00:31::/120" '^fd00:31::/120 dev kube-lb0 ' "$r"
	a=$(addrs $n)
	left=$(while read -r ip; do grep -E " ${ip//./\\.}/" <<<"$a"; done <"$TMPD/lb-ips.txt")
	check_eq "$n: none of PureLB's addresses left" "" "$left"
	check_match "$n: kube-lb0 is kubelb's" '^ *kubelb' "$(ip -n "${NODE_NS[$n]}" -d link show kube-lb0)"
done
check_match "node1: the other load balancer's $OTHER/32 untouched" "^eth0 ${OTHER//./\\.}/32\$" "$(addrs node1)"

w=$(winner $WEB node1 node2)
announced_by() { [ "$(svc_annotation "$1" kubelb.io/announcing-IPv4)" = "$2" ]; }
wait_for 20 announced_by shop/web "$w,eth0"
check_eq "kubelb.io/announcing-IPv4 on shop/web names $w" "$w,eth0" \
	"$(svc_annotation shop/web kubelb.io/announcing-IPv4)"

# --- step 6: PureLB's stale annotations ----------------------------------------------------------
ann() { # the annotations of every Service, one "ns/name key=value ..." a line
	kc get svc -A -o json | jq -r '.items[] | "\(.metadata.namespace)/\(.metadata.name) " +
	  (.metadata.annotations // {} | to_entries | map(select(.key | startswith("kubelb.io/") | not)) |
	   map("\(.key)=\(.value)") | join(" "))'
}
ingress() { kc get svc -A -o jsonpath='{range .items[*]}{.metadata.name}={.status.loadBalancer.ingress[*].ip} {end}'; }
before_ann=$(ann)
before_ingress=$(ingress)
kc annotate services -A --all purelb.io/announcing-IPv4- purelb.io/announcing-IPv6- >/dev/null
check_eq "step 6: no purelb.io/announcing-* left" "" "$(ann | grep -o 'purelb\.io/announcing-[^ ]*')"
check_eq "... every other annotation as it was (allocation, service-group, kube-vip's)" \
	"$(sed -E 's# purelb\.io/announcing-IPv[46]=[^ ]*##g' <<<"$before_ann")" "$(ann)"
check_eq "... kubelb.io/announcing-IPv4 stays" "$w,eth0" "$(svc_annotation shop/web kubelb.io/announcing-IPv4)"
check_eq "... every Service's ingress as it was" "$before_ingress" "$(ingress)"
check_eq "... other/vip's class untouched" kube-vip.io/kube-vip-class \
	"$(API_QUERY='spec|loadBalancerClass' svc_get other/vip)"

exit_test
