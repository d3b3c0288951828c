#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# What kubelb-agent tells the cluster and the operator, with agents on
# node1 and node2:
#  - the winner of an on-link VIP, and only it, writes the Service
#    annotation kubelb.io/announcing-IPv4 / -IPv6 = "node,eth0" and posts
#    an Event (reason AnnouncingIP); when the VIP moves the new winner
#    rewrites it; nothing is rewritten while nothing changes (audit log);
#  - --report=false: no Service write and no Event at all (audit log);
#  - /healthz, /readyz (503 until synced, and while the kubelb device is
#    gone; 200 again after the device is re-created and the VIPs restored),
#    /metrics in Prometheus text format with VIPs by mode equal to the
#    kernel's, elections, reconcile counters, announcements.

source "$(dirname "$0")/agent_lib.sh"
require_agent
require_fake_api

# Nothing here is about failover speed: a longer lease keeps a slow VM
# (renewals late under load) from moving VIPs between the quiet checks.
LEASE_S=4

agent_setup
api_start
node_add node1 && node_add node2 || exit_test

V4=$(ip_with_order 10.9.0. 100 node1 node2)
V6=$(ip_with_order fd00:9:: 100 node2 node1)
D4=$(ip_with_order 10.9.0. $((${V4##*.} + 1)) node1 node2)
R=203.0.113.5
log "web: $V4 (node1 first), $V6 (node2 first), $R; db: $D4 (node1 first)"
svc_add default/web "$V4,$V6,$R"
svc_add default/db "$D4"

MX=(--metrics-addr 127.0.0.1:$METRICS_PORT)
# node1 starts unable to reach the API server: not ready
ip -n "$NS_NODE1" route add unreachable $API_ADDR/32
agent_start node1 "${MX[@]}"
agent_start node2 "${MX[@]}"
metrics_is() { metrics "$1" "$2"; [ "$METRICS_BODY" = "$3" ]; }
if wait_for 10 metrics_is node1 healthz $'ok\n'; then
	pass "/healthz: 200 ok"
else
	fail "/healthz: '$METRICS_BODY' HTTP $METRICS_STATUS"
fi
metrics node1 readyz
check_eq "/readyz before the first sync: 503" 503 "$METRICS_STATUS"
check_contains "... saying why" "not ready" "$METRICS_BODY"
ip -n "$NS_NODE1" route del unreachable $API_ADDR/32
wait_ready() { metrics "$1" readyz; }
if wait_for 20 wait_ready node1; then
	pass "/readyz: 200 once synced"
else
	fail "/readyz: still $METRICS_STATUS"
fi
metrics node1 nowhere
check_eq "/nowhere: 404" 404 "$METRICS_STATUS"

LOCAL="mode local link eth0"
check_holders "$V4 on node1" 10 $V4 node1 "$LOCAL"
check_holders "$V6 on node2" 10 $V6 node2 "$LOCAL"
check_holders "$D4 on node1" 10 $D4 node1 "$LOCAL"
check_holders "$R on both" 10 $R "node1 node2"

# --- annotations and Events -----------------------------------------------------------------
ann_is() { [ "$(svc_annotation "$1" "$2")" = "$3" ]; }
check_ann() {
	if wait_for 10 ann_is "$1" "kubelb.io/announcing-$2" "$3"; then
		pass "$1: kubelb.io/announcing-$2 = $3"
	else
		fail "$1: kubelb.io/announcing-$2 = '$(svc_annotation "$1" "kubelb.io/announcing-$2")', expected '$3'"
	fi
}
check_ann default/web IPv4 node1,eth0
check_ann default/web IPv6 node2,eth0
check_ann default/db IPv4 node1,eth0
check_eq "default/db has no IPv6 annotation" "" "$(svc_annotation default/db kubelb.io/announcing-IPv6)"
check_eq "default/web carries exactly the two announcing annotations (none for the routed $R)" \
	"kubelb.io/announcing-IPv4 kubelb.io/announcing-IPv6" \
	"$(API_QUERY='py:" ".join(sorted(k for k in d["metadata"]["annotations"] if k.startswith("kubelb.io/announcing")))' svc_get default/web)"

# events: "SERVICE HOST MESSAGE" lines of reason AnnouncingIP, oldest first
events() {
	API_QUERY='py:("%s %s %s" % (e["involvedObject"]["name"], e["source"]["host"], e["message"])
		for e in sorted(d["items"], key=lambda e: (e["metadata"]["creationTimestamp"],
			int(e["metadata"]["resourceVersion"]))) if e.get("reason") == "AnnouncingIP")' \
		api GET /api/v1/namespaces/default/events
}
has_event() { [[ $'\n'$(events)$'\n' == *$'\n'"$1"$'\n'* ]]; }
# the last Event about VIP names its holder (the agents may have started
# one before the other: earlier Events may name the first one up)
last_event_is() { [ "$(events | grep " $2 announced" | tail -n 1)" = "$1 $3 $2 announced by $3 on eth0" ]; }
for e in "web $V4 node1" "web $V6 node2" "db $D4 node1"; do
	set -- $e
	if wait_for 10 last_event_is "$@"; then
		pass "the last Event about $2 is from its holder $3: '$2 announced by $3 on eth0'"
	else
		fail "the last Event about $2: '$(events | grep " $2 announced" | tail -n 1)', expected one from $3"
	fi
done

# audit: writes (patch/update/create) of RESOURCE by USER after TIME
writes() {
	API_QUERY="py:('%s %s/%s %s' % (r['verb'], r['namespace'], r['name'], r['code']) for r in d
		if r['user'] == '$1' and r['resource'] == '$2' and r['time'] > '${3:-}' and
		r['verb'] in ('patch', 'update', 'create'))" api FILE "$API_AUDIT"
}
all_writes() { writes node1 services "$1"; writes node2 services "$1"; writes node1 events "$1"; writes node2 events "$1"; }

# audit_now: the time as the audit log writes it (UTC, whole seconds); a
# write counts as after T only from the second after T's
audit_now() { TZ=UTC printf '%(%Y-%m-%dT%H:%M:%SZ)T\n' -1; }
second_over() { [[ $(audit_now) > $1 ]]; }

# nothing rewritten while nothing changes: the quiet seconds are what is
# tested, so they are slept
t_quiet=$(audit_now)
sleep 3
check_eq "no Service or Event written in quiet seconds" "" "$(all_writes "$t_quiet")"

# --- metrics ------------------------------------------------------------------------------------
metrics node1 metrics
check_eq "/metrics: 200" 200 "$METRICS_STATUS"
m1=$METRICS_BODY
check_contains "/metrics: kubelb_agent_vips is there" "kubelb_agent_vips" "$m1"
bad=$(grep -vE '^(# (HELP|TYPE) .*|[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? [-+0-9.eE]+|[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? [-+]?(Inf|NaN))$' <<<"$m1" | grep -v '^$' | head -n 3)
check_eq "/metrics: every line is Prometheus text format" "" "$bad"
# metric NAME{LABELS}: its value in m1, integer part
metric() {
	local line
	while IFS= read -r line; do
		[[ $line == "$1 "* ]] && { line=${line##* }; echo "${line%%.*}"; return; }
	done <<<"$m1"
	echo -1
}
kernel_count() { klb "${NODE_NS[$1]}" vip show | grep " owner $AGENT_OWNER" | grep -c " mode $2"; }
check_eq "node1: kubelb_agent_vips{mode=\"local\"} = the kernel's (2)" "$(kernel_count node1 local)" \
	"$(metric 'kubelb_agent_vips{mode="local"}')"
check_eq "node1: kubelb_agent_vips{mode=\"virtual\"} = the kernel's (1)" "$(kernel_count node1 virtual)" \
	"$(metric 'kubelb_agent_vips{mode="virtual"}')"
check "node1: elections won >= 2 ($V4, $D4)" \
	test "$(metric 'kubelb_agent_elections_total{result="won"}')" -ge 2
check "node1: reconcile adds >= 3" \
	test "$(metric 'kubelb_agent_reconcile_ops_total{op="add"}')" -ge 3
check "node1: announcements > 0 (the kernel's GARPs for its VIPs)" \
	test "$(metric kubelb_agent_announcements_total)" -gt 0
check_match "node1: reconcile duration histogram" '^kubelb_agent_reconcile_duration_seconds_count [1-9]' "$m1"
check_match "node1: API errors by code (it started cut off: transport)" \
	'^kubelb_agent_api_errors_total\{code="transport"\} [1-9]' "$m1"
# Watches end only when the server ends them (or after 300-600 s): cut
# node1's one Service watch, then expire the history and cut it again, and
# count exactly those.
restarts0=$(metric kubelb_agent_watch_restarts_total)
relists0=$(metric kubelb_agent_relists_total)
log "node1 before the cuts: watch restarts $restarts0, relists $relists0"
# counter_is NODE NAME VALUE: NODE's /metrics has NAME at VALUE
counter_is() { metrics "$1" metrics && m1=$METRICS_BODY && [ "$(metric "$2")" = "$3" ]; }
# check_counter DESC NODE NAME VALUE: wait until NAME is exactly VALUE (a
# counter that stays below it or jumps past it fails)
check_counter() {
	if wait_for 15 counter_is "$2" "$3" "$4"; then
		pass "$1"
	else
		fail "$1: $3 is $(metric "$3"), expected $4"
	fi
}
api_ok "cut the Service watches" POST /_fake/fault '{"kind":"cut","path":"/api/v1/services"}' >/dev/null
check_counter "node1: one Service watch cut, kubelb_agent_watch_restarts_total $restarts0 -> $((restarts0 + 1))" \
	node1 kubelb_agent_watch_restarts_total $((restarts0 + 1))
check_eq "... and no relist (it resumes from its resourceVersion)" "$relists0" "$(metric kubelb_agent_relists_total)"
api_ok "expire the history, cut the Service watches" POST /_fake/fault \
	'{"kind":"expire","cut":true,"path":"/api/v1/services"}' >/dev/null
check_counter "node1: history expired, kubelb_agent_relists_total $relists0 -> $((relists0 + 1))" \
	node1 kubelb_agent_relists_total $((relists0 + 1))
log "node1 after the expiry: watch restarts $(metric kubelb_agent_watch_restarts_total)"
check_holders "the VIPs survive the relist ($V4 on node1)" 10 $V4 node1 "$LOCAL"
metrics node2 metrics
m1=$METRICS_BODY
check_eq "node2: kubelb_agent_vips{mode=\"local\"} = the kernel's (1)" "$(kernel_count node2 local)" \
	"$(metric 'kubelb_agent_vips{mode="local"}')"

# --- the VIPs move: the new winner, and only it, writes -------------------------------------
t_move=$(audit_now)
wait_for 2 second_over "$t_move"
node_status node1 Ready False
check_holders "node1 NotReady: $V4 moves to node2" 10 $V4 node2 "$LOCAL"
check_holders "... and $D4" 10 $D4 node2 "$LOCAL"
check_ann default/web IPv4 node2,eth0
check_ann default/db IPv4 node2,eth0
for e in "web $V4" "db $D4"; do
	set -- $e
	if wait_for 10 has_event "$1 node2 $2 announced by node2 on eth0"; then
		pass "an Event from node2 about $2"
	else
		fail "no Event from node2 about $2"
		events | log_file
	fi
done
check_eq "node1, no longer holding anything local, wrote nothing since" "" \
	"$(writes node1 services "$t_move"; writes node1 events "$t_move")"
check_eq "node2 patched exactly default/web and default/db, once each" \
	"$(printf 'patch default/db 200\npatch default/web 200')" "$(writes node2 services "$t_move" | sort)"
metrics node1 metrics
m1=$METRICS_BODY
check "node1: elections lost >= 2 after NotReady" \
	test "$(metric 'kubelb_agent_elections_total{result="lost"}')" -ge 2
check_eq "node1: kubelb_agent_vips{mode=\"local\"} 0" 0 "$(metric 'kubelb_agent_vips{mode="local"}')"

# --- --report=false ----------------------------------------------------------------------------------
agent_stop node2 KILL
t_restart=$(audit_now)
wait_for 2 second_over "$t_restart"
agent_start node2 --report=false
N=$(ip_with_order 10.9.0. $((${D4##*.} + 1)) node2 node1)
svc_add default/new "$N"
check_holders "node2 (--report=false) holds $N" 20 $N node2 "$LOCAL"
check_holders "... and $V4 (node1 still NotReady)" 10 $V4 node2 "$LOCAL"
# a reporting agent writes right after taking a VIP: a second of silence
# after the takeover is what is tested
sleep 1
check_eq "--report=false: no annotation on default/new" "" \
	"$(svc_annotation default/new kubelb.io/announcing-IPv4)"
check_eq "--report=false: no Event about default/new" "" "$(events | grep '^new ')"
check_eq "--report=false: node2 wrote no Service and no Event since its restart" "" \
	"$(writes node2 services "$t_restart"; writes node2 events "$t_restart")"
check_match "node2 logs that reporting is off" 'reporting disabled' "$(<"${AGENT_LOG[node2]}")"
node_status node1 Ready True
check_holders "node1 Ready: $V4 back on node1" 10 $V4 node1 "$LOCAL"
check_ann default/web IPv4 node1,eth0

# --- the kubelb device disappears and comes back ---------------------------------------------------
ip -n "$NS_NODE1" link del kube-lb0
not_ready() { ! metrics node1 readyz && [ "$METRICS_STATUS" = 503 ]; }
if wait_for 10 not_ready; then
	pass "kube-lb0 deleted: /readyz 503 (${METRICS_BODY%$'\n'})"
else
	fail "kube-lb0 deleted: /readyz $METRICS_STATUS"
fi
check "... /healthz still 200" metrics node1 healthz
ns_add_kubelb "$NS_NODE1" kube-lb0
check_holders "kube-lb0 re-created: node1's VIPs restored ($V4)" 10 $V4 node1 "$LOCAL"
check_holders "... ($R)" 10 $R "node1 node2" "mode virtual"
if wait_for 10 wait_ready node1; then
	pass "... /readyz 200 again"
else
	fail "... /readyz still $METRICS_STATUS"
fi

exit_test
