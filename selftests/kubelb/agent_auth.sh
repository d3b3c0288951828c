#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# How kubelb-agent finds and authenticates to the API server (TLS), each
# way proved by the agent putting a Service's VIP into node1's kernel:
#  - kubeconfig (--kubeconfig, and $KUBECONFIG): token, tokenFile, client
#    certificate and key as files and as -data, CA as file and as -data,
#    insecure-skip-tls-verify, tls-server-name (connecting to an address
#    the server certificate does not name);
#  - in-cluster: KUBERNETES_SERVICE_HOST/_PORT (IPv4, and IPv6 bracketed)
#    with token, ca.crt and namespace from $KUBELB_SA_DIR; the Lease goes
#    to that namespace;
#  - refused as they must be, with a clear log line and nothing applied:
#    an unknown CA, a wrong tls-server-name, an address not in the
#    certificate, an unknown token;
#  - token rotation: the token file is rewritten and the old token revoked;
#    the agent keeps working (its Lease renewed, watches re-established
#    with the new token, changes applied).

source "$(dirname "$0")/agent_lib.sh"
require_agent
require_fake_api
require_cmd openssl base64

API6=fd00:9::254
ALT=10.9.0.253		# an address of the API server its certificate lacks

agent_setup
ip -n "$NS_LAN" addr add $ALT/24 dev br0
ip -n "$NS_LAN" addr add $API6/64 dev br0 nodad
printf 'rot-1 node1\n' >"$TMPD/server-tokens"
api_start --listen :: --token-file "$TMPD/server-tokens"
node_add node1 && node_add node2 || exit_test
R=203.0.113.5
svc_add default/web "$R"

# Variants run two at a time, one in each node.
# start_variant NODE EXPECT DESC [VAR=VALUE...] -- AGENT-ARGS...: the
# agent in NODE (its table flushed) with that environment and those
# arguments; EXPECT: "ok" (R must reach the kernel) or an ERE the log must
# show (a refusal: then nothing may be applied)
declare -A VEXPECT=() VDESC=() VT0=()
start_variant() {
	local node=$1
	VEXPECT[$node]=$2 VDESC[$node]=$3
	shift 3
	local -a env=()
	while [ "$1" != -- ]; do
		env+=("$1")
		shift
	done
	shift
	klb "${NODE_NS[$node]}" vip flush
	VT0[$node]=$(now)
	AGENT_ENV=("${env[@]}")
	agent_start "$node" "$@"
	AGENT_ENV=()
}
# finish_variant NODE: check and stop the variant running in NODE
finish_variant() {
	local node=$1 desc=${VDESC[$1]} re=${VEXPECT[$1]}
	if [ "$re" = ok ]; then
		if wait_for 20 holds "$node" $R "mode virtual"; then
			pass "$desc: the agent works ($(elapsed "${VT0[$node]}") s to the VIP)"
		else
			fail "$desc: $R not in $node's kernel after 20 s"
			tail -n 8 "${AGENT_LOG[$node]}" | log_file
		fi
	else
		if wait_for 15 agent_log_has "$node" "$re"; then
			pass "$desc: refused, the log says so: $(grep -m1 -E "$re" "${AGENT_LOG[$node]}" | sed "s/.* msg=//" | cut -c1-160)"
		else
			fail "$desc: no log line matching /$re/ within 15 s"
			tail -n 8 "${AGENT_LOG[$node]}" | log_file
		fi
		check_eq "$desc: nothing applied" "" "$(vip_line_kernel "$node" $R)"
	fi
	agent_stop "$node" KILL
}
# kc NAME KC-ARGS...: write kubeconfig $TMPD/kc-NAME.yaml
kc() {
	local f=$TMPD/kc-$1.yaml
	shift
	kc_write "$f" "$@"
}

C=$API_TLS
TLSRE='[Cc]ertificate|SSL|TLS|verify'
printf 'tok-node1\n' >"$TMPD/token"
mkdir -p "$TMPD/other"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-keyout "$TMPD/other/ca.key" -out "$TMPD/other/ca.crt" -days 2 \
	-subj /CN=other-ca >/dev/null 2>&1 || fail "openssl: another CA"
ns_add kubelb-test
SA=$TMPD/sa
mkdir -p "$SA"
cp "$API_CA" "$SA/ca.crt"
printf 'tok-node1' >"$SA/token"
printf 'kubelb-test' >"$SA/namespace"

kc token token=tok-node1
kc tokenfile token-file=$TMPD/token
kc certfiles cert=$C/node1.crt key=$C/node1.key
kc alldata cert-data=$C/node1.crt key-data=$C/node1.key ca-data=$API_CA
kc insecure token=tok-node1 insecure=true
kc servername server=https://$ALT:$API_PORT tls-server-name=kubernetes.default.svc token=tok-node1
kc otherca token=tok-node1 ca=$TMPD/other/ca.crt
kc wrongname token=tok-node1 tls-server-name=wrong.example
kc alt server=https://$ALT:$API_PORT token=tok-node1
kc badtoken token=no-such-token

