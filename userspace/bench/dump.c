// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * bench-dump: how long the kernel takes to hand every VIP to userspace
 * (the genl dump alone, parsed by libkubelb) and, separately, how long
 * loading kubelb's routes takes; "kubelbctl vip show" does both plus
 * formatting. Used by tools/bench-vips.
 */
#include <stdio.h>
#include <time.h>

#include "libkubelb.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int count_vip(const struct kubelb_vip *v, void *data)
{
	(void)v;
	++*(unsigned long *)data;
	return 0;
}

int main(void)
{
	struct kubelb_filter filter = { 0 };
	struct kubelb_fib fib = { 0 };
	struct kubelb_err err = { 0 };
	unsigned long vips = 0;
	struct kubelb *h;
	double t0, t1, t2;

	if (kubelb_open(&h, &err) < 0) {
		fprintf(stderr, "bench-dump: %s\n", kubelb_err_str(&err));
		return 1;
	}
	t0 = now();
	if (kubelb_vip_dump(h, &filter, count_vip, &vips, &err) < 0) {
		fprintf(stderr, "bench-dump: dump: %s\n", kubelb_err_str(&err));
		return 1;
	}
	t1 = now();
	if (kubelb_fib_load(h, &fib, &err) < 0) {
		fprintf(stderr, "bench-dump: routes: %s\n", kubelb_err_str(&err));
		return 1;
	}
	t2 = now();
	printf("VIP dump: %lu VIPs in %.3f s; route load: %.3f s\n",
	       vips, t1 - t0, t2 - t1);
	kubelb_fib_free(&fib);
	kubelb_close(h);
	return 0;
}
