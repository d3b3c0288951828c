// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * kubelb-agent command line: argv -> struct agent_opts with every default
 * resolved, no other side effects (so it is unit-tested).
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "agent.h"

#define SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

void agent_usage(FILE *f)
{
	fputs("Usage: kubelb-agent [--kubeconfig FILE | --services FILE] [--node NAME]\n"
	      "         [--namespace NS] [--dev DEV] [--lease-duration SECONDS]\n"
	      "         [--resync-interval SECONDS] [--lb-class CLASS]\n"
	      "         [--aggregate CIDR=/LEN]... [--keep-on-exit]\n"
	      "         [--report=false] [--metrics-addr ADDR:PORT]\n"
	      "         [--log-format logfmt|json] [-v]\n"
	      "Without --kubeconfig, --services or $KUBECONFIG the in-cluster service\n"
	      "account is used. See kubelb-agent(8).\n", f);
}

const char *agent_sa_dir(void)
{
	const char *d = getenv("KUBELB_SA_DIR");

	return d && *d ? d : SA_DIR;
}

/* First line of a small file, trimmed; false if unreadable or empty. */
static bool read_first_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return false;
	if (!fgets(buf, (int)len, f)) {
		fclose(f);
		return false;
	}
	fclose(f);
	n = strcspn(buf, "\r\n \t");
	buf[n] = '\0';
	return n > 0;
}

static int parse_aggregate(const char *arg, struct aggr_rule *r,
			   char *err, size_t errlen)
{
	char cidr[INET6_ADDRSTRLEN + 8];
	const char *eq = strchr(arg, '=');
	char *end;
	long plen;
	unsigned int max;

	if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof(cidr) ||
	    eq[1] != '/')
		return agent_err(err, errlen,
			    "--aggregate %s: expected CIDR=/LEN, e.g. 192.0.2.0/24=/24",
			    arg);
	memcpy(cidr, arg, (size_t)(eq - arg));
	cidr[eq - arg] = '\0';
	if (subnet_parse(cidr, &r->cidr))
		return agent_err(err, errlen, "--aggregate %s: '%s' is not a CIDR",
			    arg, cidr);
	max = kubelb_max_plen(r->cidr.family);
	errno = 0;
	plen = strtol(eq + 2, &end, 10);
	if (errno || *end || end == eq + 2 || plen < 0 || plen > (long)max)
		return agent_err(err, errlen,
			    "--aggregate %s: length must be /0../%u", arg, max);
	if (plen < r->cidr.plen)
		return agent_err(err, errlen,
			    "--aggregate %s: /%ld is shorter than the CIDR's /%u; the aggregate must lie inside it",
			    arg, plen, r->cidr.plen);
	r->plen = (uint8_t)plen;
	return 0;
}

static int parse_bool(const char *opt, const char *v, bool *out,
		      char *err, size_t errlen)
{
	if (!v || !strcasecmp(v, "true") || !strcmp(v, "1")) {
		*out = true;
		return 0;
	}
	if (!strcasecmp(v, "false") || !strcmp(v, "0")) {
		*out = false;
		return 0;
	}
	return agent_err(err, errlen, "%s=%s: expected true or false", opt, v);
}

enum {
	OPT_KUBECONFIG = 256,
	OPT_SERVICES,
	OPT_NODE,
	OPT_NAMESPACE,
	OPT_DEV,
	OPT_LEASE,
	OPT_RESYNC,
	OPT_CLASS,
	OPT_AGGREGATE,
	OPT_KEEP,
	OPT_REPORT,
	OPT_METRICS,
	OPT_LOGFMT,
	OPT_VERSION,
};

static const struct option long_opts[] = {
	{ "kubeconfig", required_argument, NULL, OPT_KUBECONFIG },
	{ "services", required_argument, NULL, OPT_SERVICES },
	{ "node", required_argument, NULL, OPT_NODE },
	{ "namespace", required_argument, NULL, OPT_NAMESPACE },
	{ "dev", required_argument, NULL, OPT_DEV },
	{ "lease-duration", required_argument, NULL, OPT_LEASE },
	{ "resync-interval", required_argument, NULL, OPT_RESYNC },
	{ "lb-class", required_argument, NULL, OPT_CLASS },
	{ "aggregate", required_argument, NULL, OPT_AGGREGATE },
	{ "keep-on-exit", no_argument, NULL, OPT_KEEP },
	{ "report", optional_argument, NULL, OPT_REPORT },
	{ "metrics-addr", required_argument, NULL, OPT_METRICS },
	{ "log-format", required_argument, NULL, OPT_LOGFMT },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

static int check_name(const char *opt, const char *v, size_t max,
		      char *err, size_t errlen)
{
	if (!*v)
		return agent_err(err, errlen, "%s: must not be empty", opt);
	if (strlen(v) >= max)
		return agent_err(err, errlen, "%s %s: longer than %zu characters",
			    opt, v, max - 1);
	return 0;
}

/* Whole seconds in min..max, for the duration flags. */
static int parse_seconds(const char *opt, const char *v, long min, long max,
			 int *out, char *err, size_t errlen)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || *end || end == v || n < min || n > max)
		return agent_err(err, errlen,
			    "%s %s: expected whole seconds, %ld..%ld",
			    opt, v, min, max);
	*out = (int)n;
	return 0;
}

