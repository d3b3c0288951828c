// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Where the API server is and how to authenticate to it: a kubeconfig
 * file (parsed with libyaml's document loader) or the in-cluster
 * service account. Follows client-go's rules: current-context picks a
 * context, which names a cluster and a user; "-data" fields override the
 * file fields; relative file paths are relative to the kubeconfig's
 * directory; a tokenFile is read now and re-read later by kapi.c.
 * Certificates and keys are kept in memory and handed to libcurl as
 * blobs, so nothing secret is ever written to disk.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <yaml.h>

#include "agent.h"

#define KUBECONFIG_MAX		(16u << 20)
#define CRED_FILE_MAX		(4u << 20)
#define SA_DIR_DEFAULT		"/var/run/secrets/kubernetes.io/serviceaccount"
#define B64_CHARS \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="

/* Parse state of one kubeconfig file. */
struct kc {
	yaml_document_t doc;
	const char *path;
	char *dir;		/* relative paths resolve against this */
	char *err;
	size_t errlen;
};

/*
 * Read a whole file (at most max bytes) into a NUL-terminated buffer.
 * Returns 0 or -errno (-EFBIG when too large).
 */
static int read_file(const char *path, size_t max, struct blob *out)
{
	size_t cap = 4096, len = 0;
	char *buf = NULL, *nbuf;
	ssize_t n;
	int fd, ret;

	out->p = NULL;
	out->len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		if (!buf || len + 1 >= cap) {
			if (buf)
				cap *= 2;
			if (cap > max + 1)
				cap = max + 1;
			if (buf && len + 1 >= cap) {
				ret = -EFBIG;
				goto fail;
			}
			nbuf = realloc(buf, cap);
			if (!nbuf) {
				ret = -ENOMEM;
				goto fail;
			}
			buf = nbuf;
		}
		n = read(fd, buf + len, cap - 1 - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	out->p = buf;
	out->len = len;
	return 0;
fail:
	close(fd);
	free(buf);
	return ret;
}

static const char *errstr(int ret)
{
	return ret == -EFBIG ? "file too large" : strerror(-ret);
}

/* Trim surrounding whitespace in place (tokens, namespace files). */
static void trim_blob(struct blob *b)
{
	size_t start = 0;

	while (b->len && strchr(" \t\r\n", b->p[b->len - 1]))
		b->len--;
	while (start < b->len && strchr(" \t\r\n", b->p[start]))
		start++;
	memmove(b->p, b->p + start, b->len - start);
	b->len -= start;
	b->p[b->len] = '\0';
}

/* Standard base64 with padding; whitespace (line breaks) is allowed. */
static int base64_decode(const char *in, size_t inlen, struct blob *out)
{
	EVP_ENCODE_CTX *ctx;
	int n = 0, m = 0, ret = -EINVAL;
	size_t i;

	out->p = NULL;
	out->len = 0;
	/* OpenSSL would stop quietly at '-'; reject anything not base64 */
	for (i = 0; i < inlen; i++)
		if (!in[i] || !strchr(B64_CHARS " \t\r\n", in[i]))
			return -EINVAL;
	if (inlen > INT32_MAX)
		return -EINVAL;
	out->p = malloc(inlen / 4 * 3 + 4);
	ctx = EVP_ENCODE_CTX_new();
	if (!out->p || !ctx) {
		ret = -ENOMEM;
		goto out;
	}
	EVP_DecodeInit(ctx);
	if (EVP_DecodeUpdate(ctx, (unsigned char *)out->p, &n,
			     (const unsigned char *)in, (int)inlen) < 0 ||
	    EVP_DecodeFinal(ctx, (unsigned char *)out->p + n, &m) < 0)
		goto out;
	out->len = (size_t)n + (size_t)m;
	out->p[out->len] = '\0';
	ret = out->len ? 0 : -EINVAL;
out:
	EVP_ENCODE_CTX_free(ctx);
	if (ret) {
		free(out->p);
		out->p = NULL;
		out->len = 0;
	}
	return ret;
}

/* ------------------------------------------------------------ YAML walk */

/*
 * A scalar's text; NULL for YAML null, "" (unset, as in Go), non-scalars
 * and embedded NULs.
 */
static const char *scalar(const yaml_node_t *n)
{
	const char *v;

	if (!n || n->type != YAML_SCALAR_NODE)
		return NULL;
	v = (const char *)n->data.scalar.value;
	if (!*v || strlen(v) != n->data.scalar.length)
		return NULL;
	if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	    (!strcmp(v, "~") || !strcmp(v, "null") ||
	     !strcmp(v, "Null") || !strcmp(v, "NULL")))
		return NULL;
	return v;
}

static yaml_node_t *map_get(struct kc *c, const yaml_node_t *map,
			    const char *key)
{
	const yaml_node_pair_t *pair;
	const char *k;

	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (pair = map->data.mapping.pairs.start;
	     pair < map->data.mapping.pairs.top; pair++) {
		k = scalar(yaml_document_get_node(&c->doc, pair->key));
		if (k && !strcmp(k, key))
			return yaml_document_get_node(&c->doc, pair->value);
	}
	return NULL;
}

static const char *map_str(struct kc *c, const yaml_node_t *map,
			   const char *key)
{
	return scalar(map_get(c, map, key));
}

/*
 * The named entry of one of the lists "contexts", "clusters", "users":
 *   - name: NAME
 *     FIELD: {...}
 * Returns the entry (FIELD is looked up by the caller), NULL if absent.
 */
static yaml_node_t *named_entry(struct kc *c, const yaml_node_t *root,
				const char *list, const char *name)
{
	const yaml_node_t *seq = map_get(c, root, list);
	yaml_node_item_t *item;
	yaml_node_t *entry;
	const char *n;

	if (!seq || seq->type != YAML_SEQUENCE_NODE)
		return NULL;
	for (item = seq->data.sequence.items.start;
	     item < seq->data.sequence.items.top; item++) {
		entry = yaml_document_get_node(&c->doc, *item);
		n = map_str(c, entry, "name");
		if (n && !strcmp(n, name))
			return entry;
	}
	return NULL;
}

/* YAML 1.1 booleans, as sigs.k8s.io/yaml accepts them. */
static int parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = { "true", "True", "TRUE", "yes",
		"Yes", "YES", "y", "Y", "on", "On", "ON" };
	static const char *const no[] = { "false", "False", "FALSE", "no",
		"No", "NO", "n", "N", "off", "Off", "OFF" };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (!strcmp(v, yes[i])) {
			*out = true;
			return 0;
		}
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (!strcmp(v, no[i])) {
			*out = false;
			return 0;
		}
	return -EINVAL;
}

