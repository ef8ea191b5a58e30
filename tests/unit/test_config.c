/* test_config.c - unit tests for option parsing (config.c) and the filter set (filters.c).
 *
 * Every option is exercised with its default, its valid values and its bad values; every
 * refusal must be one line naming the option, and never contain a secret. Files (secrets,
 * filters, CA bundle) are written by the tests themselves into a private mkdtemp directory
 * that each test removes again. */
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "rc_test.h"
#include "rc_config.h"
#include "rc_strlist.h"

#define MAX_OPTS 64
#define SECRET "Cl1entS3cretValue"
#define JWT "eyJhbGciOiJSUzI1NiJ9.SecretJwtBody.Sig"
#define PASSWORD "PassW0rdSecret"

/* ---------------------------------------------------------------- helpers */

struct opts {
	struct rc_option o[MAX_OPTS];
	int n;
};

static void add(struct opts *o, const char *key, const char *value)
{
	CU_ASSERT_FATAL(o->n < MAX_OPTS);
	o->o[o->n].key = key;
	o->o[o->n].value = value;
	o->n++;
}

/* The smallest valid configuration: JWT grant, one event filter. */
static void base_jwt(struct opts *o)
{
	o->n = 0;
	add(o, "client_id", "cid");
	add(o, "client_secret", SECRET);
	add(o, "jwt", JWT);
	add(o, "event_filter", "/restapi/v1.0/account/~/extension/~/presence");
}

struct warnings {
	int n;
	char last[1024];
};

static void collect_warning(void *userdata, const char *message)
{
	struct warnings *w = userdata;

	w->n++;
	snprintf(w->last, sizeof(w->last), "%s", message);
}

static bool no_secret_in(const char *text)
{
	return strstr(text, SECRET) == NULL && strstr(text, JWT) == NULL &&
		strstr(text, "SecretJwtBody") == NULL && strstr(text, PASSWORD) == NULL;
}

/* Parses o, expects success; the caller frees cfg. */
static int parse_ok(const struct opts *o, struct rc_config *cfg, struct warnings *w)
{
	char err[512] = "";
	int rc = rc_config_parse(cfg, o->o, o->n, collect_warning, w, err, sizeof(err));

	if (rc != 0)
		fprintf(stderr, "\n  unexpected error: %s\n", err);
	CU_ASSERT_EQUAL(rc, 0);
	return rc;
}

/* Parses o, expects failure with a one-line message "plugin_opt_<key>: ..." containing
 * `needle` (if not NULL) and no secret. Returns true if all of that held. */
static bool parse_fails(const struct opts *o, const char *key, const char *needle)
{
	struct rc_config cfg;
	struct warnings w = { 0, "" };
	char err[512] = "";
	char prefix[128];
	bool ok = true;

	memset(&cfg, 0x5a, sizeof(cfg));
	int rc = rc_config_parse(&cfg, o->o, o->n, collect_warning, &w, err, sizeof(err));
	snprintf(prefix, sizeof(prefix), "plugin_opt_%s: ", key);
	if (rc != -1) {
		ok = false;
		if (rc == 0)
			rc_config_free(&cfg);
	} else {
		ok = strncmp(err, prefix, strlen(prefix)) == 0 && strchr(err, '\n') == NULL &&
			no_secret_in(err) && (needle == NULL || strstr(err, needle) != NULL) &&
			cfg.server == NULL && cfg.client_secret == NULL && cfg.event_filters == NULL;
	}
	if (!ok)
		fprintf(stderr, "\n  expected '%s...%s', got rc=%d '%s'\n", prefix,
				needle != NULL ? needle : "", rc, err);
	return ok;
}

/* Valid config plus one option. */
static bool with_fails(const char *key, const char *value, const char *err_key, const char *needle)
{
	struct opts o;

	base_jwt(&o);
	add(&o, key, value);
	return parse_fails(&o, err_key, needle);
}

static int with_ok(const char *key, const char *value, struct rc_config *cfg)
{
	struct opts o;
	struct warnings w = { 0, "" };

	base_jwt(&o);
	add(&o, key, value);
	return parse_ok(&o, cfg, &w);
}

/* A private directory for the files a test writes. */
struct tmp {
	char dir[64];
	char path[8][256];
	int n;
};

static void tmp_open(struct tmp *t)
{
	snprintf(t->dir, sizeof(t->dir), "/tmp/test_config.XXXXXX");
	t->n = 0;
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(t->dir));
}

/* Writes content into dir/name with the given mode; returns the path (owned by t). */
static const char *tmp_file(struct tmp *t, const char *name, const char *content, mode_t mode)
{
	CU_ASSERT_FATAL(t->n < 8);
	char *path = t->path[t->n++];
	int len_path = snprintf(NULL, 0, "%s/%s", t->dir, name);
	CU_ASSERT_FATAL(len_path > 0 && (size_t)len_path < sizeof(t->path[0]));
	memcpy(path, t->dir, strlen(t->dir));
	path[strlen(t->dir)] = '/';
	memcpy(path + strlen(t->dir) + 1, name, strlen(name) + 1);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	size_t len = strlen(content);
	CU_ASSERT_FATAL(write(fd, content, len) == (ssize_t)len);
	CU_ASSERT_FATAL(fchmod(fd, mode) == 0); /* explicit: the umask must not decide */
	close(fd);
	return path;
}

static int tmp_remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

static void tmp_close(struct tmp *t)
{
	CU_ASSERT_EQUAL(nftw(t->dir, tmp_remove_one, 8, FTW_DEPTH | FTW_PHYS), 0);
}

/* ---------------------------------------------------------------- defaults */

static void test_defaults(void)
{
	struct opts o;
	struct rc_config cfg;
	struct warnings w = { 0, "" };

	base_jwt(&o);
	if (parse_ok(&o, &cfg, &w) != 0)
		return;
	CU_ASSERT_STRING_EQUAL(cfg.server, "https://platform.ringcentral.com");
	CU_ASSERT_STRING_EQUAL(cfg.pubnub_origin, "https://ringcentral.pubnubapi.com");
	CU_ASSERT_STRING_EQUAL(cfg.client_id, "cid");
	CU_ASSERT_STRING_EQUAL(cfg.client_secret, SECRET);
	CU_ASSERT_EQUAL(cfg.auth_mode, RC_AUTH_JWT);
	CU_ASSERT_STRING_EQUAL(cfg.jwt, JWT);
	CU_ASSERT_PTR_NULL(cfg.username);
	CU_ASSERT_PTR_NULL(cfg.extension);
	CU_ASSERT_PTR_NULL(cfg.password);
	CU_ASSERT_EQUAL(cfg.n_event_filters, 1);
	CU_ASSERT_STRING_EQUAL(cfg.event_filters[0], "/restapi/v1.0/account/~/extension/~/presence");
	CU_ASSERT_PTR_NULL(cfg.filters_file);
	CU_ASSERT_EQUAL(cfg.transport, RC_TRANSPORT_WEBSOCKET);
	CU_ASSERT_EQUAL(cfg.expires_in, 900);
	CU_ASSERT_EQUAL(cfg.renew_margin, 120);
	CU_ASSERT_STRING_EQUAL(cfg.topic_prefix, "ringcentral");
	CU_ASSERT_EQUAL(cfg.n_topic_map, 0);
	CU_ASSERT_EQUAL(cfg.payload, RC_PAYLOAD_NOTIFICATION);
	CU_ASSERT_EQUAL(cfg.qos, 1);
	CU_ASSERT_FALSE(cfg.retain);
	CU_ASSERT_PTR_NULL(cfg.state_file);
	CU_ASSERT_PTR_NULL(cfg.cafile);
	CU_ASSERT_EQUAL(cfg.max_notification_size, 65536);
	CU_ASSERT_EQUAL(cfg.request_timeout, 30);
	CU_ASSERT_EQUAL(cfg.poll_timeout, 300);
	CU_ASSERT_EQUAL(w.n, 0);
	rc_config_free(&cfg);
	CU_ASSERT_PTR_NULL(cfg.server);
	rc_config_free(&cfg); /* a freed (zeroed) config can be freed again */
}

/* ---------------------------------------------------------------- URLs */

static void test_url_allowed(void)
{
	static const char *const good[] = {
		"https://x", "https://platform.ringcentral.com", "https://x:8443/base/",
		"HTTPS://X.example", "http://127.0.0.1", "http://127.0.0.5", "http://127.255.0.9:9000/a",
		"http://localhost", "http://LOCALHOST:8080/", "http://[::1]", "http://[::1]:8080",
		"https://[2001:db8::1]:443",
	};
	static const char *const bad[] = {
		"http://example.com", "http://128.0.0.1", "http://126.255.255.255", "http://[::2]",
		"http://localhost.example.com", "http://10.0.0.1", "ftp://x", "ftp://127.0.0.1",
		"ws://localhost", "file:///etc/passwd", "x", "", "https://", "//x", "https://x/?a=b",
		"https://x#frag", "https://user@x", "https://user:pw@x", "https://:pw@x",
		"https://x y",
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (!rc_config_url_allowed(good[i]))
			fprintf(stderr, "\n  refused %s\n", good[i]);
		CU_ASSERT_TRUE(rc_config_url_allowed(good[i]));
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (rc_config_url_allowed(bad[i]))
			fprintf(stderr, "\n  allowed %s\n", bad[i]);
		CU_ASSERT_FALSE(rc_config_url_allowed(bad[i]));
	}
	CU_ASSERT_FALSE(rc_config_url_allowed(NULL));
}

