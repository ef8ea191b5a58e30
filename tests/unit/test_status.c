/* test_status.c - the bridge/status JSON and its counters. */
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include "rc_test.h"
#include <json-c/json.h>
#include "rc_status.h"
#include "rc_version.h"

static json_object *render(const struct rc_status *s)
{
	size_t len = 0;
	char *text = rc_status_to_json(s, 1795900000000LL, &len);

	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_EQUAL(len, strlen(text));
	json_object *o = json_tokener_parse(text);
	free(text);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	return o;
}

static json_object *get(json_object *o, const char *key)
{
	json_object *v = NULL;

	CU_ASSERT_TRUE(json_object_object_get_ex(o, key, &v));
	return v;
}

static void test_offline_without_subscription(void)
{
	struct rc_status s = { .lifecycle = "authenticating", .transport = "pubnub",
		.started_at_ms = 1795899999000LL };
	json_object *o = render(&s);

	CU_ASSERT_STRING_EQUAL(json_object_get_string(get(o, "state")), "offline");
	CU_ASSERT_STRING_EQUAL(json_object_get_string(get(o, "transport")), "pubnub");
	CU_ASSERT_PTR_NULL(get(o, "subscription_id"));
	CU_ASSERT_PTR_NULL(get(o, "expiration_time"));
	CU_ASSERT_PTR_NULL(get(o, "last_error"));
	CU_ASSERT_EQUAL(json_object_array_length(get(o, "event_filters")), 0);
	static const char *counters[] = { "received", "published", "dropped", "duplicates",
		"decrypt_errors", "renewals", "recreations" };
	for (size_t i = 0; i < 7; i++)
		CU_ASSERT_EQUAL(json_object_get_int64(get(o, counters[i])), 0);
	/* 1795899999 s is 2026-11-28T21:06:39Z (date -u -d @1795899999). */
	CU_ASSERT_STRING_EQUAL(json_object_get_string(get(o, "started_at")), "2026-11-28T21:06:39.000Z");
	json_object_put(o);
}

static void test_online_with_counters_and_causes(void)
{
	struct rc_status s = { .online = true, .lifecycle = "active", .transport = "pubnub",
		.received = 10, .published = 7, .duplicates = 1, .renewals = 3, .recreations = 1 };
	char *filters[] = { "/a", "/b" };

	strcpy(s.subscription_id, "sub-1");
	strcpy(s.expiration_time, "2026-11-28T12:15:00.000Z");
	rc_status_set_filters(&s, filters, 2);
	rc_status_set_filters(&s, filters, 1); /* replaced, not leaked */
	snprintf(s.last_error, sizeof(s.last_error), "renew failed: HTTP %d", 503);
	rc_status_count_drop(&s, RC_DROP_BAD_PADDING);
	rc_status_count_drop(&s, RC_DROP_TOPIC_WILDCARD);
	json_object *o = render(&s);

	CU_ASSERT_STRING_EQUAL(json_object_get_string(get(o, "state")), "online");
	CU_ASSERT_STRING_EQUAL(json_object_get_string(get(o, "subscription_id")), "sub-1");
	CU_ASSERT_STRING_EQUAL(json_object_get_string(get(o, "last_error")), "renew failed: HTTP 503");
	CU_ASSERT_EQUAL(json_object_array_length(get(o, "event_filters")), 1);
	CU_ASSERT_EQUAL(json_object_get_int64(get(o, "dropped")), 2);
	CU_ASSERT_EQUAL(json_object_get_int64(get(o, "decrypt_errors")), 1);
	CU_ASSERT_EQUAL(json_object_get_int64(get(o, "renewals")), 3);
	json_object *causes = get(o, "drop_causes");
	CU_ASSERT_EQUAL(json_object_get_int64(get(causes, "bad_padding")), 1);
	CU_ASSERT_EQUAL(json_object_get_int64(get(causes, "topic_wildcard")), 1);
	CU_ASSERT_FALSE(json_object_object_get_ex(causes, "not_json", NULL));
	json_object_put(o);
	rc_status_clear(&s);
	CU_ASSERT_PTR_NULL(s.event_filters);
}

