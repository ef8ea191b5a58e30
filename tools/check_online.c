/* check_online.c - mosquitto-ringcentral-check --online: ask RingCentral.
 *
 * Uses the configuration's own credentials and the plugin's own request code (rest_call.c
 * and http.c: the same URLs, bodies, TLS trust and timeouts as the running bridge; a
 * command-line tool can afford to block, so each request is one curl_easy_perform):
 *
 * 1. log in (POST /restapi/oauth/token with the configured grant);
 * 2. list the app's subscriptions (GET /restapi/v1.0/subscription), marking the ones this
 *    bridge's state_file names and the ones with exactly the configured filters;
 * 3. try the event filters the way the plugin will subscribe with them: with pubnub a
 *    REST POST with PubNub delivery; with websocket a wstoken, a connection to the gateway
 *    it names (ws_client.c) and a ClientRequest POST over it. The answer says which
 *    filters the server took and which it disabled (disabledFilters, e.g. for a missing
 *    permission); the test subscription is deleted at once. When the server refuses the
 *    set as a whole (a 400, e.g. SUB-508 invalid filters), each filter is tried alone, so
 *    that the finding names the one it refuses.
 *
 * The login session it opens is left to expire (revoking it is not needed, and revoke
 * ends the session for every token of it). */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include <json-c/json.h>
#include <openssl/crypto.h>
#include "check.h"
#include "rc_clock.h"
#include "rc_http.h"
#include "rc_logsafe.h"
#include "rc_random.h"
#include "rc_rest.h"
#include "rc_rest_call.h"
#include "rc_strlist.h"
#include "rc_ws_client.h"
#include "rc_json.h"
#include "rc_wsg.h"

#define ONLINE_MAX_ANSWER (1024 * 1024)
#define ONLINE_ALONE_MAX 30      /* filters tried one by one at most */
#define ONLINE_LIMIT_NEAR 18     /* RingCentral allows about 20 per extension and app */
#define SHOWN 512

/* One answer: an HTTP status (REST) or the WSG status of a ClientRequest answer. */
struct answer {
	long status;        /* 0: no answer at all; what says why */
	char *body;         /* may be NULL */
	size_t len;
	char what[SHOWN];
};

struct online {
	struct check *ck;
	const struct rc_config *cfg;
	char **filters;
	size_t n_filters;
	struct rc_token token;
	bool websocket;
	/* websocket: the connection the filters are tried on */
	struct rc_ws_client *ws;
	struct rc_rng rng;
	bool ws_ready;          /* ConnectionDetails arrived */
	bool ws_closed;
	char ws_what[256];      /* why it closed */
	char want_id[40];       /* messageId of the request in flight */
	struct answer *pending; /* where its answer goes; NULL once answered */
};

static void answer_clear(struct answer *a)
{
	if (a->body != NULL) {
		OPENSSL_cleanse(a->body, a->len);   /* a token answer holds secrets */
		free(a->body);
	}
	*a = (struct answer){0};
}

/* "HTTP 400 SUB-508: Invalid event filters", or why there was no answer. */
static const char *answer_describe(const struct answer *a, char *buf, size_t len)
{
	if (a->status == 0)
		snprintf(buf, len, "%s", a->what[0] ? a->what : "no answer");
	else
		rc_http_describe_status(a->status, a->body, a->len, buf, len);
	return buf;
}

static bool answer_ok(const struct answer *a)
{
	return a->status >= 200 && a->status < 300;
}

/* ---------------------------------------------------------------- REST */

static void online__rest(struct online *o, enum rc_lc_action act, const char *sub_id,
		char *const *filters, size_t n, struct answer *a)
{
	struct rc_http h;
	struct rc_rest_call call = {
		.cfg = o->cfg, .token = &o->token, .sub_id = sub_id, .filters = filters,
		.n_filters = n, .delivery_type = "PubNub", .timeout_s = o->cfg->request_timeout,
		.max_answer = ONLINE_MAX_ANSWER,
	};

	*a = (struct answer){0};
	if (rc_rest_call_prepare(&h, act, &call) != 0) {
		snprintf(a->what, sizeof(a->what), "cannot prepare the request (out of memory)");
		return;
	}
	rc_http_finish(&h, curl_easy_perform(h.easy));
	if (h.result != CURLE_OK || h.status == 0) {
		rc_http_describe(&h, a->what, sizeof(a->what));
	} else {
		a->status = h.status;
		a->body = h.body;      /* taken over: answer_clear wipes it */
		a->len = h.body_len;
		h.body = NULL;
		h.body_len = 0;
	}
	rc_http_reset(&h);
}

