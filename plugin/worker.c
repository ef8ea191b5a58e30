/* worker.c - the bridge's worker thread (see rc_worker.h).
 *
 * Each turn of the loop: take commands from the broker thread (stop, reload); bring the
 * transport's channel state into the lifecycle; ask the lifecycle what request is due and
 * start it (a REST call here, or a request over the transport's channel); let the
 * transport do its part (transport.h: the worker never asks which transport it drives);
 * let curl and the transport's socket work; take whatever finished; derive the status;
 * then sleep in curl_multi_poll() until a socket is ready, a timer is due or the broker
 * thread wakes us.
 *
 * Every answer, REST or channel, ends in worker__finish(): one classification of the
 * outcome, one place that adopts a subscription answer, one report to the lifecycle.
 * Everything runs on the worker thread; the only state shared with the broker thread is
 * the outbox (with its status) and the command flags, both under mutexes. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include "rc_api.h"
#include "rc_clock.h"
#include "rc_discovery.h"
#include "rc_ha_state.h"
#include "rc_control_exec.h"
#include "rc_http.h"
#include "rc_lifecycle.h"
#include "rc_logsafe.h"
#include "rc_random.h"
#include "rc_rest.h"
#include "rc_rest_call.h"
#include "rc_sink.h"
#include "rc_state_file.h"
#include "rc_strlist.h"
#include "rc_subscription.h"
#include "rc_worker.h"
#include "transport.h"

/* Discovery configs a full outbox refused are all sent again after this long. */
#define RC_HA_RETRY_MS 5000
#define RC_DEDUPE_CAPACITY 20000
#define RC_REST_MAX_ANSWER (4 * 1024 * 1024)
#define RC_STOP_BUDGET_MS 3500       /* shutdown must finish within a few seconds */
#define RC_STOP_DELETE_TIMEOUT_S 3
#define RC_STATE_SAVE_INTERVAL_MS 10000
#define RC_IDLE_WAKE_MS 1000
#define RC_REFRESH_TOKEN_DEFAULT_S 604800
/* The API door (rc_api.h) and the control API's request queue (rc_control_exec.h). */
#define RC_API_MAX_QUEUED 16
#define RC_API_MAX_RUNNING 2
#define RC_API_QUEUE_TIMEOUT_MS 60000
#define RC_CONTROL_MAX_QUEUED 8
#define RC_CONTROL_MIN_TIMEOUT_MS 60000

struct rc_worker {
	const struct rc_config *cfg;
	struct rc_outbox *outbox;
	pthread_t thread;
	bool started;

	pthread_mutex_t cmd_lock;
	bool cmd_stop;
	bool cmd_reload;
	bool cmd_rediscover;          /* Home Assistant announced itself: publish discovery again */
	int64_t ha_retry_at;          /* discovery configs did not fit the outbox: again then (0: no) */

	CURLM *multi;
	struct rc_rng rng;
	struct rc_sink sink;
	struct rc_lifecycle lc;

	/* The transport, chosen once. */
	const struct rc_transport_ops *ops;
	void *transport;
	unsigned channel_session;     /* the channel session the lifecycle last heard of */

	/* The REST exchange in flight, if the lifecycle's action is a REST call. */
	struct rc_http rest;
	bool rest_busy;
	char **sent;                  /* the filters the CREATE/MODIFY in flight carries */
	size_t n_sent;

	struct rc_token token;
	struct rc_sub_slot slot;      /* the live subscription as the server last described it */
	char *resume_id;              /* a saved subscription id to confirm */
	unsigned lost_seen;           /* lifecycle losses already reported */

	/* Filters: what we want (the server's acceptance is in slot). */
	char **desired;
	size_t n_desired;

	/* Orphans (of ours: see rc_sub_find_orphans) found by a LIST, deleted one per
	 * DELETE_ORPHAN. */
	char **orphans;
	size_t n_orphans;

	/* Home Assistant discovery (homeassistant true): what was published (device config
	 * topics and their entities, rc_discovery.h) and whom `~` stands for. */
	char **ha_keys;
	size_t n_ha_keys;
	char *owner_id;
	struct rc_ha_state *ha;       /* names and presence over REST (NULL: homeassistant off) */
	/* REST calls besides the lifecycle's, and the control API's and command topics'
	 * commands (NULL when neither is on). */
	struct rc_api *api;
	struct rc_ctl *ctl;

	bool stopping;
	bool closed;                  /* the transport was told to close */
	int64_t stop_deadline;
	bool state_dirty;
	int64_t state_saved_at;
	enum rc_lc_state last_state;
	bool last_online;
};

static const char *worker__sub_id(const struct rc_worker *w)
{
	return w->slot.sub.id != NULL ? w->slot.sub.id : w->resume_id;
}

/* ---------------------------------------------------------------- status */

/* Online means notifications can flow: the lifecycle has a live subscription and the
 * transport says a notification sent now will be fetched. */
static bool worker__online(struct rc_worker *w)
{
	return w->lc.state == RC_LC_ACTIVE && !w->stopping && w->ops->online(w->transport);
}

