/* test_rest.c - OAuth token answers and grant bodies, subscription answers and request
 * bodies, API error shapes, ISO 8601 times. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "rc_test.h"
#include <json-c/json.h>
#include "rc_rest.h"

/* The subscription answer from the seed document, as valid JSON. */
static const char seed_subscription[] =
	"{\n"
	"  \"eventFilters\" : [ \"/restapi/v1.0/account/~/extension/401550809004/presence?detailedTelephonyState=true\" ],\n"
	"  \"id\" : \"78c53776-6aa5-4089-b080-150089c097bf\",\n"
	"  \"deliveryMode\" : {\n"
	"    \"transportType\" : \"PubNub\",\n"
	"    \"encryption\" : true,\n"
	"    \"address\" : \"96830102602705_0d0115d5\",\n"
	"    \"subscriberKey\" : \"sub-c-b8b9cd8c-e906-11e2-b383-02ee2ddab7fe\",\n"
	"    \"encryptionAlgorithm\" : \"AES\",\n"
	"    \"encryptionKey\" : \"fNP0fszFJdc/thDO90/B3A==\"\n"
	"  },\n"
	"  \"expirationTime\" : \"2013-09-13T13:58:57.187Z\",\n"
	"  \"status\" : \"Active\",\n"
	"  \"creationTime\" : \"2013-09-13T13:43:57.187Z\",\n"
	"  \"uri\" : \"/restapi/v1.0/subscription/78c53776-6aa5-4089-b080-150089c097bf\"\n"
	"}\n";

/* 2013-09-13T13:58:57Z, worked out by hand: 15961 days from 1970-01-01 to 2013-09-13
 * (43 years with 11 leap days = 15706, plus 255 days of 2013 before Sep 13), then
 * 13:58:57 = 50337 s. 15961 * 86400 + 50337 = 1379080737. */
#define SEED_EXPIRATION_MS 1379080737187LL

static int parse_sub(const char *json, struct rc_subscription *s)
{
	return rc_subscription_parse(json, strlen(json), s);
}

/* ---- OAuth ---- */

static void test_token_parse(void)
{
	static const char answer[] =
		"{\"access_token\":\"U0pDMDFQMDFKV1MwMnxXEhpuK23FJtRSi_rafOgPSMOorQ\","
		"\"token_type\":\"bearer\",\"expires_in\":7199,"
		"\"refresh_token\":\"U0pDMDFQMDFKV1MwMnxYLJ-refresh\","
		"\"refresh_token_expires_in\":604799,\"scope\":\"ReadPresence\","
		"\"owner_id\":\"401550809004\",\"endpoint_id\":\"abc\"}";
	struct rc_token t;

	CU_ASSERT_EQUAL_FATAL(rc_token_parse(answer, strlen(answer), &t), 0);
	CU_ASSERT_STRING_EQUAL(t.access_token, "U0pDMDFQMDFKV1MwMnxXEhpuK23FJtRSi_rafOgPSMOorQ");
	CU_ASSERT_STRING_EQUAL(t.refresh_token, "U0pDMDFQMDFKV1MwMnxYLJ-refresh");
	CU_ASSERT_EQUAL(t.expires_in, 7199);
	CU_ASSERT_EQUAL(t.refresh_token_expires_in, 604799);
	CU_ASSERT_STRING_EQUAL(t.owner_id, "401550809004");
	rc_token_clear(&t);
	CU_ASSERT_PTR_NULL(t.access_token);
	CU_ASSERT_PTR_NULL(t.refresh_token);
	CU_ASSERT_EQUAL(t.expires_in, 0);
	rc_token_clear(&t);   /* twice is harmless */

	/* Without a refresh token (e.g. some grants). */
	static const char minimal[] = "{\"access_token\":\"a\",\"expires_in\":3600}";
	CU_ASSERT_EQUAL_FATAL(rc_token_parse(minimal, strlen(minimal), &t), 0);
	CU_ASSERT_STRING_EQUAL(t.access_token, "a");
	CU_ASSERT_PTR_NULL(t.refresh_token);
	CU_ASSERT_EQUAL(t.refresh_token_expires_in, 0);
	CU_ASSERT_PTR_NULL(t.owner_id);
	rc_token_clear(&t);
}

/* Lifetimes the server states are clamped at parse time: a huge one used to overflow the
 * millisecond arithmetic downstream (the token looked expired at once: a login loop). */