start_variant node1 ok "kubeconfig: token, certificate-authority file" -- --kubeconfig "$TMPD/kc-token.yaml"
start_variant node2 ok "kubeconfig: tokenFile" -- --kubeconfig "$TMPD/kc-tokenfile.yaml"
finish_variant node1
finish_variant node2
start_variant node1 ok "kubeconfig: client-certificate and client-key files" -- --kubeconfig "$TMPD/kc-certfiles.yaml"
start_variant node2 ok "kubeconfig: client-certificate-data, client-key-data, certificate-authority-data" \
	-- --kubeconfig "$TMPD/kc-alldata.yaml"
finish_variant node1
finish_variant node2
start_variant node1 ok "kubeconfig: insecure-skip-tls-verify, no CA" -- --kubeconfig "$TMPD/kc-insecure.yaml"
start_variant node2 ok "kubeconfig: server $ALT (not in the certificate) with tls-server-name kubernetes.default.svc" \
	-- --kubeconfig "$TMPD/kc-servername.yaml"
finish_variant node1
finish_variant node2
start_variant node1 ok "\$KUBECONFIG, no --kubeconfig" "KUBECONFIG=$TMPD/kc-token.yaml" -- --no-kubeconfig
start_variant node2 ok "in-cluster (KUBERNETES_SERVICE_HOST=$API_ADDR, KUBELB_SA_DIR)" \
	"KUBERNETES_SERVICE_HOST=$API_ADDR" "KUBERNETES_SERVICE_PORT=$API_PORT" "KUBELB_SA_DIR=$SA" \
	-- --no-kubeconfig
finish_variant node1
finish_variant node2
check "in-cluster: the Lease is in the service account's namespace kubelb-test" \
	api GET /apis/coordination.k8s.io/v1/namespaces/kubelb-test/leases/kubelb-node-node2
start_variant node1 ok "in-cluster over IPv6 (KUBERNETES_SERVICE_HOST=$API6)" \
	"KUBERNETES_SERVICE_HOST=$API6" "KUBERNETES_SERVICE_PORT=$API_PORT" "KUBELB_SA_DIR=$SA" \
	-- --no-kubeconfig
start_variant node2 "$TLSRE" "kubeconfig: a CA that did not sign the server's certificate" \
	-- --kubeconfig "$TMPD/kc-otherca.yaml"
finish_variant node1
finish_variant node2
start_variant node1 "$TLSRE" "kubeconfig: tls-server-name wrong.example" -- --kubeconfig "$TMPD/kc-wrongname.yaml"
start_variant node2 "$TLSRE" "kubeconfig: server $ALT, not in the certificate, no tls-server-name" \
	-- --kubeconfig "$TMPD/kc-alt.yaml"
finish_variant node1
finish_variant node2
start_variant node1 '401|[Uu]nauthori[sz]ed' "kubeconfig: unknown token" -- --kubeconfig "$TMPD/kc-badtoken.yaml"
finish_variant node1

# --- token rotation --------------------------------------------------------------------------------
printf 'rot-1\n' >"$TMPD/rot-token"
kc_write "$TMPD/kc-rot.yaml" token-file=$TMPD/rot-token
klb "$NS_NODE1" vip flush
agent_start node1 --kubeconfig "$TMPD/kc-rot.yaml"
check_holders "rotation: the agent works with rot-1" 20 $R node1 "mode virtual"
# the new token is valid on the server before the client uses it, as with
# bound tokens; then the old one is revoked
printf 'rot-1 node1\nrot-2 node1\n' >"$TMPD/server-tokens.new"
mv "$TMPD/server-tokens.new" "$TMPD/server-tokens"
printf 'rot-2\n' >"$TMPD/rot-token.new"
mv "$TMPD/rot-token.new" "$TMPD/rot-token"
# server_accepts TOKEN: the API server authenticates TOKEN
server_accepts() {
	[ "$(nsexec "$NS_LAN" curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$API_CA" \
		-H "Authorization: Bearer $1" "$API_URL/api/v1/nodes/node1")" = 200 ]
}
check "rotation: the server accepts rot-2 before rot-1 is revoked" wait_for 10 server_accepts rot-2
printf 'rot-2 node1\n' >"$TMPD/server-tokens.new"
mv "$TMPD/server-tokens.new" "$TMPD/server-tokens"
t_revoke=$(date -u +%Y-%m-%dT%H:%M:%SZ)
t0=$(now)
# watches opened with rot-1 stay open (as on a real server): cut them
api_ok "cut every watch" POST /_fake/fault '{"kind":"cut"}' >/dev/null
svc_add default/after-rotation 203.0.113.6
check_holders "rotation: a Service added after rot-1 was revoked reaches the kernel" 10 203.0.113.6 node1 "mode virtual"
log "  $(elapsed "$t0") s after the revocation"
rv1=$(API_QUERY="metadata|resourceVersion" lease node1)
lease_renewed() { [ "$(API_QUERY="metadata|resourceVersion" lease node1)" != "$rv1" ]; }
check "rotation: node1's Lease is still renewed" wait_for 5 lease_renewed
n=$(API_QUERY="py:len([r for r in d if r['user'] == 'node1' and r['time'] > '$t_revoke' and r['code'] < 300])" \
	api FILE "$API_AUDIT")
check "rotation: the server saw successful requests of node1 (rot-2) after the revocation ($n)" test "$n" -gt 0
check "rotation: the agent is still running" agent_running node1

exit_test
