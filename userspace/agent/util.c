// SPDX-License-Identifier: GPL-2.0 OR MIT
/* Small things every part of the agent uses. */
#include <stdarg.h>
#include <time.h>

#include "agent.h"
#include "agent_int.h"

uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int agent_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static int kapi_io_request(void *ctx, const char *method, const char *path,
			   const char *content_type, const char *body,
			   kapi_req_cb cb, void *data)
{
	return kapi_request(ctx, method, path, content_type, body, cb, data);
}

static uint64_t kapi_io_now(void *ctx)
{
	(void)ctx;
	return now_ms();
}

void agent_io_kapi(struct agent_io *io, struct kapi *k)
{
	io->request = kapi_io_request;
	io->now = kapi_io_now;
	io->ctx = k;
}
