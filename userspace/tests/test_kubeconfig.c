// SPDX-License-Identifier: GPL-2.0 OR MIT
/* kubeconfig and in-cluster configuration (kubeconfig.c). */
#include <errno.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../agent/agent.h"
#include "tap.h"

static char dir[256];
static char err[512];

static void put(const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f) {
		tap_diag("cannot write %s", path);
		return;
	}
	fputs(text, f);
	fclose(f);
}

static int load(const char *name, struct kapi_config *cfg)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	err[0] = '\0';
	return kubeconfig_load(path, cfg, err, sizeof(err));
}

static bool blob_is(const struct blob *b, const char *s)
{
	return b->p && b->len == strlen(s) && !memcmp(b->p, s, b->len);
}

static bool str_is(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

static bool err_has(const char *part)
{
	if (strstr(err, part) && !strchr(err, '\n'))
		return true;
	tap_diag("error was: %s", err);
	return false;
}

/* "-----BEGIN CA-----\n" and friends, base64-encoded */
#define CA_PEM		"-----BEGIN CA-----\n"
#define CA_B64		"LS0tLS1CRUdJTiBDQS0tLS0tCg=="
#define CERT_PEM	"cert pem\n"
#define CERT_B64	"Y2VydCBwZW0K"
#define KEY_PEM		"key pem\n"
#define KEY_B64		"a2V5IHBlbQo="

static void test_data_fields(void)
{
	struct kapi_config cfg;
	int ret;

	put("data.yaml",
	    "apiVersion: v1\n"
	    "kind: Config\n"
	    "current-context: main\n"
	    "contexts:\n"
	    "- name: other\n"
	    "  context: {cluster: nope, user: nope}\n"
	    "- name: main\n"
	    "  context:\n"
	    "    cluster: c1\n"
	    "    user: u1\n"
	    "    namespace: kube-lb\n"
	    "clusters:\n"
	    "- name: c0\n"
	    "  cluster: {server: 'https://wrong:1'}\n"
	    "- name: c1\n"
	    "  cluster:\n"
	    "    server: https://10.0.0.1:6443/\n"
	    "    certificate-authority-data: " CA_B64 "\n"
	    "    certificate-authority: does-not-exist.crt\n"
	    "    tls-server-name: kubernetes.default.svc\n"
	    "users:\n"
	    "- name: u1\n"
	    "  user:\n"
	    "    client-certificate-data: " CERT_B64 "\n"
	    "    client-key-data: |\n"
	    "      a2V5\n"
	    "      IHBlbQo=\n");
	ret = load("data.yaml", &cfg);
	ok(ret == 0, "kubeconfig: -data fields load (%s)", err);
	ok(str_is(cfg.server, "https://10.0.0.1:6443"),
	   "kubeconfig: server of the current context's cluster, no trailing /");
	ok(blob_is(&cfg.ca, CA_PEM),
	   "kubeconfig: certificate-authority-data decoded, and wins over the file");
	ok(blob_is(&cfg.cert, CERT_PEM) && blob_is(&cfg.key, KEY_PEM),
	   "kubeconfig: client-certificate-data and multi-line client-key-data decoded");
	ok(str_is(cfg.tls_server_name, "kubernetes.default.svc"),
	   "kubeconfig: tls-server-name");
	ok(str_is(cfg.namespace, "kube-lb"), "kubeconfig: context namespace");
	ok(!cfg.insecure && !cfg.token && !cfg.token_file,
	   "kubeconfig: no insecure, no token unless configured");
	kapi_config_free(&cfg);
	ok(!cfg.server && !cfg.ca.p, "kubeconfig: kapi_config_free clears");
}

static void test_file_fields(void)
{
	struct kapi_config cfg;
	char abs_key[512], text[2048], want[512];
	int ret;

	mkdir(strcat(strcpy(want, dir), "/sub"), 0700);
	put("sub/ca.crt", CA_PEM);
	put("sub/cert.pem", CERT_PEM);
	put("key.pem", KEY_PEM);
	put("sub/token", "  tok-from-file\n\n");
	snprintf(abs_key, sizeof(abs_key), "%s/key.pem", dir);
	snprintf(text, sizeof(text),
		 "current-context: c\n"
		 "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
		 "clusters:\n"
		 "- name: k\n"
		 "  cluster:\n"
		 "    server: https://[fd00::1]:6443\n"
		 "    certificate-authority: ca.crt\n"
		 "    insecure-skip-tls-verify: true\n"
		 "users:\n"
		 "- name: u\n"
		 "  user:\n"
		 "    client-certificate: cert.pem\n"
		 "    client-key: %s\n"
		 "    tokenFile: token\n", abs_key);
	put("sub/files.yaml", text);
	ret = load("sub/files.yaml", &cfg);
	ok(ret == 0, "kubeconfig: file fields load (%s)", err);
	ok(blob_is(&cfg.ca, CA_PEM),
	   "kubeconfig: certificate-authority relative to the kubeconfig's directory");
	ok(blob_is(&cfg.cert, CERT_PEM) && blob_is(&cfg.key, KEY_PEM),
	   "kubeconfig: client-certificate relative, client-key absolute");
	snprintf(want, sizeof(want), "%s/sub/token", dir);
	ok(str_is(cfg.token, "tok-from-file") && str_is(cfg.token_file, want),
	   "kubeconfig: tokenFile read and trimmed; its resolved path kept for re-reading");
	ok(cfg.insecure, "kubeconfig: insecure-skip-tls-verify: true");
	ok(str_is(cfg.server, "https://[fd00::1]:6443") && !cfg.namespace,
	   "kubeconfig: IPv6 server kept; no namespace when the context has none");
	kapi_config_free(&cfg);

	put("tok.yaml",
	    "current-context: c\n"
	    "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
	    "clusters: [{name: k, cluster: {server: 'api.example:443',"
	    " insecure-skip-tls-verify: 'no'}}]\n"
	    "users: [{name: u, user: {token: static-tok, tokenFile: sub/token}}]\n");
	ret = load("tok.yaml", &cfg);
	ok(ret == 0 && str_is(cfg.token, "static-tok") && cfg.token_file &&
	   !cfg.insecure, "kubeconfig: token and tokenFile: token first, file kept");
	ok(str_is(cfg.server, "https://api.example:443"),
	   "kubeconfig: server without scheme gets https://");
	kapi_config_free(&cfg);

	/* JSON is YAML too; anchors and aliases work */
	put("anchor.yaml",
	    "current-context: c\n"
	    "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
	    "clusters: [{name: k, cluster: &cl {server: 'https://a:1'}}]\n"
	    "users: [{name: u, user: {token: t}}]\n"
	    "extra: *cl\n");
	ret = load("anchor.yaml", &cfg);
	ok(ret == 0 && str_is(cfg.server, "https://a:1") && str_is(cfg.token, "t"),
	   "kubeconfig: flow style with anchors");
	kapi_config_free(&cfg);
	put("j.json",
	    "{\"current-context\":\"c\",\"contexts\":[{\"name\":\"c\",\"context\":"
	    "{\"cluster\":\"k\"}}],\"clusters\":[{\"name\":\"k\",\"cluster\":"
	    "{\"server\":\"http://127.0.0.1:8080\"}}]}");
	ret = load("j.json", &cfg);
	ok(ret == 0 && str_is(cfg.server, "http://127.0.0.1:8080") &&
	   !cfg.token && !cfg.cert.p,
	   "kubeconfig: JSON kubeconfig; a context without user has no credentials");
	kapi_config_free(&cfg);
}

/* Each must fail with an error naming the problem, and leak nothing. */
static void test_errors(void)
{
	static const struct {
		const char *yaml, *part, *what;
	} bad[] = {
		{ "clusters: []\n", "no current-context", "no current-context" },
		{ "current-context: \"\"\n", "no current-context",
		  "empty current-context" },
		{ "current-context: x\ncontexts: [{name: y, context: {cluster: c}}]\n",
		  "context \"x\" not found", "missing context" },
		{ "current-context: x\ncontexts: [{name: x, context: {user: u}}]\n",
		  "context \"x\" names no cluster", "context without cluster" },
		{ "current-context: x\ncontexts: [{name: x, context: {cluster: c}}]\n",
		  "cluster \"c\" not found", "missing cluster" },
		{ "current-context: x\ncontexts: [{name: x, context: {cluster: c}}]\n"
		  "clusters: [{name: c, cluster: {}}]\n",
		  "cluster \"c\" has no server", "cluster without server" },
		{ "current-context: x\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n"
		  "clusters: [{name: c, cluster: {server: 'https://a'}}]\n",
		  "user \"u\" not found", "missing user" },
		{ "current-context: x\ncontexts: [{name: x, context: {cluster: c}}]\n"
		  "clusters: [{name: c, cluster: {server: 'https://a',"
		  " certificate-authority-data: 'not*base64'}}]\n",
		  "certificate-authority-data is not valid base64", "bad base64" },
		{ "current-context: x\ncontexts: [{name: x, context: {cluster: c}}]\n"
		  "clusters: [{name: c, cluster: {server: 'https://a',"
		  " certificate-authority: missing.crt}}]\n",
		  "missing.crt: No such file", "missing CA file" },
		{ "current-context: x\ncontexts: [{name: x, context: {cluster: c}}]\n"
		  "clusters: [{name: c, cluster: {server: 'https://a',"
		  " insecure-skip-tls-verify: maybe}}]\n",
		  "insecure-skip-tls-verify \"maybe\" is not a boolean", "bad bool" },
		{ "current-context: x\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n"
		  "clusters: [{name: c, cluster: {server: 'https://a'}}]\n"
		  "users: [{name: u, user: {client-certificate-data: " CERT_B64 "}}]\n",
		  "client-certificate without client-key", "cert without key" },
		{ "current-context: x\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n"
		  "clusters: [{name: c, cluster: {server: 'https://a'}}]\n"
		  "users: [{name: u, user: {exec: {command: aws}}}]\n",
		  "not supported", "exec plugin" },
		{ "current-context: x\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n"
		  "clusters: [{name: c, cluster: {server: 'https://a'}}]\n"
		  "users: [{name: u, user: {tokenFile: empty-token}}]\n",
		  "empty-token is empty", "empty tokenFile" },
		{ "current-context: x\n  contexts: [\n", "line ", "bad YAML" },
		{ "- just\n- a list\n", "not a kubeconfig", "not a mapping" },
		{ "", "not a kubeconfig", "empty file" },
	};
	struct kapi_config cfg;
	char msg[320];
	size_t i;
	int ret;

	put("empty-token", "\n");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		put("bad.yaml", bad[i].yaml);
		ret = load("bad.yaml", &cfg);
		snprintf(msg, sizeof(msg), "kubeconfig %s/bad.yaml: ", dir);
		ok(ret < 0 && !strncmp(err, msg, strlen(msg)) &&
		   err_has(bad[i].part) && !cfg.server,
		   "kubeconfig error, %s: \"...%s\"", bad[i].what, bad[i].part);
	}
	ret = load("no-such-file", &cfg);
	ok(ret == -ENOENT && err_has("no-such-file: No such file"),
	   "kubeconfig error: missing file");
}

