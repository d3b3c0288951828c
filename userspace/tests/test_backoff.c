// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The kube-api client's retry backoff and watch timeouts, driven with a
 * made-up clock and chosen random numbers (no wall time): 0.8 s doubling
 * to 30 s with +-25% jitter, back to 0.8 s after 2 minutes without an
 * error; watch timeoutSeconds spread over 300..599.
 */
#include <stdint.h>

#include "tap.h"
#include "agent.h"

/* The random number that puts the delay exactly on base (no jitter). */
static uint64_t centre(uint64_t base)
{
	return base / 4;
}

static void test_doubling(void)
{
	static const uint64_t want[] = { 800, 1600, 3200, 6400, 12800, 25600,
					 30000, 30000, 30000 };
	struct kapi_backoff b = { 0 };
	uint64_t now = 1000000, delay;
	bool all = true;
	size_t i;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		delay = kapi_backoff_next(&b, now, centre(want[i]));
		if (delay != want[i]) {
			all = false;
			tap_diag("error %zu: delay %llu ms, want %llu", i + 1,
				 (unsigned long long)delay,
				 (unsigned long long)want[i]);
		}
		now += delay;	/* the retry fails at once */
	}
	ok(all, "retries after consecutive errors wait 0.8, 1.6, 3.2, 6.4, 12.8, 25.6, then 30 s");
}

/* A backoff after n errors in quick succession; *now: the n-th one's time. */
static struct kapi_backoff after_errors(int n, uint64_t *now)
{
	struct kapi_backoff b = { 0 };

	*now = 5000;
	while (n--)
		*now += kapi_backoff_next(&b, *now, centre(b.base_ms ?
							   b.base_ms : 800));
	return b;
}

static void test_jitter_bounds(void)
{
	uint64_t base = 800, now, lo, hi;
	struct kapi_backoff b;
	bool all = true;
	int i;

	for (i = 0; i < 8; i++) {
		b = after_errors(i, &now);
		lo = kapi_backoff_next(&b, now, 0);
		b = after_errors(i, &now);
		hi = kapi_backoff_next(&b, now, base / 2);
		if (lo != base * 3 / 4 || hi != base * 5 / 4) {
			all = false;
			tap_diag("error %d: base %llu ms, delays %llu..%llu ms",
				 i + 1, (unsigned long long)base,
				 (unsigned long long)lo, (unsigned long long)hi);
		}
		base = base * 2 > 30000 ? 30000 : base * 2;
	}
	ok(all, "the jitter reaches exactly -25%% and +25%% at every step from 0.8 s to 30 s");
}

/* xorshift64, as a stand-in for the agent's random source */
static uint64_t next_random(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void test_jitter_spread(void)
{
	uint64_t seed = 0x9e3779b97f4a7c15ull, delay, min = UINT64_MAX, max = 0;
	struct kapi_backoff b;
	int i;

	for (i = 0; i < 10000; i++) {
		b = (struct kapi_backoff){ 0 };
		delay = kapi_backoff_next(&b, 1000, next_random(&seed));
		min = delay < min ? delay : min;
		max = delay > max ? delay : max;
	}
	ok(min >= 600 && max <= 1000 && min < 700 && max > 900,
	   "first retries of 10000 agents spread over 0.6..1.0 s (saw %llu..%llu ms)",
	   (unsigned long long)min, (unsigned long long)max);

	b = (struct kapi_backoff){ 0 };
	for (i = 0; i < 20; i++)
		delay = kapi_backoff_next(&b, 1000 + (uint64_t)i * 40000,
					  next_random(&seed));
	ok(delay >= 22500 && delay <= 37500 && b.base_ms == 30000,
	   "capped at 30 s +-25%% however many errors (%llu ms)",
	   (unsigned long long)delay);
}

static void test_reset(void)
{
	uint64_t now, delay;
	struct kapi_backoff b = after_errors(6, &now);

	delay = kapi_backoff_next(&b, now, centre(30000));
	ok(delay == 30000, "an error after 25.6 s of backoff waits 30 s (%llu ms)",
	   (unsigned long long)delay);
	delay = kapi_backoff_next(&b, now + 119999, centre(30000));
	ok(delay == 30000,
	   "an error 1 ms short of 2 minutes after the last keeps the backoff (%llu ms)",
	   (unsigned long long)delay);
	delay = kapi_backoff_next(&b, now + 119999 + 120000, centre(800));
	ok(delay == 800,
	   "an error 2 minutes after the last starts again at 0.8 s (%llu ms)",
	   (unsigned long long)delay);
	delay = kapi_backoff_next(&b, now + 119999 + 120000 + 800,
				  centre(1600));
	ok(delay == 1600, "... and doubles again from there (%llu ms)",
	   (unsigned long long)delay);
}

static void test_watch_timeout(void)
{
	uint64_t seed = 12345;
	unsigned int t, min = ~0u, max = 0;
	bool seen[300] = { false };
	int i, distinct = 0;

	ok(kapi_watch_timeout_s(0) == 300 && kapi_watch_timeout_s(299) == 599 &&
	   kapi_watch_timeout_s(300) == 300 &&
	   kapi_watch_timeout_s(UINT64_MAX) == 300 + UINT64_MAX % 300,
	   "watch timeoutSeconds: 300 + random mod 300");
	for (i = 0; i < 30000; i++) {
		t = kapi_watch_timeout_s(next_random(&seed));
		min = t < min ? t : min;
		max = t > max ? t : max;
		if (t >= 300 && t < 600 && !seen[t - 300]) {
			seen[t - 300] = true;
			distinct++;
		}
	}
	ok(min == 300 && max == 599 && distinct == 300,
	   "30000 watches: timeouts cover every second of 300..599 and nothing else (%u..%u, %d distinct)",
	   min, max, distinct);
}

void test_backoff(void)
{
	test_doubling();
	test_jitter_bounds();
	test_jitter_spread();
	test_reset();
	test_watch_timeout();
}
