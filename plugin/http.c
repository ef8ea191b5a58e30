/* http.c - preparing libcurl easy handles and classifying their ends (see rc_http.h). */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include "rc_http.h"
#include "rc_rest.h"
#include "rc_version.h"

char *rc_url_escape(const char *s)
{
#if LIBCURL_VERSION_NUM >= 0x075200
	return curl_easy_escape(NULL, s, 0); /* the handle is unused since 7.82.0 */
#else
	CURL *h = curl_easy_init();
	char *out = h != NULL ? curl_easy_escape(h, s, 0) : NULL;
	curl_easy_cleanup(h);
	return out;
#endif
}

static size_t http__on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct rc_http *h = userdata;
	size_t n = size * nmemb;

	if (h->body_len + n > h->body_max) {
		h->too_large = true;
		return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
	}
	if (h->body_len + n + 1 > h->body_cap) {
		size_t cap = h->body_cap ? h->body_cap : 4096;
		while (cap < h->body_len + n + 1)
			cap *= 2;
		char *p = realloc(h->body, cap);
		if (p == NULL)
			return 0;
		h->body = p;
		h->body_cap = cap;
	}
	memcpy(h->body + h->body_len, data, n);
	h->body_len += n;
	h->body[h->body_len] = '\0';
	return n;
}

