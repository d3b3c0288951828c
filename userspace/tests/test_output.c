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

static void test_show(void)
{
	struct kubelb_vip v;
	char buf[512];
	char *s;
	cJSON *j, *st;

	mk(&v, AF_INET, "192.0.2.1", 32);
	format_vip_line(buf, sizeof(buf), &v, "kube-lb0", "", 0);
	ok(!strcmp(buf, "192.0.2.1/32 dev kube-lb0 mode virtual"),
	   "text: plain virtual VIP: \"%s\"", buf);
	format_vip_line(buf, sizeof(buf), &v, "kube-lb0", "",
			VIP_LINE_FIB_MISSING);
	ok(!strcmp(buf, "192.0.2.1/32 dev kube-lb0 mode virtual fib-missing"),
	   "text: fib-missing flag: \"%s\"", buf);

	mk(&v, AF_INET6, "2001:db8::1", 64);
	v.mode = KUBELB_MODE_LOCAL;
	v.link = 2;
	strcpy(v.service, "default/web");
	v.owner = 7;
	format_vip_line(buf, sizeof(buf), &v, "kube-lb0", "eth0", 0);
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
	ok(st && cJSON_GetObjectItem(st, "answered")->valueint == 1 &&
	   cJSON_GetObjectItem(st, "suppressed")->valueint == 2 &&
	   cJSON_GetObjectItem(st, "announced")->valueint == 3 &&
	   cJSON_GetArraySize(st) == 4 &&
	   s && strstr(s, "\"rewritten\":18446744073709551615"),
	   "json: stats object, each counter under its own key, exact u64");
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

static void test_announce(void)
{
	struct kubelb_vip v;
	char buf[512];
	char *s;
	cJSON *j;
	int n;

	mk(&v, AF_INET, "192.0.2.1", 32);
	v.mode = KUBELB_MODE_LOCAL;
	v.link = 2;
	v.announce_state = KUBELB_ANNOUNCE_BURST;
	v.announce_left = 2;
	format_vip_line(buf, sizeof(buf), &v, "kube-lb0", "eth0", 0);
	ok(!strcmp(buf, "192.0.2.1/32 dev kube-lb0 mode local link eth0 "
		   "announcing 2 left"),
	   "text: burst shows the announcements left: \"%s\"", buf);
	strcpy(v.service, "ns/web");
	format_vip_line(buf, sizeof(buf), &v, "kube-lb0", "eth0",
			VIP_LINE_FIB_MISSING);
	ok(!strcmp(buf, "192.0.2.1/32 dev kube-lb0 mode local link eth0 "
		   "service ns/web announcing 2 left fib-missing"),
	   "text: announce state after service, before fib-missing: \"%s\"",
	   buf);
	v.service[0] = '\0';

	v.announce_state = KUBELB_ANNOUNCE_PERIODIC;
	v.announce_left = 0;
	format_vip_line(buf, sizeof(buf), &v, "kube-lb0", "eth0", 0);
	ok(!strcmp(buf, "192.0.2.1/32 dev kube-lb0 mode local link eth0 "
		   "announce periodic"), "text: periodic: \"%s\"", buf);

	v.announce_state = KUBELB_ANNOUNCE_IDLE;
	format_vip_line(buf, sizeof(buf), &v, "kube-lb0", "eth0", 0);
	ok(!strcmp(buf, "192.0.2.1/32 dev kube-lb0 mode local link eth0"),
	   "text: idle says nothing in show: \"%s\"", buf);
	format_vip_line(buf, sizeof(buf), &v, "kube-lb0", "eth0",
			VIP_LINE_ANNOUNCE_IDLE);
	ok(!strcmp(buf, "192.0.2.1/32 dev kube-lb0 mode local link eth0 "
		   "announce idle"), "text: idle when asked: \"%s\"", buf);

	v.announce_state = 7;	/* from a kernel newer than this tool */
	format_vip_line(buf, sizeof(buf), &v, "kube-lb0", "eth0", 0);
	ok(!strcmp(buf, "192.0.2.1/32 dev kube-lb0 mode local link eth0 "
		   "announce 7"), "text: unknown state as a number: \"%s\"", buf);

	/* monitor lines */
	v.announce_state = KUBELB_ANNOUNCE_BURST;
	v.announce_left = 1;
	n = format_event_line(buf, sizeof(buf), KUBELB_CMD_VIP_ANNOUNCE, &v,
			      "kube-lb0", "eth0");
	ok(n == (int)strlen(buf) &&
	   !strcmp(buf, "announce 192.0.2.1/32 dev kube-lb0 mode local link "
		   "eth0 announcing 1 left"),
	   "monitor: announce event, burst: \"%s\"", buf);
	v.announce_state = KUBELB_ANNOUNCE_IDLE;
	v.announce_left = 0;
	format_event_line(buf, sizeof(buf), KUBELB_CMD_VIP_ANNOUNCE, &v,
			  "kube-lb0", "eth0");
	ok(!strcmp(buf, "announce 192.0.2.1/32 dev kube-lb0 mode local link "
		   "eth0 announce idle"),
	   "monitor: announce event back to idle says so: \"%s\"", buf);
	format_event_line(buf, sizeof(buf), KUBELB_CMD_VIP_CHANGE, &v,
			  "kube-lb0", "eth0");
	ok(!strcmp(buf, "change 192.0.2.1/32 dev kube-lb0 mode local link eth0"),
	   "monitor: other events of an idle VIP unchanged: \"%s\"", buf);
	v.mode = KUBELB_MODE_VIRTUAL;
	v.link = 0;
	format_event_line(buf, sizeof(buf), KUBELB_CMD_VIP_NEW, &v,
			  "kube-lb0", "");
	ok(!strcmp(buf, "add 192.0.2.1/32 dev kube-lb0 mode virtual"),
	   "monitor: add line: \"%s\"", buf);
	format_event_line(buf, sizeof(buf), KUBELB_CMD_VIP_DEL, &v,
			  "kube-lb0", "");
	ok(!strcmp(buf, "del 192.0.2.1/32 dev kube-lb0 mode virtual"),
	   "monitor: del line: \"%s\"", buf);
	ok(format_event_line(buf, sizeof(buf), KUBELB_CMD_VIP_GET, &v,
			     "kube-lb0", "") == -1 &&
	   !monitor_event_name(KUBELB_CMD_VIP_GET) &&
	   !monitor_event_name(KUBELB_CMD_MAX + 1),
	   "monitor: GET and unknown commands are not events");

	/* JSON */
	v.mode = KUBELB_MODE_LOCAL;
	v.link = 2;
	v.announce_state = KUBELB_ANNOUNCE_BURST;
	v.announce_left = 2;
	s = format_vip_json(&v, "kube-lb0", "eth0", -1, false, "announce");
	j = s ? cJSON_Parse(s) : NULL;
	ok(j && !strcmp(cJSON_GetObjectItem(j, "announce")->valuestring, "burst") &&
	   cJSON_GetObjectItem(j, "announce_left")->valueint == 2 &&
	   !strcmp(cJSON_GetObjectItem(j, "event")->valuestring, "announce"),
	   "json: announce \"burst\", announce_left 2, event announce: %s",
	   s ? s : "(null)");
	cJSON_Delete(j);
	free(s);
	v.announce_state = KUBELB_ANNOUNCE_PERIODIC;
	v.announce_left = 0;
	s = format_vip_json(&v, "kube-lb0", "eth0", 0, false, NULL);
	j = s ? cJSON_Parse(s) : NULL;
	ok(j && !strcmp(cJSON_GetObjectItem(j, "announce")->valuestring,
			"periodic") &&
	   cJSON_GetObjectItem(j, "announce_left")->valueint == 0,
	   "json: announce \"periodic\": %s", s ? s : "(null)");
	cJSON_Delete(j);
	free(s);
	mk(&v, AF_INET, "10.0.0.1", 32);
	s = format_vip_json(&v, "kube-lb0", "", 0, false, NULL);
	j = s ? cJSON_Parse(s) : NULL;
	ok(j && !strcmp(cJSON_GetObjectItem(j, "announce")->valuestring, "idle") &&
	   cJSON_GetObjectItem(j, "announce_left") &&
	   cJSON_GetObjectItem(j, "announce_left")->valueint == 0,
	   "json: idle VIP still has announce \"idle\", announce_left 0: %s",
	   s ? s : "(null)");
	cJSON_Delete(j);
	free(s);
}

static void test_usage(void)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (f) {
		usage(f);
		fclose(f);
	}
	ok(text && strstr(text, "vip announce ADDR [dev DEV]") &&
	   strstr(text, "del and announce without dev act on whichever device"),
	   "usage: documents vip announce and its dev default");
	free(text);
}

void test_output(void)
{
	test_show();
	test_announce();
	test_usage();
}
