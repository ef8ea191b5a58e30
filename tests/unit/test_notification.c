/* test_notification.c - envelope parsing and validation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "rc_test.h"
#include "rc_dedupe.h"
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

	/* uuids are kept for de-duplication: their length is bounded (escapes count as the
	 * bytes they decode to). */
	char json[1024], uuid[RC_DEDUPE_UUID_MAX + 2];
	memset(uuid, 'u', sizeof(uuid) - 1);
	uuid[sizeof(uuid) - 1] = '\0';
	snprintf(json, sizeof(json), "{\"uuid\":\"%s\",\"event\":\"/e\"}", uuid);
	CU_ASSERT_EQUAL(parse(json), RC_ENVELOPE_UUID_TOO_LONG);
	uuid[RC_DEDUPE_UUID_MAX] = '\0';
	snprintf(json, sizeof(json), "{\"uuid\":\"%s\",\"event\":\"/e\"}", uuid);
	CU_ASSERT_EQUAL(parse(json), RC_ENVELOPE_OK);
	snprintf(json, sizeof(json), "{\"uuid\":\"%.*s\\u00e9\",\"event\":\"/e\"}",
		RC_DEDUPE_UUID_MAX - 1, uuid);   /* 127 + 2 bytes of UTF-8 */
	CU_ASSERT_EQUAL(parse(json), RC_ENVELOPE_UUID_TOO_LONG);
	CU_ASSERT_STRING_EQUAL(rc_envelope_strerror(RC_ENVELOPE_UUID_TOO_LONG), "uuid too long");
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
	/* Unclosed, at the top level. */
	memset(json, '[', depth);
	json[depth] = '\0';
	CU_ASSERT_EQUAL(parse(json), RC_ENVELOPE_NOT_JSON);
	free(json);
	/* Moderate nesting within the limit still parses. */
	CU_ASSERT_EQUAL(parse("{\"uuid\":\"u\",\"event\":\"/e\",\"body\":[[[[[[[[[[{\"a\":[1]}]]]]]]]]]]}"),
			RC_ENVELOPE_OK);
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

static void test_trailing_whitespace_only(void)
{
	CU_ASSERT_EQUAL(parse("{\"uuid\":\"u\",\"event\":\"/e\"} \t\r\n"), RC_ENVELOPE_OK);
	CU_ASSERT_EQUAL(parse("  {\"uuid\":\"u\",\"event\":\"/e\"}"), RC_ENVELOPE_OK);
	CU_ASSERT_EQUAL(parse("{\"uuid\":\"u\",\"event\":\"/e\"} \n x"), RC_ENVELOPE_NOT_JSON);
	CU_ASSERT_EQUAL(parse("{\"uuid\":\"u\",\"event\":\"/e\"}]"), RC_ENVELOPE_NOT_JSON);
	CU_ASSERT_EQUAL(parse("{\"uuid\":\"u\",\"event\":\"/e\"},"), RC_ENVELOPE_NOT_JSON);
	/* A NUL right after a complete value is trailing garbage too. */
	struct rc_notification n;
	CU_ASSERT_EQUAL(rc_notification_parse("{\"uuid\":\"u\",\"event\":\"/e\"}\0", 26, &n),
			RC_ENVELOPE_NOT_JSON);
	CU_ASSERT_PTR_NULL(n.root);
	/* Only len bytes are read: a valid prefix parses although garbage follows in memory. */
	const char *buf = "{\"uuid\":\"u\",\"event\":\"/e\"}garbage";
	CU_ASSERT_EQUAL_FATAL(rc_notification_parse(buf, 25, &n), RC_ENVELOPE_OK);
	rc_notification_clear(&n);
}

static void test_optional_members_and_body_text(void)
{
	const char *json = "{\"uuid\":\"u\",\"event\":\"/e\",\"subscriptionId\":7,"
		"\"body\":{\"path\":\"/a/b\",\"name\":\"caf\\u00e9\",\"n\":null,\"x\":\"\\u0000\"}}";
	struct rc_notification n;
	size_t len = 0;

	CU_ASSERT_EQUAL_FATAL(rc_notification_parse(json, strlen(json), &n), RC_ENVELOPE_OK);
	CU_ASSERT_PTR_NULL(n.subscription_id); /* not a string: treated as absent */
	char *body = rc_notification_body_json(&n, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(body);
	/* Compact, slashes unescaped, UTF-8 kept, NUL re-escaped so the text stays a C string. */
	CU_ASSERT_STRING_EQUAL(body, "{\"path\":\"/a/b\",\"name\":\"caf\xc3\xa9\",\"n\":null,\"x\":\"\\u0000\"}");
	CU_ASSERT_EQUAL(len, strlen(body));
	free(body);
	rc_notification_clear(&n);

	/* A scalar body is fine; only null is refused. */
	json = "{\"uuid\":\"u\",\"event\":\"/e\",\"body\":\"text\"}";
	CU_ASSERT_EQUAL_FATAL(rc_notification_parse(json, strlen(json), &n), RC_ENVELOPE_OK);
	body = rc_notification_body_json(&n, &len);
	CU_ASSERT_STRING_EQUAL(body, "\"text\"");
	free(body);
	rc_notification_clear(&n);
}

static void test_from_object_rejects(void)
{
	struct rc_notification n;
	json_object *o;

	CU_ASSERT_EQUAL(rc_notification_from_object(NULL, &n), RC_ENVELOPE_NOT_OBJECT);
	CU_ASSERT_PTR_NULL(n.root);
	o = json_object_new_array();
	CU_ASSERT_EQUAL(rc_notification_from_object(o, &n), RC_ENVELOPE_NOT_OBJECT);
	json_object_put(o);
	o = json_tokener_parse("{\"uuid\":\"u\",\"event\":\"/e\",\"body\":null}");
	CU_ASSERT_EQUAL(rc_notification_from_object(o, &n), RC_ENVELOPE_BAD_BODY);
	CU_ASSERT_PTR_NULL(n.root);
	json_object_put(o); /* the only reference: a leak checker catches an extra get */
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
		{ "trailing whitespace only", test_trailing_whitespace_only },
		{ "optional members, body text", test_optional_members_and_body_text },
		{ "from object rejects", test_from_object_rejects },
		{ NULL, NULL },
	};
	return rc_test_run("notification", NULL, NULL, cases);
}
