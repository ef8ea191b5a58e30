/* test_control.c - control API requests parsed, answered and rendered (rc_control.h). */
#include <stdlib.h>
#include <string.h>
#include "rc_test.h"
#include "rc_control.h"
#include "rc_outbox.h"
#include "rc_strlist.h"

static struct rc_control_request *parse(const char *s)
{
	struct rc_control_request *r = rc_control_parse(s, strlen(s), NULL, 0);

	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	return r;
}

/* The rendered response, parsed back. */
static json_object *response(const struct rc_control_request *r)
{
	size_t len = 0;
	char *text = rc_control_response(r, &len);
	json_object *o;

	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_EQUAL(len, strlen(text));
	o = json_tokener_parse(text);
	free(text);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	return o;
}

static const char *field(json_object *resp, size_t i, const char *key)
{
	json_object *list = json_object_object_get(resp, "responses");
	json_object *v = json_object_object_get(json_object_array_get_idx(list, i), key);

	return v != NULL ? json_object_get_string(v) : NULL;
}

static void test_malformed_payloads(void)
{
	static const struct { const char *in, *error; } cases[] = {
		{ "{nope", "Payload not valid JSON" },
		{ "", "Payload not valid JSON" },
		{ "{\"commands\":[]} trailing", "Payload not valid JSON" },
		{ "[]", "Invalid/missing commands" },
		{ "{\"commands\":{}}", "Invalid/missing commands" },
		{ "{\"commands\":[]}", "Empty commands" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rc_control_request *r = parse(cases[i].in);
		CU_ASSERT_EQUAL(r->n, 1);
		CU_ASSERT_TRUE(rc_control_request_done(r));
		CU_ASSERT_FALSE(rc_control_request_needs_worker(r));
		json_object *o = response(r);
		CU_ASSERT_STRING_EQUAL(field(o, 0, "command"), "Unknown command");
		CU_ASSERT_STRING_EQUAL(field(o, 0, "error"), cases[i].error);
		json_object_put(o);
		rc_control_request_free(r);
	}
	/* 33 commands: too many. */
	char big[2048] = "{\"commands\":[";
	for (int i = 0; i < 33; i++)
		strcat(big, i ? ",{\"command\":\"getStatus\"}" : "{\"command\":\"getStatus\"}");
	strcat(big, "]}");
	struct rc_control_request *r = parse(big);
	CU_ASSERT_EQUAL(r->n, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(r->cmds[0].error, "Too many"));
	rc_control_request_free(r);
	/* Past RC_CONTROL_MAX_PAYLOAD: refused before it is parsed (valid JSON or not). */
	size_t n = RC_CONTROL_MAX_PAYLOAD + 1;
	char *huge = malloc(n + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(huge);
	memset(huge, ' ', n);
	static const char req[] = "{\"commands\":[{\"command\":\"getStatus\"}]}";
	memcpy(huge, req, sizeof(req) - 1);
	huge[n] = '\0';
	r = parse(huge);
	CU_ASSERT_PTR_NOT_NULL(strstr(r->cmds[0].error, "Payload too large"));
	rc_control_request_free(r);
	free(huge);
}

static void test_commands_parsed(void)
{
	struct rc_control_request *r = parse("{\"commands\":["
			"{\"command\":\"getstatus\",\"correlationData\":\"c1\"},"
			"{\"command\":\"setEventFilters\",\"eventFilters\":[\"/a\",\"/b\",\"/a\"]},"
			"{\"command\":\"addEventFilter\",\"eventFilter\":\"/c?x=1\"},"
			"{\"command\":\"removeEventFilter\",\"eventFilter\":\"/a\"},"
			"{\"command\":\"setLogLevel\",\"level\":\"Info\"},"
			"{\"command\":\"renewNow\"},{\"command\":\"recreateSubscription\"},"
			"{\"command\":\"listServerSubscriptions\"},{\"command\":\"getEventFilters\"}]}");

	CU_ASSERT_EQUAL_FATAL(r->n, 9);
	CU_ASSERT_EQUAL(r->cmds[0].kind, RC_CTL_GET_STATUS);
	CU_ASSERT_STRING_EQUAL(r->cmds[0].name, "getStatus");   /* the canonical spelling */
	CU_ASSERT_STRING_EQUAL(r->cmds[0].correlation, "c1");
	CU_ASSERT_EQUAL(r->cmds[1].kind, RC_CTL_SET_EVENT_FILTERS);
	CU_ASSERT_EQUAL(r->cmds[1].n_filters, 2);               /* duplicates once */
	CU_ASSERT_STRING_EQUAL(r->cmds[2].filter, "/c?x=1");
	CU_ASSERT_EQUAL(r->cmds[3].kind, RC_CTL_REMOVE_EVENT_FILTER);
	CU_ASSERT_EQUAL(r->cmds[4].level, RC_LOG_INFO);
	CU_ASSERT_EQUAL(r->cmds[5].kind, RC_CTL_RENEW_NOW);
	CU_ASSERT_EQUAL(r->cmds[6].kind, RC_CTL_RECREATE_SUBSCRIPTION);
	CU_ASSERT_EQUAL(r->cmds[7].kind, RC_CTL_LIST_SERVER_SUBSCRIPTIONS);
	CU_ASSERT_EQUAL(r->cmds[8].kind, RC_CTL_GET_EVENT_FILTERS);
	for (size_t i = 0; i < r->n; i++)
		CU_ASSERT_FALSE(r->cmds[i].answered);
	CU_ASSERT_TRUE(rc_control_request_needs_worker(r));
	CU_ASSERT_FALSE(rc_control_needs_worker(RC_CTL_GET_STATUS));
	CU_ASSERT_FALSE(rc_control_needs_worker(RC_CTL_SET_LOG_LEVEL));
	CU_ASSERT_TRUE(rc_control_needs_worker(RC_CTL_RENEW_NOW));
	rc_control_request_free(r);
}

static void test_bad_commands_answered_in_order(void)
{
	struct rc_control_request *r = parse("{\"commands\":["
			"{\"command\":\"nope\",\"correlationData\":\"z\"},"
			"{\"command\":\"addEventFilter\"},"
			"{\"command\":\"addEventFilter\",\"eventFilter\":\"no-slash\"},"
			"{\"command\":\"addEventFilter\",\"eventFilter\":\"/a b\"},"
			"{\"command\":\"setEventFilters\",\"eventFilters\":[]},"
			"{\"command\":\"setEventFilters\",\"eventFilters\":[\"/a\",3]},"
			"{\"command\":\"setLogLevel\",\"level\":\"loud\"},"
			"{\"command\":\"getStatus\",\"correlationData\":5},"
			"7,{\"correlationData\":\"only\"},{\"command\":\"getStatus\"}]}");

	CU_ASSERT_EQUAL_FATAL(r->n, 11);
	for (size_t i = 0; i < 10; i++)
		CU_ASSERT_TRUE(r->cmds[i].answered && r->cmds[i].error != NULL);
	CU_ASSERT_FALSE(r->cmds[10].answered);
	CU_ASSERT_FALSE(rc_control_request_needs_worker(r));   /* getStatus: the broker thread */
	rc_control_ok(&r->cmds[10], json_object_new_object());
	CU_ASSERT_TRUE(rc_control_request_done(r));
	json_object *o = response(r);
	CU_ASSERT_STRING_EQUAL(field(o, 0, "command"), "nope");
	CU_ASSERT_STRING_EQUAL(field(o, 0, "error"), "Unknown command");
	CU_ASSERT_STRING_EQUAL(field(o, 0, "correlationData"), "z");
	CU_ASSERT_PTR_NOT_NULL(strstr(field(o, 1, "error"), "eventFilter"));
	CU_ASSERT_PTR_NOT_NULL(strstr(field(o, 2, "error"), "start with '/'"));
	CU_ASSERT_PTR_NOT_NULL(strstr(field(o, 3, "error"), "blanks"));
	CU_ASSERT_PTR_NOT_NULL(strstr(field(o, 4, "error"), "empty"));
	CU_ASSERT_PTR_NOT_NULL(strstr(field(o, 5, "error"), "eventFilters[1]"));
	CU_ASSERT_PTR_NOT_NULL(strstr(field(o, 6, "error"), "level"));
	CU_ASSERT_PTR_NOT_NULL(strstr(field(o, 7, "error"), "correlationData"));
	CU_ASSERT_STRING_EQUAL(field(o, 8, "error"), "Command not an object");
	CU_ASSERT_STRING_EQUAL(field(o, 9, "error"), "Missing command");
	CU_ASSERT_STRING_EQUAL(field(o, 9, "correlationData"), "only");
	CU_ASSERT_PTR_NULL(field(o, 10, "error"));
	CU_ASSERT_PTR_NOT_NULL(field(o, 10, "data"));
	json_object_put(o);
	rc_control_request_free(r);
}

static void test_answers_and_correlation(void)
{
	const unsigned char corr[] = { 0, 1, 2, 0xff };
	const char *in = "{\"commands\":[{\"command\":\"getStatus\"},{\"command\":\"renewNow\"}]}";
	struct rc_control_request *r = rc_control_parse(in, strlen(in), corr, sizeof(corr));

	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(r->correlation_len, 4);
	CU_ASSERT_EQUAL(memcmp(r->correlation, corr, 4), 0);
	rc_control_answer_status(&r->cmds[0], "{\"state\":\"online\"}", 18);
	CU_ASSERT_FALSE(rc_control_request_done(r));
	rc_control_fail_all(r, "stopping %d", 1);
	CU_ASSERT_TRUE(rc_control_request_done(r));
	json_object *o = response(r);
	json_object *data = json_object_object_get(json_object_array_get_idx(
			json_object_object_get(o, "responses"), 0), "data");
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_object_get(data, "state")), "online");
	CU_ASSERT_STRING_EQUAL(field(o, 1, "error"), "stopping 1");
	json_object_put(o);
	rc_control_request_free(r);
}