X509_STORE *rc_http_trust_store(const char *cafile, char *err, size_t errlen)
{
	X509_STORE *st = X509_STORE_new();

	if (st == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	/* The system store, as OpenSSL finds it: $SSL_CERT_FILE and $SSL_CERT_DIR when set,
	 * else OPENSSLDIR's cert.pem and certs/ (Debian: /etc/ssl/certs/ca-certificates.crt
	 * and the hashed /etc/ssl/certs). A missing default is not an error here: it only
	 * trusts nothing. */
	if (X509_STORE_set_default_paths(st) != 1) {
		snprintf(err, errlen, "cannot set up the system CA store");
		X509_STORE_free(st);
		ERR_clear_error();
		return NULL;
	}
	if (cafile != NULL) {
		ERR_clear_error();
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
		int ok = X509_STORE_load_file(st, cafile);
#else
		int ok = X509_STORE_load_locations(st, cafile, NULL);
#endif
		if (ok != 1) {
			unsigned long e = ERR_peek_last_error();
			const char *why = e != 0 ? ERR_reason_error_string(e) : NULL;
			snprintf(err, errlen, "cannot load CA file %s: %s", cafile,
					why != NULL ? why : "no certificate found");
			X509_STORE_free(st);
			ERR_clear_error();
			return NULL;
		}
	}
	/* What libcurl sets on its own stores: chains are built from trusted certificates
	 * first, and a certificate in the store is an anchor even if it is not self-signed. */
	X509_STORE_set_flags(st, X509_V_FLAG_TRUSTED_FIRST | X509_V_FLAG_PARTIAL_CHAIN);
	return st;
}

int rc_http_tls_trust(void *ssl_ctx, const char *cafile, char *err, size_t errlen)
{
	X509_STORE *st = rc_http_trust_store(cafile, err, errlen);

	if (st == NULL)
		return -1;
	/* Replaces whatever store the library prepared; the SSL_CTX owns st from here. */
	SSL_CTX_set_cert_store(ssl_ctx, st);
	return 0;
}

/* CURLOPT_SSL_CTX_FUNCTION: called for every new TLS connection, before the handshake. */
static CURLcode http__ssl_ctx(CURL *easy, void *ssl_ctx, void *arg)
{
	struct rc_http *h = arg;

	(void)easy;
	if (rc_http_tls_trust(ssl_ctx, h->cafile, h->tls_error, sizeof(h->tls_error)) != 0)
		return CURLE_SSL_CACERT_BADFILE;
	return CURLE_OK;
}

/* CURLOPT_QUICK_EXIT (below) leaves a name lookup that is still running in libcurl's
 * resolver thread, detached; that thread runs libcurl's code until getaddrinfo returns,
 * which may be after the broker has unloaded the plugin. Pin libcurl in memory (it is
 * loaded for the plugin only; mosquitto does not link it) so such a late return finds
 * its code still mapped. The thread touches only its own heap memory, never the
 * plugin's. */
static void http__pin_libcurl(void)
{
	Dl_info info;

	if (dladdr((void *)curl_easy_init, &info) != 0 && info.dli_fname != NULL)
		(void)dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
}

int rc_http_prepare(struct rc_http *h, const struct rc_http_target *t)
{
	static pthread_once_t pinned = PTHREAD_ONCE_INIT;

	pthread_once(&pinned, http__pin_libcurl);
	*h = (struct rc_http){0};
	h->retry_after_ms = -1;
	h->body_max = t->max_answer;
	h->on_done = t->on_done;
	h->done_arg = t->done_arg;
	h->easy = curl_easy_init();
	if (h->easy == NULL)
		return -1;

	CURL *e = h->easy;
	curl_easy_setopt(e, CURLOPT_URL, t->url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, h);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	/* Removing or cleaning up a handle whose name lookup is still running would otherwise
	 * join the threaded resolver's thread, i.e. wait for getaddrinfo (for as long as an
	 * unanswering DNS server makes it: minutes); with this, libcurl detaches the thread
	 * instead. That keeps both the worker loop (a lookup that times out) and the stop
	 * (worker__abandon_rest) bounded. Needs libcurl >= 7.87. */
	curl_easy_setopt(e, CURLOPT_QUICK_EXIT, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	/* Trust: the system store plus cafile, the same set the WebSocket client uses (see
	 * rc_http_trust_store). libcurl's own CA settings are emptied (its compiled-in bundle
	 * and directory would ignore $SSL_CERT_FILE/$SSL_CERT_DIR, and CURLOPT_CAINFO would
	 * replace the bundle) and the store is made in http__ssl_ctx instead. libcurl's store
	 * cache is off: from 7.87 it would swap its cached store in after our callback. If the
	 * callback cannot be installed (not an OpenSSL libcurl), nothing is trusted. */
	if (t->cafile != NULL && (h->cafile = strdup(t->cafile)) == NULL)
		return -1;
	curl_easy_setopt(e, CURLOPT_CAINFO, NULL);
	curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
#if LIBCURL_VERSION_NUM >= 0x075700
	curl_easy_setopt(e, CURLOPT_CA_CACHE_TIMEOUT, 0L);
#endif
	if (curl_easy_setopt(e, CURLOPT_SSL_CTX_FUNCTION, http__ssl_ctx) != CURLE_OK ||
			curl_easy_setopt(e, CURLOPT_SSL_CTX_DATA, h) != CURLE_OK)
		return -1;
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 15L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, t->timeout_s);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, http__on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, h);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, h->errbuf);
	curl_easy_setopt(e, CURLOPT_USERAGENT, RC_USER_AGENT);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);

	h->headers = curl_slist_append(NULL, "Accept: application/json");
	if (t->content_type != NULL) {
		char ct[128];
		snprintf(ct, sizeof(ct), "Content-Type: %s", t->content_type);
		struct curl_slist *l = curl_slist_append(h->headers, ct);
		if (l != NULL)
			h->headers = l;
		h->request_body = strdup(t->body != NULL ? t->body : "");
		if (h->request_body == NULL)
			return -1;
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, h->request_body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(h->request_body));
	}
	if (h->headers == NULL)
		return -1;
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h->headers);
	if (strcmp(t->method, "GET") == 0)
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	else if (strcmp(t->method, "POST") == 0 && t->content_type == NULL)
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, ""), curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, 0L);
	if (strcmp(t->method, "GET") != 0 && strcmp(t->method, "POST") != 0)
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, t->method);
	return 0;
}

