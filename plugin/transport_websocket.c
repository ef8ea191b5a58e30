/* transport_websocket.c - WebSocket delivery: RingCentral's gateway (WSG) as a transport.
 *
 * One connection at a time, each opened with a fresh WebSocket token (the lifecycle's
 * WSTOKEN call, asked for by reporting wants_token). The subscription lives on the
 * socket, but whether to create, modify, read back or delete it is the lifecycle's
 * decision: this file only frames those requests as ClientRequests, matches the answer by
 * messageId and hands it back (rc_transport_answer). What it owns is the connection:
 * connecting, waiting for ConnectionDetails, heartbeats and pings, reading notifications
 * into the sink, and recovery.
 *
 * Every frame may carry a newer wsc token. When the connection is lost (dropped, closed
 * by the server after 30 min idle or 24 h, or silent: no pong within pong_timeout), the
 * next connection presents that token while the server still keeps the session
 * (recoveryTimeout); ConnectionDetails then says whether the session, and with it the
 * subscription, continues (replays are de-duplicated by the pipeline) or not (the
 * lifecycle subscribes again).
 *
 * A connection that was healthy is replaced after a short random delay (so that brokers
 * behind one gateway do not reconnect in lockstep), well within the recovery window;
 * failures in a row back off. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include "rc_http.h"
#include "rc_backoff.h"
#include "rc_clock.h"
#include "rc_logsafe.h"
#include "rc_json.h"
#include "rc_wsg.h"
#include "rc_ws_client.h"
#include "transport.h"

#define WS_CONNECT_BACKSTOP_MS 1000
#define WS_BACKOFF_BASE_MS 1000
#define WS_BACKOFF_CAP_MS 30000
#define WS_HEALTHY_MS 10000           /* a connection ready this long was not a failure */
#define WS_RECONNECT_JITTER_MS 1000   /* spread of the reconnect after a healthy close */
#define WS_RECOVERY_TIMEOUT_MS 180000 /* until ConnectionDetails says otherwise */
#define WS_MIN_ROOM 500               /* stop reading while the outbox has less room (one
                                       * service call reads at most a few KB of frames) */
#define WS_PAUSED_WAKE_MS 20

enum ws_phase {
	WS_IDLE = 0,    /* no connection; the next one is due at reconnect_at */
	WS_WAIT_TOKEN,  /* waiting for the lifecycle's WSTOKEN */
	WS_CONNECTING,  /* TCP, TLS and the upgrade */
	WS_GREETING,    /* open, waiting for ConnectionDetails */
	WS_READY,       /* ConnectionDetails seen: requests may go */
};

struct websocket {
	struct rc_transport_env env;
	struct rc_ws_client *client;
	struct rc_json_reader frames; /* reads every frame of every connection (rc_wsg.h) */
	enum ws_phase phase;
	struct rc_backoff backoff;
	int64_t reconnect_at;
	int64_t deadline;          /* connecting/greeting must end by then */
	int64_t ready_at;
	int64_t last_rx, last_tx;
	int64_t ping_sent_at;      /* 0: no ping outstanding */
	bool paused;               /* reading stopped: the outbox is full */

	/* Sessions, for the lifecycle: how many came up, and whether the latest one
	 * continued the subscription of the one before. */
	unsigned session;
	bool resumed;

	/* Recovery: the latest wsc token, until when the server keeps it, and the
	 * subscription a recovery would continue. */
	char wsc_token[RC_WSG_WSC_MAX];
	int64_t wsc_valid_until;
	int64_t recovery_timeout_ms;
	bool recovering;           /* this connection was opened with the wsc token */
	bool ever_connected;
	char *sub_id;              /* attached subscription, NULL if none */

	/* The one ClientRequest in flight, and its answer until the worker takes it. */
	char req_id[40];
	enum rc_lc_action req_act; /* RC_ACT_NONE if none */
	int64_t req_deadline;
	bool answered;
	struct rc_transport_answer answer;

	bool stopping;
};