static void test_every_cause_counts_once(void)
{
	struct rc_status s = { .transport = "pubnub" };
	static const enum rc_drop_cause decrypt[] = { RC_DROP_BAD_BASE64, RC_DROP_BAD_LENGTH,
		RC_DROP_BAD_PADDING };
	uint64_t want_decrypt = 0;

	for (int c = 0; c < RC_DROP_CAUSE_COUNT; c++) {
		bool is_decrypt = false;
		for (size_t i = 0; i < sizeof(decrypt) / sizeof(decrypt[0]); i++)
			is_decrypt |= decrypt[i] == (enum rc_drop_cause)c;
		CU_ASSERT_EQUAL(rc_drop_cause_is_decrypt((enum rc_drop_cause)c), is_decrypt);
		/* Cause c is counted c+1 times, so each total below is distinct. */
		for (int k = 0; k <= c; k++)
			rc_status_count_drop(&s, (enum rc_drop_cause)c);
		if (is_decrypt)
			want_decrypt += (uint64_t)c + 1;
	}
	rc_status_count_drop(&s, RC_DROP_CAUSE_COUNT); /* out of range: ignored */
	CU_ASSERT_EQUAL(s.dropped, (uint64_t)RC_DROP_CAUSE_COUNT * (RC_DROP_CAUSE_COUNT + 1) / 2);
	CU_ASSERT_EQUAL(s.decrypt_errors, want_decrypt);

	json_object *o = render(&s);
	json_object *causes = get(o, "drop_causes");
	CU_ASSERT_EQUAL(json_object_get_int64(get(o, "dropped")), (int64_t)s.dropped);
	CU_ASSERT_EQUAL(json_object_get_int64(get(o, "decrypt_errors")), (int64_t)want_decrypt);
	CU_ASSERT_EQUAL(json_object_object_length(causes), RC_DROP_CAUSE_COUNT);
	for (int c = 0; c < RC_DROP_CAUSE_COUNT; c++)
		CU_ASSERT_EQUAL(json_object_get_int64(get(causes,
				rc_drop_cause_name((enum rc_drop_cause)c))), c + 1);
	CU_ASSERT_EQUAL(json_object_get_int64(get(causes, "not_json")), RC_DROP_NOT_JSON + 1);
	json_object_put(o);
}

static void test_filters_and_strings(void)
{
	struct rc_status s = { .online = true, .transport = "pubnub" };
	char *first[] = { "/restapi/v1.0/account/~/extension/~/presence", "/x" };
	char *second[] = { "/restapi/v1.0/account/~/telephony/sessions" };

	strcpy(s.expiration_time, "2026-11-28T12:15:00.000Z");
	strcpy(s.last_error, "a \"quoted\" / error\n");
	rc_status_set_filters(&s, first, 2);
	json_object *o = render(&s);
	json_object *f = get(o, "event_filters");
	CU_ASSERT_EQUAL_FATAL(json_object_array_length(f), 2);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_array_get_idx(f, 0)), first[0]);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_array_get_idx(f, 1)), "/x");
	CU_ASSERT_STRING_EQUAL(json_object_get_string(get(o, "expiration_time")),
			"2026-11-28T12:15:00.000Z");
	/* Text that needs escaping survives the round trip. */
	CU_ASSERT_STRING_EQUAL(json_object_get_string(get(o, "last_error")), "a \"quoted\" / error\n");
	CU_ASSERT_PTR_NULL(get(o, "subscription_id"));
	json_object_put(o);

	/* Replacing copies the new list (the caller's strings stay the caller's). */
	rc_status_set_filters(&s, second, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s.event_filters);
	CU_ASSERT_PTR_NOT_EQUAL(s.event_filters[0], second[0]);
	CU_ASSERT_STRING_EQUAL(s.event_filters[0], second[0]);
	CU_ASSERT_PTR_NULL(s.event_filters[1]);
	rc_status_set_filters(&s, NULL, 0);
	o = render(&s);
	CU_ASSERT_EQUAL(json_object_array_length(get(o, "event_filters")), 0);
	json_object_put(o);
	rc_status_clear(&s);
	rc_status_clear(&s); /* twice is harmless */
	CU_ASSERT_PTR_NULL(s.event_filters);
}