static char *resolve_path(struct kc *c, const char *p)
{
	char *out;

	if (p[0] == '/')
		return strdup(p);
	if (asprintf(&out, "%s/%s", c->dir, p) < 0)
		return NULL;
	return out;
}

/*
 * A credential from FIELD-data (base64) or FIELD (a file path); the data
 * form wins, as in client-go. what: "cluster \"x\"" for messages.
 * Returns 0 (out empty when neither is set) or an error.
 */
static int load_cred(struct kc *c, const yaml_node_t *map, const char *field,
		     const char *what, struct blob *out)
{
	char data_key[64];
	const char *data, *file;
	char *path;
	int ret;

	snprintf(data_key, sizeof(data_key), "%s-data", field);
	data = map_str(c, map, data_key);
	if (data) {
		ret = base64_decode(data, strlen(data), out);
		if (ret == -ENOMEM)
			agent_err(c->err, c->errlen, "out of memory");
		else if (ret)
			agent_err(c->err, c->errlen,
				"kubeconfig %s: %s: %s is not valid base64",
				c->path, what, data_key);
		return ret;
	}
	file = map_str(c, map, field);
	if (!file)
		return 0;
	path = resolve_path(c, file);
	if (!path) {
		agent_err(c->err, c->errlen, "out of memory");
		return -ENOMEM;
	}
	ret = read_file(path, CRED_FILE_MAX, out);
	if (ret)
		agent_err(c->err, c->errlen, "kubeconfig %s: %s: %s %s: %s",
			c->path, what, field, path, errstr(ret));
	free(path);
	return ret;
}