static void test_filter_rules(void)
{
	CU_ASSERT_PTR_NULL(rc_control_filter_problem("/restapi/v1.0/account/~/extension/~/presence?detailedTelephonyState=true"));
	CU_ASSERT_PTR_NOT_NULL(rc_control_filter_problem("restapi"));
	CU_ASSERT_PTR_NOT_NULL(rc_control_filter_problem("/a\nb"));
	CU_ASSERT_PTR_NOT_NULL(rc_control_filter_problem("/a\tb"));
	CU_ASSERT_PTR_NOT_NULL(rc_control_filter_problem("/a\xff"));
	CU_ASSERT_PTR_NOT_NULL(rc_control_filter_problem("/a\xc0\xaf"));  /* overlong */
	CU_ASSERT_PTR_NULL(rc_control_filter_problem("/caf\xc3\xa9"));
	char *long_filter = malloc(RC_CONTROL_MAX_FILTER_LEN + 2);
	memset(long_filter, 'a', RC_CONTROL_MAX_FILTER_LEN + 1);
	long_filter[0] = '/';
	long_filter[RC_CONTROL_MAX_FILTER_LEN + 1] = '\0';
	CU_ASSERT_PTR_NOT_NULL(rc_control_filter_problem(long_filter));
	free(long_filter);
	CU_ASSERT_EQUAL(rc_control_level_from_name("WARNING"), RC_LOG_WARNING);
	CU_ASSERT_EQUAL(rc_control_level_from_name("verbose"), -1);
	CU_ASSERT_STRING_EQUAL(rc_control_level_name(RC_LOG_DEBUG), "debug");
}

