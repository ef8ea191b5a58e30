/* test_http.c - how a finished exchange maps to a lifecycle outcome, handle set-up, and the
 * CA store every TLS connection verifies with (system store plus cafile). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "rc_test.h"
#include "rc_http.h"

static enum rc_lc_outcome api(long status, const char *body)
{
	return rc_http_outcome(status, CURLE_OK, false, body, body ? strlen(body) : 0);
}

static void test_classification(void)
{
	CU_ASSERT_EQUAL(api(200, "{}"), RC_OUT_OK);
	CU_ASSERT_EQUAL(api(204, NULL), RC_OUT_OK);
	CU_ASSERT_EQUAL(api(429, NULL), RC_OUT_RATE_LIMITED);
	CU_ASSERT_EQUAL(api(500, NULL), RC_OUT_TRANSIENT);
	CU_ASSERT_EQUAL(api(503, "{\"errorCode\":\"CMN-211\"}"), RC_OUT_TRANSIENT);
	CU_ASSERT_EQUAL(api(408, NULL), RC_OUT_TRANSIENT);
	CU_ASSERT_EQUAL(api(401, "{\"errorCode\":\"TokenInvalid\"}"), RC_OUT_UNAUTHORIZED);
	CU_ASSERT_EQUAL(api(404, "{\"errorCode\":\"CMN-102\"}"), RC_OUT_NOT_FOUND);
	CU_ASSERT_EQUAL(api(403, "{\"errorCode\":\"SUB-505\",\"message\":\"Subscriptions limit exceeded\"}"), RC_OUT_LIMIT);
	CU_ASSERT_EQUAL(api(403, "{\"errorCode\":\"CMN-408\"}"), RC_OUT_REJECTED);
	CU_ASSERT_EQUAL(api(400, "{\"errorCode\":\"SUB-508\"}"), RC_OUT_REJECTED);
	CU_ASSERT_EQUAL(rc_http_outcome(200, CURLE_OPERATION_TIMEDOUT, false, NULL, 0), RC_OUT_TRANSIENT);
	CU_ASSERT_EQUAL(rc_http_outcome(0, CURLE_COULDNT_RESOLVE_HOST, false, NULL, 0), RC_OUT_TRANSIENT);
	CU_ASSERT_EQUAL(rc_http_outcome(0, CURLE_PEER_FAILED_VERIFICATION, false, NULL, 0), RC_OUT_TRANSIENT);
	/* At the token endpoint 400 and 401 mean the grant or the client was refused. */
	CU_ASSERT_EQUAL(rc_http_outcome(400, CURLE_OK, true, "{\"error\":\"invalid_grant\"}", 25), RC_OUT_BAD_GRANT);
	CU_ASSERT_EQUAL(rc_http_outcome(401, CURLE_OK, true, "{\"error\":\"invalid_client\"}", 26), RC_OUT_BAD_GRANT);
	CU_ASSERT_EQUAL(rc_http_outcome(429, CURLE_OK, true, NULL, 0), RC_OUT_RATE_LIMITED);
}

/* The same rules as a table, including the edges of each range. */
static void test_classification_table(void)
{
	static const struct {
		long status;
		CURLcode result;
		bool token;
		const char *body;
		enum rc_lc_outcome want;
	} rows[] = {
		{ 200, CURLE_OK, true, "{\"access_token\":\"x\"}", RC_OUT_OK },
		{ 299, CURLE_OK, false, NULL, RC_OUT_OK },
		{ 301, CURLE_OK, false, NULL, RC_OUT_REJECTED },    /* redirects are not followed */
		{ 400, CURLE_OK, false, "{\"errorCode\":\"CMN-101\"}", RC_OUT_REJECTED },
		{ 403, CURLE_OK, false, NULL, RC_OUT_REJECTED },
		{ 403, CURLE_OK, false, "not json", RC_OUT_REJECTED },
		{ 403, CURLE_OK, false, "{\"errors\":[{\"errorCode\":\"SUB-505\",\"message\":\"limit\"}]}",
			RC_OUT_LIMIT },                                /* the other error shape */
		{ 403, CURLE_OK, true, "{\"errorCode\":\"SUB-505\"}", RC_OUT_LIMIT },
		{ 404, CURLE_OK, true, NULL, RC_OUT_NOT_FOUND },
		{ 408, CURLE_OK, true, NULL, RC_OUT_TRANSIENT },
		{ 409, CURLE_OK, false, NULL, RC_OUT_REJECTED },
		{ 429, CURLE_OK, false, "{\"errorCode\":\"CMN-301\"}", RC_OUT_RATE_LIMITED },
		{ 499, CURLE_OK, false, NULL, RC_OUT_REJECTED },
		{ 500, CURLE_OK, true, NULL, RC_OUT_TRANSIENT },
		{ 599, CURLE_OK, false, NULL, RC_OUT_TRANSIENT },
		{ 0, CURLE_OK, false, NULL, RC_OUT_TRANSIENT },          /* no answer at all */
		{ 404, CURLE_WRITE_ERROR, false, NULL, RC_OUT_TRANSIENT }, /* transfer failed */
		{ 0, CURLE_COULDNT_CONNECT, true, NULL, RC_OUT_TRANSIENT },
		{ 0, CURLE_SSL_CONNECT_ERROR, false, NULL, RC_OUT_TRANSIENT },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const char *b = rows[i].body;
		enum rc_lc_outcome got = rc_http_outcome(rows[i].status, rows[i].result, rows[i].token,
				b, b != NULL ? strlen(b) : 0);
		if (got != rows[i].want)
			printf("\n    row %zu: HTTP %ld curl %d gave %d, want %d", i, rows[i].status,
					(int)rows[i].result, (int)got, (int)rows[i].want);
		CU_ASSERT_EQUAL(got, rows[i].want);
	}
	/* Only len bytes of the body count: a SUB-505 past them is not read. */
	static const char tail[] = "{\"errorCode\":\"SUB-505\"}";
	CU_ASSERT_EQUAL(rc_http_outcome(403, CURLE_OK, false, tail, 5), RC_OUT_REJECTED);
}

