/* lifecycle.c - the subscription lifecycle state machine (see rc_lifecycle.h).
 *
 * The machine keeps facts (is there a usable token, a confirmed subscription, until when),
 * not a script of steps: rc_lifecycle_next() derives the one thing that is due from those
 * facts. That is what makes recovery uniform: whatever was lost (token, subscription,
 * delivery channel), the next call simply finds the first missing fact and re-establishes
 * it, the same way it did at start-up. */
#include <stddef.h>
#include "rc_lifecycle.h"

#define RC_LC_BACKOFF_BASE_MS 1000
#define RC_LC_BACKOFF_CAP_MS 30000     /* keeps recovery within a minute of a fault clearing */
#define RC_LC_DEFAULT_RETRY_AFTER_MS 30000
#define RC_LC_BAD_GRANT_MIN_MS 20000   /* wrong credentials: a few attempts a minute, no storm */
#define RC_LC_LIMIT_MIN_MS 60000
#define RC_LC_REJECTED_MIN_MS 30000
#define RC_LC_CHECK_MIN_MS 10000       /* socket mode: read the subscription back at most */
#define RC_LC_CHECK_MAX_MS 900000      /* this often, and at least this often */

static void lifecycle__derive_state(struct rc_lifecycle *lc)
{
	if (lc->state == RC_LC_STOPPING || lc->state == RC_LC_STOPPED)
		return;
	if (!lc->has_access)
		lc->state = RC_LC_AUTHENTICATING;
	else if (!lc->has_sub || !lc->sub_confirmed || (lc->socket_mode && !lc->channel_up))
		lc->state = RC_LC_SUBSCRIBING;
	else
		lc->state = RC_LC_ACTIVE;
}

void rc_lifecycle_init(struct rc_lifecycle *lc, int64_t renew_margin_ms, bool keep_on_stop)
{
	*lc = (struct rc_lifecycle){0};
	lc->renew_margin_ms = renew_margin_ms;
	lc->keep_on_stop = keep_on_stop;
	rc_backoff_init(&lc->backoff, RC_LC_BACKOFF_BASE_MS, RC_LC_BACKOFF_CAP_MS);
	lifecycle__derive_state(lc);
}

void rc_lifecycle_resume_from(struct rc_lifecycle *lc)
{
	lc->has_sub = true;
	lc->sub_confirmed = false;
	lifecycle__derive_state(lc);
}

int64_t rc_lifecycle_renew_time(int64_t now, int64_t lifetime_ms, int64_t renew_margin_ms)
{
	int64_t margin = renew_margin_ms;

	/* A 20-second subscription with the default 120 s margin must still live a while. */
	if (margin > lifetime_ms / 2)
		margin = lifetime_ms / 2;
	return now + lifetime_ms - margin;
}

int64_t rc_lifecycle_check_time(int64_t now, int64_t lifetime_ms)
{
	int64_t half = lifetime_ms / 2;

	if (half < RC_LC_CHECK_MIN_MS)
		half = RC_LC_CHECK_MIN_MS;
	if (half > RC_LC_CHECK_MAX_MS)
		half = RC_LC_CHECK_MAX_MS;
	return now + half;
}

int64_t rc_lifecycle_refresh_time(int64_t now, int64_t lifetime_ms)
{
	int64_t early = lifetime_ms / 5;

	if (early > 300000)
		early = 300000;
	return now + lifetime_ms - early;
}

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

static enum rc_lc_action lifecycle__start(struct rc_lifecycle *lc, enum rc_lc_action a)
{
	lc->in_flight = a;
	return a;
}

/* The token step: due when there is no token, or the current one is near its end. */
static enum rc_lc_action lifecycle__token_action(const struct rc_lifecycle *lc, int64_t now)
{
	if (lc->has_refresh && now < lc->refresh_expires_at)
		return RC_ACT_REFRESH;
	return RC_ACT_LOGIN;
}

/* lingers: the subscription may still exist on the server (we could not delete it). */
static void lifecycle__drop_sub(struct rc_lifecycle *lc, const char *why, bool lingers)
{
	if (lc->has_sub) {
		lc->lost++;
		lc->lost_why = why;
		lc->lost_may_linger = lingers;
	}
	lc->has_sub = false;
	lc->sub_confirmed = false;
	lc->transport_failed = false;
	lc->renew_requested = false;
	lc->recreate_requested = false;
}