static void test_filters_apply(void)
{
	char *cur[] = { "/a", "/b", NULL };
	char **out;
	size_t n;
	bool changed;
	char err[128];
	struct rc_control_request *r = parse("{\"commands\":["
			"{\"command\":\"addEventFilter\",\"eventFilter\":\"/c\"},"
			"{\"command\":\"addEventFilter\",\"eventFilter\":\"/a\"},"
			"{\"command\":\"removeEventFilter\",\"eventFilter\":\"/a\"},"
			"{\"command\":\"removeEventFilter\",\"eventFilter\":\"/x\"},"
			"{\"command\":\"setEventFilters\",\"eventFilters\":[\"/b\",\"/a\"]},"
			"{\"command\":\"setEventFilters\",\"eventFilters\":[\"/z\"]}]}");

	CU_ASSERT_EQUAL(rc_control_filters_apply(&r->cmds[0], cur, 2, &out, &n, &changed, err, sizeof(err)), 0);
	CU_ASSERT_TRUE(changed);
	CU_ASSERT_EQUAL(n, 3);
	CU_ASSERT_STRING_EQUAL(out[2], "/c");
	rc_strlist_free(out);
	CU_ASSERT_EQUAL(rc_control_filters_apply(&r->cmds[1], cur, 2, &out, &n, &changed, err, sizeof(err)), 0);
	CU_ASSERT_FALSE(changed);
	rc_strlist_free(out);
	CU_ASSERT_EQUAL(rc_control_filters_apply(&r->cmds[2], cur, 2, &out, &n, &changed, err, sizeof(err)), 0);
	CU_ASSERT_TRUE(changed);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_STRING_EQUAL(out[0], "/b");
	rc_strlist_free(out);
	CU_ASSERT_EQUAL(rc_control_filters_apply(&r->cmds[3], cur, 2, &out, &n, &changed, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "not in"));
	CU_ASSERT_EQUAL(rc_control_filters_apply(&r->cmds[2], cur, 1, &out, &n, &changed, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "last"));
	CU_ASSERT_EQUAL(rc_control_filters_apply(&r->cmds[4], cur, 2, &out, &n, &changed, err, sizeof(err)), 0);
	CU_ASSERT_FALSE(changed);                      /* the same set in another order */
	rc_strlist_free(out);
	CU_ASSERT_EQUAL(rc_control_filters_apply(&r->cmds[5], cur, 2, &out, &n, &changed, err, sizeof(err)), 0);
	CU_ASSERT_TRUE(changed);
	CU_ASSERT_EQUAL(n, 1);
	rc_strlist_free(out);
	rc_control_request_free(r);
}

