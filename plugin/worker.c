/* worker.c - the bridge's worker thread (see rc_worker.h).
 *
 * The loop is: take commands from the broker thread (stop, reload), ask the lifecycle what
 * REST call is due and start it, let the transport do its part (pubnub_delivery.c starts a
 * long-poll when the subscription is live and the outbox has room; ws_delivery.c keeps
 * its WebSocket connected, subscribed and alive), let curl and libwebsockets work, handle
 * whatever finished, then sleep in curl_multi_poll() (the WebSocket's socket included)
 * until a socket is ready, a timer is due or the broker thread wakes us.
 *
 * What both transports share lives here: the REST calls, status, counters and the
 * notification pipeline into the outbox. Everything runs on the worker thread; the only
 * shared state is the outbox (with its status) and the command flags, both under
 * mutexes. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include "rc_http.h"
#include "rc_lifecycle.h"
#include "rc_pipeline.h"
#include "rc_pubnub.h"
#include "rc_rest.h"
#include "rc_state_file.h"
#include "rc_worker.h"
#include "rc_ws_client.h"
#include "worker_internal.h"

#define RC_DEDUPE_CAPACITY 20000
#define RC_REST_MAX_ANSWER (4 * 1024 * 1024)
#define RC_STOP_BUDGET_MS 3500       /* shutdown must finish within a few seconds */
#define RC_STOP_DELETE_TIMEOUT_S 3
#define RC_STATE_SAVE_INTERVAL_MS 10000
#define RC_DROP_LOG_INTERVAL_MS 60000
#define RC_IDLE_WAKE_MS 1000
#define RC_REFRESH_TOKEN_DEFAULT_S 604800

/* ---------------------------------------------------------------- small helpers */

/* Milliseconds on a clock that keeps counting while the machine sleeps, so that a laptop
 * waking after an hour sees its subscription as expired rather than fresh. */
int64_t rc_worker_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t worker__wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void rc_worker_uuid(struct rc_worker *w, char *buf, size_t len)
{
	unsigned char r[16];

	if (RAND_bytes(r, sizeof(r)) != 1) {
		/* Identifiers, not secrets: the jitter generator will do. */
		for (size_t i = 0; i < sizeof(r); i += 4) {
			uint32_t x = rc_worker_random(w);
			memcpy(r + i, &x, 4);
		}
	}
	r[6] = (r[6] & 0x0f) | 0x40;
	r[8] = (r[8] & 0x3f) | 0x80;
	snprintf(buf, len, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
			r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7],
			r[8], r[9], r[10], r[11], r[12], r[13], r[14], r[15]);
}

/* xorshift64*: jitter only needs to differ between brokers, not to be secret. */
uint32_t rc_worker_random(struct rc_worker *w)
{
	w->rng ^= w->rng >> 12;
	w->rng ^= w->rng << 25;
	w->rng ^= w->rng >> 27;
	return (uint32_t)((w->rng * 0x2545F4914F6CDD1DULL) >> 32);
}