static int load_cluster(struct kc *c, const yaml_node_t *root,
			const char *name, struct kapi_config *cfg)
{
	const yaml_node_t *entry = named_entry(c, root, "clusters", name);
	const yaml_node_t *cl;
	const char *server, *v;
	char what[300];
	size_t len;
	int ret;

	if (!entry) {
		agent_err(c->err, c->errlen,
			"kubeconfig %s: cluster \"%s\" not found",
			c->path, name);
		return -ENOENT;
	}
	cl = map_get(c, entry, "cluster");
	snprintf(what, sizeof(what), "cluster \"%s\"", name);

	server = map_str(c, cl, "server");
	if (!server) {
		agent_err(c->err, c->errlen, "kubeconfig %s: %s has no server",
			c->path, what);
		return -EINVAL;
	}
	/* client-go: a server without a scheme means https */
	if (strncmp(server, "https://", 8) && strncmp(server, "http://", 7))
		ret = asprintf(&cfg->server, "https://%s", server);
	else
		ret = asprintf(&cfg->server, "%s", server);
	if (ret < 0) {
		cfg->server = NULL;
		agent_err(c->err, c->errlen, "out of memory");
		return -ENOMEM;
	}
	/* kapi appends "/api/..." */
	len = strlen(cfg->server);
	while (len && cfg->server[len - 1] == '/')
		cfg->server[--len] = '\0';

	v = map_str(c, cl, "insecure-skip-tls-verify");
	if (v && parse_bool(v, &cfg->insecure)) {
		agent_err(c->err, c->errlen,
			"kubeconfig %s: %s: insecure-skip-tls-verify \"%s\" is not a boolean",
			c->path, what, v);
		return -EINVAL;
	}
	v = map_str(c, cl, "tls-server-name");
	if (v) {
		cfg->tls_server_name = strdup(v);
		if (!cfg->tls_server_name) {
			agent_err(c->err, c->errlen, "out of memory");
			return -ENOMEM;
		}
	}
	return load_cred(c, cl, "certificate-authority", what, &cfg->ca);
}

static int load_user(struct kc *c, const yaml_node_t *root, const char *name,
		     struct kapi_config *cfg)
{
	const yaml_node_t *entry = named_entry(c, root, "users", name);
	const yaml_node_t *u;
	const char *token, *file;
	struct blob tok;
	char what[300];
	int ret;

	if (!entry) {
		agent_err(c->err, c->errlen, "kubeconfig %s: user \"%s\" not found",
			c->path, name);
		return -ENOENT;
	}
	u = map_get(c, entry, "user");
	snprintf(what, sizeof(what), "user \"%s\"", name);

	ret = load_cred(c, u, "client-certificate", what, &cfg->cert);
	if (!ret)
		ret = load_cred(c, u, "client-key", what, &cfg->key);
	if (ret)
		return ret;
	if (!cfg->cert.p != !cfg->key.p) {
		agent_err(c->err, c->errlen, "kubeconfig %s: %s: %s without %s",
			c->path, what,
			cfg->cert.p ? "client-certificate" : "client-key",
			cfg->cert.p ? "client-key" : "client-certificate");
		return -EINVAL;
	}

	/* client-go: token wins at first; a tokenFile is still re-read */
	token = map_str(c, u, "token");
	file = map_str(c, u, "tokenFile");
	if (token) {
		cfg->token = strdup(token);
		if (!cfg->token)
			goto nomem;
	}
	if (file) {
		cfg->token_file = resolve_path(c, file);
		if (!cfg->token_file)
			goto nomem;
	}
	if (file && !token) {
		ret = read_file(cfg->token_file, CRED_FILE_MAX, &tok);
		if (ret) {
			agent_err(c->err, c->errlen,
				"kubeconfig %s: %s: tokenFile %s: %s",
				c->path, what, cfg->token_file, errstr(ret));
			return ret;
		}
		trim_blob(&tok);
		cfg->token = tok.p;
		if (!tok.len) {
			agent_err(c->err, c->errlen,
				"kubeconfig %s: %s: tokenFile %s is empty",
				c->path, what, cfg->token_file);
			return -EINVAL;
		}
	}

