// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * bench-arp-flood: how many ARP requests per second a node answers.
 *
 * For each TARGET, sends COUNT identical broadcast ARP requests "who-has
 * TARGET tell SENDER" out of IFACE from an AF_PACKET socket and counts, on
 * that socket, the replies "TARGET is-at ...". The flood is closed-loop: at
 * most WINDOW requests are outstanding (sent, not yet answered), so the
 * queues between here and the responder (the veth peer's backlog,
 * netdev_max_backlog = 1000 by default, and the socket's receive buffer)
 * never overflow and the rate measured is the responder's, not the rate at
 * which packets are dropped. A request unanswered for LOSS_TIMEOUT_MS is
 * given up on and counted as lost.
 *
 * With several targets the floods alternate every CHUNK requests, so that
 * each target is measured over the same stretch of time: under qemu TCG on
 * a shared host the speed of the VM drifts by tens of percent within
 * seconds, which back-to-back floods would read as a difference between
 * targets.
 *
 * -e TX,RX adds a control path, flooded in turn like a target: frames of
 * the local experimental ethertype ETH_P_802_EX1 sent on TX and counted
 * when they arrive on RX (the two ends of a veth pair). Same sockets, same veth and softirq
 * path, but no ARP, no routing and no netfilter hook: no kubelb code runs
 * on it, so its rate tells how fast the VM itself was running, for
 * comparing floods that cannot alternate (module loaded vs. not loaded).
 *
 * Used by tools/bench-arp. Prints one line of key=value pairs per target:
 *   target=IP|control sent=N replies=N lost=N seconds=S rate=R
 * rate is replies per second of flooding that target (first request to
 * last reply of each chunk, summed); an uncounted warm-up per target fills
 * caches and the node's neighbour entry for SENDER first.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/if_ether.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING	23	/* Linux 4.20 */
#endif

#define FRAME_LEN	(sizeof(struct ether_header) + sizeof(struct ether_arp))
#define MAX_BATCH	256
#define LOSS_TIMEOUT_MS	200
#define DRAIN_MS	1000
#define MAX_TARGETS	8
#define RCVBUF		(8 << 20)

struct flood_opts {
	const char *ifname;
	struct in_addr sender;
	unsigned long count, chunk, warmup;
	unsigned int window, batch;
};

struct flood_result {
	unsigned long sent, replies, lost;
	double seconds;
};

/* Something to flood: requests go out on tx_fd, answers come in on rx_fd. */
struct flood_target {
	char name[INET_ADDRSTRLEN];
	int tx_fd, rx_fd;
	uint8_t frame[FRAME_LEN];
	struct flood_result total;
	bool silent;		/* a whole window went unanswered */
};

static void usage(void)
{
	fprintf(stderr,
		"Usage: bench-arp-flood -i IFACE -s SENDER_IP -t TARGET_IP [-t TARGET_IP]...\n"
		"                       [-e TX_IFACE,RX_IFACE] [-n COUNT] [-c CHUNK]\n"
		"                       [-w WINDOW] [-b BATCH] [-W WARMUP]\n"
		"  COUNT requests per target (default 200000), targets alternating every\n"
		"  CHUNK (10000), at most WINDOW unanswered (256), BATCH per sendmmsg (32),\n"
		"  WARMUP uncounted ones per target first (2000); -e adds the control path.\n");
	exit(2);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static unsigned long parse_ulong(const char *s, unsigned long min,
				 unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *s == '\0' || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "bench-arp-flood: bad number \"%s\"\n", s);
		usage();
	}
	return v;
}

static void parse_ip(const char *s, struct in_addr *a)
{
	if (inet_pton(AF_INET, s, a) != 1) {
		fprintf(stderr, "bench-arp-flood: bad IPv4 address \"%s\"\n", s);
		usage();
	}
}

/*
 * Keep only ARP replies whose sender is the target: the kernel then wakes
 * us, and charges our receive buffer, for nothing else on the link.
 */