static void test_lifetimes_clamped(void)
{
	static const struct {
		const char *value;
		long want;   /* 0: refused (expires_in) or absent (the others) */
	} cases[] = {
		{ "3600", 3600 },
		{ "9223372036854775807", RC_LIFETIME_MAX_S },        /* LONG_MAX */
		{ "92233720368547758070", RC_LIFETIME_MAX_S },       /* beyond int64 */
		{ "18446744073709551615", RC_LIFETIME_MAX_S },       /* UINT64_MAX */
		{ "1e30", RC_LIFETIME_MAX_S },
		{ "1.5e300", RC_LIFETIME_MAX_S },
		{ "316224000", RC_LIFETIME_MAX_S },                  /* exactly the bound */
		{ "316224001", RC_LIFETIME_MAX_S },
		{ "7199.9", 7199 },
		{ "0.25", RC_LIFETIME_MIN_S },
		{ "1", 1 },
		{ "0", 0 }, { "-1", 0 }, { "-9223372036854775808", 0 }, { "-1e30", 0 },
		{ "0.0", 0 }, { "\"3600\"", 0 }, { "\"1e30\"", 0 }, { "null", 0 }, { "true", 0 },
		{ "[3600]", 0 }, { "{}", 0 },
	};
	char json[512];

	CU_ASSERT_EQUAL(RC_LIFETIME_MAX_S, 316224000L);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rc_token t;
		struct rc_wstoken w;
		struct rc_subscription sub;
		long want = cases[i].want;

		snprintf(json, sizeof(json), "{\"access_token\":\"a\",\"expires_in\":%s,"
			"\"refresh_token\":\"r\",\"refresh_token_expires_in\":%s}",
			cases[i].value, cases[i].value);
		int rc = rc_token_parse(json, strlen(json), &t);
		CU_ASSERT_EQUAL(rc, want > 0 ? 0 : -1);
		if (rc == 0) {
			CU_ASSERT_EQUAL(t.expires_in, want);
			CU_ASSERT_EQUAL(t.refresh_token_expires_in, want);
			/* What the lifecycle does with it: no overflow in ms. */
			CU_ASSERT(t.expires_in * 1000 / 1000 == t.expires_in);
			rc_token_clear(&t);
		}
		if (rc != (want > 0 ? 0 : -1))
			fprintf(stderr, "\n  token expires_in %s: rc %d\n", cases[i].value, rc);

		/* Optional lifetimes: an unusable one reads as absent. */
		snprintf(json, sizeof(json), "{\"access_token\":\"a\",\"expires_in\":60,"
			"\"refresh_token_expires_in\":%s}", cases[i].value);
		CU_ASSERT_EQUAL_FATAL(rc_token_parse(json, strlen(json), &t), 0);
		CU_ASSERT_EQUAL(t.refresh_token_expires_in, want);
		rc_token_clear(&t);

		snprintf(json, sizeof(json), "{\"ws_access_token\":\"w\",\"uri\":\"wss://x/ws\","
			"\"expires_in\":%s}", cases[i].value);
		CU_ASSERT_EQUAL_FATAL(rc_wstoken_parse(json, strlen(json), &w, NULL, 0), 0);
		CU_ASSERT_EQUAL(w.expires_in, want);
		rc_wstoken_clear(&w);

		snprintf(json, sizeof(json), "{\"id\":\"s\",\"expirationTime\":\"2030-01-01T00:00:00Z\","
			"\"eventFilters\":[],\"expiresIn\":%s}", cases[i].value);
		CU_ASSERT_EQUAL_FATAL(rc_subscription_parse(json, strlen(json), &sub), 0);
		CU_ASSERT_EQUAL(sub.expires_in, want);
		if (want > 0)
			CU_ASSERT_EQUAL(rc_subscription_lifetime(&sub, 0), want);
		rc_subscription_clear(&sub);
	}
}

/* Without expiresIn the lifetime comes from expirationTime: the far future and the far past
 * neither overflow nor escape the bounds. */
static void test_subscription_lifetime_from_expiration(void)
{
	static const struct {
		const char *when;
		long want;
	} cases[] = {
		{ "9999-12-31T23:59:59.999Z", RC_LIFETIME_MAX_S },
		{ "9999-12-31T23:59:59.999-23:59", RC_LIFETIME_MAX_S },
		{ "0000-01-01T00:00:00Z", RC_LIFETIME_MIN_S },
		{ "0000-01-01T00:00:00+23:59", RC_LIFETIME_MIN_S },
		{ "2013-09-13T13:58:57.187Z", RC_LIFETIME_MIN_S },            /* just expired */
		{ "2013-09-13T14:13:57.187Z", 900 },
	};
	char json[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rc_subscription sub;
		snprintf(json, sizeof(json), "{\"id\":\"s\",\"expirationTime\":\"%s\","
			"\"eventFilters\":[]}", cases[i].when);
		CU_ASSERT_EQUAL_FATAL(rc_subscription_parse(json, strlen(json), &sub), 0);
		CU_ASSERT_EQUAL(sub.expires_in, 0);
		CU_ASSERT_EQUAL(rc_subscription_lifetime(&sub, SEED_EXPIRATION_MS), cases[i].want);
		rc_subscription_clear(&sub);
	}
}

