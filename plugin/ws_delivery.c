/* ws_delivery.c - WebSocket delivery: RingCentral's gateway (WSG) as a transport.
 *
 * One connection at a time, each opened with a fresh WebSocket token (the lifecycle's
 * WSTOKEN call). The subscription lives on the socket: created with a POST ClientRequest
 * once ConnectionDetails arrived, modified with a PUT when the filters change, deleted
 * with a DELETE at shutdown. The server renews it silently while the connection is up,
 * so it is read back (GET) every half lifetime: that keeps expiration_time in the status
 * true and notices a subscription deleted server-side while the connection stayed up (it
 * is then created again).
 *
 * Every frame may carry a newer wsc token. When the connection is lost (dropped, closed
 * by the server after 30 min idle or 24 h, or silent: no pong within pong_timeout), the
 * next connection presents that token; the server then either replays what was missed
 * (recoveryState Successful: the subscription is still ours, replays are de-duplicated
 * by the pipeline) or says Failed, and we subscribe again.
 *
 * A connection that was healthy is replaced at once; failures in a row back off. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include "worker_internal.h"

#define WSD_BACKOFF_BASE_MS 1000
#define WSD_BACKOFF_CAP_MS 30000
#define WSD_HEALTHY_MS 10000           /* a connection ready this long was not a failure */
#define WSD_RECOVERY_TIMEOUT_MS 180000 /* until ConnectionDetails says otherwise */
#define WSD_REJECTED_RETRY_MS 30000    /* a refused request is not retried sooner */
#define WSD_MIN_ROOM 500               /* stop reading while the outbox has less room (one
                                        * service call reads at most a few KB of frames) */
#define WSD_PAUSED_WAKE_MS 20
#define WSD_CHECK_MIN_MS 10000         /* read the subscription back at most this often */
#define WSD_CHECK_MAX_MS 900000        /* and at least this often */

static const char *wsd__phase_name(enum rc_wsd_phase p)
{
	switch (p) {
	case RC_WSD_IDLE: return "idle";
	case RC_WSD_WAIT_TOKEN: return "waiting for a token";
	case RC_WSD_CONNECTING: return "connecting";
	case RC_WSD_GREETING: return "waiting for ConnectionDetails";
	case RC_WSD_READY: return "ready";
	}
	return "unknown";
}

static bool wsd__subscribed(const struct rc_worker *w)
{
	return w->sub.id != NULL && w->lc.has_sub;
}

static int wsd__send(struct rc_worker *w, char *text)
{
	int rc = text != NULL ? rc_ws_client_send(w->ws.client, text, strlen(text)) : -1;

	free(text);
	if (rc == 0)
		w->ws.last_tx = rc_worker_now();
	return rc;
}

/* ---------------------------------------------------------------- subscription requests */

static void wsd__forget_subscription(struct rc_worker *w)
{
	rc_subscription_clear(&w->sub);
	rc_lifecycle_socket_subscribed(&w->lc, false);
}

static void wsd__drop_req_filters(struct rc_ws_delivery *d)
{
	rc_worker_free_list(d->req_filters, d->n_req_filters);
	d->req_filters = NULL;
	d->n_req_filters = 0;
}

/* Half the lifetime the server granted, within sane bounds. */
static void wsd__plan_check(struct rc_worker *w, int64_t now)
{
	int64_t half = w->sub.expires_in > 0 ? (int64_t)w->sub.expires_in * 500 : WSD_CHECK_MAX_MS;

	if (half < WSD_CHECK_MIN_MS)
		half = WSD_CHECK_MIN_MS;
	if (half > WSD_CHECK_MAX_MS)
		half = WSD_CHECK_MAX_MS;
	w->ws.check_at = now + half;
}

