// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The election order of MetalLB and PureLB: candidates sorted by
 * sha256(nodeName + "#" + ip) ascending, ip in its canonical text form
 * (inet_ntop; Go's net.IP.String() prints the same for both families).
 *
 * The model hashes a few times per VIP and event, so the digest and its
 * context are fetched once and reused instead of paying OpenSSL 3's
 * per-call algorithm fetch of SHA256() (160 ns against 420 ns). The agent
 * is single-threaded; this file is not reentrant.
 */
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "agent.h"

static EVP_MD *sha256_md;
static EVP_MD_CTX *sha256_ctx;

static void sha256_parts(const char *a, size_t alen, const char *b,
			 size_t blen, uint8_t out[32])
{
	unsigned int len;

	if (!sha256_md)
		sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (!sha256_ctx)
		sha256_ctx = EVP_MD_CTX_new();
	if (sha256_md && sha256_ctx &&
	    EVP_DigestInit_ex2(sha256_ctx, sha256_md, NULL) == 1 &&
	    EVP_DigestUpdate(sha256_ctx, a, alen) == 1 &&
	    EVP_DigestUpdate(sha256_ctx, "#", 1) == 1 &&
	    EVP_DigestUpdate(sha256_ctx, b, blen) == 1 &&
	    EVP_DigestFinal_ex(sha256_ctx, out, &len) == 1)
		return;

	/* no reusable context (allocation failed): the one-shot path */
	{
		unsigned char buf[512];
		unsigned char *p = buf;
		size_t n = alen + 1 + blen;

		if (n > sizeof(buf)) {
			/* node names are at most 253 bytes, IPs 45 */
			memset(out, 0xff, 32);
			return;
		}
		memcpy(p, a, alen);
		p[alen] = '#';
		memcpy(p + alen + 1, b, blen);
		SHA256(buf, n, out);
	}
}

void election_hash_str(const char *node, const char *ip, uint8_t out[32])
{
	sha256_parts(node, strlen(node), ip, strlen(ip), out);
}

void election_hash(const char *node, uint16_t family,
		   const union kubelb_addr *addr, uint8_t out[32])
{
	char ip[INET6_ADDRSTRLEN];

	if (!inet_ntop(family, addr, ip, sizeof(ip)))
		ip[0] = '\0';
	election_hash_str(node, ip, out);
}
