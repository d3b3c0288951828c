#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# deploy/kubernetes, as `kubectl kustomize` builds it, against what
# kubelb-agent really does:
#  - the manifests: one Namespace, ServiceAccount, ClusterRole(+Binding),
#    Role(+Binding) for the Leases and DaemonSet; the bindings name the
#    DaemonSet's service account; hostNetwork; capabilities drop ALL and
#    add exactly NET_ADMIN; readiness /readyz and liveness /healthz on the
#    agent's --metrics-addr; NODE_NAME from spec.nodeName; no init
#    container and no hostPath unless components/modprobe is enabled, and
#    then `modprobe kubelb` with CAP_SYS_MODULE and the host's
#    /lib/modules read-only, in the image set for the agent;
#  - two agents (node1, node2) run as the DaemonSet runs them: its args,
#    NODE_NAME, in-cluster with the service account's token, ca.crt and
#    namespace, authenticated as system:serviceaccount:kubelb-system:
#    kubelb-agent by the fake API server, which enforces exactly the RBAC
#    of the manifests (tools/rbac-policy). They do everything they ever
#    do: local VIPs elected and reported (annotation patch, Event) in two
#    namespaces, routed VIPs, externalTrafficPolicy Local with an
#    EndpointSlice, their Leases created and renewed, a relist after the
#    watch history expired (410), a graceful stop deleting the Lease and
#    a takeover reported by the peer; the probes' URLs answer 200;
#  - the audit log: no request of the agents was refused; every request
#    (verb, group, resource/subresource, namespace) is granted by a rule;
#    every grant was used, and none granted cluster-wide is used only in
#    the Leases' namespace.

source "$(dirname "$0")/agent_lib.sh"
require_agent
require_fake_api
require_cmd kubectl
"$PYTHON" -c 'import yaml' 2>/dev/null || skip "PyYAML missing (apt-get install python3-yaml)"

DEPLOY=$KLB_ROOT/deploy/kubernetes
RBAC_POLICY=$KLB_ROOT/tools/rbac-policy

# py_checks SCRIPT ARGS...: run a python3 script (from $TMPD) whose output
# lines "ok DESC" / "not ok DESC: WHY" are passes and failures, anything
# else a diagnostic; a crash is a failure
py_checks() {
	local script=$1 line rc
	shift
	"$PYTHON" "$TMPD/$script" "$@" >"$TMPD/$script.out" 2>&1
	rc=$?
	while IFS= read -r line; do
		case $line in
		"ok "*) pass "${line#ok }" ;;
		"not ok "*) fail "${line#not ok }" ;;
		*) log "  $line" ;;
		esac
	done <"$TMPD/$script.out"
	[ $rc -eq 0 ] || fail "$script exited with $rc"
}

# --- the manifests ----------------------------------------------------------------------------------
if ! kubectl kustomize "$DEPLOY" >"$TMPD/deploy.yaml" 2>"$TMPD/kustomize.err"; then
	fail "kubectl kustomize deploy/kubernetes"
	log_file "$TMPD/kustomize.err"
	exit_test
fi
pass "kubectl kustomize deploy/kubernetes builds"

cat >"$TMPD/manifests.py" <<'EOF'
import sys, yaml

docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
out = sys.argv[2]

def ok(cond, desc, why=""):
    print(("ok %s" % desc) if cond else ("not ok %s: %s" % (desc, why)))
    return cond

by = {}
for d in docs:
    by.setdefault(d["kind"], []).append(d)
want = ["ClusterRole", "ClusterRoleBinding", "DaemonSet", "Namespace",
        "Role", "RoleBinding", "ServiceAccount"]
counts = {k: len(v) for k, v in by.items()}
if not ok(sorted(by) == want and set(counts.values()) == {1},
          "exactly one each of " + ", ".join(want), repr(counts)):
    sys.exit(0)