int agent_opts_parse(int argc, char **argv, struct agent_opts *o,
		     char *err, size_t errlen)
{
	char path[512];
	int c;

	memset(o, 0, sizeof(*o));
	o->lease_duration_s = 4;
	o->resync_interval_s = 60;
	o->report = true;
	o->log_format = LOG_LOGFMT;
	optind = 0;	/* reset getopt, also between unit tests */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":vh", long_opts, NULL)) != -1) {
		switch (c) {
		case OPT_KUBECONFIG:
			o->kubeconfig = optarg;
			break;
		case OPT_SERVICES:
			o->services = optarg;
			break;
		case OPT_NODE:
			if (check_name("--node", optarg, sizeof(o->node_buf),
				       err, errlen))
				return -1;
			o->node = optarg;
			break;
		case OPT_NAMESPACE:
			if (check_name("--namespace", optarg,
				       sizeof(o->namespace_buf), err, errlen))
				return -1;
			o->namespace = optarg;
			break;
		case OPT_DEV:
			if (check_name("--dev", optarg, IF_NAMESIZE, err,
				       errlen))
				return -1;
			o->dev = optarg;
			break;
		case OPT_LEASE:
			if (parse_seconds("--lease-duration", optarg, 1, 3600,
					  &o->lease_duration_s, err, errlen))
				return -1;
			break;
		case OPT_RESYNC:
			if (parse_seconds("--resync-interval", optarg, 1, 86400,
					  &o->resync_interval_s, err, errlen))
				return -1;
			break;
		case OPT_CLASS:
			if (check_name("--lb-class", optarg, 256, err, errlen))
				return -1;
			o->lb_class = optarg;
			break;
		case OPT_AGGREGATE:
			if (o->n_aggr == AGENT_MAX_AGGR)
				return agent_err(err, errlen,
					    "--aggregate: at most %d rules",
					    AGENT_MAX_AGGR);
			if (parse_aggregate(optarg, &o->aggr[o->n_aggr], err,
					    errlen))
				return -1;
			o->n_aggr++;
			break;
		case OPT_KEEP:
			o->keep_on_exit = true;
			break;
		case OPT_REPORT:
			if (parse_bool("--report", optarg, &o->report, err,
				       errlen))
				return -1;
			break;
		case OPT_METRICS:
			o->metrics_addr = optarg;
			break;
		case OPT_LOGFMT:
			if (!strcmp(optarg, "logfmt"))
				o->log_format = LOG_LOGFMT;
			else if (!strcmp(optarg, "json"))
				o->log_format = LOG_JSON;
			else
				return agent_err(err, errlen,
					    "--log-format %s: expected logfmt or json",
					    optarg);
			break;
		case 'v':
			o->verbosity++;
			break;
		case 'h':
			o->help = true;
			return 0;
		case OPT_VERSION:
			o->version = true;
			return 0;
		case ':':
			return agent_err(err, errlen, "%s: needs an argument",
				    argv[optind - 1]);
		default:
			return agent_err(err, errlen, "unknown option '%s' (see --help)",
				    argv[optind - 1]);
		}
	}
	if (optind < argc)
		return agent_err(err, errlen, "unexpected argument '%s' (see --help)",
			    argv[optind]);
	if (o->kubeconfig && o->services)
		return agent_err(err, errlen,
			    "--kubeconfig and --services exclude each other: the VIPs come from kube-api or from a file");

	if (!o->dev)
		o->dev = KUBELB_DEFAULT_DEV;
	if (!o->node) {
		const char *env = getenv("NODE_NAME");

		if (env && *env) {
			if (check_name("$NODE_NAME", env, sizeof(o->node_buf),
				       err, errlen))
				return -1;
			o->node = env;
		} else if (!gethostname(o->node_buf, sizeof(o->node_buf)) &&
			   o->node_buf[0]) {
			o->node_buf[sizeof(o->node_buf) - 1] = '\0';
			o->node = o->node_buf;
		} else {
			return agent_err(err, errlen,
				    "no node name: use --node or set NODE_NAME");
		}
	}
	if (!o->namespace) {
		snprintf(path, sizeof(path), "%s/namespace", agent_sa_dir());
		if (read_first_line(path, o->namespace_buf,
				    sizeof(o->namespace_buf)))
			o->namespace = o->namespace_buf;
		else
			o->namespace = "kubelb-system";
	}
	return 0;
}