static void test_prepare_and_reset_without_transfer(void)
{
	struct rc_http h;
	struct rc_http_target t = { .method = "PUT", .url = "https://127.0.0.1:1/x",
		.content_type = "application/json", .body = "{\"eventFilters\":[]}",
		.timeout_s = 5, .max_answer = 1024 };

	CU_ASSERT_EQUAL_FATAL(rc_http_prepare(&h, &t), 0);
	CU_ASSERT_PTR_NOT_NULL(h.easy);
	CU_ASSERT_STRING_EQUAL(h.request_body, "{\"eventFilters\":[]}");
	CU_ASSERT_EQUAL(h.retry_after_ms, -1);
	rc_http_bearer(&h, "token");
	rc_http_reset(&h);
	CU_ASSERT_PTR_NULL(h.easy);
	CU_ASSERT_PTR_NULL(h.request_body);

	t.method = "GET";
	t.content_type = NULL;
	CU_ASSERT_EQUAL_FATAL(rc_http_prepare(&h, &t), 0);
	CU_ASSERT_PTR_NULL(h.request_body);
	rc_http_basic_auth(&h, "id", "secret");
	rc_http_reset(&h);

	/* A body-less POST and a DELETE with its own CA file: set up, then freed unused. */
	const char *methods[] = { "POST", "DELETE" };
	t.cafile = "/etc/ssl/certs/ca-certificates.crt";
	for (size_t i = 0; i < 2; i++) {
		t.method = methods[i];
		CU_ASSERT_EQUAL_FATAL(rc_http_prepare(&h, &t), 0);
		CU_ASSERT_EQUAL(h.body_max, 1024);
		CU_ASSERT_EQUAL(h.status, 0);
		CU_ASSERT_FALSE(h.too_large);
		rc_http_bearer(&h, "token");
		rc_http_reset(&h);
		CU_ASSERT_EQUAL(h.retry_after_ms, -1);
	}
}

/* A self-signed CA certificate named cn (EC P-256), optionally written to path. */
static X509 *make_ca(const char *cn, const char *path)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	X509V3_CTX v3;

	if (key == NULL || x == NULL || name == NULL)
		goto fail;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, name);
	X509_set_issuer_name(x, name);
	X509_set_pubkey(x, key);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints, "critical,CA:TRUE");
	if (ext == NULL || !X509_add_ext(x, ext, -1)) {
		X509_EXTENSION_free(ext);
		goto fail;
	}
	X509_EXTENSION_free(ext);
	if (!X509_sign(x, key, EVP_sha256()))
		goto fail;
	if (path != NULL) {
		FILE *f = fopen(path, "w");
		if (f == NULL || !PEM_write_X509(f, x)) {
			if (f != NULL)
				fclose(f);
			goto fail;
		}
		fclose(f);
	}
	X509_NAME_free(name);
	EVP_PKEY_free(key);
	return x;
fail:
	X509_NAME_free(name);
	X509_free(x);
	EVP_PKEY_free(key);
	return NULL;
}

static bool trusted(X509_STORE *st, X509 *cert)
{
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	bool ok = ctx != NULL && X509_STORE_CTX_init(ctx, st, cert, NULL) == 1 &&
			X509_verify_cert(ctx) == 1;
	X509_STORE_CTX_free(ctx);
	return ok;
}