/* ---------------------------------------------------------------- WebSocket */

static void ws__on_open(void *arg)
{
	(void)arg;   /* ready only once ConnectionDetails arrives */
}

static void ws__on_text(void *arg, const char *buf, size_t len)
{
	struct online *o = arg;
	struct rc_wsg_frame f;
	/* A handful of frames per check: a reader each is fine here. */
	struct rc_json_reader reader;

	rc_wsg_reader_init(&reader);
	enum rc_wsg_result r = rc_wsg_parse(&reader, buf, len, &f);
	rc_json_reader_destroy(&reader);
	if (r != RC_WSG_OK)
		return;
	if (f.type == RC_WSG_CONNECTION_DETAILS) {
		o->ws_ready = true;
	} else if ((f.type == RC_WSG_CLIENT_REQUEST || f.type == RC_WSG_ERROR) && o->pending != NULL &&
			strcmp(f.message_id, o->want_id) == 0) {
		/* As transport_websocket.c takes it: no status means success, or 400 for Error. */
		struct answer *a = o->pending;
		const char *text = f.body_text;
		size_t tlen = f.body_len;
		if (text == NULL && f.body != NULL) {
			text = json_object_to_json_string(f.body);
			tlen = text != NULL ? strlen(text) : 0;
		}
		a->status = f.status != 0 ? f.status : (f.type == RC_WSG_ERROR ? 400 : 200);
		if (text != NULL && (a->body = strndup(text, tlen)) != NULL)
			a->len = tlen;
		o->pending = NULL;
	}
	rc_wsg_frame_clear(&f);
}

static void ws__on_too_large(void *arg, size_t len)
{
	(void)arg;
	(void)len;
}

static void ws__on_pong(void *arg)
{
	(void)arg;
}

static void ws__on_closed(void *arg, int code, const char *reason, const char *what)
{
	struct online *o = arg;
	char shown[RC_LOGSAFE_BUF];

	o->ws_closed = true;
	if (what != NULL && what[0] != '\0')
		snprintf(o->ws_what, sizeof(o->ws_what), "%s", what);
	else if (code != 0)
		snprintf(o->ws_what, sizeof(o->ws_what), "closed by the gateway (%d %s)", code,
				rc_logsafe_str(shown, sizeof(shown), reason != NULL ? reason : ""));
	else
		snprintf(o->ws_what, sizeof(o->ws_what), "connection lost");
}

static bool ws__ready(const struct online *o)
{
	return o->ws_ready;
}

static bool ws__answered(const struct online *o)
{
	return o->pending == NULL;
}

static bool ws__closed(const struct online *o)
{
	return o->ws_closed;
}

/* Services the connection until done(o), the connection's end or the deadline: waits on
 * its socket (poll), never a fixed sleep. */
static bool ws__pump(struct online *o, int64_t deadline, bool (*done)(const struct online *))
{
	while (!done(o) && !o->ws_closed) {
		int64_t now = rc_clock_now_ms();
		if (now >= deadline)
			return false;
		int wait = deadline - now > 1000 ? 1000 : (int)(deadline - now);
		struct curl_waitfd fd;
		if (rc_ws_client_wait(o->ws, &fd, &wait) == 0) {
			struct pollfd p = { fd.fd, POLLIN, 0 };
			poll(&p, 1, wait);
		} else if (wait > 0) {
			poll(NULL, 0, wait);   /* a name lookup in glibc's thread: look again soon */
		}
		rc_ws_client_service(o->ws);
	}
	return done(o);
}

