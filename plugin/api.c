/* api.c - REST calls beside the lifecycle's, on the worker's multi handle (see rc_api.h).
 *
 * Two lists: calls waiting (FIFO) and calls in flight. A waiting call leaves the queue
 * when it is started or when it has waited queue_timeout_ms; a call in flight ends
 * through its rc_http's on_done. Each call is answered exactly once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "rc_api.h"
#include "rc_clock.h"
#include "rc_http.h"

#define RC_API_DEFAULT_RETRY_AFTER_MS 30000

struct api_call {
	struct api_call *next;
	struct rc_api *api;
	char method[8];
	char *path;
	char *body;
	int64_t deadline;          /* waiting: answered with an error after this */
	bool retried;              /* already re-queued after a 401 */
	struct rc_http http;
	rc_api_done_fn on_done;
	void *arg;
};

struct rc_api {
	struct rc_api_settings s;
	struct api_call *waiting, *waiting_tail;
	size_t n_waiting;
	struct api_call *running;  /* unordered */
	unsigned n_running;
	bool freeing;              /* rc_api_free is answering: a callback may not submit */
};

struct rc_api *rc_api_new(const struct rc_api_settings *s)
{
	struct rc_api *api = calloc(1, sizeof(*api));

	if (api != NULL)
		api->s = *s;
	return api;
}

static void api__call_free(struct api_call *c)
{
	rc_http_reset(&c->http);
	free(c->path);
	free(c->body);
	free(c);
}

static void api__answer(struct api_call *c, long status, const char *body, size_t len,
		const char *error)
{
	c->on_done(c->arg, status, body, len, error);
	api__call_free(c);
}

static bool api__method_ok(const char *m)
{
	static const char *const ok[] = { "GET", "POST", "PUT", "PATCH", "DELETE" };

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (strcmp(m, ok[i]) == 0)
			return true;
	return false;
}

static bool api__path_ok(const char *p)
{
	if (p == NULL || p[0] != '/')
		return false;
	for (; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f || *p == '#')
			return false;
	return true;
}

static void api__enqueue(struct rc_api *api, struct api_call *c, bool front)
{
	if (front) {
		c->next = api->waiting;
		api->waiting = c;
		if (api->waiting_tail == NULL)
			api->waiting_tail = c;
	} else {
		c->next = NULL;
		if (api->waiting_tail != NULL)
			api->waiting_tail->next = c;
		else
			api->waiting = c;
		api->waiting_tail = c;
	}
	api->n_waiting++;
}

int rc_api_submit(struct rc_api *api, const char *method, const char *path,
		const char *json_body, int64_t now, rc_api_done_fn on_done, void *arg)
{
	if (api->freeing || api->n_waiting >= api->s.max_queued || method == NULL ||
			!api__method_ok(method) ||
			!api__path_ok(path) || on_done == NULL)
		return -1;
	struct api_call *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -1;
	c->api = api;
	snprintf(c->method, sizeof(c->method), "%s", method);
	c->path = strdup(path);
	c->body = json_body != NULL ? strdup(json_body) : NULL;
	c->deadline = now + api->s.queue_timeout_ms;
	c->on_done = on_done;
	c->arg = arg;
	c->http.retry_after_ms = -1;
	if (c->path == NULL || (json_body != NULL && c->body == NULL)) {
		api__call_free(c);
		return -1;
	}
	api__enqueue(api, c, false);
	return 0;
}

static void api__unlink_running(struct rc_api *api, struct api_call *c)
{
	for (struct api_call **p = &api->running; *p != NULL; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			api->n_running--;
			return;
		}
	}
}

