# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# kernel-log.sh: the kernel-log scan of every VM run that loads kubelb.
# Source it (in the guest: it reads the guest's kernel log).
#
#   klog_mark                 write the start marker to the kernel log
#   klog_scan STEP [FILE]     TAP: the marker is in the kernel log, and the
#                             log since it has no report; FILE keeps that log
#
# KLOG_APPEND is the kernel command line a VM needs for the scan: a long run
# (hundreds of namespaces, bridges and veths) overflows the default 128 KiB
# ring buffer, and a marker that scrolled out must not pass for a clean log.

KLOG_MARK="kubelb vm-selftests: start"
KLOG_APPEND="log_buf_len=16M"
KLOG_REPORTS='KASAN|UBSAN|BUG:|WARNING:|Oops|general protection|possible recursive locking|circular locking dependency|inconsistent lock state|suspicious RCU usage|lockdep|ODEBUG|list_add corruption|list_del corruption|refcount_t|kmemleak: [0-9]+ new suspected|unregister_netdevice: waiting|Call Trace'

klog_mark() {
	echo "$KLOG_MARK" >/dev/kmsg
}

klog_scan() {
	local step=$1 file=${2:-} log
	log=$(dmesg)
	if ! grep -qF "$KLOG_MARK" <<<"$log"; then
		echo "not ok - $step: kernel log: start marker \"$KLOG_MARK\" not found (nothing to scan)"
		return 1
	fi
	log=$(sed -n "\|$KLOG_MARK|,\$p" <<<"$log")
	[ -n "$file" ] && printf '%s\n' "$log" >"$file"
	if grep -qE "$KLOG_REPORTS" <<<"$log"; then
		grep -nE -A12 "$KLOG_REPORTS" <<<"$log" | head -n 120 | sed 's/^/# /'
		echo "not ok - $step: kernel log has reports ($(grep -cE "$KLOG_REPORTS" <<<"$log") matching lines)"
		return 1
	fi
	echo "ok - $step: kernel log clean since the start marker (no KASAN/UBSAN/lockdep/BUG/WARNING/leak reports)"
}