static void test_token_parse_bad(void)
{
	static const char *bad[] = {
		"",
		"not json",
		"[]",
		"{}",
		"{\"error\":\"invalid_grant\",\"error_description\":\"Invalid resource owner credentials\"}",
		"{\"access_token\":\"a\"}",
		"{\"expires_in\":3600}",
		"{\"access_token\":\"\",\"expires_in\":3600}",
		"{\"access_token\":7,\"expires_in\":3600}",
		"{\"access_token\":\"a\",\"expires_in\":\"3600\"}",
		"{\"access_token\":\"a\",\"expires_in\":0}",
		"{\"access_token\":\"a\",\"expires_in\":-5}",
		"{\"access_token\":\"a\",\"expires_in\":3600} trailing",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct rc_token t;
		memset(&t, 0x5a, sizeof(t));
		CU_ASSERT_EQUAL(rc_token_parse(bad[i], strlen(bad[i]), &t), -1);
		CU_ASSERT_PTR_NULL(t.access_token);
		CU_ASSERT_PTR_NULL(t.refresh_token);
	}
}

static void test_wstoken_parse(void)
{
	static const char *const good =
		"{\"ws_access_token\":\"wsat-1\",\"uri\":\"wss://ws-api.ringcentral.com/ws\",\"expires_in\":60}";
	static const char *const bad[] = {
		"{}", "[]", "null", "{\"uri\":\"wss://x/ws\"}",
		"{\"ws_access_token\":\"\",\"uri\":\"wss://x/ws\"}",
		"{\"ws_access_token\":\"t\"}",
		"{\"ws_access_token\":\"t\",\"uri\":\"https://x/ws\"}",
		"{\"ws_access_token\":7,\"uri\":\"wss://x/ws\"}",
		"{\"ws_access_token\":\"t\",\"uri\":\"wss://x/ws\"", /* truncated */
	};
	struct rc_wstoken t;

	CU_ASSERT_EQUAL_FATAL(rc_wstoken_parse(good, strlen(good), &t, NULL, 0), 0);
	CU_ASSERT_STRING_EQUAL(t.ws_access_token, "wsat-1");
	CU_ASSERT_STRING_EQUAL(t.uri, "wss://ws-api.ringcentral.com/ws");
	CU_ASSERT_EQUAL(t.expires_in, 60);
	rc_wstoken_clear(&t);
	CU_ASSERT_PTR_NULL(t.ws_access_token);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_EQUAL(rc_wstoken_parse(bad[i], strlen(bad[i]), &t, NULL, 0), -1);
		CU_ASSERT_PTR_NULL(t.ws_access_token);
		CU_ASSERT_PTR_NULL(t.uri);
	}
}

/* The gateway address comes from the server: ws:// would send the token in the clear, so
 * it is refused unless the host is loopback (the rule configured http:// URLs follow). */
static void test_wstoken_uri_needs_tls(void)
{
	static const char *const refused[] = {
		"ws://gateway.invalid/", "ws://ws-api.ringcentral.com/ws", "ws://10.0.0.1:80/ws",
		"ws://128.0.0.1/ws", "ws://[::2]/ws", "ws://localhost.example.com/ws",
		"WS://gateway.invalid/", "http://127.0.0.1/ws", "ftp://x/", "wss://u:p@x/ws",
		"wss://x/ws#f", "wss://", "ws://gw\\n.example/\\u001b",
	};
	static const char *const accepted[] = {
		"wss://ws-api.ringcentral.com/ws", "WSS://x:8443/ws?a=b", "ws://127.0.0.1:9000/ws",
		"ws://127.9.9.9/ws", "ws://localhost/ws", "ws://[::1]:80/ws", "wss://[2001:db8::1]/ws",
	};
	struct rc_wstoken t;
	char json[512], why[256];

	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		snprintf(json, sizeof(json), "{\"ws_access_token\":\"WSAT-secret\",\"uri\":\"%s\","
			"\"expires_in\":60}", refused[i]);
		CU_ASSERT_EQUAL(rc_wstoken_parse(json, strlen(json), &t, NULL, 0), -1);
		CU_ASSERT_PTR_NULL(t.uri);
		CU_ASSERT_EQUAL(rc_wstoken_parse(json, strlen(json), &t, why, sizeof(why)), -1);
		CU_ASSERT_PTR_NULL(t.ws_access_token);
		CU_ASSERT_PTR_NOT_NULL(strstr(why, "wstoken answer refused: gateway uri"));
		CU_ASSERT_PTR_NULL(strstr(why, "WSAT-secret"));
		CU_ASSERT_PTR_NULL(strchr(why, '\n'));
		CU_ASSERT_PTR_NULL(strchr(why, '\x1b'));
	}
	snprintf(json, sizeof(json), "{\"ws_access_token\":\"t\",\"uri\":\"ws://gateway.invalid/\"}");
	CU_ASSERT_EQUAL(rc_wstoken_parse(json, strlen(json), &t, why, sizeof(why)), -1);
	CU_ASSERT_STRING_EQUAL(why, "wstoken answer refused: gateway uri 'ws://gateway.invalid/' "
		"ws:// is only allowed to a loopback address; wss:// is required");
	CU_ASSERT_EQUAL(rc_wstoken_parse("{}", 2, &t, why, sizeof(why)), -1);
	CU_ASSERT_STRING_EQUAL(why, "unreadable wstoken answer");
	CU_ASSERT_EQUAL(rc_wstoken_parse("{}", 2, &t, NULL, 0), -1);

	for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++) {
		snprintf(json, sizeof(json), "{\"ws_access_token\":\"t\",\"uri\":\"%s\"}", accepted[i]);
		CU_ASSERT_EQUAL(rc_wstoken_parse(json, strlen(json), &t, why, sizeof(why)), 0);
		if (t.uri == NULL)
			fprintf(stderr, "\n  refused %s: %s\n", accepted[i], why);
		CU_ASSERT_PTR_NOT_NULL(t.uri);
		CU_ASSERT_STRING_EQUAL(why, "");
		rc_wstoken_clear(&t);
	}
}