/* The version comes from CMake's project(VERSION) through rc_version.h: x.y.z, the same
 * in the status as in the User-Agent. */
static void test_version(void)
{
	struct rc_status s = { .transport = "pubnub" };
	regex_t semver;
	json_object *o = render(&s);

	CU_ASSERT_EQUAL_FATAL(regcomp(&semver, "^[0-9]+\\.[0-9]+\\.[0-9]+$", REG_EXTENDED | REG_NOSUB), 0);
	CU_ASSERT_EQUAL(regexec(&semver, RC_VERSION, 0, NULL, 0), 0);
	regfree(&semver);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(get(o, "version")), RC_VERSION);
	CU_ASSERT_STRING_EQUAL(RC_USER_AGENT, "mosquitto-ringcentral/" RC_VERSION);
	json_object_put(o);
}

/* last_notification_at: null until a TICK hands something over, then the time of the
 * latest such TICK; a TICK that published nothing changes neither it nor the count. */
static void test_last_notification_at(void)
{
	struct rc_status s = { .transport = "websocket", .started_at_ms = 1795899999000LL };
	json_object *o = render(&s);

	CU_ASSERT_PTR_NULL(get(o, "last_notification_at"));
	json_object_put(o);

	rc_status_published(&s, 0, 1795899999500LL);
	CU_ASSERT_EQUAL(s.last_notification_at_ms, 0);
	CU_ASSERT_EQUAL(s.published, 0);
	rc_status_published(&s, 3, 1795899999123LL);
	CU_ASSERT_EQUAL(s.published, 3);
	o = render(&s);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(get(o, "last_notification_at")),
			"2026-11-28T21:06:39.123Z");
	CU_ASSERT_EQUAL(json_object_get_int64(get(o, "published")), 3);
	json_object_put(o);

	rc_status_published(&s, 2, 1795900000007LL);
	rc_status_published(&s, 0, 1795900000999LL);
	CU_ASSERT_EQUAL(s.published, 5);
	o = render(&s);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(get(o, "last_notification_at")),
			"2026-11-28T21:06:40.007Z");
	/* started_at and updated_at are their own fields, untouched by it. */
	CU_ASSERT_STRING_EQUAL(json_object_get_string(get(o, "started_at")), "2026-11-28T21:06:39.000Z");
	CU_ASSERT_STRING_EQUAL(json_object_get_string(get(o, "updated_at")), "2026-11-28T21:06:40.000Z");
	json_object_put(o);
}

static void test_cause_names(void)
{
	for (int c = 0; c < RC_DROP_CAUSE_COUNT; c++)
		CU_ASSERT_PTR_NOT_NULL(rc_drop_cause_name((enum rc_drop_cause)c));
	CU_ASSERT_STRING_EQUAL(rc_drop_cause_name(RC_DROP_CAUSE_COUNT), "unknown");
	CU_ASSERT_STRING_EQUAL(rc_drop_cause_name(RC_DROP_TOPIC_RESERVED), "topic_reserved");
	CU_ASSERT_STRING_EQUAL(rc_drop_cause_name(RC_DROP_UUID_TOO_LONG), "uuid_too_long");
	CU_ASSERT_TRUE(rc_drop_cause_is_decrypt(RC_DROP_BAD_BASE64));
	CU_ASSERT_FALSE(rc_drop_cause_is_decrypt(RC_DROP_NOT_JSON));
}

int main(void)
{
	static const struct rc_test_case cases[] = {
		{ "offline without subscription", test_offline_without_subscription },
		{ "online with counters and causes", test_online_with_counters_and_causes },
		{ "every cause counts once", test_every_cause_counts_once },
		{ "filters and strings", test_filters_and_strings },
		{ "cause names", test_cause_names },
		{ "version", test_version },
		{ "last notification at", test_last_notification_at },
		{ NULL, NULL },
	};
	return rc_test_run("status", NULL, NULL, cases);
}
