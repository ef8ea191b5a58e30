/* test_lifecycle.c - the subscription state machine driven by a fake clock.
 *
 * No sockets and no sleeps: each test plays the worker's part, asking rc_lifecycle_next()
 * what is due at a given time and reporting outcomes with rc_lifecycle_done(). */
#include <stdbool.h>
#include <stdint.h>
#include "rc_test.h"
#include "rc_lifecycle.h"

#define S 1000 /* one second in ms */

static struct rc_lifecycle lc;
static int64_t wake;

static enum rc_lc_action next_at(int64_t now)
{
	return rc_lifecycle_next(&lc, now, &wake);
}

/* Reports the in-flight action's end the way the worker does: a and b are the token
 * lifetimes for LOGIN/REFRESH, a the subscription's lifetime otherwise. */
static int64_t lc_done(enum rc_lc_outcome out, int64_t now, long a, long b,
		int64_t retry_after_ms, uint32_t random32)
{
	bool token = lc.in_flight == RC_ACT_LOGIN || lc.in_flight == RC_ACT_REFRESH;
	struct rc_lc_result r = {
		.outcome = out,
		.access_s = token ? a : 0,
		.refresh_s = token ? b : 0,
		.lifetime_s = token ? 0 : a,
		.retry_after_ms = retry_after_ms,
		.random32 = random32,
	};
	return rc_lifecycle_done(&lc, now, &r);
}

/* Brings a fresh machine to ACTIVE at time t with a subscription of `lifetime` seconds. */
static void activate(int64_t t, long lifetime)
{
	rc_lifecycle_init(&lc, 120 * S, false);
	CU_ASSERT_EQUAL(next_at(t), RC_ACT_LOGIN);
	lc_done(RC_OUT_OK, t, 3600, 604800, -1, 0);
	CU_ASSERT_EQUAL(next_at(t), RC_ACT_CREATE);
	lc_done(RC_OUT_OK, t, lifetime, 0, -1, 0);
	CU_ASSERT_EQUAL(lc.state, RC_LC_ACTIVE);
}

static void test_startup_sequence(void)
{
	rc_lifecycle_init(&lc, 120 * S, false);
	CU_ASSERT_EQUAL(lc.state, RC_LC_AUTHENTICATING);
	CU_ASSERT_EQUAL(next_at(0), RC_ACT_LOGIN);
	/* One request at a time. */
	CU_ASSERT_EQUAL(next_at(0), RC_ACT_NONE);
	lc_done(RC_OUT_OK, 0, 3600, 604800, -1, 0);
	CU_ASSERT_EQUAL(lc.state, RC_LC_SUBSCRIBING);
	CU_ASSERT_EQUAL(next_at(10), RC_ACT_CREATE);
	lc_done(RC_OUT_OK, 10, 900, 0, -1, 0);
	CU_ASSERT_EQUAL(lc.state, RC_LC_ACTIVE);
	CU_ASSERT_EQUAL(next_at(20), RC_ACT_NONE);
	CU_ASSERT_EQUAL(wake, 10 + (900 - 120) * S);
}

static void test_renew_arithmetic(void)
{
	CU_ASSERT_EQUAL(rc_lifecycle_renew_time(0, 900 * S, 120 * S), 780 * S);
	/* Clamped to half the lifetime: a 20 s subscription renews after 10 s. */
	CU_ASSERT_EQUAL(rc_lifecycle_renew_time(0, 20 * S, 120 * S), 10 * S);
	CU_ASSERT_EQUAL(rc_lifecycle_renew_time(5 * S, 240 * S, 120 * S), 125 * S);
	CU_ASSERT_EQUAL(rc_lifecycle_refresh_time(0, 3600 * S), 3300 * S);
	CU_ASSERT_EQUAL(rc_lifecycle_refresh_time(0, 10 * S), 8 * S);
}

static void test_renews_short_lifetimes_in_time(void)
{
	int64_t t = 0;

	activate(t, 20);
	for (int i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL(next_at(t + 1), RC_ACT_NONE);
		CU_ASSERT(wake < t + 20 * S);
		t = wake;
		CU_ASSERT_EQUAL(next_at(t), RC_ACT_RENEW);
		lc_done(RC_OUT_OK, t, 20, 0, -1, 0);
		CU_ASSERT(lc.sub_expires_at == t + 20 * S);
	}
}

static void test_refresh_then_login_when_refresh_rejected(void)
{
	activate(0, 7200); /* outlives the token: only the token is at stake here */
	CU_ASSERT_EQUAL(next_at(3300 * S), RC_ACT_REFRESH);
	lc_done(RC_OUT_BAD_GRANT, 3300 * S, 0, 0, -1, 0);
	CU_ASSERT_EQUAL(next_at(3300 * S), RC_ACT_LOGIN);
	lc_done(RC_OUT_OK, 3300 * S, 3600, 604800, -1, 0);
	CU_ASSERT_EQUAL(lc.state, RC_LC_ACTIVE);
}