static char *save_env(const char *name)
{
	const char *v = getenv(name);

	return v ? strdup(v) : NULL;
}

static void restore_env(const char *name, char *saved)
{
	if (saved)
		setenv(name, saved, 1);
	else
		unsetenv(name);
	free(saved);
}

static void test_env(void)
{
	char *saved = save_env("KUBECONFIG");
	struct kapi_config cfg;
	char val[1024];
	int ret;

	put("env.yaml",
	    "current-context: c\n"
	    "contexts: [{name: c, context: {cluster: k}}]\n"
	    "clusters: [{name: k, cluster: {server: 'https://env:1'}}]\n");
	snprintf(val, sizeof(val), "::%s/env.yaml:%s/data.yaml", dir, dir);
	setenv("KUBECONFIG", val, 1);
	ret = kubeconfig_load(NULL, &cfg, err, sizeof(err));
	ok(ret == 0 && str_is(cfg.server, "https://env:1"),
	   "kubeconfig: path NULL uses the first entry of $KUBECONFIG");
	kapi_config_free(&cfg);

	unsetenv("KUBECONFIG");
	ret = kubeconfig_load(NULL, &cfg, err, sizeof(err));
	ok(ret < 0 && err_has("$KUBECONFIG is not set"),
	   "kubeconfig: path NULL without $KUBECONFIG is an error");
	restore_env("KUBECONFIG", saved);
}