static void test_token_bodies(void)
{
	char *b = rc_token_body_jwt("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln-_+/=");
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_STRING_EQUAL(b, "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"
		"&assertion=eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln-_%2B%2F%3D");
	free(b);

	b = rc_token_body_password("+16505550100", "101", "p@ss w&rd=1%");
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_STRING_EQUAL(b, "grant_type=password&username=%2B16505550100"
		"&password=p%40ss%20w%26rd%3D1%25&extension=101");
	free(b);

	b = rc_token_body_password("user", NULL, "pw");
	CU_ASSERT_STRING_EQUAL(b, "grant_type=password&username=user&password=pw");
	free(b);
	b = rc_token_body_password("user", "", "pw");
	CU_ASSERT_STRING_EQUAL(b, "grant_type=password&username=user&password=pw");
	free(b);

	b = rc_token_body_refresh("abc/def+==");
	CU_ASSERT_STRING_EQUAL(b, "grant_type=refresh_token&refresh_token=abc%2Fdef%2B%3D%3D");
	free(b);

	CU_ASSERT_PTR_NULL(rc_token_body_jwt(NULL));
	CU_ASSERT_PTR_NULL(rc_token_body_jwt(""));
	CU_ASSERT_PTR_NULL(rc_token_body_refresh(NULL));
	CU_ASSERT_PTR_NULL(rc_token_body_password(NULL, "1", "pw"));
	CU_ASSERT_PTR_NULL(rc_token_body_password("u", "1", NULL));
}

/* ---- Subscriptions ---- */

static void test_subscription_seed(void)
{
	struct rc_subscription s;

	CU_ASSERT_EQUAL_FATAL(parse_sub(seed_subscription, &s), 0);
	CU_ASSERT_STRING_EQUAL(s.id, "78c53776-6aa5-4089-b080-150089c097bf");
	CU_ASSERT_STRING_EQUAL(s.status, "Active");
	CU_ASSERT_STRING_EQUAL(s.expiration_time, "2013-09-13T13:58:57.187Z");
	CU_ASSERT_EQUAL(s.expiration_ms, SEED_EXPIRATION_MS);
	CU_ASSERT_EQUAL(s.expires_in, 0);
	CU_ASSERT_EQUAL_FATAL(s.n_event_filters, 1);
	CU_ASSERT_STRING_EQUAL(s.event_filters[0],
		"/restapi/v1.0/account/~/extension/401550809004/presence?detailedTelephonyState=true");
	CU_ASSERT_PTR_NULL(s.event_filters[1]);
	CU_ASSERT_EQUAL(s.n_disabled, 0);
	CU_ASSERT_PTR_NULL(s.disabled);
	CU_ASSERT_STRING_EQUAL(s.transport_type, "PubNub");
	CU_ASSERT_TRUE(s.encryption);
	CU_ASSERT_STRING_EQUAL(s.address, "96830102602705_0d0115d5");
	CU_ASSERT_STRING_EQUAL(s.subscriber_key, "sub-c-b8b9cd8c-e906-11e2-b383-02ee2ddab7fe");
	CU_ASSERT_STRING_EQUAL(s.encryption_key, "fNP0fszFJdc/thDO90/B3A==");
	rc_subscription_clear(&s);
	CU_ASSERT_PTR_NULL(s.id);
	CU_ASSERT_PTR_NULL(s.event_filters);
	rc_subscription_clear(&s);
}

