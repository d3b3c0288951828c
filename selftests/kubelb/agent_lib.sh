# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# agent_lib.sh - helpers for the kubelb-agent selftests (agent_*.sh), on top
# of lib.sh. Source it instead of lib.sh.
#
# The cluster: lan_setup's LAN (client 10.9.0.1, node1 10.9.0.11, node2
# 10.9.0.12 on br0) plus the fake kube-apiserver (tools/fake-kube-api) in
# NS_LAN, listening on 10.9.0.254 (an address of br0) over TLS; each node
# namespace runs its own kubelb-agent as Node "node1" / "node2".
#
#   require_agent, require_fake_api    skip without them
#   agent_setup                  lan_setup, the API address, a `kubelbctl
#                                monitor` in each node (mon_start)
#   api_start [ARGS...]          the fake API server (tokens tok-node1/2,
#                                client cert node1, admin token, audit log);
#                                API_URL, API_CA; namespace kubelb-system
#   api METHOD PATH [BODY [CTYPE]]  one admin request through agent_api.py
#                                (no process per call): body on stdout, or
#                                with API_QUERY="a|b|c" / "py:EXPR" what it
#                                picks; API_STATUS; 0 on 2xx. api FILE PATH:
#                                a JSON-lines file (the audit log) to query
#   api_ok DESC METHOD PATH ...  api, fail() unless 2xx
#   api_fault KIND [SECONDS [COUNT [STATUS]]]   POST /_fake/fault
#   kc_write FILE [KEY=VALUE...] a kubeconfig (see kc_write)
#   ns_add NAME; node_add NAME [LABEL=VALUE...]; node_status NAME TYPE STATUS;
#   node_label NAME KEY [VALUE]  (no VALUE: remove the label)
#   svc_add NS/NAME IPS [etp=Local] [class=C] [type=T] [ann:K=V]...
#                                a Service (then its status: IPS, comma-sep.;
#                                "IP!proxy" gives the entry ipMode Proxy)
#   svc_ips NS/NAME IPS; svc_patch NS/NAME JSON; svc_del NS/NAME; svc_get
#   svc_annotation NS/NAME KEY   the annotation's value ("" if absent)
#   slice_set NS/SVC [NODE[:ready|:serving|:notready]...]  its EndpointSlice
#   lease NODE; lease_absent NODE    the agent's Lease kubelb-node-NODE
#   agent_start NODE [ARGS...]   kubelb-agent in NODE's namespace (AGENT_ENV
#                                its extra environment), log in
#                                $TMPD/agent-NODE.N.log (AGENT_LOG[NODE])
#   agent_stop NODE [SIGNAL [TIMEOUT]]   signal it, wait; AGENT_RC[NODE]
#   agent_wait_exit NODE SECONDS; agent_running NODE
#   agent_log_has NODE ERE       a line of its current log matches
#   wait_log NODE ERE [SECONDS]  wait_for agent_log_has, fail() if not
#   vip_line NODE IP             IP's entry in NODE's table (from the
#                                monitor), or ""; vip_line_kernel: `vip show`
#   holds NODE IP [ERE]          the agent's VIP IP is in NODE's kernel
#                                (owner = the agent's), line matches ERE (as
#                                the monitor tells); holds_kernel: `vip show`
#   holders IP                   nodes holding IP (any owner), "node1 node2"
#   wait_holders SECONDS IP "NODES"   until holders IP is exactly that
#   check_holders DESC SECONDS IP "NODES" [ERE]   wait for that (monitor),
#                                then check it in the kernels (`vip show`)
#   mon_mark NODE; mon_lines NODE IP [VERBS]; mon_events NODE;
#   mon_time NODE VERB IP        the node's kernel events since the mark
#   mon_sync NODE...             every event the kernel sent so far is in
#                                the nodes' monitor files
#   winner IP NODE...; sha_order IP NODE...   by sha256(node "#" ip)
#   ip_with_order PREFIX FIRST NODE...   the first PREFIX<i> (i >= FIRST)
#                                whose sha256 order is exactly NODE...
#   arp_replies IP [COUNT]       client's arping: "recv=N from: MAC*n ..."
#   ndisc_replies IP             client's ndisc6: "MAC ..." per advertisement
#   metrics NODE PATH            GET http://127.0.0.1:$METRICS_PORT/PATH in
#                                NODE: METRICS_STATUS, METRICS_BODY
#
# Everything avoids starting processes where it can: in the test VM each
# exec costs from a quarter of a second (kubelbctl) to seconds (python3,
# curl, jq).
#
# Agents are not in lib.sh's background list: the EXIT trap kills them
# with SIGKILL (a graceful stop would wait for an API server that is being
# killed too) and, when the test failed, prints the tail of every agent log
# and of the API server's log. With KLB_AGENT_LOGDIR set the logs are also
# copied there (e.g. $VM_OUT under tools/vm-run --out).

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

AGENT_BIN=${KUBELB_AGENT:-$KLB_ROOT/userspace/kubelb-agent}
FAKE_API=$KLB_ROOT/tools/fake-kube-api
API_ADDR=10.9.0.254
API_PORT=
API_URL=
# The CA, server and client certificates are made once (openssl under TCG
# takes seconds) and shared by the tests of one boot: every test starts the
# server with the same names, so it reuses them.
API_TLS=${KLB_AGENT_TLS_DIR:-/tmp/kubelb-agent-tls}
API_ADDR6=fd00:9::254
API_CA=$API_TLS/ca.crt
API_LOG=$TMPD/api.log
API_AUDIT=$TMPD/audit.log
ADMIN_TOKEN=admin-$$-$RANDOM
# the agents' namespace and their owner mark as `vip show` prints it
AGENT_NS=kubelb-system
AGENT_OWNER=1801612385
LEASE_S=${LEASE_S:-2}
METRICS_PORT=9377