static void worker__publish_status(struct rc_worker *w)
{
	struct rc_status *s = &w->outbox->status;
	bool online = worker__online(w);

	rc_outbox_lock(w->outbox);
	s->online = online;
	s->lifecycle = rc_lc_state_name(w->lc.state);
	if (w->slot.sub.id != NULL && w->lc.has_sub) {
		snprintf(s->subscription_id, sizeof(s->subscription_id), "%s", w->slot.sub.id);
		snprintf(s->expiration_time, sizeof(s->expiration_time), "%s",
				w->slot.sub.expiration_time != NULL ? w->slot.sub.expiration_time : "");
		rc_status_set_filters(s, w->slot.sub.event_filters, w->slot.sub.n_event_filters);
	} else {
		s->subscription_id[0] = '\0';
		s->expiration_time[0] = '\0';
		rc_status_set_filters(s, w->desired, w->n_desired);
	}
	if (w->sink.has_error)
		snprintf(s->last_error, sizeof(s->last_error), "%s", w->sink.error);
	w->outbox->status_dirty = true;
	rc_outbox_unlock(w->outbox);
	w->sink.has_error = false;
	w->sink.changed = false;
	w->last_online = online;
	w->last_state = w->lc.state;
}

/* Once per turn: re-derive the status only when something it shows may have changed. */
static void worker__refresh_status(struct rc_worker *w)
{
	if (w->sink.changed || w->lc.state != w->last_state || worker__online(w) != w->last_online)
		worker__publish_status(w);
}

/* ---------------------------------------------------------------- Home Assistant */

/* Publishes the discovery configs for the current filters (retained, through the outbox
 * like everything the broker thread publishes) and clears what the last ones had and these
 * have not. Until the first login says whom `~` stands for, only the bridge's own device
 * is published and nothing is cleared: the extensions are not known yet. */
static void worker__ha_publish(struct rc_worker *w)
{
	struct rc_ha_extension *exts = NULL;
	size_t n_exts = 0, n_keys = 0;
	char **keys = NULL;
	bool known = w->owner_id != NULL;

	if (!w->cfg->homeassistant)
		return;
	bool detailed;
	const char *account = rc_ha_account_presence(w->desired, w->n_desired, &detailed);
	if (w->ha != NULL)
		rc_ha_state_account(w->ha, account != NULL);
	if (known && rc_ha_extensions(w->cfg, w->desired, w->n_desired, w->owner_id, &exts, &n_exts) != 0) {
		rc_sink_log(&w->sink, RC_LOG_WARNING, "Home Assistant discovery: out of memory");
		return;
	}
	/* The account-wide presence filter covers the extensions its last listing named. */
	if (known && account != NULL && w->ha != NULL) {
		size_t n_ids;
		char *const *ids = rc_ha_state_listed(w->ha, &n_ids);
		if (rc_ha_extensions_listed(w->cfg, account, ids, n_ids, &exts, &n_exts) != 0)
			rc_sink_log(&w->sink, RC_LOG_WARNING, "Home Assistant discovery: out of memory");
	}
	/* The names learned so far go into the configs; new extensions get looked up. */
	if (known && w->ha != NULL &&
			rc_ha_state_covered(w->ha, exts, n_exts, w->owner_id, rc_clock_now_ms()) != 0)
		rc_sink_log(&w->sink, RC_LOG_WARNING, "Home Assistant state: out of memory");
	struct rc_outbox_msg *m = rc_ha_discovery(w->cfg, exts, n_exts, known ? w->ha_keys : NULL,
			known ? w->n_ha_keys : 0, &keys, &n_keys);
	rc_ha_extensions_free(exts, n_exts);
	if (m == NULL) {
		rc_sink_log(&w->sink, RC_LOG_WARNING, "Home Assistant discovery: out of memory");
		return;
	}
	size_t lost = 0;
	while (m != NULL) {
		struct rc_outbox_msg *next = m->next;
		m->next = NULL;
		/* A full outbox (a burst, and more devices than the reserve for the plugin's own
		 * messages, an account-wide listing) refuses some: all are sent again shortly. */
		if (rc_outbox_push(w->outbox, m) == 0)
			lost++;
		m = next;
	}
	w->ha_retry_at = lost > 0 ? rc_clock_now_ms() + RC_HA_RETRY_MS : 0;
	if (lost > 0)
		rc_sink_log(&w->sink, RC_LOG_INFO, "Home Assistant discovery: %zu config(s) did not "
				"fit the outbox; sending them again in %d s", lost, RC_HA_RETRY_MS / 1000);
	if (known) {
		rc_strlist_free(w->ha_keys);
		w->ha_keys = keys;
		w->n_ha_keys = n_keys;
	} else {
		rc_strlist_free(keys);
	}
	rc_sink_log(&w->sink, RC_LOG_INFO, "Home Assistant discovery published (%zu extension device(s))",
			n_exts);
}

/* ---------------------------------------------------------------- Home Assistant state */

/* rc_ha_state.h's doors into the worker: the API door, the pipeline (a presence read over
 * REST goes out as the notification it stands for, marked source=rest), discovery, the
 * log, uuids and the wall clock. */
static int worker__ha_submit(void *arg, const char *method, const char *path, int64_t now,
		rc_api_done_fn on_done, void *done_arg)
{
	struct rc_worker *w = arg;

	return rc_api_submit(w->api, method, path, NULL, now, on_done, done_arg);
}

static bool worker__ha_inject(void *arg, json_object *notification, int64_t now)
{
	struct rc_worker *w = arg;

	return rc_sink_inject(&w->sink, notification, "rest", now);
}

static void worker__ha_rediscover(void *arg)
{
	worker__ha_publish(arg);
}

