/* transport_pubnub.c - PubNub delivery: the subscription's channel, long-polled.
 *
 * The subscription itself is the lifecycle's (REST create, renew, modify, delete); this
 * transport only reads the PubNub channel the server attached to it. One long-poll at a
 * time, started when a channel is attached and the outbox has room for a full batch, so a
 * slow broker slows the fetching instead of losing messages. The timetoken cursor makes
 * every poll continue exactly where the previous one ended, across failures and (with
 * state_file) restarts; what is saved is the last position whose notifications all
 * entered the broker (rc_checkpoint.h), not the newest. Failed polls back off. A 403 means the channel is no longer ours:
 * the channel is reported refused and the lifecycle replaces the subscription.
 *
 * A poll that ends in curl's timeout is the normal "nothing arrived" only if it really
 * was connected and waited: a connect or TLS handshake that never completes (a black-holed
 * origin) ends the same way and is a failure. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "rc_backoff.h"
#include "rc_checkpoint.h"
#include "rc_clock.h"
#include "rc_http.h"
#include "rc_pubnub.h"
#include "rc_version.h"
#include "transport.h"

#define PN_SDK RC_USER_AGENT      /* pnsdk: which client polls, as PubNub's SDKs name theirs */
#define PN_BATCH 100                 /* PubNub answers at most this many messages */
#define PN_ROOM_WAKE_MS 20           /* while the broker is behind, look again this soon */
#define PN_BACKOFF_BASE_MS 1000
#define PN_BACKOFF_CAP_MS 30000

struct pubnub {
	struct rc_transport_env env;
	char uuid[40];                    /* identifies this bridge to PubNub for the whole run */

	/* The attached channel (copied from the subscription); NULL: none. */
	char *address;
	char *subscriber_key;
	int64_t creation_ms;
	bool refused;                     /* PubNub answered 403 for it */

	struct rc_http poll;
	bool busy;
	bool failing;                     /* the last poll failed: not online until one succeeds */
	int64_t not_before;
	struct rc_backoff backoff;
	struct rc_pubnub_cursor cursor;   /* tt "0": no position yet */
	struct rc_checkpoint saveable;    /* the position a restart may continue from */
	bool moved;                       /* it moved since the state was last saved */

	/* From the state file: where the previous run stopped, on which channel. */
	char *resume_address;
	struct rc_pubnub_cursor resume_cursor;

	bool stopping;
};

static void pn__stop_poll(struct pubnub *p)
{
	if (!p->busy)
		return;
	curl_multi_remove_handle(p->env.multi, p->poll.easy);
	rc_http_reset(&p->poll);
	p->busy = false;
}

static void pn__done(void *arg, struct rc_http *h);

static void pn__start_poll(struct pubnub *p, int64_t now)
{
	const struct rc_config *cfg = p->env.cfg;
	char *url = rc_pubnub_subscribe_url(cfg->pubnub_origin, p->subscriber_key, p->address,
			&p->cursor, p->uuid, PN_SDK);
	struct rc_http_target t = {
		.method = "GET",
		.url = url,
		.cafile = cfg->cafile,
		.timeout_s = cfg->poll_timeout,
		/* A full batch of maximal notifications, base64 and JSON overhead included. */
		.max_answer = PN_BATCH * (cfg->max_notification_size * 2 + 1024),
		.on_done = pn__done,
		.done_arg = p,
	};

	if (url == NULL || rc_http_prepare(&p->poll, &t) != 0 ||
			curl_multi_add_handle(p->env.multi, p->poll.easy) != CURLM_OK) {
		rc_http_reset(&p->poll);
		p->not_before = now + PN_BACKOFF_BASE_MS;
	} else {
		p->busy = true;
	}
	free(url);
}

static void pn__deliver(struct pubnub *p, const struct rc_pubnub_response *r, int64_t now)
{
	for (size_t i = 0; i < r->n_messages; i++) {
		int is_string = 0;
		const char *str = NULL;
		size_t len = 0;
		json_object *obj = NULL;

		if (rc_pubnub_message_payload(r, i, &is_string, &str, &len, &obj) != 0)
			rc_sink_drop(p->env.sink, RC_DROP_BAD_PAYLOAD, "", now);
		else
			rc_sink_deliver(p->env.sink, is_string ? str : NULL, len, is_string ? NULL : obj, now);
	}
}

static void pn__failed(struct pubnub *p, int64_t now, const char *what)
{
	int64_t delay = rc_backoff_fail(&p->backoff, rc_rng_next(p->env.rng));

	p->not_before = now + delay;
	p->failing = true;
	rc_sink_error(p->env.sink, RC_LOG_WARNING, "PubNub poll failed: %s (retrying in %" PRId64 " ms)",
			what, delay);
}