void rc_worker_free_list(char **list, size_t n)
{
	if (list == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

char **rc_worker_copy_list(char *const *list, size_t n)
{
	char **copy = calloc(n + 1, sizeof(*copy));

	for (size_t i = 0; copy != NULL && i < n; i++) {
		copy[i] = strdup(list[i]);
		if (copy[i] == NULL) {
			rc_worker_free_list(copy, i);
			return NULL;
		}
	}
	return copy;
}

static char *worker__escape(const char *s)
{
	char *e = curl_easy_escape(NULL, s, 0);
	char *copy = e != NULL ? strdup(e) : NULL;

	curl_free(e);
	return copy;
}

/* ---------------------------------------------------------------- status */

void rc_worker_publish_status(struct rc_worker *w, const char *error)
{
	struct rc_status *s = &w->outbox->status;
	/* Online means notifications can flow: the subscription is live, the channel has a
	 * position (a notification sent from now on will be fetched) and it is not failing. */
	bool online = w->lc.state == RC_LC_ACTIVE && !w->stopping &&
			(w->cfg->transport == RC_TRANSPORT_WEBSOCKET ? rc_wsd_online(w) :
			 !w->poll_failing && strcmp(w->cursor.tt, "0") != 0);

	rc_outbox_lock(w->outbox);
	s->online = online;
	s->lifecycle = rc_lc_state_name(w->lc.state);
	if (w->sub.id != NULL && w->lc.has_sub) {
		snprintf(s->subscription_id, sizeof(s->subscription_id), "%s", w->sub.id);
		snprintf(s->expiration_time, sizeof(s->expiration_time), "%s",
				w->sub.expiration_time != NULL ? w->sub.expiration_time : "");
		rc_status_set_filters(s, w->sub.event_filters, w->sub.n_event_filters);
	} else {
		s->subscription_id[0] = '\0';
		s->expiration_time[0] = '\0';
		rc_status_set_filters(s, w->desired, w->n_desired);
	}
	if (error != NULL)
		snprintf(s->last_error, sizeof(s->last_error), "%s", error);
	w->outbox->status_dirty = true;
	rc_outbox_unlock(w->outbox);
	w->last_online = online;
}

void rc_worker_count(struct rc_worker *w, uint64_t *counter)
{
	rc_outbox_lock(w->outbox);
	(*counter)++;
	w->outbox->status_dirty = true;
	rc_outbox_unlock(w->outbox);
}

/* ---------------------------------------------------------------- state file */

static void worker__save_state(struct rc_worker *w, int64_t now)
{
	char err[256];

	if (w->cfg->state_file == NULL || w->lc.socket_mode)
		return;
	w->state_saved_at = now;
	w->state_dirty = false;
	if (!w->lc.has_sub || w->sub.id == NULL) {
		rc_state_file_remove(w->cfg->state_file);
		return;
	}
	struct rc_saved_state s = {
		.subscription_id = w->sub.id,
		.event_filters = w->requested,
		.n_event_filters = w->n_requested,
		.address = w->sub.address,
		.cursor = w->cursor,
	};
	if (rc_state_file_save(w->cfg->state_file, &s, err, sizeof(err)) != 0)
		rc_outbox_log(w->outbox, RC_LOG_WARNING, "ringcentral: %s", err);
}

static void worker__load_state(struct rc_worker *w)
{
	struct rc_saved_state s;
	char err[256];
	int rc;

	if (w->cfg->state_file == NULL)
		return;
	if (w->lc.socket_mode) {
		/* A WebSocket subscription lives and dies with its connection's OAuth session
		 * (recovery needs the same session), so there is nothing a restart could resume. */
		rc_outbox_log(w->outbox, RC_LOG_NOTICE,
				"ringcentral: state_file is not used with websocket delivery");
		return;
	}
	rc = rc_state_file_load(w->cfg->state_file, &s, err, sizeof(err));
	if (rc < 0) {
		rc_outbox_log(w->outbox, RC_LOG_WARNING, "ringcentral: %s; starting afresh", err);
		return;
	}
	if (rc == 0)
		return;
	w->resume_id = s.subscription_id;
	w->resume_address = s.address;
	w->resume_cursor = s.cursor;
	w->requested = s.event_filters;
	w->n_requested = s.n_event_filters;
	s = (struct rc_saved_state){0};
	rc_lifecycle_resume_from(&w->lc);
	if (!rc_filters_equal(w->desired, w->n_desired, w->requested, w->n_requested))
		rc_lifecycle_filters_changed(&w->lc);
	rc_outbox_log(w->outbox, RC_LOG_NOTICE,
			"ringcentral: resuming subscription %s from %s", w->resume_id, w->cfg->state_file);
}

/* ---------------------------------------------------------------- REST calls */

static char *worker__url(struct rc_worker *w, const char *path, const char *id, const char *suffix)
{
	char *url = NULL;
	char *eid = id != NULL ? worker__escape(id) : NULL;

	if (id != NULL && eid == NULL)
		return NULL;
	if (asprintf(&url, "%s%s%s%s%s", w->cfg->server, path, eid != NULL ? "/" : "",
			eid != NULL ? eid : "", suffix != NULL ? suffix : "") < 0)
		url = NULL;
	free(eid);
	return url;
}

static char *worker__token_body(struct rc_worker *w, enum rc_lc_action act)
{
	const struct rc_config *c = w->cfg;

	if (act == RC_ACT_REFRESH)
		return rc_token_body_refresh(w->token.refresh_token);
	if (c->auth_mode == RC_AUTH_JWT)
		return rc_token_body_jwt(c->jwt);
	return rc_token_body_password(c->username, c->extension, c->password);
}

static const char *worker__sub_id(struct rc_worker *w)
{
	return w->sub.id != NULL ? w->sub.id : w->resume_id;
}

static int worker__start_rest(struct rc_worker *w, enum rc_lc_action act)
{
	struct rc_http_target t = {
		.cafile = w->cfg->cafile,
		.timeout_s = w->stopping ? RC_STOP_DELETE_TIMEOUT_S : w->cfg->request_timeout,
		.max_answer = RC_REST_MAX_ANSWER,
	};
	char *url = NULL;
	char *body = NULL;
	bool token_call = act == RC_ACT_LOGIN || act == RC_ACT_REFRESH;

	switch (act) {
	case RC_ACT_LOGIN:
	case RC_ACT_REFRESH:
		t.method = "POST";
		url = worker__url(w, "/restapi/oauth/token", NULL, NULL);
		body = worker__token_body(w, act);
		t.content_type = "application/x-www-form-urlencoded";
		break;
	case RC_ACT_RESUME:
		t.method = "GET";
		url = worker__url(w, "/restapi/v1.0/subscription", worker__sub_id(w), NULL);
		break;
	case RC_ACT_CREATE:
		t.method = "POST";
		url = worker__url(w, "/restapi/v1.0/subscription", NULL, NULL);
		body = rc_subscription_create_body(w->desired, w->n_desired, w->cfg->expires_in, "PubNub");
		t.content_type = "application/json";
		break;
	case RC_ACT_RENEW:
		t.method = "POST";
		url = worker__url(w, "/restapi/v1.0/subscription", worker__sub_id(w), "/renew");
		break;
	case RC_ACT_MODIFY:
		t.method = "PUT";
		url = worker__url(w, "/restapi/v1.0/subscription", worker__sub_id(w), NULL);
		body = rc_subscription_modify_body(w->desired, w->n_desired, w->cfg->expires_in);
		t.content_type = "application/json";
		break;
	case RC_ACT_DELETE:
		t.method = "DELETE";
		url = worker__url(w, "/restapi/v1.0/subscription", worker__sub_id(w), NULL);
		break;
	case RC_ACT_LIST:
		t.method = "GET";
		url = worker__url(w, "/restapi/v1.0/subscription", NULL, NULL);
		break;
	case RC_ACT_WSTOKEN:
		t.method = "POST";
		url = worker__url(w, "/restapi/oauth/wstoken", NULL, NULL);
		break;
	case RC_ACT_DELETE_ORPHAN:
		t.method = "DELETE";
		url = w->lc.orphans_pending > 0 && w->lc.orphans_pending <= w->n_orphans ?
				worker__url(w, "/restapi/v1.0/subscription", w->orphans[w->lc.orphans_pending - 1], NULL) :
				NULL;
		break;
	case RC_ACT_NONE:
		return 0;
	}
	t.url = url;
	t.body = body;

	int rc = (url != NULL && (t.content_type == NULL || body != NULL) &&
			rc_http_prepare(&w->rest, &t) == 0) ? 0 : -1;
	if (body != NULL) {
		OPENSSL_cleanse(body, strlen(body));
		free(body);
	}
	free(url);
	if (rc == 0) {
		if (token_call)
			rc_http_basic_auth(&w->rest, w->cfg->client_id, w->cfg->client_secret);
		else
			rc_http_bearer(&w->rest, w->token.access_token);
		rc = curl_multi_add_handle(w->multi, w->rest.easy) == CURLM_OK ? 0 : -1;
	}
	if (rc != 0) {
		rc_http_reset(&w->rest);
		rc_outbox_log(w->outbox, RC_LOG_ERR, "ringcentral: cannot start %s: out of memory",
				rc_lc_action_name(act));
		return -1;
	}
	w->rest_busy = true;
	rc_outbox_log(w->outbox, RC_LOG_DEBUG, "ringcentral: %s", rc_lc_action_name(act));
	return 0;
}

/* Adopts a subscription the server just described. */
static void worker__adopt_subscription(struct rc_worker *w, enum rc_lc_action act,
		struct rc_subscription *s)
{
	if (act == RC_ACT_RESUME) {
		/* Continue where the previous run stopped, if it is still the same channel. */
		bool same = w->resume_address != NULL && s->address != NULL &&
				strcmp(w->resume_address, s->address) == 0;
		w->cursor = same ? w->resume_cursor : (struct rc_pubnub_cursor){ .tt = "0" };
	} else if (w->sub.address == NULL || s->address == NULL ||
			strcmp(w->sub.address, s->address) != 0) {
		/* A new channel: the old timetoken means nothing there. */
		rc_pnd_stop(w);
		w->cursor = (struct rc_pubnub_cursor){ .tt = "0" };
	}
	if (rc_pipeline_set_key(&w->pipeline, s->encryption ? s->encryption_key : NULL) != 0)
		rc_outbox_log(w->outbox, RC_LOG_ERR,
				"ringcentral: subscription %s has an unusable encryption key", s->id);
	for (size_t i = 0; i < s->n_disabled; i++)
		rc_outbox_log(w->outbox, RC_LOG_WARNING,
				"ringcentral: the server disabled event filter %s: %s",
				s->disabled[i].filter, s->disabled[i].reason ? s->disabled[i].reason : "no reason given");
	rc_subscription_clear(&w->sub);
	w->sub = *s;
	*s = (struct rc_subscription){0};
	if (act == RC_ACT_CREATE || act == RC_ACT_RESUME)
		w->poll_failing = false; /* a new channel has not failed yet */
	if (act == RC_ACT_CREATE || act == RC_ACT_MODIFY) {
		rc_worker_free_list(w->requested, w->n_requested);
		w->requested = rc_worker_copy_list(w->desired, w->n_desired);
		w->n_requested = w->requested != NULL ? w->n_desired : 0;
	}
}

static long worker__lifetime(const struct rc_subscription *s)
{
	if (s->expires_in > 0)
		return s->expires_in;
	int64_t left = (s->expiration_ms - worker__wall_ms()) / 1000;
	return left > 1 ? (long)left : 1;
}

/* Orphans are this app's subscriptions that look like ours (same requested filters, PubNub
 * delivery) but are not the one we use: left behind by earlier runs that could not delete
 * them. They count against the per-extension limit. */
static int worker__find_orphans(struct rc_worker *w, const char *body, size_t len)
{
	struct rc_subscription *list = NULL;
	size_t n = 0;

	rc_worker_free_list(w->orphans, w->n_orphans);
	w->orphans = NULL;
	w->n_orphans = 0;
	if (rc_subscription_list_parse(body, len, &list, &n) != 0)
		return -1;
	w->orphans = calloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		struct rc_subscription *s = &list[i];
		bool ours = w->orphans != NULL && s->transport_type != NULL &&
				strcmp(s->transport_type, "PubNub") == 0 &&
				(w->sub.id == NULL || strcmp(s->id, w->sub.id) != 0) &&
				(rc_filters_equal(s->event_filters, s->n_event_filters, w->desired, w->n_desired) ||
				 rc_filters_equal(s->event_filters, s->n_event_filters, w->requested, w->n_requested));
		if (ours && (w->orphans[w->n_orphans] = strdup(s->id)) != NULL)
			w->n_orphans++;
		rc_subscription_clear(s);
	}
	free(list);
	rc_outbox_log(w->outbox, RC_LOG_NOTICE,
			"ringcentral: subscription limit reached; %zu orphan subscription(s) of earlier runs to delete",
			w->n_orphans);
	return 0;
}

/* A successful token answer: keeps the tokens, reports their lifetimes in *a and *b. */
static enum rc_lc_outcome worker__take_token(struct rc_worker *w, enum rc_lc_action act,
		long *a, long *b, char *what, size_t what_len)
{
	struct rc_token t = {0};

	if (rc_token_parse(w->rest.body, w->rest.body_len, &t) != 0) {
		snprintf(what, what_len, "unreadable token answer");
		return RC_OUT_TRANSIENT;
	}
	rc_token_clear(&w->token);
	w->token = t;
	*a = t.expires_in;
	*b = t.refresh_token == NULL ? 0 :
			t.refresh_token_expires_in > 0 ? t.refresh_token_expires_in :
			RC_REFRESH_TOKEN_DEFAULT_S; /* not stated: RingCentral's usual week */
	rc_outbox_log(w->outbox, RC_LOG_INFO, "ringcentral: %s ok, token valid for %ld s",
			rc_lc_action_name(act), *a);
	return RC_OUT_OK;
}

/* A successful answer describing our subscription: adopts it, reports its remaining
 * lifetime in *a. A subscription that is not Active is as good as gone. */
static enum rc_lc_outcome worker__take_subscription(struct rc_worker *w, enum rc_lc_action act,
		long *a, char *what, size_t what_len)
{
	struct rc_subscription s = {0};
	enum rc_lc_outcome out = RC_OUT_OK;

	if (rc_subscription_parse(w->rest.body, w->rest.body_len, &s) != 0) {
		snprintf(what, what_len, "unreadable subscription answer");
		out = RC_OUT_TRANSIENT;
	} else if (s.status != NULL && strcmp(s.status, "Active") != 0) {
		snprintf(what, what_len, "subscription status %s", s.status);
		out = RC_OUT_NOT_FOUND;
	} else {
		*a = worker__lifetime(&s);
		if (act == RC_ACT_CREATE && w->ever_subscribed)
			rc_worker_count(w, &w->outbox->status.recreations);
		if (act == RC_ACT_RENEW || act == RC_ACT_MODIFY)
			rc_worker_count(w, &w->outbox->status.renewals);
		worker__adopt_subscription(w, act, &s);
		w->ever_subscribed = true;
		w->state_dirty = true;
		rc_outbox_log(w->outbox, RC_LOG_NOTICE, "ringcentral: %s ok: subscription %s expires %s",
				rc_lc_action_name(act), w->sub.id, w->sub.expiration_time);
	}
	rc_subscription_clear(&s);
	return out;
}

static void worker__rest_done(struct rc_worker *w, int64_t now)
{
	enum rc_lc_action act = w->lc.in_flight;
	struct rc_http *h = &w->rest;
	bool token_call = act == RC_ACT_LOGIN || act == RC_ACT_REFRESH;
	enum rc_lc_outcome out = rc_http_outcome(h->status, h->result, token_call, h->body, h->body_len);
	char what[300];
	long a = 0, b = 0;
	struct rc_wstoken wst = {0};

	rc_http_describe(h, what, sizeof(what));
	if (out == RC_OUT_OK) {
		switch (act) {
		case RC_ACT_LOGIN:
		case RC_ACT_REFRESH:
			out = worker__take_token(w, act, &a, &b, what, sizeof(what));
			break;
		case RC_ACT_LIST:
			if (worker__find_orphans(w, h->body, h->body_len) != 0) {
				snprintf(what, sizeof(what), "unreadable subscription list");
				out = RC_OUT_TRANSIENT;
			}
			break;
		case RC_ACT_DELETE_ORPHAN:
			rc_outbox_log(w->outbox, RC_LOG_NOTICE, "ringcentral: deleted orphan subscription %s",
					w->orphans[w->lc.orphans_pending - 1]);
			break;
		case RC_ACT_DELETE:
			rc_outbox_log(w->outbox, RC_LOG_NOTICE, "ringcentral: deleted subscription %s",
					worker__sub_id(w));
			break;
		case RC_ACT_WSTOKEN:
			if (rc_wstoken_parse(h->body, h->body_len, &wst) != 0) {
				snprintf(what, sizeof(what), "unreadable wstoken answer");
				out = RC_OUT_TRANSIENT;
			}
			break;
		default:
			out = worker__take_subscription(w, act, &a, what, sizeof(what));
			break;
		}
	}

	int64_t delay = rc_lifecycle_done(&w->lc, out, now, a, b, h->retry_after_ms,
			rc_worker_random(w));
	if (act == RC_ACT_LIST && out == RC_OUT_OK)
		rc_lifecycle_orphans_found(&w->lc, (unsigned)w->n_orphans);
	if (out != RC_OUT_OK) {
		char msg[400];
		snprintf(msg, sizeof(msg), "%s failed: %s", rc_lc_action_name(act), what);
		rc_outbox_log(w->outbox, out == RC_OUT_NOT_FOUND ? RC_LOG_NOTICE : RC_LOG_WARNING,
				"ringcentral: %s%s", msg, delay > 0 ? "; retrying later" : "");
		rc_worker_publish_status(w, msg);
	}
	if (!w->lc.has_sub && !w->lc.socket_mode) {
		/* Lost (404, deleted, blacklisted): the next subscription starts from scratch. */
		if (w->sub.id != NULL || w->resume_id != NULL) {
			rc_pnd_stop(w);
			rc_subscription_clear(&w->sub);
			free(w->resume_id);
			w->resume_id = NULL;
			w->state_dirty = true;
		}
	}
	if (out == RC_OUT_OK)
		rc_worker_publish_status(w, NULL);
	curl_multi_remove_handle(w->multi, h->easy);
	rc_http_reset(h);
	w->rest_busy = false;
	if (act == RC_ACT_WSTOKEN && out == RC_OUT_OK)
		rc_wsd_token_ready(w, &wst, now);
	rc_wstoken_clear(&wst);
}

/* ---------------------------------------------------------------- notifications */

static void worker__log_drop(struct rc_worker *w, enum rc_drop_cause cause, const char *detail,
		int64_t now)
{
	w->drops_since_log[cause]++;
	/* Once per cause per minute: a flood of bad input must not flood the log. */
	if (w->drop_logged_at[cause] != 0 && now - w->drop_logged_at[cause] < RC_DROP_LOG_INTERVAL_MS)
		return;
	rc_outbox_log(w->outbox, RC_LOG_WARNING,
			"ringcentral: skipped %" PRIu64 " notification(s): %s%s%s",
			w->drops_since_log[cause], rc_drop_cause_name(cause),
			detail[0] ? " event=" : "", detail);
	w->drop_logged_at[cause] = now;
	w->drops_since_log[cause] = 0;
}

void rc_worker_drop(struct rc_worker *w, enum rc_drop_cause cause, const char *detail, int64_t now)
{
	rc_outbox_lock(w->outbox);
	w->outbox->status.received++;
	rc_status_count_drop(&w->outbox->status, cause);
	w->outbox->status_dirty = true;
	rc_outbox_unlock(w->outbox);
	worker__log_drop(w, cause, detail, now);
}

void rc_worker_deliver_one(struct rc_worker *w, const char *str, size_t len, json_object *obj,
		int64_t now)
{
	struct rc_outbox_msg *m = NULL;
	enum rc_drop_cause cause = RC_DROP_BAD_PAYLOAD;
	char detail[96];
	enum rc_pipeline_result pr;

	detail[0] = '\0';
	pr = rc_pipeline_process(&w->pipeline, str, len, obj, &m, &cause, detail, sizeof(detail));

	rc_outbox_lock(w->outbox);
	struct rc_status *s = &w->outbox->status;
	s->received++;
	if (pr == RC_PIPE_DUPLICATE)
		s->duplicates++;
	else if (pr == RC_PIPE_DROP)
		rc_status_count_drop(s, cause);
	w->outbox->status_dirty = true;
	rc_outbox_unlock(w->outbox);

	if (pr == RC_PIPE_DROP) {
		worker__log_drop(w, cause, detail, now);
	} else if (pr == RC_PIPE_PUBLISH && !rc_outbox_push(w->outbox, m)) {
		/* Cannot happen while the transports wait for room; counted if it ever does. */
		rc_outbox_lock(w->outbox);
		rc_status_count_drop(&w->outbox->status, RC_DROP_NOMEM);
		rc_outbox_unlock(w->outbox);
	}
}

/* ---------------------------------------------------------------- commands */

static void worker__reload_filters(struct rc_worker *w)
{
	char **filters = NULL;
	size_t n = 0;
	char err[512];

	if (rc_filters_effective(w->cfg, &filters, &n, err, sizeof(err)) != 0) {
		rc_outbox_log(w->outbox, RC_LOG_ERR,
				"ringcentral: reload: %s; keeping the current event filters", err);
		return;
	}
	if (rc_filters_equal(filters, n, w->desired, w->n_desired)) {
		rc_filters_free(filters);
		rc_outbox_log(w->outbox, RC_LOG_INFO, "ringcentral: reload: event filters unchanged");
		return;
	}
	rc_filters_free(w->desired);
	w->desired = filters;
	w->n_desired = n;
	rc_lifecycle_filters_changed(&w->lc);
	rc_outbox_log(w->outbox, RC_LOG_NOTICE,
			"ringcentral: reload: %zu event filter(s) changed; updating the subscription", n);
}

static void worker__begin_stop(struct rc_worker *w, int64_t now)
{
	w->stopping = true;
	w->stop_deadline = now + RC_STOP_BUDGET_MS;
	rc_pnd_stop(w);
	if (w->rest_busy) {
		/* A stalled request must not hold up the shutdown. */
		curl_multi_remove_handle(w->multi, w->rest.easy);
		rc_http_reset(&w->rest);
		w->rest_busy = false;
		rc_lifecycle_done(&w->lc, RC_OUT_TRANSIENT, now, 0, 0, -1, 0);
	}
	if (w->cfg->state_file != NULL)
		worker__save_state(w, now);
	rc_lifecycle_stop(&w->lc);
	w->lc.not_before = 0;
	if (w->lc.socket_mode)
		rc_wsd_begin_stop(w);
}

/* ---------------------------------------------------------------- the loop */

static void worker__handle_finished(struct rc_worker *w)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(w->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		struct rc_http *h = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&h);
		if (h == NULL)
			continue;
		h->result = msg->data.result;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &h->status);
		int64_t now = rc_worker_now();
		if (h == &w->rest)
			worker__rest_done(w, now);
		else if (h == &w->poll)
			rc_pnd_done(w, now);
	}
}