bool rc_lifecycle_on_channel(const struct rc_lifecycle *lc, enum rc_lc_action a)
{
	return lc->socket_mode && (a == RC_ACT_CREATE || a == RC_ACT_MODIFY || a == RC_ACT_CHECK ||
			a == RC_ACT_DELETE);
}

static enum rc_lc_action lifecycle__next_stopping(struct rc_lifecycle *lc, int64_t now)
{
	bool want_delete = lc->has_sub && !lc->keep_on_stop;

	/* Over the socket: only while it is open (the session ends with it anyway). */
	if (lc->socket_mode) {
		if (want_delete && lc->channel_up)
			return lifecycle__start(lc, RC_ACT_DELETE);
		lc->state = RC_LC_STOPPED;
		return RC_ACT_NONE;
	}
	if (want_delete && lc->has_access && now < lc->access_expires_at)
		return lifecycle__start(lc, RC_ACT_DELETE);
	if (want_delete && !lc->has_access && now >= lc->auth_blocked_until)
		return lifecycle__start(lc, lifecycle__token_action(lc, now));
	lc->state = RC_LC_STOPPED;
	return RC_ACT_NONE;
}

enum rc_lc_action rc_lifecycle_next(struct rc_lifecycle *lc, int64_t now, int64_t *wake_at)
{
	*wake_at = INT64_MAX;
	if (lc->in_flight != RC_ACT_NONE || lc->state == RC_LC_STOPPED)
		return RC_ACT_NONE;

	if (lc->has_access && now >= lc->access_expires_at)
		lc->has_access = false;
	/* A REST subscription that was not renewed in time is gone, whatever we believed:
	 * make a new one rather than renew a dead one. (A socket subscription renews itself
	 * while connected.) */
	if (!lc->socket_mode && lc->has_sub && lc->sub_confirmed && now >= lc->sub_expires_at &&
			lc->state != RC_LC_STOPPING)
		lifecycle__drop_sub(lc, "expired before it could be renewed", false);
	lifecycle__derive_state(lc);

	if (lc->state == RC_LC_STOPPING)
		return lifecycle__next_stopping(lc, now);

	if (now < lc->not_before) {
		*wake_at = lc->not_before;
		return RC_ACT_NONE;
	}

	if (!lc->has_access || now >= lc->refresh_at) {
		if (now < lc->auth_blocked_until) {
			*wake_at = lc->auth_blocked_until;
			/* A still-valid token keeps the subscription work going meanwhile. */
			if (!lc->has_access)
				return RC_ACT_NONE;
		} else {
			return lifecycle__start(lc, lifecycle__token_action(lc, now));
		}
	}

	if (now < lc->api_blocked_until) {
		*wake_at = min64(*wake_at, lc->api_blocked_until);
		return RC_ACT_NONE;
	}
	if (lc->socket_mode) {
		if (lc->wstoken_wanted)
			return lifecycle__start(lc, RC_ACT_WSTOKEN);
		if (now < lc->refresh_at)
			*wake_at = min64(*wake_at, lc->refresh_at);
		if (!lc->channel_up)
			return RC_ACT_NONE;
		if (now < lc->channel_not_before) {
			*wake_at = min64(*wake_at, lc->channel_not_before);
			return RC_ACT_NONE;
		}
		if (!lc->has_sub)
			return lifecycle__start(lc, RC_ACT_CREATE);
		if (lc->recreate_requested)
			return lifecycle__start(lc, RC_ACT_DELETE);
		if (lc->filters_dirty)
			return lifecycle__start(lc, RC_ACT_MODIFY);
		if (now >= lc->renew_at || lc->renew_requested)
			return lifecycle__start(lc, RC_ACT_CHECK);
		*wake_at = min64(*wake_at, lc->renew_at);
		return RC_ACT_NONE;
	}
	if (lc->has_sub && lc->transport_failed)
		return lifecycle__start(lc, RC_ACT_DELETE); /* do not leak the dead one */
	if (lc->orphans_pending > 0)
		return lifecycle__start(lc, RC_ACT_DELETE_ORPHAN);
	if (lc->list_due)
		return lifecycle__start(lc, RC_ACT_LIST);
	if (lc->has_sub && !lc->sub_confirmed)
		return lifecycle__start(lc, RC_ACT_RESUME);
	if (!lc->has_sub)
		return lifecycle__start(lc, RC_ACT_CREATE);
	if (lc->recreate_requested)
		return lifecycle__start(lc, RC_ACT_DELETE); /* then CREATE, as after a refused channel */
	if (lc->filters_dirty)
		return lifecycle__start(lc, RC_ACT_MODIFY); /* a PUT renews as well */
	if (now >= lc->renew_at || lc->renew_requested)
		return lifecycle__start(lc, RC_ACT_RENEW);