static void test_unauthorized_renew_refreshes_and_retries(void)
{
	activate(0, 900);
	CU_ASSERT_EQUAL(next_at(780 * S), RC_ACT_RENEW);
	lc_done(RC_OUT_UNAUTHORIZED, 780 * S, 0, 0, -1, 0);
	CU_ASSERT_EQUAL(next_at(780 * S), RC_ACT_REFRESH);
	lc_done(RC_OUT_OK, 780 * S, 3600, 0, -1, 0);
	CU_ASSERT_EQUAL(next_at(780 * S), RC_ACT_RENEW);
	/* A second 401 in a row with a fresh token means something else: back off. */
	int64_t d = lc_done(RC_OUT_UNAUTHORIZED, 780 * S, 0, 0, -1, 0);
	CU_ASSERT(d > 0);
	CU_ASSERT_EQUAL(next_at(780 * S + d - 1), RC_ACT_NONE);
	CU_ASSERT_EQUAL(next_at(780 * S + d), RC_ACT_REFRESH);
	lc_done(RC_OUT_OK, 780 * S + d, 3600, 0, -1, 0);
	CU_ASSERT_EQUAL(next_at(780 * S + d), RC_ACT_RENEW);
	lc_done(RC_OUT_OK, 780 * S + d, 900, 0, -1, 0);
	CU_ASSERT_EQUAL(lc.unauthorized_in_row, 0);
}

static void test_not_found_on_renew_recreates(void)
{
	activate(0, 900);
	CU_ASSERT_EQUAL(next_at(780 * S), RC_ACT_RENEW);
	CU_ASSERT_EQUAL(lc_done(RC_OUT_NOT_FOUND, 780 * S, 0, 0, -1, 0), 0);
	CU_ASSERT_FALSE(lc.has_sub);
	CU_ASSERT_EQUAL(lc.state, RC_LC_SUBSCRIBING);
	CU_ASSERT_EQUAL(next_at(780 * S), RC_ACT_CREATE);
}

static void test_rate_limit_honours_retry_after(void)
{
	activate(0, 900);
	CU_ASSERT_EQUAL(next_at(780 * S), RC_ACT_RENEW);
	CU_ASSERT_EQUAL(lc_done(RC_OUT_RATE_LIMITED, 780 * S, 0, 0, 5 * S, 0), 5 * S);
	CU_ASSERT_EQUAL(next_at(784 * S), RC_ACT_NONE);
	CU_ASSERT_EQUAL(wake, 785 * S);
	CU_ASSERT_EQUAL(next_at(785 * S), RC_ACT_RENEW);
	/* Without Retry-After: 30 s. */
	CU_ASSERT_EQUAL(lc_done(RC_OUT_RATE_LIMITED, 785 * S, 0, 0, -1, 0), 30 * S);
	CU_ASSERT_EQUAL(next_at(814 * S), RC_ACT_NONE);
	CU_ASSERT_EQUAL(next_at(815 * S), RC_ACT_RENEW);
}

static void test_auth_rate_limit_is_its_own_group(void)
{
	activate(0, 7200); /* outlives the token: only the token is at stake here */
	CU_ASSERT_EQUAL(next_at(3300 * S), RC_ACT_REFRESH);
	lc_done(RC_OUT_RATE_LIMITED, 3300 * S, 0, 0, 60 * S, 0);
	/* The token is still valid until 3600 s: subscription work goes on meanwhile. */
	lc.renew_at = 3310 * S;
	CU_ASSERT_EQUAL(next_at(3310 * S), RC_ACT_RENEW);
	lc_done(RC_OUT_OK, 3310 * S, 900, 0, -1, 0);
	CU_ASSERT_EQUAL(next_at(3320 * S), RC_ACT_NONE);
	CU_ASSERT_EQUAL(wake, 3360 * S);
	CU_ASSERT_EQUAL(next_at(3360 * S), RC_ACT_REFRESH);
}

static void test_transient_backoff_grows_and_caps(void)
{
	int64_t t = 0, last = 0;

	rc_lifecycle_init(&lc, 120 * S, false);
	for (int i = 0; i < 12; i++) {
		CU_ASSERT_EQUAL(next_at(t), RC_ACT_LOGIN);
		int64_t d = lc_done(RC_OUT_TRANSIENT, t, 0, 0, -1, 0xffffffffu);
		CU_ASSERT(d >= last || d >= 15 * S);
		CU_ASSERT(d <= 30 * S);
		CU_ASSERT_EQUAL(next_at(t + d - 1), RC_ACT_NONE);
		last = d;
		t += d;
	}
	CU_ASSERT(last >= 15 * S);
	/* Success resets the backoff. */
	CU_ASSERT_EQUAL(next_at(t), RC_ACT_LOGIN);
	lc_done(RC_OUT_OK, t, 3600, 0, -1, 0);
	CU_ASSERT_EQUAL(next_at(t), RC_ACT_CREATE);
	CU_ASSERT(lc_done(RC_OUT_TRANSIENT, t, 0, 0, -1, 0xffffffffu) <= 1 * S);
}

static void test_wrong_credentials_do_not_storm(void)
{
	int64_t t = 0;
	int attempts = 0;

	rc_lifecycle_init(&lc, 120 * S, false);
	/* Over one minute, count the logins the machine asks for. */
	while (t < 60 * S) {
		if (next_at(t) == RC_ACT_LOGIN) {
			attempts++;
			lc_done(RC_OUT_BAD_GRANT, t, 0, 0, -1, 0);
		}
		t += 100;
	}
	CU_ASSERT(attempts >= 2);
	CU_ASSERT(attempts <= 4);
}

static void test_filters_change_modifies(void)
{
	activate(0, 900);
	rc_lifecycle_set_filters_dirty(&lc, true);
	CU_ASSERT_EQUAL(next_at(5 * S), RC_ACT_MODIFY);
	lc_done(RC_OUT_OK, 5 * S, 900, 0, -1, 0);
	CU_ASSERT_FALSE(lc.filters_dirty);
	CU_ASSERT_EQUAL(next_at(6 * S), RC_ACT_NONE);
	CU_ASSERT_EQUAL(wake, 5 * S + 780 * S);
}