static void set_env(const char *name, const char *value)
{
	if (value != NULL)
		setenv(name, value, 1);
	else
		unsetenv(name);
}

/* The system store is OpenSSL's default locations (here pointed at a temporary "system"
 * CA through $SSL_CERT_FILE and an empty $SSL_CERT_DIR); cafile adds to it. */
static void test_trust_store_adds_cafile_to_system_store(void)
{
	char dir[] = "/tmp/rc-test-http-XXXXXX", sys_pem[64], extra_pem[64], empty_dir[64];
	char bad_pem[64], err[256];
	char *old_file = getenv("SSL_CERT_FILE"), *old_dir = getenv("SSL_CERT_DIR");

	old_file = old_file != NULL ? strdup(old_file) : NULL;
	old_dir = old_dir != NULL ? strdup(old_dir) : NULL;
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	snprintf(sys_pem, sizeof(sys_pem), "%s/system.pem", dir);
	snprintf(extra_pem, sizeof(extra_pem), "%s/extra.pem", dir);
	snprintf(bad_pem, sizeof(bad_pem), "%s/bad.pem", dir);
	snprintf(empty_dir, sizeof(empty_dir), "%s/certs", dir);
	CU_ASSERT_EQUAL_FATAL(mkdir(empty_dir, 0700), 0);
	X509 *sys_ca = make_ca("rc test system CA", sys_pem);
	X509 *extra_ca = make_ca("rc test extra CA", extra_pem);
	X509 *other_ca = make_ca("rc test unrelated CA", NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sys_ca);
	CU_ASSERT_PTR_NOT_NULL_FATAL(extra_ca);
	CU_ASSERT_PTR_NOT_NULL_FATAL(other_ca);
	FILE *f = fopen(bad_pem, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("not a certificate\n", f);
	fclose(f);

	set_env("SSL_CERT_FILE", sys_pem);
	set_env("SSL_CERT_DIR", empty_dir);

	/* No cafile: the system store alone. */
	X509_STORE *st = rc_http_trust_store(NULL, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	CU_ASSERT_TRUE(trusted(st, sys_ca));
	CU_ASSERT_FALSE(trusted(st, extra_ca));
	CU_ASSERT_FALSE(trusted(st, other_ca));
	X509_STORE_free(st);

	/* With cafile: the system store and the file, nothing else. */
	st = rc_http_trust_store(extra_pem, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	CU_ASSERT_TRUE(trusted(st, sys_ca));
	CU_ASSERT_TRUE(trusted(st, extra_ca));
	CU_ASSERT_FALSE(trusted(st, other_ca));
	X509_STORE_free(st);

	/* An empty system store: cafile alone. */
	set_env("SSL_CERT_FILE", bad_pem);
	st = rc_http_trust_store(extra_pem, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	CU_ASSERT_FALSE(trusted(st, sys_ca));
	CU_ASSERT_TRUE(trusted(st, extra_ca));
	X509_STORE_free(st);

	/* A cafile without certificates, or missing: an error, never a quietly smaller set. */
	err[0] = '\0';
	CU_ASSERT_PTR_NULL(rc_http_trust_store(bad_pem, err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "cannot load CA file"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, bad_pem));
	err[0] = '\0';
	CU_ASSERT_PTR_NULL(rc_http_trust_store("/nonexistent/ca.pem", err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "cannot load CA file"));

	set_env("SSL_CERT_FILE", old_file);
	set_env("SSL_CERT_DIR", old_dir);
	free(old_file);
	free(old_dir);
	X509_free(sys_ca);
	X509_free(extra_ca);
	X509_free(other_ca);
	unlink(sys_pem);
	unlink(extra_pem);
	unlink(bad_pem);
	rmdir(empty_dir);
	rmdir(dir);
}

static void test_describe(void)
{
	struct rc_http h = { .status = 404, .body = "{\"errorCode\":\"CMN-102\",\"message\":\"gone\"}" };
	char buf[128];

	h.body_len = strlen(h.body);
	rc_http_describe(&h, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "HTTP 404 CMN-102: gone");
	h.too_large = true;
	h.body_max = 10;
	rc_http_describe(&h, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "answer larger than 10 bytes");
}

int main(void)
{
	static const struct rc_test_case cases[] = {
		{ "classification", test_classification },
		{ "classification table", test_classification_table },
		{ "prepare and reset", test_prepare_and_reset_without_transfer },
		{ "trust store: system store plus cafile", test_trust_store_adds_cafile_to_system_store },
		{ "describe", test_describe },
		{ NULL, NULL },
	};
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 2;
	int rc = rc_test_run("http", NULL, NULL, cases);
	curl_global_cleanup();
	return rc;
}