static const char *ws__phase_name(enum ws_phase p)
{
	switch (p) {
	case WS_IDLE: return "idle";
	case WS_WAIT_TOKEN: return "waiting for a token";
	case WS_CONNECTING: return "connecting";
	case WS_GREETING: return "waiting for ConnectionDetails";
	case WS_READY: return "ready";
	}
	return "unknown";
}

static const char *ws__method(enum rc_lc_action act)
{
	switch (act) {
	case RC_ACT_CREATE: return "POST";
	case RC_ACT_MODIFY: return "PUT";
	case RC_ACT_CHECK: return "GET";
	case RC_ACT_DELETE: return "DELETE";
	default: return NULL;
	}
}

static void ws__lower(int64_t *wake, int64_t t)
{
	if (t < *wake)
		*wake = t;
}

static int ws__send(struct websocket *ws, char *text)
{
	int rc = text != NULL ? rc_ws_client_send(ws->client, text, strlen(text)) : -1;

	free(text);
	if (rc == 0)
		ws->last_tx = rc_clock_now_ms();
	return rc;
}

static void ws__drop_answer(struct websocket *ws)
{
	free(ws->answer.body);
	ws->answer = (struct rc_transport_answer){0};
	ws->answered = false;
}

/* ---------------------------------------------------------------- frames */

/* The answer (or an Error frame) for the request in flight. */
static void ws__answer(struct websocket *ws, const struct rc_wsg_frame *f)
{
	const char *text = f->body_text;
	size_t len = f->body_len;

	if (text == NULL && f->body != NULL) {
		text = json_object_to_json_string(f->body);
		len = text != NULL ? strlen(text) : 0;
	}
	ws__drop_answer(ws);
	ws->answer.status = f->status != 0 ? f->status : (f->type == RC_WSG_ERROR ? 400 : 200);
	if (text != NULL && (ws->answer.body = strndup(text, len)) != NULL)
		ws->answer.len = len;
	ws->answered = true;
	ws->req_act = RC_ACT_NONE;
	ws->req_id[0] = '\0';
}

static void ws__connection_details(struct websocket *ws, const struct rc_wsg_frame *f, int64_t now)
{
	struct rc_sink *sink = ws->env.sink;
	json_object *v;

	if (json_object_is_type(f->body, json_type_object) &&
			json_object_object_get_ex(f->body, "recoveryTimeout", &v) &&
			(json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)) &&
			json_object_get_double(v) > 0 && json_object_get_double(v) <= 86400)
		ws->recovery_timeout_ms = (int64_t)(json_object_get_double(v) * 1000);

	enum rc_wsg_recovery recovery = rc_wsg_recovery_state(f);
	ws->phase = WS_READY;
	ws->ready_at = now;
	ws->session++;
	ws->resumed = ws->recovering && recovery == RC_WSG_RECOVERY_SUCCESSFUL && ws->sub_id != NULL;
	if (ws->resumed) {
		rc_sink_count(sink, RC_COUNT_RECOVERIES);
		char id[RC_LOGSAFE_BUF];
		rc_sink_log(sink, RC_LOG_NOTICE, "WebSocket recovered; subscription %s continues",
				rc_logsafe_str(id, sizeof(id), ws->sub_id));
	} else if (ws->recovering) {
		rc_sink_count(sink, RC_COUNT_RECOVERY_FAILURES);
		rc_sink_log(sink, RC_LOG_WARNING, "WebSocket recovery failed; subscribing again");
	}
	if (!ws->resumed) {
		/* The old subscription went with the old session: never recover into it. */
		free(ws->sub_id);
		ws->sub_id = NULL;
	}
	ws->recovering = false;
	rc_sink_changed(sink);
}

static void ws__gateway_error(struct websocket *ws, const struct rc_wsg_frame *f)
{
	struct rc_api_error e = {0};
	const char *body = f->body != NULL ? json_object_to_json_string(f->body) : NULL;

	if (body != NULL)
		rc_api_error_parse(body, strlen(body), &e);
	rc_sink_log(ws->env.sink, RC_LOG_WARNING, "WebSocket gateway error %d %s %s",
			f->status, e.code, e.message);
}

