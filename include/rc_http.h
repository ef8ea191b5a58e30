/* rc_http.h - one HTTP exchange on the worker's curl multi handle.
 *
 * Sets up a libcurl easy handle the way every request of the bridge needs it: TLS peer and
 * host verification always on (with the configured CA bundle), no redirects, no signals,
 * a total timeout, a cap on the answer size; Retry-After is read back for 429s. A name
 * lookup still running when its handle is removed or cleaned up is left to libcurl's
 * resolver thread, never waited for (CURLOPT_QUICK_EXIT), so neither a lookup that timed
 * out nor a stop waits on an unanswering DNS server.
 * Also classifies a finished exchange into a lifecycle outcome (rc_http_outcome). */
#ifndef RC_HTTP_H
#define RC_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <curl/curl.h>
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
	/* Called by whoever runs the multi handle when the transfer has ended. */
	void (*on_done)(void *arg, struct rc_http *h);
	void *done_arg;
};

struct rc_http_target {
	const char *method;        /* GET POST PUT DELETE */
	const char *url;
	const char *content_type;  /* NULL: no body */
	const char *body;          /* copied */
	const char *cafile;        /* NULL: system store */
	long timeout_s;
	size_t max_answer;
	void (*on_done)(void *arg, struct rc_http *h);  /* see struct rc_http */
	void *done_arg;
};

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

/* A short description of how the exchange ended, for logs and last_error (no secrets). */
void rc_http_describe(const struct rc_http *h, char *buf, size_t len);
/* The same for an HTTP-like status and its error body (answers over the WebSocket too). */
void rc_http_describe_status(long status, const char *body, size_t body_len, char *buf, size_t len);

#endif