	/* While the token endpoint is rate limited, *wake_at already holds the end of that
	 * window; otherwise the token's own refresh time is the next token event. */
	if (now < lc->refresh_at)
		*wake_at = min64(*wake_at, lc->refresh_at);
	*wake_at = min64(*wake_at, lc->renew_at);
	return RC_ACT_NONE;
}

static int64_t lifecycle__delay(struct rc_lifecycle *lc, int64_t now, int64_t min_ms,
		uint32_t random32)
{
	int64_t d = rc_backoff_fail(&lc->backoff, random32);

	if (d < min_ms)
		d = min_ms;
	lc->not_before = now + d;
	return d;
}

static void lifecycle__token_ok(struct rc_lifecycle *lc, enum rc_lc_action act, int64_t now,
		long access_s, long refresh_s)
{
	lc->has_access = true;
	lc->access_expires_at = now + (int64_t)access_s * 1000;
	lc->refresh_at = rc_lifecycle_refresh_time(now, (int64_t)access_s * 1000);
	if (refresh_s > 0) {
		lc->has_refresh = true;
		lc->refresh_expires_at = now + (int64_t)refresh_s * 1000;
	} else if (act == RC_ACT_LOGIN) {
		lc->has_refresh = false;
	}
}

static void lifecycle__sub_ok(struct rc_lifecycle *lc, enum rc_lc_action act, int64_t now,
		long lifetime_s)
{
	int64_t lifetime_ms = (int64_t)(lifetime_s > 0 ? lifetime_s : 1) * 1000;

	lc->has_sub = true;
	lc->sub_confirmed = true;
	lc->sub_expires_at = now + lifetime_ms;
	lc->renew_at = lc->socket_mode ? rc_lifecycle_check_time(now, lifetime_ms) :
			rc_lifecycle_renew_time(now, lifetime_ms, lc->renew_margin_ms);
	if (act == RC_ACT_CREATE || act == RC_ACT_MODIFY)
		lc->filters_dirty = false;
	if (act == RC_ACT_CREATE) {
		lc->transport_failed = false;
		lc->orphans_checked = false;
	}
	/* A subscription found again after a restart is renewed at once: its remaining
	 * lifetime may be short, and a renewal proves it is still ours to use. */
	if (act == RC_ACT_RESUME)
		lc->renew_at = now;
}

static void lifecycle__succeeded(struct rc_lifecycle *lc, enum rc_lc_action act, int64_t now,
		const struct rc_lc_result *r)
{
	rc_backoff_reset(&lc->backoff);
	if (rc_lifecycle_on_channel(lc, act))
		lc->channel_not_before = 0;
	else
		lc->not_before = 0;
	if (act == RC_ACT_LOGIN || act == RC_ACT_REFRESH) {
		lifecycle__token_ok(lc, act, now, r->access_s, r->refresh_s);
		return;
	}
	lc->unauthorized_in_row = 0;
	if (act == RC_ACT_DELETE)
		lifecycle__drop_sub(lc, "deleted", false);
	else if (act == RC_ACT_LIST)
		lc->list_due = false;
	else if (act == RC_ACT_DELETE_ORPHAN)
		lc->orphans_pending--;
	else if (act == RC_ACT_WSTOKEN)
		lc->wstoken_wanted = false;
	else
		lifecycle__sub_ok(lc, act, now, r->lifetime_s);
}

