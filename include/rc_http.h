/* rc_http.h - one HTTP exchange on the worker's curl multi handle.
 *
 * Sets up a libcurl easy handle the way every request of the bridge needs it: TLS peer and
 * host verification always on (trusting the system store plus the configured CA file, see
 * rc_http_trust_store), no redirects, no signals, a total timeout, a cap on the answer
 * size; Retry-After is read back for 429s. A name lookup still running when its handle is
 * removed or cleaned up is left to libcurl's resolver thread, never waited for
 * (CURLOPT_QUICK_EXIT), so neither a lookup that timed out nor a stop waits on an
 * unanswering DNS server.
 * Also classifies a finished exchange into a lifecycle outcome (rc_http_outcome). */
#ifndef RC_HTTP_H
#define RC_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <curl/curl.h>
#include <openssl/x509.h>
#include "rc_lifecycle.h"

struct rc_http {
	CURL *easy;
	struct curl_slist *headers;
	char *request_body;
	char *body;            /* the answer, NUL-terminated */
	size_t body_len, body_cap, body_max;
	bool too_large;
	long status;           /* HTTP status, 0 if none */
	int64_t retry_after_ms;/* -1 if absent */
	CURLcode result;
	bool connected;        /* the request was sent: connection and TLS handshake done */
	char errbuf[CURL_ERROR_SIZE];
	char *cafile;          /* copy of the target's, for the TLS set-up callback */
	char tls_error[CURL_ERROR_SIZE]; /* why that callback failed, "" if it did not */
	/* Called by whoever runs the multi handle when the transfer has ended. */
	void (*on_done)(void *arg, struct rc_http *h);
	void *done_arg;
};

struct rc_http_target {
	const char *method;        /* GET POST PUT DELETE */
	const char *url;
	const char *content_type;  /* NULL: no body */
	const char *body;          /* copied */
	const char *cafile;        /* trusted besides the system store; NULL: none */
	long timeout_s;
	size_t max_answer;
	void (*on_done)(void *arg, struct rc_http *h);  /* see struct rc_http */
	void *done_arg;
};

/* The CA store every TLS connection of the bridge verifies its peer with, REST and PubNub
 * (libcurl) and the WebSocket gateway (libwebsockets) alike: the system store as OpenSSL's
 * default locations give it ($SSL_CERT_FILE / $SSL_CERT_DIR when set, else OPENSSLDIR's
 * cert.pem and certs/), plus every certificate in cafile when it is not NULL. NULL with a
 * message in err if cafile holds no certificate or cannot be read. */
X509_STORE *rc_http_trust_store(const char *cafile, char *err, size_t errlen);
/* Makes that store the one of an OpenSSL SSL_CTX (passed as void * so that callers need not
 * include OpenSSL's headers): 0, or -1 with a message in err and the SSL_CTX unchanged. */
int rc_http_tls_trust(void *ssl_ctx, const char *cafile, char *err, size_t errlen);

/* Prepares h (zeroed by the caller or by a previous rc_http_reset). Returns 0 or -1. */
int rc_http_prepare(struct rc_http *h, const struct rc_http_target *t);
/* Credentials, set after rc_http_prepare. Neither is ever logged (curl verbose stays off). */
void rc_http_basic_auth(struct rc_http *h, const char *user, const char *password);
void rc_http_bearer(struct rc_http *h, const char *token);
/* Records how the transfer ended (curl's result, status, Retry-After, whether it got as
 * far as sending), before on_done is called. */
void rc_http_finish(struct rc_http *h, CURLcode result);
/* Frees everything (the easy handle must not be attached to a multi handle). */
void rc_http_reset(struct rc_http *h);

/* token_endpoint: the exchange was with /restapi/oauth/token, where 400/401 mean the grant
 * or the client credentials were refused. */
enum rc_lc_outcome rc_http_outcome(long status, CURLcode result, bool token_endpoint,
		const char *body, size_t len);

/* Percent-encodes s (everything but RFC 3986 unreserved characters) for a URL path,
 * query or form value. Heap string the caller releases with curl_free(); NULL on no
 * memory. */
char *rc_url_escape(const char *s);

/* A short description of how the exchange ended, for logs and last_error (no secrets). */
void rc_http_describe(const struct rc_http *h, char *buf, size_t len);
/* The same for an HTTP-like status and its error body (answers over the WebSocket too). */
void rc_http_describe_status(long status, const char *body, size_t body_len, char *buf, size_t len);

#endif
