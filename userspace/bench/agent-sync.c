// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * bench-agent-sync: the kubelb-agent's initial sync without the kernel
 * writes, natively (the VM's emulated CPU makes CPU time meaningless):
 * the agent's own kube-api client lists and watches Services,
 * EndpointSlices, Nodes and Leases through a kubeconfig, feeds the agent's
 * model, and takes every decision, exactly as kubelb-agent does before it
 * calls the reconciler. Prints CPU time (user, system) and peak RSS.
 *
 *   bench-agent-sync KUBECONFIG NODE NAMESPACE LOCAL-CIDR
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <curl/curl.h>

#include "agent.h"

static size_t decisions, held;

static void count(void *data, const struct decision *d)
{
	(void)data;
	decisions++;
	held += d->hold;
}

static double wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double tv(struct timeval t)
{
	return t.tv_sec + t.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
	struct kapi_config cfg = { 0 };
	struct local_subnet local = { .ifindex = 1000, .ifname = "bench0" };
	struct model_cfg mc = { .dev_ifindex = 999 };
	const struct model_stats *ms;
	struct rusage ru;
	struct model *m;
	struct kapi *k;
	char err[512], leases[512];
	double t0;

	if (argc != 5) {
		fprintf(stderr, "usage: bench-agent-sync KUBECONFIG NODE NAMESPACE LOCAL-CIDR\n");
		return 2;
	}
	if (subnet_parse(argv[4], &local.net)) {
		fprintf(stderr, "bench-agent-sync: bad CIDR %s\n", argv[4]);
		return 2;
	}
	log_init(LOG_LOGFMT, 0, stderr);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	t0 = wall();
	if (kubeconfig_load(argv[1], &cfg, err, sizeof(err))) {
		fprintf(stderr, "bench-agent-sync: %s\n", err);
		return 1;
	}
	k = kapi_new(&cfg, err, sizeof(err));
	mc.node = argv[2];
	m = model_new(&mc);
	if (!k || !m) {
		fprintf(stderr, "bench-agent-sync: %s\n", k ? "out of memory" : err);
		return 1;
	}
	model_set_local_subnets(m, &local, 1);
	snprintf(leases, sizeof(leases),
		 "/apis/coordination.k8s.io/v1/namespaces/%s/leases", argv[3]);
	kapi_watch_add(k, "/api/v1/services", model_on_service, m);
	kapi_watch_add(k, "/apis/discovery.k8s.io/v1/endpointslices",
		       model_on_slice, m);
	kapi_watch_add(k, "/api/v1/nodes", model_on_node, m);
	kapi_watch_add(k, leases, model_on_lease, m);
	while (!kapi_all_synced(k))
		kapi_poll(k, NULL, 0, 1000);
	model_update(m, now_ms(), count, NULL);

	getrusage(RUSAGE_SELF, &ru);
	ms = model_stats(m);
	printf("agent sync without kernel writes (native): wall %.2f s, CPU user %.2f s + system %.2f s, peak RSS %.1f MB; %zu decisions, held local=%zu virtual=%zu\n",
	       wall() - t0, tv(ru.ru_utime), tv(ru.ru_stime),
	       ru.ru_maxrss / 1024.0, decisions, ms->held_local,
	       ms->held_virtual);
	model_free(m);
	kapi_free(k);
	kapi_config_free(&cfg);
	curl_global_cleanup();
	return held ? 0 : 1;
}