/* Returns the delay the failure imposes before the next attempt. */
static int64_t lifecycle__failed(struct rc_lifecycle *lc, enum rc_lc_action act, int64_t now,
		const struct rc_lc_result *r)
{
	bool auth_call = act == RC_ACT_LOGIN || act == RC_ACT_REFRESH;
	int64_t delay = 0;

	switch (r->outcome) {
	case RC_OUT_OK:
		break;
	case RC_OUT_UNAUTHORIZED:
		lc->has_access = false;
		/* One 401 means the token died: get another and retry at once. Two in a row
		 * with a fresh token mean something else is wrong: slow down. */
		if (++lc->unauthorized_in_row >= 2)
			delay = lifecycle__delay(lc, now, 0, r->random32);
		break;
	case RC_OUT_BAD_GRANT:
		if (act == RC_ACT_REFRESH) {
			lc->has_refresh = false; /* fall back to a full login right away */
		} else {
			lc->has_access = false;
			lc->has_refresh = false;
			delay = lifecycle__delay(lc, now, RC_LC_BAD_GRANT_MIN_MS, r->random32);
		}
		break;
	case RC_OUT_NOT_FOUND:
		if (act == RC_ACT_DELETE_ORPHAN)
			lc->orphans_pending--; /* already gone: that is what we wanted */
		else if (act == RC_ACT_RESUME || act == RC_ACT_RENEW || act == RC_ACT_MODIFY ||
				act == RC_ACT_CHECK || act == RC_ACT_DELETE)
			lifecycle__drop_sub(lc, "gone on the server", false); /* create a new one next */
		else
			delay = lifecycle__delay(lc, now, 0, r->random32);
		break;
	case RC_OUT_RATE_LIMITED:
		delay = r->retry_after_ms > 0 ? r->retry_after_ms : RC_LC_DEFAULT_RETRY_AFTER_MS;
		if (auth_call)
			lc->auth_blocked_until = now + delay;
		else
			lc->api_blocked_until = now + delay;
		break;
	case RC_OUT_LIMIT:
		/* Our own orphans count against the limit: if we know of any (ids we created,
		 * kept in the state file across restarts), list and delete those that still
		 * exist, then create again at once. Another broker's are never touched. */
		if (act == RC_ACT_CREATE && lc->may_have_orphans && !lc->orphans_checked &&
				!lc->socket_mode) {
			lc->list_due = true;
			lc->orphans_checked = true;
		} else {
			delay = lifecycle__delay(lc, now, RC_LC_LIMIT_MIN_MS, r->random32);
		}
		break;
	case RC_OUT_REJECTED:
		if (act == RC_ACT_DELETE_ORPHAN)
			lc->orphans_pending = 0; /* give up on cleaning; the limit error will say why */
		if (act == RC_ACT_DELETE)
			lifecycle__drop_sub(lc, "refused deletion", true); /* at least do not loop on it */
		delay = lifecycle__delay(lc, now, RC_LC_REJECTED_MIN_MS, r->random32);
		break;
	case RC_OUT_TRANSIENT:
		if (act == RC_ACT_LIST || act == RC_ACT_DELETE_ORPHAN) {
			lc->list_due = false;
			lc->orphans_pending = 0;
		}
		if (act == RC_ACT_DELETE && lc->transport_failed)
			lifecycle__drop_sub(lc, "refused by the channel", true); /* it expires on its own */
		delay = lifecycle__delay(lc, now, 0, r->random32);
		break;
	}
	return delay;
}

int64_t rc_lifecycle_done(struct rc_lifecycle *lc, int64_t now, const struct rc_lc_result *r)
{
	enum rc_lc_action act = lc->in_flight;
	int64_t delay = 0;

	lc->in_flight = RC_ACT_NONE;
	if (act == RC_ACT_NONE)
		return 0;
	/* An asked-for renewal is answered by the next one, however it ends. */
	if (act == RC_ACT_RENEW || act == RC_ACT_CHECK)
		lc->renew_requested = false;
	if (lc->state == RC_LC_STOPPING && act == RC_ACT_DELETE) {
		/* Shutdown does not retry: whatever happened, we are done. */
		if (r->outcome == RC_OUT_OK || r->outcome == RC_OUT_NOT_FOUND)
			lifecycle__drop_sub(lc, "deleted", false);
		lc->state = RC_LC_STOPPED;
		return 0;
	}
	if (r->outcome == RC_OUT_OK) {
		lifecycle__succeeded(lc, act, now, r);
	} else if (act == RC_ACT_CHECK && r->outcome != RC_OUT_NOT_FOUND &&
			r->outcome != RC_OUT_UNAUTHORIZED) {
		/* Only a read-back failed: the subscription still works. Look again later. */
		lc->renew_at = rc_lifecycle_check_time(now, lc->sub_expires_at - now);
	} else {
		int64_t before = lc->not_before;
		delay = lifecycle__failed(lc, act, now, r);
		if (rc_lifecycle_on_channel(lc, act)) {
			lc->channel_not_before = lc->not_before;
			lc->not_before = before;
		}
	}
	lifecycle__derive_state(lc);
	return delay;
}