/* The WebSocket twin of the rule: wss://, or ws:// to loopback only. */
static void test_ws_url_problem(void)
{
	CU_ASSERT_PTR_NULL(rc_config_ws_url_problem("wss://ws-api.ringcentral.com/ws?x=1"));
	CU_ASSERT_PTR_NULL(rc_config_ws_url_problem("ws://127.0.0.1:9000/ws"));
	CU_ASSERT_PTR_NULL(rc_config_ws_url_problem("ws://[::1]/ws"));
	CU_ASSERT_PTR_NULL(rc_config_ws_url_problem("ws://LocalHost/ws"));
	CU_ASSERT_STRING_EQUAL(rc_config_ws_url_problem("ws://gateway.invalid/"),
			"ws:// is only allowed to a loopback address; wss:// is required");
	CU_ASSERT_STRING_EQUAL(rc_config_ws_url_problem("https://x/ws"), "must be a wss:// URL");
	CU_ASSERT_PTR_NOT_NULL(rc_config_ws_url_problem("wss://u:p@x/ws"));
	CU_ASSERT_PTR_NOT_NULL(rc_config_ws_url_problem(NULL));
	/* And the configured-URL rule does not take WebSocket schemes. */
	CU_ASSERT_FALSE(rc_config_url_allowed("wss://x"));
}