/* Fetches a wstoken and connects; true once the gateway has greeted us. */
static bool ws__connect(struct online *o)
{
	static const struct rc_ws_callbacks cb_template = {
		ws__on_open, ws__on_text, ws__on_too_large, ws__on_pong, ws__on_closed, NULL,
	};
	struct rc_ws_callbacks cb = cb_template;
	struct rc_wstoken tok = {0};
	struct answer a;
	char why[SHOWN], err[256] = "";

	online__rest(o, RC_ACT_WSTOKEN, NULL, NULL, 0, &a);
	if (!answer_ok(&a) || rc_wstoken_parse(a.body, a.len, &tok, why, sizeof(why)) != 0) {
		if (!answer_ok(&a))
			answer_describe(&a, why, sizeof(why));
		check_report(o->ck, CHECK_ERROR, NULL, 0,
				"online: cannot get a WebSocket token (POST /restapi/oauth/wstoken): %s", why);
		answer_clear(&a);
		return false;
	}
	answer_clear(&a);
	cb.arg = o;
	o->ws = rc_ws_client_new(o->cfg->cafile, ONLINE_MAX_ANSWER, o->cfg->request_timeout, &cb,
			err, sizeof(err));
	char *url = o->ws != NULL ? rc_wsg_connect_url(tok.uri, tok.ws_access_token, NULL) : NULL;
	bool started = url != NULL && rc_ws_client_connect(o->ws, url, err, sizeof(err)) == 0;
	if (url != NULL) {
		OPENSSL_cleanse(url, strlen(url));   /* it carries the token */
		free(url);
	}
	rc_wstoken_clear(&tok);
	if (!started) {
		check_report(o->ck, CHECK_ERROR, NULL, 0, "online: cannot connect to the WebSocket gateway: %s",
				err[0] != '\0' ? err : "out of memory");
		return false;
	}
	if (!ws__pump(o, rc_clock_now_ms() + o->cfg->request_timeout * 1000, ws__ready)) {
		check_report(o->ck, CHECK_ERROR, NULL, 0, "online: the WebSocket gateway did not greet us "
				"within %ld s: %s", o->cfg->request_timeout,
				o->ws_closed ? o->ws_what : "no ConnectionDetails");
		return false;
	}
	check_report(o->ck, CHECK_OK, NULL, 0, "online: connected to the WebSocket gateway");
	return true;
}

/* One ClientRequest on the subscription resource; the answer in *a. */
static void ws__request(struct online *o, const char *method, const char *sub_id,
		char *const *filters, size_t n, struct answer *a)
{
	char path[SHOWN];
	json_object *body = NULL;

	*a = (struct answer){0};
	if (sub_id != NULL) {
		char *eid = rc_url_escape(sub_id);
		snprintf(path, sizeof(path), "/restapi/v1.0/subscription/%s", eid != NULL ? eid : "");
		curl_free(eid);
	} else {
		/* As the plugin writes it (and RingCentral's own WebSocket SDK). */
		snprintf(path, sizeof(path), "/restapi/v1.0/subscription/");
		char *text = rc_subscription_create_body(filters, n, 0, "WebSocket");
		body = text != NULL ? json_tokener_parse(text) : NULL;
		free(text);
		if (body == NULL) {
			snprintf(a->what, sizeof(a->what), "out of memory");
			return;
		}
	}
	rc_rng_uuid(&o->rng, o->want_id, sizeof(o->want_id));
	char *frame = rc_wsg_client_request(o->want_id, method, path, body);
	json_object_put(body);
	if (o->ws_closed || frame == NULL || rc_ws_client_send(o->ws, frame, strlen(frame)) != 0) {
		snprintf(a->what, sizeof(a->what), "WebSocket: %s", o->ws_closed ? o->ws_what : "cannot send");
		free(frame);
		return;
	}
	free(frame);
	o->pending = a;
	if (!ws__pump(o, rc_clock_now_ms() + o->cfg->request_timeout * 1000, ws__answered)) {
		o->pending = NULL;
		snprintf(a->what, sizeof(a->what), "WebSocket: %s", o->ws_closed ? o->ws_what :
				"no answer within request_timeout");
	}
}

static void ws__close(struct online *o)
{
	if (o->ws == NULL)
		return;
	if (!o->ws_closed) {
		rc_ws_client_close(o->ws);
		/* A clean close is polite, not needed: bounded to 2 s. */
		ws__pump(o, rc_clock_now_ms() + 2000, ws__closed);
	}
	rc_ws_client_free(o->ws);
	o->ws = NULL;
}

/* ---------------------------------------------------------------- steps */

static void online__create(struct online *o, char *const *filters, size_t n, struct answer *a)
{
	if (o->websocket)
		ws__request(o, "POST", NULL, filters, n, a);
	else
		online__rest(o, RC_ACT_CREATE, NULL, filters, n, a);
}

static void online__delete(struct online *o, const char *id, struct answer *a)
{
	if (o->websocket)
		ws__request(o, "DELETE", id, NULL, 0, a);
	else
		online__rest(o, RC_ACT_DELETE, id, NULL, 0, a);
}

