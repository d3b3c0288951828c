// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * kubelbctl: manage kubelb VIPs (iproute2 style).
 */
#include <errno.h>
#include <inttypes.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kubelbctl.h"

#define MAX_ARGS	64

struct pending {
	unsigned long line;
	bool json, stats;
	char addr[INET6_ADDRSTRLEN + 8];
};

struct ctx {
	struct kubelb *h;
	const char *file;	/* batch file, NULL outside a batch */
	unsigned long line;
	/* name -> index cache */
	char last_name[IFNAMSIZ];
	unsigned int last_index;
	/* index -> name cache */
	struct { unsigned int idx; char name[IFNAMSIZ]; } names[16];
	unsigned int next_name;
	/* batch of VIP changes not yet sent */
	struct kubelb_req *reqs;
	struct pending *pend;
	size_t npend, cap;
	bool json_open;
};

static void report_at(struct ctx *x, unsigned long line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void report_at(struct ctx *x, unsigned long line, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	if (x->file)
		fprintf(stderr, "%s:%lu: ", x->file, line);
	fputs("kubelbctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

#define report(x, ...) report_at((x), (x)->line, __VA_ARGS__)

static int open_handle(struct ctx *x)
{
	struct kubelb_err err;

	if (x->h)
		return 0;
	if (kubelb_open(&x->h, &err) < 0) {
		report(x, "kubelb: %s", kubelb_err_str(&err));
		return -1;
	}
	return 0;
}

static unsigned int name_to_index(struct ctx *x, const char *name)
{
	unsigned int idx;

	if (x->last_index && !strcmp(x->last_name, name))
		return x->last_index;
	idx = if_nametoindex(name);
	if (idx) {
		snprintf(x->last_name, sizeof(x->last_name), "%s", name);
		x->last_index = idx;
	}
	return idx;
}

static const char *index_to_name(struct ctx *x, unsigned int idx)
{
	static char tmp[IFNAMSIZ + 8];
	unsigned int i, slot;

	for (i = 0; i < 16; i++)
		if (x->names[i].idx == idx && idx)
			return x->names[i].name;
	slot = x->next_name++ % 16;
	if (!if_indextoname(idx, x->names[slot].name)) {
		x->names[slot].idx = 0;
		snprintf(tmp, sizeof(tmp), "if%u", idx);
		return tmp;
	}
	x->names[slot].idx = idx;
	return x->names[slot].name;
}

/*
 * One VIP as text or JSON. fib_missing < 0: unknown (not printed);
 * event: the KUBELB_CMD_* of a monitor event, KUBELB_CMD_UNSPEC outside
 * the monitor.
 */
static void print_vip(struct ctx *x, const struct kubelb_vip *v, bool json,
		      bool stats, int fib_missing, int event, bool *first)
{
	char dev[IFNAMSIZ + 8], link[IFNAMSIZ + 8];
	char line[512];

	snprintf(dev, sizeof(dev), "%s", index_to_name(x, v->ifindex));
	if (v->link)
		snprintf(link, sizeof(link), "%s", index_to_name(x, v->link));
	else
		link[0] = '\0';
	if (json) {
		char *s = format_vip_json(v, dev, link, fib_missing, stats,
					  monitor_event_name(event));

		if (!s)
			return;
		if (first) {
			fputs(*first ? "[" : ",", stdout);
			*first = false;
		}
		fputs(s, stdout);
		if (!first)
			fputc('\n', stdout);
		free(s);
		return;
	}
	if (event != KUBELB_CMD_UNSPEC)
		format_event_line(line, sizeof(line), event, v, dev, link);
	else
		format_vip_line(line, sizeof(line), v, dev, link,
				fib_missing > 0 ? VIP_LINE_FIB_MISSING : 0);
	puts(line);
	if (stats) {
		format_stats_line(line, sizeof(line), v);
		puts(line);
	}
}

/* ---- add / replace / del, batched ---- */

static int flush_pending(struct ctx *x)
{
	size_t i;
	int ret, bad = 0;

	if (!x->npend)
		return 0;
	ret = kubelb_apply(x->h, x->reqs, x->npend);
	for (i = 0; i < x->npend; i++) {
		struct kubelb_req *q = &x->reqs[i];
		struct pending *p = &x->pend[i];

		if (q->err.code) {
			report_at(x, p->line, "%s: %s", p->addr,
				  kubelb_err_str(&q->err));
			bad = 1;
		} else if (q->executed && q->op != KUBELB_OP_DEL &&
			   (p->json || p->stats)) {
			bool first = true;

			print_vip(x, &q->vip, p->json, p->stats, 0,
				  KUBELB_CMD_UNSPEC, p->json ? &first : NULL);
			if (p->json)
				puts("]");
		}
	}
	x->npend = 0;
	return ret || bad ? -1 : 0;
}

static int queue_vip(struct ctx *x, const struct cmd *c)
{
	struct kubelb_req *q;
	struct kubelb_vip *v;
	unsigned int idx = 0;

	if (open_handle(x))
		return -1;
	if (!x->cap) {
		x->cap = kubelb_batch_size(x->h);
		x->reqs = calloc(x->cap, sizeof(*x->reqs));
		x->pend = calloc(x->cap, sizeof(*x->pend));
		if (!x->reqs || !x->pend) {
			report(x, "%s", strerror(ENOMEM));
			return -1;
		}
	}
	if (c->has_dev || c->kind != CMD_VIP_DEL) {
		const char *dev = c->has_dev ? c->dev : KUBELB_DEFAULT_DEV;

		idx = name_to_index(x, dev);
		if (!idx) {
			report(x, "dev %s: no such device", dev);
			return -1;
		}
	}
	q = &x->reqs[x->npend];
	memset(q, 0, sizeof(*q));
	v = &q->vip;
	q->op = c->kind == CMD_VIP_ADD ? KUBELB_OP_ADD :
		c->kind == CMD_VIP_REPLACE ? KUBELB_OP_REPLACE : KUBELB_OP_DEL;
	v->family = c->family;
	v->addr = c->addr;
	v->ifindex = idx;
	v->present = KUBELB_HAS(KUBELB_A_FAMILY) | KUBELB_HAS(KUBELB_A_ADDR);
	if (idx)
		v->present |= KUBELB_HAS(KUBELB_A_IFINDEX);
	if (q->op != KUBELB_OP_DEL) {
		if (c->has_plen) {
			v->prefixlen = c->plen;
			v->present |= KUBELB_HAS(KUBELB_A_PREFIXLEN);
		}
		if (c->has_mode) {
			v->mode = c->mode;
			v->present |= KUBELB_HAS(KUBELB_A_MODE);
		}
		if (c->has_link) {
			v->link = name_to_index(x, c->link);
			if (!v->link) {
				report(x, "link %s: no such device", c->link);
				return -1;
			}
			v->present |= KUBELB_HAS(KUBELB_A_LINK);
		}
		if (c->has_service) {
			snprintf(v->service, sizeof(v->service), "%s",
				 c->service);
			v->present |= KUBELB_HAS(KUBELB_A_SERVICE);
		}
	}
	q->report = c->json || c->stats;
	x->pend[x->npend].line = x->line;
	x->pend[x->npend].json = c->json;
	x->pend[x->npend].stats = c->stats;
	snprintf(x->pend[x->npend].addr, sizeof(x->pend[0].addr), "%s",
		 c->addr_str);
	x->npend++;
	if (x->npend == x->cap)
		return flush_pending(x);
	return 0;
}

/* ---- show ---- */

struct show_ctx {
	struct ctx *x;
	const struct cmd *c;
	struct kubelb_fib fib;
	bool first;
};

static int show_one(const struct kubelb_vip *v, void *data)
{
	struct show_ctx *s = data;
	int miss = kubelb_fib_missing(&s->fib, v) ? 1 : 0;

	print_vip(s->x, v, s->c->json, s->c->stats, miss, KUBELB_CMD_UNSPEC,
		  s->c->json ? &s->first : NULL);
	return 0;
}

static int do_show(struct ctx *x, const struct cmd *c)
{
	struct show_ctx s = { .x = x, .c = c, .first = true };
	struct kubelb_filter f = { 0 };
	struct kubelb_err err;
	int ret = 0;

	if (open_handle(x))
		return -1;
	if (c->has_dev) {
		f.ifindex = name_to_index(x, c->dev);
		if (!f.ifindex) {
			report(x, "dev %s: no such device", c->dev);
			return -1;
		}
	}
	if (kubelb_fib_load(x->h, &s.fib, &err) < 0) {
		report(x, "%s", kubelb_err_str(&err));
		return -1;
	}
	if (c->has_addr) {
		struct kubelb_vip v;

		if (kubelb_vip_get(x->h, c->family, &c->addr, &v, &err) < 0) {
			report(x, "%s: %s", c->addr_str, kubelb_err_str(&err));
			ret = -1;
		} else if (f.ifindex && v.ifindex != f.ifindex) {
			report(x, "%s: no such VIP on dev %s", c->addr_str,
			       c->dev);
			ret = -1;
		} else {
			show_one(&v, &s);
		}
	} else if (kubelb_vip_dump(x->h, &f, show_one, &s, &err) < 0) {
		fflush(stdout);
		report(x, "vip show: %s", kubelb_err_str(&err));
		ret = -1;
	}
	if (c->json && !ret)
		puts(s.first ? "[]" : "]");
	else if (c->json && !s.first)
		puts("]");
	kubelb_fib_free(&s.fib);
	fflush(stdout);
	return ret;
}

static int do_flush(struct ctx *x, const struct cmd *c)
{
	const char *dev = c->has_dev ? c->dev : KUBELB_DEFAULT_DEV;
	struct kubelb_err err;
	unsigned int idx;

	if (open_handle(x))
		return -1;
	idx = name_to_index(x, dev);
	if (!idx) {
		report(x, "dev %s: no such device", dev);
		return -1;
	}
	if (kubelb_vip_flush(x->h, idx, &err) < 0) {
		report(x, "dev %s: %s", dev, kubelb_err_str(&err));
		return -1;
	}
	return 0;
}

static int do_announce(struct ctx *x, const struct cmd *c)
{
	struct kubelb_err err;
	struct kubelb_vip v;
	unsigned int idx = 0;

	if (open_handle(x))
		return -1;
	/* like del: without dev, whichever device holds the VIP */
	if (c->has_dev) {
		idx = name_to_index(x, c->dev);
		if (!idx) {
			report(x, "dev %s: no such device", c->dev);
			return -1;
		}
	}
	if (kubelb_vip_announce(x->h, c->family, &c->addr, idx, &v,
				&err) < 0) {
		report(x, "%s: %s", c->addr_str, kubelb_err_str(&err));
		return -1;
	}
	/* as add does: silent unless asked; the FIB was not looked at */
	if (c->json || c->stats) {
		bool first = true;

		print_vip(x, &v, c->json, c->stats, -1, KUBELB_CMD_UNSPEC,
			  c->json ? &first : NULL);
		if (c->json)
			puts("]");
	}
	return 0;
}

/* ---- monitor ---- */

struct mon_ctx {
	struct ctx *x;
	bool json;
};

static int mon_event(int cmd, const struct kubelb_vip *v, void *data)
{
	struct mon_ctx *m = data;

	if (!monitor_event_name(cmd))
		return 0;
	print_vip(m->x, v, m->json, false, -1, cmd, NULL);
	fflush(stdout);
	return 0;
}

static int do_monitor(struct ctx *x, const struct cmd *c)
{
	struct mon_ctx m = { x, c->json };
	struct kubelb_err err;

	if (open_handle(x))
		return -1;
	if (kubelb_events_subscribe(x->h, &err) < 0) {
		report(x, "monitor: %s", kubelb_err_str(&err));
		return -1;
	}
	for (;;) {
		int ret = kubelb_events_run(x->h, mon_event, &m, &err);

		if (ret == -ENOBUFS) {
			report(x, "monitor: %s", kubelb_err_str(&err));
			continue;
		}
		if (ret < 0) {
			report(x, "monitor: %s", kubelb_err_str(&err));
			return -1;
		}
		return 0;
	}
}

/* ---- dispatch ---- */

static int run_cmd(struct ctx *x, const struct cmd *c);

static int run_batch(struct ctx *x, const char *file, const struct cmd *g)
{
	FILE *f = strcmp(file, "-") ? fopen(file, "r") : stdin;
	char *line = NULL;
	size_t cap = 0;
	int ret = 0;

	if (!f) {
		report(x, "%s: %s", file, strerror(errno));
		return -1;
	}
	x->file = file;
	x->line = 0;
	while (getline(&line, &cap, f) >= 0) {
		char *argv[MAX_ARGS];
		char err[ERRBUF_SIZE];
		struct cmd c;
		int argc;

		x->line++;
		argc = split_line(line, argv, MAX_ARGS, err, sizeof(err));
		if (argc == 0)
			continue;
		if (argc < 0 ||
		    parse_args(argc, argv, &c, true, err, sizeof(err)) < 0) {
			/* finish what came before, then stop */
			unsigned long l = x->line;

			flush_pending(x);
			report_at(x, l, "%s", err);
			ret = -1;
			break;
		}
		c.json |= g->json;
		c.stats |= g->stats;
		if (run_cmd(x, &c) < 0) {
			flush_pending(x);
			ret = -1;
			break;
		}
	}
	if (!ret && flush_pending(x) < 0)
		ret = -1;
	if (!ret && ferror(f)) {
		report(x, "%s: %s", file, strerror(errno));
		ret = -1;
	}
	free(line);
	if (f != stdin)
		fclose(f);
	x->file = NULL;
	return ret;
}

static int run_cmd(struct ctx *x, const struct cmd *c)
{
	switch (c->kind) {
	case CMD_VIP_ADD:
	case CMD_VIP_REPLACE:
	case CMD_VIP_DEL:
		return queue_vip(x, c);
	default:
		break;
	}
	/* anything else sees the effect of the changes before it */
	if (flush_pending(x) < 0)
		return -1;
	switch (c->kind) {
	case CMD_HELP:
		usage(stdout);
		return 0;
	case CMD_VIP_SHOW:
		return do_show(x, c);
	case CMD_VIP_FLUSH:
		return do_flush(x, c);
	case CMD_VIP_ANNOUNCE:
		return do_announce(x, c);
	case CMD_MONITOR:
		return do_monitor(x, c);
	case CMD_BATCH:
		return run_batch(x, c->batch_file, c);
	default:
		return -1;
	}
}

int main(int argc, char **argv)
{
	static char obuf[1 << 16];
	struct ctx x = { 0 };
	char err[ERRBUF_SIZE];
	struct cmd c;
	int ret;

	/* big writes for big listings; monitor flushes every event itself */
	if (!isatty(STDOUT_FILENO))
		setvbuf(stdout, obuf, _IOFBF, sizeof(obuf));
	if (argc < 2) {
		usage(stderr);
		return 1;
	}
	if (parse_args(argc - 1, argv + 1, &c, false, err, sizeof(err)) < 0) {
		fprintf(stderr, "kubelbctl: %s\n", err);
		return 1;
	}
	ret = run_cmd(&x, &c);
	if (!ret)
		ret = flush_pending(&x);
	kubelb_close(x.h);
	free(x.reqs);
	free(x.pend);
	if (fflush(stdout) == EOF && !ret) {
		fprintf(stderr, "kubelbctl: stdout: %s\n", strerror(errno));
		ret = -1;
	}
	return ret ? 1 : 0;
}
