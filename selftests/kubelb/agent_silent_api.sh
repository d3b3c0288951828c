#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# An API server that accepts connections but never answers (the fake's
# stall fault: open watches and new requests get no byte for 40 s) is
# noticed by kubelb-agent within 30 s, and the agent recovers once the
# server answers again:
#  - its Lease renewals stop coming back: it logs that it lost contact
#    (within half the lease duration, plus a renewal period);
#  - every watch, silent since the stall, is restarted after the probe
#    GET /version goes unanswered ("server does not answer"), within 30 s
#    of the stall's start, and kubelb_agent_watch_restarts_total counts
#    them;
#  - nothing is withdrawn meanwhile (the kernel's event stream is quiet);
#  - after the stall it is in contact again and a new Service reaches the
#    kernel.

source "$(dirname "$0")/agent_lib.sh"
require_agent
require_fake_api

STALL_S=40
NOTICE_S=30
WATCHES=4		# Services, EndpointSlices, Nodes, Leases

agent_setup
api_start
node_add node1 || exit_test

A=10.9.0.100
R=203.0.113.5
N=203.0.113.6
svc_add default/web "$A,$R"
agent_start node1 --metrics-addr 127.0.0.1:$METRICS_PORT
check_holders "$A held by node1" 30 $A node1 "mode local link eth0"
check_holders "$R held by node1" 10 $R node1 "mode virtual"
wait_log node1 'msg="in contact with the API server' 10

# restarts: kubelb_agent_watch_restarts_total from node1's /metrics
restarts() {
	metrics node1 metrics || return 1
	[[ $METRICS_BODY =~ kubelb_agent_watch_restarts_total\ ([0-9]+) ]] &&
		echo "${BASH_REMATCH[1]}"
}
before=$(restarts) || fail "node1's /metrics: HTTP $METRICS_STATUS"
silent_re='msg="watch failed".*server does not answer'
in_contact_re='msg="in contact with the API server'
lost_re='msg="lost contact with the API server'
contacts=$(agent_log_count node1 "$in_contact_re")
losses=$(agent_log_count node1 "$lost_re")
mon_mark node1

# --- the server goes silent ---------------------------------------------------------
t_stall=$(now)
api_fault stall $STALL_S
if wait_for $((LEASE_S * 3)) eval \
	'[ "$(agent_log_count node1 "$lost_re")" -gt $losses ]'; then
	pass "node1's agent lost contact $(elapsed "$t_stall") s into the stall (lease ${LEASE_S} s)"
else
	fail "node1's agent did not log a loss of contact within $((LEASE_S * 3)) s"
fi

if wait_for $((NOTICE_S + 15)) eval \
	'[ "$(agent_log_count node1 "$silent_re")" -ge $WATCHES ]'; then
	# when the agent logged the last of those restarts, from its own clock
	t_notice=$(agent_log_time node1 "$silent_re")
	secs=$(awk -v a="$t_notice" -v b="${t_stall:0:-6}.${t_stall: -6}" \
		'BEGIN { printf "%.1f", a - b }')
	check "all $WATCHES silent watches restarted ('server does not answer') within $NOTICE_S s of the stall: ${secs} s" \
		awk -v s="$secs" -v n=$NOTICE_S 'BEGIN { exit !(s <= n) }'
else
	fail "the agent did not restart its $WATCHES watches within $((NOTICE_S + 15)) s of the stall"
	grep -E 'watch failed|server' "${AGENT_LOG[node1]}" | tail -n 8 | log_file
fi
after=$(restarts)
check "kubelb_agent_watch_restarts_total counts them: $before -> $after" \
	test "${after:-0}" -ge $((before + WATCHES))

# --- the server answers again ---------------------------------------------------------
if wait_for $((STALL_S + 60)) eval \
	'[ "$(agent_log_count node1 "$in_contact_re")" -gt $contacts ]'; then
	pass "node1's agent in contact again $(elapsed "$t_stall") s after the stall began"
else
	fail "node1's agent not in contact again $((STALL_S + 60)) s after the stall ended"
fi
svc_add default/after "$N"
check_holders "after the stall a new Service's $N reaches node1's kernel" 60 $N node1 "mode virtual"
check_eq "nothing else changed in node1's kernel meanwhile" "" \
	"$(mon_events node1 | grep -v " ${N//./\\.}/")"

exit_test
