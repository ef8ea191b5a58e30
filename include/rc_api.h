/* rc_api.h - RingCentral REST calls the subscription lifecycle does not make.
 *
 * The door for everything else the bridge asks the API: the control API's
 * listServerSubscriptions (GET /restapi/v1.0/subscription), and next Home Assistant's
 * extension info, presence (GET/PUT) and SMS (POST). A caller submits a call (method,
 * path, optional JSON body) with a completion callback; the calls run on the worker's
 * curl multi handle, beside the lifecycle's own requests, with the user's current access
 * token as a Bearer token:
 *
 * - While the bridge is not logged in (no usable access token) calls wait in the queue;
 *   each waits at most queue_timeout_ms from its submission, then it is answered with an
 *   error. The same while the API is rate limited.
 * - At most max_running calls are in flight at once and at most max_queued wait; a
 *   submission beyond that is refused at once (the caller answers its own client).
 * - Rate limits are shared with the lifecycle: the caller passes the lifecycle's API
 *   window (not_before) to every rc_api_step, and a 429 answer to a call is reported
 *   through hooks.rate_limited with the end of its Retry-After (30 s if absent), so that
 *   neither the lifecycle's calls nor the next ones here go out before it. RingCentral
 *   counts limits per API group; the bridge keeps one window for all its API calls
 *   (the lifecycle's token calls have their own).
 * - A 401 means the token died: hooks.unauthorized is told (the lifecycle logs in again)
 *   and the call waits for the next token, once; a second 401 is the caller's answer.
 *
 * Worker thread only. Nothing of a call (token, body, answer) is ever logged here.
 * The callback gets either an HTTP answer (error NULL: status and body, whatever the
 * status, including 4xx and 5xx) or none (error: why not, e.g. "not logged in within
 * 60 s", "request failed: Connection refused", "stopping"). body is valid during the
 * callback only. */
#ifndef RC_API_H
#define RC_API_H

#include <stddef.h>
#include <stdint.h>
#include <curl/curl.h>
#include "rc_config.h"

typedef void (*rc_api_done_fn)(void *arg, long status, const char *body, size_t len,
		const char *error);

struct rc_api_hooks {
	void (*rate_limited)(void *arg, int64_t until_ms);  /* a 429: nothing to the API before */
	void (*unauthorized)(void *arg);                    /* a 401: the access token is dead */
	void *arg;
};

struct rc_api_settings {
	const struct rc_config *cfg;   /* server, cafile, request_timeout; borrowed */
	CURLM *multi;                  /* the worker's; borrowed */
	size_t max_queued;             /* calls waiting (not yet sent) */
	unsigned max_running;          /* calls in flight */
	int64_t queue_timeout_ms;      /* how long a call may wait to be sent */
	size_t max_answer;             /* bytes of an answer */
	struct rc_api_hooks hooks;
};

struct rc_api;

/* NULL on no memory. */
struct rc_api *rc_api_new(const struct rc_api_settings *s);

/* Queues a call: method GET/POST/PUT/PATCH/DELETE, path from the server's root (starting
 * with '/', e.g. "/restapi/v1.0/subscription"), json_body NULL or a JSON text (copied).
 * now: the monotonic clock (ms). Returns 0 (on_done will be called exactly once, from a
 * later rc_api_step, a transfer's end or rc_api_free), or -1 (queue full, bad method or
 * path, no memory: on_done is never called). */
int rc_api_submit(struct rc_api *api, const char *method, const char *path,
		const char *json_body, int64_t now, rc_api_done_fn on_done, void *arg);

/* Once per worker loop turn: answers the calls that waited too long and starts waiting
 * ones when a token is at hand (access_token, NULL if not logged in) and now >=
 * not_before (the API's rate-limit window). Lowers *wake_at to when something here is due
 * next. Transfers end through their struct rc_http's on_done, which the worker calls for
 * every finished transfer of its multi handle. */
void rc_api_step(struct rc_api *api, int64_t now, const char *access_token, int64_t not_before,
		int64_t *wake_at);

/* Calls waiting plus calls in flight. */
size_t rc_api_pending(const struct rc_api *api);

/* Answers every call still waiting or in flight with the error why (transfers are
 * removed from the multi handle), then frees api. NULL is fine. */
void rc_api_free(struct rc_api *api, const char *why);

#endif