static void worker__ha_log(void *arg, enum rc_log_level level, const char *line)
{
	struct rc_worker *w = arg;

	rc_sink_log(&w->sink, level, "%s", line);
}

static void worker__ha_uuid(void *arg, char *buf, size_t len)
{
	struct rc_worker *w = arg;

	rc_rng_uuid(&w->rng, buf, len);
}

static void worker__ha_timestamp(void *arg, char *buf, size_t len)
{
	(void)arg;
	rc_ms_to_iso8601(rc_clock_wall_ms(), buf, len);
}

static void worker__ha_seen(void *arg, const char *event, size_t len)
{
	rc_ha_state_seen(arg, event, len);
}

static int worker__ha_new(struct rc_worker *w)
{
	struct rc_ha_state_env env = {
		.submit = worker__ha_submit, .publish = worker__ha_inject,
		.rediscover = worker__ha_rediscover, .log = worker__ha_log, .uuid = worker__ha_uuid,
		.timestamp = worker__ha_timestamp, .arg = w,
	};

	if (!w->cfg->homeassistant)
		return 0;
	if ((w->ha = rc_ha_state_new(&env)) == NULL)
		return -1;
	/* A real presence notification makes a REST read asked for before it stale. */
	w->sink.on_publish = worker__ha_seen;
	w->sink.on_publish_arg = w->ha;
	return 0;
}

/* A subscription was adopted: a new one (CREATE, or RESUME at start) cannot replay what
 * happened while there was none, so presence is read again; a MODIFY may cover more. Either
 * lists the account's extensions again for an account-wide presence filter. */
static void worker__ha_subscribed(struct rc_worker *w, enum rc_lc_action act, int64_t now)
{
	if (w->ha != NULL && (act == RC_ACT_CREATE || act == RC_ACT_RESUME || act == RC_ACT_MODIFY))
		rc_ha_state_subscribed(w->ha, act != RC_ACT_MODIFY, now);
}

/* ---------------------------------------------------------------- state file */

static void worker__save_state(struct rc_worker *w, int64_t now)
{
	char err[256];

	if (w->cfg->state_file == NULL || w->ops->save == NULL)
		return;
	w->state_saved_at = now;
	w->state_dirty = false;
	/* A subscription not yet confirmed by RESUME (a quick restart, the server out of
	 * reach) is still the one to keep. */
	bool live = w->lc.has_sub && worker__sub_id(w) != NULL;
	/* Without a subscription the file still remembers the ids of ours that may be left
	 * as orphans; with neither there is nothing to keep. */
	if (!live && w->slot.n_owned == 0) {
		rc_state_file_remove(w->cfg->state_file);
		return;
	}
	struct rc_saved_state s = {
		.subscription_id = live ? (char *)worker__sub_id(w) : NULL,
		.event_filters = w->slot.accepted,
		.n_event_filters = w->slot.n_accepted,
		.owned = w->slot.owned,
		.n_owned = w->slot.n_owned,
	};
	char **delivered = NULL;
	if (live) {
		w->ops->save(w->transport, &s);
		/* What a restart fetches again from the saved position and already entered
		 * the broker must not be published twice. */
		delivered = rc_sink_recent_confirmed(&w->sink, &s.n_delivered);
		s.delivered = delivered;
	}
	if (rc_state_file_save(w->cfg->state_file, &s, err, sizeof(err)) != 0)
		rc_sink_log(&w->sink, RC_LOG_WARNING, "%s", err);
	rc_strlist_free(delivered);
}

static void worker__load_state(struct rc_worker *w)
{
	struct rc_saved_state s;
	char err[256];

	if (w->cfg->state_file == NULL)
		return;
	if (w->ops->restore == NULL) {
		/* A subscription carried by the transport's connection lives and dies with it
		 * (and its OAuth session): there is nothing a restart could resume. */
		rc_sink_log(&w->sink, RC_LOG_NOTICE, "state_file is not used with %s delivery",
				w->ops->name);
		return;
	}
	switch (rc_state_file_load(w->cfg->state_file, &s, err, sizeof(err))) {
	case RC_STATE_ABSENT:
		return;
	case RC_STATE_UNUSABLE:
		rc_sink_log(&w->sink, RC_LOG_WARNING, "%s; starting afresh", err);
		return;
	case RC_STATE_LOADED:
		break;
	}
	w->slot.owned = s.owned;
	w->slot.n_owned = s.n_owned;
	s.owned = NULL;
	if (s.subscription_id == NULL) {
		rc_saved_state_clear(&s);
		rc_sink_log(&w->sink, RC_LOG_NOTICE, "%zu subscription id(s) of earlier runs remembered from %s",
				w->slot.n_owned, w->cfg->state_file);
		return;
	}
	w->ops->restore(w->transport, &s);
	rc_sink_remember(&w->sink, s.delivered, s.n_delivered);
	w->resume_id = s.subscription_id;
	w->slot.accepted = s.event_filters;
	w->slot.n_accepted = s.n_event_filters;
	s.subscription_id = NULL;
	s.event_filters = NULL;
	rc_saved_state_clear(&s);
	rc_lifecycle_resume_from(&w->lc);
	char id[RC_LOGSAFE_BUF];
	rc_sink_log(&w->sink, RC_LOG_NOTICE, "resuming subscription %s from %s",
			rc_logsafe_str(id, sizeof(id), w->resume_id), w->cfg->state_file);
}

/* ---------------------------------------------------------------- keeping facts in step */

