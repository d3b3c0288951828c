/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/* Minimal TAP producer for the kubelb userspace unit tests. */
#ifndef KUBELB_TAP_H
#define KUBELB_TAP_H

#include <stdbool.h>

extern int tap_count, tap_failed;

void tap_ok(bool pass, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void tap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

void test_msg(void);
void test_args(void);
void test_output(void);
void test_linebuf(void);
void test_kubeconfig(void);
void test_kobj(void);
void test_store(void);
void test_model(void);
void test_staticsrc(void);
void test_log(void);
void test_report(void);
void test_options(void);
void test_reconcile(void);
void test_backoff(void);

#endif
