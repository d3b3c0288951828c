// SPDX-License-Identifier: GPL-2.0 OR MIT
/* kubelbctl argument parsing and batch line splitting. */
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "kubelbctl.h"
#include "tap.h"

static char errbuf[ERRBUF_SIZE];

/* parse a command line given as one string (split like a batch line) */
static int P(const char *line, struct cmd *c)
{
	static char buf[1024];
	char *argv[64];
	int argc;

	snprintf(buf, sizeof(buf), "%s", line);
	argc = split_line(buf, argv, 64, errbuf, sizeof(errbuf));
	if (argc < 0)
		return -2;
	return parse_args(argc, argv, c, false, errbuf, sizeof(errbuf));
}

static void good(const char *line, enum cmd_kind kind)
{
	struct cmd c;
	int ret = P(line, &c);

	ok(ret == 0 && c.kind == kind, "parse ok: %s%s%s", line,
	   ret ? " -- " : "", ret ? errbuf : "");
}

/* must fail with an error message containing want */
static void bad(const char *line, const char *want)
{
	struct cmd c;
	int ret = P(line, &c);

	ok(ret == -1 && strstr(errbuf, want),
	   "parse error: %s -> \"%s\" (want \"%s\")", line,
	   ret ? errbuf : "(accepted)", want);
}

static void test_commands(void)
{
	struct cmd c;
	struct in6_addr a6;

	good("vip add 192.0.2.1", CMD_VIP_ADD);
	good("vip add 192.0.2.1/24 dev kube-lb1 mode virtual service ns/svc",
	     CMD_VIP_ADD);
	good("vip replace 2001:db8::1/64 mode local link eth0", CMD_VIP_REPLACE);
	good("vip del 192.0.2.1", CMD_VIP_DEL);
	good("vip delete 192.0.2.1 dev kube-lb0", CMD_VIP_DEL);
	good("vip show", CMD_VIP_SHOW);
	good("vip show dev kube-lb0 2001:db8::5", CMD_VIP_SHOW);
	good("-j -s vip show", CMD_VIP_SHOW);
	good("vip list", CMD_VIP_SHOW);
	good("vip flush", CMD_VIP_FLUSH);
	good("vip flush dev kube-lb1", CMD_VIP_FLUSH);
	good("monitor", CMD_MONITOR);
	good("-j monitor", CMD_MONITOR);
	good("help", CMD_HELP);
	good("-h", CMD_HELP);
	good("-b /tmp/x", CMD_BATCH);
	good("-b -", CMD_BATCH);

	ok(P("-j -s vip add 192.0.2.7/30 dev d0 mode local link eth1 service a/b",
	     &c) == 0 &&
	   c.json && c.stats && c.family == AF_INET && c.has_plen &&
	   c.plen == 30 && c.has_dev && !strcmp(c.dev, "d0") && c.has_mode &&
	   c.mode == KUBELB_MODE_LOCAL && c.has_link && !strcmp(c.link, "eth1") &&
	   c.has_service && !strcmp(c.service, "a/b") &&
	   !strcmp(c.addr_str, "192.0.2.7") && c.addr.b[0] == 192 &&
	   c.addr.b[3] == 7,
	   "vip add: every field lands in struct cmd");
	ok(P("vip add dev d0 192.0.2.8", &c) == 0 && c.has_addr && c.has_dev,
	   "vip add: ADDR may follow keywords");
	ok(P("vip add 192.0.2.9", &c) == 0 && !c.has_plen && !c.has_dev &&
	   !c.has_mode && !c.json && !c.stats,
	   "vip add: unset fields stay unset (kernel/tool defaults)");
	inet_pton(AF_INET6, "2001:db8::1", &a6);
	ok(P("vip add 2001:db8::1/128", &c) == 0 && c.family == AF_INET6 &&
	   c.plen == 128 && !memcmp(c.addr.b, &a6, 16),
	   "vip add v6 /128");
	ok(P("vip add 10.0.0.1/0", &c) == 0 && c.has_plen && c.plen == 0,
	   "vip add /0 accepted");
	ok(P("-b batch.txt", &c) == 0 && !strcmp(c.batch_file, "batch.txt"),
	   "-b FILE");
	ok(P("vip show 10.1.1.1", &c) == 0 && c.has_addr && !c.has_dev,
	   "vip show ADDR");

	good("vip announce 192.0.2.1", CMD_VIP_ANNOUNCE);
	good("vip announce 2001:db8::1 dev kube-lb1", CMD_VIP_ANNOUNCE);
	good("-j vip announce 192.0.2.1", CMD_VIP_ANNOUNCE);
	ok(P("vip announce 192.0.2.1", &c) == 0 && c.family == AF_INET &&
	   c.addr.b[0] == 192 && c.addr.b[3] == 1 &&
	   !strcmp(c.addr_str, "192.0.2.1") && !c.has_dev && !c.has_plen,
	   "vip announce: address parsed; no dev means any device (as del)");
	inet_pton(AF_INET6, "2001:db8::1", &a6);
	ok(P("vip announce dev kube-lb1 2001:db8::1", &c) == 0 &&
	   c.family == AF_INET6 && !memcmp(c.addr.b, &a6, 16) && c.has_dev &&
	   !strcmp(c.dev, "kube-lb1"),
	   "vip announce: dev before ADDR, IPv6");
}