static void wsd__request(struct rc_worker *w, const char *method, int64_t now)
{
	struct rc_ws_delivery *d = &w->ws;
	char path[256];
	json_object *body = NULL;

	if (strcmp(method, "POST") == 0) {
		char *text = rc_subscription_create_body(w->desired, w->n_desired, 0, "WebSocket");
		body = text != NULL ? json_tokener_parse(text) : NULL;
		free(text);
		/* The path exactly as RingCentral's own WebSocket SDK writes it. */
		snprintf(path, sizeof(path), "/restapi/v1.0/subscription/");
	} else {
		char *eid = curl_easy_escape(NULL, w->sub.id, 0);
		snprintf(path, sizeof(path), "/restapi/v1.0/subscription/%s", eid != NULL ? eid : "");
		curl_free(eid);
		if (strcmp(method, "PUT") == 0) {
			char *text = rc_subscription_modify_body(w->desired, w->n_desired, 0);
			body = text != NULL ? json_tokener_parse(text) : NULL;
			free(text);
		}
	}
	bool needs_body = strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0;
	wsd__drop_req_filters(d);
	if (needs_body) {
		d->req_filters = rc_worker_copy_list(w->desired, w->n_desired);
		d->n_req_filters = d->req_filters != NULL ? w->n_desired : 0;
	}
	if (needs_body && (body == NULL || d->req_filters == NULL)) {
		json_object_put(body);
		d->req_retry_at = now + 1000;
		return;
	}
	rc_worker_uuid(w, d->req_id, sizeof(d->req_id));
	char *frame = rc_wsg_client_request(d->req_id, method, path, body);
	json_object_put(body);
	if (wsd__send(w, frame) != 0) {
		d->req_id[0] = '\0';
		d->req_retry_at = now + 1000;
		return;
	}
	d->req_method = method;
	d->req_deadline = now + w->cfg->request_timeout * 1000;
	rc_outbox_log(w->outbox, RC_LOG_DEBUG, "ringcentral: %s subscription over WebSocket", method);
}

static void wsd__adopt(struct rc_worker *w, const char *method, const char *text, size_t len)
{
	struct rc_subscription s = {0};
	char msg[300];

	if (text == NULL || rc_subscription_parse(text, len, &s) != 0) {
		snprintf(msg, sizeof(msg), "%s subscription over WebSocket: unreadable answer", method);
		rc_outbox_log(w->outbox, RC_LOG_WARNING, "ringcentral: %s", msg);
		w->ws.req_retry_at = rc_worker_now() + rc_backoff_fail(&w->ws.backoff, rc_worker_random(w));
		rc_worker_publish_status(w, msg);
		rc_subscription_clear(&s);
		return;
	}
	if (s.status != NULL && strcmp(s.status, "Active") != 0) {
		snprintf(msg, sizeof(msg), "subscription %s is %s; subscribing again", s.id, s.status);
		rc_outbox_log(w->outbox, RC_LOG_WARNING, "ringcentral: %s", msg);
		rc_subscription_clear(&s);
		wsd__forget_subscription(w);
		rc_worker_publish_status(w, msg);
		return;
	}
	bool check = strcmp(method, "GET") == 0;
	if (strcmp(method, "POST") == 0 && w->ever_subscribed)
		rc_worker_count(w, &w->outbox->status.recreations);
	if (strcmp(method, "PUT") == 0)
		rc_worker_count(w, &w->outbox->status.renewals);
	for (size_t i = 0; i < s.n_disabled && !check; i++)
		rc_outbox_log(w->outbox, RC_LOG_WARNING,
				"ringcentral: the server disabled event filter %s: %s",
				s.disabled[i].filter, s.disabled[i].reason ? s.disabled[i].reason : "no reason given");
	/* WebSocket notifications arrive in the clear: the socket is private and TLS. */
	rc_pipeline_set_key(&w->pipeline, NULL);
	rc_subscription_clear(&w->sub);
	w->sub = s;
	if (!check) {
		/* What this request asked for is what the subscription now has. */
		rc_worker_free_list(w->requested, w->n_requested);
		w->requested = w->ws.req_filters;
		w->n_requested = w->ws.n_req_filters;
		w->ws.req_filters = NULL;
		w->ws.n_req_filters = 0;
	}
	w->ever_subscribed = true;
	rc_lifecycle_socket_subscribed(&w->lc, true);
	wsd__plan_check(w, rc_worker_now());
	rc_outbox_log(w->outbox, check ? RC_LOG_INFO : RC_LOG_NOTICE,
			"ringcentral: %s subscription over WebSocket ok: subscription %s expires %s",
			method, w->sub.id, w->sub.expiration_time ? w->sub.expiration_time : "?");
	rc_worker_publish_status(w, NULL);
}