/* A first poll (tt=0) answers with the channel's current timetoken, so whatever was
 * published between the subscription's creation and that answer would be skipped. PubNub
 * timetokens count 100 ns units since the epoch, so when the server's token looks like
 * one, move the cursor back to just before the subscription was created: the next poll
 * then fetches that window from PubNub's cache (a new channel holds nothing older, and
 * de-duplication absorbs any overlap). Tokens of another shape are left alone. */
static void pn__cover_first_poll_gap(struct pubnub *p)
{
	char *end;
	unsigned long long now_tt = strtoull(p->cursor.tt, &end, 10);
	int64_t created_ms = p->creation_ms;

	if (created_ms <= 0 || *end != '\0' || strlen(p->cursor.tt) != 17)
		return;
	unsigned long long created_tt = (unsigned long long)(created_ms - 5000) * 10000ULL;
	int64_t skew_ms = (int64_t)(now_tt / 10000ULL) - created_ms;
	if (skew_ms < -86400000LL || skew_ms > 86400000LL || created_tt >= now_tt)
		return;
	snprintf(p->cursor.tt, sizeof(p->cursor.tt), "%llu", created_tt);
}

static void pn__answer(struct pubnub *p, struct rc_http *h, int64_t now)
{
	struct rc_pubnub_response r;
	enum rc_pubnub_result pr = rc_pubnub_parse(h->body, h->body_len, &r);

	if (pr != RC_PUBNUB_OK) {
		pn__failed(p, now, rc_pubnub_strerror(pr));
		return;
	}
	bool first = strcmp(p->cursor.tt, "0") == 0;
	pn__deliver(p, &r, now);
	p->cursor = r.next;
	if (first)
		pn__cover_first_poll_gap(p);
	rc_checkpoint_mark(&p->saveable, &p->cursor, rc_sink_mark(p->env.sink));
	rc_pubnub_response_clear(&r);
	rc_backoff_reset(&p->backoff);
	if (p->failing || first) {
		p->failing = false;
		rc_sink_changed(p->env.sink); /* online now */
	}
}

static void pn__done(void *arg, struct rc_http *h)
{
	struct pubnub *p = arg;
	int64_t now = rc_clock_now_ms();
	char what[300];

	rc_http_describe(h, what, sizeof(what));
	if (h->result == CURLE_OPERATION_TIMEDOUT && h->status == 0 && h->connected) {
		/* A long-poll that was connected and saw nothing is normal: poll again at once. */
	} else if (h->result != CURLE_OK) {
		pn__failed(p, now, what);
	} else if (h->status == 403) {
		/* The channel is no longer ours: the subscription is dead, make a new one. */
		p->refused = true;
		p->failing = true;
		rc_sink_error(p->env.sink, RC_LOG_WARNING,
				"PubNub refused the channel (%s); re-creating the subscription", what);
	} else if (h->status != 200) {
		pn__failed(p, now, what);
	} else {
		pn__answer(p, h, now);
	}
	curl_multi_remove_handle(p->env.multi, h->easy);
	rc_http_reset(h);
	p->busy = false;
}

/* ---------------------------------------------------------------- operations */

