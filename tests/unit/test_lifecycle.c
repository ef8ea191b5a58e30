/* test_lifecycle.c - the subscription state machine driven by a fake clock.
 *
 * No sockets and no sleeps: each test plays the worker's part, asking rc_lifecycle_next()
 * what is due at a given time and reporting outcomes with rc_lifecycle_done(). */
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

/* Brings a fresh machine to ACTIVE at time t with a subscription of `lifetime` seconds. */
static void activate(int64_t t, long lifetime)
{
	rc_lifecycle_init(&lc, 120 * S, false);
	CU_ASSERT_EQUAL(next_at(t), RC_ACT_LOGIN);
	rc_lifecycle_done(&lc, RC_OUT_OK, t, 3600, 604800, -1, 0);
	CU_ASSERT_EQUAL(next_at(t), RC_ACT_CREATE);
	rc_lifecycle_done(&lc, RC_OUT_OK, t, lifetime, 0, -1, 0);
	CU_ASSERT_EQUAL(lc.state, RC_LC_ACTIVE);
}

static void test_startup_sequence(void)
{
	rc_lifecycle_init(&lc, 120 * S, false);
	CU_ASSERT_EQUAL(lc.state, RC_LC_AUTHENTICATING);
	CU_ASSERT_EQUAL(next_at(0), RC_ACT_LOGIN);
	/* One request at a time. */
	CU_ASSERT_EQUAL(next_at(0), RC_ACT_NONE);
	rc_lifecycle_done(&lc, RC_OUT_OK, 0, 3600, 604800, -1, 0);
	CU_ASSERT_EQUAL(lc.state, RC_LC_SUBSCRIBING);
	CU_ASSERT_EQUAL(next_at(10), RC_ACT_CREATE);
	rc_lifecycle_done(&lc, RC_OUT_OK, 10, 900, 0, -1, 0);
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
		rc_lifecycle_done(&lc, RC_OUT_OK, t, 20, 0, -1, 0);
		CU_ASSERT(lc.sub_expires_at == t + 20 * S);
	}
}

static void test_refresh_then_login_when_refresh_rejected(void)
{
	activate(0, 900);
	CU_ASSERT_EQUAL(next_at(3300 * S), RC_ACT_REFRESH);
	rc_lifecycle_done(&lc, RC_OUT_BAD_GRANT, 3300 * S, 0, 0, -1, 0);
	CU_ASSERT_EQUAL(next_at(3300 * S), RC_ACT_LOGIN);
	rc_lifecycle_done(&lc, RC_OUT_OK, 3300 * S, 3600, 604800, -1, 0);
	CU_ASSERT_EQUAL(lc.state, RC_LC_ACTIVE);
}

static void test_unauthorized_renew_refreshes_and_retries(void)
{
	activate(0, 900);
	CU_ASSERT_EQUAL(next_at(780 * S), RC_ACT_RENEW);
	rc_lifecycle_done(&lc, RC_OUT_UNAUTHORIZED, 780 * S, 0, 0, -1, 0);
	CU_ASSERT_EQUAL(next_at(780 * S), RC_ACT_REFRESH);
	rc_lifecycle_done(&lc, RC_OUT_OK, 780 * S, 3600, 0, -1, 0);
	CU_ASSERT_EQUAL(next_at(780 * S), RC_ACT_RENEW);
	/* A second 401 in a row with a fresh token means something else: back off. */
	int64_t d = rc_lifecycle_done(&lc, RC_OUT_UNAUTHORIZED, 780 * S, 0, 0, -1, 0);
	CU_ASSERT(d > 0);
	CU_ASSERT_EQUAL(next_at(780 * S + d - 1), RC_ACT_NONE);
	CU_ASSERT_EQUAL(next_at(780 * S + d), RC_ACT_REFRESH);
	rc_lifecycle_done(&lc, RC_OUT_OK, 780 * S + d, 3600, 0, -1, 0);
	CU_ASSERT_EQUAL(next_at(780 * S + d), RC_ACT_RENEW);
	rc_lifecycle_done(&lc, RC_OUT_OK, 780 * S + d, 900, 0, -1, 0);
	CU_ASSERT_EQUAL(lc.unauthorized_in_row, 0);
}

