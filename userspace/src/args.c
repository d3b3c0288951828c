// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * kubelbctl argument parsing: argv -> struct cmd, no side effects.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "kubelbctl.h"

static int fail(char *err, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -1;
}

void usage(FILE *f)
{
	fputs("Usage: kubelbctl [-j] [-s] vip add ADDR[/PLEN] [dev DEV] [mode virtual|local]\n"
	      "                                  [link IFNAME] [service NS/NAME]\n"
	      "       kubelbctl [-j] [-s] vip replace ADDR[/PLEN] [dev DEV] [mode virtual|local]\n"
	      "                                  [link IFNAME] [service NS/NAME]\n"
	      "       kubelbctl vip del ADDR [dev DEV]\n"
	      "       kubelbctl [-j] [-s] vip show [dev DEV] [ADDR]\n"
	      "       kubelbctl vip flush [dev DEV]\n"
	      "       kubelbctl [-j] [-s] vip announce ADDR [dev DEV]\n"
	      "       kubelbctl [-j] monitor\n"
	      "       kubelbctl -b FILE     (one command a line, '#' comments, \"-\" = stdin)\n"
	      "       kubelbctl help\n"
	      "DEV defaults to " KUBELB_DEFAULT_DEV " for add, replace and flush;\n"
	      "del and announce without dev act on whichever device holds ADDR.\n", f);
}

static bool looks_like_addr(const char *s)
{
	for (; *s; s++)
		if (isdigit((unsigned char)*s) || *s == ':' || *s == '.' ||
		    *s == '/')
			return true;
	return false;
}

static int parse_addr(struct cmd *c, const char *s, bool plen_ok,
		      char *err, size_t len)
{
	char buf[sizeof(c->addr_str)];
	char *slash;
	unsigned int max;

	if (strlen(s) >= sizeof(buf))
		return fail(err, len, "address %.64s: invalid address", s);
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	if (inet_pton(AF_INET, buf, &c->addr.v4) == 1)
		c->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, &c->addr.v6) == 1)
		c->family = AF_INET6;
	else
		return fail(err, len, "address %s: not a valid IPv4 or IPv6 address",
			    buf);
	strcpy(c->addr_str, buf);
	c->has_addr = true;
	if (!slash)
		return 0;
	if (!plen_ok)
		return fail(err, len, "address %s: prefix length not allowed here",
			    s);
	max = kubelb_max_plen(c->family);
	{
		const char *p = slash + 1;
		unsigned long v = 0;

		if (!*p || strlen(p) > 3)
			return fail(err, len, "prefix length \"%s\": not a number (0-%u)",
				    p, max);
		for (; *p; p++) {
			if (!isdigit((unsigned char)*p))
				return fail(err, len,
					    "prefix length \"%s\": not a number (0-%u)",
					    slash + 1, max);
			v = v * 10 + (unsigned long)(*p - '0');
		}
		if (v > max)
			return fail(err, len,
				    "prefix length %lu: out of range for %s (0-%u)",
				    v, c->family == AF_INET ? "IPv4" : "IPv6",
				    max);
		c->plen = (uint8_t)v;
		c->has_plen = true;
	}
	return 0;
}

static int parse_ifname(char *dst, const char *kw, const char *s, char *err,
			size_t len)
{
	size_t n = strlen(s);

	if (!n || n >= IFNAMSIZ || strchr(s, '/') || strpbrk(s, " \t\n"))
		return fail(err, len, "%s %.64s: invalid interface name", kw, s);
	memcpy(dst, s, n + 1);
	return 0;
}

static int parse_service(struct cmd *c, const char *s, char *err, size_t len)
{
	const char *slash = strchr(s, '/');
	size_t n = strlen(s);

	if (!slash || slash == s || !slash[1] || strchr(slash + 1, '/'))
		return fail(err, len, "service %.140s: must be NAMESPACE/NAME", s);
	if ((size_t)(slash - s) > 63 || strlen(slash + 1) > 63 ||
	    n >= KUBELB_SERVICE_MAX)
		return fail(err, len,
			    "service %.140s: namespace and name are at most 63 characters each",
			    s);
	memcpy(c->service, s, n + 1);
	return 0;
}