static void *worker__main(void *arg)
{
	struct rc_worker *w = arg;

	while (1) {
		int64_t now = rc_worker_now();
		int64_t wake = now + RC_IDLE_WAKE_MS;
		bool stop, reload;

		pthread_mutex_lock(&w->cmd_lock);
		stop = w->cmd_stop;
		reload = w->cmd_reload;
		w->cmd_reload = false;
		pthread_mutex_unlock(&w->cmd_lock);

		if (stop && !w->stopping)
			worker__begin_stop(w, now);
		if (reload && !w->stopping)
			worker__reload_filters(w);

		if (!w->rest_busy) {
			int64_t lc_wake;
			enum rc_lc_action act = rc_lifecycle_next(&w->lc, now, &lc_wake);
			if (act != RC_ACT_NONE) {
				if (worker__start_rest(w, act) != 0) {
					rc_lifecycle_done(&w->lc, RC_OUT_TRANSIENT, now, 0, 0, -1,
							rc_worker_random(w));
				}
				continue; /* ask again: the next step may already be due */
			}
			if (w->lc.state == RC_LC_STOPPED && (!w->lc.socket_mode || rc_wsd_stopped(w)))
				break;
			if (lc_wake < wake)
				wake = lc_wake;
		}
		if (w->stopping && now >= w->stop_deadline)
			break;

		if (w->lc.socket_mode)
			rc_wsd_step(w, now, &wake);
		else
			rc_pnd_step(w, now, &wake);

		if (w->cfg->state_file != NULL && w->state_dirty &&
				now - w->state_saved_at >= RC_STATE_SAVE_INTERVAL_MS)
			worker__save_state(w, now);

		int running;
		curl_multi_perform(w->multi, &running);
		worker__handle_finished(w);

		now = rc_worker_now();
		if (w->stopping && w->stop_deadline < wake)
			wake = w->stop_deadline;
		int timeout = wake > now ? (int)(wake - now) : 0;
		if (timeout > RC_IDLE_WAKE_MS)
			timeout = RC_IDLE_WAKE_MS;
		struct curl_waitfd ws_fd;
		unsigned n_fds = 0;
		if (w->lc.socket_mode && rc_wsd_wait(w, &ws_fd, &timeout) == 0)
			n_fds = 1;
		curl_multi_poll(w->multi, n_fds ? &ws_fd : NULL, n_fds, timeout, NULL);
		if (w->lc.socket_mode)
			rc_wsd_service(w);
		curl_multi_perform(w->multi, &running);
		worker__handle_finished(w);
	}

	rc_pnd_stop(w);
	if (w->rest_busy) {
		curl_multi_remove_handle(w->multi, w->rest.easy);
		rc_http_reset(&w->rest);
		w->rest_busy = false;
	}
	if (w->cfg->state_file != NULL && w->lc.has_sub)
		worker__save_state(w, rc_worker_now());
	else if (w->cfg->state_file != NULL && !w->lc.has_sub)
		rc_state_file_remove(w->cfg->state_file);
	w->lc.state = RC_LC_STOPPED;
	rc_worker_publish_status(w, NULL);
	return NULL;
}