static void test_incluster(void)
{
	char *host = save_env("KUBERNETES_SERVICE_HOST");
	char *port = save_env("KUBERNETES_SERVICE_PORT");
	char *sa = save_env("KUBELB_SA_DIR");
	struct kapi_config cfg;
	char sadir[512], want[600];
	int ret;

	snprintf(sadir, sizeof(sadir), "%s/sa", dir);
	mkdir(sadir, 0700);
	put("sa/token", "sa-token\n");
	put("sa/ca.crt", CA_PEM);
	put("sa/namespace", "kube-system");
	setenv("KUBELB_SA_DIR", sadir, 1);

	unsetenv("KUBERNETES_SERVICE_HOST");
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	ret = incluster_load(&cfg, err, sizeof(err));
	ok(ret < 0 && err_has("KUBERNETES_SERVICE_HOST"),
	   "in-cluster: without KUBERNETES_SERVICE_HOST: error");

	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	ret = incluster_load(&cfg, err, sizeof(err));
	snprintf(want, sizeof(want), "%s/token", sadir);
	ok(ret == 0 && str_is(cfg.server, "https://10.96.0.1:443"),
	   "in-cluster: server from KUBERNETES_SERVICE_HOST/_PORT (%s)", err);
	ok(str_is(cfg.token, "sa-token") && str_is(cfg.token_file, want),
	   "in-cluster: token read, token_file set for re-reading");
	ok(blob_is(&cfg.ca, CA_PEM) && str_is(cfg.namespace, "kube-system"),
	   "in-cluster: ca.crt and namespace from $KUBELB_SA_DIR");
	ok(!cfg.insecure && !cfg.cert.p, "in-cluster: verifies TLS, no client cert");
	kapi_config_free(&cfg);

	setenv("KUBERNETES_SERVICE_HOST", "fd00:10:96::1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "6443", 1);
	ret = incluster_load(&cfg, err, sizeof(err));
	ok(ret == 0 && str_is(cfg.server, "https://[fd00:10:96::1]:6443"),
	   "in-cluster: IPv6 host bracketed in the URL");
	kapi_config_free(&cfg);

	setenv("KUBERNETES_SERVICE_PORT", "https", 1);
	ret = incluster_load(&cfg, err, sizeof(err));
	ok(ret < 0 && err_has("is not a port"), "in-cluster: bad port: error");
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);

	snprintf(want, sizeof(want), "%s/sa/token", dir);
	unlink(want);
	ret = incluster_load(&cfg, err, sizeof(err));
	ok(ret == -ENOENT && err_has("token: No such file"),
	   "in-cluster: missing token file: error naming it");

	restore_env("KUBERNETES_SERVICE_HOST", host);
	restore_env("KUBERNETES_SERVICE_PORT", port);
	restore_env("KUBELB_SA_DIR", sa);
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void test_kubeconfig(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/kubelb-kc-XXXXXX", tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		ok(0, "kubeconfig: cannot create a temporary directory");
		return;
	}
	test_data_fields();
	test_file_fields();
	test_errors();
	test_env();
	test_incluster();
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}
