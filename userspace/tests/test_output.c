// SPDX-License-Identifier: GPL-2.0 OR MIT
/* kubelbctl text and JSON output. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cjson/cJSON.h>

#include "kubelbctl.h"
#include "tap.h"

static void mk(struct kubelb_vip *v, int family, const char *a, int plen)
{
	memset(v, 0, sizeof(*v));
	v->family = family;
	inet_pton(family, a, v->addr.b);
	v->prefixlen = plen;
	v->ifindex = 4;
}

void test_output(void)
{
	struct kubelb_vip v;
	char buf[512];
	char *s;
	cJSON *j, *st;

	mk(&v, AF_INET, "192.0.2.1", 32);
	format_vip_line(buf, sizeof(buf), &v, "kube-lb0", "", false);
	ok(!strcmp(buf, "192.0.2.1/32 dev kube-lb0 mode virtual"),
	   "text: plain virtual VIP: \"%s\"", buf);
	format_vip_line(buf, sizeof(buf), &v, "kube-lb0", "", true);
	ok(!strcmp(buf, "192.0.2.1/32 dev kube-lb0 mode virtual fib-missing"),
	   "text: fib-missing flag: \"%s\"", buf);

	mk(&v, AF_INET6, "2001:db8::1", 64);
	v.mode = KUBELB_MODE_LOCAL;
	v.link = 2;
	strcpy(v.service, "default/web");
	v.owner = 7;
	format_vip_line(buf, sizeof(buf), &v, "kube-lb0", "eth0", false);
	ok(!strcmp(buf, "2001:db8::1/64 dev kube-lb0 mode local link eth0 "
		   "service default/web owner 7"),
	   "text: local VIP with link, service, owner: \"%s\"", buf);
	v.stats[KUBELB_STATS_REQ_ANSWERED] = 1;
	v.stats[KUBELB_STATS_REQ_SUPPRESSED] = 2;
	v.stats[KUBELB_STATS_ANNOUNCED] = 3;
	v.stats[KUBELB_STATS_SENDER_REWRITTEN] = 18446744073709551615ULL;
	format_stats_line(buf, sizeof(buf), &v);
	ok(!strcmp(buf, "    answered 1 suppressed 2 announced 3 rewritten "
		   "18446744073709551615"), "text: stats line: \"%s\"", buf);

	v.created = 1764115200123456789ULL;
	s = format_vip_json(&v, "kube-lb0", "eth0", 0, true, NULL);
	j = s ? cJSON_Parse(s) : NULL;
	ok(j != NULL, "json: valid JSON: %s", s ? s : "(null)");
	ok(j && !strcmp(cJSON_GetObjectItem(j, "addr")->valuestring, "2001:db8::1") &&
	   cJSON_GetObjectItem(j, "prefixlen")->valueint == 64 &&
	   !strcmp(cJSON_GetObjectItem(j, "dev")->valuestring, "kube-lb0") &&
	   !strcmp(cJSON_GetObjectItem(j, "mode")->valuestring, "local") &&
	   !strcmp(cJSON_GetObjectItem(j, "link")->valuestring, "eth0") &&
	   !strcmp(cJSON_GetObjectItem(j, "service")->valuestring, "default/web") &&
	   cJSON_GetObjectItem(j, "owner")->valueint == 7 &&
	   cJSON_IsFalse(cJSON_GetObjectItem(j, "fib_missing")) &&
	   !cJSON_GetObjectItem(j, "event"),
	   "json: addr, prefixlen, dev, mode, link, service, owner, fib_missing");
	ok(s && strstr(s, "\"created\":1764115200123456789"),
	   "json: created is an exact integer (ns since epoch)");
	st = j ? cJSON_GetObjectItem(j, "stats") : NULL;
	ok(st && cJSON_GetObjectItem(st, "answered") &&
	   cJSON_GetObjectItem(st, "suppressed") &&
	   cJSON_GetObjectItem(st, "announced") &&
	   s && strstr(s, "\"rewritten\":18446744073709551615"),
	   "json: stats object with exact u64 counters");
	cJSON_Delete(j);
	free(s);

	mk(&v, AF_INET, "10.0.0.1", 24);
	s = format_vip_json(&v, "kube-lb0", "", 1, false, "add");
	j = s ? cJSON_Parse(s) : NULL;
	ok(j && !strcmp(cJSON_GetObjectItem(j, "event")->valuestring, "add") &&
	   !cJSON_GetObjectItem(j, "link") && !cJSON_GetObjectItem(j, "service") &&
	   !cJSON_GetObjectItem(j, "stats") &&
	   cJSON_IsTrue(cJSON_GetObjectItem(j, "fib_missing")) &&
	   cJSON_GetObjectItem(j, "owner")->valueint == 0,
	   "json: virtual VIP has no link/service/stats keys; event key; owner 0");
	cJSON_Delete(j);
	free(s);
	s = format_vip_json(&v, "kube-lb0", "", -1, false, "del");
	ok(s && !strstr(s, "fib_missing"), "json: fib_missing left out for events");
	free(s);
}
