/* test_api.c - the REST door's queue (rc_api.h): bounds, waiting for a token and for the
 * rate-limit window, deadlines, every call answered exactly once. Transfers are started
 * on a real multi handle but never run: nothing here touches the network. */
#include <string.h>
#include <curl/curl.h>
#include "rc_test.h"
#include "rc_api.h"

#define S 1000

static struct rc_config cfg;
static CURLM *multi;
static int answers;
static char last_error[200];

static void done(void *arg, long status, const char *body, size_t len, const char *error)
{
	(void)arg;
	(void)status;
	(void)body;
	(void)len;
	answers++;
	snprintf(last_error, sizeof(last_error), "%s", error != NULL ? error : "");
}

static struct rc_api *api_new(void)
{
	struct rc_api_settings s = {
		.cfg = &cfg, .multi = multi, .max_queued = 3, .max_running = 1,
		.queue_timeout_ms = 60 * S, .max_answer = 65536,
	};
	return rc_api_new(&s);
}

static int setup(void)
{
	cfg.server = "http://127.0.0.1:1";
	cfg.request_timeout = 1;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	multi = curl_multi_init();
	return multi != NULL ? 0 : -1;
}

static int teardown(void)
{
	curl_multi_cleanup(multi);
	curl_global_cleanup();
	return 0;
}

static void test_bounds_and_bad_calls(void)
{
	struct rc_api *api = api_new();
	int64_t wake = INT64_MAX;

	answers = 0;
	CU_ASSERT_EQUAL(rc_api_submit(api, "GET", "/restapi/v1.0/subscription", NULL, 0, done, NULL), 0);
	CU_ASSERT_EQUAL(rc_api_submit(api, "POST", "/x", "{\"a\":1}", 0, done, NULL), 0);
	CU_ASSERT_EQUAL(rc_api_submit(api, "PUT", "/y", NULL, 0, done, NULL), 0);
	CU_ASSERT_EQUAL(rc_api_submit(api, "GET", "/z", NULL, 0, done, NULL), -1);   /* full */
	CU_ASSERT_EQUAL(rc_api_pending(api), 3);
	rc_api_free(api, "stopping");
	CU_ASSERT_EQUAL(answers, 3);
	CU_ASSERT_STRING_EQUAL(last_error, "stopping");

	api = api_new();
	answers = 0;
	CU_ASSERT_EQUAL(rc_api_submit(api, "TRACE", "/x", NULL, 0, done, NULL), -1);
	CU_ASSERT_EQUAL(rc_api_submit(api, "GET", "x", NULL, 0, done, NULL), -1);
	CU_ASSERT_EQUAL(rc_api_submit(api, "GET", "/a b", NULL, 0, done, NULL), -1);
	CU_ASSERT_EQUAL(rc_api_submit(api, "GET", "/a\r\nX: y", NULL, 0, done, NULL), -1);
	CU_ASSERT_EQUAL(rc_api_submit(api, "GET", "/a", NULL, 0, NULL, NULL), -1);
	rc_api_step(api, 0, NULL, 0, &wake);
	CU_ASSERT_EQUAL(rc_api_pending(api), 0);
	rc_api_free(api, "stopping");
	CU_ASSERT_EQUAL(answers, 0);                       /* refused calls are never answered */
}

static void test_waits_for_token_and_window(void)
{
	struct rc_api *api = api_new();
	int64_t wake = INT64_MAX;

	answers = 0;
	CU_ASSERT_EQUAL(rc_api_submit(api, "GET", "/a", NULL, 0, done, NULL), 0);
	CU_ASSERT_EQUAL(rc_api_submit(api, "GET", "/b", NULL, 10 * S, done, NULL), 0);
	/* Not logged in: they wait, and the worker is woken at the first deadline. */
	rc_api_step(api, S, NULL, 0, &wake);
	CU_ASSERT_EQUAL(rc_api_pending(api), 2);
	CU_ASSERT_EQUAL(wake, 60 * S);
	/* Logged in but rate limited: still waiting; woken at the window's end. */
	wake = INT64_MAX;
	rc_api_step(api, 2 * S, "token", 30 * S, &wake);
	CU_ASSERT_EQUAL(wake, 30 * S);
	CU_ASSERT_EQUAL(answers, 0);
	/* The first waited too long (not logged in); the second starts at the window's end. */
	wake = INT64_MAX;
	rc_api_step(api, 60 * S, NULL, 0, &wake);
	CU_ASSERT_EQUAL(answers, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(last_error, "not logged in"));
	rc_api_step(api, 61 * S, "token", 30 * S, &wake);
	CU_ASSERT_EQUAL(rc_api_pending(api), 1);            /* in flight now, one at a time */
	CU_ASSERT_EQUAL(answers, 1);
	rc_api_free(api, "stopping");
	CU_ASSERT_EQUAL(answers, 2);
}

static void test_running_bound(void)
{
	struct rc_api *api = api_new();
	int64_t wake = INT64_MAX;

	answers = 0;
	CU_ASSERT_EQUAL(rc_api_submit(api, "GET", "/a", NULL, 0, done, NULL), 0);
	CU_ASSERT_EQUAL(rc_api_submit(api, "GET", "/b", NULL, 0, done, NULL), 0);
	rc_api_step(api, 0, "token", 0, &wake);
	CU_ASSERT_EQUAL(rc_api_pending(api), 2);
	/* The second waits behind the one in flight until its deadline. */
	rc_api_step(api, 60 * S, "token", 0, &wake);
	CU_ASSERT_EQUAL(answers, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(last_error, "too many calls at once"));
	rc_api_free(api, "stopping");
	CU_ASSERT_EQUAL(answers, 2);
}

int main(void)
{
	static const struct rc_test_case cases[] = {
		{ "bounds and bad calls", test_bounds_and_bad_calls },
		{ "waits for a token and the window", test_waits_for_token_and_window },
		{ "calls in flight bounded", test_running_bound },
		{ NULL, NULL },
	};
	return rc_test_run("api", setup, teardown, cases);
}