static bool online__login(struct online *o)
{
	struct answer a;
	char why[SHOWN], server[SHOWN];
	const char *grant = o->cfg->auth_mode == RC_AUTH_JWT ? "JWT" : "password";

	rc_logsafe_str(server, sizeof(server), o->cfg->server);
	online__rest(o, RC_ACT_LOGIN, NULL, NULL, 0, &a);
	if (a.status == 0) {
		check_report(o->ck, CHECK_ERROR, NULL, 0, "online: cannot reach %s: %s", server, a.what);
	} else if (rc_http_outcome(a.status, CURLE_OK, true, a.body, a.len) == RC_OUT_BAD_GRANT) {
		check_report(o->ck, CHECK_ERROR, NULL, 0, "online: login to %s refused (%s grant): %s; "
				"check client_id, the client secret and the %s", server, grant,
				answer_describe(&a, why, sizeof(why)),
				o->cfg->auth_mode == RC_AUTH_JWT ? "JWT" : "username, extension and password");
	} else if (!answer_ok(&a)) {
		check_report(o->ck, CHECK_ERROR, NULL, 0, "online: login to %s failed: %s", server,
				answer_describe(&a, why, sizeof(why)));
	} else if (rc_token_parse(a.body, a.len, &o->token) != 0) {
		check_report(o->ck, CHECK_ERROR, NULL, 0, "online: %s answered the login with no usable "
				"access token", server);
	} else {
		check_report(o->ck, CHECK_OK, NULL, 0, "online: logged in to %s (%s grant)", server, grant);
		answer_clear(&a);
		return true;
	}
	answer_clear(&a);
	return false;
}

static void online__list(struct online *o, const struct rc_saved_state *saved)
{
	struct answer a;
	struct rc_subscription *subs = NULL;
	size_t n = 0;
	char why[SHOWN];

	online__rest(o, RC_ACT_LIST, NULL, NULL, 0, &a);
	if (!answer_ok(&a)) {
		check_report(o->ck, CHECK_ERROR, NULL, 0,
				"online: listing the subscriptions (GET /restapi/v1.0/subscription) failed: %s",
				answer_describe(&a, why, sizeof(why)));
		answer_clear(&a);
		return;
	}
	int rc = rc_subscription_list_parse(a.body, a.len, &subs, &n);
	answer_clear(&a);
	if (rc != 0) {
		check_report(o->ck, CHECK_ERROR, NULL, 0,
				"online: unreadable answer to GET /restapi/v1.0/subscription");
		return;
	}
	/* RingCentral lists the subscriptions of the app and the user that logged in. */
	check_report(o->ck, n >= ONLINE_LIMIT_NEAR ? CHECK_WARNING : CHECK_OK, NULL, 0,
			"online: %zu subscription(s) of this app for this user%s", n,
			n >= ONLINE_LIMIT_NEAR ? ", close to RingCentral's limit of about 20; "
			"delete those nobody uses" : "");
	for (size_t i = 0; i < n; i++) {
		const struct rc_subscription *s = &subs[i];
		char id[RC_LOGSAFE_BUF], transport[RC_LOGSAFE_BUF], status[RC_LOGSAFE_BUF];
		char expires[RC_LOGSAFE_BUF];
		const char *whose = "";
		if (saved != NULL && saved->subscription_id != NULL &&
				strcmp(saved->subscription_id, s->id) == 0)
			whose = "; this bridge's, from its state_file";
		else if (saved != NULL && rc_strlist_contains(saved->owned, saved->n_owned, s->id))
			whose = "; created by this bridge (state_file)";
		else if (rc_strlist_same_set(s->event_filters, s->n_event_filters, o->filters,
				o->n_filters))
			whose = "; the same filters as this configuration";
		check_report(o->ck, CHECK_OK, NULL, 0, "online: subscription %s: %s, %s, expires %s, "
				"%zu filter(s)%s", rc_logsafe_str(id, sizeof(id), s->id),
				rc_logsafe_str(transport, sizeof(transport), s->transport_type != NULL ?
						s->transport_type : "unknown transport"),
				rc_logsafe_str(status, sizeof(status), s->status != NULL ? s->status : "no status"),
				rc_logsafe_str(expires, sizeof(expires), s->expiration_time),
				s->n_event_filters, whose);
	}
	for (size_t i = 0; i < n; i++)
		rc_subscription_clear(&subs[i]);
	free(subs);
}

static bool online__listed(char *const *list, size_t n, const char *f)
{
	return list != NULL && rc_strlist_contains(list, n, f);
}

/* A test subscription was created with `sent`: what did the server make of each filter?
 * Then it is deleted again. */