/* Tells the lifecycle whether we know of subscriptions of ours besides the live one. */
static void worker__sync_orphans(struct rc_worker *w)
{
	rc_lifecycle_set_may_have_orphans(&w->lc, rc_sub_may_have_orphans(&w->slot));
}

static void worker__own(struct rc_worker *w, const char *id, bool ours)
{
	if (id == NULL || rc_strlist_contains(w->slot.owned, w->slot.n_owned, id) == ours)
		return;
	rc_sub_own(&w->slot, id, ours);
	w->state_dirty = true;
}

/* The desired filters against what the server accepted: a change made while a request
 * was in flight stays pending until a request carries it. */
static void worker__sync_filters(struct rc_worker *w)
{
	rc_lifecycle_set_filters_dirty(&w->lc,
			rc_sub_filters_differ(&w->slot, w->desired, w->n_desired));
}

/* The lifecycle dropped the subscription (expired, gone, refused, deleted): forget it
 * here and in the transport, and say why once. */
static void worker__sync_subscription(struct rc_worker *w)
{
	if (w->lc.lost != w->lost_seen) {
		w->lost_seen = w->lc.lost;
		if (!w->lc.lost_may_linger)
			worker__own(w, worker__sub_id(w), false); /* gone: never an orphan */
		char id[RC_LOGSAFE_BUF];
		if (worker__sub_id(w) != NULL && w->lc.lost_why != NULL && !w->stopping)
			rc_sink_error(&w->sink, RC_LOG_NOTICE, "subscription %s %s; subscribing again",
					rc_logsafe_str(id, sizeof(id), worker__sub_id(w)), w->lc.lost_why);
	}
	if (w->lc.has_sub || (w->slot.sub.id == NULL && w->resume_id == NULL))
		return;
	rc_sub_forget(&w->slot);
	free(w->resume_id);
	w->resume_id = NULL;
	w->ops->attach(w->transport, NULL, RC_ACT_NONE);
	w->state_dirty = true;
	rc_sink_changed(&w->sink);
}

/* The transport's channel, as levels, into the lifecycle's facts. */
static void worker__sync_channel(struct rc_worker *w)
{
	struct rc_transport_channel ch;

	w->ops->channel(w->transport, &ch);
	/* (A transport without sessions reports session 0 throughout: nothing to tell.) */
	rc_lifecycle_want_wstoken(&w->lc, ch.wants_token && !w->stopping);
	if (ch.session != w->channel_session) {
		/* A new session: whatever was in flight went with the old one, and unless it
		 * resumed the old one, so did the subscription (even if it is gone already). */
		w->channel_session = ch.session;
		rc_lifecycle_channel_down(&w->lc);
		rc_lifecycle_channel_up(&w->lc, ch.resumed);
		if (!ch.up)
			rc_lifecycle_channel_down(&w->lc);
	} else if (!ch.up && w->lc.channel_up) {
		rc_lifecycle_channel_down(&w->lc);
	}
	if (ch.refused && w->lc.has_sub && !w->lc.transport_failed)
		rc_lifecycle_transport_failed(&w->lc);
	worker__sync_subscription(w);
}

/* ---------------------------------------------------------------- answers */

/* What an answer teaches about which subscriptions are ours (before the lifecycle and
 * the slot move on: the ids are still at hand). A subscription that is lost for good
 * leaves the list in worker__sync_subscription. */
static void worker__track_ownership(struct rc_worker *w, enum rc_lc_action act,
		enum rc_lc_outcome out)
{
	/* A subscription carried by the channel ends with its session: never an orphan. */
	if (rc_lifecycle_on_channel(&w->lc, RC_ACT_CREATE))
		return;
	if (act == RC_ACT_CREATE && out == RC_OUT_OK)
		worker__own(w, w->slot.sub.id, true);
	else if (act == RC_ACT_DELETE_ORPHAN && (out == RC_OUT_OK || out == RC_OUT_NOT_FOUND))
		worker__own(w, w->orphans[w->lc.orphans_pending - 1], false);
}

static int worker__find_orphans(struct rc_worker *w, const char *body, size_t len)
{
	rc_strlist_free(w->orphans);
	if (rc_sub_find_orphans(&w->slot, body, len, &w->orphans, &w->n_orphans) != 0)
		return -1;
	rc_sink_log(&w->sink, RC_LOG_NOTICE,
			"subscription limit reached; %zu orphan subscription(s) of this bridge to delete",
			w->n_orphans);
	return 0;
}

static enum rc_lc_outcome worker__take_token(struct rc_worker *w, enum rc_lc_action act,
		const char *body, size_t len, struct rc_lc_result *r, char *what, size_t what_len)
{
	struct rc_token t = {0};

	if (rc_token_parse(body, len, &t) != 0) {
		snprintf(what, what_len, "unreadable token answer");
		return RC_OUT_TRANSIENT;
	}
	rc_token_clear(&w->token);
	w->token = t;
	/* Whom `~` stands for: the first login tells, and discovery can name the extensions. */
	if (t.owner_id != NULL && (w->owner_id == NULL || strcmp(w->owner_id, t.owner_id) != 0)) {
		free(w->owner_id);
		w->owner_id = strdup(t.owner_id);
		worker__ha_publish(w);
	}
	r->access_s = t.expires_in;
	r->refresh_s = t.refresh_token == NULL ? 0 :
			t.refresh_token_expires_in > 0 ? t.refresh_token_expires_in :
			RC_REFRESH_TOKEN_DEFAULT_S; /* not stated: RingCentral's usual week */
	rc_sink_log(&w->sink, RC_LOG_INFO, "%s ok, token valid for %ld s", rc_lc_action_name(act),
			r->access_s);
	return RC_OUT_OK;
}

