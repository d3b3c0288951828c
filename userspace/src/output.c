// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * kubelbctl output formatting (text and JSON), no side effects.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cjson/cJSON.h>

#include "kubelbctl.h"

static const char *mode_str(uint8_t mode, char *buf, size_t len)
{
	const char *m = kubelb_mode_name(mode);

	if (m)
		return m;
	snprintf(buf, len, "%u", mode);
	return buf;
}

static const char *announce_str(uint8_t state, char *buf, size_t len)
{
	const char *s = kubelb_announce_name(state);

	if (s)
		return s;
	snprintf(buf, len, "%u", state);
	return buf;
}

int format_vip_line(char *buf, size_t len, const struct kubelb_vip *v,
		    const char *dev, const char *link, unsigned int flags)
{
	char a[INET6_ADDRSTRLEN], mb[8], ab[8];
	size_t n;

	if (!inet_ntop(v->family, v->addr.b, a, sizeof(a)))
		strcpy(a, "?");
	n = (size_t)snprintf(buf, len, "%s/%u dev %s mode %s", a, v->prefixlen,
			     dev, mode_str(v->mode, mb, sizeof(mb)));
#define APPEND(...) do { if (n < len) n += (size_t)snprintf(buf + n, len - n, __VA_ARGS__); } while (0)
	if (v->mode == KUBELB_MODE_LOCAL || v->link)
		APPEND(" link %s", link);
	if (v->service[0])
		APPEND(" service %s", v->service);
	if (v->owner)
		APPEND(" owner %" PRIu32, v->owner);
	/* idle is the normal state: only worth a word when asked for it */
	if (v->announce_state == KUBELB_ANNOUNCE_BURST)
		APPEND(" announcing %" PRIu32 " left", v->announce_left);
	else if (v->announce_state != KUBELB_ANNOUNCE_IDLE ||
		 (flags & VIP_LINE_ANNOUNCE_IDLE))
		APPEND(" announce %s",
		       announce_str(v->announce_state, ab, sizeof(ab)));
	if (flags & VIP_LINE_FIB_MISSING)
		APPEND(" fib-missing");
#undef APPEND
	return n < len ? (int)n : -1;
}

int format_stats_line(char *buf, size_t len, const struct kubelb_vip *v)
{
	int n = snprintf(buf, len,
			 "    answered %" PRIu64 " suppressed %" PRIu64
			 " announced %" PRIu64 " rewritten %" PRIu64,
			 v->stats[KUBELB_STATS_REQ_ANSWERED],
			 v->stats[KUBELB_STATS_REQ_SUPPRESSED],
			 v->stats[KUBELB_STATS_ANNOUNCED],
			 v->stats[KUBELB_STATS_SENDER_REWRITTEN]);

	return n >= 0 && (size_t)n < len ? n : -1;
}

const char *monitor_event_name(int cmd)
{
	switch (cmd) {
	case KUBELB_CMD_VIP_NEW:
		return "add";
	case KUBELB_CMD_VIP_DEL:
		return "del";
	case KUBELB_CMD_VIP_CHANGE:
		return "change";
	case KUBELB_CMD_VIP_ANNOUNCE:
		return "announce";
	}
	return NULL;
}

int format_event_line(char *buf, size_t len, int cmd,
		      const struct kubelb_vip *v, const char *dev,
		      const char *link)
{
	const char *ev = monitor_event_name(cmd);
	unsigned int flags = 0;
	int n, m;

	if (!ev)
		return -1;
	/* an announce event is about the state: say it even when idle */
	if (cmd == KUBELB_CMD_VIP_ANNOUNCE)
		flags |= VIP_LINE_ANNOUNCE_IDLE;
	n = snprintf(buf, len, "%s ", ev);
	if (n < 0 || (size_t)n >= len)
		return -1;
	m = format_vip_line(buf + n, len - n, v, dev, link, flags);
	return m < 0 ? -1 : n + m;
}

/* u64 as an exact JSON number (cJSON numbers are doubles) */
static cJSON *u64_json(uint64_t x)
{
	char b[24];

	snprintf(b, sizeof(b), "%" PRIu64, x);
	return cJSON_CreateRaw(b);
}

char *format_vip_json(const struct kubelb_vip *v, const char *dev,
		      const char *link, int fib_missing, bool stats,
		      const char *event)
{
	char a[INET6_ADDRSTRLEN], mb[8], ab[8];
	cJSON *o = cJSON_CreateObject();
	char *s;

	if (!o)
		return NULL;
	if (!inet_ntop(v->family, v->addr.b, a, sizeof(a)))
		strcpy(a, "?");
	if (event)
		cJSON_AddStringToObject(o, "event", event);
	cJSON_AddStringToObject(o, "addr", a);
	cJSON_AddNumberToObject(o, "prefixlen", v->prefixlen);
	cJSON_AddStringToObject(o, "dev", dev);
	cJSON_AddStringToObject(o, "mode", mode_str(v->mode, mb, sizeof(mb)));
	if (v->mode == KUBELB_MODE_LOCAL || v->link)
		cJSON_AddStringToObject(o, "link", link);
	if (v->service[0])
		cJSON_AddStringToObject(o, "service", v->service);
	cJSON_AddNumberToObject(o, "owner", v->owner);
	cJSON_AddItemToObject(o, "created", u64_json(v->created));
	cJSON_AddStringToObject(o, "announce", announce_str(v->announce_state,
							     ab, sizeof(ab)));
	cJSON_AddNumberToObject(o, "announce_left", v->announce_left);
	if (fib_missing >= 0)
		cJSON_AddBoolToObject(o, "fib_missing", fib_missing);
	if (stats) {
		cJSON *st = cJSON_AddObjectToObject(o, "stats");

		if (st) {
			cJSON_AddItemToObject(st, "answered",
					      u64_json(v->stats[KUBELB_STATS_REQ_ANSWERED]));
			cJSON_AddItemToObject(st, "suppressed",
					      u64_json(v->stats[KUBELB_STATS_REQ_SUPPRESSED]));
			cJSON_AddItemToObject(st, "announced",
					      u64_json(v->stats[KUBELB_STATS_ANNOUNCED]));
			cJSON_AddItemToObject(st, "rewritten",
					      u64_json(v->stats[KUBELB_STATS_SENDER_REWRITTEN]));
		}
	}
	/* print into a stack buffer first: one allocation less per VIP */
	{
		char tmp[1024];

		if (cJSON_PrintPreallocated(o, tmp, sizeof(tmp), false))
			s = strdup(tmp);
		else
			s = cJSON_PrintUnformatted(o);
	}
	cJSON_Delete(o);
	return s;
}