static void test_not_found_on_renew_recreates(void)
{
	activate(0, 900);
	CU_ASSERT_EQUAL(next_at(780 * S), RC_ACT_RENEW);
	CU_ASSERT_EQUAL(rc_lifecycle_done(&lc, RC_OUT_NOT_FOUND, 780 * S, 0, 0, -1, 0), 0);
	CU_ASSERT_FALSE(lc.has_sub);
	CU_ASSERT_EQUAL(lc.state, RC_LC_SUBSCRIBING);
	CU_ASSERT_EQUAL(next_at(780 * S), RC_ACT_CREATE);
}

static void test_rate_limit_honours_retry_after(void)
{
	activate(0, 900);
	CU_ASSERT_EQUAL(next_at(780 * S), RC_ACT_RENEW);
	CU_ASSERT_EQUAL(rc_lifecycle_done(&lc, RC_OUT_RATE_LIMITED, 780 * S, 0, 0, 5 * S, 0), 5 * S);
	CU_ASSERT_EQUAL(next_at(784 * S), RC_ACT_NONE);
	CU_ASSERT_EQUAL(wake, 785 * S);
	CU_ASSERT_EQUAL(next_at(785 * S), RC_ACT_RENEW);
	/* Without Retry-After: 30 s. */
	CU_ASSERT_EQUAL(rc_lifecycle_done(&lc, RC_OUT_RATE_LIMITED, 785 * S, 0, 0, -1, 0), 30 * S);
	CU_ASSERT_EQUAL(next_at(814 * S), RC_ACT_NONE);
	CU_ASSERT_EQUAL(next_at(815 * S), RC_ACT_RENEW);
}

static void test_auth_rate_limit_is_its_own_group(void)
{
	activate(0, 900);
	CU_ASSERT_EQUAL(next_at(3300 * S), RC_ACT_REFRESH);
	rc_lifecycle_done(&lc, RC_OUT_RATE_LIMITED, 3300 * S, 0, 0, 60 * S, 0);
	/* The token is still valid until 3600 s: subscription work goes on meanwhile. */
	lc.renew_at = 3310 * S;
	CU_ASSERT_EQUAL(next_at(3310 * S), RC_ACT_RENEW);
	rc_lifecycle_done(&lc, RC_OUT_OK, 3310 * S, 900, 0, -1, 0);
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
		int64_t d = rc_lifecycle_done(&lc, RC_OUT_TRANSIENT, t, 0, 0, -1, 0xffffffffu);
		CU_ASSERT(d >= last || d >= 15 * S);
		CU_ASSERT(d <= 30 * S);
		CU_ASSERT_EQUAL(next_at(t + d - 1), RC_ACT_NONE);
		last = d;
		t += d;
	}
	CU_ASSERT(last >= 15 * S);
	/* Success resets the backoff. */
	CU_ASSERT_EQUAL(next_at(t), RC_ACT_LOGIN);
	rc_lifecycle_done(&lc, RC_OUT_OK, t, 3600, 0, -1, 0);
	CU_ASSERT_EQUAL(next_at(t), RC_ACT_CREATE);
	CU_ASSERT(rc_lifecycle_done(&lc, RC_OUT_TRANSIENT, t, 0, 0, -1, 0xffffffffu) <= 1 * S);
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
			rc_lifecycle_done(&lc, RC_OUT_BAD_GRANT, t, 0, 0, -1, 0);
		}
		t += 100;
	}
	CU_ASSERT(attempts >= 2);
	CU_ASSERT(attempts <= 4);
}

static void test_filters_change_modifies(void)
{
	activate(0, 900);
	rc_lifecycle_filters_changed(&lc);
	CU_ASSERT_EQUAL(next_at(5 * S), RC_ACT_MODIFY);
	rc_lifecycle_done(&lc, RC_OUT_OK, 5 * S, 900, 0, -1, 0);
	CU_ASSERT_FALSE(lc.filters_dirty);
	CU_ASSERT_EQUAL(next_at(6 * S), RC_ACT_NONE);
	CU_ASSERT_EQUAL(wake, 5 * S + 780 * S);
}

