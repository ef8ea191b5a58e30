/* rc_lifecycle.h - the subscription lifecycle as one explicit state machine.
 *
 * Every decision about talking to the REST API lives here: when to log in, refresh the
 * access token, create, resume (a subscription id from the state file), renew, modify or
 * recreate the subscription, when to back off and when to delete it at shutdown. The worker
 * asks rc_lifecycle_next() what to do now, performs that one request, and reports how it
 * went with rc_lifecycle_done(). Time is always passed in (milliseconds on a clock that
 * keeps counting through suspend), so tests drive the machine with a fake clock and no
 * sockets.
 *
 * The same machine serves both kinds of transport. In REST mode (PubNub) every subscription
 * call is a REST request. In socket mode (WebSocket) the subscription lives on the
 * transport's connection: the machine still decides when to create, modify, read back
 * (CHECK) and delete it, but those requests travel over the socket
 * (rc_lifecycle_on_channel), only the tokens are REST calls, and the subscription can be
 * used only while the channel is up (rc_lifecycle_channel_up/_down).
 *
 * Only one request is in flight at a time: the subscription calls share a rate-limit
 * group and nothing is gained by racing them. */
#ifndef RC_LIFECYCLE_H
#define RC_LIFECYCLE_H

#include <stdbool.h>
#include <stdint.h>
#include "rc_backoff.h"

enum rc_lc_state {
	RC_LC_AUTHENTICATING = 0, /* no usable access token yet */
	RC_LC_SUBSCRIBING,        /* logged in, no live subscription */
	RC_LC_ACTIVE,             /* live subscription: notifications may flow */
	RC_LC_STOPPING,           /* shutting down: delete or keep the subscription */
	RC_LC_STOPPED,
};

enum rc_lc_action {
	RC_ACT_NONE = 0,
	RC_ACT_LOGIN,     /* POST /restapi/oauth/token with the configured grant */
	RC_ACT_REFRESH,   /* POST /restapi/oauth/token grant_type=refresh_token */
	RC_ACT_RESUME,    /* GET /restapi/v1.0/subscription/{id} of a saved subscription */
	RC_ACT_CREATE,    /* POST /restapi/v1.0/subscription */
	RC_ACT_RENEW,     /* POST /restapi/v1.0/subscription/{id}/renew */
	RC_ACT_MODIFY,    /* PUT /restapi/v1.0/subscription/{id} */
	RC_ACT_DELETE,    /* DELETE /restapi/v1.0/subscription/{id} */
	RC_ACT_CHECK,     /* socket mode: GET /restapi/v1.0/subscription/{id} (it renews itself) */
	RC_ACT_LIST,      /* GET /restapi/v1.0/subscription: look for our orphans */
	RC_ACT_DELETE_ORPHAN, /* DELETE one orphan found by LIST */
	RC_ACT_WSTOKEN,   /* POST /restapi/oauth/wstoken: a token to open a WebSocket with */
};

/* How a request ended, as far as the lifecycle cares. */
enum rc_lc_outcome {
	RC_OUT_OK = 0,
	RC_OUT_UNAUTHORIZED,  /* 401 on an API call: the access token is no longer good */
	RC_OUT_BAD_GRANT,     /* 400/401 from the token endpoint: grant or client refused */
	RC_OUT_NOT_FOUND,     /* 404 on a subscription id: it expired or was deleted */
	RC_OUT_RATE_LIMITED,  /* 429: wait retry_after_ms */
	RC_OUT_LIMIT,         /* 403 SUB-505: too many subscriptions */
	RC_OUT_REJECTED,      /* other 4xx: our request is wrong; retrying soon will not help */
	RC_OUT_TRANSIENT,     /* 5xx, timeout, connection, TLS or DNS failure */
};

struct rc_lifecycle {
	enum rc_lc_state state;
	enum rc_lc_action in_flight;

	/* Access token: usable until access_expires_at; refreshed from refresh_at on. */
	bool has_access;
	int64_t access_expires_at;
	int64_t refresh_at;
	bool has_refresh;
	int64_t refresh_expires_at;
	unsigned unauthorized_in_row; /* 401s without a successful call in between */

	/* Subscription. */
	bool has_sub;
	bool sub_confirmed;           /* false for an id from the state file until GET says so */
	int64_t sub_expires_at;
	int64_t renew_at;
	bool filters_dirty;           /* desired filters differ from what the server accepted */
	bool transport_failed;        /* the delivery channel refused us: recreate */
	bool renew_requested;         /* renew (socket mode: read back) now: rc_lifecycle_renew_now */
	bool recreate_requested;      /* delete and create again: rc_lifecycle_recreate */
	bool list_due;                /* the subscription limit was hit: look for orphans */
	unsigned orphans_pending;     /* orphans found by LIST, still to delete */
	bool orphans_checked;         /* LIST already tried since the last successful create */
	bool may_have_orphans;        /* the worker knows ids it created besides the live one */
	unsigned lost;                /* subscriptions lost so far (expired, gone, refused) */
	const char *lost_why;         /* static text: why the last one was lost */
	bool lost_may_linger;         /* the last one lost may still exist on the server */

	/* Socket mode (see above). */
	bool socket_mode;
	bool channel_up;              /* the transport's connection is open and greeted */
	bool wstoken_wanted;          /* the transport needs a token to connect */

	/* Settings. */
	int64_t renew_margin_ms;
	bool keep_on_stop;            /* state_file given: keep the subscription at shutdown */