static void test_resume_saved_subscription(void)
{
	rc_lifecycle_init(&lc, 120 * S, true);
	rc_lifecycle_resume_from(&lc);
	CU_ASSERT_EQUAL(next_at(0), RC_ACT_LOGIN);
	lc_done(RC_OUT_OK, 0, 3600, 0, -1, 0);
	CU_ASSERT_EQUAL(next_at(0), RC_ACT_RESUME);
	lc_done(RC_OUT_OK, 0, 300, 0, -1, 0);
	/* Found again: renewed at once, never re-created. */
	CU_ASSERT_EQUAL(next_at(0), RC_ACT_RENEW);
	lc_done(RC_OUT_OK, 0, 900, 0, -1, 0);
	CU_ASSERT_EQUAL(next_at(1), RC_ACT_NONE);

	/* A saved subscription that is gone: create a new one. */
	rc_lifecycle_init(&lc, 120 * S, true);
	rc_lifecycle_resume_from(&lc);
	CU_ASSERT_EQUAL(next_at(0), RC_ACT_LOGIN);
	lc_done(RC_OUT_OK, 0, 3600, 0, -1, 0);
	CU_ASSERT_EQUAL(next_at(0), RC_ACT_RESUME);
	lc_done(RC_OUT_NOT_FOUND, 0, 0, 0, -1, 0);
	CU_ASSERT_EQUAL(next_at(0), RC_ACT_CREATE);
}

static void test_resume_with_changed_filters_modifies(void)
{
	rc_lifecycle_init(&lc, 120 * S, true);
	rc_lifecycle_resume_from(&lc);
	rc_lifecycle_set_filters_dirty(&lc, true);
	CU_ASSERT_EQUAL(next_at(0), RC_ACT_LOGIN);
	lc_done(RC_OUT_OK, 0, 3600, 0, -1, 0);
	CU_ASSERT_EQUAL(next_at(0), RC_ACT_RESUME);
	lc_done(RC_OUT_OK, 0, 300, 0, -1, 0);
	CU_ASSERT_EQUAL(next_at(0), RC_ACT_MODIFY);
}

static void test_stop_deletes_without_state_file(void)
{
	activate(0, 900);
	rc_lifecycle_stop(&lc);
	CU_ASSERT_EQUAL(next_at(10), RC_ACT_DELETE);
	lc_done(RC_OUT_OK, 10, 0, 0, -1, 0);
	CU_ASSERT_EQUAL(lc.state, RC_LC_STOPPED);
	CU_ASSERT_FALSE(lc.has_sub);
	CU_ASSERT_EQUAL(next_at(20), RC_ACT_NONE);

	/* A failed DELETE at shutdown is not retried. */
	activate(0, 900);
	rc_lifecycle_stop(&lc);
	CU_ASSERT_EQUAL(next_at(10), RC_ACT_DELETE);
	lc_done(RC_OUT_TRANSIENT, 10, 0, 0, -1, 0);
	CU_ASSERT_EQUAL(lc.state, RC_LC_STOPPED);
}

static void test_stop_keeps_with_state_file(void)
{
	rc_lifecycle_init(&lc, 120 * S, true);
	CU_ASSERT_EQUAL(next_at(0), RC_ACT_LOGIN);
	lc_done(RC_OUT_OK, 0, 3600, 0, -1, 0);
	CU_ASSERT_EQUAL(next_at(0), RC_ACT_CREATE);
	lc_done(RC_OUT_OK, 0, 900, 0, -1, 0);
	rc_lifecycle_stop(&lc);
	CU_ASSERT_EQUAL(next_at(10), RC_ACT_NONE);
	CU_ASSERT_EQUAL(lc.state, RC_LC_STOPPED);
	CU_ASSERT(lc.has_sub);
}

static void test_transport_failure_deletes_then_recreates(void)
{
	activate(0, 900);
	rc_lifecycle_transport_failed(&lc);
	CU_ASSERT_EQUAL(next_at(5), RC_ACT_DELETE);
	lc_done(RC_OUT_NOT_FOUND, 5, 0, 0, -1, 0);
	CU_ASSERT_EQUAL(next_at(5), RC_ACT_CREATE);
	lc_done(RC_OUT_OK, 5, 900, 0, -1, 0);
	CU_ASSERT_EQUAL(lc.state, RC_LC_ACTIVE);
	CU_ASSERT_FALSE(lc.transport_failed);
}