/* One answer to the action in flight, however it travelled. status/result/body: how it
 * ended (result CURLE_OK for answers over the channel); what: its description. */
static void worker__finish(struct rc_worker *w, long status, CURLcode result, const char *body,
		size_t len, int64_t retry_after_ms, char *what, size_t what_len)
{
	enum rc_lc_action act = w->lc.in_flight;
	bool token_call = act == RC_ACT_LOGIN || act == RC_ACT_REFRESH;
	int64_t now = rc_clock_now_ms();
	struct rc_lc_result r = {
		.outcome = rc_http_outcome(status, result, token_call, body, len),
		.retry_after_ms = retry_after_ms,
		.random32 = rc_rng_next(&w->rng),
	};
	struct rc_wstoken wst = {0};
	char id[RC_LOGSAFE_BUF];

	if (r.outcome == RC_OUT_OK) {
		switch (act) {
		case RC_ACT_LOGIN:
		case RC_ACT_REFRESH:
			r.outcome = worker__take_token(w, act, body, len, &r, what, what_len);
			break;
		case RC_ACT_LIST:
			if (worker__find_orphans(w, body, len) != 0) {
				snprintf(what, what_len, "unreadable subscription list");
				r.outcome = RC_OUT_TRANSIENT;
			}
			break;
		case RC_ACT_DELETE_ORPHAN:
			rc_sink_log(&w->sink, RC_LOG_NOTICE, "deleted orphan subscription %s",
					rc_logsafe_str(id, sizeof(id), w->orphans[w->lc.orphans_pending - 1]));
			break;
		case RC_ACT_DELETE:
			rc_sink_log(&w->sink, RC_LOG_NOTICE, "deleted subscription %s",
					rc_logsafe_str(id, sizeof(id), worker__sub_id(w)));
			break;
		case RC_ACT_WSTOKEN:
			if (rc_wstoken_parse(body, len, &wst, what, what_len) != 0)
				r.outcome = RC_OUT_TRANSIENT;
			break;
		default: /* RESUME CREATE RENEW MODIFY CHECK */
			r.outcome = rc_sub_adopt(&w->slot, act, body, len, w->sent, w->n_sent, &w->sink,
					rc_clock_wall_ms(), &r.lifetime_s, what, what_len);
			if (r.outcome == RC_OUT_OK) {
				w->ops->attach(w->transport, &w->slot.sub, act);
				free(w->resume_id);
				w->resume_id = NULL;
				w->state_dirty = true;
				worker__ha_subscribed(w, act, now);
			}
			break;
		}
	}
	char **sent = w->sent;       /* what a CREATE/MODIFY carried, for the control API */
	size_t n_sent = w->n_sent;
	w->sent = NULL;
	w->n_sent = 0;
	worker__track_ownership(w, act, r.outcome);

	int64_t delay = rc_lifecycle_done(&w->lc, now, &r);
	if (w->ctl != NULL)
		rc_ctl_action_done(w->ctl, act, r.outcome, sent, n_sent, what, now);
	rc_strlist_free(sent);
	if (act == RC_ACT_LIST && r.outcome == RC_OUT_OK)
		rc_lifecycle_orphans_found(&w->lc, (unsigned)w->n_orphans);
	if (r.outcome != RC_OUT_OK)
		rc_sink_error(&w->sink, r.outcome == RC_OUT_NOT_FOUND ? RC_LOG_NOTICE : RC_LOG_WARNING,
				"%s failed: %s%s", rc_lc_action_name(act), what, delay > 0 ? "; retrying later" : "");
	worker__sync_subscription(w);
	worker__sync_filters(w);
	worker__sync_orphans(w);
	rc_sink_changed(&w->sink);
	if (act == RC_ACT_WSTOKEN && r.outcome == RC_OUT_OK)
		w->ops->open(w->transport, &wst, now);
	rc_wstoken_clear(&wst);
}

static void worker__rest_done(void *arg, struct rc_http *h)
{
	struct rc_worker *w = arg;
	char what[300];

	rc_http_describe(h, what, sizeof(what));
	curl_multi_remove_handle(w->multi, h->easy);
	w->rest_busy = false;
	worker__finish(w, h->status, h->result, h->body, h->body_len, h->retry_after_ms, what,
			sizeof(what));
	rc_http_reset(h);
}

static void worker__take_channel_answer(struct rc_worker *w)
{
	struct rc_transport_answer a;
	char what[300];

	if (w->ops->take_answer == NULL || !w->ops->take_answer(w->transport, &a))
		return;
	if (rc_lifecycle_on_channel(&w->lc, w->lc.in_flight)) {
		rc_http_describe_status(a.status, a.body, a.len, what, sizeof(what));
		worker__finish(w, a.status, CURLE_OK, a.body, a.len, -1, what, sizeof(what));
	}
	free(a.body);
}

/* ---------------------------------------------------------------- requests */

