/* test_http.c - how a finished exchange maps to a lifecycle outcome, and handle set-up. */
#include <string.h>
#include "rc_test.h"
#include "rc_http.h"

static enum rc_lc_outcome api(long status, const char *body)
{
	return rc_http_outcome(status, CURLE_OK, false, body, body ? strlen(body) : 0);
}

static void test_classification(void)
{
	CU_ASSERT_EQUAL(api(200, "{}"), RC_OUT_OK);
	CU_ASSERT_EQUAL(api(204, NULL), RC_OUT_OK);
	CU_ASSERT_EQUAL(api(429, NULL), RC_OUT_RATE_LIMITED);
	CU_ASSERT_EQUAL(api(500, NULL), RC_OUT_TRANSIENT);
	CU_ASSERT_EQUAL(api(503, "{\"errorCode\":\"CMN-211\"}"), RC_OUT_TRANSIENT);
	CU_ASSERT_EQUAL(api(408, NULL), RC_OUT_TRANSIENT);
	CU_ASSERT_EQUAL(api(401, "{\"errorCode\":\"TokenInvalid\"}"), RC_OUT_UNAUTHORIZED);
	CU_ASSERT_EQUAL(api(404, "{\"errorCode\":\"CMN-102\"}"), RC_OUT_NOT_FOUND);
	CU_ASSERT_EQUAL(api(403, "{\"errorCode\":\"SUB-505\",\"message\":\"Subscriptions limit exceeded\"}"), RC_OUT_LIMIT);
	CU_ASSERT_EQUAL(api(403, "{\"errorCode\":\"CMN-408\"}"), RC_OUT_REJECTED);
	CU_ASSERT_EQUAL(api(400, "{\"errorCode\":\"SUB-508\"}"), RC_OUT_REJECTED);
	CU_ASSERT_EQUAL(rc_http_outcome(200, CURLE_OPERATION_TIMEDOUT, false, NULL, 0), RC_OUT_TRANSIENT);
	CU_ASSERT_EQUAL(rc_http_outcome(0, CURLE_COULDNT_RESOLVE_HOST, false, NULL, 0), RC_OUT_TRANSIENT);
	CU_ASSERT_EQUAL(rc_http_outcome(0, CURLE_PEER_FAILED_VERIFICATION, false, NULL, 0), RC_OUT_TRANSIENT);
	/* At the token endpoint 400 and 401 mean the grant or the client was refused. */
	CU_ASSERT_EQUAL(rc_http_outcome(400, CURLE_OK, true, "{\"error\":\"invalid_grant\"}", 25), RC_OUT_BAD_GRANT);
	CU_ASSERT_EQUAL(rc_http_outcome(401, CURLE_OK, true, "{\"error\":\"invalid_client\"}", 26), RC_OUT_BAD_GRANT);
	CU_ASSERT_EQUAL(rc_http_outcome(429, CURLE_OK, true, NULL, 0), RC_OUT_RATE_LIMITED);
}

static void test_prepare_and_reset_without_transfer(void)
{
	struct rc_http h;
	struct rc_http_target t = { .method = "PUT", .url = "https://127.0.0.1:1/x",
		.content_type = "application/json", .body = "{\"eventFilters\":[]}",
		.timeout_s = 5, .max_answer = 1024 };

	CU_ASSERT_EQUAL_FATAL(rc_http_prepare(&h, &t), 0);
	CU_ASSERT_PTR_NOT_NULL(h.easy);
	CU_ASSERT_STRING_EQUAL(h.request_body, "{\"eventFilters\":[]}");
	CU_ASSERT_EQUAL(h.retry_after_ms, -1);
	rc_http_bearer(&h, "token");
	rc_http_reset(&h);
	CU_ASSERT_PTR_NULL(h.easy);
	CU_ASSERT_PTR_NULL(h.request_body);

	t.method = "GET";
	t.content_type = NULL;
	CU_ASSERT_EQUAL_FATAL(rc_http_prepare(&h, &t), 0);
	rc_http_basic_auth(&h, "id", "secret");
	rc_http_reset(&h);
}

static void test_describe(void)
{
	struct rc_http h = { .status = 404, .body = "{\"errorCode\":\"CMN-102\",\"message\":\"gone\"}" };
	char buf[128];

	h.body_len = strlen(h.body);
	rc_http_describe(&h, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "HTTP 404 CMN-102: gone");
	h.too_large = true;
	h.body_max = 10;
	rc_http_describe(&h, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "answer larger than 10 bytes");
}

int main(void)
{
	static const struct rc_test_case cases[] = {
		{ "classification", test_classification },
		{ "prepare and reset", test_prepare_and_reset_without_transfer },
		{ "describe", test_describe },
		{ NULL, NULL },
	};
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 2;
	int rc = rc_test_run("http", NULL, NULL, cases);
	curl_global_cleanup();
	return rc;
}