static void test_resume_saved_subscription(void)
{
	rc_lifecycle_init(&lc, 120 * S, true);
	rc_lifecycle_resume_from(&lc);
	CU_ASSERT_EQUAL(next_at(0), RC_ACT_LOGIN);
	rc_lifecycle_done(&lc, RC_OUT_OK, 0, 3600, 0, -1, 0);
	CU_ASSERT_EQUAL(next_at(0), RC_ACT_RESUME);
	rc_lifecycle_done(&lc, RC_OUT_OK, 0, 300, 0, -1, 0);
	/* Found again: renewed at once, never re-created. */
	CU_ASSERT_EQUAL(next_at(0), RC_ACT_RENEW);
	rc_lifecycle_done(&lc, RC_OUT_OK, 0, 900, 0, -1, 0);
	CU_ASSERT_EQUAL(next_at(1), RC_ACT_NONE);

	/* A saved subscription that is gone: create a new one. */
	rc_lifecycle_init(&lc, 120 * S, true);
	rc_lifecycle_resume_from(&lc);
	CU_ASSERT_EQUAL(next_at(0), RC_ACT_LOGIN);
	rc_lifecycle_done(&lc, RC_OUT_OK, 0, 3600, 0, -1, 0);
	CU_ASSERT_EQUAL(next_at(0), RC_ACT_RESUME);
	rc_lifecycle_done(&lc, RC_OUT_NOT_FOUND, 0, 0, 0, -1, 0);
	CU_ASSERT_EQUAL(next_at(0), RC_ACT_CREATE);
}

static void test_resume_with_changed_filters_modifies(void)
{
	rc_lifecycle_init(&lc, 120 * S, true);
	rc_lifecycle_resume_from(&lc);
	rc_lifecycle_filters_changed(&lc);
	CU_ASSERT_EQUAL(next_at(0), RC_ACT_LOGIN);
	rc_lifecycle_done(&lc, RC_OUT_OK, 0, 3600, 0, -1, 0);
	CU_ASSERT_EQUAL(next_at(0), RC_ACT_RESUME);
	rc_lifecycle_done(&lc, RC_OUT_OK, 0, 300, 0, -1, 0);
	CU_ASSERT_EQUAL(next_at(0), RC_ACT_MODIFY);
}

static void test_stop_deletes_without_state_file(void)
{
	activate(0, 900);
	rc_lifecycle_stop(&lc);
	CU_ASSERT_EQUAL(next_at(10), RC_ACT_DELETE);
	rc_lifecycle_done(&lc, RC_OUT_OK, 10, 0, 0, -1, 0);
	CU_ASSERT_EQUAL(lc.state, RC_LC_STOPPED);
	CU_ASSERT_FALSE(lc.has_sub);
	CU_ASSERT_EQUAL(next_at(20), RC_ACT_NONE);

	/* A failed DELETE at shutdown is not retried. */
	activate(0, 900);
	rc_lifecycle_stop(&lc);
	CU_ASSERT_EQUAL(next_at(10), RC_ACT_DELETE);
	rc_lifecycle_done(&lc, RC_OUT_TRANSIENT, 10, 0, 0, -1, 0);
	CU_ASSERT_EQUAL(lc.state, RC_LC_STOPPED);
}

static void test_stop_keeps_with_state_file(void)
{
	rc_lifecycle_init(&lc, 120 * S, true);
	CU_ASSERT_EQUAL(next_at(0), RC_ACT_LOGIN);
	rc_lifecycle_done(&lc, RC_OUT_OK, 0, 3600, 0, -1, 0);
	CU_ASSERT_EQUAL(next_at(0), RC_ACT_CREATE);
	rc_lifecycle_done(&lc, RC_OUT_OK, 0, 900, 0, -1, 0);
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
	rc_lifecycle_done(&lc, RC_OUT_NOT_FOUND, 5, 0, 0, -1, 0);
	CU_ASSERT_EQUAL(next_at(5), RC_ACT_CREATE);
	rc_lifecycle_done(&lc, RC_OUT_OK, 5, 900, 0, -1, 0);
	CU_ASSERT_EQUAL(lc.state, RC_LC_ACTIVE);
	CU_ASSERT_FALSE(lc.transport_failed);
}

static void test_subscription_limit_waits(void)
{
	rc_lifecycle_init(&lc, 120 * S, false);
	CU_ASSERT_EQUAL(next_at(0), RC_ACT_LOGIN);
	rc_lifecycle_done(&lc, RC_OUT_OK, 0, 3600, 0, -1, 0);
	CU_ASSERT_EQUAL(next_at(0), RC_ACT_CREATE);
	CU_ASSERT(rc_lifecycle_done(&lc, RC_OUT_LIMIT, 0, 0, 0, -1, 0) >= 60 * S);
	CU_ASSERT_EQUAL(next_at(59 * S), RC_ACT_NONE);
}

/* WebSocket delivery: REST only for tokens and the WebSocket token; the subscription
 * is the socket's business and is never created, renewed or deleted here. */
