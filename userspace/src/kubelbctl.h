/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/* kubelbctl: argument parsing and output formatting (pure, unit-tested) */
#ifndef KUBELBCTL_H
#define KUBELBCTL_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "libkubelb.h"

enum cmd_kind {
	CMD_NONE,
	CMD_HELP,
	CMD_VIP_ADD,
	CMD_VIP_REPLACE,
	CMD_VIP_DEL,
	CMD_VIP_SHOW,
	CMD_VIP_FLUSH,
	CMD_VIP_ANNOUNCE,
	CMD_MONITOR,
	CMD_BATCH,
};

struct cmd {
	enum cmd_kind kind;
	bool json, stats;
	const char *batch_file;		/* points into argv */
	bool has_dev;
	char dev[IFNAMSIZ];
	bool has_link;
	char link[IFNAMSIZ];
	bool has_addr;
	uint16_t family;
	union kubelb_addr addr;
	char addr_str[INET6_ADDRSTRLEN + 8];	/* as given */
	bool has_plen;
	uint8_t plen;
	bool has_mode;
	uint8_t mode;
	bool has_service;
	char service[KUBELB_SERVICE_MAX];
};

#define ERRBUF_SIZE 320

/*
 * argv (without the program name) -> cmd. Returns 0, or -1 with
 * "what: reason" in err. in_batch forbids -b.
 */
int parse_args(int argc, char **argv, struct cmd *c, bool in_batch,
	       char *err, size_t errlen);

/*
 * Split a batch line in place into argv (whitespace, "double" or 'single'
 * quotes, '#' at the start of a word begins a comment). Returns argc, or
 * -1 with err set.
 */
int split_line(char *line, char **argv, int max, char *err, size_t errlen);

/* format_vip_line() flags */
#define VIP_LINE_FIB_MISSING	1u	/* append " fib-missing" */
#define VIP_LINE_ANNOUNCE_IDLE	2u	/* say "announce idle" too */

/*
 * Text show line (without newline):
 * ADDR/PLEN dev DEV mode MODE[ link IF][ service S][ owner N][ ANNOUNCE]
 *	[ fib-missing]
 * ANNOUNCE is "announcing N left" during a burst, "announce periodic",
 * or "announce NUMBER" for a state newer than this tool; nothing when idle
 * unless VIP_LINE_ANNOUNCE_IDLE ("announce idle").
 */
int format_vip_line(char *buf, size_t len, const struct kubelb_vip *v,
		    const char *dev, const char *link, unsigned int flags);
int format_stats_line(char *buf, size_t len, const struct kubelb_vip *v);
/* "add", "del", "change", "announce"; NULL for events the monitor skips */
const char *monitor_event_name(int cmd);
/*
 * Monitor text line: "EVENT " and the show line (no fib-missing); announce
 * events always carry the state, "announce idle" included. -1 for events
 * the monitor skips.
 */
int format_event_line(char *buf, size_t len, int cmd,
		      const struct kubelb_vip *v, const char *dev,
		      const char *link);
/* JSON object (unformatted, no newline), caller frees. event may be NULL;
 * fib_missing < 0 leaves out the key. */
char *format_vip_json(const struct kubelb_vip *v, const char *dev,
		      const char *link, int fib_missing, bool stats,
		      const char *event);

void usage(FILE *f);

#endif