/* A batch line goes through split_line and parse_args(in_batch). */
static void test_batch_line(void)
{
	char line[] = "vip announce 192.0.2.5 dev kube-lb0   # takeover\n";
	char *argv[8];
	struct cmd c;
	int argc = split_line(line, argv, 8, errbuf, sizeof(errbuf));

	ok(argc == 5 && parse_args(argc, argv, &c, true, errbuf,
				   sizeof(errbuf)) == 0 &&
	   c.kind == CMD_VIP_ANNOUNCE && c.has_dev &&
	   !strcmp(c.dev, "kube-lb0") && !strcmp(c.addr_str, "192.0.2.5"),
	   "batch line: vip announce with a trailing comment");
}

static void test_errors(void)
{
	struct cmd c;
	char *argv[] = { "-b", "x" };

	bad("", "missing command");
	bad("bogus", "bogus: unknown command");
	bad("vip", "vip: missing subcommand");
	bad("vip frob", "vip frob: unknown subcommand");
	bad("-x vip show", "-x: unknown option");
	bad("vip add", "address: missing");
	bad("vip add 10.0.0.300", "address 10.0.0.300: not a valid IPv4 or IPv6 address");
	bad("vip add 2001:db8:::1", "not a valid IPv4 or IPv6 address");
	bad("vip add 10.0.0.1/33", "prefix length 33: out of range for IPv4 (0-32)");
	bad("vip add 2001:db8::1/129", "prefix length 129: out of range for IPv6 (0-128)");
	bad("vip add 10.0.0.1/", "prefix length \"\": not a number");
	bad("vip add 10.0.0.1/2x", "prefix length \"2x\": not a number");
	bad("vip add 10.0.0.1/-1", "not a number");
	bad("vip add 10.0.0.1 mode bogus", "mode bogus: unknown mode");
	bad("vip add 10.0.0.1 mode", "mode: missing value");
	bad("vip add 10.0.0.1 dev", "dev: missing value");
	bad("vip add 10.0.0.1 link", "link: missing value");
	bad("vip add 10.0.0.1 service", "service: missing value");
	bad("vip add 10.0.0.1 link eth0", "link eth0: only allowed with mode local");
	bad("vip add 10.0.0.1 mode virtual link eth0",
	    "link eth0: only allowed with mode local");
	bad("vip add 10.0.0.1 mode local", "mode local: requires link");
	bad("vip add 10.0.0.1 frobnicate", "frobnicate: unknown keyword");
	bad("vip add 10.0.0.1 10.0.0.2", "10.0.0.2: address already given");
	bad("vip add 10.0.0.1 dev a dev b", "dev: given more than once");
	bad("vip add 10.0.0.1 dev abcdefghijklmnopq", "dev abcdefghijklmnopq: invalid interface name");
	bad("vip add 10.0.0.1 service nons", "service nons: must be NAMESPACE/NAME");
	bad("vip add 10.0.0.1 service /x", "must be NAMESPACE/NAME");
	bad("vip add 10.0.0.1 service a/b/c", "must be NAMESPACE/NAME");
	bad("vip add 10.0.0.1 service "
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/b",
	    "at most 63 characters");
	bad("vip del", "address: missing");
	bad("vip del 10.0.0.1 mode local", "mode: unknown keyword");
	bad("vip show 10.0.0.1/24", "prefix length not allowed here");
	bad("vip show dev", "dev: missing value");
	bad("vip flush 10.0.0.1", "10.0.0.1: unknown keyword");
	bad("vip flush dev", "dev: missing value");
	bad("vip frob", "(add, replace, del, show, flush, announce)");
	bad("vip announce", "address: missing (ADDR)");
	bad("vip announce dev kube-lb0", "address: missing (ADDR)");
	bad("vip announce 10.0.0.300",
	    "address 10.0.0.300: not a valid IPv4 or IPv6 address");
	bad("vip announce 2001:db8::g", "not a valid IPv4 or IPv6 address");
	bad("vip announce 10.0.0.1/24", "prefix length not allowed here");
	bad("vip announce 10.0.0.1 frobnicate", "frobnicate: unknown keyword");
	bad("vip announce 10.0.0.1 mode local", "mode: unknown keyword");
	bad("vip announce 10.0.0.1 link eth0", "link: unknown keyword");
	bad("vip announce 10.0.0.1 10.0.0.2", "10.0.0.2: address already given");
	bad("vip announce 10.0.0.1 dev", "dev: missing value");
	bad("vip announce 10.0.0.1 dev a dev b", "dev: given more than once");
	bad("vip announce 10.0.0.1 dev abcdefghijklmnopq",
	    "dev abcdefghijklmnopq: invalid interface name");
	bad("monitor vip", "vip: unknown keyword");
	bad("-b", "-b: missing FILE");
	bad("-b f vip show", "vip: unexpected argument after -b FILE");

	ok(parse_args(2, argv, &c, true, errbuf, sizeof(errbuf)) == -1 &&
	   strstr(errbuf, "-b: not allowed inside a batch"),
	   "parse error: -b inside a batch");
}