declare -A NODE_NS=() NODE_MAC=() AGENT_PID=() AGENT_RC=() AGENT_LOG=()
declare -A _AGENT_RUNS=() _AGENT_WRAP=()
AGENT_ENV=()		# extra environment for the next agent_start
API_PID=


# --- setup -------------------------------------------------------------------

require_agent() {
	require_base
	require_python
	require_cmd curl jq sha256sum
	[ -x "$AGENT_BIN" ] || skip "$AGENT_BIN not built (make -C userspace kubelb-agent)"
}

require_fake_api() {
	[ -f "$FAKE_API" ] || skip "$FAKE_API missing"
}

# agent_setup: the LAN, the nodes' names, 10.9.0.254 on br0 for the API,
# a `kubelbctl monitor` in each node (see mon_start, vip_line)
agent_setup() {
	lan_setup
	NODE_NS=([node1]=$NS_NODE1 [node2]=$NS_NODE2)
	NODE_MAC=([node1]=$MAC_NODE1 [node2]=$MAC_NODE2)
	ip -n "$NS_LAN" addr add $API_ADDR/24 dev br0 ||
		{ fail "agent_setup: $API_ADDR on br0"; exit_test; }
	on_exit _agent_cleanup
	mon_start node1 && mon_start node2 || exit_test
}

# --- the fake API server -------------------------------------------------------

# api_start [ARGS...]: start tools/fake-kube-api in NS_LAN (extra ARGS are
# passed on), wait until it listens; then the admin client. Tokens:
# tok-node1 / tok-node2 are the users node1 / node2, ADMIN_TOKEN the admin;
# $API_TLS/node1.crt/.key a client certificate of node1. The server
# certificate names 10.9.0.254, fd00:9::254 and kubernetes.default.svc.
api_start() {
	local t0
	t0=$(now)
	mkdir -p "$API_TLS"
	rm -f "$TMPD/api.port"
	# the client's python3 starts meanwhile: each start costs seconds
	_api_client_start || exit_test
	nsexec_bg "$NS_LAN" "$PYTHON" "$FAKE_API" --listen $API_ADDR --port 0 \
		--port-file "$TMPD/api.port" --tls-dir "$API_TLS" \
		--san $API_ADDR --san $API_ADDR6 --san kubernetes.default.svc \
		--client-cert node1 \
		--token tok-node1=node1 --token tok-node2=node2 \
		--admin-token "$ADMIN_TOKEN" --audit "$API_AUDIT" \
		"$@" >>"$API_LOG" 2>&1
	API_PID=$NSEXEC_PID
	_KLB_BG+=("$API_PID")
	if ! wait_for 90 _api_up; then
		fail "the fake API server did not start"
		log_file "$API_LOG"
		exit_test
	fi
	read -r API_PORT <"$TMPD/api.port"
	API_URL=https://$API_ADDR:$API_PORT
	api CONFIG "$API_URL" "$API_CA" "$ADMIN_TOKEN" >/dev/null ||
		{ fail "agent_api.py does not answer"; exit_test; }
	ns_add "$AGENT_NS" || exit_test
	log "fake API server up at $API_URL in $(elapsed "$t0") s"
}

_api_up() {
	[ -s "$TMPD/api.port" ] && [ -s "$API_CA" ] || return 1
	kill -0 "$API_PID" 2>/dev/null || return 1
}

# ns_add NAME: a Kubernetes namespace
ns_add() {
	api_ok "namespace $1" POST /api/v1/namespaces \
		"{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"$1\"}}" >/dev/null
}

# the admin client (agent_api.py), one process for every api call
_API_W='' _API_R=''
_api_client_start() {
	mkfifo "$TMPD/api.in" "$TMPD/api.out" || return 1
	# opened read-write first: opening a FIFO that way never blocks
	exec {_API_W}<>"$TMPD/api.in"
	exec {_API_R}<>"$TMPD/api.out"
	nsexec_bg "$NS_LAN" "$PYTHON" "$KLB_SELFTEST_DIR/agent_api.py" \
		<"$TMPD/api.in" >"$TMPD/api.out" 2>>"$API_LOG"
	_KLB_BG+=("$NSEXEC_PID")
}

