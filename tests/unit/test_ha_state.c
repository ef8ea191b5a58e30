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
	bool outbox_full;             /* publish refuses: the outbox is full */
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

static bool fake_publish(void *arg, json_object *n, int64_t now)
{
	(void)arg;
	(void)now;
	if (world.outbox_full)
		return false;
	if (world.n_published < 16)
		world.published[world.n_published++] = json_object_get(n);
	return true;
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

static void test_presence_refused_by_a_full_outbox_is_read_again(void)
{
	world_reset();
	struct rc_ha_state *st = rc_ha_state_new(&env);
	size_t n;
	struct rc_ha_extension *e = two(&n);
	int64_t wake = 1000 * S;

	CU_ASSERT_EQUAL(rc_ha_state_covered(st, e, n, "101", 0), 0);
	rc_ha_state_step(st, 0, &wake);
	answer(INFO_101, 200, "{\"name\":\"Alice\"}", NULL);
	answer(INFO_202, 200, "{\"name\":\"Bob\"}", NULL);
	rc_ha_state_subscribed(st, true, 1 * S);
	rc_ha_state_step(st, 1 * S, &wake);
	world.outbox_full = true;
	answer(PRES_101, 200, presence_answer, NULL);
	CU_ASSERT_EQUAL(world.n_published, 0);
	world.outbox_full = false;
	/* Not given up for this subscription: read again once the retry time has come. */
	wake = 1000 * S;
	rc_ha_state_step(st, 1 * S, &wake);
	CU_ASSERT_PTR_NULL(pending(PRES_101));
	CU_ASSERT_TRUE(wake <= 1 * S + RC_HA_PRESENCE_RETRY_MS);
	rc_ha_state_step(st, 1 * S + RC_HA_PRESENCE_RETRY_MS, &wake);
	CU_ASSERT_PTR_NOT_NULL(pending(PRES_101));
	answer(PRES_101, 200, presence_answer, NULL);
	CU_ASSERT_EQUAL(world.n_published, 1);
	rc_ha_extensions_free(e, n);
	rc_ha_state_stop(st);
	for (size_t i = 0; i < world.n_calls; i++)
		if (!world.calls[i].answered)
			answer(world.calls[i].path, 0, NULL, "stopping");
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

/* ---------------------------------------------------------------- the account's extensions */

#define LIST_1 "/restapi/v1.0/account/~/extension?type=User&status=Enabled&perPage=100&page=1"
#define LIST_2 "/restapi/v1.0/account/~/extension?type=User&status=Enabled&perPage=100&page=2"
#define ACCOUNT_EVENT(id) "/restapi/v1.0/account/~/extension/" id "/presence"

static void test_extension_page(void)
{
	struct rc_ha_listed *r;
	size_t n;
	bool more;
	const char *a = "{\"uri\":\"https://x\",\"records\":["
		"{\"id\":101,\"extensionNumber\":\"101\",\"name\":\"Front Desk\",\"type\":\"User\",\"status\":\"Enabled\"},"
		"{\"id\":\"202\",\"contact\":{\"firstName\":\"Bob\",\"lastName\":\"Jones\"}},"
		"{\"id\":303,\"name\":\"IVR\",\"type\":\"IvrMenu\",\"status\":\"Enabled\"},"
		"{\"id\":404,\"name\":\"Gone\",\"type\":\"User\",\"status\":\"Disabled\"},"
		"{\"name\":\"no id\"},{\"id\":\"12a\"},{\"id\":-5},7],"
		"\"paging\":{\"page\":1,\"totalPages\":2,\"perPage\":8,\"totalElements\":9,\"pageStart\":0,\"pageEnd\":7},"
		"\"navigation\":{\"firstPage\":{\"uri\":\"https://x?page=1\"},\"nextPage\":{\"uri\":\"https://x?page=2\"},"
		"\"lastPage\":{\"uri\":\"https://x?page=2\"}}}";
	CU_ASSERT_EQUAL_FATAL(rc_ha_extension_page(a, strlen(a), &r, &n, &more), 0);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_TRUE(more);
	CU_ASSERT_STRING_EQUAL(r[0].id, "101");
	CU_ASSERT_STRING_EQUAL(r[0].name, "Front Desk");
	CU_ASSERT_STRING_EQUAL(r[0].number, "101");
	CU_ASSERT_STRING_EQUAL(r[1].id, "202");
	CU_ASSERT_STRING_EQUAL(r[1].name, "Bob Jones");
	CU_ASSERT_PTR_NULL(r[1].number);
	rc_ha_listed_free(r, n);
	/* The last page: no nextPage, page == totalPages. */
	const char *b = "{\"records\":[{\"id\":505}],\"paging\":{\"page\":2,\"totalPages\":2},"
		"\"navigation\":{\"firstPage\":{\"uri\":\"u\"},\"previousPage\":{\"uri\":\"u\"}}}";
	CU_ASSERT_EQUAL_FATAL(rc_ha_extension_page(b, strlen(b), &r, &n, &more), 0);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_FALSE(more);
	rc_ha_listed_free(r, n);
	/* Without navigation, paging decides; an empty page never asks for more. */
	const char *c = "{\"records\":[{\"id\":1}],\"paging\":{\"page\":1,\"totalPages\":3}}";
	CU_ASSERT_EQUAL_FATAL(rc_ha_extension_page(c, strlen(c), &r, &n, &more), 0);
	CU_ASSERT_TRUE(more);
	rc_ha_listed_free(r, n);
	const char *d = "{\"records\":[],\"paging\":{\"page\":4,\"totalPages\":9},"
		"\"navigation\":{\"nextPage\":{\"uri\":\"u\"}}}";
	CU_ASSERT_EQUAL_FATAL(rc_ha_extension_page(d, strlen(d), &r, &n, &more), 0);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_FALSE(more);
	rc_ha_listed_free(r, n);
	CU_ASSERT_EQUAL(rc_ha_extension_page("{}", 2, &r, &n, &more), -1);
	CU_ASSERT_EQUAL(rc_ha_extension_page("{\"records\":{}}", 14, &r, &n, &more), -1);
	CU_ASSERT_EQUAL(rc_ha_extension_page("nope", 4, &r, &n, &more), -1);
	CU_ASSERT_PTR_NULL(r);
}

/* What the worker does at each discovery: the per-extension list plus the listed ones. */
static struct rc_ha_extension *account_exts(struct rc_ha_state *st, size_t *n, int64_t now)
{
	static const struct rc_config cfg = { .topic_prefix = "ringcentral" };
	static char *filters[] = { "/restapi/v1.0/account/~/presence" };
	struct rc_ha_extension *e = NULL;
	bool detailed;
	const char *acc = rc_ha_account_presence(filters, 1, &detailed);
	size_t n_ids;

	rc_ha_state_account(st, acc != NULL);
	CU_ASSERT_EQUAL(rc_ha_extensions(&cfg, filters, 1, "101", &e, n), 0);
	char *const *ids = rc_ha_state_listed(st, &n_ids);
	CU_ASSERT_EQUAL(rc_ha_extensions_listed(&cfg, acc, ids, n_ids, &e, n), 0);
	CU_ASSERT_EQUAL(rc_ha_state_covered(st, e, *n, "101", now), 0);
	return e;
}

static void test_account_listing(void)
{
	world_reset();
	struct rc_ha_state *st = rc_ha_state_new(&env);
	size_t n, n_ids;
	int64_t wake = INT64_MAX;
	struct rc_ha_extension *e = account_exts(st, &n, 0);

	/* Nothing before a subscription carries the filter. */
	CU_ASSERT_EQUAL(n, 0);
	rc_ha_state_step(st, 0, &wake);
	CU_ASSERT_EQUAL(n_pending(), 0);
	rc_ha_extensions_free(e, n);
	rc_ha_state_subscribed(st, true, 1 * S);
	rc_ha_state_step(st, 1 * S, &wake);
	CU_ASSERT_EQUAL(n_pending(), 1);
	answer(LIST_1, 200, "{\"records\":[{\"id\":101,\"name\":\"Front Desk\",\"extensionNumber\":\"101\"}],"
			"\"navigation\":{\"nextPage\":{\"uri\":\"u\"}}}", NULL);
	/* Not complete yet: nothing listed, no discovery. */
	CU_ASSERT_PTR_NULL(rc_ha_state_listed(st, &n_ids));
	rc_ha_state_step(st, 1 * S, &wake);
	CU_ASSERT_EQUAL(world.rediscovers, 0);
	answer(LIST_2, 200, "{\"records\":[{\"id\":202,\"name\":\"Sales\"}],\"paging\":{\"page\":2,\"totalPages\":2}}",
			NULL);
	rc_ha_state_step(st, 1 * S, &wake);
	CU_ASSERT_EQUAL(world.rediscovers, 1);
	e = account_exts(st, &n, 1 * S);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_STRING_EQUAL(e[0].id, "101");
	CU_ASSERT_STRING_EQUAL(e[0].name, "Front Desk");
	CU_ASSERT_STRING_EQUAL(e[0].number, "101");
	CU_ASSERT_STRING_EQUAL(e[0].presence_event, ACCOUNT_EVENT("101"));
	CU_ASSERT_STRING_EQUAL(e[0].topic[RC_HA_PRESENCE], "ringcentral/account/+/extension/101/presence");
	CU_ASSERT_STRING_EQUAL(e[1].name, "Sales");
	/* Named by the list: no lookup; their presence is read at once (the subscription
	 * that the listing followed delivers it). */
	rc_ha_state_step(st, 1 * S, &wake);
	CU_ASSERT_PTR_NOT_NULL(pending(ACCOUNT_EVENT("101")));
	CU_ASSERT_PTR_NOT_NULL(pending(ACCOUNT_EVENT("202")));
	CU_ASSERT_PTR_NULL(pending(INFO_101));
	answer(ACCOUNT_EVENT("101"), 200, presence_answer, NULL);
	answer(ACCOUNT_EVENT("202"), 200, "{\"presenceStatus\":\"Available\"}", NULL);
	CU_ASSERT_EQUAL_FATAL(world.n_published, 2);
	CU_ASSERT_STRING_EQUAL(str_at(world.published[1], "event", NULL), ACCOUNT_EVENT("202"));
	rc_ha_extensions_free(e, n);

	/* A failure: logged once, the same page again after the back-off. */
	rc_ha_state_subscribed(st, false, 2 * S);
	rc_ha_state_step(st, 2 * S, &wake);
	answer(LIST_1, 503, "{}", NULL);
	CU_ASSERT_EQUAL(world.warnings, 1);
	wake = INT64_MAX;
	rc_ha_state_step(st, 3 * S, &wake);
	CU_ASSERT_EQUAL(n_pending(), 0);
	CU_ASSERT_EQUAL(wake, 2 * S + RC_HA_LIST_RETRY_MS);
	rc_ha_state_step(st, 2 * S + RC_HA_LIST_RETRY_MS, &wake);
	answer(LIST_1, 0, NULL, "request failed: Connection refused");
	CU_ASSERT_EQUAL(world.warnings, 1);
	wake = INT64_MAX;
	rc_ha_state_step(st, 3 * S + RC_HA_LIST_RETRY_MS, &wake);
	CU_ASSERT_EQUAL(wake, 2 * S + 3 * RC_HA_LIST_RETRY_MS);     /* doubled */
	/* The previous listing stands meanwhile. */
	rc_ha_state_listed(st, &n_ids);
	CU_ASSERT_EQUAL(n_ids, 2);

	/* A new subscription lists at once; 202 left the account: the listing says so. */
	int64_t t = 10 * RC_HA_LIST_RETRY_MS;
	rc_ha_state_subscribed(st, true, t);
	rc_ha_state_step(st, t, &wake);
	answer(LIST_1, 200, "{\"records\":[{\"id\":101,\"name\":\"Front Desk\",\"extensionNumber\":\"101\"}],"
			"\"paging\":{\"page\":1,\"totalPages\":1}}", NULL);
	rc_ha_state_step(st, t, &wake);
	CU_ASSERT_EQUAL(world.rediscovers, 2);
	e = account_exts(st, &n, t);
	CU_ASSERT_EQUAL(n, 1);
	rc_ha_extensions_free(e, n);
	/* The same listing again changes nothing. */
	while (n_pending() > 0)
		for (size_t i = 0; i < world.n_calls; i++)
			if (!world.calls[i].answered)
				answer(world.calls[i].path, 200, "{}", NULL);
	rc_ha_state_subscribed(st, false, t + S);
	rc_ha_state_step(st, t + S, &wake);
	answer(LIST_1, 200, "{\"records\":[{\"id\":101,\"name\":\"Front Desk\",\"extensionNumber\":\"101\"}]}", NULL);
	rc_ha_state_step(st, t + S, &wake);
	CU_ASSERT_EQUAL(world.rediscovers, 2);

	/* A listing under way when the filter goes is dropped, and so is the last one. */
	rc_ha_state_subscribed(st, false, t + 2 * S);
	rc_ha_state_step(st, t + 2 * S, &wake);
	CU_ASSERT_PTR_NOT_NULL(pending(LIST_1));
	rc_ha_state_account(st, false);
	CU_ASSERT_PTR_NULL(rc_ha_state_listed(st, &n_ids));
	CU_ASSERT_EQUAL(n_ids, 0);
	answer(LIST_1, 200, "{\"records\":[{\"id\":909}]}", NULL);
	CU_ASSERT_PTR_NULL(rc_ha_state_listed(st, &n_ids));
	rc_ha_state_step(st, t + 3 * S, &wake);
	CU_ASSERT_EQUAL(n_pending(), 0);
	CU_ASSERT_EQUAL(world.warnings, 1);
	rc_ha_state_free(st);
	world_reset();
}

static void test_account_listing_bounded(void)
{
	world_reset();
	struct rc_ha_state *st = rc_ha_state_new(&env);
	int64_t wake = INT64_MAX;
	size_t n_ids;
	/* Pages of 100 that always say there is another: stops at RC_HA_LIST_MAX, warns once. */
	size_t cap = 64 + 100 * 40;
	char *page = malloc(cap);
	unsigned next = 1;

	rc_ha_state_account(st, true);
	rc_ha_state_subscribed(st, true, 0);
	for (int p = 1; p <= 12; p++) {
		rc_ha_state_step(st, 0, &wake);
		if (n_pending() == 0)
			break;
		size_t o = (size_t)snprintf(page, cap, "{\"records\":[");
		for (int i = 0; i < 100; i++)
			o += (size_t)snprintf(page + o, cap - o, "%s{\"id\":%u}", i ? "," : "", next++);
		snprintf(page + o, cap - o, "],\"navigation\":{\"nextPage\":{\"uri\":\"u\"}}}");
		for (size_t i = 0; i < world.n_calls; i++)
			if (!world.calls[i].answered)
				answer(world.calls[i].path, 200, page, NULL);
	}
	rc_ha_state_step(st, 0, &wake);
	CU_ASSERT_EQUAL(n_pending(), 0);
	rc_ha_state_listed(st, &n_ids);
	CU_ASSERT_EQUAL(n_ids, RC_HA_LIST_MAX);
	CU_ASSERT_EQUAL(world.warnings, 1);        /* the server named more: said once */
	rc_ha_state_subscribed(st, true, 0);
	rc_ha_state_step(st, 0, &wake);
	answer(LIST_1, 200, "{\"records\":[{\"id\":1}]}", NULL);
	rc_ha_state_listed(st, &n_ids);
	CU_ASSERT_EQUAL(n_ids, 1);
	CU_ASSERT_EQUAL(world.warnings, 1);
	free(page);
	rc_ha_state_free(st);
	world_reset();
}

static void test_account_filter_found(void)
{
	static const struct rc_config cfg = { .topic_prefix = "rc" };
	char *f[] = { "/restapi/v1.0/account/~/extension/~/presence",
		"/restapi/v1.0/account/~/presence", "/restapi/v1.0/account/~/presence/x",
		"/restapi/v1.0/account/37439510/presence?detailedTelephonyState=true" };
	bool d;
	CU_ASSERT_STRING_EQUAL(rc_ha_account_presence(f, 3, &d), f[1]);
	CU_ASSERT_FALSE(d);
	CU_ASSERT_STRING_EQUAL(rc_ha_account_presence(f, 4, &d), f[3]);
	CU_ASSERT_TRUE(d);
	CU_ASSERT_PTR_NULL(rc_ha_account_presence(f, 1, &d));
	/* The detailed account filter's event keeps its account and query; an extension with
	 * its own detailed filter keeps it. */
	struct rc_ha_extension *e = NULL;
	size_t n = 0;
	char *ids[] = { "101", "x1", "202" };
	CU_ASSERT_EQUAL_FATAL(rc_ha_extensions(&cfg, f, 1, "101", &e, &n), 0);
	CU_ASSERT_EQUAL_FATAL(rc_ha_extensions_listed(&cfg, f[3], ids, 3, &e, &n), 0);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_STRING_EQUAL(e[0].presence_event, "/restapi/v1.0/account/37439510/extension/101/presence?detailedTelephonyState=true");
	CU_ASSERT_TRUE(e[0].detailed);
	CU_ASSERT_STRING_EQUAL(e[1].presence_event, "/restapi/v1.0/account/37439510/extension/202/presence?detailedTelephonyState=true");
	CU_ASSERT_STRING_EQUAL(e[1].topic[RC_HA_PRESENCE], "rc/account/+/extension/202/presence");
	rc_ha_extensions_free(e, n);
	e = NULL;
	CU_ASSERT_EQUAL_FATAL(rc_ha_extensions(&cfg, f, 1, "101", &e, &n), 0);
	CU_ASSERT_EQUAL_FATAL(rc_ha_extensions_listed(&cfg, f[1], ids, 1, &e, &n), 0);
	CU_ASSERT_EQUAL_FATAL(n, 1);
	CU_ASSERT_STRING_EQUAL(e[0].presence_event, "/restapi/v1.0/account/~/extension/101/presence");
	rc_ha_extensions_free(e, n);
}

int main(void)
{
	static const struct rc_test_case cases[] = {
		{ "presence answer to detailed notification", test_presence_mapping_detailed },
		{ "presence answer to plain notification, bad answers", test_presence_mapping_plain_and_bad },
		{ "extension info", test_extension_info },
		{ "names, then presence after each subscription", test_names_and_presence_after_subscription },
		{ "presence refused by a full outbox is read again",
				test_presence_refused_by_a_full_outbox_is_read_again },
		{ "failed lookups logged once, backed off", test_failed_lookup_logged_once_and_backs_off },
		{ "a newer notification wins over a read", test_newer_notification_wins },
		{ "extension list page", test_extension_page },
		{ "the account-wide filter and its events", test_account_filter_found },
		{ "the account's extensions listed after each subscription", test_account_listing },
		{ "the listing is bounded", test_account_listing_bounded },
		{ NULL, NULL },
	};
	return rc_test_run("ha_state", NULL, NULL, cases);
}