static void test_subscription_limit_waits(void)
{
	/* No subscription of ours is known besides the one we want: someone else's fill the
	 * limit, and they are not ours to delete. Wait, and say so. */
	rc_lifecycle_init(&lc, 120 * S, true);
	CU_ASSERT_EQUAL(next_at(0), RC_ACT_LOGIN);
	lc_done(RC_OUT_OK, 0, 3600, 0, -1, 0);
	CU_ASSERT_EQUAL(next_at(0), RC_ACT_CREATE);
	CU_ASSERT(lc_done(RC_OUT_LIMIT, 0, 0, 0, -1, 0) >= 60 * S);
	CU_ASSERT_EQUAL(next_at(59 * S), RC_ACT_NONE);
	CU_ASSERT_EQUAL(lc.orphans_pending, 0);

	/* With ids of our own known (state file or this run), list, delete those, and
	 * create again at once; only once per create. */
	rc_lifecycle_init(&lc, 120 * S, false);
	rc_lifecycle_set_may_have_orphans(&lc, true);
	CU_ASSERT_EQUAL(next_at(0), RC_ACT_LOGIN);
	lc_done(RC_OUT_OK, 0, 3600, 0, -1, 0);
	CU_ASSERT_EQUAL(next_at(0), RC_ACT_CREATE);
	CU_ASSERT_EQUAL(lc_done(RC_OUT_LIMIT, 0, 0, 0, -1, 0), 0);
	CU_ASSERT_EQUAL(next_at(0), RC_ACT_LIST);
	lc_done(RC_OUT_OK, 0, 0, 0, -1, 0);
	rc_lifecycle_orphans_found(&lc, 1);
	CU_ASSERT_EQUAL(next_at(0), RC_ACT_DELETE_ORPHAN);
	lc_done(RC_OUT_OK, 0, 0, 0, -1, 0);
	CU_ASSERT_EQUAL(next_at(0), RC_ACT_CREATE);
	CU_ASSERT(lc_done(RC_OUT_LIMIT, 0, 0, 0, -1, 0) >= 60 * S); /* still full: wait */
}

/* Issue: a REST subscription whose renewals all fail must not be reported live past its
 * expiration, nor renewed forever: at expiry it is lost, and a new one is created (with
 * backoff while creating fails). */
static void test_expiry_without_renewal_recreates(void)
{
	int64_t t;

	activate(0, 12);                                 /* renews at 6 s, expires at 12 s */
	CU_ASSERT_EQUAL(next_at(6 * S), RC_ACT_RENEW);
	t = 6 * S + lc_done(RC_OUT_TRANSIENT, 6 * S, 0, 0, -1, 0);
	for (int i = 0; i < 10 && t < 12 * S; i++) {
		CU_ASSERT_EQUAL(next_at(t), RC_ACT_RENEW);
		CU_ASSERT_EQUAL(lc.state, RC_LC_ACTIVE);
		t += lc_done(RC_OUT_TRANSIENT, t, 0, 0, -1, 0);
	}
	/* Past the expiration: gone, SUBSCRIBING (offline), and a create is what comes next. */
	t = t > 12 * S ? t : 12 * S;
	enum rc_lc_action a = next_at(t);
	CU_ASSERT_FALSE(lc.has_sub);
	CU_ASSERT_EQUAL(lc.state, RC_LC_SUBSCRIBING);
	CU_ASSERT_EQUAL(lc.lost, 1);
	CU_ASSERT_PTR_NOT_NULL(lc.lost_why);
	if (a == RC_ACT_NONE)
		a = next_at(wake);                       /* the backoff of the last failure */
	CU_ASSERT_EQUAL(a, RC_ACT_CREATE);
	int64_t d = lc_done(RC_OUT_TRANSIENT, t, 0, 0, -1, 0);
	CU_ASSERT(d > 0);                                /* creating backs off too */
	CU_ASSERT_EQUAL(next_at(t + d), RC_ACT_CREATE);
	lc_done(RC_OUT_OK, t + d, 900, 0, -1, 0);
	CU_ASSERT_EQUAL(lc.state, RC_LC_ACTIVE);
}

/* Issue: a filter change while a MODIFY is in flight must not be lost. The worker marks
 * the filters dirty again after the answer when the desired list still differs from what
 * that request carried; the lifecycle must then modify again. */
static void test_filter_change_during_a_request_is_kept(void)
{
	activate(0, 900);
	rc_lifecycle_set_filters_dirty(&lc, true);
	CU_ASSERT_EQUAL(next_at(5 * S), RC_ACT_MODIFY);
	/* ... a second change arrives while the PUT is in flight ... */
	lc_done(RC_OUT_OK, 6 * S, 900, 0, -1, 0);
	rc_lifecycle_set_filters_dirty(&lc, true);      /* desired != what the PUT carried */
	CU_ASSERT_EQUAL(next_at(6 * S), RC_ACT_MODIFY);
	lc_done(RC_OUT_OK, 7 * S, 900, 0, -1, 0);
	rc_lifecycle_set_filters_dirty(&lc, false);
	CU_ASSERT_EQUAL(next_at(7 * S), RC_ACT_NONE);
}

/* Socket mode (WebSocket delivery): brings the machine to a live subscription on an open
 * channel at time t. */
static void socket_activate(int64_t t)
{
	rc_lifecycle_init(&lc, 120 * S, false);
	rc_lifecycle_use_socket(&lc);
	CU_ASSERT_EQUAL(next_at(t), RC_ACT_LOGIN);
	lc_done(RC_OUT_OK, t, 3600, 604800, -1, 0);
	rc_lifecycle_want_wstoken(&lc, true);
	CU_ASSERT_EQUAL(next_at(t), RC_ACT_WSTOKEN);
	lc_done(RC_OUT_OK, t, 0, 0, -1, 0);
	rc_lifecycle_channel_up(&lc, false);
	CU_ASSERT_EQUAL(next_at(t), RC_ACT_CREATE);
	CU_ASSERT_TRUE(rc_lifecycle_on_channel(&lc, RC_ACT_CREATE));
	lc_done(RC_OUT_OK, t, 900, 0, -1, 0);
	CU_ASSERT_EQUAL(lc.state, RC_LC_ACTIVE);
}

