// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * --services FILE: the cluster from a file instead of the API.
 *
 * Accepted: what `kubectl get svc -A -o json` prints (a List, or a typed
 * ServiceList / NodeList / EndpointSliceList whose items may lack kind),
 * the mixed List of `kubectl get svc,nodes,endpointslices -A -o json`,
 * single objects, and any number of such documents one after another.
 * Items of other kinds are ignored.
 *
 * The whole file is read and parsed before the model sees anything, so a
 * file caught half-written (it is re-read when it changes) or otherwise
 * broken leaves the model as it was. An empty file is an error for the
 * same reason: truncate-then-write must not withdraw every VIP.
 *
 * Each kind is then fed as one complete list (LIST_BEGIN, ADDED...,
 * LIST_END), so what a re-read no longer contains is deleted. A file
 * without Nodes gives the model an empty Node list, which static mode
 * takes as "no Node list": this node alone is eligible.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"

#define STATICSRC_MAX_BYTES	(1u << 30)

enum kind { K_SERVICE, K_SLICE, K_NODE, K_MAX };

static const struct {
	const char *kind, *list;
} kinds[K_MAX] = {
	[K_SERVICE] = { "Service", "ServiceList" },
	[K_SLICE] = { "EndpointSlice", "EndpointSliceList" },
	[K_NODE] = { "Node", "NodeList" },
};

struct items {
	const cJSON **v;
	size_t n, cap;
};

struct parsed {
	cJSON **docs;
	size_t n_docs, cap_docs;
	struct items by_kind[K_MAX];
};

static int kind_of(const char *k)
{
	int i;

	for (i = 0; k && i < K_MAX; i++)
		if (!strcmp(k, kinds[i].kind))
			return i;
	return -1;
}

static int list_kind_of(const char *k)
{
	int i;

	for (i = 0; k && i < K_MAX; i++)
		if (!strcmp(k, kinds[i].list))
			return i;
	return -1;
}

static int push(void **arr, size_t *n, size_t *cap, size_t size,
		const void *elem)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 16;
		void *p = realloc(*arr, c * size);

		if (!p)
			return -ENOMEM;
		*arr = p;
		*cap = c;
	}
	memcpy((char *)*arr + *n * size, elem, size);
	(*n)++;
	return 0;
}

static int add_item(struct parsed *p, int kind, const cJSON *item)
{
	struct items *it = &p->by_kind[kind];

	return push((void **)&it->v, &it->n, &it->cap, sizeof(*it->v), &item);
}