static int worker__start_rest(struct rc_worker *w, enum rc_lc_action act)
{
	struct rc_rest_call c = {
		.cfg = w->cfg,
		.token = &w->token,
		.sub_id = worker__sub_id(w),
		.orphan_id = w->lc.orphans_pending > 0 && w->lc.orphans_pending <= w->n_orphans ?
				w->orphans[w->lc.orphans_pending - 1] : NULL,
		.filters = w->desired,
		.n_filters = w->n_desired,
		.delivery_type = w->ops->rest_delivery_type,
		.timeout_s = w->stopping ? RC_STOP_DELETE_TIMEOUT_S : w->cfg->request_timeout,
		.max_answer = RC_REST_MAX_ANSWER,
		.on_done = worker__rest_done,
		.done_arg = w,
	};

	if (rc_rest_call_prepare(&w->rest, act, &c) != 0)
		return -1;
	if (curl_multi_add_handle(w->multi, w->rest.easy) != CURLM_OK) {
		rc_http_reset(&w->rest);
		return -1;
	}
	w->rest_busy = true;
	return 0;
}

/* Starts the lifecycle's action, over the channel or as a REST call. */
static void worker__start(struct rc_worker *w, enum rc_lc_action act, int64_t now)
{
	int rc = 0;

	rc_strlist_free(w->sent);
	w->sent = NULL;
	w->n_sent = 0;
	if (act == RC_ACT_CREATE || act == RC_ACT_MODIFY) {
		/* Remembered so that the answer records what this request asked for. */
		w->sent = rc_strlist_copy(w->desired, w->n_desired);
		w->n_sent = w->n_desired;
		if (w->sent == NULL)
			rc = -1;
	}
	rc_sink_log(&w->sink, RC_LOG_DEBUG, "%s", rc_lc_action_name(act));
	if (rc == 0 && rc_lifecycle_on_channel(&w->lc, act))
		rc = w->ops->request(w->transport, act, worker__sub_id(w), w->desired, w->n_desired, now);
	else if (rc == 0)
		rc = worker__start_rest(w, act);
	if (rc != 0) {
		char what[80];
		snprintf(what, sizeof(what), "could not be sent");
		worker__finish(w, 0, CURLE_SEND_ERROR, NULL, 0, -1, what, sizeof(what));
	}
}

/* ---------------------------------------------------------------- commands */

static void worker__reload_filters(struct rc_worker *w)
{
	char **filters = NULL;
	size_t n = 0;
	char err[512];

	if (rc_filters_effective(w->cfg, &filters, &n, err, sizeof(err)) != 0) {
		rc_sink_log(&w->sink, RC_LOG_ERR, "reload: %s; keeping the current event filters", err);
		return;
	}
	if (rc_strlist_same_set(filters, n, w->desired, w->n_desired)) {
		rc_strlist_free(filters);
		rc_sink_log(&w->sink, RC_LOG_INFO, "reload: event filters unchanged");
		return;
	}
	rc_strlist_free(w->desired);
	w->desired = filters;
	w->n_desired = n;
	worker__sync_filters(w);
	rc_sink_changed(&w->sink);
	rc_sink_log(&w->sink, RC_LOG_NOTICE,
			"reload: %zu event filter(s) changed; updating the subscription", n);
	worker__ha_publish(w);
}

static void worker__abandon_rest(struct rc_worker *w)
{
	if (!w->rest_busy)
		return;
	curl_multi_remove_handle(w->multi, w->rest.easy);
	rc_http_reset(&w->rest);
	w->rest_busy = false;
}

static void worker__begin_stop(struct rc_worker *w, int64_t now)
{
	w->stopping = true;
	w->stop_deadline = now + RC_STOP_BUDGET_MS;
	if (w->ha != NULL)
		rc_ha_state_stop(w->ha);
	w->ops->begin_stop(w->transport);
	if (w->rest_busy) {
		/* A stalled request must not hold up the shutdown. */
		worker__abandon_rest(w);
		struct rc_lc_result r = { .outcome = RC_OUT_TRANSIENT };
		rc_lifecycle_done(&w->lc, now, &r);
	}
	if (w->cfg->state_file != NULL)
		worker__save_state(w, now);
	rc_lifecycle_stop(&w->lc);
	w->lc.not_before = 0;
}

/* ---------------------------------------------------------------- the other doors */

/* The API door shares the lifecycle's rate-limit window and token. */
static void worker__api_rate_limited(void *arg, int64_t until)
{
	struct rc_worker *w = arg;

	rc_lifecycle_api_blocked(&w->lc, until);
}

static void worker__api_unauthorized(void *arg)
{
	struct rc_worker *w = arg;

	rc_lifecycle_token_rejected(&w->lc);
}

/* Once per turn (and before sleeping): API calls waiting for a token or a window, and the
 * control API's commands. Not while stopping: those answer "stopping" at the end. */
static void worker__step_doors(struct rc_worker *w, int64_t now, int64_t *wake)
{
	if (w->stopping)
		return;
	bool token = w->lc.has_access && now < w->lc.access_expires_at && w->token.access_token != NULL;
	if (w->ha != NULL)
		rc_ha_state_step(w->ha, now, wake);
	rc_api_step(w->api, now, token ? w->token.access_token : NULL, w->lc.api_blocked_until, wake);
	if (w->ctl != NULL)
		rc_ctl_step(w->ctl, now, wake);
}

/* ---------------------------------------------------------------- the loop */