	/* Retry control: one backoff for the whole REST conversation, and the 429 windows of
	 * the two rate-limit groups we use. Requests over the channel wait on their own time,
	 * so that a refused one never delays reconnecting. */
	struct rc_backoff backoff;
	int64_t not_before;
	int64_t channel_not_before;
	int64_t auth_blocked_until;
	int64_t api_blocked_until;
};

void rc_lifecycle_init(struct rc_lifecycle *lc, int64_t renew_margin_ms, bool keep_on_stop);

/* Starts from a subscription saved by an earlier run: it must be confirmed (RESUME) before
 * it is trusted. */
void rc_lifecycle_resume_from(struct rc_lifecycle *lc);

/* What to do now. Returns RC_ACT_NONE when nothing is due; *wake_at is then the time at
 * which to ask again (INT64_MAX if only an external event can change anything). Marks the
 * returned action as in flight. */
enum rc_lc_action rc_lifecycle_next(struct rc_lifecycle *lc, int64_t now, int64_t *wake_at);

/* How the in-flight action ended. */
struct rc_lc_result {
	enum rc_lc_outcome outcome;
	long access_s;           /* LOGIN/REFRESH ok: access token lifetime, seconds */
	long refresh_s;          /* LOGIN/REFRESH ok: refresh token lifetime; 0 keeps the old */
	long lifetime_s;         /* RESUME/CREATE/RENEW/MODIFY/CHECK ok: subscription's remaining
	                          * lifetime, seconds */
	int64_t retry_after_ms;  /* RC_OUT_RATE_LIMITED: <= 0 means "not given" (30 s) */
	uint32_t random32;       /* feeds the backoff jitter */
};

/* Reports the end of the in-flight action. Returns the delay in ms before the next
 * attempt that this outcome imposes (0 if none). */
int64_t rc_lifecycle_done(struct rc_lifecycle *lc, int64_t now, const struct rc_lc_result *r);

/* True if the action travels over the transport's channel rather than as a REST call. */
bool rc_lifecycle_on_channel(const struct rc_lifecycle *lc, enum rc_lc_action a);

/* External events. */
/* Whether the desired filters differ from what the server last accepted (the worker
 * compares the lists after every change of either). */
void rc_lifecycle_set_filters_dirty(struct rc_lifecycle *lc, bool dirty);
void rc_lifecycle_transport_failed(struct rc_lifecycle *lc); /* e.g. PubNub 403 */
void rc_lifecycle_stop(struct rc_lifecycle *lc);
/* Whether the worker knows subscriptions it created besides the live one (only those may
 * be deleted as orphans when the subscription limit is hit). */
void rc_lifecycle_set_may_have_orphans(struct rc_lifecycle *lc, bool may);
/* After a LIST: how many orphans the worker found and will delete one by one. */
void rc_lifecycle_orphans_found(struct rc_lifecycle *lc, unsigned n);

/* Asked from outside (the control API): renew the live subscription now (REST mode: a
 * RENEW; socket mode, where the gateway renews it itself: a read-back, CHECK), once,
 * after any pending filter change. Returns false (and asks nothing) if there is no
 * confirmed subscription or the machine is stopping. The request ends with the next
 * RENEW/CHECK, whatever its outcome, or with the subscription. */
bool rc_lifecycle_renew_now(struct rc_lifecycle *lc);
/* Asked from outside: replace the live subscription, DELETE then CREATE (over the channel
 * in socket mode). Returns false (and asks nothing) if there is no subscription to replace
 * (one is being created anyway) or the machine is stopping. */
bool rc_lifecycle_recreate(struct rc_lifecycle *lc);

/* Calls besides the lifecycle's (rc_api.h) share its API rate-limit window: a 429 there
 * keeps the API calls here from going out before until (never shortens the window), and
 * a 401 there means the access token is dead (a new one is fetched next). */
void rc_lifecycle_api_blocked(struct rc_lifecycle *lc, int64_t until);
void rc_lifecycle_token_rejected(struct rc_lifecycle *lc);

/* Socket mode (see above). */
void rc_lifecycle_use_socket(struct rc_lifecycle *lc);
/* Whether the transport wants to (re)connect: while it does, a WSTOKEN is due as soon as
 * a token allows it. */
void rc_lifecycle_want_wstoken(struct rc_lifecycle *lc, bool wanted);
/* The channel is open. keep_sub: it resumed the previous session, so the subscription
 * continues; otherwise whatever subscription there was is gone with the old session. */
void rc_lifecycle_channel_up(struct rc_lifecycle *lc, bool keep_sub);
/* The channel is lost. A request in flight over it will not be answered; the subscription
 * is kept (a recovery may resume it) but cannot be used until the channel is up again. */
void rc_lifecycle_channel_down(struct rc_lifecycle *lc);

/* When a live subscription would be renewed, given its lifetime (pure arithmetic):
 * expires_at - min(renew_margin, lifetime / 2). */
int64_t rc_lifecycle_renew_time(int64_t now, int64_t lifetime_ms, int64_t renew_margin_ms);

/* Socket mode: when to read a self-renewing subscription back: after half its lifetime,
 * within 10 s and 15 min. */
int64_t rc_lifecycle_check_time(int64_t now, int64_t lifetime_ms);

/* When an access token of that lifetime should be refreshed: expires_at - min(5 min, 20%). */
int64_t rc_lifecycle_refresh_time(int64_t now, int64_t lifetime_ms);

const char *rc_lc_state_name(enum rc_lc_state s);
const char *rc_lc_action_name(enum rc_lc_action a);

#endif