static const char *str_of(const cJSON *obj, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Sort one document's objects by kind. */
static int classify(struct parsed *p, const cJSON *doc, size_t doc_no,
		    size_t offset, char *err, size_t errlen)
{
	const char *kind;
	const cJSON *items, *item;
	int k, lk;

	if (!cJSON_IsObject(doc)) {
		agent_err(err, errlen,
		       "document %zu at byte %zu is not a JSON object",
		       doc_no, offset);
		return -EINVAL;
	}
	kind = str_of(doc, "kind");
	items = cJSON_GetObjectItemCaseSensitive(doc, "items");
	lk = list_kind_of(kind);
	if (lk >= 0 || (kind && !strcmp(kind, "List"))) {
		if (!cJSON_IsArray(items)) {
			agent_err(err, errlen, "document %zu at byte %zu: %s "
			       "without an items array", doc_no, offset, kind);
			return -EINVAL;
		}
		cJSON_ArrayForEach(item, items) {
			const char *ik = str_of(item, "kind");

			/* typed lists from the API leave kind out */
			k = ik ? kind_of(ik) : lk;
			if (k >= 0 && add_item(p, k, item))
				goto nomem;
		}
		return 0;
	}
	k = kind_of(kind);
	if (k >= 0 && add_item(p, k, doc))
		goto nomem;
	return 0;
nomem:
	agent_err(err, errlen, "out of memory");
	return -ENOMEM;
}

static void parsed_free(struct parsed *p)
{
	size_t i;

	for (i = 0; i < p->n_docs; i++)
		cJSON_Delete(p->docs[i]);
	free(p->docs);
	for (i = 0; i < K_MAX; i++)
		free(p->by_kind[i].v);
}

static size_t line_of(const char *buf, size_t off)
{
	size_t line = 1, i;

	for (i = 0; i < off; i++)
		line += buf[i] == '\n';
	return line;
}

static int parse_all(const char *path, const char *buf, size_t len,
		     struct parsed *p, char *err, size_t errlen)
{
	size_t off = 0;
	int ret;

	for (;;) {
		const char *end = NULL;
		cJSON *doc;

		while (off < len && (buf[off] == ' ' || buf[off] == '\t' ||
				     buf[off] == '\n' || buf[off] == '\r'))
			off++;
		if (off == len)
			break;
		doc = cJSON_ParseWithLengthOpts(buf + off, len - off, &end,
						false);
		if (!doc) {
			size_t at = end && end >= buf + off ?
				    (size_t)(end - buf) : off;

			if (at > len)
				at = len;
			agent_err(err, errlen,
			       "%s: not valid JSON at byte %zu (line %zu)",
			       path, at, line_of(buf, at));
			return -EINVAL;
		}
		if (push((void **)&p->docs, &p->n_docs, &p->cap_docs,
			 sizeof(*p->docs), &doc)) {
			cJSON_Delete(doc);
			agent_err(err, errlen, "out of memory");
			return -ENOMEM;
		}
		ret = classify(p, doc, p->n_docs, off, err, errlen);
		if (ret)
			return ret;
		off = (size_t)(end - buf);
	}
	if (!p->n_docs) {
		agent_err(err, errlen, "%s: empty, no JSON document", path);
		return -EINVAL;
	}
	return 0;
}

static int read_file(const char *path, char **out, size_t *outlen,
		     char *err, size_t errlen)
{
	struct stat st;
	size_t len = 0, cap;
	char *buf;
	int fd, e;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		agent_err(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	if (fstat(fd, &st)) {
		e = errno;
		goto fail;
	}
	if (S_ISDIR(st.st_mode)) {
		e = EISDIR;
		goto fail;
	}
	cap = st.st_size > 0 ? (size_t)st.st_size + 1 : 4096;
	if (cap > STATICSRC_MAX_BYTES) {
		e = EFBIG;
		goto fail;
	}
	buf = malloc(cap);
	if (!buf) {
		e = ENOMEM;
		goto fail;
	}
	for (;;) {
		ssize_t n;

		if (len == cap) {
			char *nb;

			if (cap >= STATICSRC_MAX_BYTES) {
				free(buf);
				e = EFBIG;
				goto fail;
			}
			nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				e = ENOMEM;
				goto fail;
			}
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			e = errno;
			free(buf);
			goto fail;
		}
		if (!n)
			break;
		len += (size_t)n;
	}
	close(fd);
	*out = buf;
	*outlen = len;
	return 0;
fail:
	close(fd);
	agent_err(err, errlen, "%s: %s", path, strerror(e));
	return -e;
}

int staticsrc_load(const char *path, struct model *m, char *err,
		   size_t errlen)
{
	static void (*const feed[K_MAX])(void *, enum kapi_event,
					  const cJSON *) = {
		[K_SERVICE] = model_on_service,
		[K_SLICE] = model_on_slice,
		[K_NODE] = model_on_node,
	};
	struct parsed p = { 0 };
	char *buf = NULL;
	size_t len = 0, i;
	int ret, k;

	ret = read_file(path, &buf, &len, err, errlen);
	if (ret)
		return ret;
	ret = parse_all(path, buf, len, &p, err, errlen);
	free(buf);
	if (ret) {
		parsed_free(&p);
		return ret;
	}
	for (k = 0; k < K_MAX; k++) {
		feed[k](m, KAPI_LIST_BEGIN, NULL);
		for (i = 0; i < p.by_kind[k].n; i++)
			feed[k](m, KAPI_ADDED, p.by_kind[k].v[i]);
		feed[k](m, KAPI_LIST_END, NULL);
	}
	parsed_free(&p);
	return 0;
}