static void test_socket_mode(void)
{
	rc_lifecycle_init(&lc, 120 * S, false);
	rc_lifecycle_use_socket(&lc);
	CU_ASSERT_EQUAL(next_at(0), RC_ACT_LOGIN);
	rc_lifecycle_done(&lc, RC_OUT_OK, 0, 3600, 604800, -1, 0);
	CU_ASSERT_EQUAL(next_at(0), RC_ACT_NONE);        /* nothing until the socket asks */
	CU_ASSERT_EQUAL(wake, 3300 * S);                 /* but the token refresh is planned */
	rc_lifecycle_want_wstoken(&lc);
	CU_ASSERT_EQUAL(next_at(1 * S), RC_ACT_WSTOKEN);
	CU_ASSERT_EQUAL(next_at(1 * S), RC_ACT_NONE);    /* one at a time */
	rc_lifecycle_done(&lc, RC_OUT_OK, 1 * S, 0, 0, -1, 0);
	CU_ASSERT_EQUAL(next_at(2 * S), RC_ACT_NONE);    /* served: not asked again */
	CU_ASSERT_EQUAL(lc.state, RC_LC_SUBSCRIBING);
	rc_lifecycle_socket_subscribed(&lc, true);
	CU_ASSERT_EQUAL(lc.state, RC_LC_ACTIVE);
	/* No renewal, ever: the gateway renews a WebSocket subscription itself. */
	CU_ASSERT_EQUAL(next_at(3000 * S), RC_ACT_NONE);
	CU_ASSERT_EQUAL(next_at(3300 * S), RC_ACT_REFRESH);
	rc_lifecycle_done(&lc, RC_OUT_OK, 3300 * S, 3600, 0, -1, 0);
	rc_lifecycle_filters_changed(&lc);
	CU_ASSERT_EQUAL(next_at(3301 * S), RC_ACT_NONE); /* the PUT goes over the socket */
	CU_ASSERT_TRUE(lc.filters_dirty);

	/* A 401 on the WebSocket token costs the access token: login, then try again. */
	rc_lifecycle_want_wstoken(&lc);
	CU_ASSERT_EQUAL(next_at(3302 * S), RC_ACT_WSTOKEN);
	rc_lifecycle_done(&lc, RC_OUT_UNAUTHORIZED, 3302 * S, 0, 0, -1, 0);
	CU_ASSERT_EQUAL(next_at(3302 * S), RC_ACT_REFRESH);
	rc_lifecycle_done(&lc, RC_OUT_OK, 3302 * S, 3600, 0, -1, 0);
	CU_ASSERT_EQUAL(next_at(3302 * S), RC_ACT_WSTOKEN);
	/* A transient failure backs off, then retries. */
	int64_t d = rc_lifecycle_done(&lc, RC_OUT_TRANSIENT, 3303 * S, 0, 0, -1, 0);
	CU_ASSERT_TRUE(d >= 500 && d <= 1000);
	CU_ASSERT_EQUAL(next_at(3303 * S), RC_ACT_NONE);
	CU_ASSERT_EQUAL(next_at(3303 * S + d), RC_ACT_WSTOKEN);
	rc_lifecycle_done(&lc, RC_OUT_OK, 3304 * S, 0, 0, -1, 0);

	/* Shutdown: nothing over REST, even with a live subscription. */
	rc_lifecycle_stop(&lc);
	CU_ASSERT_EQUAL(next_at(3305 * S), RC_ACT_NONE);
	CU_ASSERT_EQUAL(lc.state, RC_LC_STOPPED);
}

static void test_expired_token_is_noticed(void)
{
	activate(0, 900);
	/* Suspend for two hours: token and subscription are both long gone. */
	int64_t t = 7200 * S;
	CU_ASSERT_EQUAL(next_at(t), RC_ACT_REFRESH);
	CU_ASSERT_EQUAL(lc.state, RC_LC_AUTHENTICATING);
	rc_lifecycle_done(&lc, RC_OUT_OK, t, 3600, 0, -1, 0);
	CU_ASSERT_EQUAL(next_at(t), RC_ACT_RENEW);
	rc_lifecycle_done(&lc, RC_OUT_NOT_FOUND, t, 0, 0, -1, 0);
	CU_ASSERT_EQUAL(next_at(t), RC_ACT_CREATE);
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
		{ "socket mode", test_socket_mode },
		{ NULL, NULL },
	};
	return rc_test_run("lifecycle", NULL, NULL, cases);
}