static void test_subscriptions_without_secrets(void)
{
	const char *body = "{\"records\":["
			"{\"id\":\"s1\",\"status\":\"Active\",\"creationTime\":\"2024-01-01T00:00:00.000Z\","
			"\"expirationTime\":\"2024-01-01T00:15:00.000Z\",\"expiresIn\":900,"
			"\"eventFilters\":[\"/a\"],\"disabledFilters\":[{\"filter\":\"/d\",\"reason\":\"Perm\"}],"
			"\"deliveryMode\":{\"transportType\":\"PubNub\",\"encryptionKey\":\"SECRETKEY\","
			"\"address\":\"SECRETADDR\",\"subscriberKey\":\"SECRETSUB\"}},"
			"{\"id\":\"s2\",\"status\":\"Active\",\"expirationTime\":\"2024-01-01T00:15:00.000Z\","
			"\"eventFilters\":[\"/b\"],\"deliveryMode\":{\"transportType\":\"WebSocket\"}}]}";
	char *owned[] = { "s2", NULL };
	json_object *d = rc_control_subscriptions_data(body, strlen(body), "s1", owned, 1);

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	const char *text = json_object_to_json_string(d);
	CU_ASSERT_PTR_NULL(strstr(text, "SECRET"));
	json_object *subs = json_object_object_get(d, "subscriptions");
	CU_ASSERT_EQUAL_FATAL(json_object_array_length(subs), 2);
	json_object *s1 = json_object_array_get_idx(subs, 0), *s2 = json_object_array_get_idx(subs, 1);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_object_get(s1, "transportType")), "PubNub");
	CU_ASSERT_TRUE(json_object_get_boolean(json_object_object_get(s1, "thisBridge")));
	CU_ASSERT_FALSE(json_object_get_boolean(json_object_object_get(s1, "createdByThisBridge")));
	CU_ASSERT_TRUE(json_object_get_boolean(json_object_object_get(s2, "createdByThisBridge")));
	CU_ASSERT_EQUAL(json_object_array_length(json_object_object_get(s1, "disabledFilters")), 1);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_object_get(s1, "creationTime")),
			"2024-01-01T00:00:00.000Z");
	json_object_put(d);
	CU_ASSERT_PTR_NULL(rc_control_subscriptions_data("{\"records\":3}", 13, NULL, NULL, 0));
	CU_ASSERT_PTR_NULL(rc_control_subscriptions_data("nope", 4, NULL, NULL, 0));
}

int main(void)
{
	static const struct rc_test_case cases[] = {
		{ "malformed payloads", test_malformed_payloads },
		{ "commands parsed", test_commands_parsed },
		{ "bad commands answered in order", test_bad_commands_answered_in_order },
		{ "answers and correlation data", test_answers_and_correlation },
		{ "filter rules and levels", test_filter_rules },
		{ "filter set changes", test_filters_apply },
		{ "subscription list without secrets", test_subscriptions_without_secrets },
		{ NULL, NULL },
	};
	return rc_test_run("control", NULL, NULL, cases);
}