/* The transfer ended (called by whoever runs the multi handle). */
static void api__http_done(void *arg, struct rc_http *h)
{
	struct api_call *c = arg;
	struct rc_api *api = c->api;

	curl_multi_remove_handle(api->s.multi, h->easy);
	api__unlink_running(api, c);
	if (h->result != CURLE_OK || h->status == 0) {
		char what[300], error[340];
		rc_http_describe(h, what, sizeof(what));
		snprintf(error, sizeof(error), "request failed: %s", what);
		api__answer(c, 0, NULL, 0, error);
		return;
	}
	if (h->status == 401 && !c->retried) {
		/* The token died under us: the lifecycle gets a new one, the call waits for it
		 * (within its own deadline, counted from now). */
		if (api->s.hooks.unauthorized != NULL)
			api->s.hooks.unauthorized(api->s.hooks.arg);
		c->retried = true;
		rc_http_reset(&c->http);
		c->deadline = rc_clock_now_ms() + api->s.queue_timeout_ms;
		api__enqueue(api, c, true);
		return;
	}
	if (h->status == 429 && api->s.hooks.rate_limited != NULL)
		api->s.hooks.rate_limited(api->s.hooks.arg, rc_clock_now_ms() +
				(h->retry_after_ms > 0 ? h->retry_after_ms : RC_API_DEFAULT_RETRY_AFTER_MS));
	api__answer(c, h->status, h->body != NULL ? h->body : "", h->body_len, NULL);
}

static int api__start(struct rc_api *api, struct api_call *c, const char *token)
{
	char *url = NULL;

	if (asprintf(&url, "%s%s", api->s.cfg->server, c->path) < 0)
		return -1;
	struct rc_http_target t = {
		.method = c->method,
		.url = url,
		.content_type = c->body != NULL ? "application/json" : NULL,
		.body = c->body,
		.cafile = api->s.cfg->cafile,
		.timeout_s = api->s.cfg->request_timeout,
		.max_answer = api->s.max_answer,
		.on_done = api__http_done,
		.done_arg = c,
	};
	int rc = rc_http_prepare(&c->http, &t);
	free(url);
	if (rc != 0) {
		rc_http_reset(&c->http);
		return -1;
	}
	rc_http_bearer(&c->http, token);
	if (curl_multi_add_handle(api->s.multi, c->http.easy) != CURLM_OK) {
		rc_http_reset(&c->http);
		return -1;
	}
	c->next = api->running;
	api->running = c;
	api->n_running++;
	return 0;
}

void rc_api_step(struct rc_api *api, int64_t now, const char *access_token, int64_t not_before,
		int64_t *wake_at)
{
	bool blocked = now < not_before;

	/* Calls that waited too long, wherever they are in the queue. */
	for (struct api_call **p = &api->waiting, *prev = NULL; *p != NULL;) {
		struct api_call *c = *p;
		if (now < c->deadline) {
			prev = c;
			p = &c->next;
			continue;
		}
		*p = c->next;
		if (api->waiting_tail == c)
			api->waiting_tail = prev;
		api->n_waiting--;
		char error[160];
		snprintf(error, sizeof(error), "not sent within %lld s: %s",
				(long long)(api->s.queue_timeout_ms / 1000),
				access_token == NULL ? "not logged in" :
				blocked ? "the API is rate limited (429)" : "too many calls at once");
		api__answer(c, 0, NULL, 0, error);
	}
	while (api->waiting != NULL && access_token != NULL && !blocked &&
			api->n_running < api->s.max_running) {
		struct api_call *c = api->waiting;
		api->waiting = c->next;
		if (api->waiting == NULL)
			api->waiting_tail = NULL;
		api->n_waiting--;
		if (api__start(api, c, access_token) != 0)
			api__answer(c, 0, NULL, 0, "request could not be sent");
	}
	for (struct api_call *c = api->waiting; c != NULL; c = c->next)
		if (c->deadline < *wake_at)
			*wake_at = c->deadline;
	if (api->waiting != NULL && blocked && access_token != NULL && not_before < *wake_at)
		*wake_at = not_before;
}

size_t rc_api_pending(const struct rc_api *api)
{
	return api->n_waiting + api->n_running;
}

void rc_api_free(struct rc_api *api, const char *why)
{
	if (api == NULL)
		return;
	api->freeing = true;
	while (api->running != NULL) {
		struct api_call *c = api->running;
		api->running = c->next;
		curl_multi_remove_handle(api->s.multi, c->http.easy);
		api__answer(c, 0, NULL, 0, why);
	}
	while (api->waiting != NULL) {
		struct api_call *c = api->waiting;
		api->waiting = c->next;
		api__answer(c, 0, NULL, 0, why);
	}
	free(api);
}