#define KW_DEV		1u
#define KW_MODE		2u
#define KW_LINK		4u
#define KW_SERVICE	8u
#define KW_ADDR		16u
#define KW_PLEN		32u

static int parse_vip(int argc, char **argv, struct cmd *c, unsigned int kw,
		     char *err, size_t len)
{
	int i;

	for (i = 0; i < argc; i++) {
		const char *t = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		bool *seen = NULL;

		if ((kw & KW_DEV) && !strcmp(t, "dev"))
			seen = &c->has_dev;
		else if ((kw & KW_MODE) && !strcmp(t, "mode"))
			seen = &c->has_mode;
		else if ((kw & KW_LINK) && !strcmp(t, "link"))
			seen = &c->has_link;
		else if ((kw & KW_SERVICE) && !strcmp(t, "service"))
			seen = &c->has_service;

		if (seen) {
			if (!v)
				return fail(err, len, "%s: missing value", t);
			if (*seen)
				return fail(err, len, "%s: given more than once", t);
			i++;
			if (seen == &c->has_dev) {
				if (parse_ifname(c->dev, "dev", v, err, len))
					return -1;
			} else if (seen == &c->has_link) {
				if (parse_ifname(c->link, "link", v, err, len))
					return -1;
			} else if (seen == &c->has_mode) {
				if (!strcmp(v, "virtual"))
					c->mode = KUBELB_MODE_VIRTUAL;
				else if (!strcmp(v, "local"))
					c->mode = KUBELB_MODE_LOCAL;
				else
					return fail(err, len,
						    "mode %.64s: unknown mode (virtual or local)",
						    v);
			} else if (parse_service(c, v, err, len)) {
				return -1;
			}
			*seen = true;
			continue;
		}
		if ((kw & KW_ADDR) && !c->has_addr && looks_like_addr(t)) {
			if (parse_addr(c, t, kw & KW_PLEN, err, len))
				return -1;
			continue;
		}
		if ((kw & KW_ADDR) && c->has_addr && looks_like_addr(t))
			return fail(err, len, "%.64s: address already given (%s)",
				    t, c->addr_str);
		return fail(err, len, "%.64s: unknown keyword", t);
	}
	return 0;
}