/* ---------------------------------------------------------------- start / stop */

static void worker__free(struct rc_worker *w)
{
	if (w->multi != NULL)
		curl_multi_cleanup(w->multi);
	rc_http_reset(&w->rest);
	rc_http_reset(&w->poll);
	rc_token_clear(&w->token);
	rc_subscription_clear(&w->sub);
	free(w->resume_id);
	free(w->resume_address);
	rc_filters_free(w->desired);
	rc_worker_free_list(w->requested, w->n_requested);
	rc_worker_free_list(w->orphans, w->n_orphans);
	rc_wsd_free(w);
	rc_pipeline_destroy(&w->pipeline);
	pthread_mutex_destroy(&w->cmd_lock);
	free(w);
}

struct rc_worker *rc_worker_start(const struct rc_config *cfg, struct rc_outbox *outbox,
		char *err, size_t errlen)
{
	struct rc_worker *w = calloc(1, sizeof(*w));
	unsigned char rnd[16];

	if (w == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	w->cfg = cfg;
	w->outbox = outbox;
	pthread_mutex_init(&w->cmd_lock, NULL);
	rc_lifecycle_init(&w->lc, (int64_t)cfg->renew_margin * 1000, cfg->state_file != NULL);
	if (cfg->transport == RC_TRANSPORT_WEBSOCKET)
		rc_lifecycle_use_socket(&w->lc);
	rc_backoff_init(&w->poll_backoff, 1000, 30000);
	strcpy(w->cursor.tt, "0");

	if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
		snprintf(err, errlen, "no random numbers available");
		worker__free(w);
		return NULL;
	}
	memcpy(&w->rng, rnd, sizeof(w->rng));
	w->rng |= 1;
	/* A v4 UUID identifies this bridge to PubNub for the whole run. */
	rc_worker_uuid(w, w->pubnub_uuid, sizeof(w->pubnub_uuid));

	if (rc_filters_effective(cfg, &w->desired, &w->n_desired, err, errlen) != 0 ||
			rc_pipeline_init(&w->pipeline, cfg, RC_DEDUPE_CAPACITY) != 0 ||
			(w->multi = curl_multi_init()) == NULL ||
			(w->lc.socket_mode && rc_wsd_init(w, err, errlen) != 0)) {
		if (err[0] == '\0')
			snprintf(err, errlen, "out of memory");
		worker__free(w);
		return NULL;
	}
	worker__load_state(w);
	rc_worker_publish_status(w, NULL);

	if (pthread_create(&w->thread, NULL, worker__main, w) != 0) {
		snprintf(err, errlen, "cannot start the worker thread: %s", strerror(errno));
		worker__free(w);
		return NULL;
	}
	return w;
}

void rc_worker_reload(struct rc_worker *w)
{
	pthread_mutex_lock(&w->cmd_lock);
	w->cmd_reload = true;
	pthread_mutex_unlock(&w->cmd_lock);
	curl_multi_wakeup(w->multi);
}

void rc_worker_stop(struct rc_worker *w)
{
	pthread_mutex_lock(&w->cmd_lock);
	w->cmd_stop = true;
	pthread_mutex_unlock(&w->cmd_lock);
	curl_multi_wakeup(w->multi);
	pthread_join(w->thread, NULL);
	worker__free(w);
}