	if (!cfg->token && !cfg->cert.p &&
	    (map_get(c, u, "exec") || map_get(c, u, "auth-provider"))) {
		agent_err(c->err, c->errlen,
			"kubeconfig %s: %s: exec and auth-provider plugins are not supported (use a token, tokenFile or client certificate)",
			c->path, what);
		return -EOPNOTSUPP;
	}
	return 0;
nomem:
	agent_err(c->err, c->errlen, "out of memory");
	return -ENOMEM;
}

static int load_doc(struct kc *c, struct kapi_config *cfg)
{
	const yaml_node_t *root = yaml_document_get_root_node(&c->doc);
	const yaml_node_t *entry, *ctx;
	const char *current, *cluster, *user, *ns;
	int ret;

	if (!root || root->type != YAML_MAPPING_NODE) {
		agent_err(c->err, c->errlen,
			"kubeconfig %s: not a kubeconfig (no top-level mapping)",
			c->path);
		return -EINVAL;
	}
	current = map_str(c, root, "current-context");
	if (!current) {
		agent_err(c->err, c->errlen, "kubeconfig %s: no current-context",
			c->path);
		return -EINVAL;
	}
	entry = named_entry(c, root, "contexts", current);
	if (!entry) {
		agent_err(c->err, c->errlen,
			"kubeconfig %s: context \"%s\" not found",
			c->path, current);
		return -ENOENT;
	}
	ctx = map_get(c, entry, "context");
	cluster = map_str(c, ctx, "cluster");
	user = map_str(c, ctx, "user");
	ns = map_str(c, ctx, "namespace");
	if (!cluster) {
		agent_err(c->err, c->errlen,
			"kubeconfig %s: context \"%s\" names no cluster",
			c->path, current);
		return -EINVAL;
	}
	ret = load_cluster(c, root, cluster, cfg);
	if (!ret && user)
		ret = load_user(c, root, user, cfg);
	if (!ret && ns) {
		cfg->namespace = strdup(ns);
		if (!cfg->namespace) {
			agent_err(c->err, c->errlen, "out of memory");
			ret = -ENOMEM;
		}
	}
	return ret;
}

/* First non-empty entry of $KUBECONFIG, malloc'd. */
static char *kubeconfig_env_path(void)
{
	const char *env = getenv("KUBECONFIG"), *end;

	if (!env)
		return NULL;
	while (*env) {
		end = strchrnul(env, ':');
		if (end > env)
			return strndup(env, (size_t)(end - env));
		env = *end ? end + 1 : end;
	}
	return NULL;
}

int kubeconfig_load(const char *path, struct kapi_config *cfg,
		    char *err, size_t errlen)
{
	struct kc c = { .err = err, .errlen = errlen };
	yaml_parser_t parser;
	char *env_path = NULL, *slash;
	struct blob text;
	bool have_doc = false;
	int ret;

	memset(cfg, 0, sizeof(*cfg));
	if (!path) {
		env_path = kubeconfig_env_path();
		if (!env_path) {
			agent_err(err, errlen,
				"kubeconfig: no path given and $KUBECONFIG is not set");
			return -ENOENT;
		}
		path = env_path;
	}
	c.path = path;

	ret = read_file(path, KUBECONFIG_MAX, &text);
	if (ret) {
		agent_err(err, errlen, "kubeconfig %s: %s", path, errstr(ret));
		free(env_path);
		return ret;
	}

	slash = strrchr(path, '/');
	if (!slash)
		c.dir = strdup(".");
	else if (slash == path)
		c.dir = strdup("/");
	else
		c.dir = strndup(path, (size_t)(slash - path));
	if (!c.dir || !yaml_parser_initialize(&parser)) {
		agent_err(err, errlen, "out of memory");
		free(c.dir);
		free(text.p);
		free(env_path);
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text.p,
				     text.len);
	if (!yaml_parser_load(&parser, &c.doc)) {
		agent_err(err, errlen, "kubeconfig %s: line %zu: %s%s%s", path,
			parser.problem_mark.line + 1,
			parser.context ? parser.context : "",
			parser.context ? ": " : "",
			parser.problem ? parser.problem : "invalid YAML");
		ret = -EINVAL;
	} else {
		have_doc = true;
		ret = load_doc(&c, cfg);
	}

	if (have_doc)
		yaml_document_delete(&c.doc);
	yaml_parser_delete(&parser);
	free(c.dir);
	free(text.p);
	free(env_path);
	if (ret)
		kapi_config_free(cfg);
	return ret;
}

