/* pubnub_delivery.c - PubNub delivery: the subscription's channel, long-polled.
 *
 * The subscription itself is the lifecycle's (REST create, renew, modify, delete); this
 * file only reads its PubNub channel. One long-poll at a time, started when the
 * subscription is live and the outbox has room for a full batch, so a slow broker slows
 * fetching instead of losing messages. The timetoken cursor makes every poll continue
 * exactly where the previous one ended, across failures and (with state_file) restarts.
 * Failed polls back off; a 403 means the channel is no longer ours, so the lifecycle
 * recreates the subscription. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "worker_internal.h"

#define RC_PNSDK "mosquitto-ringcentral/0.1"
#define RC_POLL_BATCH 100            /* PubNub answers at most this many messages */

void rc_pnd_stop(struct rc_worker *w)
{
	if (!w->poll_busy)
		return;
	curl_multi_remove_handle(w->multi, w->poll.easy);
	rc_http_reset(&w->poll);
	w->poll_busy = false;
}

static void pnd__start_poll(struct rc_worker *w)
{
	char *url = rc_pubnub_subscribe_url(w->cfg->pubnub_origin, w->sub.subscriber_key,
			w->sub.address, &w->cursor, w->pubnub_uuid, RC_PNSDK);
	struct rc_http_target t = {
		.method = "GET",
		.url = url,
		.cafile = w->cfg->cafile,
		.timeout_s = w->cfg->poll_timeout,
		/* A full batch of maximal notifications, base64 and JSON overhead included. */
		.max_answer = RC_POLL_BATCH * (w->cfg->max_notification_size * 2 + 1024),
	};

	if (url == NULL || rc_http_prepare(&w->poll, &t) != 0 ||
			curl_multi_add_handle(w->multi, w->poll.easy) != CURLM_OK) {
		rc_http_reset(&w->poll);
		w->poll_not_before = rc_worker_now() + 1000;
	} else {
		w->poll_busy = true;
	}
	free(url);
}

static void pnd__deliver(struct rc_worker *w, const struct rc_pubnub_response *r, int64_t now)
{
	for (size_t i = 0; i < r->n_messages; i++) {
		int is_string = 0;
		const char *str = NULL;
		size_t len = 0;
		json_object *obj = NULL;

		if (rc_pubnub_message_payload(r, i, &is_string, &str, &len, &obj) != 0)
			rc_worker_drop(w, RC_DROP_BAD_PAYLOAD, "", now);
		else
			rc_worker_deliver_one(w, is_string ? str : NULL, len, is_string ? NULL : obj, now);
	}
}

static void pnd__poll_failed(struct rc_worker *w, int64_t now, const char *what)
{
	int64_t delay = rc_backoff_fail(&w->poll_backoff, rc_worker_random(w));
	char msg[400];

	w->poll_not_before = now + delay;
	snprintf(msg, sizeof(msg), "PubNub poll failed: %s", what);
	rc_outbox_log(w->outbox, RC_LOG_WARNING, "ringcentral: %s; retrying in %" PRId64 " ms",
			msg, delay);
	w->poll_failing = true;
	rc_worker_publish_status(w, msg);
}

/* A first poll (tt=0) answers with the channel's current timetoken, so whatever was
 * published between the subscription's creation and that answer would be skipped. PubNub
 * timetokens count 100 ns units since the epoch, so when the server's token looks like
 * one, move the cursor back to just before the subscription was created: the next poll
 * then fetches that window from PubNub's cache (a new channel holds nothing older, and
 * de-duplication absorbs any overlap). Tokens of another shape are left alone. */
static void pnd__cover_first_poll_gap(struct rc_worker *w)
{
	char *end;
	unsigned long long now_tt = strtoull(w->cursor.tt, &end, 10);
	int64_t created_ms = w->sub.creation_ms;

	if (created_ms <= 0 || *end != '\0' || strlen(w->cursor.tt) != 17)
		return;
	unsigned long long created_tt = (unsigned long long)(created_ms - 5000) * 10000ULL;
	int64_t skew_ms = (int64_t)(now_tt / 10000ULL) - created_ms;
	if (skew_ms < -86400000LL || skew_ms > 86400000LL || created_tt >= now_tt)
		return;
	snprintf(w->cursor.tt, sizeof(w->cursor.tt), "%llu", created_tt);
}

void rc_pnd_done(struct rc_worker *w, int64_t now)
{
	struct rc_http *h = &w->poll;
	char what[300];

	rc_http_describe(h, what, sizeof(what));
	if (h->result == CURLE_OPERATION_TIMEDOUT && h->status == 0) {
		/* A long-poll that saw nothing is normal: poll again at once. */
	} else if (h->result != CURLE_OK) {
		pnd__poll_failed(w, now, what);
	} else if (h->status == 403) {
		/* The channel is no longer ours: the subscription is dead, make a new one. */
		rc_outbox_log(w->outbox, RC_LOG_WARNING,
				"ringcentral: PubNub refused the channel (%s); re-creating the subscription", what);
		rc_lifecycle_transport_failed(&w->lc);
		w->poll_failing = true;
		rc_worker_publish_status(w, "PubNub refused the channel");
	} else if (h->status != 200) {
		pnd__poll_failed(w, now, what);
	} else {
		struct rc_pubnub_response r;
		enum rc_pubnub_result pr = rc_pubnub_parse(h->body, h->body_len, &r);
		if (pr != RC_PUBNUB_OK) {
			pnd__poll_failed(w, now, rc_pubnub_strerror(pr));
		} else {
			bool first = strcmp(w->cursor.tt, "0") == 0;
			pnd__deliver(w, &r, now);
			if (strcmp(w->cursor.tt, r.next.tt) != 0)
				w->state_dirty = true;
			w->cursor = r.next;
			if (first)
				pnd__cover_first_poll_gap(w);
			rc_pubnub_response_clear(&r);
			rc_backoff_reset(&w->poll_backoff);
			if (w->poll_failing || !w->last_online) {
				w->poll_failing = false;
				rc_worker_publish_status(w, NULL);
			}
		}
	}
	curl_multi_remove_handle(w->multi, h->easy);
	rc_http_reset(h);
	w->poll_busy = false;
}

void rc_pnd_step(struct rc_worker *w, int64_t now, int64_t *wake)
{
	if (w->stopping || w->poll_busy || w->lc.state != RC_LC_ACTIVE || w->sub.address == NULL)
		return;
	if (now < w->poll_not_before) {
		if (w->poll_not_before < *wake)
			*wake = w->poll_not_before;
	} else if (rc_outbox_room(w->outbox) >= RC_POLL_BATCH) {
		pnd__start_poll(w);
	} else {
		/* The broker is behind: let it drain before fetching more. */
		if (now + 20 < *wake)
			*wake = now + 20;
	}
}