static void test_subscription_disabled_filters(void)
{
	static const char answer[] =
		"{\"id\":\"s1\",\"status\":\"Active\",\"expiresIn\":899,"
		"\"expirationTime\":\"2024-02-29T23:59:59+01:00\","
		"\"eventFilters\":[\"/restapi/v1.0/account/~/extension/~/message-store\",\"/team-messaging/v1/posts\"],"
		"\"disabledFilters\":["
		"{\"filter\":\"/restapi/v1.0/account/~/extension/~/presence\",\"reason\":\"Permission\","
		"\"message\":\"No permission ReadPresence\"},"
		"{\"filter\":\"/restapi/v1.0/account/~/bogus\"}],"
		"\"deliveryMode\":{\"transportType\":\"WebSocket\"}}";
	struct rc_subscription s;

	CU_ASSERT_EQUAL_FATAL(parse_sub(answer, &s), 0);
	CU_ASSERT_EQUAL(s.expires_in, 899);
	/* 2024-02-29T22:59:59Z. */
	char iso[32];
	rc_ms_to_iso8601(s.expiration_ms, iso, sizeof(iso));
	CU_ASSERT_STRING_EQUAL(iso, "2024-02-29T22:59:59.000Z");
	CU_ASSERT_EQUAL(s.n_event_filters, 2);
	CU_ASSERT_STRING_EQUAL(s.event_filters[1], "/team-messaging/v1/posts");
	CU_ASSERT_EQUAL_FATAL(s.n_disabled, 2);
	CU_ASSERT_STRING_EQUAL(s.disabled[0].filter, "/restapi/v1.0/account/~/extension/~/presence");
	CU_ASSERT_STRING_EQUAL(s.disabled[0].reason, "Permission");
	CU_ASSERT_STRING_EQUAL(s.disabled[1].filter, "/restapi/v1.0/account/~/bogus");
	CU_ASSERT_PTR_NULL(s.disabled[1].reason);
	CU_ASSERT_STRING_EQUAL(s.transport_type, "WebSocket");
	CU_ASSERT_FALSE(s.encryption);
	CU_ASSERT_PTR_NULL(s.address);
	CU_ASSERT_PTR_NULL(s.subscriber_key);
	CU_ASSERT_PTR_NULL(s.encryption_key);
	rc_subscription_clear(&s);

	/* Minimal: only the required fields, an empty filter list. */
	CU_ASSERT_EQUAL_FATAL(parse_sub("{\"id\":\"x\",\"expirationTime\":\"1970-01-01T00:00:01Z\","
		"\"eventFilters\":[]}", &s), 0);
	CU_ASSERT_EQUAL(s.expiration_ms, 1000);
	CU_ASSERT_EQUAL(s.n_event_filters, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s.event_filters);
	CU_ASSERT_PTR_NULL(s.event_filters[0]);
	CU_ASSERT_PTR_NULL(s.status);
	CU_ASSERT_PTR_NULL(s.transport_type);
	rc_subscription_clear(&s);
}

static void test_subscription_bad(void)
{
	static const char *bad[] = {
		"",
		"garbage",
		"[]",
		"{}",
		/* missing id */
		"{\"expirationTime\":\"2013-09-13T13:58:57.187Z\",\"eventFilters\":[]}",
		/* empty id */
		"{\"id\":\"\",\"expirationTime\":\"2013-09-13T13:58:57.187Z\",\"eventFilters\":[]}",
		/* missing expirationTime */
		"{\"id\":\"x\",\"eventFilters\":[]}",
		/* unparseable expirationTime */
		"{\"id\":\"x\",\"expirationTime\":\"tomorrow\",\"eventFilters\":[]}",
		"{\"id\":\"x\",\"expirationTime\":1379080737187,\"eventFilters\":[]}",
		/* missing or malformed eventFilters */
		"{\"id\":\"x\",\"expirationTime\":\"2013-09-13T13:58:57.187Z\"}",
		"{\"id\":\"x\",\"expirationTime\":\"2013-09-13T13:58:57.187Z\",\"eventFilters\":\"/a\"}",
		"{\"id\":\"x\",\"expirationTime\":\"2013-09-13T13:58:57.187Z\",\"eventFilters\":[\"/a\",3]}",
		/* malformed disabledFilters entries */
		"{\"id\":\"x\",\"expirationTime\":\"2013-09-13T13:58:57.187Z\",\"eventFilters\":[],"
		"\"disabledFilters\":[\"/a\"]}",
		"{\"id\":\"x\",\"expirationTime\":\"2013-09-13T13:58:57.187Z\",\"eventFilters\":[],"
		"\"disabledFilters\":[{\"reason\":\"r\"}]}",
		/* trailing garbage */
		"{\"id\":\"x\",\"expirationTime\":\"2013-09-13T13:58:57.187Z\",\"eventFilters\":[]}]",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct rc_subscription s;
		memset(&s, 0x5a, sizeof(s));
		int rc = parse_sub(bad[i], &s);
		if (rc != -1)
			fprintf(stderr, "\ncase %zu parsed\n", i);
		CU_ASSERT_EQUAL(rc, -1);
		CU_ASSERT_PTR_NULL(s.id);
		CU_ASSERT_PTR_NULL(s.event_filters);
		CU_ASSERT_PTR_NULL(s.disabled);
	}
}