/* Returns how many transfers ended. */
static unsigned worker__handle_finished(struct rc_worker *w)
{
	CURLMsg *msg;
	int left;
	unsigned n = 0;

	while ((msg = curl_multi_info_read(w->multi, &left)) != NULL) {
		struct rc_http *h = NULL;
		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&h);
		if (h == NULL || h->on_done == NULL)
			continue;
		rc_http_finish(h, msg->data.result);
		h->on_done(h->done_arg, h);
		n++;
	}
	return n;
}

/* Lets libcurl work; returns true if a transfer ended (its successor may be due now). */
static bool worker__perform(struct rc_worker *w)
{
	int running;

	curl_multi_perform(w->multi, &running);
	return worker__handle_finished(w) > 0;
}

static void *worker__main(void *arg)
{
	struct rc_worker *w = arg;

	while (1) {
		int64_t now = rc_clock_now_ms();
		int64_t wake = now + RC_IDLE_WAKE_MS;
		bool stop, reload, rediscover;

		pthread_mutex_lock(&w->cmd_lock);
		stop = w->cmd_stop;
		reload = w->cmd_reload;
		rediscover = w->cmd_rediscover;
		w->cmd_reload = false;
		w->cmd_rediscover = false;
		pthread_mutex_unlock(&w->cmd_lock);

		if (stop && !w->stopping)
			worker__begin_stop(w, now);
		if (reload && !w->stopping)
			worker__reload_filters(w);
		if ((rediscover || (w->ha_retry_at != 0 && now >= w->ha_retry_at)) && !w->stopping)
			worker__ha_publish(w);
		if (w->ha_retry_at != 0 && w->ha_retry_at < wake)
			wake = w->ha_retry_at;
		worker__step_doors(w, now, &wake);

		worker__sync_channel(w);
		if (w->lc.in_flight == RC_ACT_NONE) {
			int64_t lc_wake;
			enum rc_lc_action act = rc_lifecycle_next(&w->lc, now, &lc_wake);
			worker__sync_subscription(w); /* next() may have found it expired */
			if (act != RC_ACT_NONE) {
				worker__start(w, act, now);
				continue; /* ask again: the next step may already be due */
			}
			if (lc_wake < wake)
				wake = lc_wake;
		}
		if (w->lc.state == RC_LC_STOPPED) {
			if (!w->closed)
				w->ops->close(w->transport);
			w->closed = true;
			if (w->ops->stopped(w->transport))
				break;
		}
		if (w->stopping && now >= w->stop_deadline)
			break;

		w->ops->step(w->transport, now, &wake);
		if (w->cfg->state_file != NULL && w->ops->moved != NULL && w->ops->moved(w->transport))
			w->state_dirty = true;
		if (w->state_dirty && now - w->state_saved_at >= RC_STATE_SAVE_INTERVAL_MS)
			worker__save_state(w, now);

		/* A transfer that ended just now (a PubNub poll answered at once, under load)
		 * has a successor to start: step again instead of sleeping until the old wake
		 * time. */
		bool ended = worker__perform(w);
		worker__refresh_status(w);
		if (ended)
			continue;

		now = rc_clock_now_ms();
		/* What a transfer's end just answered goes out before the sleep. */
		worker__step_doors(w, now, &wake);
		if (w->stopping && w->stop_deadline < wake)
			wake = w->stop_deadline;
		int timeout = wake > now ? (int)(wake - now) : 0;
		if (timeout > RC_IDLE_WAKE_MS)
			timeout = RC_IDLE_WAKE_MS;
		struct curl_waitfd fd;
		unsigned n_fds = 0;
		if (w->ops->wait != NULL && w->ops->wait(w->transport, &fd, &timeout) == 0)
			n_fds = 1;
		curl_multi_poll(w->multi, n_fds ? &fd : NULL, n_fds, timeout, NULL);
		if (w->ops->service != NULL)
			w->ops->service(w->transport);
		worker__take_channel_answer(w);
		worker__perform(w);
		worker__refresh_status(w);
	}

	w->ops->close(w->transport);
	worker__abandon_rest(w);
	if (w->cfg->state_file != NULL)
		worker__save_state(w, rc_clock_now_ms());
	w->lc.state = RC_LC_STOPPED;
	worker__publish_status(w);
	return NULL;
}

/* ---------------------------------------------------------------- start / stop */

static void worker__free(struct rc_worker *w)
{
	/* Calls in flight leave the multi handle before it goes; their callbacks may still
	 * reach the control API's executor, which goes after them. */
	rc_api_free(w->api, "the bridge is stopping");
	rc_ha_state_free(w->ha);
	rc_ctl_free(w->ctl);
	if (w->ops != NULL && w->transport != NULL)
		w->ops->destroy(w->transport);
	if (w->multi != NULL)
		curl_multi_cleanup(w->multi);
	rc_http_reset(&w->rest);
	rc_token_clear(&w->token);
	rc_sub_slot_free(&w->slot);
	free(w->resume_id);
	rc_strlist_free(w->desired);
	rc_strlist_free(w->sent);
	rc_strlist_free(w->orphans);
	rc_strlist_free(w->ha_keys);
	free(w->owner_id);
	rc_sink_destroy(&w->sink);
	pthread_mutex_destroy(&w->cmd_lock);
	free(w);
}

/* A control API filter change: Home Assistant's devices follow the filters, as on SIGHUP. */
static void worker__ctl_filters_changed(void *arg)
{
	worker__ha_publish(arg);
}