static void ws__on_text(void *arg, const char *buf, size_t len)
{
	struct websocket *ws = arg;
	struct rc_wsg_frame f;
	int64_t now = rc_clock_now_ms();

	ws->last_rx = now;
	if (rc_wsg_parse(&ws->frames, buf, len, &f) != RC_WSG_OK) {
		rc_sink_drop(ws->env.sink, RC_DROP_NOT_JSON, "", now);
		return;
	}
	if (f.wsc_token[0] != '\0')
		snprintf(ws->wsc_token, sizeof(ws->wsc_token), "%s", f.wsc_token);
	switch (f.type) {
	case RC_WSG_CONNECTION_DETAILS:
		ws__connection_details(ws, &f, now);
		break;
	case RC_WSG_SERVER_NOTIFICATION:
		if (f.body_text != NULL)
			/* The exact text is what is published; the parsed body spares a second parse. */
			rc_sink_deliver(ws->env.sink, f.body_text, f.body_len, f.body, now);
		else
			rc_sink_drop(ws->env.sink, RC_DROP_BAD_PAYLOAD, "", now);
		break;
	case RC_WSG_CLIENT_REQUEST:
	case RC_WSG_ERROR:
		if (ws->req_act != RC_ACT_NONE && strcmp(f.message_id, ws->req_id) == 0)
			ws__answer(ws, &f);
		else if (f.type == RC_WSG_ERROR)
			ws__gateway_error(ws, &f);
		break;
	case RC_WSG_HEARTBEAT:
	case RC_WSG_UNKNOWN:
		break;
	}
	rc_wsg_frame_clear(&f);
}

static void ws__on_open(void *arg)
{
	struct websocket *ws = arg;
	int64_t now = rc_clock_now_ms();

	ws->phase = WS_GREETING;
	ws->last_rx = ws->last_tx = now;
	ws->ping_sent_at = 0;
	ws->deadline = now + ws->env.cfg->request_timeout * 1000;
}

static void ws__on_pong(void *arg)
{
	struct websocket *ws = arg;

	ws->ping_sent_at = 0;
	ws->last_rx = rc_clock_now_ms();
}

static void ws__on_too_large(void *arg, size_t len)
{
	struct websocket *ws = arg;
	char detail[64];

	snprintf(detail, sizeof(detail), "%zu-byte frame", len);
	rc_sink_drop(ws->env.sink, RC_DROP_TOO_LARGE, detail, rc_clock_now_ms());
}

static void ws__on_closed(void *arg, int code, const char *reason, const char *what)
{
	struct websocket *ws = arg;
	int64_t now = rc_clock_now_ms();
	bool was_ready = ws->phase == WS_READY;
	bool healthy = was_ready && now - ws->ready_at >= WS_HEALTHY_MS;
	char msg[400], safe[RC_LOGSAFE_BUF];

	if (code != 0)
		snprintf(msg, sizeof(msg), "WebSocket closed by the server (%d%s%s)", code,
				reason[0] ? " " : "", rc_logsafe_str(safe, sizeof(safe), reason));
	else
		snprintf(msg, sizeof(msg), "WebSocket %s: %s",
				ws->phase == WS_CONNECTING ? "connection failed" : "connection lost",
				what[0] ? what : "no reason given");
	ws->phase = WS_IDLE;
	ws->req_act = RC_ACT_NONE; /* its answer went with the connection */
	ws->req_id[0] = '\0';
	ws->ping_sent_at = 0;
	ws->paused = false;
	rc_sink_changed(ws->env.sink);
	if (ws->stopping)
		return; /* stopped() now holds */
	if (was_ready)
		ws->wsc_valid_until = ws->last_rx + ws->recovery_timeout_ms;
	if (healthy) {
		rc_backoff_reset(&ws->backoff);
		ws->reconnect_at = now + rc_rng_next(ws->env.rng) % WS_RECONNECT_JITTER_MS;
	} else {
		ws->reconnect_at = now + rc_backoff_fail(&ws->backoff, rc_rng_next(ws->env.rng));
	}
	rc_sink_error(ws->env.sink, code == 1000 ? RC_LOG_NOTICE : RC_LOG_WARNING,
			"%s; reconnecting in %" PRId64 " ms", msg, ws->reconnect_at - now);
}

