#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kubelb-agent LISTs in pages: the fake API server caps every LIST at 3
# items (--page-size 3) and hands out continue tokens, as kube-apiserver
# does with its own limit. Services (14, 5 pages), EndpointSlices (7, 3
# pages) and Nodes (7, 3 pages; node1's own Node on the last) all reach
# the agent: it holds the VIPs of every page (ETP Local ones need their
# EndpointSlice and node1's Node), and the audit log shows its continue
# requests. Then a continue token expires in the middle of a relist (410
# Expired on page 2): the agent lists again from the first page, ends up
# with every Service, and withdraws nothing on the way.

source "$(dirname "$0")/agent_lib.sh"
require_agent
require_fake_api

PAGE=3
agent_setup
api_start --page-size $PAGE
# Nodes sort by name: node1 comes after a1..a6, on the third page
for n in a1 a2 a3 a4 a5 a6 node1; do
	node_add $n || exit_test
done
VIPS=()
for i in 1 2 3 4 5 6 7; do
	svc_add default/s$i 203.0.113.$i || exit_test
	svc_add default/l$i 198.51.100.$i etp=Local || exit_test
	slice_set default/l$i node1 || exit_test
	VIPS+=("203.0.113.$i" "198.51.100.$i")
done

agent_start node1
wait_log node1 'msg="initial state applied' 60
for ip in "${VIPS[@]}"; do
	wait_holders 30 $ip node1 || fail "node1 does not hold $ip"
done
check_eq "node1 holds all ${#VIPS[@]} VIPs, from every page of Services, EndpointSlices and Nodes" \
	"${#VIPS[@]}" "$(for ip in "${VIPS[@]}"; do holds node1 $ip 'mode virtual' && echo; done | wc -l)"
for p in "path=/api/v1/services objects=14" \
	"path=/apis/discovery.k8s.io/v1/endpointslices objects=7" \
	"path=/api/v1/nodes objects=7"; do
	check "node1's agent logged: listed $p" agent_log_has node1 "msg=\"listed\" $p "
done

# lists RESOURCE CODE CONTINUE: node1's LIST requests of RESOURCE in the
# audit log answered CODE, with (CONTINUE=1) or without (0) a continue token
lists() {
	API_QUERY="py:sum(1 for r in d if r['user'] == 'node1' and r['verb'] == 'list' and r['resource'] == '$1' and r['code'] == $2 and ('continue=' in r['uri']) == bool($3))" \
		api FILE "$API_AUDIT"
}
for rp in services:5 endpointslices:3 nodes:3; do
	r=${rp%:*} pages=${rp#*:}
	n=$(lists $r 200 1)
	check "audit: node1 asked for the further $((pages - 1)) pages of $r with continue tokens ($n requests)" \
		test "${n:-0}" -ge $((pages - 1))
done

# --- a continue token expires in the middle of a relist -------------------------------
mon_mark node1
relisted=$(agent_log_count node1 'msg="listed" path=/api/v1/services objects=14 ')
api_ok "fault: the next Services LIST with a continue token gets 410" POST /_fake/fault \
	'{"kind":"expire-continue","count":1,"path":"/api/v1/services"}' >/dev/null
# history dropped and the Services watch cut: its re-watch gets 410, a relist
api_ok "fault: expire the history, cut the Services watch" POST /_fake/fault \
	'{"kind":"expire","cut":true,"path":"/api/v1/services"}' >/dev/null
if wait_for 60 eval \
	"[ \"\$(agent_log_count node1 'msg=\"listed\" path=/api/v1/services objects=14 ')\" -gt $relisted ]"; then
	pass "node1's agent listed all 14 Services again"
else
	fail "node1's agent did not complete a relist of the 14 Services"
fi
check "... after a 410 on a continue token it started over" agent_log_has node1 \
	'msg="resource version expired; listing again" path=/api/v1/services .*continue'
check_eq "audit: one Services LIST with a continue token answered 410" 1 "$(lists services 410 1)"
first410=$(API_QUERY="py:next(i for i, r in enumerate(d) if r['user'] == 'node1' and r['resource'] == 'services' and r['verb'] == 'list' and r['code'] == 410)" \
	api FILE "$API_AUDIT")
check_eq "audit: after the 410, a fresh first page and then the $((5 - 1)) further pages" "1 4" \
	"$(API_QUERY="py:' '.join(str(sum(1 for r in d[${first410:-0} + 1:] if r['user'] == 'node1' and r['resource'] == 'services' and r['verb'] == 'list' and r['code'] == 200 and ('continue=' in r['uri']) == c)) for c in (False, True))" \
		api FILE "$API_AUDIT")"
check_eq "node1's kernel: nothing withdrawn or changed through the partial list" "" \
	"$(mon_events node1)"
for ip in "${VIPS[@]}"; do
	holds node1 $ip || fail "node1 no longer holds $ip"
done
svc_add default/after 203.0.113.100
check_holders "a new Service after the relist reaches node1's kernel" 30 203.0.113.100 node1 "mode virtual"

exit_test