static void test_subscription_bodies(void)
{
	char *filters[] = {
		"/restapi/v1.0/account/~/extension/~/presence?detailedTelephonyState=true",
		"/restapi/v1.0/account/~/extension/~/message-store",
		"/odd/\"quote\"\\back",
	};
	char *b = rc_subscription_create_body(filters, 2, 900, "PubNub");
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_STRING_EQUAL(b, "{\"eventFilters\":["
		"\"/restapi/v1.0/account/~/extension/~/presence?detailedTelephonyState=true\","
		"\"/restapi/v1.0/account/~/extension/~/message-store\"],"
		"\"expiresIn\":900,\"deliveryMode\":{\"transportType\":\"PubNub\",\"encryption\":true}}");
	free(b);

	b = rc_subscription_create_body(filters, 1, 900, "WebSocket");
	CU_ASSERT_STRING_EQUAL(b, "{\"eventFilters\":["
		"\"/restapi/v1.0/account/~/extension/~/presence?detailedTelephonyState=true\"],"
		"\"expiresIn\":900,\"deliveryMode\":{\"transportType\":\"WebSocket\"}}");
	free(b);

	/* Escaping: parse the body back and compare the filter with the original. */
	b = rc_subscription_create_body(filters + 2, 1, 60, "PubNub");
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	json_object *root = json_tokener_parse(b), *arr, *dm, *enc;
	CU_ASSERT_PTR_NOT_NULL_FATAL(root);
	CU_ASSERT_FATAL(json_object_object_get_ex(root, "eventFilters", &arr));
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_array_get_idx(arr, 0)),
		"/odd/\"quote\"\\back");
	CU_ASSERT_FATAL(json_object_object_get_ex(root, "deliveryMode", &dm));
	CU_ASSERT_FATAL(json_object_object_get_ex(dm, "encryption", &enc));
	CU_ASSERT_TRUE(json_object_get_boolean(enc));
	json_object_put(root);
	free(b);

	CU_ASSERT_PTR_NULL(rc_subscription_create_body(filters, 0, 900, "PubNub"));
	CU_ASSERT_PTR_NULL(rc_subscription_create_body(NULL, 1, 900, "PubNub"));

	b = rc_subscription_modify_body(filters + 1, 1, 900);
	CU_ASSERT_STRING_EQUAL(b, "{\"eventFilters\":["
		"\"/restapi/v1.0/account/~/extension/~/message-store\"],\"expiresIn\":900}");
	free(b);
	b = rc_subscription_modify_body(NULL, 0, 600);
	CU_ASSERT_STRING_EQUAL(b, "{\"expiresIn\":600}");
	free(b);
}

static void test_subscription_list(void)
{
	static const char list[] =
		"{\"uri\":\"/restapi/v1.0/subscription\",\"records\":["
		"{\"id\":\"a\",\"expirationTime\":\"2013-09-13T13:58:57.187Z\",\"eventFilters\":[\"/x\"],"
		"\"status\":\"Active\"},"
		"{\"id\":\"b\",\"expirationTime\":\"2013-09-13T13:58:58Z\",\"eventFilters\":[],"
		"\"status\":\"Blacklisted\",\"deliveryMode\":{\"transportType\":\"PubNub\",\"encryption\":false}}"
		"]}";
	struct rc_subscription *subs = NULL;
	size_t n = 99;

	CU_ASSERT_EQUAL_FATAL(rc_subscription_list_parse(list, strlen(list), &subs, &n), 0);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_STRING_EQUAL(subs[0].id, "a");
	CU_ASSERT_EQUAL(subs[0].expiration_ms, SEED_EXPIRATION_MS);
	CU_ASSERT_STRING_EQUAL(subs[0].event_filters[0], "/x");
	CU_ASSERT_STRING_EQUAL(subs[1].id, "b");
	CU_ASSERT_STRING_EQUAL(subs[1].status, "Blacklisted");
	CU_ASSERT_EQUAL(subs[1].expiration_ms, SEED_EXPIRATION_MS - 187 + 1000);
	CU_ASSERT_FALSE(subs[1].encryption);
	for (size_t i = 0; i < n; i++)
		rc_subscription_clear(&subs[i]);
	free(subs);

	static const char empty[] = "{\"records\":[]}";
	CU_ASSERT_EQUAL(rc_subscription_list_parse(empty, strlen(empty), &subs, &n), 0);
	CU_ASSERT_EQUAL(n, 0);
	free(subs);

	static const char *bad[] = {
		"{}",
		"{\"records\":{}}",
		"[]",
		"nope",
		/* the second record lacks its id: the whole list is refused */
		"{\"records\":[{\"id\":\"a\",\"expirationTime\":\"2013-09-13T13:58:57Z\",\"eventFilters\":[]},"
		"{\"expirationTime\":\"2013-09-13T13:58:57Z\",\"eventFilters\":[\"/x\"]}]}",
		"{\"records\":[{\"id\":\"a\",\"expirationTime\":\"2013-09-13T13:58:57Z\",\"eventFilters\":[\"/a\"],"
		"\"deliveryMode\":{\"encryptionKey\":\"k\"}},7]}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		static struct rc_subscription sentinel;
		subs = &sentinel;
		n = 5;
		CU_ASSERT_EQUAL(rc_subscription_list_parse(bad[i], strlen(bad[i]), &subs, &n), -1);
		CU_ASSERT_PTR_NULL(subs);
		CU_ASSERT_EQUAL(n, 0);
	}
}