static void test_socket_tokens_and_channel(void)
{
	rc_lifecycle_init(&lc, 120 * S, false);
	rc_lifecycle_use_socket(&lc);
	CU_ASSERT_EQUAL(next_at(0), RC_ACT_LOGIN);
	CU_ASSERT_FALSE(rc_lifecycle_on_channel(&lc, RC_ACT_LOGIN));
	CU_ASSERT_FALSE(rc_lifecycle_on_channel(&lc, RC_ACT_WSTOKEN));
	lc_done(RC_OUT_OK, 0, 3600, 604800, -1, 0);
	CU_ASSERT_EQUAL(next_at(0), RC_ACT_NONE);        /* nothing until the transport asks */
	CU_ASSERT_EQUAL(wake, 3300 * S);                 /* but the token refresh is planned */
	rc_lifecycle_want_wstoken(&lc, true);
	CU_ASSERT_EQUAL(next_at(1 * S), RC_ACT_WSTOKEN);
	CU_ASSERT_EQUAL(next_at(1 * S), RC_ACT_NONE);    /* one at a time */
	lc_done(RC_OUT_OK, 1 * S, 0, 0, -1, 0);
	CU_ASSERT_EQUAL(next_at(2 * S), RC_ACT_NONE);    /* served; no channel yet: nothing */
	CU_ASSERT_EQUAL(lc.state, RC_LC_SUBSCRIBING);

	/* A 401 on the WebSocket token costs the access token: refresh, then try again. */
	rc_lifecycle_want_wstoken(&lc, true);
	CU_ASSERT_EQUAL(next_at(3 * S), RC_ACT_WSTOKEN);
	lc_done(RC_OUT_UNAUTHORIZED, 3 * S, 0, 0, -1, 0);
	CU_ASSERT_EQUAL(next_at(3 * S), RC_ACT_REFRESH);
	lc_done(RC_OUT_OK, 3 * S, 3600, 0, -1, 0);
	CU_ASSERT_EQUAL(next_at(3 * S), RC_ACT_WSTOKEN);
	/* A transient failure backs off, then retries. */
	int64_t d = lc_done(RC_OUT_TRANSIENT, 4 * S, 0, 0, -1, 0);
	CU_ASSERT_TRUE(d >= 500 && d <= 1000);
	CU_ASSERT_EQUAL(next_at(4 * S), RC_ACT_NONE);
	CU_ASSERT_EQUAL(next_at(4 * S + d), RC_ACT_WSTOKEN);
	lc_done(RC_OUT_OK, 5 * S, 0, 0, -1, 0);
	/* Tokens keep being refreshed over REST while the channel is up. */
	rc_lifecycle_channel_up(&lc, false);
	CU_ASSERT_EQUAL(next_at(5 * S), RC_ACT_CREATE);
	lc_done(RC_OUT_OK, 5 * S, 900, 0, -1, 0);
	CU_ASSERT_EQUAL(next_at(3303 * S), RC_ACT_REFRESH);
}

static void test_socket_create_modify_check(void)
{
	socket_activate(0);
	/* The gateway renews the subscription itself: it is only read back (GET) after half
	 * its lifetime, never renewed. */
	CU_ASSERT_EQUAL(next_at(1 * S), RC_ACT_NONE);
	CU_ASSERT_EQUAL(wake, 450 * S);
	CU_ASSERT_EQUAL(next_at(450 * S), RC_ACT_CHECK);
	CU_ASSERT_TRUE(rc_lifecycle_on_channel(&lc, RC_ACT_CHECK));
	lc_done(RC_OUT_OK, 450 * S, 900, 0, -1, 0);
	CU_ASSERT_EQUAL(next_at(451 * S), RC_ACT_NONE);
	CU_ASSERT_EQUAL(wake, 900 * S);
	/* A short lifetime is still read back no more often than every 10 s. */
	CU_ASSERT_EQUAL(rc_lifecycle_check_time(0, 4 * S), 10 * S);
	CU_ASSERT_EQUAL(rc_lifecycle_check_time(0, 86400 * S), 900 * S);
	/* A filter change is a PUT over the channel. */
	rc_lifecycle_set_filters_dirty(&lc, true);
	CU_ASSERT_EQUAL(next_at(452 * S), RC_ACT_MODIFY);
	CU_ASSERT_TRUE(rc_lifecycle_on_channel(&lc, RC_ACT_MODIFY));
	lc_done(RC_OUT_OK, 452 * S, 900, 0, -1, 0);
	CU_ASSERT_FALSE(lc.filters_dirty);
	CU_ASSERT_EQUAL(lc.state, RC_LC_ACTIVE);
}

static void test_socket_check_not_found_recreates(void)
{
	socket_activate(0);
	CU_ASSERT_EQUAL(next_at(450 * S), RC_ACT_CHECK);
	lc_done(RC_OUT_NOT_FOUND, 450 * S, 0, 0, -1, 0); /* deleted server-side */
	CU_ASSERT_EQUAL(lc.state, RC_LC_SUBSCRIBING);
	CU_ASSERT_EQUAL(lc.lost, 1);
	CU_ASSERT_EQUAL(next_at(450 * S), RC_ACT_CREATE);  /* on the same connection, at once */
	lc_done(RC_OUT_OK, 450 * S, 900, 0, -1, 0);
	/* A PUT that finds it gone does the same. */
	rc_lifecycle_set_filters_dirty(&lc, true);
	CU_ASSERT_EQUAL(next_at(451 * S), RC_ACT_MODIFY);
	lc_done(RC_OUT_NOT_FOUND, 451 * S, 0, 0, -1, 0);
	CU_ASSERT_EQUAL(next_at(451 * S), RC_ACT_CREATE);
}

