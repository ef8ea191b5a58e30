/* test_notification.c - envelope parsing and validation. */
#include <stdlib.h>
#include <string.h>
#include "rc_test.h"
#include "rc_notification.h"

static enum rc_envelope_result parse(const char *json)
{
	struct rc_notification n;
	enum rc_envelope_result r = rc_notification_parse(json, strlen(json), &n);

	if (r == RC_ENVELOPE_OK)
		rc_notification_clear(&n);
	else
		CU_ASSERT_PTR_NULL(n.root);
	return r;
}

static void test_valid_envelope(void)
{
	const char *json = "{\"uuid\":\"u-1\",\"event\":\"/restapi/v1.0/account/~/extension/1/presence\","
		"\"timestamp\":\"2026-11-28T12:00:00.000Z\",\"subscriptionId\":\"s-1\",\"ownerId\":\"1\","
		"\"body\":{\"telephonyStatus\":\"Ringing\",\"url\":\"a/b\"}}\n";
	struct rc_notification n;
	size_t len = 0;

	CU_ASSERT_EQUAL_FATAL(rc_notification_parse(json, strlen(json), &n), RC_ENVELOPE_OK);
	CU_ASSERT_STRING_EQUAL(n.uuid, "u-1");
	CU_ASSERT_STRING_EQUAL(n.event, "/restapi/v1.0/account/~/extension/1/presence");
	CU_ASSERT_EQUAL(n.event_len, strlen("/restapi/v1.0/account/~/extension/1/presence"));
	CU_ASSERT_STRING_EQUAL(n.subscription_id, "s-1");
	CU_ASSERT_PTR_NOT_NULL(n.body);
	char *body = rc_notification_body_json(&n, &len);
	CU_ASSERT_STRING_EQUAL(body, "{\"telephonyStatus\":\"Ringing\",\"url\":\"a/b\"}");
	CU_ASSERT_EQUAL(len, strlen(body));
	free(body);
	rc_notification_clear(&n);
	CU_ASSERT_PTR_NULL(n.root);
}

static void test_body_optional(void)
{
	const char *json = "{\"uuid\":\"u\",\"event\":\"/e\"}";
	struct rc_notification n;
	size_t len;

	CU_ASSERT_EQUAL_FATAL(rc_notification_parse(json, strlen(json), &n), RC_ENVELOPE_OK);
	CU_ASSERT_PTR_NULL(n.body);
	CU_ASSERT_PTR_NULL(n.subscription_id);
	char *body = rc_notification_body_json(&n, &len);
	CU_ASSERT_STRING_EQUAL(body, "null");
	free(body);
	rc_notification_clear(&n);
	CU_ASSERT_EQUAL(parse("{\"uuid\":\"u\",\"event\":\"/e\",\"body\":null}"), RC_ENVELOPE_BAD_BODY);
	CU_ASSERT_EQUAL(parse("{\"uuid\":\"u\",\"event\":\"/e\",\"body\":[1,2]}"), RC_ENVELOPE_OK);
}