# api METHOD PATH [BODY [CONTENT-TYPE]]: one request with the admin token.
# Prints the response body, or with API_QUERY set ("key|key|..." or
# "py:EXPRESSION over d", see agent_api.py) only what it picks; API_STATUS
# is the HTTP status (000: none). METHOD FILE: PATH is a file of JSON lines
# (the audit log) for API_QUERY to look at.
# Returns 0 for 2xx. Call it in the main shell or in $(...), never in a
# pipeline's background part alongside another call.
API_STATUS=
API_QUERY=
api() {
	local method=$1 path=$2 body=${3-} ctype=${4:-application/json} line out=''
	local q=$API_QUERY
	# CONFIG URL CA TOKEN
	[ "$method" = CONFIG ] && ctype=$3 q=$4 body=
	# one line per request: queries may be written over several
	q=${q//$'\n'/ } q=${q//$'\t'/ }
	printf '%s\t%s\t%s\t%s\t%s\n' "$method" "$path" "$ctype" "$q" "$body" >&"$_API_W"
	API_STATUS=000
	while IFS= read -r -t 60 line <&"$_API_R"; do
		if [[ $line == "@@ status="* ]]; then
			API_STATUS=${line#@@ status=}
			break
		fi
		out+=$line$'\n'
	done
	printf '%s' "$out" >"$TMPD/api.err"
	printf '%s' "$out"
	[[ $API_STATUS == 2?? ]]
}

# api_ok DESC METHOD PATH [BODY [CTYPE]]: api, fail() unless 2xx
api_ok() {
	local desc=$1 out
	shift
	if ! out=$(api "$@"); then
		fail "$desc: $1 $2 -> HTTP $API_STATUS"
		printf '%s\n' "$out" | head -c 1000 | log_file
		log_file "$TMPD/api.err"
		return 1
	fi
}

# api_fault KIND [SECONDS [COUNT [STATUS]]]
api_fault() {
	local body="{\"kind\":\"$1\""
	[ -n "${2:-}" ] && body+=",\"seconds\":$2"
	[ -n "${3:-}" ] && body+=",\"count\":$3"
	[ -n "${4:-}" ] && body+=",\"status\":$4"
	api_ok "fault $body" POST /_fake/fault "$body}" >/dev/null
}

# --- kubeconfigs ----------------------------------------------------------------

# kc_write FILE [KEY=VALUE...]: a kubeconfig for $API_URL. Keys:
#   server=URL  ca=FILE  ca-data=FILE (its base64)  insecure=true
#   tls-server-name=NAME  token=T  token-file=FILE  cert=FILE key=FILE
#   cert-data=FILE key-data=FILE  namespace=NS
# Without any ca/insecure key: certificate-authority: $API_CA.
kc_write() {
	local file=$1 kv k v cluster='' user='' ctx='' server=$API_URL has_ca=
	shift
	for kv in "$@"; do
		k=${kv%%=*} v=${kv#*=}
		case $k in
		server) server=$v ;;
		ca) cluster+="    certificate-authority: $v"$'\n'; has_ca=1 ;;
		ca-data) cluster+="    certificate-authority-data: $(base64 -w0 <"$v")"$'\n'; has_ca=1 ;;
		insecure) cluster+="    insecure-skip-tls-verify: $v"$'\n'; has_ca=1 ;;
		tls-server-name) cluster+="    tls-server-name: $v"$'\n' ;;
		token) user+="    token: $v"$'\n' ;;
		token-file) user+="    tokenFile: $v"$'\n' ;;
		cert) user+="    client-certificate: $v"$'\n' ;;
		key) user+="    client-key: $v"$'\n' ;;
		cert-data) user+="    client-certificate-data: $(base64 -w0 <"$v")"$'\n' ;;
		key-data) user+="    client-key-data: $(base64 -w0 <"$v")"$'\n' ;;
		namespace) ctx+="    namespace: $v"$'\n' ;;
		*) fail "kc_write: unknown key $k"; return 1 ;;
		esac
	done
	[ -n "$has_ca" ] || cluster="    certificate-authority: $API_CA"$'\n'$cluster
	[ -n "$user" ] || user="    {}"$'\n'
	cat >"$file" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: other
  cluster:
    server: https://192.0.2.1:1
- name: test
  cluster:
    server: $server
${cluster}contexts:
- name: other
  context:
    cluster: other
    user: other
- name: test
  context:
    cluster: test
    user: agent
${ctx}current-context: test
users:
- name: other
  user:
    token: wrong
- name: agent
  user:
${user}
EOF
}

# --- Kubernetes objects -----------------------------------------------------------

# node_add NAME [LABEL=VALUE...]: a Ready Node
node_add() {
	local name=$1 kv labels=''
	shift
	for kv in "$@"; do
		labels+="${labels:+,}\"${kv%%=*}\":\"${kv#*=}\""
	done
	api_ok "node_add $name" POST /api/v1/nodes \
		"{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"$name\",\"labels\":{$labels}},\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"},{\"type\":\"NetworkUnavailable\",\"status\":\"False\"}]}}" >/dev/null
}

# node_status NAME TYPE STATUS: set one condition (the others as they are)
node_status() {
	local name=$1 type=$2 status=$3 conds
	conds=$(API_QUERY="py:json.dumps([c for c in d['status'].get('conditions', []) if c['type'] != '$type'] + [{'type': '$type', 'status': '$status'}])" \
		api GET "/api/v1/nodes/$name")
	api_ok "node $name $type=$status" PATCH "/api/v1/nodes/$name/status" \
		"{\"status\":{\"conditions\":$conds}}" application/merge-patch+json >/dev/null
}

