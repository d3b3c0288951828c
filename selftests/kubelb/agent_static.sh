#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kubelb-agent --services FILE (static-file mode, no API server):
#  - a ServiceList as `kubectl get svc -A -o json` prints it is loaded:
#    the on-link VIP local on eth0, the routed one virtual (no Node list:
#    this node alone is eligible);
#  - the file is followed: replaced by a rename (as a ConfigMap's symlink
#    swap does) and rewritten in place are both applied without a signal;
#    a change the directory watch cannot see (the symlink's target edited)
#    is applied on SIGHUP;
#  - a broken file (not JSON, empty) keeps the previous state, says so, and
#    the next good file is applied;
#  - with Node and EndpointSlice items, node1 and node2 reading the same
#    cluster elect one holder per on-link VIP (sha256 order), ETP Local
#    follows the endpoints, a NotReady Node is not eligible;
#  - a missing or broken file at start: exit status 1 and a clear message;
#  - SIGTERM withdraws everything of the agent's, exit 0.

source "$(dirname "$0")/agent_lib.sh"
require_agent
require_cmd arping

agent_setup

L=$(ip_with_order 10.9.0. 100 node1 node2)	# node1 first
L2=$(ip_with_order 10.9.0. 100 node2 node1)	# node2 first
L3=$(ip_with_order 10.9.0. $((${L##*.} + 1)) node1 node2)	# node1 first: ETP Local on node2
R=203.0.113.5
R2=203.0.113.6
log "VIPs: L=$L L3=$L3 (node1 first) L2=$L2 (node2 first), routed R=$R R2=$R2"

# --- file contents -----------------------------------------------------------------------
# svc NAME IPS [Local]: one Service item (as kubectl prints it, with kind)
svc() {
	local ip ing='' IFS=,
	for ip in $2; do
		ing+="${ing:+,}{\"ip\":\"$ip\",\"ipMode\":\"VIP\"}"
	done
	printf '{"apiVersion":"v1","kind":"Service","metadata":{"name":"%s","namespace":"default","resourceVersion":"1"},"spec":{"type":"LoadBalancer","externalTrafficPolicy":"%s","clusterIP":"10.96.0.9","ports":[{"port":80,"protocol":"TCP","targetPort":8080,"nodePort":30080}]},"status":{"loadBalancer":{"ingress":[%s]}}}' \
		"$1" "${3:-Cluster}" "$ing"
}
# node NAME [False]: a Node item, Ready unless False
node() {
	printf '{"apiVersion":"v1","kind":"Node","metadata":{"name":"%s","labels":{"kubernetes.io/hostname":"%s"}},"status":{"conditions":[{"type":"Ready","status":"%s"}]}}' \
		"$1" "$1" "${2:-True}"
}
# slice SVC NODE: an EndpointSlice with one ready endpoint on NODE
slice() {
	printf '{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{"name":"%s-abcde","namespace":"default","labels":{"kubernetes.io/service-name":"%s"}},"addressType":"IPv4","endpoints":[{"addresses":["10.244.1.5"],"conditions":{"ready":true},"nodeName":"%s"}],"ports":[{"port":8080,"protocol":"TCP"}]}' \
		"$1" "$1" "$2"
}
# list ITEM...: a List document, pretty-printed over several lines
list() {
	local IFS=,
	printf '{\n    "apiVersion": "v1",\n    "items": [\n%s\n    ],\n    "kind": "List",\n    "metadata": {\n        "resourceVersion": ""\n    }\n}\n' "$*"
}

# node1 reads cfg/services.json, a symlink into data/ (like a ConfigMap)
mkdir -p "$TMPD/cfg" "$TMPD/data"
list "$(svc web "$L,$R")" >"$TMPD/data/v1.json"
ln -s "$TMPD/data/v1.json" "$TMPD/cfg/services.json"
F1=$TMPD/cfg/services.json

LOCAL="mode local link eth0"
VIRT="mode virtual"
t0=$(now)
agent_start node1 --services "$F1"
check_holders "static: $L held local on eth0 (no Node list: this node alone)" 15 $L node1 "$LOCAL"
check_holders "static: $R held virtual" 5 $R node1 "$VIRT"
log "applied $(elapsed "$t0") s after start"
check_eq "arping $L from the client: node1 answers" "recv=2 from: ${MAC_NODE1,,}*2" "$(arp_replies $L)"
mon_mark node1

loads() { agent_log_count node1 'msg="services file loaded'; }

# symlink swap: the directory watch sees the new link
list "$(svc web "$L,$R")" "$(svc web2 "$R2")" >"$TMPD/data/v2.json"
t0=$(now)
ln -s "$TMPD/data/v2.json" "$TMPD/cfg/.tmp-link" && mv -T "$TMPD/cfg/.tmp-link" "$F1"
check_holders "symlink swapped to a file with web2: $R2 added, no signal" 10 $R2 node1 "$VIRT"

# the target edited: invisible to the watch on cfg/; SIGHUP
n=$(loads)
list "$(svc web "$L,$R")" >"$TMPD/data/v2.json"
# a second in which the edit alone changes nothing is what is tested
sleep 1
check_eq "target edited, no signal: not reloaded" "$n" "$(loads)"
kill -HUP "${AGENT_PID[node1]}"
check_holders "target edited (web2 removed), SIGHUP: $R2 withdrawn" 10 $R2 ""
check "... one more 'services file loaded'" eval "[ \$(loads) -gt $n ]"

# broken files keep the previous state
n=$(loads)
printf '{"apiVersion": "v1", "items": [ {"kind": "Serv' >"$TMPD/data/v2.json"
kill -HUP "${AGENT_PID[node1]}"
wait_log node1 'cannot load the services file; keeping the previous state' 10
: >"$TMPD/data/v2.json"
kill -HUP "${AGENT_PID[node1]}"
wait_for 10 eval '[ $(agent_log_count node1 "cannot load the services file") -ge 2 ]' ||
	fail "an empty file was not refused"
check "after a truncated and an empty file: $L still held" holds node1 $L "$LOCAL"
check "... $R still held" holds node1 $R "$VIRT"
check_eq "... nothing withdrawn (monitor)" "" "$(mon_lines node1 $L del; mon_lines node1 $R del)"
check "... the agent still runs" agent_running node1
check_eq "... and did not count a load" "$n" "$(loads)"
list "$(svc web "$L,$R")" "$(svc web3 "$R2")" >"$TMPD/data/v2.json"
kill -HUP "${AGENT_PID[node1]}"
check_holders "good file again: applied ($R2 back)" 10 $R2 node1 "$VIRT"

# --- two nodes, with Nodes and EndpointSlices -------------------------------------------------
# node2 reads a plain file, rewritten in place
F2=$TMPD/node2.json
cluster() {
	list "$(node node1 "${1:-True}")" "$(node node2)" \
		"$(svc web "$L,$R")" "$(svc two "$L2")" "$(svc loc "$L3" Local)" \
		"$(slice loc node2)"
}
cluster >"$F2"
cluster >"$TMPD/data/v2.json"
kill -HUP "${AGENT_PID[node1]}"
agent_start node2 --services "$F2"
check_holders "Node list node1, node2: $L (node1 first) on node1 only" 15 $L node1 "$LOCAL"
check_holders "... $L2 (node2 first) on node2 only" 15 $L2 node2 "$LOCAL"
check_holders "... ETP Local $L3 (node1 first, endpoint on node2) on node2 only" 10 $L3 node2 "$LOCAL"
check_holders "... routed $R on both" 10 $R "node1 node2" "$VIRT"
check_eq "arping $L2: one reply per request, from node2" "recv=2 from: ${MAC_NODE2,,}*2" "$(arp_replies $L2)"
# node1 NotReady, written in place into node2's file, swapped in for node1
cluster False >"$F2"
cluster False >"$TMPD/data/v3.json"
ln -s "$TMPD/data/v3.json" "$TMPD/cfg/.tmp-link" && mv -T "$TMPD/cfg/.tmp-link" "$F1"
check_holders "node1 NotReady: $L moves to node2" 10 $L node2 "$LOCAL"
check_holders "... $R withdrawn by node1" 10 $R node2 "$VIRT"

# --- SIGTERM -------------------------------------------------------------------------------------
t0=$(now)
agent_stop node2 TERM 10
log "node2's agent exited $(elapsed "$t0") s after SIGTERM"
check_eq "SIGTERM: exit status 0" 0 "${AGENT_RC[node2]}"
check_eq "SIGTERM: node2 withdrew everything of its own" "" \
	"$(klb "$NS_NODE2" vip show | grep " owner $AGENT_OWNER")"

# --- bad files at start ---------------------------------------------------------------------------
bad_start() {
	local desc=$1 file=$2 re=$3
	agent_start node2 --services "$file"
	if agent_wait_exit node2 10; then
		check_eq "$desc: exit status 1" 1 "${AGENT_RC[node2]}"
		check_match "$desc: the log says why" "$re" "$(<"${AGENT_LOG[node2]}")"
	else
		fail "$desc: the agent did not exit"
		agent_stop node2 KILL
	fi
}
bad_start "a missing file at start" "$TMPD/none.json" 'level=error .*none\.json'
printf 'not json\n' >"$TMPD/bad.json"
bad_start "a file that is not JSON at start" "$TMPD/bad.json" 'level=error .*bad\.json'

exit_test