static void test_socket_request_failures(void)
{
	socket_activate(0);
	rc_lifecycle_channel_up(&lc, false);             /* a fresh session: subscribe again */
	CU_ASSERT_EQUAL(next_at(1 * S), RC_ACT_CREATE);
	/* A refused create (4xx) is not retried within 30 s. */
	int64_t d = lc_done(RC_OUT_REJECTED, 1 * S, 0, 0, -1, 0);
	CU_ASSERT(d >= 30 * S);
	CU_ASSERT_EQUAL(next_at(1 * S + d - 1), RC_ACT_NONE);
	CU_ASSERT_EQUAL(next_at(1 * S + d), RC_ACT_CREATE);
	/* 429 waits for Retry-After. */
	int64_t t = 1 * S + d;
	lc_done(RC_OUT_RATE_LIMITED, t, 0, 0, 7 * S, 0);
	CU_ASSERT_EQUAL(next_at(t + 6 * S), RC_ACT_NONE);
	CU_ASSERT_EQUAL(next_at(t + 7 * S), RC_ACT_CREATE);
	/* A 5xx backs off and retries. */
	d = lc_done(RC_OUT_TRANSIENT, t + 7 * S, 0, 0, -1, 0);
	CU_ASSERT(d > 0 && d <= 30 * S);
	CU_ASSERT_EQUAL(next_at(t + 7 * S + d), RC_ACT_CREATE);
	lc_done(RC_OUT_OK, t + 7 * S + d, 900, 0, -1, 0);
	CU_ASSERT_EQUAL(lc.state, RC_LC_ACTIVE);
}

static void test_socket_check_failure_and_reconnect(void)
{
	socket_activate(0);
	/* A read-back that fails (not 404) only means "look again later": no backoff, the
	 * subscription stays live. */
	CU_ASSERT_EQUAL(next_at(450 * S), RC_ACT_CHECK);
	CU_ASSERT_EQUAL(lc_done(RC_OUT_TRANSIENT, 450 * S, 0, 0, -1, 0), 0);
	CU_ASSERT_EQUAL(lc.state, RC_LC_ACTIVE);
	CU_ASSERT_EQUAL(next_at(451 * S), RC_ACT_NONE);
	CU_ASSERT(wake > 451 * S && wake <= 900 * S);
	/* A refused PUT backs off the channel's requests only: reconnecting after a drop
	 * is not held up by it. */
	rc_lifecycle_set_filters_dirty(&lc, true);
	CU_ASSERT_EQUAL(next_at(460 * S), RC_ACT_MODIFY);
	CU_ASSERT(lc_done(RC_OUT_REJECTED, 460 * S, 0, 0, -1, 0) >= 30 * S);
	rc_lifecycle_channel_down(&lc);
	rc_lifecycle_want_wstoken(&lc, true);
	CU_ASSERT_EQUAL(next_at(461 * S), RC_ACT_WSTOKEN);
	lc_done(RC_OUT_OK, 461 * S, 0, 0, -1, 0);
	rc_lifecycle_channel_up(&lc, true);
	CU_ASSERT_EQUAL(next_at(462 * S), RC_ACT_NONE);   /* the PUT waits for its own time */
	CU_ASSERT_EQUAL(next_at(490 * S), RC_ACT_MODIFY);
}

static void test_socket_recovery(void)
{
	socket_activate(0);
	/* Dropped: offline, the subscription kept for a recovery, nothing to send meanwhile. */
	rc_lifecycle_channel_down(&lc);
	CU_ASSERT_EQUAL(lc.state, RC_LC_SUBSCRIBING);
	CU_ASSERT_TRUE(lc.has_sub);
	rc_lifecycle_set_filters_dirty(&lc, true);      /* a change during the outage */
	CU_ASSERT_EQUAL(next_at(10 * S), RC_ACT_NONE);
	rc_lifecycle_want_wstoken(&lc, true);
	CU_ASSERT_EQUAL(next_at(10 * S), RC_ACT_WSTOKEN);
	lc_done(RC_OUT_OK, 10 * S, 0, 0, -1, 0);
	/* Recovered: the same subscription continues (no create), the change follows. */
	rc_lifecycle_channel_up(&lc, true);
	CU_ASSERT_EQUAL(lc.lost, 0);
	CU_ASSERT_EQUAL(next_at(11 * S), RC_ACT_MODIFY);
	lc_done(RC_OUT_OK, 11 * S, 900, 0, -1, 0);
	CU_ASSERT_EQUAL(lc.state, RC_LC_ACTIVE);
	/* Dropped again and the recovery is refused: subscribe again. */
	rc_lifecycle_channel_down(&lc);
	rc_lifecycle_channel_up(&lc, false);
	CU_ASSERT_EQUAL(lc.lost, 1);
	CU_ASSERT_EQUAL(next_at(12 * S), RC_ACT_CREATE);
}

