#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kubelb-agent tells the operator what to do when the kubelb module is
# not loaded: it exits 1 at once with one error line (logfmt) saying "cannot talk
# to the kubelb module: is it loaded? (modprobe kubelb)", in static-file
# mode and with a kubeconfig alike (before any API request: a DaemonSet
# pod's termination message). With the module loaded but no device
# (ifname=""), the line names the device and both ways to make one. The
# module is then loaded again as rmmod.sh does, for the tests that follow.

source "$(dirname "$0")/agent_lib.sh"
require_agent
require_ko
require_cmd rmmod insmod timeout

P=/sys/module/kubelb/parameters
IFNAME0=$(cat $P/ifname)
MAX0=$(cat $P/max_vips)
module_restore_on_exit

echo '{"apiVersion":"v1","kind":"List","items":[]}' >"$TMPD/services.json"
# a kubeconfig whose server nobody serves: the agent must not get that far
cat >"$TMPD/kc.yaml" <<EOF2
apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: https://192.0.2.1:6443
    insecure-skip-tls-verify: true
contexts:
- name: c
  context:
    cluster: c
    user: u
current-context: c
users:
- name: u
  user:
    token: t
EOF2

# run_agent NAME ARGS...: the agent, given 60 s to give up; its output in
# $TMPD/NAME.out, its exit status in AGENT_EXIT
run_agent() {
	local name=$1
	shift
	timeout 60 "$AGENT_BIN" --node node1 "$@" >"$TMPD/$name.out" 2>&1
	AGENT_EXIT=$?
	_slurp AGENT_OUT "$TMPD/$name.out"
}

# check_agent_error NAME ERE: exit status 1 and exactly one error line, and
# it matches ERE
check_agent_error() {
	local name=$1 re=$2 line errors=()
	while IFS= read -r line; do
		[[ $line =~ (^|\ )level=error\  ]] && errors+=("$line")
	done <<<"$AGENT_OUT"
	if [ "$AGENT_EXIT" = 1 ] && [ ${#errors[@]} = 1 ] && [[ ${errors[0]} =~ $re ]]; then
		pass "$name: exit 1 and one error: ${errors[0]}"
	else
		fail "$name: want exit 1 and one error line matching /$re/, got exit $AGENT_EXIT, ${#errors[@]} errors:"
		log_file "$TMPD/$name.out"
	fi
}

check "rmmod kubelb" rmmod kubelb
MSG='msg="cannot talk to the kubelb module: is it loaded\? \(modprobe kubelb\)"'
run_agent static --services "$TMPD/services.json"
check_agent_error "no module, --services" "$MSG"
run_agent kubeconfig --kubeconfig "$TMPD/kc.yaml"
check_agent_error "no module, --kubeconfig" "$MSG"

check "insmod ifname=\"\" (no device)" insmod "$KUBELB_KO" ifname=
run_agent nodev --services "$TMPD/services.json"
check_agent_error "module without kube-lb0" \
	'msg="kubelb device not found \(modprobe kubelb ifname=\.\.\., or ip link add NAME type kubelb\)" dev=kube-lb0'

check "rmmod kubelb" rmmod kubelb
check "insmod $KUBELB_KO ifname=$IFNAME0 max_vips=$MAX0 (as before)" \
	insmod "$KUBELB_KO" ifname="$IFNAME0" max_vips="$MAX0"
if [ -n "$IFNAME0" ]; then
	check "... $IFNAME0 is back" ip link show "$IFNAME0"
fi

exit_test
