// SPDX-License-Identifier: GPL-2.0 OR MIT
/* kubelb-agent command line. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "agent.h"

#define ARGV(...) ((char *[]){ "kubelb-agent", __VA_ARGS__, NULL })

static int parse(int argc, char **argv, struct agent_opts *o, char *err)
{
	err[0] = '\0';
	return agent_opts_parse(argc, argv, o, err, 256);
}

#define PARSE(o, err, ...) ({ char **v_ = ARGV(__VA_ARGS__); \
	int c_ = 0; while (v_[c_]) c_++; parse(c_, v_, o, err); })

static void test_defaults(void)
{
	static struct agent_opts o;
	char err[256], host[256] = "";
	char *argv[] = { "kubelb-agent", NULL };

	setenv("KUBELB_SA_DIR", "/nonexistent-kubelb-sa", 1);
	unsetenv("NODE_NAME");
	gethostname(host, sizeof(host));
	ok(parse(1, argv, &o, err) == 0, "no arguments parse (%s)", err);
	ok(!strcmp(o.dev, "kube-lb0"), "--dev defaults to kube-lb0");
	ok(o.lease_duration_s == 4, "--lease-duration defaults to 4 s");
	ok(o.resync_interval_s == 60,
	   "--resync-interval defaults to 60 s (the kernel compared every minute)");
	ok(!strcmp(o.namespace, "kubelb-system"),
	   "--namespace defaults to kubelb-system without a service account");
	ok(!strcmp(o.node, host), "--node defaults to the hostname");
	ok(o.report && !o.keep_on_exit && o.log_format == LOG_LOGFMT &&
	   !o.lb_class && !o.n_aggr && !o.services && !o.kubeconfig,
	   "reporting on, release on exit, logfmt, no class, no rules");

	setenv("NODE_NAME", "node-from-env", 1);
	ok(parse(1, argv, &o, err) == 0 && !strcmp(o.node, "node-from-env"),
	   "--node defaults to $NODE_NAME before the hostname");
	ok(PARSE(&o, err, "--node", "n7") == 0 && !strcmp(o.node, "n7"),
	   "--node beats $NODE_NAME");
	unsetenv("NODE_NAME");
}

static void test_namespace_from_sa(void)
{
	static struct agent_opts o;
	char dir[] = "/tmp/kubelb-sa-XXXXXX", path[64], err[256];
	char *argv[] = { "kubelb-agent", NULL };
	FILE *f;

	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp");
		return;
	}
	snprintf(path, sizeof(path), "%s/namespace", dir);
	f = fopen(path, "w");
	fputs("lb-ns\n", f);
	fclose(f);
	setenv("KUBELB_SA_DIR", dir, 1);
	ok(parse(1, argv, &o, err) == 0 && !strcmp(o.namespace, "lb-ns"),
	   "--namespace defaults to the service-account namespace file");
	ok(PARSE(&o, err, "--namespace", "other") == 0 &&
	   !strcmp(o.namespace, "other"), "--namespace beats the file");
	unlink(path);
	rmdir(dir);
	setenv("KUBELB_SA_DIR", "/nonexistent-kubelb-sa", 1);
}

static void test_all_options(void)
{
	static struct agent_opts o;
	char err[256];

	ok(PARSE(&o, err, "--kubeconfig", "/k", "--node", "n1",
		 "--namespace", "ns", "--dev", "kube-ipvs0",
		 "--lease-duration", "9", "--resync-interval", "3",
		 "--lb-class", "kubelb.io/lb",
		 "--aggregate", "192.0.2.0/24=/26",
		 "--aggregate", "2001:db8::/48=/64", "--keep-on-exit",
		 "--report=false", "--metrics-addr", "[::1]:9100",
		 "--log-format", "json", "-v", "-v") == 0,
	   "every option together parses (%s)", err);
	ok(!strcmp(o.kubeconfig, "/k") && !strcmp(o.dev, "kube-ipvs0") &&
	   o.lease_duration_s == 9 && o.resync_interval_s == 3 && !strcmp(o.lb_class, "kubelb.io/lb") &&
	   o.keep_on_exit && !o.report && !strcmp(o.metrics_addr, "[::1]:9100") &&
	   o.log_format == LOG_JSON && o.verbosity == 2,
	   "every option lands in its field");
	ok(o.n_aggr == 2 && o.aggr[0].cidr.family == AF_INET &&
	   o.aggr[0].cidr.plen == 24 && o.aggr[0].plen == 26 &&
	   o.aggr[1].cidr.family == AF_INET6 && o.aggr[1].plen == 64,
	   "--aggregate rules kept in order with family and lengths");
	ok(PARSE(&o, err, "--report") == 0 && o.report,
	   "--report alone means true");
	ok(PARSE(&o, err, "--report=true") == 0 && o.report,
	   "--report=true");
	ok(PARSE(&o, err, "--services", "/etc/kubelb/services.json") == 0 &&
	   !strcmp(o.services, "/etc/kubelb/services.json"),
	   "--services selects static-file mode");
	ok(PARSE(&o, err, "--help") == 0 && o.help, "--help");
}

static void test_errors(void)
{
	static struct agent_opts o;
	char err[256];

	ok(PARSE(&o, err, "--lease-duration", "0") &&
	   strstr(err, "--lease-duration"), "lease duration 0 refused: %s", err);
	ok(PARSE(&o, err, "--lease-duration", "4s") &&
	   strstr(err, "whole seconds"), "lease duration with a unit refused: %s",
	   err);
	ok(PARSE(&o, err, "--resync-interval", "0") &&
	   strstr(err, "--resync-interval 0") && strstr(err, "1..86400"),
	   "resync interval 0 refused: %s", err);
	ok(PARSE(&o, err, "--resync-interval", "86401") &&
	   strstr(err, "1..86400"), "resync interval over a day refused: %s",
	   err);
	ok(PARSE(&o, err, "--resync-interval", "1m") &&
	   strstr(err, "whole seconds"),
	   "resync interval with a unit refused: %s", err);
	ok(PARSE(&o, err, "--aggregate", "192.0.2.0/24") &&
	   strstr(err, "CIDR=/LEN"), "aggregate without =/LEN refused: %s", err);
	ok(PARSE(&o, err, "--aggregate", "192.0.2.0/24=/33") &&
	   strstr(err, "/0../32"), "aggregate length past 32 refused: %s", err);
	ok(PARSE(&o, err, "--aggregate", "192.0.2.0/24=/16") &&
	   strstr(err, "inside"), "aggregate wider than its CIDR refused: %s",
	   err);
	ok(PARSE(&o, err, "--aggregate", "nonsense=/24") &&
	   strstr(err, "not a CIDR"), "aggregate with a bad CIDR refused: %s",
	   err);
	ok(PARSE(&o, err, "--report=maybe") && strstr(err, "true or false"),
	   "--report=maybe refused: %s", err);
	ok(PARSE(&o, err, "--log-format", "xml") && strstr(err, "logfmt or json"),
	   "unknown log format refused: %s", err);
	ok(PARSE(&o, err, "--kubeconfig", "/k", "--services", "/s") &&
	   strstr(err, "exclude each other"),
	   "--kubeconfig with --services refused: %s", err);
	ok(PARSE(&o, err, "--bogus") && strstr(err, "--bogus"),
	   "unknown option named: %s", err);
	ok(PARSE(&o, err, "--node") && strstr(err, "needs an argument"),
	   "missing argument named: %s", err);
	ok(PARSE(&o, err, "--dev", "a-name-longer-than-ifnamsiz") &&
	   strstr(err, "--dev"), "overlong device name refused: %s", err);
	ok(PARSE(&o, err, "extra") && strstr(err, "extra"),
	   "stray argument refused: %s", err);
}

void test_options(void)
{
	test_defaults();
	test_namespace_from_sa();
	test_all_options();
	test_errors();
}