/* The answer (or an Error frame) for the request in flight. */
static void wsd__answer(struct rc_worker *w, const struct rc_wsg_frame *f, int64_t now)
{
	struct rc_ws_delivery *d = &w->ws;
	const char *method = d->req_method;
	int status = f->status != 0 ? f->status : (f->type == RC_WSG_ERROR ? 400 : 200);

	d->req_method = NULL;
	d->req_id[0] = '\0';
	if (status >= 200 && status < 300) {
		if (strcmp(method, "DELETE") == 0) {
			rc_outbox_log(w->outbox, RC_LOG_NOTICE, "ringcentral: deleted subscription %s",
					w->sub.id ? w->sub.id : "?");
			wsd__forget_subscription(w);
			if (w->stopping)
				rc_ws_client_close(d->client);
			return;
		}
		wsd__adopt(w, method, f->body_text, f->body_len);
		return;
	}

	struct rc_api_error e = {0};
	const char *body = f->body != NULL ? json_object_to_json_string(f->body) : NULL;
	char msg[400];

	if (body != NULL)
		rc_api_error_parse(body, strlen(body), &e);
	snprintf(msg, sizeof(msg), "%s subscription over WebSocket failed: %d%s%s%s%s", method, status,
			e.code[0] ? " " : "", e.code, e.message[0] ? " " : "", e.message);
	rc_outbox_log(w->outbox, RC_LOG_WARNING, "ringcentral: %s", msg);
	if (w->stopping) {
		rc_ws_client_close(d->client);
		return;
	}
	if ((strcmp(method, "PUT") == 0 || strcmp(method, "GET") == 0) && status == 404) {
		wsd__forget_subscription(w); /* gone: the next step subscribes again */
		d->req_retry_at = now;
	} else if (strcmp(method, "GET") == 0) {
		wsd__plan_check(w, now); /* only a check: the subscription still works */
		d->req_retry_at = now;
		rc_outbox_log(w->outbox, RC_LOG_INFO, "ringcentral: %s", msg);
		return;
	} else {
		int64_t delay = rc_backoff_fail(&d->backoff, rc_worker_random(w));
		if (status >= 400 && status < 500 && status != 408 && delay < WSD_REJECTED_RETRY_MS)
			delay = WSD_REJECTED_RETRY_MS;
		d->req_retry_at = now + delay;
	}
	rc_worker_publish_status(w, msg);
}

/* ---------------------------------------------------------------- frames */

static void wsd__connection_details(struct rc_worker *w, const struct rc_wsg_frame *f, int64_t now)
{
	struct rc_ws_delivery *d = &w->ws;
	json_object *v;

	if (json_object_is_type(f->body, json_type_object) &&
			json_object_object_get_ex(f->body, "recoveryTimeout", &v) &&
			(json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)) &&
			json_object_get_double(v) > 0 && json_object_get_double(v) <= 86400)
		d->recovery_timeout_ms = (int64_t)(json_object_get_double(v) * 1000);

	int recovered = rc_wsg_recovery_state(f);
	d->phase = RC_WSD_READY;
	d->ready_at = now;
	d->req_retry_at = now;
	if (d->recovering && recovered == 1 && w->sub.id != NULL) {
		rc_worker_count(w, &w->outbox->status.recoveries);
		rc_lifecycle_socket_subscribed(&w->lc, true);
		wsd__plan_check(w, now);
		rc_outbox_log(w->outbox, RC_LOG_NOTICE,
				"ringcentral: WebSocket recovered; subscription %s continues", w->sub.id);
		rc_worker_publish_status(w, NULL);
	} else if (d->recovering) {
		rc_worker_count(w, &w->outbox->status.recovery_failures);
		rc_outbox_log(w->outbox, RC_LOG_WARNING,
				"ringcentral: WebSocket recovery failed; subscribing again");
		wsd__forget_subscription(w);
	} else if (w->sub.id != NULL) {
		/* A fresh session: the old subscription went with the old one. */
		wsd__forget_subscription(w);
	}
	d->recovering = false;
}