static int attach_reply_filter(int fd, struct in_addr target)
{
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),		/* ethertype */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETHERTYPE_ARP, 0, 5),
		BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 20),		/* ar_op */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARPOP_REPLY, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 28),		/* ar_spa */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ntohl(target.s_addr), 0, 1),
		BPF_STMT(BPF_RET | BPF_K, FRAME_LEN),
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_fprog prog = {
		.len = sizeof(code) / sizeof(code[0]),
		.filter = code,
	};

	return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog,
			  sizeof(prog));
}

/*
 * An AF_PACKET socket bound to ifname receiving protocol (0: none, send
 * only); *mac = the interface's address if mac is not NULL.
 */
static int open_socket(const char *ifname, uint16_t protocol, uint8_t *mac)
{
	struct sockaddr_ll sll = { 0 };
	struct ifreq ifr = { 0 };
	int one = 1, rcvbuf = RCVBUF;
	int fd;

	fd = socket(AF_PACKET, SOCK_RAW, htons(protocol));
	if (fd < 0) {
		perror("bench-arp-flood: socket(AF_PACKET)");
		return -1;
	}
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (mac && ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
		fprintf(stderr, "bench-arp-flood: %s: %s\n", ifname,
			strerror(errno));
		goto fail;
	}
	if (mac)
		memcpy(mac, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
	/* Our own requests would otherwise be looped back to us. */
	if (setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one,
		       sizeof(one)) < 0) {
		perror("bench-arp-flood: PACKET_IGNORE_OUTGOING");
		goto fail;
	}
	/* Room for a whole window of replies; FORCE because we run as root
	 * and rmem_max is small. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf,
		       sizeof(rcvbuf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(protocol);
	sll.sll_ifindex = (int)if_nametoindex(ifname);
	if (!sll.sll_ifindex ||
	    bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		fprintf(stderr, "bench-arp-flood: bind %s: %s\n", ifname,
			strerror(errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

static int open_arp_target(struct flood_target *t, const char *ifname,
			   struct in_addr sender, struct in_addr target)
{
	struct ether_header *eth = (struct ether_header *)t->frame;
	struct ether_arp *arp = (struct ether_arp *)(eth + 1);
	uint8_t mac[ETH_ALEN];

	inet_ntop(AF_INET, &target, t->name, sizeof(t->name));
	t->tx_fd = t->rx_fd = open_socket(ifname, ETH_P_ARP, mac);
	if (t->tx_fd < 0)
		return -1;
	if (attach_reply_filter(t->rx_fd, target) < 0) {
		perror("bench-arp-flood: SO_ATTACH_FILTER");
		close(t->rx_fd);
		return -1;
	}
	memset(eth->ether_dhost, 0xff, ETH_ALEN);
	memcpy(eth->ether_shost, mac, ETH_ALEN);
	eth->ether_type = htons(ETHERTYPE_ARP);
	arp->arp_hrd = htons(ARPHRD_ETHER);
	arp->arp_pro = htons(ETHERTYPE_IP);
	arp->arp_hln = ETH_ALEN;
	arp->arp_pln = 4;
	arp->arp_op = htons(ARPOP_REQUEST);
	memcpy(arp->arp_sha, mac, ETH_ALEN);
	memcpy(arp->arp_spa, &sender, 4);
	memset(arp->arp_tha, 0, ETH_ALEN);
	memcpy(arp->arp_tpa, &target, 4);
	return 0;
}

/* spec "TX,RX": broadcast frames of ETH_P_802_EX1 from TX, counted on RX */
static int open_control_target(struct flood_target *t, const char *spec)
{
	struct ether_header *eth = (struct ether_header *)t->frame;
	char tx[IF_NAMESIZE], rx[IF_NAMESIZE];
	const char *comma = strchr(spec, ',');
	uint8_t mac[ETH_ALEN];

	if (!comma || comma == spec || (size_t)(comma - spec) >= sizeof(tx) ||
	    strlen(comma + 1) >= sizeof(rx) || !comma[1]) {
		fprintf(stderr, "bench-arp-flood: -e wants TX_IFACE,RX_IFACE\n");
		return -1;
	}
	snprintf(tx, sizeof(tx), "%.*s", (int)(comma - spec), spec);
	snprintf(rx, sizeof(rx), "%s", comma + 1);
	snprintf(t->name, sizeof(t->name), "control");
	t->tx_fd = open_socket(tx, 0, mac);
	if (t->tx_fd < 0)
		return -1;
	t->rx_fd = open_socket(rx, ETH_P_802_EX1, NULL);
	if (t->rx_fd < 0) {
		close(t->tx_fd);
		return -1;
	}
	/* the size of an ARP request, so that copies cost the same */
	memset(t->frame, 0, sizeof(t->frame));
	memset(eth->ether_dhost, 0xff, ETH_ALEN);
	memcpy(eth->ether_shost, mac, ETH_ALEN);
	eth->ether_type = htons(ETH_P_802_EX1);
	return 0;
}

static void close_target(struct flood_target *t)
{
	if (t->rx_fd != t->tx_fd)
		close(t->rx_fd);
	close(t->tx_fd);
}

/* Receives every answer already queued; returns how many, or -1. */
static long drain_replies(int fd)
{
	static uint8_t bufs[MAX_BATCH][64];
	struct mmsghdr msgs[MAX_BATCH];
	struct iovec iovs[MAX_BATCH];
	long total = 0;
	int n, i;

	for (i = 0; i < MAX_BATCH; i++) {
		iovs[i].iov_base = bufs[i];
		iovs[i].iov_len = sizeof(bufs[i]);
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].msg_hdr.msg_iov = &iovs[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	for (;;) {
		n = recvmmsg(fd, msgs, MAX_BATCH, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return total;
			if (errno == EINTR)
				continue;
			perror("bench-arp-flood: recvmmsg");
			return -1;
		}
		/* the filter or the protocol passed only the target's answers */
		total += n;
		if (n < MAX_BATCH)
			return total;
	}
}

static int wait_readable(int fd, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int n;

	do
		n = poll(&pfd, 1, timeout_ms);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		perror("bench-arp-flood: poll");
	return n;
}

/* Requests sent and neither answered nor given up on; never negative, even
 * if a request given up on is answered late or answered twice. */
static unsigned long outstanding(const struct flood_result *r)
{
	return r->replies + r->lost >= r->sent ?
		0 : r->sent - r->replies - r->lost;
}

/*
 * Sends count requests to t, closed-loop; fills r. Returns 0, or 1 if a
 * whole window went unanswered before any answer came (nothing answers:
 * stop rather than crawl through the rest at one window per
 * LOSS_TIMEOUT_MS), or -1 on error.
 */
static int flood(const struct flood_target *t, const struct flood_opts *o,
		 unsigned long count, struct flood_result *r)
{
	struct mmsghdr msgs[MAX_BATCH];
	struct iovec iov = {
		.iov_base = (void *)t->frame, .iov_len = sizeof(t->frame),
	};
	double start, last_reply;
	unsigned int i;
	long got;

	/* every message is the same frame: the requests are identical */
	for (i = 0; i < o->batch; i++) {
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].msg_hdr.msg_iov = &iov;
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	memset(r, 0, sizeof(*r));
	start = last_reply = now();
	while (r->sent < count || outstanding(r)) {
		unsigned long room = o->window - outstanding(r);
		unsigned long left = count - r->sent;
		unsigned long want = left < room ? left : room;

		if (want > o->batch)
			want = o->batch;
		/* send when a whole batch fits, or to finish the flood */
		if (want && (want == o->batch || want == left)) {
			int n = sendmmsg(t->tx_fd, msgs, (unsigned int)want, 0);

			if (n < 0 && errno != ENOBUFS && errno != EINTR &&
			    errno != EAGAIN) {
				perror("bench-arp-flood: sendmmsg");
				return -1;
			}
			if (n > 0)
				r->sent += (unsigned long)n;
		}
		got = drain_replies(t->rx_fd);
		if (got < 0)
			return -1;
		if (got) {
			r->replies += (unsigned long)got;
			last_reply = now();
			continue;
		}
		if (r->sent < count && outstanding(r) + o->batch <= o->window)
			continue;	/* room for another batch: do not block */
		got = wait_readable(t->rx_fd, r->sent < count ?
					      LOSS_TIMEOUT_MS : DRAIN_MS);
		if (got < 0)
			return -1;
		if (got == 0) {	/* nothing came back in time: give up on them */
			r->lost += outstanding(r);
			if (!r->replies) {
				r->seconds = 0;
				return 1;
			}
		}
	}
	/* late answers to requests given up on are not losses */
	r->lost = r->replies >= r->sent ? 0 : r->sent - r->replies;
	r->seconds = last_reply - start;
	return 0;
}

/* Floods every target in turn, chunk requests at a time, until each got
 * o->count (or fell silent). Returns 0 or -1. */
static int flood_alternating(struct flood_target *targets, int ntargets,
			     const struct flood_opts *o)
{
	struct flood_result r;
	bool more;
	int i, res;

	for (i = 0; i < ntargets; i++) {
		res = o->warmup ? flood(&targets[i], o, o->warmup, &r) : 0;
		if (res < 0)
			return -1;
		targets[i].silent = res > 0;
	}
	do {
		more = false;
		for (i = 0; i < ntargets; i++) {
			struct flood_target *t = &targets[i];
			unsigned long left = o->count - t->total.sent;

			if (!left || t->silent)
				continue;
			res = flood(t, o, left < o->chunk ? left : o->chunk, &r);
			if (res < 0)
				return -1;
			t->silent = res > 0;
			t->total.sent += r.sent;
			t->total.replies += r.replies;
			t->total.lost += r.lost;
			t->total.seconds += r.seconds;
			more |= t->total.sent < o->count && !t->silent;
		}
	} while (more);
	return 0;
}

int main(int argc, char **argv)
{
	struct flood_opts o = {
		.count = 200000, .chunk = 10000, .warmup = 2000,
		.window = 256, .batch = 32,
	};
	struct in_addr target_ips[MAX_TARGETS];
	struct flood_target targets[MAX_TARGETS + 1] = { 0 };
	const char *control = NULL;
	int nips = 0, ntargets = 0, opt, i, ret = 1;
	bool have_sender = false;

	while ((opt = getopt(argc, argv, "i:s:t:e:n:c:w:b:W:h")) != -1) {
		switch (opt) {
		case 'i': o.ifname = optarg; break;
		case 's': parse_ip(optarg, &o.sender); have_sender = true; break;
		case 't':
			if (nips == MAX_TARGETS)
				usage();
			parse_ip(optarg, &target_ips[nips++]);
			break;
		case 'e': control = optarg; break;
		case 'n': o.count = parse_ulong(optarg, 1, 1UL << 40); break;
		case 'c': o.chunk = parse_ulong(optarg, 1, 1UL << 40); break;
		case 'w': o.window = (unsigned int)parse_ulong(optarg, 1, 100000); break;
		case 'b': o.batch = (unsigned int)parse_ulong(optarg, 1, MAX_BATCH); break;
		case 'W': o.warmup = parse_ulong(optarg, 0, 1UL << 40); break;
		default: usage();
		}
	}
	if (!o.ifname || !have_sender || !nips || optind != argc)
		usage();
	if (o.batch > o.window)
		o.batch = o.window;

	for (i = 0; i < nips; i++, ntargets++)
		if (open_arp_target(&targets[i], o.ifname, o.sender,
				    target_ips[i]) < 0)
			goto out;
	if (control) {
		if (open_control_target(&targets[ntargets], control) < 0)
			goto out;
		ntargets++;
	}
	if (flood_alternating(targets, ntargets, &o) < 0)
		goto out;

	ret = 0;
	for (i = 0; i < ntargets; i++) {
		const struct flood_target *t = &targets[i];

		printf("target=%s sent=%lu replies=%lu lost=%lu seconds=%.3f rate=%.0f\n",
		       t->name, t->total.sent, t->total.replies, t->total.lost,
		       t->total.seconds, t->total.seconds > 0 ?
		       t->total.replies / t->total.seconds : 0.0);
		if (t->silent)
			fprintf(stderr, "bench-arp-flood: %s does not answer\n",
				t->name);
		/* more replies than requests: something else answered too */
		if (t->total.replies > t->total.sent)
			ret = 3;
	}
out:
	for (i = 0; i < ntargets; i++)
		close_target(&targets[i]);
	return ret;
}
