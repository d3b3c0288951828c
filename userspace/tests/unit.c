// SPDX-License-Identifier: GPL-2.0 OR MIT
/* Unit test driver: prints TAP, exits non-zero if a test failed. */
#include <stdarg.h>
#include <stdio.h>

#include "tap.h"

int tap_count, tap_failed;

void tap_ok(bool pass, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	tap_count++;
	printf("%sok %d - ", pass ? "" : "not ", tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (!pass) {
		tap_failed++;
		printf("#   failed at %s:%d\n", file, line);
	}
}

void tap_diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("TAP version 13\n");
	test_msg();
	test_args();
	test_output();
	test_linebuf();
	test_kubeconfig();
	test_kobj();
	test_store();
	test_model();
	test_staticsrc();
	test_log();
	test_report();
	test_options();
	test_reconcile();
	test_backoff();
	printf("1..%d\n", tap_count);
	printf("# %d passed, %d failed\n", tap_count - tap_failed, tap_failed);
	return tap_failed ? 1 : 0;
}