static void wsd__on_text(void *arg, const char *buf, size_t len)
{
	struct rc_worker *w = arg;
	struct rc_ws_delivery *d = &w->ws;
	struct rc_wsg_frame f;
	int64_t now = rc_worker_now();

	d->last_rx = now;
	if (rc_wsg_parse(buf, len, &f) != RC_WSG_OK) {
		rc_worker_drop(w, RC_DROP_NOT_JSON, "", now);
		return;
	}
	if (f.wsc_token[0] != '\0') {
		snprintf(d->wsc_token, sizeof(d->wsc_token), "%s", f.wsc_token);
	}
	switch (f.type) {
	case RC_WSG_CONNECTION_DETAILS:
		wsd__connection_details(w, &f, now);
		break;
	case RC_WSG_SERVER_NOTIFICATION:
		if (f.body_text != NULL)
			rc_worker_deliver_one(w, f.body_text, f.body_len, NULL, now);
		else
			rc_worker_drop(w, RC_DROP_BAD_PAYLOAD, "", now);
		break;
	case RC_WSG_CLIENT_REQUEST:
	case RC_WSG_ERROR:
		if (d->req_method != NULL && strcmp(f.message_id, d->req_id) == 0) {
			wsd__answer(w, &f, now);
		} else if (f.type == RC_WSG_ERROR) {
			struct rc_api_error e = {0};
			const char *body = f.body != NULL ? json_object_to_json_string(f.body) : NULL;
			if (body != NULL)
				rc_api_error_parse(body, strlen(body), &e);
			rc_outbox_log(w->outbox, RC_LOG_WARNING, "ringcentral: WebSocket gateway error %d %s %s",
					f.status, e.code, e.message);
		}
		break;
	case RC_WSG_HEARTBEAT:
	case RC_WSG_UNKNOWN:
		break;
	}
	rc_wsg_frame_clear(&f);
}

static void wsd__on_open(void *arg)
{
	struct rc_worker *w = arg;
	struct rc_ws_delivery *d = &w->ws;
	int64_t now = rc_worker_now();

	d->phase = RC_WSD_GREETING;
	d->last_rx = d->last_tx = now;
	d->ping_sent_at = 0;
	d->deadline = now + w->cfg->request_timeout * 1000;
}

static void wsd__on_pong(void *arg)
{
	struct rc_worker *w = arg;

	w->ws.ping_sent_at = 0;
	w->ws.last_rx = rc_worker_now();
}

static void wsd__on_too_large(void *arg, size_t len)
{
	struct rc_worker *w = arg;
	char detail[64];

	snprintf(detail, sizeof(detail), "%zu-byte frame", len);
	rc_worker_drop(w, RC_DROP_TOO_LARGE, detail, rc_worker_now());
}

static void wsd__on_closed(void *arg, int code, const char *reason, const char *what)
{
	struct rc_worker *w = arg;
	struct rc_ws_delivery *d = &w->ws;
	int64_t now = rc_worker_now();
	bool was_ready = d->phase == RC_WSD_READY;
	bool healthy = was_ready && now - d->ready_at >= WSD_HEALTHY_MS;
	char msg[400];

	if (code != 0)
		snprintf(msg, sizeof(msg), "WebSocket closed by the server (%d%s%s)", code,
				reason[0] ? " " : "", reason);
	else
		snprintf(msg, sizeof(msg), "WebSocket %s: %s",
				d->phase == RC_WSD_CONNECTING ? "connection failed" : "connection lost",
				what[0] ? what : "no reason given");
	d->phase = RC_WSD_IDLE;
	d->req_method = NULL;
	d->req_id[0] = '\0';
	d->ping_sent_at = 0;
	d->paused = false;
	if (w->stopping)
		return; /* rc_wsd_stopped() now holds */
	if (was_ready)
		d->wsc_valid_until = d->last_rx + d->recovery_timeout_ms;
	if (wsd__subscribed(w))
		rc_lifecycle_socket_subscribed(&w->lc, false); /* kept in w->sub for recovery */
	if (healthy) {
		rc_backoff_reset(&d->backoff);
		d->reconnect_at = now;
	} else {
		d->reconnect_at = now + rc_backoff_fail(&d->backoff, rc_worker_random(w));
	}
	rc_outbox_log(w->outbox, code == 1000 ? RC_LOG_NOTICE : RC_LOG_WARNING,
			"ringcentral: %s; reconnecting in %" PRId64 " ms", msg, d->reconnect_at - now);
	rc_worker_publish_status(w, msg);
}