bool rc_lifecycle_renew_now(struct rc_lifecycle *lc)
{
	if (!lc->has_sub || !lc->sub_confirmed || lc->state == RC_LC_STOPPING ||
			lc->state == RC_LC_STOPPED)
		return false;
	lc->renew_requested = true;
	return true;
}

bool rc_lifecycle_recreate(struct rc_lifecycle *lc)
{
	if (!lc->has_sub || lc->state == RC_LC_STOPPING || lc->state == RC_LC_STOPPED)
		return false;
	lc->recreate_requested = true;
	return true;
}

void rc_lifecycle_api_blocked(struct rc_lifecycle *lc, int64_t until)
{
	if (until > lc->api_blocked_until)
		lc->api_blocked_until = until;
}

void rc_lifecycle_token_rejected(struct rc_lifecycle *lc)
{
	lc->has_access = false;
	lifecycle__derive_state(lc);
}

void rc_lifecycle_use_socket(struct rc_lifecycle *lc)
{
	lc->socket_mode = true;
}

void rc_lifecycle_want_wstoken(struct rc_lifecycle *lc, bool wanted)
{
	lc->wstoken_wanted = wanted;
}

void rc_lifecycle_channel_up(struct rc_lifecycle *lc, bool keep_sub)
{
	lc->channel_up = true;
	if (!keep_sub)
		lifecycle__drop_sub(lc, "ended with its connection", false);
	lifecycle__derive_state(lc);
}

void rc_lifecycle_channel_down(struct rc_lifecycle *lc)
{
	lc->channel_up = false;
	if (rc_lifecycle_on_channel(lc, lc->in_flight))
		lc->in_flight = RC_ACT_NONE; /* its answer went with the connection */
	lifecycle__derive_state(lc);
}

void rc_lifecycle_set_filters_dirty(struct rc_lifecycle *lc, bool dirty)
{
	lc->filters_dirty = dirty;
}

void rc_lifecycle_transport_failed(struct rc_lifecycle *lc)
{
	if (lc->has_sub)
		lc->transport_failed = true;
}

void rc_lifecycle_set_may_have_orphans(struct rc_lifecycle *lc, bool may)
{
	lc->may_have_orphans = may;
}

void rc_lifecycle_orphans_found(struct rc_lifecycle *lc, unsigned n)
{
	lc->orphans_pending = n;
}

void rc_lifecycle_stop(struct rc_lifecycle *lc)
{
	if (lc->state != RC_LC_STOPPED)
		lc->state = RC_LC_STOPPING;
}

const char *rc_lc_state_name(enum rc_lc_state s)
{
	switch (s) {
	case RC_LC_AUTHENTICATING: return "authenticating";
	case RC_LC_SUBSCRIBING: return "subscribing";
	case RC_LC_ACTIVE: return "active";
	case RC_LC_STOPPING: return "stopping";
	case RC_LC_STOPPED: return "stopped";
	}
	return "unknown";
}

const char *rc_lc_action_name(enum rc_lc_action a)
{
	switch (a) {
	case RC_ACT_NONE: return "none";
	case RC_ACT_LOGIN: return "login";
	case RC_ACT_REFRESH: return "refresh";
	case RC_ACT_RESUME: return "resume";
	case RC_ACT_CREATE: return "create";
	case RC_ACT_RENEW: return "renew";
	case RC_ACT_MODIFY: return "modify";
	case RC_ACT_DELETE: return "delete";
	case RC_ACT_CHECK: return "check";
	case RC_ACT_LIST: return "list";
	case RC_ACT_DELETE_ORPHAN: return "delete orphan";
	case RC_ACT_WSTOKEN: return "wstoken";
	}
	return "unknown";
}