# node_label NAME KEY [VALUE]: set, or without VALUE remove, a label
node_label() {
	local v=null
	[ $# -ge 3 ] && v="\"$3\""
	api_ok "node $1 label $2" PATCH "/api/v1/nodes/$1" \
		"{\"metadata\":{\"labels\":{\"$2\":$v}}}" application/merge-patch+json >/dev/null
}

# _ns_name NS/NAME: sets _NS and _NAME
_ns_name() { _NS=${1%%/*} _NAME=${1#*/}; }

# _ingress IPS: the status.loadBalancer.ingress JSON array
_ingress() {
	local ip out='' IFS=,
	for ip in $1; do
		if [[ $ip == *'!proxy' ]]; then
			out+="${out:+,}{\"ip\":\"${ip%!proxy}\",\"ipMode\":\"Proxy\"}"
		else
			out+="${out:+,}{\"ip\":\"$ip\",\"ipMode\":\"VIP\"}"
		fi
	done
	echo "[$out]"
}

# svc_add NS/NAME IPS [etp=Local] [class=C] [type=T] [ann:K=V]...
svc_add() {
	local ips=$2 kv etp=Cluster class='' type=LoadBalancer ann='' spec
	_ns_name "$1"
	shift 2
	for kv in "$@"; do
		case $kv in
		etp=*) etp=${kv#etp=} ;;
		class=*) class=",\"loadBalancerClass\":\"${kv#class=}\"" ;;
		type=*) type=${kv#type=} ;;
		ann:*) kv=${kv#ann:}; ann+="${ann:+,}\"${kv%%=*}\":\"${kv#*=}\"" ;;
		*) fail "svc_add: unknown option $kv"; return 1 ;;
		esac
	done
	spec="{\"type\":\"$type\",\"externalTrafficPolicy\":\"$etp\",\"ports\":[{\"port\":80,\"protocol\":\"TCP\",\"targetPort\":8080}],\"selector\":{\"app\":\"$_NAME\"}$class}"
	api_ok "svc_add $_NS/$_NAME" POST "/api/v1/namespaces/$_NS/services" \
		"{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"$_NAME\",\"namespace\":\"$_NS\",\"annotations\":{$ann}},\"spec\":$spec}" >/dev/null &&
		svc_ips "$_NS/$_NAME" "$ips"
}

# svc_ips NS/NAME IPS: status.loadBalancer.ingress = IPS ("" = none)
svc_ips() {
	_ns_name "$1"
	api_ok "svc $1 ingress $2" PATCH "/api/v1/namespaces/$_NS/services/$_NAME/status" \
		"{\"status\":{\"loadBalancer\":{\"ingress\":$(_ingress "$2")}}}" \
		application/merge-patch+json >/dev/null
}

# svc_patch NS/NAME JSON: a merge patch of the Service
svc_patch() {
	_ns_name "$1"
	api_ok "svc $1 patch $2" PATCH "/api/v1/namespaces/$_NS/services/$_NAME" "$2" \
		application/merge-patch+json >/dev/null
}

svc_del() {
	_ns_name "$1"
	api_ok "svc $1 delete" DELETE "/api/v1/namespaces/$_NS/services/$_NAME" >/dev/null
}

svc_get() {
	_ns_name "$1"
	api GET "/api/v1/namespaces/$_NS/services/$_NAME"
}

# svc_annotation NS/NAME KEY: the value, "" when absent
svc_annotation() {
	API_QUERY="metadata|annotations|$2" svc_get "$1"
}

# slice_set NS/SVC [NODE[:ready|:serving|:notready]...]: the Service's one
# EndpointSlice (NS/SVC-kubelb) has one endpoint on each NODE (ready
# unless said otherwise); created if absent
slice_set() {
	local svc=$1 e eps='' node cond n=1 body
	shift
	_ns_name "$svc"
	for e in "$@"; do
		node=${e%%:*}
		case $e in
		*:serving) cond='{"ready":false,"serving":true,"terminating":true}' ;;
		*:notready) cond='{"ready":false,"serving":false}' ;;
		*) cond='{"ready":true}' ;;
		esac
		eps+="${eps:+,}{\"addresses\":[\"10.244.0.$n\"],\"conditions\":$cond,\"nodeName\":\"$node\"}"
		n=$((n + 1))
	done
	body="{\"apiVersion\":\"discovery.k8s.io/v1\",\"kind\":\"EndpointSlice\",\"metadata\":{\"name\":\"$_NAME-kubelb\",\"namespace\":\"$_NS\",\"labels\":{\"kubernetes.io/service-name\":\"$_NAME\"}},\"addressType\":\"IPv4\",\"ports\":[{\"port\":8080,\"protocol\":\"TCP\"}],\"endpoints\":[$eps]}"
	if api PATCH "/apis/discovery.k8s.io/v1/namespaces/$_NS/endpointslices/$_NAME-kubelb" \
		"{\"endpoints\":[$eps]}" application/merge-patch+json >/dev/null; then
		return 0
	fi
	api_ok "slice_set $svc $*" POST "/apis/discovery.k8s.io/v1/namespaces/$_NS/endpointslices" \
		"$body" >/dev/null
}

# lease NODE: the agent's Lease (JSON), fails when absent
lease() { api GET "/apis/coordination.k8s.io/v1/namespaces/$AGENT_NS/leases/kubelb-node-$1"; }
lease_absent() { ! lease "$1" >/dev/null && [ "$API_STATUS" = 404 ]; }

# --- agents -------------------------------------------------------------------------