/* ---------------------------------------------------------------- the worker's calls */

int rc_wsd_init(struct rc_worker *w, char *err, size_t errlen)
{
	struct rc_ws_callbacks cb = {
		.on_open = wsd__on_open,
		.on_text = wsd__on_text,
		.on_too_large = wsd__on_too_large,
		.on_pong = wsd__on_pong,
		.on_closed = wsd__on_closed,
		.arg = w,
	};
	/* A frame is one notification plus a small header; the cap mirrors PubNub's. */
	size_t max_frame = w->cfg->max_notification_size + 4096;

	rc_backoff_init(&w->ws.backoff, WSD_BACKOFF_BASE_MS, WSD_BACKOFF_CAP_MS);
	w->ws.recovery_timeout_ms = WSD_RECOVERY_TIMEOUT_MS;
	w->ws.client = rc_ws_client_new(w->cfg->cafile, max_frame, w->cfg->request_timeout, &cb,
			err, errlen);
	return w->ws.client != NULL ? 0 : -1;
}

void rc_wsd_free(struct rc_worker *w)
{
	rc_ws_client_free(w->ws.client);
	w->ws.client = NULL;
	wsd__drop_req_filters(&w->ws);
	OPENSSL_cleanse(w->ws.wsc_token, sizeof(w->ws.wsc_token));
}

void rc_wsd_token_ready(struct rc_worker *w, struct rc_wstoken *t, int64_t now)
{
	struct rc_ws_delivery *d = &w->ws;
	char err[256];

	if (d->phase != RC_WSD_WAIT_TOKEN || w->stopping)
		return;
	bool recover = d->wsc_token[0] != '\0' && w->sub.id != NULL && now < d->wsc_valid_until;
	char *url = rc_wsg_connect_url(t->uri, t->ws_access_token, recover ? d->wsc_token : NULL);

	err[0] = '\0';
	if (url == NULL || rc_ws_client_connect(d->client, url, err, sizeof(err)) != 0) {
		char msg[300];
		snprintf(msg, sizeof(msg), "WebSocket connection failed: %s", err[0] ? err : "out of memory");
		d->phase = RC_WSD_IDLE;
		d->reconnect_at = now + rc_backoff_fail(&d->backoff, rc_worker_random(w));
		rc_outbox_log(w->outbox, RC_LOG_WARNING, "ringcentral: %s", msg);
		rc_worker_publish_status(w, msg);
	} else {
		if (d->ever_connected)
			rc_worker_count(w, &w->outbox->status.reconnects);
		d->ever_connected = true;
		d->recovering = recover;
		d->phase = RC_WSD_CONNECTING;
		d->deadline = now + w->cfg->request_timeout * 1000;
		rc_outbox_log(w->outbox, RC_LOG_INFO, "ringcentral: connecting to the WebSocket gateway%s",
				recover ? " (recovering the session)" : "");
	}
	if (url != NULL) {
		OPENSSL_cleanse(url, strlen(url));
		free(url);
	}
}

static void wsd__lower(int64_t *wake, int64_t t)
{
	if (t < *wake)
		*wake = t;
}

static void wsd__keepalive(struct rc_worker *w, int64_t now, int64_t *wake)
{
	struct rc_ws_delivery *d = &w->ws;
	int64_t interval = w->cfg->heartbeat_interval * 1000;

	if (d->paused) {
		d->ping_sent_at = 0; /* we are not reading: a pong could not be seen */
		return;
	}
	if (d->ping_sent_at != 0) {
		int64_t limit = d->ping_sent_at + w->cfg->pong_timeout * 1000;
		if (now >= limit) {
			char what[80];
			snprintf(what, sizeof(what), "no pong within %ld s", w->cfg->pong_timeout);
			rc_ws_client_abort(d->client, what);
			return;
		}
		wsd__lower(wake, limit);
		return;
	}
	/* Silence either way: the server counts our frames for its idle timeout, and its
	 * silence may mean a dead path. */
	int64_t due = (d->last_tx < d->last_rx ? d->last_tx : d->last_rx) + interval;
	if (now >= due) {
		char id[40];
		rc_worker_uuid(w, id, sizeof(id));
		wsd__send(w, rc_wsg_heartbeat(id));
		rc_ws_client_ping(d->client);
		d->ping_sent_at = now;
		d->last_tx = now;
		wsd__lower(wake, now + w->cfg->pong_timeout * 1000);
	} else {
		wsd__lower(wake, due);
	}
}