static void online__judge(struct online *o, char *const *sent, size_t n_sent, struct answer *a)
{
	struct rc_subscription s;
	struct answer del;
	char f[SHOWN], why[SHOWN], reason[RC_LOGSAFE_BUF];
	const char *how = o->websocket ? "over the WebSocket gateway" : "over REST, PubNub delivery";

	if (rc_subscription_parse(a->body, a->len, &s) != 0) {
		check_report(o->ck, CHECK_ERROR, NULL, 0, "online: unreadable answer to the test "
				"subscription %s", how);
		return;
	}
	/* Deleted first, so that no finding below can leave it behind. */
	online__delete(o, s.id, &del);
	if (!answer_ok(&del))
		check_report(o->ck, CHECK_WARNING, NULL, 0, "online: could not delete the test "
				"subscription %s: %s; it ends by itself at %s", rc_logsafe_str(f, sizeof(f), s.id),
				answer_describe(&del, why, sizeof(why)),
				rc_logsafe_str(reason, sizeof(reason), s.expiration_time));
	answer_clear(&del);
	if (s.status != NULL && strcmp(s.status, "Active") != 0)
		check_report(o->ck, CHECK_ERROR, NULL, 0, "online: the server made the test "
				"subscription %s with status %s", how, rc_logsafe_str(reason, sizeof(reason), s.status));
	for (size_t i = 0; i < n_sent; i++) {
		const struct rc_disabled_filter *d = NULL;
		for (size_t k = 0; k < s.n_disabled; k++)
			if (strcmp(s.disabled[k].filter, sent[i]) == 0)
				d = &s.disabled[k];
		rc_logsafe_str(f, sizeof(f), sent[i]);
		if (d != NULL)
			check_report(o->ck, CHECK_ERROR, NULL, 0, "online: event filter %s: disabled by the "
					"server (%s); the bridge would never receive it", f,
					d->reason != NULL ? rc_logsafe_str(reason, sizeof(reason), d->reason) :
					"no reason given");
		else if (online__listed(s.event_filters, s.n_event_filters, sent[i]))
			check_report(o->ck, CHECK_OK, NULL, 0, "online: event filter %s: accepted (test "
					"subscription %s, deleted again)", f, how);
		else
			check_report(o->ck, CHECK_WARNING, NULL, 0, "online: event filter %s: not in the "
					"server's answer; it may have rewritten it", f);
	}
	rc_subscription_clear(&s);
}

static void online__filters(struct online *o)
{
	struct answer a;
	char why[SHOWN], f[SHOWN];

	if (o->websocket && !ws__connect(o)) {
		ws__close(o);
		return;
	}
	online__create(o, o->filters, o->n_filters, &a);
	if (answer_ok(&a)) {
		online__judge(o, o->filters, o->n_filters, &a);
	} else if (a.status == 400 && o->n_filters > 1 && o->n_filters <= ONLINE_ALONE_MAX) {
		/* Refused as a set: which one is it? */
		for (size_t i = 0; i < o->n_filters; i++) {
			struct answer one;
			online__create(o, &o->filters[i], 1, &one);
			if (answer_ok(&one))
				online__judge(o, &o->filters[i], 1, &one);
			else
				check_report(o->ck, CHECK_ERROR, NULL, 0, "online: event filter %s: refused by "
						"the server: %s", rc_logsafe_str(f, sizeof(f), o->filters[i]),
						answer_describe(&one, why, sizeof(why)));
			answer_clear(&one);
		}
	} else if (a.status == 400 && o->n_filters == 1) {
		check_report(o->ck, CHECK_ERROR, NULL, 0, "online: event filter %s: refused by the "
				"server: %s", rc_logsafe_str(f, sizeof(f), o->filters[0]),
				answer_describe(&a, why, sizeof(why)));
	} else {
		check_report(o->ck, CHECK_ERROR, NULL, 0, "online: cannot try the event filters: %s%s",
				answer_describe(&a, why, sizeof(why)),
				rc_http_outcome(a.status, CURLE_OK, false, a.body, a.len) == RC_OUT_LIMIT ?
				" (the subscription limit: delete subscriptions nobody uses)" : "");
	}
	answer_clear(&a);
	ws__close(o);
}

void check_online(struct check *ck, const struct rc_config *cfg,
		const struct rc_saved_state *saved)
{
	struct online o = { .ck = ck, .cfg = cfg };
	char err[SHOWN];

	o.websocket = cfg->transport == RC_TRANSPORT_WEBSOCKET;
	if (rc_filters_effective(cfg, &o.filters, &o.n_filters, err, sizeof(err)) != 0) {
		check_report(ck, CHECK_ERROR, NULL, 0, "online: %s", err);
		return;
	}
	if (rc_rng_init(&o.rng) != 0) {
		check_report(ck, CHECK_ERROR, NULL, 0, "online: no entropy for request ids");
	} else if (online__login(&o)) {
		online__list(&o, saved);
		online__filters(&o);
	}
	rc_token_clear(&o.token);
	rc_strlist_free(o.filters);
}