static void test_socket_lost_during_request(void)
{
	socket_activate(0);
	rc_lifecycle_set_filters_dirty(&lc, true);
	CU_ASSERT_EQUAL(next_at(5 * S), RC_ACT_MODIFY);
	/* The connection drops before the answer: no answer will come, and that is not a
	 * failure of the request (no backoff); the next session decides again. */
	rc_lifecycle_channel_down(&lc);
	CU_ASSERT_EQUAL(lc.in_flight, RC_ACT_NONE);
	CU_ASSERT_EQUAL(lc.not_before, 0);
	rc_lifecycle_channel_up(&lc, true);
	CU_ASSERT_EQUAL(next_at(6 * S), RC_ACT_MODIFY);
	/* A token call in flight is not the channel's and is kept. */
	lc_done(RC_OUT_OK, 6 * S, 900, 0, -1, 0);
	rc_lifecycle_set_filters_dirty(&lc, false);
	rc_lifecycle_want_wstoken(&lc, true);
	CU_ASSERT_EQUAL(next_at(7 * S), RC_ACT_WSTOKEN);
	rc_lifecycle_channel_down(&lc);
	CU_ASSERT_EQUAL(lc.in_flight, RC_ACT_WSTOKEN);
}

static void test_socket_stop(void)
{
	/* With the channel up: the subscription is deleted over it, then stopped. */
	socket_activate(0);
	rc_lifecycle_stop(&lc);
	CU_ASSERT_EQUAL(next_at(1 * S), RC_ACT_DELETE);
	CU_ASSERT_TRUE(rc_lifecycle_on_channel(&lc, RC_ACT_DELETE));
	lc_done(RC_OUT_OK, 1 * S, 0, 0, -1, 0);
	CU_ASSERT_EQUAL(lc.state, RC_LC_STOPPED);

	/* With the channel down there is nothing to send it over: stopped at once. */
	socket_activate(0);
	rc_lifecycle_channel_down(&lc);
	rc_lifecycle_stop(&lc);
	CU_ASSERT_EQUAL(next_at(1 * S), RC_ACT_NONE);
	CU_ASSERT_EQUAL(lc.state, RC_LC_STOPPED);

	/* A channel lost while the DELETE is in flight ends the stop too. */
	socket_activate(0);
	rc_lifecycle_stop(&lc);
	CU_ASSERT_EQUAL(next_at(1 * S), RC_ACT_DELETE);
	rc_lifecycle_channel_down(&lc);
	CU_ASSERT_EQUAL(next_at(1 * S), RC_ACT_NONE);
	CU_ASSERT_EQUAL(lc.state, RC_LC_STOPPED);
}

static void test_expired_token_is_noticed(void)
{
	activate(0, 900);
	/* Suspend for two hours: token and subscription are both long gone. */
	int64_t t = 7200 * S;
	CU_ASSERT_EQUAL(next_at(t), RC_ACT_REFRESH);
	CU_ASSERT_EQUAL(lc.state, RC_LC_AUTHENTICATING);
	/* The subscription expired during the suspend: it is known lost, not renewed. */
	CU_ASSERT_FALSE(lc.has_sub);
	CU_ASSERT_EQUAL(lc.lost, 1);
	lc_done(RC_OUT_OK, t, 3600, 0, -1, 0);
	CU_ASSERT_EQUAL(next_at(t), RC_ACT_CREATE);
}

/* The control API's inputs: renew now (REST: RENEW at once, after a pending MODIFY;
 * socket: a read-back), recreate (DELETE then CREATE), and the API door's rate-limit
 * window and dead token. */
static void test_renew_now(void)
{
	rc_lifecycle_init(&lc, 120 * S, false);
	CU_ASSERT_FALSE(rc_lifecycle_renew_now(&lc));      /* nothing to renew yet */
	activate(0, 900);
	CU_ASSERT_EQUAL(next_at(10 * S), RC_ACT_NONE);
	CU_ASSERT_TRUE(rc_lifecycle_renew_now(&lc));
	rc_lifecycle_set_filters_dirty(&lc, true);
	CU_ASSERT_EQUAL(next_at(10 * S), RC_ACT_MODIFY);   /* the pending change first */
	lc_done(RC_OUT_OK, 10 * S, 900, 0, -1, 0);
	CU_ASSERT_TRUE(lc.renew_requested);                /* a PUT does not answer it */
	CU_ASSERT_EQUAL(next_at(11 * S), RC_ACT_RENEW);
	lc_done(RC_OUT_TRANSIENT, 11 * S, 0, 0, -1, 0);
	CU_ASSERT_FALSE(lc.renew_requested);               /* answered, however it went */
	CU_ASSERT_EQUAL(next_at(60 * S), RC_ACT_NONE);     /* back to the schedule */
	/* A lost subscription ends the request. */
	CU_ASSERT_TRUE(rc_lifecycle_renew_now(&lc));
	CU_ASSERT_EQUAL(next_at(60 * S), RC_ACT_RENEW);
	lc_done(RC_OUT_NOT_FOUND, 60 * S, 0, 0, -1, 0);
	CU_ASSERT_FALSE(lc.renew_requested);
	CU_ASSERT_FALSE(lc.has_sub);
	CU_ASSERT_FALSE(rc_lifecycle_renew_now(&lc));
	/* Stopping: not any more. */
	activate(0, 900);
	rc_lifecycle_stop(&lc);
	CU_ASSERT_FALSE(rc_lifecycle_renew_now(&lc));
	CU_ASSERT_FALSE(rc_lifecycle_recreate(&lc));
}