void rc_wsd_step(struct rc_worker *w, int64_t now, int64_t *wake)
{
	struct rc_ws_delivery *d = &w->ws;

	if (w->stopping) {
		if (rc_ws_client_active(d->client) && d->phase == RC_WSD_READY &&
				d->req_method == NULL && !d->stop_sent) {
			d->stop_sent = true;
			if (wsd__subscribed(w))
				wsd__request(w, "DELETE", now);
			if (d->req_method == NULL)
				rc_ws_client_close(d->client);
		}
		return;
	}

	switch (d->phase) {
	case RC_WSD_IDLE:
		if (now >= d->reconnect_at) {
			d->phase = RC_WSD_WAIT_TOKEN;
			rc_lifecycle_want_wstoken(&w->lc);
			wsd__lower(wake, now); /* the lifecycle starts it on the next turn */
		} else {
			wsd__lower(wake, d->reconnect_at);
		}
		break;
	case RC_WSD_WAIT_TOKEN:
		break;
	case RC_WSD_CONNECTING:
	case RC_WSD_GREETING:
		if (now >= d->deadline) {
			char what[80];
			snprintf(what, sizeof(what), "%s took longer than %ld s", wsd__phase_name(d->phase),
					w->cfg->request_timeout);
			rc_ws_client_abort(d->client, what);
		} else {
			wsd__lower(wake, d->deadline);
		}
		break;
	case RC_WSD_READY: {
		bool room = rc_outbox_room(w->outbox) >= WSD_MIN_ROOM;
		if (room == d->paused) {
			d->paused = !room;
			rc_ws_client_pause(d->client, d->paused);
		}
		wsd__keepalive(w, now, wake);
		if (d->phase != RC_WSD_READY)
			break;
		if (d->req_method != NULL) {
			if (now >= d->req_deadline) {
				char what[120];
				snprintf(what, sizeof(what), "no answer to %s subscription within %ld s",
						d->req_method, w->cfg->request_timeout);
				rc_ws_client_abort(d->client, what);
			} else {
				wsd__lower(wake, d->req_deadline);
			}
		} else if (now < d->req_retry_at) {
			wsd__lower(wake, d->req_retry_at);
		} else if (!wsd__subscribed(w)) {
			wsd__request(w, "POST", now);
		} else if (!rc_filters_equal(w->desired, w->n_desired, w->requested, w->n_requested)) {
			wsd__request(w, "PUT", now);
		} else if (now >= d->check_at) {
			wsd__request(w, "GET", now);
		} else {
			wsd__lower(wake, d->check_at);
		}
		if (d->paused)
			wsd__lower(wake, now + WSD_PAUSED_WAKE_MS);
		break;
	}
	}
}

int rc_wsd_wait(struct rc_worker *w, struct curl_waitfd *fd, int *max_wait_ms)
{
	int rc = rc_ws_client_wait(w->ws.client, fd, max_wait_ms);

	/* While reading is paused the socket stays readable: do not spin on it. */
	if (rc == 0 && w->ws.paused)
		return -1;
	return rc;
}

void rc_wsd_service(struct rc_worker *w)
{
	rc_ws_client_service(w->ws.client);
}

bool rc_wsd_online(const struct rc_worker *w)
{
	return w->ws.phase == RC_WSD_READY && wsd__subscribed(w);
}

void rc_wsd_begin_stop(struct rc_worker *w)
{
	struct rc_ws_delivery *d = &w->ws;

	d->stop_sent = false;
	/* Before READY there is no subscription on this socket to delete. Once READY,
	 * rc_wsd_step waits for an answer in flight (a POST may be creating one), then
	 * deletes the subscription, or just closes. */
	if (d->phase != RC_WSD_READY)
		rc_ws_client_abort(d->client, "shutting down");
}

bool rc_wsd_stopped(const struct rc_worker *w)
{
	return !rc_ws_client_active(w->ws.client);
}