ns = by["Namespace"][0]["metadata"]["name"]
sa = by["ServiceAccount"][0]["metadata"]
sa_user = "system:serviceaccount:%s:%s" % (sa.get("namespace"), sa["name"])
ok(sa.get("namespace") == ns, "the ServiceAccount is in %s" % ns,
   repr(sa.get("namespace")))
cr, role = by["ClusterRole"][0], by["Role"][0]
ok(role["metadata"].get("namespace") == ns, "the Role is in %s" % ns,
   repr(role["metadata"].get("namespace")))
for kind, target in (("ClusterRoleBinding", cr), ("RoleBinding", role)):
    b = by[kind][0]
    subj = [{"kind": "ServiceAccount", "name": sa["name"], "namespace": ns}]
    ok(b.get("subjects") == subj and
       b["roleRef"]["kind"] == target["kind"] and
       b["roleRef"]["name"] == target["metadata"]["name"],
       "the %s binds %s to the %s, nobody else" % (kind, sa_user,
                                                  target["kind"]),
       repr((b.get("subjects"), b.get("roleRef"))))
    if kind == "RoleBinding":
        ok(b["metadata"].get("namespace") == ns,
           "the RoleBinding is in %s" % ns, repr(b["metadata"]))
for r in cr["rules"] + role["rules"]:
    ok(not any("*" in r.get(f, []) for f in ("verbs", "apiGroups",
                                               "resources")) and
       "nonResourceURLs" not in r,
       "no wildcard or nonResourceURLs in the rule %s %s" %
       (r.get("resources"), r.get("verbs")), repr(r))

ds = by["DaemonSet"][0]
pod = ds["spec"]["template"]["spec"]
ok(ds["metadata"].get("namespace") == ns, "the DaemonSet is in %s" % ns)
ok(pod.get("serviceAccountName") == sa["name"],
   "the DaemonSet runs as the ServiceAccount %s" % sa["name"],
   repr(pod.get("serviceAccountName")))
ok(pod.get("automountServiceAccountToken", True) is not False,
   "its token is mounted")
ok(pod.get("hostNetwork") is True, "hostNetwork: true",
   repr(pod.get("hostNetwork")))
ok(not pod.get("hostPID") and not pod.get("hostIPC"), "no hostPID, hostIPC")
ok(not pod.get("initContainers"),
   "no init container (components/modprobe is opt-in)",
   repr(pod.get("initContainers")))
ok(not any("hostPath" in v for v in pod.get("volumes", [])),
   "no hostPath volume", repr(pod.get("volumes")))
cs = pod.get("containers", [])
if not ok(len(cs) == 1, "one container", repr(len(cs))):
    sys.exit(0)
c = cs[0]
sc = c.get("securityContext", {})
caps = sc.get("capabilities", {})
ok(caps.get("add") == ["NET_ADMIN"] and caps.get("drop") == ["ALL"],
   "capabilities: drop [ALL], add exactly [NET_ADMIN]", repr(caps))
ok(not sc.get("privileged") and sc.get("allowPrivilegeEscalation") is False,
   "not privileged, allowPrivilegeEscalation false", repr(sc))
ok(sc.get("readOnlyRootFilesystem") is True, "read-only root file system")
ok(not c.get("command"),
   "no command: the image's entrypoint (kubelb-agent) gets the args",
   repr(c.get("command")))
env = {e["name"]: e for e in c.get("env", [])}
ok(env.get("NODE_NAME", {}).get("valueFrom", {}).get("fieldRef", {})
   .get("fieldPath") == "spec.nodeName",
   "env NODE_NAME from spec.nodeName", repr(env.get("NODE_NAME")))
ok(c.get("terminationMessagePolicy") == "FallbackToLogsOnError",
   "terminationMessagePolicy FallbackToLogsOnError (a missing module "
   "shows in kubectl describe)", repr(c.get("terminationMessagePolicy")))
args = [str(a) for a in c.get("args", [])]
ok(not any("$(" in a for a in args),
   "the args need no $(VAR) expansion (run verbatim below)", repr(args))