static void test_recreate(void)
{
	rc_lifecycle_init(&lc, 120 * S, false);
	CU_ASSERT_FALSE(rc_lifecycle_recreate(&lc));
	activate(0, 900);
	unsigned lost = lc.lost;
	CU_ASSERT_TRUE(rc_lifecycle_recreate(&lc));
	CU_ASSERT_EQUAL(next_at(S), RC_ACT_DELETE);
	/* A failed DELETE is retried after the backoff: the subscription is still live. */
	int64_t d = lc_done(RC_OUT_TRANSIENT, S, 0, 0, -1, 0);
	CU_ASSERT_TRUE(lc.has_sub);
	CU_ASSERT_EQUAL(next_at(S + d), RC_ACT_DELETE);
	lc_done(RC_OUT_OK, S + d, 0, 0, -1, 0);
	CU_ASSERT_FALSE(lc.has_sub);
	CU_ASSERT_FALSE(lc.recreate_requested);
	CU_ASSERT_EQUAL(lc.lost, lost + 1);
	CU_ASSERT_EQUAL(next_at(S + d), RC_ACT_CREATE);
	lc_done(RC_OUT_OK, S + d, 900, 0, -1, 0);
	CU_ASSERT_EQUAL(lc.state, RC_LC_ACTIVE);
	CU_ASSERT_EQUAL(next_at(2 * S + d), RC_ACT_NONE);
}

static void test_socket_renew_now_and_recreate(void)
{
	socket_activate(0);
	CU_ASSERT_TRUE(rc_lifecycle_renew_now(&lc));
	CU_ASSERT_EQUAL(next_at(S), RC_ACT_CHECK);         /* the gateway renews it itself */
	CU_ASSERT_TRUE(rc_lifecycle_on_channel(&lc, RC_ACT_CHECK));
	lc_done(RC_OUT_OK, S, 900, 0, -1, 0);
	CU_ASSERT_FALSE(lc.renew_requested);
	CU_ASSERT_TRUE(rc_lifecycle_recreate(&lc));
	CU_ASSERT_EQUAL(next_at(2 * S), RC_ACT_DELETE);
	lc_done(RC_OUT_OK, 2 * S, 0, 0, -1, 0);
	CU_ASSERT_EQUAL(next_at(2 * S), RC_ACT_CREATE);
	lc_done(RC_OUT_OK, 2 * S, 900, 0, -1, 0);
	CU_ASSERT_EQUAL(lc.state, RC_LC_ACTIVE);
}

static void test_api_door_inputs(void)
{
	activate(0, 900);
	rc_lifecycle_api_blocked(&lc, 50 * S);
	rc_lifecycle_api_blocked(&lc, 20 * S);             /* never shortens the window */
	CU_ASSERT_EQUAL(lc.api_blocked_until, 50 * S);
	CU_ASSERT_TRUE(rc_lifecycle_renew_now(&lc));
	CU_ASSERT_EQUAL(next_at(10 * S), RC_ACT_NONE);     /* the renewal waits for the window */
	CU_ASSERT_EQUAL(wake, 50 * S);
	CU_ASSERT_EQUAL(next_at(50 * S), RC_ACT_RENEW);
	lc_done(RC_OUT_OK, 50 * S, 900, 0, -1, 0);
	rc_lifecycle_token_rejected(&lc);
	CU_ASSERT_EQUAL(lc.state, RC_LC_AUTHENTICATING);
	CU_ASSERT_EQUAL(next_at(51 * S), RC_ACT_REFRESH);
}

int main(void)
{
	static const struct rc_test_case cases[] = {
		{ "startup sequence", test_startup_sequence },
		{ "renew arithmetic", test_renew_arithmetic },
		{ "short lifetimes renew in time", test_renews_short_lifetimes_in_time },
		{ "refresh, then login when refresh rejected", test_refresh_then_login_when_refresh_rejected },
		{ "401 on renew", test_unauthorized_renew_refreshes_and_retries },
		{ "404 on renew recreates", test_not_found_on_renew_recreates },
		{ "429 Retry-After", test_rate_limit_honours_retry_after },
		{ "auth rate limit group", test_auth_rate_limit_is_its_own_group },
		{ "transient backoff", test_transient_backoff_grows_and_caps },
		{ "wrong credentials", test_wrong_credentials_do_not_storm },
		{ "filter change", test_filters_change_modifies },
		{ "resume", test_resume_saved_subscription },
		{ "resume with changed filters", test_resume_with_changed_filters_modifies },
		{ "stop deletes", test_stop_deletes_without_state_file },
		{ "stop keeps", test_stop_keeps_with_state_file },
		{ "transport failure", test_transport_failure_deletes_then_recreates },
		{ "subscription limit", test_subscription_limit_waits },
		{ "expired token noticed", test_expired_token_is_noticed },
		{ "expiry without renewal", test_expiry_without_renewal_recreates },
		{ "filters changed during a request", test_filter_change_during_a_request_is_kept },
		{ "socket: tokens and channel", test_socket_tokens_and_channel },
		{ "socket: create, modify, check", test_socket_create_modify_check },
		{ "socket: check finds it gone", test_socket_check_not_found_recreates },
		{ "socket: request failures", test_socket_request_failures },
		{ "socket: check failure, reconnect not held up", test_socket_check_failure_and_reconnect },
		{ "socket: recovery", test_socket_recovery },
		{ "socket: lost with a request in flight", test_socket_lost_during_request },
		{ "socket: stop", test_socket_stop },
		{ "control: renew now", test_renew_now },
		{ "control: recreate", test_recreate },
		{ "control: socket renew now and recreate", test_socket_renew_now_and_recreate },
		{ "control: the API door's window and token", test_api_door_inputs },
		{ NULL, NULL },
	};
	return rc_test_run("lifecycle", NULL, NULL, cases);
}