/* server and pubnub_origin share the rules. */
static void check_url_option(const char *key, char *const *field_of(struct rc_config *))
{
	struct rc_config cfg;

	if (with_ok(key, "https://api.example.com/base///  ", &cfg) == 0) {
		CU_ASSERT_STRING_EQUAL(*field_of(&cfg), "https://api.example.com/base");
		rc_config_free(&cfg);
	}
	if (with_ok(key, "http://127.0.0.1:8443/", &cfg) == 0) {
		CU_ASSERT_STRING_EQUAL(*field_of(&cfg), "http://127.0.0.1:8443");
		rc_config_free(&cfg);
	}
	if (with_ok(key, "http://[::1]:9000", &cfg) == 0) {
		CU_ASSERT_STRING_EQUAL(*field_of(&cfg), "http://[::1]:9000");
		rc_config_free(&cfg);
	}
	CU_ASSERT_TRUE(with_fails(key, "http://example.com", key, "loopback"));
	CU_ASSERT_TRUE(with_fails(key, "ftp://example.com", key, "https"));
	CU_ASSERT_TRUE(with_fails(key, "example.com", key, "not a valid URL"));
	CU_ASSERT_TRUE(with_fails(key, "https://x/?a=1", key, "query"));
	CU_ASSERT_TRUE(with_fails(key, "https://x/#top", key, "fragment"));
	CU_ASSERT_TRUE(with_fails(key, "https://u:UrlSecret@x", key, "credentials"));
	CU_ASSERT_TRUE(with_fails(key, "https://u:UrlSecret@x", key, "not shown"));

	struct opts o;
	struct rc_config c2;
	char err[512] = "";
	base_jwt(&o);
	add(&o, key, "https://u:UrlSecret@x");
	CU_ASSERT_EQUAL(rc_config_parse(&c2, o.o, o.n, NULL, NULL, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NULL(strstr(err, "UrlSecret"));
}

static char *const *server_of(struct rc_config *c) { return &c->server; }
static char *const *origin_of(struct rc_config *c) { return &c->pubnub_origin; }

static void test_server(void)
{
	check_url_option("server", server_of);
}

static void test_pubnub_origin(void)
{
	check_url_option("pubnub_origin", origin_of);
}

/* ---------------------------------------------------------------- credentials */

static void test_client_id(void)
{
	struct opts o = { .n = 0 };
	struct rc_config cfg;

	add(&o, "client_secret", SECRET);
	add(&o, "jwt", JWT);
	add(&o, "event_filter", "/a");
	CU_ASSERT_TRUE(parse_fails(&o, "client_id", "required"));
	add(&o, "client_id", "the-id \t ");
	struct warnings w = { 0, "" };
	if (parse_ok(&o, &cfg, &w) == 0) {
		CU_ASSERT_STRING_EQUAL(cfg.client_id, "the-id");
		rc_config_free(&cfg);
	}
	CU_ASSERT_TRUE(with_fails("client_id", "  ", "client_id", "empty"));
}

static void test_client_secret_inline(void)
{
	struct opts o = { .n = 0 };
	struct rc_config cfg;
	struct warnings w = { 0, "" };

	add(&o, "client_id", "cid");
	add(&o, "jwt", JWT);
	add(&o, "event_filter", "/a");
	CU_ASSERT_TRUE(parse_fails(&o, "client_secret", "required"));
	add(&o, "client_secret", SECRET "  \t");
	if (parse_ok(&o, &cfg, &w) == 0) {
		CU_ASSERT_STRING_EQUAL(cfg.client_secret, SECRET); /* trailing blanks trimmed */
		rc_config_free(&cfg);
	}
	CU_ASSERT_TRUE(with_fails("client_secret", "other", "client_secret", "more than once"));
	CU_ASSERT_TRUE(with_fails("client_secret", " ", "client_secret", "empty"));
}

/* Every *_file secret option: read, trimmed, warned about when group/other-readable,
 * refused when missing, empty or clashing with its inline variant. */
struct secret_case {
	const char *file_key;
	const char *inline_key;
	const char *inline_value;
	size_t offset; /* of the char * field in struct rc_config */
};

static void check_secret_file(const struct secret_case *sc)
{
	struct tmp t;
	struct opts o;
	struct rc_config cfg;
	struct warnings w = { 0, "" };
	char expected_warning[512];

	tmp_open(&t);
	const char *p600 = tmp_file(&t, "s600", "FileSecretValue \n\n", 0600);
	const char *p644 = tmp_file(&t, "s644", "FileSecretValue\n", 0644);
	const char *p640 = tmp_file(&t, "s640", "FileSecretValue", 0640);
	const char *empty = tmp_file(&t, "empty", " \n\t\n", 0600);
	const char *missing = "/nonexistent/dir/secret";

	/* base_jwt() minus the inline variant of this secret, plus the file. */
	base_jwt(&o);
	for (int i = 0; i < o.n; i++)
		if (strcmp(o.o[i].key, sc->inline_key) == 0)
			o.o[i] = o.o[--o.n];
	if (strcmp(sc->file_key, "password_file") == 0) {
		for (int i = 0; i < o.n; i++)
			if (strcmp(o.o[i].key, "jwt") == 0)
				o.o[i] = o.o[--o.n];
		add(&o, "username", "+16505550100");
	}
	int base_n = o.n;

	add(&o, sc->file_key, p600);
	if (parse_ok(&o, &cfg, &w) == 0) {
		CU_ASSERT_STRING_EQUAL(*(char **)((char *)&cfg + sc->offset), "FileSecretValue");
		CU_ASSERT_EQUAL(w.n, 0);
		rc_config_free(&cfg);
	}

	const char *loose[] = { p644, p640 };
	for (size_t i = 0; i < 2; i++) {
		o.n = base_n;
		add(&o, sc->file_key, loose[i]);
		w.n = 0;
		if (parse_ok(&o, &cfg, &w) == 0) {
			CU_ASSERT_STRING_EQUAL(*(char **)((char *)&cfg + sc->offset), "FileSecretValue");
			rc_config_free(&cfg);
		}
		snprintf(expected_warning, sizeof(expected_warning),
				"plugin_opt_%s: %s is readable by group or others; chmod 600 it",
				sc->file_key, loose[i]);
		CU_ASSERT_EQUAL(w.n, 1);
		CU_ASSERT_STRING_EQUAL(w.last, expected_warning);
		CU_ASSERT_PTR_NULL(strstr(w.last, "FileSecretValue"));
	}

	/* A null warning callback is allowed. */
	o.n = base_n;
	add(&o, sc->file_key, p644);
	char err[512];
	CU_ASSERT_EQUAL(rc_config_parse(&cfg, o.o, o.n, NULL, NULL, err, sizeof(err)), 0);
	rc_config_free(&cfg);

	o.n = base_n;
	add(&o, sc->file_key, empty);
	CU_ASSERT_TRUE(parse_fails(&o, sc->file_key, "empty"));
	o.n = base_n;
	add(&o, sc->file_key, missing);
	CU_ASSERT_TRUE(parse_fails(&o, sc->file_key, missing));
	o.n = base_n;
	add(&o, sc->file_key, t.dir);
	CU_ASSERT_TRUE(parse_fails(&o, sc->file_key, "not a regular file"));

	/* Both variants, in either order: refused, naming the second one. */
	o.n = base_n;
	add(&o, sc->inline_key, sc->inline_value);
	add(&o, sc->file_key, p600);
	CU_ASSERT_TRUE(parse_fails(&o, sc->file_key, "not both"));
	o.n = base_n;
	add(&o, sc->file_key, p600);
	add(&o, sc->inline_key, sc->inline_value);
	CU_ASSERT_TRUE(parse_fails(&o, sc->inline_key, "not both"));
	o.n = base_n;
	add(&o, sc->file_key, p600);
	add(&o, sc->file_key, p600);
	CU_ASSERT_TRUE(parse_fails(&o, sc->file_key, "given more than once"));
	tmp_close(&t);
}

static void test_client_secret_file(void)
{
	struct secret_case sc = { "client_secret_file", "client_secret", SECRET,
		offsetof(struct rc_config, client_secret) };
	check_secret_file(&sc);
}

static void test_jwt_file(void)
{
	struct secret_case sc = { "jwt_file", "jwt", JWT, offsetof(struct rc_config, jwt) };
	check_secret_file(&sc);
}

static void test_password_file(void)
{
	struct secret_case sc = { "password_file", "password", PASSWORD,
		offsetof(struct rc_config, password) };
	check_secret_file(&sc);
}

static void test_auth_modes(void)
{
	struct opts o = { .n = 0 };
	struct rc_config cfg;
	struct warnings w = { 0, "" };

	add(&o, "client_id", "cid");
	add(&o, "client_secret", SECRET);
	add(&o, "event_filter", "/a");
	int n = o.n;
	CU_ASSERT_TRUE(parse_fails(&o, "jwt", "required"));

	add(&o, "username", "+16505550100 ");
	add(&o, "password", PASSWORD " ");
	add(&o, "extension", "101\t");
	if (parse_ok(&o, &cfg, &w) == 0) {
		CU_ASSERT_EQUAL(cfg.auth_mode, RC_AUTH_PASSWORD);
		CU_ASSERT_STRING_EQUAL(cfg.username, "+16505550100");
		CU_ASSERT_STRING_EQUAL(cfg.password, PASSWORD);
		CU_ASSERT_STRING_EQUAL(cfg.extension, "101");
		CU_ASSERT_PTR_NULL(cfg.jwt);
		rc_config_free(&cfg);
	}
	o.n = n + 2; /* without extension */
	if (parse_ok(&o, &cfg, &w) == 0) {
		CU_ASSERT_PTR_NULL(cfg.extension);
		rc_config_free(&cfg);
	}

	o.n = n;
	add(&o, "username", "u");
	CU_ASSERT_TRUE(parse_fails(&o, "password", "required"));
	o.n = n;
	add(&o, "password", PASSWORD);
	CU_ASSERT_TRUE(parse_fails(&o, "username", "required"));
	o.n = n;
	add(&o, "password", PASSWORD);
	add(&o, "extension", "101");
	CU_ASSERT_TRUE(parse_fails(&o, "extension", "username"));
	o.n = n;
	add(&o, "jwt", JWT);
	add(&o, "extension", "101");
	CU_ASSERT_TRUE(parse_fails(&o, "extension", "username"));
	o.n = n;
	add(&o, "jwt", JWT);
	add(&o, "username", "u");
	add(&o, "password", PASSWORD);
	CU_ASSERT_TRUE(parse_fails(&o, "jwt", "not both"));
	o.n = n;
	add(&o, "jwt", JWT);
	add(&o, "username", "u");
	CU_ASSERT_TRUE(parse_fails(&o, "jwt", "not both"));
	o.n = n;
	add(&o, "jwt", JWT);
	add(&o, "jwt", JWT);
	CU_ASSERT_TRUE(parse_fails(&o, "jwt", "given more than once"));
	o.n = n;
	add(&o, "jwt", JWT " \t");
	if (parse_ok(&o, &cfg, &w) == 0) {
		CU_ASSERT_STRING_EQUAL(cfg.jwt, JWT);
		CU_ASSERT_EQUAL(cfg.auth_mode, RC_AUTH_JWT);
		rc_config_free(&cfg);
	}
}

/* ---------------------------------------------------------------- filters */

static void test_event_filter(void)
{
	struct opts o;
	struct rc_config cfg;
	struct warnings w = { 0, "" };

	base_jwt(&o);
	add(&o, "event_filter", "/b  ");
	add(&o, "event_filter", "/restapi/v1.0/account/~/extension/~/presence"); /* duplicate */
	add(&o, "event_filter", "/b");                                          /* duplicate */
	add(&o, "event_filter", "/a?detailedTelephonyState=true");
	if (parse_ok(&o, &cfg, &w) == 0) {
		CU_ASSERT_EQUAL_FATAL(cfg.n_event_filters, 3);
		CU_ASSERT_STRING_EQUAL(cfg.event_filters[0], "/restapi/v1.0/account/~/extension/~/presence");
		CU_ASSERT_STRING_EQUAL(cfg.event_filters[1], "/b");
		CU_ASSERT_STRING_EQUAL(cfg.event_filters[2], "/a?detailedTelephonyState=true");
		CU_ASSERT_PTR_NULL(cfg.event_filters[3]);
		rc_config_free(&cfg);
	}
	CU_ASSERT_TRUE(with_fails("event_filter", "restapi/v1.0", "event_filter", "'/'"));
	CU_ASSERT_TRUE(with_fails("event_filter", "https://x/restapi", "event_filter", "'/'"));
	CU_ASSERT_TRUE(with_fails("event_filter", "/a /b", "event_filter", "blanks"));
	CU_ASSERT_TRUE(with_fails("event_filter", "/a\t/b", "event_filter", "blanks"));
	CU_ASSERT_TRUE(with_fails("event_filter", "   ", "event_filter", "empty"));

	o.n = 0;
	add(&o, "client_id", "cid");
	add(&o, "client_secret", SECRET);
	add(&o, "jwt", JWT);
	struct rc_config c2;
	char err[512];
	CU_ASSERT_EQUAL(rc_config_parse(&c2, o.o, o.n, NULL, NULL, err, sizeof(err)), -1);
	CU_ASSERT_STRING_EQUAL(err,
			"plugin_opt_event_filter: at least one event_filter or a filters_file is required");
}

static void test_filters_file_option(void)
{
	struct tmp t;
	struct opts o;
	struct rc_config cfg;
	struct warnings w = { 0, "" };
	char err[512];

	tmp_open(&t);
	const char *good = tmp_file(&t, "good", "# comment\n/x\n\n  /y  # trailing\n", 0644);
	const char *only_comments = tmp_file(&t, "comments", "# nothing\n\n   \n", 0644);
	const char *bad = tmp_file(&t, "bad", "/x\nrestapi/v1.0/y\n", 0644);
	const char *unreadable = tmp_file(&t, "unreadable", "/x\n", 0000);

	base_jwt(&o);
	add(&o, "filters_file", good);
	if (parse_ok(&o, &cfg, &w) == 0) {
		CU_ASSERT_STRING_EQUAL(cfg.filters_file, good);
		CU_ASSERT_EQUAL(cfg.n_event_filters, 1); /* only the event_filter lines */
		rc_config_free(&cfg);
	}

	/* The file alone is enough. */
	o.n = 0;
	add(&o, "client_id", "cid");
	add(&o, "client_secret", SECRET);
	add(&o, "jwt", JWT);
	int n = o.n;
	add(&o, "filters_file", good);
	if (parse_ok(&o, &cfg, &w) == 0) {
		CU_ASSERT_EQUAL(cfg.n_event_filters, 0);
		rc_config_free(&cfg);
	}
	/* A file without filters and no event_filter: no filter at all. */
	o.n = n;
	add(&o, "filters_file", only_comments);
	CU_ASSERT_EQUAL(rc_config_parse(&cfg, o.o, o.n, NULL, NULL, err, sizeof(err)), -1);
	CU_ASSERT_STRING_EQUAL(err,
			"plugin_opt_event_filter: at least one event_filter or a filters_file is required");
	/* ... but with an event_filter it is fine. */
	add(&o, "event_filter", "/z");
	if (parse_ok(&o, &cfg, &w) == 0)
		rc_config_free(&cfg);

	char where[300];
	snprintf(where, sizeof(where), "%s:2: event filter must start with '/'", bad);
	CU_ASSERT_TRUE(with_fails("filters_file", bad, "filters_file", where));
	CU_ASSERT_TRUE(with_fails("filters_file", "/nonexistent/filters", "filters_file",
			"/nonexistent/filters"));
	CU_ASSERT_TRUE(with_fails("filters_file", t.dir, "filters_file", "directory"));
	if (geteuid() != 0) /* root reads anything */
		CU_ASSERT_TRUE(with_fails("filters_file", unreadable, "filters_file", "cannot read"));
	base_jwt(&o);
	add(&o, "filters_file", good);
	add(&o, "filters_file", good);
	CU_ASSERT_TRUE(parse_fails(&o, "filters_file", "given more than once"));
	tmp_close(&t);
}

static void test_filters_load_file(void)
{
	struct tmp t;
	char **f = NULL;
	size_t n = 99;
	char err[512];
	char expected[300];

	tmp_open(&t);
	const char *good = tmp_file(&t, "good",
			"# RingCentral event filters\n"
			"\n"
			"   /restapi/v1.0/account/~/extension/~/presence   \n"
			"\t/restapi/v1.0/account/~/extension/~/message-store # new messages\r\n"
			"#/commented/out\n"
			"/restapi/v1.0/account/~/extension/~/presence\n"  /* duplicate */
			"/a#b\n"                                          /* '#' inside: not a comment */
			"/no-final-newline", 0644);
	CU_ASSERT_EQUAL_FATAL(rc_filters_load_file(good, &f, &n, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(n, 4);
	CU_ASSERT_STRING_EQUAL(f[0], "/restapi/v1.0/account/~/extension/~/presence");
	CU_ASSERT_STRING_EQUAL(f[1], "/restapi/v1.0/account/~/extension/~/message-store");
	CU_ASSERT_STRING_EQUAL(f[2], "/a#b");
	CU_ASSERT_STRING_EQUAL(f[3], "/no-final-newline");
	CU_ASSERT_PTR_NULL(f[4]);
	rc_strlist_free(f);

	const char *empty = tmp_file(&t, "empty", "", 0644);
	CU_ASSERT_EQUAL(rc_filters_load_file(empty, &f, &n, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_PTR_NULL(f[0]);
	rc_strlist_free(f);

	const char *bad = tmp_file(&t, "bad", "# ok\n/ok\n\n  relative/path\n", 0644);
	f = (char **)&n; /* must be reset on failure */
	CU_ASSERT_EQUAL(rc_filters_load_file(bad, &f, &n, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NULL(f);
	snprintf(expected, sizeof(expected), "%s:4: event filter must start with '/'", bad);
	CU_ASSERT_STRING_EQUAL(err, expected);

	const char *blank = tmp_file(&t, "blank", "/a b\n", 0644);
	CU_ASSERT_EQUAL(rc_filters_load_file(blank, &f, &n, err, sizeof(err)), -1);
	snprintf(expected, sizeof(expected), "%s:1: event filter must not contain blanks", blank);
	CU_ASSERT_STRING_EQUAL(err, expected);

	CU_ASSERT_EQUAL(rc_filters_load_file("/nonexistent/f", &f, &n, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "/nonexistent/f"));
	tmp_close(&t);
}

static void test_filters_effective(void)
{
	struct tmp t;
	struct opts o;
	struct rc_config cfg;
	struct warnings w = { 0, "" };
	char **f = NULL;
	size_t n = 0;
	char err[512];

	tmp_open(&t);
	const char *file = tmp_file(&t, "filters", "/c\n/a\n/d\n", 0644);
	base_jwt(&o);
	o.n--; /* drop the base filter */
	add(&o, "event_filter", "/a");
	add(&o, "event_filter", "/b");
	add(&o, "filters_file", file);
	if (parse_ok(&o, &cfg, &w) != 0) {
		tmp_close(&t);
		return;
	}
	CU_ASSERT_EQUAL_FATAL(rc_filters_effective(&cfg, &f, &n, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(n, 4);
	CU_ASSERT_STRING_EQUAL(f[0], "/a");
	CU_ASSERT_STRING_EQUAL(f[1], "/b");
	CU_ASSERT_STRING_EQUAL(f[2], "/c");
	CU_ASSERT_STRING_EQUAL(f[3], "/d");
	CU_ASSERT_PTR_NULL(f[4]);

	/* The file is re-read on every call (that is what SIGHUP relies on). */
	tmp_file(&t, "filters", "/e\n", 0644);
	char **g = NULL;
	size_t ng = 0;
	CU_ASSERT_EQUAL_FATAL(rc_filters_effective(&cfg, &g, &ng, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(ng, 3);
	CU_ASSERT_STRING_EQUAL(g[2], "/e");
	CU_ASSERT_FALSE(rc_strlist_same_set(f, n, g, ng));
	rc_strlist_free(g);

	/* A broken file now: an error, the old set is the caller's to keep. */
	tmp_file(&t, "filters", "/ok\nbroken\n", 0644);
	g = (char **)&n;
	CU_ASSERT_EQUAL(rc_filters_effective(&cfg, &g, &ng, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NULL(g);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, ":2: event filter must start with '/'"));
	rc_strlist_free(f);
	rc_config_free(&cfg);

	/* Only a file, which is then emptied: the effective set is empty, an error. */
	base_jwt(&o);
	o.n--;
	tmp_file(&t, "filters", "/x\n", 0644);
	add(&o, "filters_file", file);
	if (parse_ok(&o, &cfg, &w) == 0) {
		tmp_file(&t, "filters", "# all gone\n", 0644);
		CU_ASSERT_EQUAL(rc_filters_effective(&cfg, &f, &n, err, sizeof(err)), -1);
		CU_ASSERT_PTR_NULL(f);
		CU_ASSERT_EQUAL(n, 0);
		CU_ASSERT_NOT_EQUAL(err[0], '\0');
		unlink(file);
		CU_ASSERT_EQUAL(rc_filters_effective(&cfg, &f, &n, err, sizeof(err)), -1);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, file));
		rc_config_free(&cfg);
	}
	tmp_close(&t);
}

static void test_filters_equal(void)
{
	char *a[] = { "/a", "/b", "/c", NULL };
	char *b[] = { "/c", "/a", "/b", NULL };
	char *c[] = { "/a", "/b", "/d", NULL };
	char *d[] = { "/a", "/b", NULL };
	char *e[] = { "/a", "/a", "/b", NULL };
	char *f[] = { "/a", "/a", NULL };

	CU_ASSERT_TRUE(rc_strlist_same_set(a, 3, a, 3));
	CU_ASSERT_TRUE(rc_strlist_same_set(a, 3, b, 3));
	CU_ASSERT_TRUE(rc_strlist_same_set(b, 3, a, 3));
	CU_ASSERT_FALSE(rc_strlist_same_set(a, 3, c, 3));
	CU_ASSERT_FALSE(rc_strlist_same_set(c, 3, a, 3));
	CU_ASSERT_FALSE(rc_strlist_same_set(a, 3, d, 2));
	CU_ASSERT_FALSE(rc_strlist_same_set(d, 2, a, 3));
	CU_ASSERT_TRUE(rc_strlist_same_set(d, 2, e, 3));  /* sets: duplicates do not count */
	CU_ASSERT_FALSE(rc_strlist_same_set(e, 3, a, 3)); /* same size, different sets */
	CU_ASSERT_FALSE(rc_strlist_same_set(a, 3, e, 3));
	CU_ASSERT_FALSE(rc_strlist_same_set(f, 2, d, 2));
	CU_ASSERT_TRUE(rc_strlist_same_set(NULL, 0, NULL, 0));
	CU_ASSERT_FALSE(rc_strlist_same_set(a, 1, NULL, 0));
	CU_ASSERT_FALSE(rc_strlist_same_set(NULL, 0, a, 1));
	rc_strlist_free(NULL);
}

/* ---------------------------------------------------------------- simple values */

static void test_transport(void)
{
	static const char *const pubnub[] = { "pubnub", "PubNub", "PUBNUB  " };
	struct rc_config cfg;

	for (size_t i = 0; i < 3; i++) {
		if (with_ok("transport", pubnub[i], &cfg) == 0) {
			CU_ASSERT_EQUAL(cfg.transport, RC_TRANSPORT_PUBNUB);
			rc_config_free(&cfg);
		}
	}
	static const char *const websocket[] = { "websocket", "WebSocket", "WEBSOCKET" };
	for (size_t i = 0; i < 3; i++) {
		if (with_ok("transport", websocket[i], &cfg) == 0) {
			CU_ASSERT_EQUAL(cfg.transport, RC_TRANSPORT_WEBSOCKET);
			rc_config_free(&cfg);
		}
	}
	CU_ASSERT_TRUE(with_fails("transport", "mqtt", "transport", "'mqtt'"));

	/* Knobs of the other transport are accepted but named in a warning. */
	static const struct {
		const char *transport, *key, *value;
		bool warns;
	} knobs[] = {
		{ "websocket", "pubnub_origin", "https://ps.pndsn.com", true },
		{ "websocket", "poll_timeout", "60", true },
		{ "websocket", "expires_in", "600", true },
		{ "websocket", "renew_margin", "60", true },
		{ "websocket", "heartbeat_interval", "5", false },
		{ "pubnub", "heartbeat_interval", "5", true },
		{ "pubnub", "pong_timeout", "5", true },
		{ "pubnub", "poll_timeout", "60", false },
	};
	for (size_t i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++) {
		struct opts o;
		struct warnings w = { 0, "" };
		char expected[160];
		base_jwt(&o);
		add(&o, "transport", knobs[i].transport);
		add(&o, knobs[i].key, knobs[i].value);
		if (parse_ok(&o, &cfg, &w) != 0)
			continue;
		snprintf(expected, sizeof(expected), "plugin_opt_%s has no effect with transport %s",
				knobs[i].key, knobs[i].transport);
		CU_ASSERT_EQUAL(w.n, knobs[i].warns ? 1 : 0);
		if (knobs[i].warns)
			CU_ASSERT_STRING_EQUAL(w.last, expected);
		rc_config_free(&cfg);
	}
	CU_ASSERT_TRUE(with_fails("transport", "pubnub2", "transport", "pubnub or websocket"));
}

struct long_case {
	const char *key;
	long min, max, def;
	size_t offset; /* of the field in struct rc_config */
	bool is_size;  /* size_t field rather than long */
};

static long long_field(const struct rc_config *cfg, const struct long_case *lc)
{
	const char *base = (const char *)cfg + lc->offset;
	return lc->is_size ? (long)*(const size_t *)base : *(const long *)base;
}

static void test_integers(void)
{
	static const struct long_case cases[] = {
		{ "expires_in", 10, 31536000, 900, offsetof(struct rc_config, expires_in), false },
		{ "renew_margin", 1, 86400, 120, offsetof(struct rc_config, renew_margin), false },
		{ "max_notification_size", 1024, 16777216, 65536,
			offsetof(struct rc_config, max_notification_size), true },
		{ "request_timeout", 1, 300, 30, offsetof(struct rc_config, request_timeout), false },
		{ "poll_timeout", 10, 600, 300, offsetof(struct rc_config, poll_timeout), false },
		{ "heartbeat_interval", 1, 3600, 30, offsetof(struct rc_config, heartbeat_interval), false },
		{ "pong_timeout", 1, 300, 10, offsetof(struct rc_config, pong_timeout), false },
	};
	static const char *const junk[] = {
		"abc", "12abc", "12 5", "1e3", "0x20", " 60", "+", "-", "1.5", "99999999999999999999",
		"-99999999999999999999",
	};
	struct rc_config cfg;
	char v[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct long_case *lc = &cases[i];
		long good[] = { lc->min, lc->max, (lc->min + lc->max) / 2 };

		for (size_t k = 0; k < 3; k++) {
			snprintf(v, sizeof(v), "%ld \t", good[k]); /* trailing blanks are fine */
			if (with_ok(lc->key, v, &cfg) == 0) {
				CU_ASSERT_EQUAL(long_field(&cfg, lc), good[k]);
				rc_config_free(&cfg);
			}
		}
		snprintf(v, sizeof(v), "%ld", lc->min - 1);
		CU_ASSERT_TRUE(with_fails(lc->key, v, lc->key, v));
		snprintf(v, sizeof(v), "%ld", lc->max + 1);
		CU_ASSERT_TRUE(with_fails(lc->key, v, lc->key, v));
		CU_ASSERT_TRUE(with_fails(lc->key, "-5", lc->key, "'-5'"));
		CU_ASSERT_TRUE(with_fails(lc->key, "0", lc->key, "'0'"));
		for (size_t k = 0; k < sizeof(junk) / sizeof(junk[0]); k++)
			CU_ASSERT_TRUE(with_fails(lc->key, junk[k], lc->key, "whole number"));
		CU_ASSERT_TRUE(with_fails(lc->key, "", lc->key, "empty"));

		/* The default, checked here too so that each row of the table is complete. */
		struct opts o;
		struct warnings w = { 0, "" };
		base_jwt(&o);
		if (parse_ok(&o, &cfg, &w) == 0) {
			CU_ASSERT_EQUAL(long_field(&cfg, lc), lc->def);
			rc_config_free(&cfg);
		}
	}
}

static void test_topic_prefix(void)
{
	static const char *const good[] = { "rc", "home/phone", "a b/c", "caf\xc3\xa9/x", "~/x" };
	static const char *const bad[] = {
		"a/+/b", "+", "#", "a/#", "/a", "a/", "/", "a//b", "caf\xc3/x", "\xff", "a/./b", "..",
	};
	struct rc_config cfg;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (with_ok("topic_prefix", good[i], &cfg) == 0) {
			CU_ASSERT_STRING_EQUAL(cfg.topic_prefix, good[i]);
			rc_config_free(&cfg);
		}
	}
	if (with_ok("topic_prefix", "home/rc  ", &cfg) == 0) {
		CU_ASSERT_STRING_EQUAL(cfg.topic_prefix, "home/rc");
		rc_config_free(&cfg);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CU_ASSERT_TRUE(with_fails("topic_prefix", bad[i], "topic_prefix", NULL));
	CU_ASSERT_TRUE(with_fails("topic_prefix", "a/+", "topic_prefix", "wildcard"));
	CU_ASSERT_TRUE(with_fails("topic_prefix", "a//b", "topic_prefix", "empty level"));
	CU_ASSERT_TRUE(with_fails("topic_prefix", "/a", "topic_prefix", "start or end"));
	CU_ASSERT_TRUE(with_fails("topic_prefix", "\xff", "topic_prefix", "UTF-8"));
	CU_ASSERT_TRUE(with_fails("topic_prefix", " ", "topic_prefix", "empty"));
}

static void test_topic_map(void)
{
	struct opts o;
	struct rc_config cfg;
	struct warnings w = { 0, "" };

	base_jwt(&o);
	add(&o, "topic_map", "/restapi/v1.0/account/{a}/extension/{e}/presence \t home/phone/{e}/presence  ");
	add(&o, "topic_map", "/restapi/v1.0/account/~/extension/{e}/message-store sms/{e}");
	add(&o, "topic_map", "/team-messaging/v1/posts chat");
	if (parse_ok(&o, &cfg, &w) == 0) {
		CU_ASSERT_EQUAL_FATAL(cfg.n_topic_map, 3);
		CU_ASSERT_STRING_EQUAL(cfg.topic_map[0].pattern,
				"/restapi/v1.0/account/{a}/extension/{e}/presence");
		CU_ASSERT_STRING_EQUAL(cfg.topic_map[0].tmpl, "home/phone/{e}/presence");
		CU_ASSERT_STRING_EQUAL(cfg.topic_map[1].pattern,
				"/restapi/v1.0/account/~/extension/{e}/message-store");
		CU_ASSERT_STRING_EQUAL(cfg.topic_map[1].tmpl, "sms/{e}");
		CU_ASSERT_STRING_EQUAL(cfg.topic_map[2].pattern, "/team-messaging/v1/posts");
		CU_ASSERT_STRING_EQUAL(cfg.topic_map[2].tmpl, "chat");
		rc_config_free(&cfg);
	}
	CU_ASSERT_TRUE(with_fails("topic_map", "/only/a/pattern", "topic_map", "<topic-template>"));
	CU_ASSERT_TRUE(with_fails("topic_map", "/a/{x}   ", "topic_map", "<topic-template>"));
	CU_ASSERT_TRUE(with_fails("topic_map", "", "topic_map", "empty"));
	/* What rc_topic_rule_check() refuses, the option refuses. */
	CU_ASSERT_TRUE(with_fails("topic_map", "relative/{x} t/{x}", "topic_map", NULL));
	CU_ASSERT_TRUE(with_fails("topic_map", "/a/{x} t/{y}", "topic_map", NULL));
	CU_ASSERT_TRUE(with_fails("topic_map", "/a/{x} t/+/{x}", "topic_map", NULL));
	CU_ASSERT_TRUE(with_fails("topic_map", "/a/{x} t/#", "topic_map", NULL));
}


/* Trailing retain=/qos=/expiry= words set a rule's publish options; the two-word form is
 * unchanged (no options); a pattern with options only keeps the default mapping. */
static void test_topic_map_options(void)
{
	struct opts o;
	struct rc_config cfg;
	struct warnings w = { 0, "" };

	base_jwt(&o);
	add(&o, "topic_map", "/restapi/v1.0/account/{a}/extension/{e}/presence home/{e} retain=true qos=0 expiry=86400");
	add(&o, "topic_map", "/restapi/v1.0/account/{a}/extension/{e}/missed-calls retain=false");
	add(&o, "topic_map", "/team-messaging/v1/posts my chat/x=1 qos=2");
	add(&o, "topic_map", "/a/{x} plain/{x}");
	if (parse_ok(&o, &cfg, &w) == 0) {
		CU_ASSERT_EQUAL_FATAL(cfg.n_topic_map, 4);
		CU_ASSERT_STRING_EQUAL(cfg.topic_map[0].tmpl, "home/{e}");
		CU_ASSERT_TRUE(cfg.topic_map[0].has_retain && cfg.topic_map[0].retain);
		CU_ASSERT_TRUE(cfg.topic_map[0].has_qos);
		CU_ASSERT_EQUAL(cfg.topic_map[0].qos, 0);
		CU_ASSERT_EQUAL(cfg.topic_map[0].expiry_s, 86400);
		CU_ASSERT_PTR_NULL(cfg.topic_map[1].tmpl);
		CU_ASSERT_TRUE(cfg.topic_map[1].has_retain && !cfg.topic_map[1].retain);
		CU_ASSERT_FALSE(cfg.topic_map[1].has_qos);
		/* Blanks inside a template stay; a word with '/' is never an option. */
		CU_ASSERT_STRING_EQUAL(cfg.topic_map[2].tmpl, "my chat/x=1");
		CU_ASSERT_EQUAL(cfg.topic_map[2].qos, 2);
		CU_ASSERT_FALSE(cfg.topic_map[3].has_qos || cfg.topic_map[3].has_retain ||
				cfg.topic_map[3].expiry_s != 0 || cfg.topic_map[3].builtin);
		CU_ASSERT_FALSE(cfg.homeassistant);
		rc_config_free(&cfg);
	}
	CU_ASSERT_TRUE(with_fails("topic_map", "/a/{x} t/{x} retain=maybe", "topic_map", "retain="));
	CU_ASSERT_TRUE(with_fails("topic_map", "/a/{x} t/{x} qos=3", "topic_map", "qos="));
	CU_ASSERT_TRUE(with_fails("topic_map", "/a/{x} t/{x} expiry=-1", "topic_map", "expiry="));
	CU_ASSERT_TRUE(with_fails("topic_map", "/a/{x} t/{x} expiry=4294967296", "topic_map", "expiry="));
	CU_ASSERT_TRUE(with_fails("topic_map", "/a/{x} t/{x} retian=true", "topic_map", "unknown rule option 'retian'"));
	CU_ASSERT_TRUE(with_fails("topic_map", "/a/{x} t/{x} qos=", "topic_map", "needs a value"));
	CU_ASSERT_TRUE(with_fails("topic_map", "relative retain=true", "topic_map", "'/'"));
}

/* homeassistant: off by default; on, it appends the built-in rules after the user's. */
static void test_homeassistant(void)
{
	struct opts o;
	struct rc_config cfg;
	struct warnings w = { 0, "" };

	base_jwt(&o);
	if (parse_ok(&o, &cfg, &w) == 0) {
		CU_ASSERT_FALSE(cfg.homeassistant);
		CU_ASSERT_STRING_EQUAL(cfg.homeassistant_prefix, "homeassistant");
		CU_ASSERT_EQUAL(cfg.n_topic_map, 0);
		rc_config_free(&cfg);
	}
	base_jwt(&o);
	add(&o, "homeassistant", "true");
	add(&o, "topic_map", "/restapi/v1.0/account/{a}/extension/{e}/presence home/{e}");
	if (parse_ok(&o, &cfg, &w) == 0) {
		CU_ASSERT_TRUE(cfg.homeassistant);
		CU_ASSERT_EQUAL_FATAL(cfg.n_topic_map, 5);
		CU_ASSERT_FALSE(cfg.topic_map[0].builtin);
		CU_ASSERT_STRING_EQUAL(cfg.topic_map[1].pattern,
				"/restapi/v1.0/account/{account}/extension/{extension}/presence");
		CU_ASSERT_TRUE(cfg.topic_map[1].builtin && cfg.topic_map[1].has_retain && cfg.topic_map[1].retain);
		CU_ASSERT_PTR_NULL(cfg.topic_map[1].tmpl);
		for (size_t i = 2; i < 5; i++)
			CU_ASSERT_TRUE(cfg.topic_map[i].builtin && cfg.topic_map[i].has_retain &&
					!cfg.topic_map[i].retain);
		rc_config_free(&cfg);
	}
	w.n = 0;
	base_jwt(&o);
	add(&o, "homeassistant_prefix", "ha/disc");
	if (parse_ok(&o, &cfg, &w) == 0) {
		CU_ASSERT_STRING_EQUAL(cfg.homeassistant_prefix, "ha/disc");
		CU_ASSERT_EQUAL(w.n, 1);
		CU_ASSERT_PTR_NOT_NULL(strstr(w.last, "homeassistant_prefix has no effect"));
		rc_config_free(&cfg);
	}
	CU_ASSERT_TRUE(with_fails("homeassistant", "maybe", "homeassistant", "true or false"));
	CU_ASSERT_TRUE(with_fails("homeassistant_prefix", "/ha", "homeassistant_prefix", "'/'"));
	CU_ASSERT_TRUE(with_fails("homeassistant_prefix", "$ha", "homeassistant_prefix", "'$'"));
	CU_ASSERT_TRUE(with_fails("homeassistant_prefix", "ha/+", "homeassistant_prefix", "wildcard"));
	CU_ASSERT_TRUE(with_fails("homeassistant_prefix", "ha|x", "homeassistant_prefix", "'|'"));
}

/* <prefix>/bridge/ and $ topics are not for notifications: a template whose literal text
 * lands there is refused with one line naming the option, whichever order the lines
 * come in (topic_prefix after topic_map too). */
static void test_topic_map_reserved(void)
{
	struct opts o;
	struct rc_config cfg;
	struct warnings w = { 0, "" };

	CU_ASSERT_TRUE(with_fails("topic_map", "/a/{x} ringcentral/bridge/{x}", "topic_map",
			"reserved"));
	CU_ASSERT_TRUE(with_fails("topic_map", "/a/{x} ringcentral/bridge", "topic_map", "reserved"));
	CU_ASSERT_TRUE(with_fails("topic_map", "/a/{x} {x}/bridge/state", "topic_map", "reserved"));
	CU_ASSERT_TRUE(with_fails("topic_map", "/a/{x} $SYS/{x}", "topic_map", "'$'"));

	base_jwt(&o);
	add(&o, "topic_map", "/a/{x} home/bridge/{x}");
	add(&o, "topic_prefix", "home");
	CU_ASSERT_TRUE(parse_fails(&o, "topic_map", "'home/bridge'"));

	/* A capture that could read "bridge" is accepted: that event is dropped at run time. */
	base_jwt(&o);
	add(&o, "topic_map", "/a/{x} ringcentral/{x}/state");
	add(&o, "topic_map", "/b/{x} home/bridge/{x}");
	if (parse_ok(&o, &cfg, &w) == 0) {
		CU_ASSERT_EQUAL(cfg.n_topic_map, 2);
		rc_config_free(&cfg);
	}
	CU_ASSERT_TRUE(with_fails("topic_prefix", "$SYS", "topic_prefix", "'$'"));
}

static void test_payload(void)
{
	struct rc_config cfg;

	if (with_ok("payload", "body ", &cfg) == 0) {
		CU_ASSERT_EQUAL(cfg.payload, RC_PAYLOAD_BODY);
		rc_config_free(&cfg);
	}
	if (with_ok("payload", "notification", &cfg) == 0) {
		CU_ASSERT_EQUAL(cfg.payload, RC_PAYLOAD_NOTIFICATION);
		rc_config_free(&cfg);
	}
	CU_ASSERT_TRUE(with_fails("payload", "json", "payload", "'json'"));
	CU_ASSERT_TRUE(with_fails("payload", "bodyx", "payload", "notification or body"));
}

static void test_qos(void)
{
	struct rc_config cfg;
	static const char *const bad[] = { "3", "-1", "01", "1.0", "one", "1x", " 1" };

	for (int q = 0; q <= 2; q++) {
		char v[8];
		snprintf(v, sizeof(v), "%d  ", q);
		if (with_ok("qos", v, &cfg) == 0) {
			CU_ASSERT_EQUAL(cfg.qos, q);
			rc_config_free(&cfg);
		}
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CU_ASSERT_TRUE(with_fails("qos", bad[i], "qos", "must be 0, 1 or 2"));
	CU_ASSERT_TRUE(with_fails("qos", "7", "qos", "got '7'"));
}

static void test_retain(void)
{
	static const char *const yes[] = { "true", "TRUE", "yes", "Yes", "1", "true  " };
	static const char *const no[] = { "false", "False", "no", "NO", "0" };
	static const char *const bad[] = { "2", "maybe", "truee", "y", "-1" };
	struct rc_config cfg;

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (with_ok("retain", yes[i], &cfg) == 0) {
			CU_ASSERT_TRUE(cfg.retain);
			rc_config_free(&cfg);
		}
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		if (with_ok("retain", no[i], &cfg) == 0) {
			CU_ASSERT_FALSE(cfg.retain);
			rc_config_free(&cfg);
		}
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CU_ASSERT_TRUE(with_fails("retain", bad[i], "retain", "true or false"));
}

static void test_state_file_and_cafile(void)
{
	struct tmp t;
	struct rc_config cfg;
	char path[300];

	tmp_open(&t);
	snprintf(path, sizeof(path), "%s/state.json", t.dir);
	if (with_ok("state_file", path, &cfg) == 0) {
		CU_ASSERT_STRING_EQUAL(cfg.state_file, path);
		rc_config_free(&cfg);
	}
	if (with_ok("state_file", "relative-state.json", &cfg) == 0) { /* the working directory */
		CU_ASSERT_STRING_EQUAL(cfg.state_file, "relative-state.json");
		rc_config_free(&cfg);
	}
	snprintf(path, sizeof(path), "%s/missing/state.json", t.dir);
	CU_ASSERT_TRUE(with_fails("state_file", path, "state_file", "does not exist"));
	CU_ASSERT_TRUE(with_fails("state_file", t.dir, "state_file", "directory"));
	snprintf(path, sizeof(path), "%s/", t.dir);
	CU_ASSERT_TRUE(with_fails("state_file", path, "state_file", "directory"));

	const char *ca = tmp_file(&t, "ca.pem", "-----BEGIN CERTIFICATE-----\n", 0644);
	snprintf(path, sizeof(path), "%s  ", ca);
	if (with_ok("cafile", path, &cfg) == 0) {
		CU_ASSERT_STRING_EQUAL(cfg.cafile, ca);
		rc_config_free(&cfg);
	}
	snprintf(path, sizeof(path), "%s/missing.pem", t.dir);
	CU_ASSERT_TRUE(with_fails("cafile", path, "cafile", "missing.pem"));
	CU_ASSERT_TRUE(with_fails("cafile", t.dir, "cafile", "directory"));
	tmp_close(&t);
}

/* ---------------------------------------------------------------- whole-config rules */

/* One valid value for each option that may be given once. */
static const struct rc_option once_options[] = {
	{ "server", "https://platform.devtest.ringcentral.com" },
	{ "pubnub_origin", "https://ps.pndsn.com" },
	{ "transport", "pubnub" },
	{ "expires_in", "3600" },
	{ "renew_margin", "60" },
	{ "topic_prefix", "rc" },
	{ "payload", "body" },
	{ "qos", "2" },
	{ "retain", "true" },
	{ "state_file", "/tmp/rc-state.json" },
	{ "cafile", "/dev/null" },
	{ "max_notification_size", "4096" },
	{ "request_timeout", "10" },
	{ "poll_timeout", "60" },
	{ "heartbeat_interval", "30" },
	{ "pong_timeout", "10" },
	{ "homeassistant", "true" },
	{ "homeassistant_prefix", "ha" },
	{ "control_api", "true" },
	{ "control_topic", "$CONTROL/rc/v1" },
	{ "command_presence", "true" },
	{ "command_sms", "false" },
	{ "sms_from", "+15551230000" },
};

static void test_given_twice_and_empty(void)
{
	struct rc_config cfg;
	struct opts o;

	for (size_t i = 0; i < sizeof(once_options) / sizeof(once_options[0]); i++) {
		const struct rc_option *opt = &once_options[i];
		if (with_ok(opt->key, opt->value, &cfg) == 0)
			rc_config_free(&cfg);
		base_jwt(&o);
		add(&o, opt->key, opt->value);
		add(&o, opt->key, opt->value);
		CU_ASSERT_TRUE(parse_fails(&o, opt->key, "given more than once"));
		CU_ASSERT_TRUE(with_fails(opt->key, "", opt->key, "empty"));
		CU_ASSERT_TRUE(with_fails(opt->key, " \t ", opt->key, "empty"));
	}
	static const char *const others[] = {
		"client_id", "client_secret", "client_secret_file", "jwt", "jwt_file", "username",
		"extension", "password", "password_file", "event_filter", "filters_file", "topic_map",
	};
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		CU_ASSERT_TRUE(with_fails(others[i], "", others[i], "empty"));
	base_jwt(&o);
	add(&o, "client_id", "again");
	CU_ASSERT_TRUE(parse_fails(&o, "client_id", "given more than once"));
	base_jwt(&o);
	add(&o, "username", "u");
	add(&o, "username", "u");
	CU_ASSERT_TRUE(parse_fails(&o, "username", "given more than once"));
}

static void test_unknown_option(void)
{
	struct opts o;
	char err[512];
	struct rc_config cfg;

	base_jwt(&o);
	add(&o, "qos_level", "1");
	CU_ASSERT_EQUAL(rc_config_parse(&cfg, o.o, o.n, NULL, NULL, err, sizeof(err)), -1);
	CU_ASSERT_STRING_EQUAL(err, "plugin_opt_qos_level: unknown option");
	/* The value of a misspelt secret option is not echoed either. */
	CU_ASSERT_TRUE(with_fails("clientsecret", SECRET, "clientsecret", "unknown option"));
	CU_ASSERT_TRUE(with_fails("QOS", "1", "QOS", "unknown option"));
	CU_ASSERT_TRUE(with_fails("plugin_opt_qos", "1", "plugin_opt_qos", "unknown option"));
}

/* A refusal anywhere in a config full of secrets never shows them, and the error buffer
 * is respected however small it is. */
static void test_no_secret_in_errors(void)
{
	struct opts o;
	struct rc_config cfg;
	char err[512];

	static const struct rc_option breakers[] = {
		{ "qos", "9" }, { "client_secret", SECRET }, { "password", PASSWORD },
		{ "jwt", JWT }, { "bogus", SECRET }, { "server", "https://u:" SECRET "@x" },
		{ "server", "https://u:" SECRET "@x y" }, { "username", PASSWORD },
		{ "password_file", "/nonexistent" }, { "event_filter", "nope" },
	};
	for (size_t i = 0; i < sizeof(breakers) / sizeof(breakers[0]); i++) {
		o.n = 0;
		add(&o, "client_id", "cid");
		add(&o, "client_secret", SECRET);
		add(&o, "username", "u");
		add(&o, "password", PASSWORD);
		add(&o, "event_filter", "/a");
		add(&o, breakers[i].key, breakers[i].value);
		err[0] = '\0';
		CU_ASSERT_EQUAL(rc_config_parse(&cfg, o.o, o.n, NULL, NULL, err, sizeof(err)), -1);
		CU_ASSERT_NOT_EQUAL(err[0], '\0');
		CU_ASSERT_TRUE(no_secret_in(err));
		CU_ASSERT_PTR_NULL(strchr(err, '\n'));
		if (!no_secret_in(err))
			fprintf(stderr, "\n  secret shown: %s\n", err);
	}

	char tiny[8];
	memset(tiny, 'x', sizeof(tiny));
	base_jwt(&o);
	add(&o, "qos", "9");
	CU_ASSERT_EQUAL(rc_config_parse(&cfg, o.o, o.n, NULL, NULL, tiny, sizeof(tiny)), -1);
	CU_ASSERT_EQUAL(strlen(tiny), sizeof(tiny) - 1);
	CU_ASSERT_EQUAL(memcmp(tiny, "plugin_", 7), 0);
}

static void test_free_zeroed(void)
{
	struct rc_config cfg = { 0 };

	rc_config_free(&cfg);
	CU_ASSERT_PTR_NULL(cfg.server);
	CU_ASSERT_EQUAL(cfg.n_event_filters, 0);
}

/* ---------------------------------------------------------------- for the check */

/* rc_config_parse_at names the option that caused a refusal (the configuration check
 * points at its line), and -1 for refusals about the options together. */
static void test_parse_at_names_the_option(void)
{
	struct opts o;
	struct rc_config cfg;
	struct warnings w = { 0, "" };
	char err[512] = "";
	int bad = 99;

	base_jwt(&o);
	add(&o, "qos", "1");
	add(&o, "event_filter", "/second");
	add(&o, "qos", "2");            /* index 6: given twice */
	add(&o, "retain", "maybe");     /* never reached */
	CU_ASSERT_EQUAL(rc_config_parse_at(&cfg, o.o, o.n, collect_warning, &w, err, sizeof(err), &bad), -1);
	CU_ASSERT_EQUAL(bad, 6);
	CU_ASSERT_STRING_EQUAL(err, "plugin_opt_qos: given more than once");

	base_jwt(&o);
	add(&o, "topic_prefix", "home");
	add(&o, "qos", "");             /* an empty value is the option's fault too */
	bad = 99;
	CU_ASSERT_EQUAL(rc_config_parse_at(&cfg, o.o, o.n, collect_warning, &w, err, sizeof(err), &bad), -1);
	CU_ASSERT_EQUAL(bad, 5);

	/* A required option missing is nobody's line. */
	o.n = 0;
	add(&o, "client_secret", SECRET);
	add(&o, "jwt", JWT);
	add(&o, "event_filter", "/a");
	bad = 99;
	CU_ASSERT_EQUAL(rc_config_parse_at(&cfg, o.o, o.n, collect_warning, &w, err, sizeof(err), &bad), -1);
	CU_ASSERT_EQUAL(bad, -1);
	CU_ASSERT_STRING_EQUAL(err, "plugin_opt_client_id: required");

	/* Success: -1, and the same result as rc_config_parse. */
	base_jwt(&o);
	bad = 99;
	CU_ASSERT_EQUAL_FATAL(rc_config_parse_at(&cfg, o.o, o.n, collect_warning, &w, err, sizeof(err), &bad), 0);
	CU_ASSERT_EQUAL(bad, -1);
	CU_ASSERT_STRING_EQUAL(cfg.client_id, "cid");
	rc_config_free(&cfg);
}

/* The secret-file warning rule, shared with the check. */
static void test_secret_mode_rule(void)
{
	CU_ASSERT_FALSE(rc_config_secret_mode_exposed(S_IFREG | 0600));
	CU_ASSERT_FALSE(rc_config_secret_mode_exposed(S_IFREG | 0400));
	CU_ASSERT_FALSE(rc_config_secret_mode_exposed(S_IFREG | 0622)); /* writable is not readable */
	CU_ASSERT_TRUE(rc_config_secret_mode_exposed(S_IFREG | 0640));
	CU_ASSERT_TRUE(rc_config_secret_mode_exposed(S_IFREG | 0604));
	CU_ASSERT_TRUE(rc_config_secret_mode_exposed(S_IFREG | 0644));
}

/* ---------------------------------------------------------------- main */

/* control_api (off by default) and control_topic (derived from topic_prefix). */
static void test_control_options(void)
{
	struct rc_config cfg;
	struct opts o;
	struct warnings w = { 0, "" };

	base_jwt(&o);
	if (parse_ok(&o, &cfg, &w) == 0) {
		CU_ASSERT_FALSE(cfg.control_api);
		CU_ASSERT_STRING_EQUAL(cfg.control_topic, "$CONTROL/ringcentral/v1");
		rc_config_free(&cfg);
	}
	base_jwt(&o);
	add(&o, "control_api", "on");
	add(&o, "topic_prefix", "ringcentral/sales");
	if (parse_ok(&o, &cfg, &w) == 0) {
		CU_ASSERT_TRUE(cfg.control_api);
		CU_ASSERT_STRING_EQUAL(cfg.control_topic, "$CONTROL/ringcentral/sales/v1");
		rc_config_free(&cfg);
	}
	base_jwt(&o);
	add(&o, "control_api", "true");
	add(&o, "control_topic", "$CONTROL/office/a/v1");
	w.n = 0;
	if (parse_ok(&o, &cfg, &w) == 0) {
		CU_ASSERT_STRING_EQUAL(cfg.control_topic, "$CONTROL/office/a/v1");
		CU_ASSERT_EQUAL(w.n, 0);
		rc_config_free(&cfg);
	}
	/* Given without the API on: named in a warning. */
	w.n = 0;
	if (with_ok("control_topic", "$CONTROL/office/a/v1", &cfg) == 0)
		rc_config_free(&cfg);
	base_jwt(&o);
	add(&o, "control_topic", "$CONTROL/office/a/v1");
	if (parse_ok(&o, &cfg, &w) == 0) {
		CU_ASSERT_EQUAL(w.n, 1);
		CU_ASSERT_PTR_NOT_NULL(strstr(w.last, "plugin_opt_control_topic has no effect"));
		rc_config_free(&cfg);
	}
	CU_ASSERT_TRUE(with_fails("control_api", "maybe", "control_api", "true or false"));
	static const char *const bad[] = {
		"ringcentral/v1", "$CONTROL/", "$CONTROL/a", "$SYS/ringcentral/v1", "$CONTROL/a/#",
		"$CONTROL/a/+/v1", "$CONTROL/a//v1", "$CONTROL/a/v1/",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CU_ASSERT_TRUE(with_fails("control_topic", bad[i], "control_topic", NULL));
}

/* command_presence, command_sms (off by default), sms_from (E.164, required with
 * command_sms), sms_notify_to (repeatable, E.164). */
static void test_command_options(void)
{
	struct rc_config cfg;
	struct opts o;
	struct warnings w = { 0, "" };

	base_jwt(&o);
	if (parse_ok(&o, &cfg, &w) == 0) {
		CU_ASSERT_FALSE(cfg.command_presence);
		CU_ASSERT_FALSE(cfg.command_sms);
		CU_ASSERT_PTR_NULL(cfg.sms_from);
		CU_ASSERT_FALSE(rc_config_has_commands(&cfg));
		CU_ASSERT_FALSE(rc_config_hears_messages(&cfg));
		rc_config_free(&cfg);
	}
	base_jwt(&o);
	add(&o, "command_sms", "true");
	CU_ASSERT_TRUE(parse_fails(&o, "sms_from", "required with plugin_opt_command_sms true"));
	base_jwt(&o);
	add(&o, "command_sms", "true");
	add(&o, "sms_from", "+15551230000");
	add(&o, "homeassistant", "true");
	add(&o, "sms_notify_to", "+15559870001");
	add(&o, "sms_notify_to", "+15559870002");
	add(&o, "sms_notify_to", "+15559870001");
	w.n = 0;
	if (parse_ok(&o, &cfg, &w) == 0) {
		CU_ASSERT_TRUE(cfg.command_sms);
		CU_ASSERT_STRING_EQUAL(cfg.sms_from, "+15551230000");
		CU_ASSERT_EQUAL(cfg.n_sms_notify_to, 2);
		CU_ASSERT_TRUE(rc_config_hears_messages(&cfg));
		CU_ASSERT_EQUAL(w.n, 0);
		rc_config_free(&cfg);
	}
	/* Given without what makes them matter: named in a warning. */
	base_jwt(&o);
	add(&o, "sms_from", "+15551230000");
	w.n = 0;
	if (parse_ok(&o, &cfg, &w) == 0) {
		CU_ASSERT_EQUAL(w.n, 1);
		CU_ASSERT_PTR_NOT_NULL(strstr(w.last, "plugin_opt_sms_from has no effect"));
		rc_config_free(&cfg);
	}
	base_jwt(&o);
	add(&o, "control_api", "true");
	if (parse_ok(&o, &cfg, &w) == 0) {
		CU_ASSERT_TRUE(rc_config_has_commands(&cfg));
		CU_ASSERT_FALSE(rc_config_hears_messages(&cfg));
		rc_config_free(&cfg);
	}
	static const char *const bad[] = { "15551230000", "+1555", "+1555123000012345", "+1555 1230000", "x" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_TRUE(with_fails("sms_from", bad[i], "sms_from", "E.164"));
		CU_ASSERT_TRUE(with_fails("sms_notify_to", bad[i], "sms_notify_to", "E.164"));
	}
	CU_ASSERT_TRUE(with_fails("command_presence", "maybe", "command_presence", "true or false"));
}

int main(void)
{
	static const struct rc_test_case cases[] = {
		{ "command options", test_command_options },
		{ "ws url problem", test_ws_url_problem },
		{ "defaults", test_defaults },
		{ "url_allowed", test_url_allowed },
		{ "server", test_server },
		{ "pubnub_origin", test_pubnub_origin },
		{ "client_id", test_client_id },
		{ "client_secret", test_client_secret_inline },
		{ "client_secret_file", test_client_secret_file },
		{ "jwt_file", test_jwt_file },
		{ "password_file", test_password_file },
		{ "auth_modes", test_auth_modes },
		{ "event_filter", test_event_filter },
		{ "filters_file option", test_filters_file_option },
		{ "rc_filters_load_file", test_filters_load_file },
		{ "rc_filters_effective", test_filters_effective },
		{ "rc_strlist_same_set", test_filters_equal },
		{ "transport", test_transport },
		{ "integer options", test_integers },
		{ "topic_prefix", test_topic_prefix },
		{ "topic_map", test_topic_map },
		{ "topic_map reserved topics", test_topic_map_reserved },
		{ "topic_map publish options", test_topic_map_options },
		{ "homeassistant options", test_homeassistant },
		{ "payload", test_payload },
		{ "qos", test_qos },
		{ "retain", test_retain },
		{ "control_api and control_topic", test_control_options },
		{ "state_file and cafile", test_state_file_and_cafile },
		{ "given twice, empty values", test_given_twice_and_empty },
		{ "unknown option", test_unknown_option },
		{ "no secret in errors", test_no_secret_in_errors },
		{ "free zeroed", test_free_zeroed },
		{ "rc_config_parse_at names the option", test_parse_at_names_the_option },
		{ "secret file mode rule", test_secret_mode_rule },
		{ NULL, NULL },
	};

	return rc_test_run("config", NULL, NULL, cases);
}
