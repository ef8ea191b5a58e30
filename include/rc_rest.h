/* rc_rest.h - RingCentral REST bodies: OAuth tokens, subscriptions, API errors.
 *
 * Request bodies are built and answers parsed here; the requests themselves are made by
 * the worker (REST) or carried by a transport (WebSocket).
 * Pure: strings in, structs out. */
#ifndef RC_REST_H
#define RC_REST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Every lifetime the server states (token expires_in and refresh_token_expires_in,
 * wstoken expires_in, subscription expiresIn) is clamped at parse time to this range, in
 * seconds: at least 1 s, at most 10 years (366-day years). Downstream code turns lifetimes
 * into milliseconds and adds them to clocks; within these bounds that never overflows,
 * and a token answered with a huge lifetime is not taken for one already expired. */
#define RC_LIFETIME_MIN_S 1L
#define RC_LIFETIME_MAX_S (10L * 366 * 24 * 3600)

/* ---- OAuth ---- */

struct rc_token {
	char *access_token;       /* secret */
	char *refresh_token;      /* secret; may be NULL */
	long expires_in;          /* seconds, within RC_LIFETIME_MIN_S..RC_LIFETIME_MAX_S */
	long refresh_token_expires_in; /* seconds, likewise; 0 if absent */
	char *owner_id;           /* the logged-in extension's id (what `~` stands for); may be NULL */
};

/* Parses a /restapi/oauth/token answer. Returns 0, or -1 (no access_token, or expires_in
 * missing, not a number, zero or negative). */
int rc_token_parse(const char *json, size_t len, struct rc_token *t);
void rc_token_clear(struct rc_token *t);   /* wipes and frees */

/* A /restapi/oauth/wstoken answer: the token to open a WebSocket with, and where. */
struct rc_wstoken {
	char *ws_access_token;    /* secret */
	char *uri;                /* wss://... */
	long expires_in;          /* seconds, clamped as above; 0 if absent */
};

/* Returns 0, or -1 (no ws_access_token, or a uri that is not wss://, or ws:// to a host
 * that is not loopback: rc_config_ws_url_problem()). On -1 writes why (a one-line reason
 * fit for the log, server text escaped by rc_logsafe(), never the token) into why (why_len
 * bytes; NULL/0: not written), e.g. "wstoken answer refused: gateway uri
 * 'ws://gw.example/' ws:// is only allowed to a loopback address; wss:// is required",
 * or "unreadable wstoken answer". */
int rc_wstoken_parse(const char *json, size_t len, struct rc_wstoken *t, char *why,
		size_t why_len);
void rc_wstoken_clear(struct rc_wstoken *t); /* wipes and frees */

/* x-www-form-urlencoded grant bodies (heap, caller frees; values percent-encoded). */
char *rc_token_body_jwt(const char *jwt);
char *rc_token_body_password(const char *username, const char *extension, const char *password);
char *rc_token_body_refresh(const char *refresh_token);

/* ---- Subscriptions ---- */

struct rc_disabled_filter {
	char *filter;
	char *reason;   /* may be NULL */
};

struct rc_subscription {
	char *id;
	char *status;              /* "Active", "Blacklisted", ... */
	char *expiration_time;     /* as sent, ISO 8601 */
	int64_t expiration_ms;     /* epoch milliseconds of expiration_time */
	int64_t creation_ms;       /* epoch milliseconds of creationTime, 0 if absent */
	long expires_in;           /* seconds granted, clamped as above; 0 if absent */
	char **event_filters;      /* NULL-terminated */
	size_t n_event_filters;
	struct rc_disabled_filter *disabled;
	size_t n_disabled;
	char *transport_type;      /* "PubNub" / "WebSocket" */
	bool encryption;
	char *address;             /* PubNub channel */
	char *subscriber_key;
	char *encryption_key;      /* base64; secret-ish: never log */
};

/* Parses a subscription object (POST/PUT/renew/GET answer). Returns 0, or -1 if id,
 * expirationTime or eventFilters are missing or malformed. */
int rc_subscription_parse(const char *json, size_t len, struct rc_subscription *s);
void rc_subscription_clear(struct rc_subscription *s);

/* The subscription's lifetime in seconds, for scheduling its renewal: expires_in if stated,
 * else the time from now_ms (wall clock, epoch ms) to its expirationTime; either way within
 * RC_LIFETIME_MIN_S..RC_LIFETIME_MAX_S, so an expirationTime far in the future or the past
 * is harmless. */
long rc_subscription_lifetime(const struct rc_subscription *s, int64_t now_ms);

/* Body of POST /restapi/v1.0/subscription with deliveryMode.transportType (NULL or ""
 * means "PubNub"; encryption is requested for every type but "WebSocket", expiresIn only
 * if > 0), and of PUT /restapi/v1.0/subscription/{id}. Heap JSON, caller frees. */
char *rc_subscription_create_body(char *const *filters, size_t n, long expires_in,
		const char *transport_type);
char *rc_subscription_modify_body(char *const *filters, size_t n, long expires_in);

/* GET /restapi/v1.0/subscription answer: {"records":[subscription, ...]}. On success
 * returns 0 and a heap array of *n parsed subscriptions (free each with
 * rc_subscription_clear, then the array). */
int rc_subscription_list_parse(const char *json, size_t len, struct rc_subscription **out, size_t *n);

/* ---- Errors ---- */

struct rc_api_error {
	char code[64];      /* errorCode, or OAuth "error", or ""; escaped by rc_logsafe() */
	char message[256];  /* message / error_description, escaped and bounded by rc_logsafe() */
};

/* Fills e from an error body of either shape; never fails (empty fields if unknown). json
 * may be NULL (no body), whatever len says. */
void rc_api_error_parse(const char *json, size_t len, struct rc_api_error *e);

/* ISO 8601 UTC time ("2013-09-13T13:58:57.187Z", fraction optional, Z or +00:00) to epoch
 * milliseconds. Returns 0 or -1. */
int rc_iso8601_to_ms(const char *s, int64_t *ms);

/* epoch ms to "2013-09-13T13:58:57.187Z" into buf (>= 25 bytes). */
void rc_ms_to_iso8601(int64_t ms, char *buf, size_t len);

#endif
