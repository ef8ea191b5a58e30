/* test_ha_state.c - names and presence over REST for Home Assistant (ha_state.c): the
 * pure mappings from RingCentral's answers, and the scheduling driven by a fake API door
 * and a fake clock (no sockets, no sleeps). */
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "rc_ha_state.h"
#include "rc_test.h"

#define S 1000

/* ---------------------------------------------------------------- the fake world */

struct call {
	char path[300];
	rc_api_done_fn done;
	void *arg;
	bool answered;
};

static struct {
	struct call calls[64];
	size_t n_calls;
	bool refuse;
	json_object *published[16];
	size_t n_published;
	unsigned rediscovers;
	unsigned warnings;
	unsigned uuids;
} world;

static int fake_submit(void *arg, const char *method, const char *path, int64_t now,
		rc_api_done_fn on_done, void *done_arg)
{
	(void)arg;
	(void)now;
	CU_ASSERT_STRING_EQUAL(method, "GET");
	if (world.refuse || world.n_calls == 64)
		return -1;
	struct call *c = &world.calls[world.n_calls++];
	snprintf(c->path, sizeof(c->path), "%s", path);
	c->done = on_done;
	c->arg = done_arg;
	c->answered = false;
	return 0;
}

static void fake_publish(void *arg, json_object *n, int64_t now)
{
	(void)arg;
	(void)now;
	if (world.n_published < 16)
		world.published[world.n_published++] = json_object_get(n);
}

static void fake_rediscover(void *arg)
{
	(void)arg;
	world.rediscovers++;
}

static void fake_log(void *arg, enum rc_log_level level, const char *line)
{
	(void)arg;
	(void)line;
	if (level <= RC_LOG_WARNING)
		world.warnings++;
}

static void fake_uuid(void *arg, char *buf, size_t len)
{
	(void)arg;
	snprintf(buf, len, "00000000-0000-4000-8000-%012u", ++world.uuids);
}

static void fake_timestamp(void *arg, char *buf, size_t len)
{
	(void)arg;
	snprintf(buf, len, "2024-05-01T12:00:00.000Z");
}

static const struct rc_ha_state_env env = {
	fake_submit, fake_publish, fake_rediscover, fake_log, fake_uuid, fake_timestamp, NULL,
};

static void world_reset(void)
{
	for (size_t i = 0; i < world.n_published; i++)
		json_object_put(world.published[i]);
	memset(&world, 0, sizeof(world));
}

/* The first unanswered call to path, or NULL. */
static struct call *pending(const char *path)
{
	for (size_t i = 0; i < world.n_calls; i++)
		if (!world.calls[i].answered && strcmp(world.calls[i].path, path) == 0)
			return &world.calls[i];
	return NULL;
}

static size_t n_pending(void)
{
	size_t n = 0;
	for (size_t i = 0; i < world.n_calls; i++)
		n += !world.calls[i].answered;
	return n;
}

