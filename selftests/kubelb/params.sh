#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Module parameters: visible in /sys/module/kubelb/parameters with sane
# values and permissions, and described in `modinfo` of the module file.

source "$(dirname "$0")/lib.sh"
require_root
require_kubelb
require_cmd modinfo

P=/sys/module/kubelb/parameters
for p in ifname max_vips; do
	if [ -r "$P/$p" ]; then
		pass "$P/$p exists ($(cat "$P/$p"))"
	else
		fail "$P/$p missing"
	fi
done

max=$(cat "$P/max_vips" 2>/dev/null)
if [ "${max:-0}" -ge 100000 ] 2>/dev/null; then
	pass "max_vips default allows at least 100,000 VIPs ($max)"
else
	fail "max_vips is '$max', the limit must default to at least 100,000"
fi

perm=$(stat -c %a "$P/max_vips" 2>/dev/null)
check_eq "max_vips is writable by root (0644)" "644" "$perm"
perm=$(stat -c %a "$P/ifname" 2>/dev/null)
check_eq "ifname is read-only at run time (0444)" "444" "$perm"

if [ -w "$P/max_vips" ]; then
	on_exit "echo $max > $P/max_vips"
	echo 12345 >"$P/max_vips"
	check_eq "max_vips can be changed at run time" "12345" "$(cat "$P/max_vips")"
	echo "$max" >"$P/max_vips"
fi

require_ko
info=$(modinfo "$KUBELB_KO" 2>&1)
log "modinfo $KUBELB_KO:"
echo "$info" | grep -E '^(description|license|parm|name|version|vermagic):' | log_file
# "parm: NAME:DESCRIPTION (TYPE)": without MODULE_PARM_DESC modinfo prints
# only "parm: NAME:TYPE".
check_match "modinfo: ifname has a description" '^parm:[[:space:]]+ifname:.*[^[:space:]].* \(charp\)$' "$info"
check_match "modinfo: max_vips has a description" '^parm:[[:space:]]+max_vips:.*[^[:space:]].* \(uint\)$' "$info"
check_match "modinfo: module has a description" '^description:[[:space:]]+[^[:space:]]' "$info"
check_match "modinfo: GPL-compatible license" '^license:[[:space:]]+(GPL|GPL v2|Dual MIT/GPL|Dual BSD/GPL)' "$info"
check_eq "modinfo -F name is kubelb" "kubelb" "$(modinfo -F name "$KUBELB_KO" 2>&1)"

exit_test
