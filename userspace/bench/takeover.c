// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * bench-takeover: time from the netlink request that makes a VIP local on a
 * link to its first gratuitous ARP on the wire.
 *
 * COUNT times: replace the VIP with mode local on LINK (libkubelb, as an
 * agent taking over a Service would), then back to virtual. The clock
 * starts just before the request is handed to libkubelb (CLOCK_REALTIME);
 * it stops at the kernel receive timestamp (SO_TIMESTAMPNS, also
 * CLOCK_REALTIME) of the first gratuitous ARP for the VIP (ARP request,
 * sender IP = target IP = VIP) captured on CAPTURE_IFACE: the far end of
 * LINK's veth pair, in namespace NETNS (-N), or LINK itself.
 *
 * Used by tools/bench-arp, which sets garp_count=1 so that no later
 * announcement of one takeover can be mistaken for the first of the next.
 * Prints one line of key=value pairs:
 *   takeovers=N missed=N min_us=X median_us=X p99_us=X max_us=X
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <math.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/if_ether.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "libkubelb.h"

#define GARP_WAIT_MS		1000
/* This many takeovers in a row without a GARP: kubelb does not announce. */
#define MAX_MISSED_IN_ROW	3

struct takeover_opts {
	const char *dev, *link, *capture_ifname, *netns;
	struct in_addr vip;
	unsigned long count;
};

static void usage(void)
{
	fprintf(stderr,
		"Usage: bench-takeover -l LINK [-d DEV] [-n COUNT]\n"
		"                      [-N NETNS] [-c CAPTURE_IFACE] VIP\n"
		"  COUNT takeovers of IPv4 VIP (default 1000) on LINK, VIP held by\n"
		"  DEV (default " KUBELB_DEFAULT_DEV "); GARPs captured on CAPTURE_IFACE\n"
		"  (default LINK) in namespace /run/netns/NETNS (default: this one).\n");
	exit(2);
}

/* Only gratuitous ARP requests for the VIP: sender IP = target IP = VIP. */
static int attach_garp_filter(int fd, struct in_addr vip)
{
	uint32_t v = ntohl(vip.s_addr);
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),		/* ethertype */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETHERTYPE_ARP, 0, 7),
		BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 20),		/* ar_op */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARPOP_REQUEST, 0, 5),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 28),		/* ar_spa */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, v, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 38),		/* ar_tpa */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, v, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 64),
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_fprog prog = {
		.len = sizeof(code) / sizeof(code[0]),
		.filter = code,
	};

	return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog,
			  sizeof(prog));
}

/* Enters the network namespace of path; returns 0 or -1. */
static int enter_netns(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
		fprintf(stderr, "bench-takeover: entering %s: %s\n", path,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/*
 * An AF_PACKET socket on ifname in namespace netns (NULL: this one); a
 * socket stays in the namespace it was created in, so we return to ours
 * afterwards and talk netlink there.
 */
static int open_capture(const char *netns, const char *ifname,
			struct in_addr vip)
{
	struct sockaddr_ll sll = { 0 };
	char path[256];
	int fd = -1, one = 1, home = -1;

	if (netns) {
		home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		snprintf(path, sizeof(path), "/run/netns/%s", netns);
		if (home < 0 || enter_netns(path) < 0) {
			if (home < 0)
				perror("bench-takeover: /proc/self/ns/net");
			else
				close(home);
			return -1;
		}
	}
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ARP);
	sll.sll_ifindex = (int)if_nametoindex(ifname);
	if (!sll.sll_ifindex) {
		fprintf(stderr, "bench-takeover: %s: no such device\n", ifname);
		goto out;
	}
	fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ARP));
	if (fd < 0 || attach_garp_filter(fd, vip) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		perror("bench-takeover: capture socket");
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
out:
	if (netns) {
		if (setns(home, CLONE_NEWNET) < 0) {
			perror("bench-takeover: back to our namespace");
			if (fd >= 0)
				close(fd);
			fd = -1;
		}
		close(home);
	}
	return fd;
}

static void drain(int fd)
{
	char buf[64];

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

/*
 * Waits for the next captured GARP; *ts = its kernel receive time.
 * Returns 1, 0 on timeout, -1 on error.
 */
static int next_garp(int fd, struct timespec *ts)
{
	char buf[64], control[CMSG_SPACE(sizeof(struct timespec))];
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = control, .msg_controllen = sizeof(control),
	};
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct cmsghdr *c;
	int n;

	n = poll(&pfd, 1, GARP_WAIT_MS);
	if (n <= 0) {
		if (n < 0)
			perror("bench-takeover: poll");
		return n;
	}
	if (recvmsg(fd, &msg, 0) < 0) {
		perror("bench-takeover: recvmsg");
		return -1;
	}
	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level == SOL_SOCKET &&
		    c->cmsg_type == SCM_TIMESTAMPNS) {
			memcpy(ts, CMSG_DATA(c), sizeof(*ts));
			return 1;
		}
	}
	fprintf(stderr, "bench-takeover: packet without a timestamp\n");
	return -1;
}