/* ---------------------------------------------------------------- keepalive */

static void ws__keepalive(struct websocket *ws, int64_t now, int64_t *wake)
{
	const struct rc_config *cfg = ws->env.cfg;
	int64_t interval = cfg->heartbeat_interval * 1000;

	if (ws->paused) {
		ws->ping_sent_at = 0; /* we are not reading: a pong could not be seen */
		return;
	}
	if (ws->ping_sent_at != 0) {
		int64_t limit = ws->ping_sent_at + cfg->pong_timeout * 1000;
		if (now >= limit) {
			char what[80];
			snprintf(what, sizeof(what), "no pong within %ld s", cfg->pong_timeout);
			rc_ws_client_abort(ws->client, what);
			return;
		}
		ws__lower(wake, limit);
		return;
	}
	/* Silence either way: the server counts our frames for its idle timeout, and its
	 * silence may mean a dead path. */
	int64_t due = (ws->last_tx < ws->last_rx ? ws->last_tx : ws->last_rx) + interval;
	if (now >= due) {
		char id[40];
		rc_rng_uuid(ws->env.rng, id, sizeof(id));
		ws__send(ws, rc_wsg_heartbeat(id));
		rc_ws_client_ping(ws->client);
		ws->ping_sent_at = now;
		ws->last_tx = now;
		ws__lower(wake, now + cfg->pong_timeout * 1000);
	} else {
		ws__lower(wake, due);
	}
}

/* ---------------------------------------------------------------- operations */