/* --------------------------------------------------------- in-cluster */

int incluster_load(struct kapi_config *cfg, char *err, size_t errlen)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	const char *dir = getenv("KUBELB_SA_DIR");
	struct blob tok = { 0 }, ns = { 0 };
	char *path = NULL;
	bool v6;
	int ret;

	memset(cfg, 0, sizeof(*cfg));
	if (!host || !*host || !port || !*port) {
		agent_err(err, errlen,
			"in-cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set");
		return -ENOENT;
	}
	if (port[strspn(port, "0123456789")] || strlen(port) > 5 ||
	    atoi(port) < 1 || atoi(port) > 65535) {
		agent_err(err, errlen, "in-cluster: KUBERNETES_SERVICE_PORT \"%s\" is not a port",
			port);
		return -EINVAL;
	}
	if (!dir || !*dir)
		dir = SA_DIR_DEFAULT;

	v6 = strchr(host, ':') != NULL;
	if (asprintf(&cfg->server, "https://%s%s%s:%s", v6 ? "[" : "", host,
		     v6 ? "]" : "", port) < 0) {
		cfg->server = NULL;
		ret = -ENOMEM;
		goto nomem;
	}
	if (asprintf(&cfg->token_file, "%s/token", dir) < 0) {
		cfg->token_file = NULL;
		ret = -ENOMEM;
		goto nomem;
	}

	ret = read_file(cfg->token_file, CRED_FILE_MAX, &tok);
	if (ret) {
		agent_err(err, errlen, "in-cluster: %s: %s", cfg->token_file,
			errstr(ret));
		goto fail;
	}
	trim_blob(&tok);
	cfg->token = tok.p;
	if (!tok.len) {
		agent_err(err, errlen, "in-cluster: %s is empty", cfg->token_file);
		ret = -EINVAL;
		goto fail;
	}

	if (asprintf(&path, "%s/ca.crt", dir) < 0) {
		path = NULL;
		ret = -ENOMEM;
		goto nomem;
	}
	ret = read_file(path, CRED_FILE_MAX, &cfg->ca);
	if (ret) {
		agent_err(err, errlen, "in-cluster: %s: %s", path, errstr(ret));
		goto fail;
	}
	free(path);

	/* the namespace file is optional: without it main decides */
	if (asprintf(&path, "%s/namespace", dir) < 0) {
		path = NULL;
		ret = -ENOMEM;
		goto nomem;
	}
	if (!read_file(path, CRED_FILE_MAX, &ns)) {
		trim_blob(&ns);
		if (ns.len)
			cfg->namespace = ns.p;
		else
			free(ns.p);
	}
	free(path);
	return 0;
nomem:
	agent_err(err, errlen, "out of memory");
fail:
	free(path);
	kapi_config_free(cfg);
	return ret;
}

void kapi_config_free(struct kapi_config *cfg)
{
	free(cfg->server);
	free(cfg->ca.p);
	free(cfg->cert.p);
	free(cfg->key.p);
	free(cfg->token);
	free(cfg->token_file);
	free(cfg->tls_server_name);
	free(cfg->namespace);
	memset(cfg, 0, sizeof(*cfg));
}