# agent_start NODE [ARGS...]: start kubelb-agent as NODE in its namespace
# with --node NODE --lease-duration $LEASE_S and, unless ARGS name a source
# (--kubeconfig / --services) or start with --no-kubeconfig, --kubeconfig
# $TMPD/kc-NODE.yaml (written with the node's token when absent). AGENT_ENV
# (VAR=VALUE words) is its environment on top of ours.
agent_start() {
	local node=$1 ns kc=1 a run
	shift
	ns=${NODE_NS[$node]}
	if [ "${1:-}" = --no-kubeconfig ]; then
		kc=
		shift
	fi
	for a in "$@"; do
		case $a in --kubeconfig*|--services*) kc= ;; esac
	done
	local -a args=(--node "$node" --lease-duration "$LEASE_S")
	if [ -n "$kc" ]; then
		[ -f "$TMPD/kc-$node.yaml" ] || kc_write "$TMPD/kc-$node.yaml" token=tok-$node
		args+=(--kubeconfig "$TMPD/kc-$node.yaml")
	fi
	run=$((${_AGENT_RUNS[$node]:-0} + 1))
	_AGENT_RUNS[$node]=$run
	AGENT_LOG[$node]=$TMPD/agent-$node.$run.log
	echo "# $(date -u +%H:%M:%S.%N) kubelb-agent ${args[*]} $*" >"${AGENT_LOG[$node]}"
	# A subshell starts the agent and waits for it, so that the agent's
	# exit status lands in a file and no "Killed" job notice clutters the
	# output; the subshell itself always exits normally.
	local pidf=$TMPD/agent-$node.$run.pid rcf=$TMPD/agent-$node.$run.rc
	(
		nsexec_bg "$ns" env "${AGENT_ENV[@]}" "$AGENT_BIN" "${args[@]}" "$@" \
			>>"${AGENT_LOG[$node]}" 2>&1
		echo "$NSEXEC_PID" >"$pidf.tmp" && mv "$pidf.tmp" "$pidf"
		{ wait "$NSEXEC_PID"; echo $? >"$rcf"; } 2>/dev/null
	) &
	_AGENT_WRAP[$node]=$!
	AGENT_RC[$node]=
	AGENT_PID[$node]=
	while [ ! -s "$pidf" ]; do
		sleep 0.05
	done
	read -r "AGENT_PID[$node]" <"$pidf"
}

agent_running() {
	[ -n "${AGENT_PID[$1]:-}" ] && [ ! -f "$TMPD/agent-$1.${_AGENT_RUNS[$1]}.rc" ]
}

# _agent_reap NODE: the agent has exited: AGENT_RC[NODE] = its status
_agent_reap() {
	local node=$1
	wait "${_AGENT_WRAP[$node]}" 2>/dev/null
	read -r "AGENT_RC[$node]" <"$TMPD/agent-$node.${_AGENT_RUNS[$node]}.rc"
	AGENT_PID[$node]=
}

# agent_stop NODE [SIGNAL [TIMEOUT]]: send SIGNAL (TERM), wait up to
# TIMEOUT (10) seconds for the exit (then SIGKILL); AGENT_RC[NODE] = status.
# Returns 1 if it had to be killed.
agent_stop() {
	local node=$1 sig=${2:-TERM} timeout=${3:-10} pid=${AGENT_PID[$1]:-} rc=0
	[ -n "$pid" ] || return 0
	kill -"$sig" "$pid" 2>/dev/null
	if ! wait_for "$timeout" eval '! agent_running "$node"'; then
		kill -KILL "$pid" 2>/dev/null
		rc=1
	fi
	_agent_reap "$node"
	return $rc
}

# agent_wait_exit NODE TIMEOUT: wait for the agent to exit by itself
agent_wait_exit() {
	local node=$1
	[ -n "${AGENT_PID[$1]:-}" ] || return 0
	wait_for "$2" eval '! agent_running "$node"' || return 1
	_agent_reap "$node"
}

# agent_log_has NODE ERE: a line of the node's current agent log matches
agent_log_has() {
	local s=
	[ -f "${AGENT_LOG[$1]}" ] && _slurp s "${AGENT_LOG[$1]}"
	_has_line "$2" "$s"
}

# agent_log_count NODE ERE: how many lines of the current log match
agent_log_count() {
	local line n=0
	while IFS= read -r line; do
		[[ $line =~ $2 ]] && n=$((n + 1))
	done <"${AGENT_LOG[$1]}"
	echo $n
}

# wait_log NODE ERE [SECONDS]: wait for a matching log line; fail() if none
wait_log() {
	local node=$1 re=$2 t=${3:-15}
	wait_for "$t" agent_log_has "$node" "$re" && return 0
	fail "$node's agent never logged /$re/ (${t}s)"
	return 1
}

# agent_log_time NODE ERE: when (EPOCHREALTIME format) the agent logged
# the last line of its current log that matches ERE
agent_log_time() {
	local line
	line=$(grep -E "$2" "${AGENT_LOG[$1]}" | tail -n 1)
	[[ $line =~ time=([0-9T:.-]+)Z ]] || return 1
	date -u -d "${BASH_REMATCH[1]/T/ }" +%s.%6N
}

# agent_synced NODE: the agent applied the cluster's state once
agent_synced() { agent_log_has "$1" 'msg="synced'; }