maddr = None
for i, a in enumerate(args):
    if a.startswith("--metrics-addr="):
        maddr = a.split("=", 1)[1]
    elif a == "--metrics-addr" and i + 1 < len(args):
        maddr = args[i + 1]
if not ok(maddr is not None, "--metrics-addr is given", repr(args)):
    sys.exit(0)
host, _, port = maddr.rpartition(":")
host = host.strip("[]")
urls = []
for probe, path in (("readinessProbe", "/readyz"),
                    ("livenessProbe", "/healthz")):
    g = c.get(probe, {}).get("httpGet", {})
    phost = g.get("host", "")
    # a specific listen address must be the probe's host; a wildcard one
    # is reached at the pod IP (the node's) the kubelet probes by default
    good_host = phost == host if host not in ("", "0.0.0.0", "::") else True
    ok(g.get("path") == path and str(g.get("port")) == port and good_host
       and g.get("scheme", "HTTP") == "HTTP",
       "%s: GET %s on the --metrics-addr %s" % (probe, path, maddr), repr(g))
    urls.append("http://%s:%s%s" % ("[%s]" % (phost or host or "127.0.0.1")
                                     if ":" in (phost or host) else
                                     (phost or host or "127.0.0.1"),
                                     port, path))
with open(out + ".args", "w") as f:
    f.write("".join(a + "\n" for a in args))
with open(out + ".urls", "w") as f:
    f.write("".join(u + "\n" for u in urls))
with open(out + ".sa", "w") as f:
    f.write("%s\n%s\n" % (sa_user, ns))
EOF
py_checks manifests.py "$TMPD/deploy.yaml" "$TMPD/ds"
[ -s "$TMPD/ds.sa" ] || exit_test
{ read -r SA_USER; read -r SA_NS; } <"$TMPD/ds.sa"
mapfile -t DS_ARGS <"$TMPD/ds.args"
mapfile -t PROBE_URLS <"$TMPD/ds.urls"
log "agent args from the DaemonSet: ${DS_ARGS[*]}; probes: ${PROBE_URLS[*]}"
check_eq "the service account's namespace is the agents' Lease namespace" "$AGENT_NS" "$SA_NS"

# components/modprobe, enabled as kustomization.yaml's comment says, with
# the agent's image changed as `kustomize edit set image` would
IMG=registry.example.org/kubelb-agent
cp -r "$DEPLOY" "$TMPD/with-modprobe"
sed -i "s|^#components:|components:|; s|^#- components/modprobe|- components/modprobe|;
	s|^  newName: kubelb-agent$|  newName: $IMG|" "$TMPD/with-modprobe/kustomization.yaml"
if kubectl kustomize "$TMPD/with-modprobe" >"$TMPD/modprobe.yaml" 2>"$TMPD/kustomize.err"; then
	cat >"$TMPD/modprobe.py" <<'EOF'
import sys, yaml

def ok(cond, desc, why=""):
    print(("ok %s" % desc) if cond else ("not ok %s: %s" % (desc, why)))

base, img = sys.argv[1], sys.argv[2]
base_pod = [d for d in yaml.safe_load_all(open(base)) if d and
            d["kind"] == "DaemonSet"][0]["spec"]["template"]["spec"]
pod = [d for d in yaml.safe_load_all(open(sys.argv[3])) if d and
       d["kind"] == "DaemonSet"][0]["spec"]["template"]["spec"]
inits = pod.get("initContainers", [])
ok(len(inits) == 1, "components/modprobe: one init container", repr(inits))
i = inits[0] if inits else {}
ok(i.get("command", [])[-2:] == ["modprobe", "kubelb"] or
   " ".join(i.get("command", []) + i.get("args", [])).endswith(
       "modprobe kubelb"),
   "... running modprobe kubelb", repr(i.get("command")))