int parse_args(int argc, char **argv, struct cmd *c, bool in_batch,
	       char *err, size_t len)
{
	bool help = false;
	const char *sub;

	memset(c, 0, sizeof(*c));
	err[0] = '\0';
	while (argc > 0 && argv[0][0] == '-' && argv[0][1]) {
		const char *o = argv[0];

		if (!strcmp(o, "--")) {
			argc--, argv++;
			break;
		}
		if (!strcmp(o, "-j") || !strcmp(o, "-json") ||
		    !strcmp(o, "--json")) {
			c->json = true;
		} else if (!strcmp(o, "-s") || !strcmp(o, "-stats") ||
			   !strcmp(o, "-statistics") || !strcmp(o, "--stats")) {
			c->stats = true;
		} else if (!strcmp(o, "-js") || !strcmp(o, "-sj")) {
			c->json = c->stats = true;
		} else if (!strcmp(o, "-h") || !strcmp(o, "-help") ||
			   !strcmp(o, "--help")) {
			help = true;
		} else if (!strcmp(o, "-b") || !strcmp(o, "-batch") ||
			   !strcmp(o, "--batch")) {
			if (in_batch)
				return fail(err, len, "%s: not allowed inside a batch", o);
			if (argc < 2)
				return fail(err, len, "%s: missing FILE", o);
			c->batch_file = argv[1];
			argc--, argv++;
		} else {
			return fail(err, len, "%.64s: unknown option", o);
		}
		argc--, argv++;
	}
	if (help) {
		c->kind = CMD_HELP;
		return 0;
	}
	if (c->batch_file) {
		if (argc > 0)
			return fail(err, len, "%.64s: unexpected argument after -b FILE",
				    argv[0]);
		c->kind = CMD_BATCH;
		return 0;
	}
	if (argc == 0)
		return fail(err, len, "missing command: try \"kubelbctl help\"");

	if (!strcmp(argv[0], "help")) {
		c->kind = CMD_HELP;
		return 0;
	}
	if (!strcmp(argv[0], "monitor")) {
		c->kind = CMD_MONITOR;
		if (argc > 1)
			return fail(err, len, "%.64s: unknown keyword", argv[1]);
		return 0;
	}
	if (strcmp(argv[0], "vip"))
		return fail(err, len, "%.64s: unknown command (vip, monitor, help)",
			    argv[0]);
	if (argc < 2)
		return fail(err, len,
			    "vip: missing subcommand (add, replace, del, show, flush, announce)");
	sub = argv[1];
	argc -= 2;
	argv += 2;
	if (!strcmp(sub, "add") || !strcmp(sub, "replace")) {
		c->kind = sub[0] == 'a' ? CMD_VIP_ADD : CMD_VIP_REPLACE;
		if (parse_vip(argc, argv, c, KW_DEV | KW_MODE | KW_LINK |
			      KW_SERVICE | KW_ADDR | KW_PLEN, err, len))
			return -1;
		if (!c->has_addr)
			return fail(err, len, "address: missing (ADDR[/PLEN])");
		if (c->has_link && !(c->has_mode && c->mode == KUBELB_MODE_LOCAL))
			return fail(err, len, "link %s: only allowed with mode local",
				    c->link);
		if (c->has_mode && c->mode == KUBELB_MODE_LOCAL && !c->has_link)
			return fail(err, len, "mode local: requires link IFNAME");
	} else if (!strcmp(sub, "del") || !strcmp(sub, "delete")) {
		c->kind = CMD_VIP_DEL;
		if (parse_vip(argc, argv, c, KW_DEV | KW_ADDR | KW_PLEN, err, len))
			return -1;
		if (!c->has_addr)
			return fail(err, len, "address: missing (ADDR)");
	} else if (!strcmp(sub, "show") || !strcmp(sub, "list") ||
		   !strcmp(sub, "ls")) {
		c->kind = CMD_VIP_SHOW;
		if (parse_vip(argc, argv, c, KW_DEV | KW_ADDR, err, len))
			return -1;
	} else if (!strcmp(sub, "flush")) {
		c->kind = CMD_VIP_FLUSH;
		if (parse_vip(argc, argv, c, KW_DEV, err, len))
			return -1;
	} else if (!strcmp(sub, "announce")) {
		c->kind = CMD_VIP_ANNOUNCE;
		if (parse_vip(argc, argv, c, KW_DEV | KW_ADDR, err, len))
			return -1;
		if (!c->has_addr)
			return fail(err, len, "address: missing (ADDR)");
	} else if (!strcmp(sub, "help")) {
		c->kind = CMD_HELP;
	} else {
		return fail(err, len,
			    "vip %.64s: unknown subcommand (add, replace, del, show, flush, announce)",
			    sub);
	}
	return 0;
}

int split_line(char *line, char **argv, int max, char *err, size_t len)
{
	char *r = line, *w = line;
	int argc = 0;

	for (;;) {
		char q = 0;

		while (*r == ' ' || *r == '\t' || *r == '\n' || *r == '\r')
			r++;
		if (!*r || *r == '#')
			break;
		if (argc == max)
			return fail(err, len, "too many arguments (max %d)", max);
		argv[argc++] = w;
		while (*r) {
			if (q) {
				if (*r == q) {
					q = 0;
					r++;
					continue;
				}
			} else if (*r == '"' || *r == '\'') {
				q = *r++;
				continue;
			} else if (*r == ' ' || *r == '\t' || *r == '\n' ||
				   *r == '\r') {
				break;
			}
			*w++ = *r++;
		}
		if (q)
			return fail(err, len, "unterminated quote");
		if (*r)
			r++;
		*w++ = '\0';
	}
	return argc;
}