/* ---- Errors ---- */

static void api_error(const char *json, const char *code, const char *message)
{
	struct rc_api_error e;

	memset(&e, 'x', sizeof(e));
	rc_api_error_parse(json, json ? strlen(json) : 0, &e);
	CU_ASSERT_STRING_EQUAL(e.code, code);
	CU_ASSERT_STRING_EQUAL(e.message, message);
}

static void test_api_errors(void)
{
	api_error("{\"errorCode\":\"CMN-102\",\"message\":\"Resource for parameter [subscriptionId] is not found\","
		"\"errors\":[{\"errorCode\":\"CMN-102\",\"message\":\"Resource for parameter [subscriptionId] is not found\","
		"\"parameterName\":\"subscriptionId\"}]}",
		"CMN-102", "Resource for parameter [subscriptionId] is not found");
	api_error("{\"error\":\"invalid_grant\",\"error_description\":\"Invalid resource owner credentials\"}",
		"invalid_grant", "Invalid resource owner credentials");
	api_error("{\"errors\":[{\"errorCode\":\"SUB-505\",\"message\":\"Subscriptions limit exceeded\"}]}",
		"SUB-505", "Subscriptions limit exceeded");
	api_error("{\"errorCode\":\"SUB-508\",\"errors\":[]}", "SUB-508", "");
	api_error("{\"errorCode\":7,\"message\":[\"x\"],\"errors\":[\"oops\"]}", "", "");
	api_error("<html><body>502 Bad Gateway</body></html>", "", "");
	api_error("", "", "");
	api_error(NULL, "", "");
	api_error("[]", "", "");
	/* Control characters never reach a log line raw: rc_logsafe() escapes them. */
	api_error("{\"errorCode\":\"E\\n1\",\"message\":\"line1\\r\\nline2\\u001b[31m\"}",
		"E\\n1", "line1\\r\\nline2\\x1b[31m");

	/* Bytes that are not UTF-8 are escaped too (they were copied raw before). */
	api_error("{\"errorCode\":\"X\xff\",\"message\":\"bad \xc3\x28 \xe2\x80\xae!\"}",
		"X\\xff", "bad \\xc3( \\xe2\\x80\\xae!");

	/* Truncation: at most 255 bytes with "...", never half a UTF-8 character. */
	char json[2200], msg[1000];
	size_t n = 0;
	while (n < 600) {   /* two-byte characters: byte 255 and byte 63 are continuations */
		msg[n++] = '\xc3';
		msg[n++] = '\xa9';
	}
	msg[n] = '\0';
	snprintf(json, sizeof(json), "{\"errorCode\":\"%s\",\"message\":\"%s\"}", msg, msg);
	struct rc_api_error e;
	rc_api_error_parse(json, strlen(json), &e);
	CU_ASSERT_EQUAL(strlen(e.message), 255);   /* 126 characters and "..." */
	CU_ASSERT_EQUAL(memcmp(e.message, msg, 252), 0);
	CU_ASSERT_STRING_EQUAL(e.message + 252, "...");
	CU_ASSERT_EQUAL(strlen(e.code), 63);       /* 30 characters and "..." */
	CU_ASSERT_EQUAL(memcmp(e.code, msg, 60), 0);
	/* ASCII is cut at the full 255 / 63 bytes. */
	memset(msg, 'm', 600);
	msg[600] = '\0';
	snprintf(json, sizeof(json), "{\"error\":\"%s\",\"error_description\":\"%s\"}", msg, msg);
	rc_api_error_parse(json, strlen(json), &e);
	CU_ASSERT_EQUAL(strlen(e.message), 255);
	CU_ASSERT_STRING_EQUAL(e.message + 252, "...");
	CU_ASSERT_EQUAL(strlen(e.code), 63);
}

/* ---- Time ---- */