caps = i.get("securityContext", {}).get("capabilities", {})
ok(caps.get("add") == ["SYS_MODULE"] and caps.get("drop") == ["ALL"],
   "... with capabilities drop [ALL], add exactly [SYS_MODULE]", repr(caps))
vols = {v["name"]: v for v in pod.get("volumes", [])}
mods = [m for m in i.get("volumeMounts", []) if m["mountPath"] == "/lib/modules"]
ok(len(mods) == 1 and mods[0].get("readOnly") is True and
   vols.get(mods[0]["name"], {}).get("hostPath", {}).get("path") ==
   "/lib/modules",
   "... the host's /lib/modules mounted read-only", repr((mods, vols)))
ok(i.get("image", "").startswith(img + ":") and
   pod["containers"][0].get("image", "").startswith(img + ":"),
   "... the image set for the agent (%s) is the init container's too" % img,
   repr((i.get("image"), pod["containers"][0].get("image"))))
agent = dict(pod["containers"][0])
agent.pop("image", None)
was = dict(base_pod["containers"][0])
was.pop("image", None)
ok(agent == was and not any("volumeMounts" in c for c in pod["containers"]),
   "... the agent's container is unchanged (NET_ADMIN only, no host mount)",
   repr(agent))
EOF
	py_checks modprobe.py "$TMPD/deploy.yaml" "$IMG" "$TMPD/modprobe.yaml"
else
	fail "kubectl kustomize with components/modprobe enabled"
	log_file "$TMPD/kustomize.err"
fi

# --- the policy: exactly the manifests' RBAC ----------------------------------------------------------
if ! "$PYTHON" "$RBAC_POLICY" "$TMPD/deploy.yaml" >"$TMPD/policy.json" 2>"$TMPD/policy.err"; then
	fail "tools/rbac-policy on the built manifests"
	log_file "$TMPD/policy.err"
	exit_test
fi
check_eq "the RBAC grants rules to the agents' service account and nobody else" \
	"$SA_USER" "$(jq -r 'keys | join(" ")' "$TMPD/policy.json")"

# the service account's token authenticates as it, with a real service
# account's groups
printf 'tok-sa %s system:serviceaccounts,system:serviceaccounts:%s\n' \
	"$SA_USER" "$SA_NS" >"$TMPD/tokens"
agent_setup
api_start --token-file "$TMPD/tokens" --policy "$TMPD/policy.json"
SA=$TMPD/sa
mkdir -p "$SA"
cp "$API_CA" "$SA/ca.crt"
printf 'tok-sa' >"$SA/token"
printf '%s' "$SA_NS" >"$SA/namespace"