static void *ws_create(const struct rc_transport_env *env, char *err, size_t errlen)
{
	struct websocket *ws = calloc(1, sizeof(*ws));
	struct rc_ws_callbacks cb = {
		.on_open = ws__on_open,
		.on_text = ws__on_text,
		.on_too_large = ws__on_too_large,
		.on_pong = ws__on_pong,
		.on_closed = ws__on_closed,
		.arg = ws,
	};

	if (ws == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ws->env = *env;
	rc_wsg_reader_init(&ws->frames);
	rc_backoff_init(&ws->backoff, WS_BACKOFF_BASE_MS, WS_BACKOFF_CAP_MS);
	ws->recovery_timeout_ms = WS_RECOVERY_TIMEOUT_MS;
	/* A frame is one notification plus a small header; the cap mirrors PubNub's. */
	ws->client = rc_ws_client_new(env->cfg->cafile, env->cfg->max_notification_size + 4096,
			env->cfg->request_timeout, &cb, err, errlen);
	if (ws->client == NULL) {
		free(ws);
		return NULL;
	}
	return ws;
}

static void ws_destroy(void *t)
{
	struct websocket *ws = t;

	if (ws == NULL)
		return;
	rc_ws_client_free(ws->client);
	rc_json_reader_destroy(&ws->frames);
	ws__drop_answer(ws);
	free(ws->sub_id);
	OPENSSL_cleanse(ws->wsc_token, sizeof(ws->wsc_token));
	free(ws);
}

static void ws_attach(void *t, const struct rc_subscription *sub, enum rc_lc_action how)
{
	struct websocket *ws = t;

	(void)how;
	free(ws->sub_id);
	ws->sub_id = sub != NULL && sub->id != NULL ? strdup(sub->id) : NULL;
}

static int ws_request(void *t, enum rc_lc_action act, const char *sub_id, char *const *filters,
		size_t n, int64_t now)
{
	struct websocket *ws = t;
	const char *method = ws__method(act);
	char path[256];
	char *text = NULL;
	json_object *body = NULL;

	if (method == NULL || ws->phase != WS_READY || ws->req_act != RC_ACT_NONE)
		return -1;
	if (act == RC_ACT_CREATE) {
		text = rc_subscription_create_body(filters, n, 0, "WebSocket");
		/* The path exactly as RingCentral's own WebSocket SDK writes it. */
		snprintf(path, sizeof(path), "/restapi/v1.0/subscription/");
	} else {
		char *eid = rc_url_escape(sub_id != NULL ? sub_id : "");
		snprintf(path, sizeof(path), "/restapi/v1.0/subscription/%s", eid != NULL ? eid : "");
		curl_free(eid);
		if (act == RC_ACT_MODIFY)
			text = rc_subscription_modify_body(filters, n, 0);
	}
	if (text != NULL) {
		body = json_tokener_parse(text);
		free(text);
		if (body == NULL)
			return -1;
	} else if (act == RC_ACT_CREATE || act == RC_ACT_MODIFY) {
		return -1;
	}
	rc_rng_uuid(ws->env.rng, ws->req_id, sizeof(ws->req_id));
	char *frame = rc_wsg_client_request(ws->req_id, method, path, body);
	json_object_put(body);
	if (ws__send(ws, frame) != 0) {
		ws->req_id[0] = '\0';
		return -1;
	}
	ws__drop_answer(ws);
	ws->req_act = act;
	ws->req_deadline = now + ws->env.cfg->request_timeout * 1000;
	return 0;
}

static bool ws_take_answer(void *t, struct rc_transport_answer *a)
{
	struct websocket *ws = t;

	if (!ws->answered)
		return false;
	*a = ws->answer;
	ws->answer = (struct rc_transport_answer){0};
	ws->answered = false;
	return true;
}

static void ws_open(void *t, const struct rc_wstoken *tok, int64_t now)
{
	struct websocket *ws = t;
	char err[256];

	if (ws->phase != WS_WAIT_TOKEN || ws->stopping)
		return;
	bool recover = ws->wsc_token[0] != '\0' && ws->sub_id != NULL && now < ws->wsc_valid_until;
	char *url = rc_wsg_connect_url(tok->uri, tok->ws_access_token, recover ? ws->wsc_token : NULL);

	err[0] = '\0';
	if (url == NULL || rc_ws_client_connect(ws->client, url, err, sizeof(err)) != 0) {
		ws->phase = WS_IDLE;
		ws->reconnect_at = now + rc_backoff_fail(&ws->backoff, rc_rng_next(ws->env.rng));
		rc_sink_error(ws->env.sink, RC_LOG_WARNING, "WebSocket connection failed: %s",
				err[0] ? err : "out of memory");
	} else {
		if (ws->ever_connected)
			rc_sink_count(ws->env.sink, RC_COUNT_RECONNECTS);
		ws->ever_connected = true;
		ws->recovering = recover;
		ws->phase = WS_CONNECTING;
		/* A backstop, a second later than the client's own limit on its name lookup (also
		 * request_timeout), so that a hung lookup is reported as such ("looking up <host>
		 * took longer than ...") rather than as a connect that took too long. */
		ws->deadline = now + ws->env.cfg->request_timeout * 1000 + WS_CONNECT_BACKSTOP_MS;
		rc_sink_log(ws->env.sink, RC_LOG_INFO, "connecting to the WebSocket gateway%s",
				recover ? " (recovering the session)" : "");
	}
	if (url != NULL) {
		OPENSSL_cleanse(url, strlen(url));
		free(url);
	}
}

static void ws_channel(void *t, struct rc_transport_channel *out)
{
	struct websocket *ws = t;

	*out = (struct rc_transport_channel){
		.up = ws->phase == WS_READY,
		.session = ws->session,
		.resumed = ws->resumed,
		.wants_token = ws->phase == WS_WAIT_TOKEN,
	};
}

static void ws_step(void *t, int64_t now, int64_t *wake)
{
	struct websocket *ws = t;

	if (ws->stopping)
		return;
	switch (ws->phase) {
	case WS_IDLE:
		if (now >= ws->reconnect_at) {
			ws->phase = WS_WAIT_TOKEN; /* the lifecycle fetches one on the next turn */
			ws__lower(wake, now);
		} else {
			ws__lower(wake, ws->reconnect_at);
		}
		break;
	case WS_WAIT_TOKEN:
		break;
	case WS_CONNECTING:
	case WS_GREETING:
		if (!rc_ws_client_active(ws->client)) {
			/* It ended without telling us (a failure inside the connect call). */
			ws->phase = WS_IDLE;
			ws->reconnect_at = now + rc_backoff_fail(&ws->backoff, rc_rng_next(ws->env.rng));
			ws__lower(wake, ws->reconnect_at);
		} else if (now >= ws->deadline) {
			char what[80];
			snprintf(what, sizeof(what), "%s took longer than %ld s", ws__phase_name(ws->phase),
					ws->env.cfg->request_timeout);
			rc_ws_client_abort(ws->client, what);
		} else {
			ws__lower(wake, ws->deadline);
		}
		break;
	case WS_READY: {
		bool room = rc_sink_room(ws->env.sink) >= WS_MIN_ROOM;
		if (room == ws->paused) {
			ws->paused = !room;
			rc_ws_client_pause(ws->client, ws->paused);
		}
		ws__keepalive(ws, now, wake);
		if (ws->phase != WS_READY)
			break;
		if (ws->req_act != RC_ACT_NONE) {
			if (now >= ws->req_deadline) {
				char what[120];
				snprintf(what, sizeof(what), "no answer to %s subscription within %ld s",
						ws__method(ws->req_act), ws->env.cfg->request_timeout);
				rc_ws_client_abort(ws->client, what);
			} else {
				ws__lower(wake, ws->req_deadline);
			}
		}
		if (ws->paused)
			ws__lower(wake, now + WS_PAUSED_WAKE_MS);
		break;
	}
	}
}

static int ws_wait(void *t, struct curl_waitfd *fd, int *max_wait_ms)
{
	struct websocket *ws = t;
	int rc = rc_ws_client_wait(ws->client, fd, max_wait_ms);

	/* While reading is paused the socket stays readable: do not spin on it. */
	if (rc == 0 && ws->paused)
		return -1;
	return rc;
}

static void ws_service(void *t)
{
	struct websocket *ws = t;

	rc_ws_client_service(ws->client);
}

static bool ws_online(void *t)
{
	struct websocket *ws = t;

	return ws->phase == WS_READY;
}

static void ws_begin_stop(void *t)
{
	struct websocket *ws = t;

	ws->stopping = true;
	/* The answer to the DELETE must be read even if the outbox is full (what does not fit
	 * is counted as dropped: the broker is going away). */
	if (ws->paused) {
		ws->paused = false;
		rc_ws_client_pause(ws->client, false);
	}
	/* Before READY there is no subscription on this socket to delete; once READY, the
	 * lifecycle deletes it over the socket and then closes (ws_close). */
	if (ws->phase != WS_READY)
		rc_ws_client_abort(ws->client, "shutting down");
}

static void ws_close(void *t)
{
	struct websocket *ws = t;

	if (rc_ws_client_active(ws->client))
		rc_ws_client_close(ws->client);
}

static bool ws_stopped(void *t)
{
	struct websocket *ws = t;

	return !rc_ws_client_active(ws->client);
}

const struct rc_transport_ops rc_transport_websocket = {
	.name = "websocket",
	.rest_delivery_type = NULL,
	.create = ws_create,
	.destroy = ws_destroy,
	.attach = ws_attach,
	.request = ws_request,
	.take_answer = ws_take_answer,
	.open = ws_open,
	.channel = ws_channel,
	.step = ws_step,
	.wait = ws_wait,
	.service = ws_service,
	.online = ws_online,
	.begin_stop = ws_begin_stop,
	.close = ws_close,
	.stopped = ws_stopped,
};