_agent_cleanup() {
	local node pid f
	for node in "${!AGENT_PID[@]}"; do
		pid=${AGENT_PID[$node]}
		[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	done
	for node in "${!_AGENT_WRAP[@]}"; do
		wait "${_AGENT_WRAP[$node]}" 2>/dev/null
	done
	if [ -n "${KLB_AGENT_LOGDIR:-}" ]; then
		mkdir -p "$KLB_AGENT_LOGDIR/$TEST_NAME" &&
			cp "$TMPD"/agent-*.log "$TMPD"/api.log "$TMPD"/audit.log \
				"$KLB_AGENT_LOGDIR/$TEST_NAME/" 2>/dev/null
	fi
	[ "$RET" = "$KSFT_PASS" ] && return
	for f in "$TMPD"/agent-*.log "$API_LOG"; do
		[ -f "$f" ] || continue
		log "--- last lines of ${f##*/}:"
		tail -n 40 "$f" | log_file
	done
}

# --- the kernel's VIP tables ---------------------------------------------------------

# vip_line NODE IP: NODE's table entry for IP as its kernel last reported
# it (the monitor started by agent_setup: no process started per call),
# "" and status 1 if none
vip_line() {
	local t l last=
	[ -f "$TMPD/mon-$1.txt" ] || { vip_line_kernel "$@"; return; }
	while IFS=' ' read -r t l; do
		case $l in
		"add $2/"*|"change $2/"*) last=${l#* } ;;
		"del $2/"*) last= ;;
		esac
	done <"$TMPD/mon-$1.txt"
	[ -n "$last" ] && echo "$last"
}

# vip_line_kernel NODE IP: NODE's `vip show` line for IP ("" if none)
vip_line_kernel() {
	local out line
	out=$(klb "${NODE_NS[$1]}" vip show 2>&1)
	while IFS= read -r line; do
		if [[ $line == "$2/"* ]]; then
			echo "$line"
			return 0
		fi
	done <<<"$out"
	return 1
}

# holds NODE IP [ERE]: NODE's kernel has IP with the agent's owner mark and
# its line matches ERE, as NODE's monitor tells (cheap: a wait condition)
holds() {
	local l
	l=$(vip_line "$1" "$2") || return 1
	_agent_line "$l" "${3:-}"
}
# holds_kernel NODE IP [ERE]: the same from NODE's `vip show`
holds_kernel() {
	local l
	l=$(vip_line_kernel "$1" "$2") || return 1
	_agent_line "$l" "${3:-}"
}
# _agent_line LINE [ERE]: LINE has the agent's owner mark and matches ERE
_agent_line() {
	[[ $1 == *" owner $AGENT_OWNER"* ]] || return 1
	[ -z "$2" ] || [[ $1 =~ $2 ]]
}

# holders IP: the nodes whose kernel has IP (any owner), space separated
holders() {
	local n out=''
	for n in node1 node2; do
		vip_line "$n" "$1" >/dev/null && out+="${out:+ }$n"
	done
	echo "$out"
}
_holders_are() { [ "$(holders "$1")" = "$2" ]; }
# holders_kernel IP: the same from `vip show`
holders_kernel() {
	local n out=''
	for n in node1 node2; do
		vip_line_kernel "$n" "$1" >/dev/null && out+="${out:+ }$n"
	done
	echo "$out"
}

# wait_holders SECONDS IP "NODES": until holders IP = NODES; the time taken
# is in WAITED (seconds, 3 decimals). Returns 1 on timeout.
WAITED=
wait_holders() {
	local t0 rc
	t0=$(now)
	wait_for "$1" _holders_are "$2" "$3"
	rc=$?
	WAITED=$(elapsed "$t0")
	return $rc
}

# check_holders DESC SECONDS IP "NODES" [ERE]: wait until the kernels'
# event streams say exactly NODES hold IP, then check that the kernels say
# so (`vip show` in each node): the VIP is there with the agent's owner mark,
# its line matching ERE, and nowhere else.
check_holders() {
	local desc=$1 t=$2 ip=$3 want=$4 re=${5:-} n bad="" k=""
	if ! wait_holders "$t" "$ip" "$want"; then
		fail "$desc: holders of $ip: '$(holders "$ip")', expected '$want' (${t}s)"
		for n in node1 node2; do
			log "  $n: $(vip_line_kernel $n "$ip")"
		done
		return 1
	fi
	# one `vip show` per node (each exec is slow in the VM)
	local -A line=()
	for n in node1 node2; do
		line[$n]=$(vip_line_kernel "$n" "$ip") && k+="${k:+ }$n"
	done
	if [ "$k" != "$want" ]; then
		fail "$desc: the monitors say '$want' hold $ip, vip show says '$k'"
		return 1
	fi
	for n in $want; do
		_agent_line "${line[$n]}" "$re" || bad+=" $n: ${line[$n]};"
	done
	if [ -n "$bad" ]; then
		fail "$desc: $ip held but not as /$re/ owner $AGENT_OWNER:$bad"
		return 1
	fi
	pass "$desc (${WAITED}s)"
}

# --- election -------------------------------------------------------------------------

# _sha_batch KEY=STRING...: sha256 of each STRING into _SHA[KEY], with one
# sha256sum for all (a fork costs dearly under TCG)
declare -A _SHA=()
_sha_batch() {
	local kv d=$TMPD/sha h f
	[ -d "$d" ] || mkdir "$d"
	rm -f "$d"/*
	for kv in "$@"; do
		printf '%s' "${kv#*=}" >"$d/${kv%%=*}"
	done
	_SHA=()
	while read -r h f; do
		_SHA[${f##*/}]=$h
	done <<<"$(cd "$d" && sha256sum -- *)"
}