void rc_http_basic_auth(struct rc_http *h, const char *user, const char *password)
{
	curl_easy_setopt(h->easy, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
	curl_easy_setopt(h->easy, CURLOPT_USERNAME, user);
	curl_easy_setopt(h->easy, CURLOPT_PASSWORD, password);
}

void rc_http_bearer(struct rc_http *h, const char *token)
{
	curl_easy_setopt(h->easy, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
	curl_easy_setopt(h->easy, CURLOPT_XOAUTH2_BEARER, token);
}

void rc_http_reset(struct rc_http *h)
{
	if (h->easy != NULL)
		curl_easy_cleanup(h->easy);
	curl_slist_free_all(h->headers);
	free(h->cafile);
	if (h->request_body != NULL) {
		/* Token requests carry credentials in the body. */
		OPENSSL_cleanse(h->request_body, strlen(h->request_body));
		free(h->request_body);
	}
	if (h->body != NULL) {
		OPENSSL_cleanse(h->body, h->body_len);
		free(h->body);
	}
	*h = (struct rc_http){0};
	h->retry_after_ms = -1;
}

void rc_http_finish(struct rc_http *h, CURLcode result)
{
	curl_off_t retry_after = 0, pretransfer_us = 0;

	h->result = result;
	curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &h->status);
	/* libcurl reads both forms of Retry-After (seconds and HTTP date); 0: absent. */
	if (curl_easy_getinfo(h->easy, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK &&
			retry_after > 0)
		h->retry_after_ms = retry_after < 86400 ? (int64_t)retry_after * 1000 : 86400000;
	/* The request was on its way: connection (and TLS) were up. */
	h->connected = curl_easy_getinfo(h->easy, CURLINFO_PRETRANSFER_TIME_T, &pretransfer_us) ==
			CURLE_OK && pretransfer_us > 0;
}

enum rc_lc_outcome rc_http_outcome(long status, CURLcode result, bool token_endpoint,
		const char *body, size_t len)
{
	struct rc_api_error err;

	if (result != CURLE_OK || status == 0)
		return RC_OUT_TRANSIENT;
	if (status >= 200 && status < 300)
		return RC_OUT_OK;
	if (status == 429)
		return RC_OUT_RATE_LIMITED;
	if (status >= 500 || status == 408)
		return RC_OUT_TRANSIENT;
	if (token_endpoint && (status == 400 || status == 401))
		return RC_OUT_BAD_GRANT;
	if (status == 401)
		return RC_OUT_UNAUTHORIZED;
	if (status == 404)
		return RC_OUT_NOT_FOUND;
	rc_api_error_parse(body, len, &err);
	if (status == 403 && strcmp(err.code, "SUB-505") == 0)
		return RC_OUT_LIMIT;
	return RC_OUT_REJECTED;
}

void rc_http_describe_status(long status, const char *body, size_t body_len, char *buf, size_t len)
{
	if (status >= 300) {
		struct rc_api_error err;
		rc_api_error_parse(body, body_len, &err);
		snprintf(buf, len, "HTTP %ld%s%s%s%s", status, err.code[0] ? " " : "", err.code,
				err.message[0] ? ": " : "", err.message);
	} else {
		snprintf(buf, len, "HTTP %ld", status);
	}
}

void rc_http_describe(const struct rc_http *h, char *buf, size_t len)
{
	if (h->too_large)
		snprintf(buf, len, "answer larger than %zu bytes", h->body_max);
	else if (h->result != CURLE_OK && h->tls_error[0] != '\0')
		snprintf(buf, len, "%s", h->tls_error);
	else if (h->result != CURLE_OK)
		snprintf(buf, len, "%s", h->errbuf[0] ? h->errbuf : curl_easy_strerror(h->result));
	else
		rc_http_describe_status(h->status, h->body, h->body_len, buf, len);
}