static void *pn_create(const struct rc_transport_env *env, char *err, size_t errlen)
{
	struct pubnub *p = calloc(1, sizeof(*p));

	if (p == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	p->env = *env;
	rc_backoff_init(&p->backoff, PN_BACKOFF_BASE_MS, PN_BACKOFF_CAP_MS);
	strcpy(p->cursor.tt, "0");
	rc_checkpoint_reset(&p->saveable, &p->cursor);
	rc_rng_uuid(env->rng, p->uuid, sizeof(p->uuid));
	return p;
}

static void pn__detach(struct pubnub *p)
{
	pn__stop_poll(p);
	free(p->address);
	free(p->subscriber_key);
	p->address = p->subscriber_key = NULL;
	p->refused = false;
}

static void pn_destroy(void *t)
{
	struct pubnub *p = t;

	if (p == NULL)
		return;
	pn__detach(p);
	free(p->resume_address);
	free(p);
}

static void pn_restore(void *t, const struct rc_saved_state *s)
{
	struct pubnub *p = t;

	free(p->resume_address);
	p->resume_address = s->address != NULL ? strdup(s->address) : NULL;
	p->resume_cursor = s->cursor;
}

static void pn__settle(struct pubnub *p)
{
	if (rc_checkpoint_settle(&p->saveable, rc_sink_confirmed(p->env.sink)))
		p->moved = true;
}

static void pn_save(void *t, struct rc_saved_state *s)
{
	struct pubnub *p = t;

	/* Before the saved subscription is confirmed, its saved position is still the one. */
	pn__settle(p);
	s->address = p->address != NULL ? p->address : p->resume_address;
	s->cursor = p->address != NULL ? p->saveable.safe : p->resume_cursor;
}

static bool pn_moved(void *t)
{
	struct pubnub *p = t;
	bool moved;

	pn__settle(p);
	moved = p->moved;
	p->moved = false;
	return moved;
}

static void pn_attach(void *t, const struct rc_subscription *sub, enum rc_lc_action how)
{
	struct pubnub *p = t;
	bool same = sub != NULL && sub->address != NULL && p->address != NULL &&
			strcmp(sub->address, p->address) == 0;

	/* A renewal or modification keeps the channel and the poll in flight on it. */
	if (same && how != RC_ACT_CREATE && how != RC_ACT_RESUME) {
		p->creation_ms = sub->creation_ms;
		return;
	}
	/* Anything else starts reading afresh: whatever poll was in flight belonged to the
	 * old channel (or the old subscription) and must not hold up the new one. */
	pn__detach(p);
	p->failing = false;
	p->not_before = 0;
	rc_backoff_reset(&p->backoff);
	strcpy(p->cursor.tt, "0");
	p->cursor.tr = 0;
	rc_checkpoint_reset(&p->saveable, &p->cursor);
	p->moved = true;
	if (sub == NULL || sub->address == NULL || sub->subscriber_key == NULL)
		return;
	p->address = strdup(sub->address);
	p->subscriber_key = strdup(sub->subscriber_key);
	p->creation_ms = sub->creation_ms;
	if (p->address == NULL || p->subscriber_key == NULL) {
		pn__detach(p);
		rc_sink_error(p->env.sink, RC_LOG_ERR, "out of memory attaching the PubNub channel");
		return;
	}
	/* Continue where the previous run stopped, if it is still the same channel. */
	if (how == RC_ACT_RESUME && p->resume_address != NULL &&
			strcmp(p->resume_address, p->address) == 0)
		p->cursor = p->resume_cursor;
	rc_checkpoint_reset(&p->saveable, &p->cursor);
	free(p->resume_address);
	p->resume_address = NULL;
}

static void pn_channel(void *t, struct rc_transport_channel *out)
{
	struct pubnub *p = t;

	*out = (struct rc_transport_channel){ .up = true, .refused = p->refused };
}

/* The poll in flight got its request out: connection and TLS are up again, so a channel
 * that was failing works again, even before a notification ends the long-poll. */
static void pn__check_recovered(struct pubnub *p)
{
	curl_off_t sent_after_us = 0;

	if (p->failing && !p->refused &&
			curl_easy_getinfo(p->poll.easy, CURLINFO_PRETRANSFER_TIME_T, &sent_after_us) == CURLE_OK &&
			sent_after_us > 0) {
		p->failing = false;
		rc_backoff_reset(&p->backoff);
		rc_sink_changed(p->env.sink);
	}
}

static void pn_step(void *t, int64_t now, int64_t *wake)
{
	struct pubnub *p = t;

	if (p->busy)
		pn__check_recovered(p);
	if (p->stopping || p->busy || p->address == NULL || p->refused)
		return;
	if (now < p->not_before) {
		if (p->not_before < *wake)
			*wake = p->not_before;
	} else if (rc_sink_room(p->env.sink) >= PN_BATCH) {
		pn__start_poll(p, now);
	} else if (now + PN_ROOM_WAKE_MS < *wake) {
		/* The broker is behind: let it drain before fetching more. */
		*wake = now + PN_ROOM_WAKE_MS;
	}
}

static bool pn_online(void *t)
{
	struct pubnub *p = t;

	/* A position means that a notification sent from now on will be fetched. */
	return p->address != NULL && !p->refused && !p->failing && strcmp(p->cursor.tt, "0") != 0;
}

static void pn_begin_stop(void *t)
{
	struct pubnub *p = t;

	p->stopping = true;
	pn__stop_poll(p);
}

static void pn_close(void *t)
{
	pn__stop_poll(t);
}

static bool pn_stopped(void *t)
{
	struct pubnub *p = t;

	return !p->busy;
}

const struct rc_transport_ops rc_transport_pubnub = {
	.name = "pubnub",
	.rest_delivery_type = "PubNub",
	.create = pn_create,
	.destroy = pn_destroy,
	.restore = pn_restore,
	.save = pn_save,
	.moved = pn_moved,
	.attach = pn_attach,
	.channel = pn_channel,
	.step = pn_step,
	.online = pn_online,
	.begin_stop = pn_begin_stop,
	.close = pn_close,
	.stopped = pn_stopped,
};