# _order KEY-PREFIX NODE...: NODEs sorted by _SHA[KEY-PREFIX.NODE]
_order() {
	local p=$1 i j t
	shift
	local -a v=("$@")
	for ((i = 1; i < ${#v[@]}; i++)); do
		for ((j = i; j > 0; j--)); do
			[[ ${_SHA[$p.${v[j]}]} < ${_SHA[$p.${v[j - 1]}]} ]] || break
			t=${v[j]} v[j]=${v[j - 1]} v[j - 1]=$t
		done
	done
	echo "${v[*]}"
}

# sha_order IP NODE...: the NODEs in election order, sha256(node "#" ip)
sha_order() {
	local ip=$1 n
	local -a kv=()
	shift
	for n in "$@"; do
		kv+=("x.$n=$n#$ip")
	done
	_sha_batch "${kv[@]}"
	_order x "$@"
}

# winner IP NODE...: the first of NODEs by sha256(node "#" ip)
winner() {
	local o
	o=$(sha_order "$@")
	echo "${o%% *}"
}

# ip_with_order PREFIX FIRST NODE...: the first PREFIX<i>, i = FIRST,
# FIRST+1, ..., whose election order of NODE... is exactly as given
ip_with_order() {
	local prefix=$1 first=$2 i n b
	local -a kv
	shift 2
	# batches of 8 candidates: one sha256sum each
	for ((b = first; b < first + 256; b += 8)); do
		kv=()
		for ((i = b; i < b + 8; i++)); do
			for n in "$@"; do
				kv+=("$i.$n=$n#$prefix$i")
			done
		done
		_sha_batch "${kv[@]}"
		for ((i = b; i < b + 8; i++)); do
			if [ "$(_order $i "$@")" = "$*" ]; then
				echo "$prefix$i"
				return 0
			fi
		done
	done
	return 1
}

# --- the client's view ------------------------------------------------------------------


# neigh_mon_start: `ip -ts monitor neigh` in the client's namespace into
# $TMPD/neigh.txt, so that a switch is timed by the kernel's notification,
# not by how often a script looks. neigh_mark: neigh_time looks only at
# what comes next. neigh_time IP MAC: when the client's entry for IP first
# pointed at MAC after the mark (EPOCHREALTIME format), or fails.
neigh_mon_start() {
	[ -n "${NEIGH_MON_PID:-}" ] && return 0
	: >"$TMPD/neigh.txt"
	bg_start NEIGH_MON_PID nsexec "$NS_CLIENT" ip -ts monitor neigh >>"$TMPD/neigh.txt" 2>&1
}
neigh_mark() { NEIGH_MARK=$(wc -l <"$TMPD/neigh.txt"); }
neigh_time() {
	local ts
	ts=$(tail -n +$((${NEIGH_MARK:-0} + 1)) "$TMPD/neigh.txt" |
		grep -m1 -E "^\[[^]]*\] ${1//./\\.} dev [^ ]+ lladdr $2( |\$)") || return 1
	ts=${ts#[}
	ts=${ts%%]*}
	date -d "${ts/T/ }" +%s.%6N
}

# arp_replies IP [COUNT]: broadcast arping from the client, COUNT (2)
# requests: "recv=N from: MAC*n ..." (lower-case MACs, by first reply)
arp_replies() {
	local ip=$1 c=${2:-2} line mac from='' recv='?' m
	local -A cnt=()
	local -a order=()
	while IFS= read -r line; do
		if [[ $line =~ ^(Unicast|Broadcast)\ reply\ from\ [0-9.]+\ \[([0-9A-Fa-f:]+)\] ]]; then
			mac=${BASH_REMATCH[2],,}
			[ -z "${cnt[$mac]:-}" ] && order+=("$mac")
			cnt[$mac]=$((${cnt[$mac]:-0} + 1))
		elif [[ $line =~ ^Received\ ([0-9]+)\ response ]]; then
			recv=${BASH_REMATCH[1]}
		fi
	done <<<"$(nsexec "$NS_CLIENT" arping -b -c "$c" -w "$((c + 1))" -I eth0 "$ip" 2>&1)"
	for m in "${order[@]}"; do
		from+=" $m*${cnt[$m]}"
	done
	echo "recv=$recv from:$from"
}

# announce_idle NODE IP: NODE's kernel last said (its monitor) that VIP IP
# has no announcement burst pending (an add is reported before its burst
# starts: only the announce events tell)
announce_idle() {
	local t l burst=
	while IFS=' ' read -r t l; do
		case $l in
		"announce $2/"*" announcing "*) burst=1 ;;
		"announce $2/"*|"del $2/"*) burst= ;;
		esac
	done <"$TMPD/mon-$1.txt"
	[ -z "$burst" ]
}

# ndisc_replies IP: ndisc6 from the client, every reply: "MAC MAC ..."
# (unsolicited NAs of a burst count too: wait for announce_idle first)
ndisc_replies() {
	local line out=''
	while IFS= read -r line; do
		[[ $line =~ Target\ link-layer\ address:\ ([0-9A-Fa-f:]+) ]] &&
			out+="${out:+ }${BASH_REMATCH[1],,}"
	done <<<"$(nsexec "$NS_CLIENT" ndisc6 -m -n -r 1 -w 1000 "$1" eth0 2>&1)"
	echo "$out"
}

# metrics NODE PATH: GET http://127.0.0.1:$METRICS_PORT/PATH in NODE's
# namespace: METRICS_STATUS (HTTP status, 000: none) and METRICS_BODY;
# returns 0 on 2xx. (Not in $(...): the variables would be lost.)
METRICS_STATUS='' METRICS_BODY=''
metrics() {
	METRICS_STATUS=$(nsexec "${NODE_NS[$1]}" curl -sS -o "$TMPD/metrics.body" \
		-w '%{http_code}' --max-time 5 "http://127.0.0.1:$METRICS_PORT/$2" 2>/dev/null)
	METRICS_BODY=
	[ -f "$TMPD/metrics.body" ] && _slurp METRICS_BODY "$TMPD/metrics.body"
	rm -f "$TMPD/metrics.body"
	[[ $METRICS_STATUS == 2?? ]]
}

# --- the kernel's event stream ----------------------------------------------------------

# mon_start NODE: `kubelbctl monitor` in NODE's namespace; every line is kept
# in $TMPD/mon-NODE.txt prefixed with its arrival time ($EPOCHREALTIME).
# Returns when the monitor is subscribed (a probe VIP of owner 0 was seen).
mon_start() {
	local node=$1 fifo=$TMPD/mon-$1.fifo out=$TMPD/mon-$1.txt ns=${NODE_NS[$1]}
	[ -e "$fifo" ] && return 0	# running
	mkfifo "$fifo" || return 1
	: >"$out"
	_mon_reader "$fifo" "$out" &
	_KLB_BG+=($!)
	nsexec_bg "$ns" "$KUBELBCTL" monitor >"$fifo" 2>&1
	_KLB_BG+=("$NSEXEC_PID")
	if ! wait_for 10 _mon_probe "$ns" "$out"; then
		fail "kubelbctl monitor in $node shows nothing"
		return 1
	fi
	klb "$ns" vip del 198.18.0.1 2>/dev/null
	wait_for 5 _file_has "$out" " del 198.18.0.1/32"
}
_mon_reader() {
	local l
	while IFS= read -r l; do
		printf '%s %s\n' "$EPOCHREALTIME" "$l"
	done <"$1" >>"$2"
}
_mon_probe() {
	klb "$1" vip del 198.18.0.1 >/dev/null 2>&1
	klb "$1" vip add 198.18.0.1 >/dev/null 2>&1
	_file_has "$2" " add 198.18.0.1/32"
}

# mon_lines NODE IP [VERBS-ERE]: NODE's monitor lines (without the time) for
# IP whose verb matches VERBS-ERE (default: add|del|change), after the
# first MON_MARK[NODE] lines (see mon_mark)
mon_lines() {
	local node=$1 ip=$2 verbs=${3:-add|del|change} t l n=0 skip=${MON_MARK[$1]:-0}
	while IFS=' ' read -r t l; do
		n=$((n + 1))
		[ $n -le "$skip" ] && continue
		[[ $l =~ ^($verbs)\ ${ip//./\\.}/ ]] && printf '%s\n' "$l"
	done <"$TMPD/mon-$node.txt"
}

# mon_events NODE: every add/del/change line after the mark (probes aside)
mon_events() {
	local t l n=0 skip=${MON_MARK[$1]:-0}
	while IFS=' ' read -r t l; do
		n=$((n + 1))
		[ $n -le "$skip" ] && continue
		[[ $l =~ ^(add|del|change)\  ]] && [[ $l != *" 198.18."* ]] &&
			printf '%s\n' "$l"
	done <"$TMPD/mon-$1.txt"
}

# mon_mark NODE: mon_lines, mon_events and mon_time look only at what
# comes next
# mon_time NODE VERB IP: arrival time (EPOCHREALTIME) of NODE's first VERB
# event for IP after the mark ("" if none)
declare -A MON_MARK=()
mon_mark() { MON_MARK[$1]=$(wc -l <"$TMPD/mon-$1.txt"); }
mon_time() {
	local node=$1 verb=$2 ip=$3 t l n=0 skip=${MON_MARK[$1]:-0}
	while IFS=' ' read -r t l; do
		n=$((n + 1))
		[ $n -le "$skip" ] && continue
		if [[ $l == "$verb $ip/"* ]]; then
			echo "$t"
			return 0
		fi
	done <"$TMPD/mon-$node.txt"
	return 1
}

# mon_sync NODE...: every kernel event sent before the call has reached the
# nodes' monitor files: events come in order, so a probe VIP's (198.18.x.y,
# owner 0, which no agent touches) arriving means the earlier ones have
_MON_SYNC=1
mon_sync() {
	local n ns ip
	for n in "$@"; do
		_MON_SYNC=$((_MON_SYNC + 1))
		ip=198.18.$((_MON_SYNC / 256)).$((_MON_SYNC % 256))
		ns=${NODE_NS[$n]}
		klb "$ns" vip add "$ip" >/dev/null 2>&1 || return 1
		wait_for 10 _file_has "$TMPD/mon-$n.txt" " add $ip/32" || return 1
		klb "$ns" vip del "$ip" >/dev/null 2>&1
	done
}

# ms_between T1 T2: milliseconds from EPOCHREALTIME T1 to T2 (may be < 0)
ms_between() {
	local a=${1/./} b=${2/./}
	echo $(((10#$b - 10#$a) / 1000))
}