static void test_split(void)
{
	char line[256], *argv[8];
	int n;

	strcpy(line, "  vip add 10.0.0.1   dev kube-lb0\n");
	n = split_line(line, argv, 8, errbuf, sizeof(errbuf));
	ok(n == 5 && !strcmp(argv[0], "vip") && !strcmp(argv[2], "10.0.0.1") &&
	   !strcmp(argv[4], "kube-lb0"), "split: whitespace and newline");
	strcpy(line, "# a comment\n");
	ok(split_line(line, argv, 8, errbuf, sizeof(errbuf)) == 0,
	   "split: comment line is empty");
	strcpy(line, "   \t\n");
	ok(split_line(line, argv, 8, errbuf, sizeof(errbuf)) == 0,
	   "split: blank line is empty");
	strcpy(line, "vip del 10.0.0.1 # trailing comment");
	n = split_line(line, argv, 8, errbuf, sizeof(errbuf));
	ok(n == 3 && !strcmp(argv[2], "10.0.0.1"), "split: trailing comment");
	strcpy(line, "vip add 10.0.0.1 service \"ns/my svc\" x'y z'");
	n = split_line(line, argv, 8, errbuf, sizeof(errbuf));
	ok(n == 6 && !strcmp(argv[4], "ns/my svc") && !strcmp(argv[5], "xy z"),
	   "split: double and single quotes");
	strcpy(line, "vip add \"10.0.0.1");
	ok(split_line(line, argv, 8, errbuf, sizeof(errbuf)) == -1 &&
	   strstr(errbuf, "unterminated quote"), "split: unterminated quote");
	strcpy(line, "a b c d e f g h i");
	ok(split_line(line, argv, 8, errbuf, sizeof(errbuf)) == -1 &&
	   strstr(errbuf, "too many arguments"), "split: too many arguments");
	strcpy(line, "vip add 10.0.0.1\r\n");
	n = split_line(line, argv, 8, errbuf, sizeof(errbuf));
	ok(n == 3 && !strcmp(argv[2], "10.0.0.1"), "split: CRLF line end");
}

void test_args(void)
{
	test_commands();
	test_errors();
	test_split();
	test_batch_line();
}