static int worker__new_doors(struct rc_worker *w)
{
	struct rc_api_settings as = {
		.cfg = w->cfg,
		.multi = w->multi,
		.max_queued = RC_API_MAX_QUEUED,
		.max_running = RC_API_MAX_RUNNING,
		.queue_timeout_ms = RC_API_QUEUE_TIMEOUT_MS,
		.max_answer = RC_REST_MAX_ANSWER,
		.hooks = { worker__api_rate_limited, worker__api_unauthorized, w },
	};

	if ((w->api = rc_api_new(&as)) == NULL || worker__ha_new(w) != 0)
		return -1;
	/* The command topics need the executor too (their answers carry their own topic). */
	if (!rc_config_has_commands(w->cfg))
		return 0;
	struct rc_ctl_env env = {
		.cfg = w->cfg, .outbox = w->outbox, .sink = &w->sink, .lc = &w->lc, .slot = &w->slot,
		.api = w->api, .desired = &w->desired, .n_desired = &w->n_desired,
		.response_topic = w->cfg->control_response_topic,
		.filters_changed = worker__ctl_filters_changed, .arg = w,
	};
	/* A command may wait for a request that times out and is tried again. */
	int64_t timeout = 2 * (int64_t)w->cfg->request_timeout * 1000 + 10000;
	w->ctl = rc_ctl_new(&env, RC_CONTROL_MAX_QUEUED,
			timeout > RC_CONTROL_MIN_TIMEOUT_MS ? timeout : RC_CONTROL_MIN_TIMEOUT_MS);
	return w->ctl != NULL ? 0 : -1;
}

struct rc_worker *rc_worker_new(const struct rc_config *cfg, struct rc_outbox *outbox,
		char *err, size_t errlen)
{
	struct rc_worker *w = calloc(1, sizeof(*w));

	if (w == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	w->cfg = cfg;
	w->outbox = outbox;
	w->ops = rc_transport_ops_for(cfg->transport);
	outbox->status.transport = w->ops->name; /* before the thread exists: no lock needed */
	pthread_mutex_init(&w->cmd_lock, NULL);
	if (rc_rng_init(&w->rng) != 0) {
		snprintf(err, errlen, "no random numbers available");
		worker__free(w);
		return NULL;
	}
	/* Only a REST subscription can be kept across a restart (see worker__load_state). */
	rc_lifecycle_init(&w->lc, (int64_t)cfg->renew_margin * 1000,
			cfg->state_file != NULL && w->ops->restore != NULL);
	if (w->ops->rest_delivery_type == NULL)
		rc_lifecycle_use_socket(&w->lc);

	if (rc_filters_effective(cfg, &w->desired, &w->n_desired, err, errlen) != 0 ||
			rc_sink_init(&w->sink, cfg, outbox, RC_DEDUPE_CAPACITY) != 0 ||
			rc_sink_keep_recent(&w->sink, rc_worker_saves_position(w) ? RC_STATE_DELIVERED_MAX : 0) != 0 ||
			(w->multi = curl_multi_init()) == NULL) {
		if (err[0] == '\0')
			snprintf(err, errlen, "out of memory");
		worker__free(w);
		return NULL;
	}
	struct rc_transport_env env = { .cfg = cfg, .multi = w->multi, .sink = &w->sink, .rng = &w->rng };
	w->transport = w->ops->create(&env, err, errlen);
	if (w->transport == NULL) {
		worker__free(w);
		return NULL;
	}
	if (worker__new_doors(w) != 0) {
		snprintf(err, errlen, "out of memory");
		worker__free(w);
		return NULL;
	}
	worker__load_state(w);
	worker__sync_orphans(w); /* ids of earlier runs */
	worker__sync_filters(w);
	worker__publish_status(w);
	worker__ha_publish(w);     /* the bridge's device at once, before any login */
	return w;
}

int rc_worker_run(struct rc_worker *w, char *err, size_t errlen)
{
	if (w->started)
		return 0;
	if (pthread_create(&w->thread, NULL, worker__main, w) != 0) {
		snprintf(err, errlen, "cannot start the worker thread: %s", strerror(errno));
		return -1;
	}
	/* Named so that top -H, ps -L and perf tell it from the broker's own thread. */
	(void)pthread_setname_np(w->thread, "ringcentral");
	w->started = true;
	return 0;
}

void rc_worker_reload(struct rc_worker *w)
{
	pthread_mutex_lock(&w->cmd_lock);
	w->cmd_reload = true;
	pthread_mutex_unlock(&w->cmd_lock);
	curl_multi_wakeup(w->multi);
}

void rc_worker_rediscover(struct rc_worker *w)
{
	pthread_mutex_lock(&w->cmd_lock);
	w->cmd_rediscover = true;
	pthread_mutex_unlock(&w->cmd_lock);
	curl_multi_wakeup(w->multi);
}

int rc_worker_submit(struct rc_worker *w, struct rc_control_request *req)
{
	if (w->ctl == NULL || rc_ctl_submit(w->ctl, req) != 0)
		return -1;
	curl_multi_wakeup(w->multi);
	return 0;
}

bool rc_worker_saves_position(const struct rc_worker *w)
{
	return w->cfg->state_file != NULL && w->ops->save != NULL;
}

void rc_worker_stop(struct rc_worker *w)
{
	pthread_mutex_lock(&w->cmd_lock);
	w->cmd_stop = true;
	pthread_mutex_unlock(&w->cmd_lock);
	curl_multi_wakeup(w->multi);
	if (w->started)
		pthread_join(w->thread, NULL);
	worker__free(w);
}