static void test_each_error_cause(void)
{
	CU_ASSERT_EQUAL(parse("not json"), RC_ENVELOPE_NOT_JSON);
	CU_ASSERT_EQUAL(parse(""), RC_ENVELOPE_NOT_JSON);
	CU_ASSERT_EQUAL(parse("{\"uuid\":\"u\",\"event\":\"/e\"} trailing"), RC_ENVELOPE_NOT_JSON);
	CU_ASSERT_EQUAL(parse("{\"uuid\":\"u\",\"event\":\"/e\"}{}"), RC_ENVELOPE_NOT_JSON);
	CU_ASSERT_EQUAL(parse("{\"uuid\":\"u\""), RC_ENVELOPE_NOT_JSON);
	CU_ASSERT_EQUAL(parse("[1,2,3]"), RC_ENVELOPE_NOT_OBJECT);
	CU_ASSERT_EQUAL(parse("\"just a string\""), RC_ENVELOPE_NOT_OBJECT);
	CU_ASSERT_EQUAL(parse("{\"event\":\"/e\"}"), RC_ENVELOPE_NO_UUID);
	CU_ASSERT_EQUAL(parse("{\"uuid\":\"\",\"event\":\"/e\"}"), RC_ENVELOPE_NO_UUID);
	CU_ASSERT_EQUAL(parse("{\"uuid\":42,\"event\":\"/e\"}"), RC_ENVELOPE_NO_UUID);
	CU_ASSERT_EQUAL(parse("{\"uuid\":\"u\"}"), RC_ENVELOPE_NO_EVENT);
	CU_ASSERT_EQUAL(parse("{\"uuid\":\"u\",\"event\":{}}"), RC_ENVELOPE_NO_EVENT);
	CU_ASSERT_EQUAL(parse("{\"uuid\":\"u\",\"event\":\"\"}"), RC_ENVELOPE_NO_EVENT);
	/* An embedded NUL byte in the buffer is not JSON. */
	CU_ASSERT_EQUAL(rc_notification_parse("{\"uuid\":\"u\"}\0{}", 14, &(struct rc_notification){0}),
			RC_ENVELOPE_NOT_JSON);
	CU_ASSERT_STRING_EQUAL(rc_envelope_strerror(RC_ENVELOPE_NO_EVENT), "no event");
}

static void test_nul_in_event_keeps_length(void)
{
	const char *json = "{\"uuid\":\"u\",\"event\":\"/a\\u0000b\"}";
	struct rc_notification n;

	CU_ASSERT_EQUAL_FATAL(rc_notification_parse(json, strlen(json), &n), RC_ENVELOPE_OK);
	CU_ASSERT_EQUAL(n.event_len, 4);
	CU_ASSERT(memcmp(n.event, "/a\0b", 4) == 0);
	rc_notification_clear(&n);
}

static void test_deep_nesting_fails_cleanly(void)
{
	size_t depth = 10000;
	char *json = malloc(depth * 2 + 64);
	size_t i = 0;

	i += (size_t)sprintf(json, "{\"uuid\":\"u\",\"event\":\"/e\",\"body\":");
	for (size_t d = 0; d < depth; d++)
		json[i++] = '[';
	for (size_t d = 0; d < depth; d++)
		json[i++] = ']';
	json[i++] = '}';
	json[i] = '\0';
	CU_ASSERT_EQUAL(parse(json), RC_ENVELOPE_NOT_JSON);
	free(json);
}

static void test_from_object(void)
{
	json_object *o = json_tokener_parse("{\"uuid\":\"u\",\"event\":\"/e\",\"body\":{\"a\":1}}");
	struct rc_notification n;

	CU_ASSERT_EQUAL_FATAL(rc_notification_from_object(o, &n), RC_ENVELOPE_OK);
	json_object_put(o); /* n holds its own reference */
	CU_ASSERT_STRING_EQUAL(n.uuid, "u");
	rc_notification_clear(&n);
	o = json_tokener_parse("{\"event\":\"/e\"}");
	CU_ASSERT_EQUAL(rc_notification_from_object(o, &n), RC_ENVELOPE_NO_UUID);
	json_object_put(o);
}

static void test_huge_strings(void)
{
	size_t big = 1 << 20;
	char *json = malloc(big + 64);
	int n = sprintf(json, "{\"uuid\":\"u\",\"event\":\"/");
	memset(json + n, 'x', big);
	strcpy(json + n + big, "\"}");
	struct rc_notification note;
	CU_ASSERT_EQUAL_FATAL(rc_notification_parse(json, strlen(json), &note), RC_ENVELOPE_OK);
	CU_ASSERT_EQUAL(note.event_len, big + 1);
	rc_notification_clear(&note);
	free(json);
}

int main(void)
{
	static const struct rc_test_case cases[] = {
		{ "valid envelope", test_valid_envelope },
		{ "body optional", test_body_optional },
		{ "each error cause", test_each_error_cause },
		{ "NUL in event", test_nul_in_event_keeps_length },
		{ "deep nesting", test_deep_nesting_fails_cleanly },
		{ "from object", test_from_object },
		{ "huge strings", test_huge_strings },
		{ NULL, NULL },
	};
	return rc_test_run("notification", NULL, NULL, cases);
}