static void answer(const char *path, long status, const char *body, const char *error)
{
	struct call *c = pending(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	c->answered = true;
	c->done(c->arg, status, body, body != NULL ? strlen(body) : 0, error);
}

#define INFO_101 "/restapi/v1.0/account/~/extension/101"
#define PRES_101 "/restapi/v1.0/account/~/extension/101/presence?detailedTelephonyState=true"
#define INFO_202 "/restapi/v1.0/account/~/extension/202"
#define PRES_202 "/restapi/v1.0/account/~/extension/202/presence"
#define EVENT_101 "/restapi/v1.0/account/~/extension/101/presence?detailedTelephonyState=true"
#define EVENT_202 "/restapi/v1.0/account/37439510/extension/202/presence"

static const char presence_answer[] =
	"{\"uri\":\"https://platform.ringcentral.com/restapi/v1.0/account/1/extension/101/presence\","
	"\"extension\":{\"uri\":\"https://x/101\",\"id\":101,\"extensionNumber\":\"101\"},"
	"\"presenceStatus\":\"Busy\",\"telephonyStatus\":\"Ringing\",\"userStatus\":\"Available\","
	"\"dndStatus\":\"TakeAllCalls\",\"meetingStatus\":\"Disconnected\",\"message\":\"hi\","
	"\"allowSeeMyPresence\":true,\"ringOnMonitoredCall\":false,\"pickUpCallsOnHold\":false,"
	"\"activeCalls\":[{\"id\":\"c1\",\"direction\":\"Inbound\",\"from\":\"+15557654321\","
	"\"fromName\":\"Alice\",\"telephonyStatus\":\"Ringing\",\"sipData\":{\"toTag\":\"x\"}}]}";

/* Two extensions: 101 with a detailed presence filter, 202 with a plain one. */
static struct rc_ha_extension *two(size_t *n)
{
	struct rc_ha_extension *e = calloc(2, sizeof(*e));
	e[0].id = strdup("101");
	e[0].detailed = true;
	e[0].presence_event = strdup(EVENT_101);
	e[1].id = strdup("202");
	e[1].presence_event = strdup(EVENT_202);
	*n = 2;
	return e;
}

/* ---------------------------------------------------------------- pure mappings */

static const char *str_at(json_object *o, const char *a, const char *b)
{
	json_object *v;
	if (!json_object_object_get_ex(o, a, &v))
		return NULL;
	if (b != NULL && !json_object_object_get_ex(v, b, &v))
		return NULL;
	return json_object_get_string(v);
}

static void test_presence_mapping_detailed(void)
{
	const char *why = "x";
	json_object *n = rc_ha_presence_notification(presence_answer, strlen(presence_answer), "101",
			EVENT_101, "401", "u-1", "2024-05-01T12:00:00.000Z", true, &why);
	CU_ASSERT_PTR_NOT_NULL_FATAL(n);
	CU_ASSERT_PTR_NULL(why);
	CU_ASSERT_STRING_EQUAL(str_at(n, "uuid", NULL), "u-1");
	CU_ASSERT_STRING_EQUAL(str_at(n, "event", NULL), EVENT_101);
	CU_ASSERT_STRING_EQUAL(str_at(n, "timestamp", NULL), "2024-05-01T12:00:00.000Z");
	CU_ASSERT_STRING_EQUAL(str_at(n, "ownerId", NULL), "401");
	CU_ASSERT_PTR_NULL(str_at(n, "subscriptionId", NULL));
	json_object *b;
	CU_ASSERT_TRUE_FATAL(json_object_object_get_ex(n, "body", &b));
	/* extensionId a string, as notifications carry it; the same state fields. */
	json_object *id;
	CU_ASSERT_TRUE(json_object_object_get_ex(b, "extensionId", &id) &&
			json_object_is_type(id, json_type_string));
	CU_ASSERT_STRING_EQUAL(str_at(b, "extensionId", NULL), "101");
	CU_ASSERT_STRING_EQUAL(str_at(b, "telephonyStatus", NULL), "Ringing");
	CU_ASSERT_STRING_EQUAL(str_at(b, "presenceStatus", NULL), "Busy");
	CU_ASSERT_STRING_EQUAL(str_at(b, "userStatus", NULL), "Available");
	CU_ASSERT_STRING_EQUAL(str_at(b, "dndStatus", NULL), "TakeAllCalls");
	CU_ASSERT_STRING_EQUAL(str_at(b, "meetingStatus", NULL), "Disconnected");
	CU_ASSERT_STRING_EQUAL(str_at(b, "allowSeeMyPresence", NULL), "true");
	CU_ASSERT_STRING_EQUAL(str_at(b, "ownerId", NULL), "401");
	/* Not in a notification body: the REST resource's own fields. */
	CU_ASSERT_PTR_NULL(str_at(b, "uri", NULL));
	CU_ASSERT_PTR_NULL(str_at(b, "extension", NULL));
	CU_ASSERT_PTR_NULL(str_at(b, "message", NULL));
	CU_ASSERT_PTR_NULL(str_at(b, "sequence", NULL));
	json_object *calls, *tot;
	CU_ASSERT_TRUE_FATAL(json_object_object_get_ex(b, "activeCalls", &calls));
	CU_ASSERT_EQUAL(json_object_array_length(calls), 1);
	json_object *c0 = json_object_array_get_idx(calls, 0);
	CU_ASSERT_STRING_EQUAL(str_at(c0, "fromName", NULL), "Alice");
	CU_ASSERT_PTR_NULL(str_at(c0, "sipData", NULL));
	CU_ASSERT_TRUE(json_object_object_get_ex(b, "totalActiveCalls", &tot) &&
			json_object_get_int(tot) == 1);
	json_object_put(n);
}

static void test_presence_mapping_plain_and_bad(void)
{
	const char *why = NULL;
	/* Without detailedTelephonyState no calls; a missing extension.id falls back. */
	const char *a = "{\"presenceStatus\":\"Offline\",\"activeCalls\":[]}";
	json_object *n = rc_ha_presence_notification(a, strlen(a), "202", EVENT_202, NULL, "u", "t",
			false, &why);
	CU_ASSERT_PTR_NOT_NULL_FATAL(n);
	json_object *b;
	CU_ASSERT_TRUE_FATAL(json_object_object_get_ex(n, "body", &b));
	CU_ASSERT_STRING_EQUAL(str_at(b, "extensionId", NULL), "202");
	CU_ASSERT_STRING_EQUAL(str_at(b, "presenceStatus", NULL), "Offline");
	CU_ASSERT_PTR_NULL(str_at(b, "telephonyStatus", NULL));
	CU_ASSERT_PTR_NULL(str_at(b, "activeCalls", NULL));
	CU_ASSERT_PTR_NULL(str_at(b, "totalActiveCalls", NULL));
	CU_ASSERT_PTR_NULL(str_at(b, "ownerId", NULL));
	CU_ASSERT_PTR_NULL(str_at(n, "ownerId", NULL));
	json_object_put(n);
	CU_ASSERT_PTR_NULL(rc_ha_presence_notification("[1]", 3, "1", EVENT_202, NULL, "u", "t",
			false, &why));
	CU_ASSERT_PTR_NOT_NULL(why);
	CU_ASSERT_PTR_NULL(rc_ha_presence_notification("{\"a\":1} x", 9, "1", EVENT_202, NULL, "u",
			"t", false, &why));
}

static void test_extension_info(void)
{
	char *name, *number;
	const char *a = "{\"id\":101,\"extensionNumber\":\"101\",\"name\":\"Alice \\\"Al\\\" </b>\"}";
	CU_ASSERT_EQUAL_FATAL(rc_ha_extension_info(a, strlen(a), &name, &number), 0);
	CU_ASSERT_STRING_EQUAL(name, "Alice \"Al\" </b>");
	CU_ASSERT_STRING_EQUAL(number, "101");
	free(name);
	free(number);
	const char *b = "{\"contact\":{\"firstName\":\"Bob\",\"lastName\":\"Jones\"}}";
	CU_ASSERT_EQUAL_FATAL(rc_ha_extension_info(b, strlen(b), &name, &number), 0);
	CU_ASSERT_STRING_EQUAL(name, "Bob Jones");
	CU_ASSERT_PTR_NULL(number);
	free(name);
	const char *c = "{\"name\":\"\",\"extensionNumber\":\"\"}";
	CU_ASSERT_EQUAL_FATAL(rc_ha_extension_info(c, strlen(c), &name, &number), 0);
	CU_ASSERT_PTR_NULL(name);
	CU_ASSERT_PTR_NULL(number);
	CU_ASSERT_EQUAL(rc_ha_extension_info("nope", 4, &name, &number), -1);
}

/* ---------------------------------------------------------------- scheduling */

static void test_names_and_presence_after_subscription(void)
{
	world_reset();
	struct rc_ha_state *st = rc_ha_state_new(&env);
	size_t n;
	struct rc_ha_extension *e = two(&n);
	int64_t wake = 1000 * S;

	CU_ASSERT_EQUAL(rc_ha_state_covered(st, e, n, "101", 0), 0);
	CU_ASSERT_PTR_NULL(e[0].name);
	rc_ha_state_step(st, 0, &wake);
	/* Names at once, at most RC_HA_MAX_CALLS at a time; no presence before a subscription. */
	CU_ASSERT_EQUAL(n_pending(), RC_HA_MAX_CALLS);
	CU_ASSERT_PTR_NOT_NULL(pending(INFO_101));
	CU_ASSERT_PTR_NOT_NULL(pending(INFO_202));
	CU_ASSERT_PTR_NULL(pending(PRES_101));
	answer(INFO_101, 200, "{\"name\":\"Alice\",\"extensionNumber\":\"101\"}", NULL);
	rc_ha_state_step(st, 1 * S, &wake);
	CU_ASSERT_EQUAL(world.rediscovers, 1);
	CU_ASSERT_EQUAL(rc_ha_state_covered(st, e, n, "101", 1 * S), 0);
	CU_ASSERT_STRING_EQUAL(e[0].name, "Alice");
	CU_ASSERT_STRING_EQUAL(e[0].number, "101");
	CU_ASSERT_PTR_NULL(e[1].name);

	/* The subscription: both presences are read, the detailed one with the query. */
	rc_ha_state_subscribed(st, true, 2 * S);
	rc_ha_state_step(st, 2 * S, &wake);
	CU_ASSERT_PTR_NOT_NULL(pending(PRES_101));
	CU_ASSERT_PTR_NULL(pending(PRES_202));     /* 202's name lookup holds the second slot */
	answer(INFO_202, 200, "{\"name\":\"Bob\"}", NULL);
	rc_ha_state_step(st, 2 * S, &wake);
	CU_ASSERT_PTR_NOT_NULL(pending(PRES_202));
	answer(PRES_101, 200, presence_answer, NULL);
	CU_ASSERT_EQUAL_FATAL(world.n_published, 1);
	CU_ASSERT_STRING_EQUAL(str_at(world.published[0], "event", NULL), EVENT_101);
	answer(PRES_202, 200, "{\"presenceStatus\":\"Available\"}", NULL);
	CU_ASSERT_EQUAL_FATAL(world.n_published, 2);
	CU_ASSERT_STRING_EQUAL(str_at(world.published[1], "event", NULL), EVENT_202);
	/* Fresh uuids: de-duplication can never take them for real notifications. */
	CU_ASSERT_STRING_NOT_EQUAL(str_at(world.published[0], "uuid", NULL),
			str_at(world.published[1], "uuid", NULL));

	/* Nothing more in this epoch; a MODIFY changes nothing; a new subscription reads again. */
	rc_ha_state_step(st, 3 * S, &wake);
	CU_ASSERT_EQUAL(n_pending(), 0);
	rc_ha_state_subscribed(st, false, 4 * S);
	rc_ha_state_step(st, 4 * S, &wake);
	CU_ASSERT_EQUAL(n_pending(), 0);
	rc_ha_state_subscribed(st, true, 5 * S);
	rc_ha_state_step(st, 5 * S, &wake);
	CU_ASSERT_PTR_NOT_NULL(pending(PRES_101));
	CU_ASSERT_PTR_NOT_NULL(pending(PRES_202));
	CU_ASSERT_PTR_NULL(pending(INFO_101));     /* names are known for good */
	CU_ASSERT_EQUAL(world.warnings, 0);

	/* An extension joining later waits for the subscription (MODIFY) that carries it. */
	struct rc_ha_extension *more = calloc(3, sizeof(*more));
	memcpy(more, e, 2 * sizeof(*e));
	free(e);
	more[2].id = strdup("303");
	more[2].presence_event = strdup("/restapi/v1.0/account/~/extension/303/presence");
	CU_ASSERT_EQUAL(rc_ha_state_covered(st, more, 3, "101", 6 * S), 0);
	answer(PRES_101, 200, presence_answer, NULL);
	answer(PRES_202, 200, presence_answer, NULL);
	rc_ha_state_step(st, 6 * S, &wake);
	CU_ASSERT_PTR_NOT_NULL(pending("/restapi/v1.0/account/~/extension/303"));
	answer("/restapi/v1.0/account/~/extension/303", 200, "{}", NULL);
	rc_ha_state_step(st, 6 * S, &wake);
	CU_ASSERT_EQUAL(n_pending(), 0);
	rc_ha_state_subscribed(st, false, 7 * S);
	rc_ha_state_step(st, 7 * S, &wake);
	CU_ASSERT_PTR_NOT_NULL(pending("/restapi/v1.0/account/~/extension/303/presence"));
	CU_ASSERT_EQUAL(n_pending(), 1);
	rc_ha_extensions_free(more, 3);
	rc_ha_state_stop(st);
	answer("/restapi/v1.0/account/~/extension/303/presence", 0, NULL, "stopping");
	rc_ha_state_free(st);
	world_reset();
}

static void test_failed_lookup_logged_once_and_backs_off(void)
{
	world_reset();
	struct rc_ha_state *st = rc_ha_state_new(&env);
	size_t n;
	struct rc_ha_extension *e = two(&n);
	int64_t wake;

	free(e[1].id);
	free(e[1].presence_event);
	e[1].id = e[1].presence_event = NULL;
	n = 1;
	rc_ha_state_covered(st, e, n, "101", 0);
	wake = INT64_MAX;
	rc_ha_state_step(st, 0, &wake);
	answer(INFO_101, 500, "{}", NULL);
	CU_ASSERT_EQUAL(world.warnings, 1);
	wake = INT64_MAX;
	rc_ha_state_step(st, 1 * S, &wake);
	CU_ASSERT_EQUAL(n_pending(), 0);             /* not in a tight loop */
	CU_ASSERT_EQUAL(wake, RC_HA_INFO_RETRY_MS);
	rc_ha_state_step(st, RC_HA_INFO_RETRY_MS, &wake);
	answer(INFO_101, 0, NULL, "request failed: Connection refused");
	CU_ASSERT_EQUAL(world.warnings, 1);          /* logged once */
	wake = INT64_MAX;
	rc_ha_state_step(st, RC_HA_INFO_RETRY_MS + S, &wake);
	CU_ASSERT_EQUAL(wake, RC_HA_INFO_RETRY_MS + 2 * RC_HA_INFO_RETRY_MS);  /* doubled */
	/* The first subscription does not hurry it (it comes moments after the login); a
	 * recreated one tries again at once; the fallback name stays meanwhile. */
	rc_ha_state_subscribed(st, true, 2 * RC_HA_INFO_RETRY_MS);
	wake = INT64_MAX;
	rc_ha_state_step(st, 2 * RC_HA_INFO_RETRY_MS, &wake);
	CU_ASSERT_PTR_NULL(pending(INFO_101));
	CU_ASSERT_PTR_NOT_NULL(pending(PRES_101));
	rc_ha_state_subscribed(st, true, 2 * RC_HA_INFO_RETRY_MS);
	rc_ha_state_step(st, 2 * RC_HA_INFO_RETRY_MS, &wake);
	CU_ASSERT_PTR_NOT_NULL(pending(INFO_101));
	CU_ASSERT_PTR_NOT_NULL(pending(PRES_101));
	answer(INFO_101, 404, "{\"errorCode\":\"CMN-102\"}", NULL);
	CU_ASSERT_EQUAL(world.warnings, 1);
	rc_ha_state_covered(st, e, n, "101", 2 * RC_HA_INFO_RETRY_MS);
	CU_ASSERT_PTR_NULL(e[0].name);
	CU_ASSERT_EQUAL(world.rediscovers, 0);

	/* A presence read that fails is retried within the epoch, after a pause. */
	answer(PRES_101, 503, "{}", NULL);
	CU_ASSERT_EQUAL(world.warnings, 2);
	int64_t t = 2 * RC_HA_INFO_RETRY_MS;
	wake = INT64_MAX;
	rc_ha_state_step(st, t + 1 * S, &wake);
	CU_ASSERT_PTR_NULL(pending(PRES_101));
	CU_ASSERT_EQUAL(wake, t + RC_HA_PRESENCE_RETRY_MS);
	rc_ha_state_step(st, t + RC_HA_PRESENCE_RETRY_MS, &wake);
	CU_ASSERT_PTR_NOT_NULL(pending(PRES_101));
	/* A client error is not: given up until the next subscription. */
	answer(PRES_101, 403, "{}", NULL);
	wake = INT64_MAX;
	rc_ha_state_step(st, t + 100 * RC_HA_PRESENCE_RETRY_MS, &wake);
	CU_ASSERT_PTR_NULL(pending(PRES_101));
	CU_ASSERT_EQUAL(world.n_published, 0);
	answer(INFO_101, 500, "{}", NULL);           /* its own back-off was over */
	CU_ASSERT_EQUAL(world.warnings, 2);
	/* A full door: tried again at the next step, nothing lost. */
	rc_ha_state_subscribed(st, true, t + 200 * RC_HA_PRESENCE_RETRY_MS);
	world.refuse = true;
	rc_ha_state_step(st, t + 200 * RC_HA_PRESENCE_RETRY_MS, &wake);
	CU_ASSERT_EQUAL(n_pending(), 0);
	world.refuse = false;
	rc_ha_state_step(st, t + 200 * RC_HA_PRESENCE_RETRY_MS, &wake);
	CU_ASSERT_PTR_NOT_NULL(pending(PRES_101));
	answer(PRES_101, 200, presence_answer, NULL);
	CU_ASSERT_EQUAL(world.n_published, 1);
	answer(INFO_101, 200, "{\"name\":\"Alice\"}", NULL);
	rc_ha_state_step(st, t + 201 * RC_HA_PRESENCE_RETRY_MS, &wake);
	CU_ASSERT_EQUAL(world.rediscovers, 1);
	rc_ha_extensions_free(e, 2);
	rc_ha_state_free(st);
	world_reset();
}

static void test_newer_notification_wins(void)
{
	world_reset();
	struct rc_ha_state *st = rc_ha_state_new(&env);
	size_t n;
	struct rc_ha_extension *e = two(&n);
	int64_t wake = INT64_MAX;

	rc_ha_state_covered(st, e, n, "101", 0);
	rc_ha_state_subscribed(st, true, 0);
	rc_ha_state_step(st, 0, &wake);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pending(PRES_101));
	/* Published before the answer came: 101's (account as a number, with the query) and
	 * another extension's or another kind's, which do not count. */
	static const char ev1[] = "/restapi/v1.0/account/37439510/extension/101/presence?detailedTelephonyState=true";
	static const char other[] = "/restapi/v1.0/account/~/extension/202/presence";
	static const char sms[] = "/restapi/v1.0/account/~/extension/101/presence-ish";
	rc_ha_state_seen(st, other, strlen(other));
	rc_ha_state_seen(st, sms, strlen(sms));
	answer(PRES_101, 200, presence_answer, NULL);
	CU_ASSERT_EQUAL(world.n_published, 1);      /* those did not make it stale */
	rc_ha_state_subscribed(st, true, 1 * S);
	rc_ha_state_step(st, 1 * S, &wake);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pending(PRES_101));
	rc_ha_state_seen(st, ev1, strlen(ev1));
	answer(PRES_101, 200, presence_answer, NULL);
	CU_ASSERT_EQUAL(world.n_published, 1);      /* stale: dropped */
	CU_ASSERT_EQUAL(world.warnings, 0);
	/* Dropped counts as read: no second call in this epoch. */
	rc_ha_state_step(st, 2 * S, &wake);
	CU_ASSERT_PTR_NULL(pending(PRES_101));
	rc_ha_extensions_free(e, n);
	rc_ha_state_stop(st);
	while (n_pending() > 0) {
		for (size_t i = 0; i < world.n_calls; i++)
			if (!world.calls[i].answered)
				answer(world.calls[i].path, 0, NULL, "stopping");
	}
	CU_ASSERT_EQUAL(world.warnings, 0);          /* stopping is not worth a warning */
	rc_ha_state_free(st);
	world_reset();
}

int main(void)
{
	static const struct rc_test_case cases[] = {
		{ "presence answer to detailed notification", test_presence_mapping_detailed },
		{ "presence answer to plain notification, bad answers", test_presence_mapping_plain_and_bad },
		{ "extension info", test_extension_info },
		{ "names, then presence after each subscription", test_names_and_presence_after_subscription },
		{ "failed lookups logged once, backed off", test_failed_lookup_logged_once_and_backs_off },
		{ "a newer notification wins over a read", test_newer_notification_wins },
		{ NULL, NULL },
	};
	return rc_test_run("ha_state", NULL, NULL, cases);
}