/* Replace the VIP with mode local on link (or virtual if link is 0). */
static int set_mode(struct kubelb *h, uint32_t dev, uint32_t link,
		    struct in_addr vip)
{
	struct kubelb_req req = { .op = KUBELB_OP_REPLACE };
	struct kubelb_vip *v = &req.vip;
	int ret;

	v->family = AF_INET;
	v->addr.v4 = vip;
	v->ifindex = dev;
	v->mode = link ? KUBELB_MODE_LOCAL : KUBELB_MODE_VIRTUAL;
	v->link = link;
	v->present = KUBELB_HAS(KUBELB_A_IFINDEX) | KUBELB_HAS(KUBELB_A_FAMILY) |
		     KUBELB_HAS(KUBELB_A_ADDR) | KUBELB_HAS(KUBELB_A_MODE);
	if (link)
		v->present |= KUBELB_HAS(KUBELB_A_LINK);
	ret = kubelb_apply(h, &req, 1);
	if (ret) {
		fprintf(stderr, "bench-takeover: replace %s: %s\n",
			link ? "local" : "virtual",
			ret < 0 ? strerror(-ret) : kubelb_err_str(&req.err));
		return -1;
	}
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted v[n], n > 0. */
static double percentile(const double *v, size_t n, double p)
{
	size_t rank = (size_t)ceil(p / 100.0 * (double)n);

	return v[rank ? rank - 1 : 0];
}

static double us_between(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) * 1e6 +
	       (double)(b->tv_nsec - a->tv_nsec) / 1e3;
}

static int run(const struct takeover_opts *o, int capture_fd, double *lat,
	       size_t *nlat, unsigned long *missed)
{
	struct kubelb_err err = { 0 };
	unsigned long in_row = 0, i;
	uint32_t dev, link;
	struct kubelb *h;
	int ret = -1;

	dev = if_nametoindex(o->dev);
	link = if_nametoindex(o->link);
	if (!dev || !link) {
		fprintf(stderr, "bench-takeover: %s: no such device\n",
			dev ? o->link : o->dev);
		return -1;
	}
	if (kubelb_open(&h, &err) < 0) {
		fprintf(stderr, "bench-takeover: %s\n", kubelb_err_str(&err));
		return -1;
	}
	/* start from a virtual VIP (created if needed) */
	if (set_mode(h, dev, 0, o->vip) < 0)
		goto out;
	*nlat = 0;
	*missed = 0;
	for (i = 0; i < o->count; i++) {
		struct timespec start, garp;
		int got;

		drain(capture_fd);
		clock_gettime(CLOCK_REALTIME, &start);
		if (set_mode(h, dev, link, o->vip) < 0)
			goto out;
		got = next_garp(capture_fd, &garp);
		if (got < 0)
			goto out;
		if (got) {
			lat[(*nlat)++] = us_between(&start, &garp);
			in_row = 0;
		} else {
			++*missed;
			if (++in_row == MAX_MISSED_IN_ROW) {
				fprintf(stderr,
					"bench-takeover: no gratuitous ARP for %d takeovers in a row\n",
					MAX_MISSED_IN_ROW);
				goto out;
			}
		}
		if (set_mode(h, dev, 0, o->vip) < 0)
			goto out;
	}
	ret = 0;
out:
	kubelb_close(h);
	return ret;
}

int main(int argc, char **argv)
{
	struct takeover_opts o = { .dev = KUBELB_DEFAULT_DEV, .count = 1000 };
	unsigned long missed;
	size_t nlat;
	double *lat;
	char *end;
	int opt, fd, ret;

	while ((opt = getopt(argc, argv, "d:l:n:N:c:h")) != -1) {
		switch (opt) {
		case 'd': o.dev = optarg; break;
		case 'l': o.link = optarg; break;
		case 'N': o.netns = optarg; break;
		case 'c': o.capture_ifname = optarg; break;
		case 'n':
			errno = 0;
			o.count = strtoul(optarg, &end, 10);
			if (errno || *end || !o.count || o.count > 10000000)
				usage();
			break;
		default: usage();
		}
	}
	if (!o.link || optind != argc - 1 ||
	    inet_pton(AF_INET, argv[optind], &o.vip) != 1)
		usage();
	if (!o.capture_ifname)
		o.capture_ifname = o.link;

	lat = calloc(o.count, sizeof(*lat));
	if (!lat) {
		perror("bench-takeover");
		return 1;
	}
	fd = open_capture(o.netns, o.capture_ifname, o.vip);
	if (fd < 0) {
		free(lat);
		return 1;
	}
	ret = run(&o, fd, lat, &nlat, &missed);
	close(fd);
	if (ret == 0 && nlat == 0) {
		fprintf(stderr, "bench-takeover: no gratuitous ARP captured\n");
		ret = -1;
	}
	if (ret == 0) {
		qsort(lat, nlat, sizeof(*lat), cmp_double);
		printf("takeovers=%zu missed=%lu min_us=%.0f median_us=%.0f p99_us=%.0f max_us=%.0f\n",
		       nlat, missed, lat[0], percentile(lat, nlat, 50),
		       percentile(lat, nlat, 99), lat[nlat - 1]);
	}
	free(lat);
	return ret ? 1 : 0;
}