static void test_iso8601(void)
{
	static const struct {
		const char *s;
		int64_t ms;
	} good[] = {
		{ "1970-01-01T00:00:00Z", 0 },
		{ "1970-01-01T00:00:00.001Z", 1 },
		{ "1970-01-02T00:00:00Z", 86400000 },
		{ "2013-09-13T13:58:57.187Z", SEED_EXPIRATION_MS },
		{ "2013-09-13T13:58:57.187+00:00", SEED_EXPIRATION_MS },
		{ "2013-09-13T15:58:57.187+02:00", SEED_EXPIRATION_MS },
		{ "2013-09-13T08:28:57.187-05:30", SEED_EXPIRATION_MS },
		{ "2013-09-13T13:58:57.1Z", SEED_EXPIRATION_MS - 87 },
		{ "2013-09-13T13:58:57.18Z", SEED_EXPIRATION_MS - 7 },
		{ "2013-09-13T13:58:57.1879999Z", SEED_EXPIRATION_MS },
		{ "2013-09-13T13:58:57Z", SEED_EXPIRATION_MS - 187 },
		{ "2000-02-29T00:00:00Z", 951782400000LL },
		{ "2038-01-19T03:14:08Z", 2147483648000LL },
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int64_t ms = -1;
		CU_ASSERT_EQUAL(rc_iso8601_to_ms(good[i].s, &ms), 0);
		if (ms != good[i].ms)
			fprintf(stderr, "\n%s: got %lld\n", good[i].s, (long long)ms);
		CU_ASSERT_EQUAL(ms, good[i].ms);
	}

	static const char *bad[] = {
		"", "garbage", "2013-13-13T13:58:57Z", "2013-00-13T13:58:57Z",
		"2013-09-31T13:58:57Z", "2013-02-29T00:00:00Z", "1900-02-29T00:00:00Z",
		"2013-09-13T24:00:00Z", "2013-09-13T13:60:57Z", "2013-09-13T13:58:60Z",
		"2013-09-13T13:58:57.187", "2013-09-13T13:58:57", "2013-09-13 13:58:57Z",
		"2013-09-13T13:58:57.Z", "2013-09-13T13:58:57.187ZZ", "2013-09-13T13:58:57+0200",
		"2013-09-13T13:58:57+24:00", "2013-09-13T13:58:57+02:60", "2013-09-13T13:58:57+02",
		"13-09-13T13:58:57Z", "2013-9-13T13:58:57Z", "2013-09-13T13:58:57.187Z\n",
		" 2013-09-13T13:58:57Z", "2013-09-13", "+2013-09-13T13:58:57Z",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t ms = 12345;
		if (rc_iso8601_to_ms(bad[i], &ms) != -1)
			fprintf(stderr, "\naccepted '%s'\n", bad[i]);
		CU_ASSERT_EQUAL(rc_iso8601_to_ms(bad[i], &ms), -1);
	}
	int64_t ms;
	CU_ASSERT_EQUAL(rc_iso8601_to_ms(NULL, &ms), -1);
}

static void test_iso8601_format_and_round_trip(void)
{
	char buf[32];

	rc_ms_to_iso8601(SEED_EXPIRATION_MS, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "2013-09-13T13:58:57.187Z");
	rc_ms_to_iso8601(0, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "1970-01-01T00:00:00.000Z");
	rc_ms_to_iso8601(-1, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "1969-12-31T23:59:59.999Z");
	rc_ms_to_iso8601(951782400005LL, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "2000-02-29T00:00:00.005Z");

	/* Exactly 25 bytes is enough; less truncates but stays terminated. */
	char exact[25];
	rc_ms_to_iso8601(SEED_EXPIRATION_MS, exact, sizeof(exact));
	CU_ASSERT_STRING_EQUAL(exact, "2013-09-13T13:58:57.187Z");
	char small[8];
	rc_ms_to_iso8601(SEED_EXPIRATION_MS, small, sizeof(small));
	CU_ASSERT_EQUAL(strlen(small), 7);

	/* Round trips over a spread of instants, leap days included. */
	for (int64_t ms = 0; ms < 4102444800000LL; ms += 7654321987LL) {
		int64_t back = -1;
		rc_ms_to_iso8601(ms, buf, sizeof(buf));
		CU_ASSERT_EQUAL(rc_iso8601_to_ms(buf, &back), 0);
		CU_ASSERT_EQUAL(back, ms);
	}
}

int main(void)
{
	static const struct rc_test_case cases[] = {
		{ "token parse", test_token_parse },
		{ "token parse refuses", test_token_parse_bad },
		{ "token bodies", test_token_bodies },
		{ "wstoken parse", test_wstoken_parse },
		{ "lifetimes clamped", test_lifetimes_clamped },
		{ "subscription lifetime from expiration", test_subscription_lifetime_from_expiration },
		{ "wstoken uri needs tls", test_wstoken_uri_needs_tls },
		{ "subscription from the seed document", test_subscription_seed },
		{ "subscription disabledFilters and minimal", test_subscription_disabled_filters },
		{ "subscription refuses", test_subscription_bad },
		{ "subscription bodies", test_subscription_bodies },
		{ "subscription list", test_subscription_list },
		{ "api errors", test_api_errors },
		{ "iso8601 parse", test_iso8601 },
		{ "iso8601 format and round trip", test_iso8601_format_and_round_trip },
		{ NULL, NULL },
	};

	return rc_test_run("rest", NULL, NULL, cases);
}