ns_add shop
node_add node1 && node_add node2 || exit_test
V4=$(ip_with_order 10.9.0. 100 node1 node2)
S4=$(ip_with_order 10.9.0. $((${V4##*.} + 1)) node2 node1)
R=203.0.113.5
L=203.0.113.7
log "default/web $V4 (node1 first), shop/db $S4 (node2 first), shop/api $R, shop/local $L (ETP Local, endpoint on node2)"
svc_add default/web "$V4"
svc_add shop/db "$S4"
svc_add shop/api "$R"
svc_add shop/local "$L" etp=Local
slice_set shop/local node2

# ds_agent_start NODE: the agent as the DaemonSet runs it on NODE
ds_agent_start() {
	AGENT_ENV=("KUBERNETES_SERVICE_HOST=$API_ADDR" "KUBERNETES_SERVICE_PORT=$API_PORT"
		"KUBELB_SA_DIR=$SA" "NODE_NAME=$1")
	agent_start "$1" --no-kubeconfig "${DS_ARGS[@]}"
	AGENT_ENV=()
}
ann_is() { [ "$(svc_annotation "$1" kubelb.io/announcing-IPv4)" = "$2" ]; }
check_ann() {
	if wait_for 15 ann_is "$1" "$2"; then
		pass "$1: kubelb.io/announcing-IPv4 = $2"
	else
		fail "$1: kubelb.io/announcing-IPv4 = '$(svc_annotation "$1" kubelb.io/announcing-IPv4)', expected '$2'"
	fi
}

# node1 first, alone: it announces both on-link VIPs. node2 starts once
# node1's writes are done: agents starting at the same instant may both
# elect themselves before they see each other's Lease, and the loser's
# annotation can then land after the winner's and stay (the winner does
# not rewrite it); that race is the reporter's business, not this test's.
ds_agent_start node1
check_ann default/web node1,eth0
check_ann shop/db node1,eth0
ds_agent_start node2

LOCAL="mode local link eth0"
check_holders "$V4 local on node1" 30 $V4 node1 "$LOCAL"
check_holders "$S4 local on node2" 10 $S4 node2 "$LOCAL"
check_holders "$R virtual on both" 10 $R "node1 node2" "mode virtual"
check_holders "$L (ETP Local) only on node2, which has the endpoint" 10 $L node2 "mode virtual"

probe_ok() { [ "$(nsexec "${NODE_NS[$1]}" curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$2")" = 200 ]; }
for n in node1 node2; do
	for u in "${PROBE_URLS[@]}"; do
		if wait_for 20 probe_ok $n "$u"; then
			pass "$n: the DaemonSet's probe $u answers 200"
		else
			fail "$n: the DaemonSet's probe $u does not answer 200"
		fi
	done
done

check_ann default/web node1,eth0
check_ann shop/db node2,eth0
has_event() {
	api GET "/api/v1/namespaces/$1/events" |
		jq -e --arg s "$2" --arg h "$3" '.items[] | select(.reason == "AnnouncingIP" and
			.involvedObject.name == $s and .source.host == $h)' >/dev/null
}
check_event() {
	if wait_for 15 has_event "$@"; then
		pass "an AnnouncingIP Event about $1/$2 from $3"
	else
		fail "no AnnouncingIP Event about $1/$2 from $3"
	fi
}
check_event default web node1
check_event shop db node2

# the Leases: created, then renewed (an update from each agent)
# audited VERB RESOURCE [NAME]: a successful request of the agents' in the
# audit log. The server appends to it meanwhile: a line being written is
# not a reason to miss the complete ones before it.
audited() {
	jq -c --arg u "$SA_USER" --arg v "$1" --arg r "$2" --arg n "${3:-}" \
		'select(.user == $u and .verb == $v and .resource == $r and
			($n == "" or .name == $n) and .code < 300)' "$API_AUDIT" 2>/dev/null |
		grep -q .
}
for n in node1 node2; do
	check "$n's Lease kubelb-node-$n exists" lease $n
	if wait_for 10 audited update leases kubelb-node-$n; then
		pass "... and was renewed (update)"
	else
		fail "... but was never renewed (no update in the audit log)"
		grep "kubelb-node-$n" "$API_AUDIT" | tail -n 5 | log_file
	fi
done

# the history expires: every re-watch gets 410, the agents list again
api_ok "fault expire" POST /_fake/fault '{"kind":"expire","cut":true}' >/dev/null
for n in node1 node2; do
	wait_log $n 'resource version expired; listing again' 20 &&
		pass "$n relisted after the 410"
done
svc_ips shop/api "$R,203.0.113.6"
check_holders "a change after the relist applies (203.0.113.6 on both)" 15 203.0.113.6 "node1 node2" "mode virtual"

# graceful stop: the Lease is deleted, node2 takes over and reports it
agent_stop node1 TERM 15
check_eq "node1's agent stopped gracefully (exit 0)" 0 "${AGENT_RC[node1]}"
check "... its Lease is deleted" lease_absent node1
check_holders "... $V4 taken over by node2" 15 $V4 node2 "$LOCAL"
check_ann default/web node2,eth0
check_event default web node2
agent_stop node2 TERM 15
check_eq "node2's agent stopped gracefully (exit 0)" 0 "${AGENT_RC[node2]}"
check "... its Lease is deleted" lease_absent node2

# --- the audit log against the policy ------------------------------------------------------------------
cat >"$TMPD/audit.py" <<'EOF'
import json, sys
from collections import Counter

policy = json.load(open(sys.argv[1]))
recs = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
user, lease_ns = sys.argv[3], sys.argv[4]

def ok(cond, desc, why=""):
    print(("ok %s" % desc) if cond else ("not ok %s: %s" % (desc, why)))

mine = [r for r in recs if r.get("user") == user]
ok(len(mine) > 0, "the agents made %d requests as %s" % (len(mine), user))
refused = [r for r in mine if r["code"] in (401, 403)]
ok(not refused, "no request of the agents was refused (401/403)",
   "; ".join("%s %s -> %d" % (r["method"], r["uri"], r["code"])
             for r in refused[:8]))

# Non-resource URLs: RBAC's default system:public-info-viewer lets every
# user read these; the manifests need not grant them.
public = {"/version", "/healthz", "/livez", "/readyz"}
nonres = sorted({r["nonResourceURL"] for r in mine if "nonResourceURL" in r})
ok(set(nonres) <= public,
   "non-resource requests: %s (RBAC grants them to everybody by default)"
   % (", ".join(nonres) or "none"), repr(nonres))

def res(r):
    return r["resource"] + ("/" + r["subresource"] if r["subresource"] else "")

reqs = Counter((r["verb"], r["group"], res(r), r["namespace"])
               for r in mine if "nonResourceURL" not in r)
print("what the agents did (verb group resource namespace: requests):")
for (v, g, rs, ns), n in sorted(reqs.items()):
    print("  %-7s %-20s %-16s %-14s %d" % (v, g or "core", rs, ns or "(all)", n))

grants = []
for rule in policy[user]:
    scopes = rule.get("namespaces") or ["*"]
    for v in rule["verbs"]:
        for g in rule["apiGroups"]:
            for rs in rule["resources"]:
                for s in scopes:
                    grants.append((v, g, rs, s))

def covers(gr, rq):
    return gr[:3] == rq[:3] and gr[3] in ("*", rq[3])

ungranted = [rq for rq in reqs if not any(covers(gr, rq) for gr in grants)]
ok(not ungranted, "every request of the agents is granted by a rule",
   repr(ungranted))
for gr in grants:
    used = [rq for rq in reqs if covers(gr, rq)]
    where = "cluster-wide" if gr[3] == "*" else "in " + gr[3]
    desc = "the grant %s %s/%s %s was used (%d requests)" % (
        gr[0], gr[1] or "core", gr[2], where, sum(reqs[u] for u in used))
    ok(used, desc, "never used: remove it")
    if used and gr[3] == "*":
        nss = {u[3] for u in used}
        ok(nss != {lease_ns},
           "... not only in %s (else it belongs in the Role)" % lease_ns,
           "used only in %s" % lease_ns)

# the relist: every watched collection was listed twice at least
for v, g, rs, ns in sorted(reqs):
    if v == "watch":
        n = reqs.get(("list", g, rs, ns), 0)
        ok(n >= 4, "%s/%s %s: listed again after the 410 (%d lists by two "
           "agents)" % (g or "core", rs, ns or "(all)", n), "only %d" % n)
EOF
py_checks audit.py "$TMPD/policy.json" "$API_AUDIT" "$SA_USER" "$SA_NS"

# was the policy enforced at all? (after the audit: this is a 403 of the
# service account) It grants nothing on Pods.
sa_req() {
	nsexec "$NS_LAN" curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
		--cacert "$API_CA" -H 'Authorization: Bearer tok-sa' "$API_URL$1"
}
check_eq "the server enforces the policy: GET pods as the service account is 403" \
	403 "$(sa_req /api/v1/namespaces/$SA_NS/pods)"

exit_test
