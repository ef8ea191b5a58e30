/* test_pubnub.c - PubNub subscribe URLs and answer parsing, including the examples from
 * the protocol notes and malformed answers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "rc_test.h"
#include "rc_pubnub.h"

static enum rc_pubnub_result parse_str(const char *s, struct rc_pubnub_response *r)
{
	return rc_pubnub_parse(s, strlen(s), r);
}

static void test_url_first_poll(void)
{
	struct rc_pubnub_cursor c = { "0", 0 };
	char *url = rc_pubnub_subscribe_url("https://ringcentral.pubnubapi.com",
		"sub-c-b8b9cd8c-e906-11e2-b383-02ee2ddab7fe", "96830102602705_0d0115d5", &c,
		"0a1b2c3d-uuid", "mosquitto-ringcentral/0.1.0");

	CU_ASSERT_PTR_NOT_NULL_FATAL(url);
	CU_ASSERT_STRING_EQUAL(url, "https://ringcentral.pubnubapi.com/v2/subscribe/"
		"sub-c-b8b9cd8c-e906-11e2-b383-02ee2ddab7fe/96830102602705_0d0115d5/0"
		"?tt=0&uuid=0a1b2c3d-uuid&pnsdk=mosquitto-ringcentral%2F0.1.0");
	free(url);

	/* A zeroed cursor (empty tt) also means the first poll. */
	struct rc_pubnub_cursor zero = { "", 0 };
	url = rc_pubnub_subscribe_url("http://127.0.0.1:9000/", "k", "c", &zero, NULL, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(url);
	CU_ASSERT_STRING_EQUAL(url, "http://127.0.0.1:9000/v2/subscribe/k/c/0?tt=0");
	free(url);
	url = rc_pubnub_subscribe_url("http://127.0.0.1:9000", "k", "c", NULL, "u", NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(url);
	CU_ASSERT_STRING_EQUAL(url, "http://127.0.0.1:9000/v2/subscribe/k/c/0?tt=0&uuid=u");
	free(url);
}

static void test_url_next_poll(void)
{
	struct rc_pubnub_cursor c = { "15955780863943033", 2 };
	char *url = rc_pubnub_subscribe_url("https://o.example", "sk", "ch", &c, "u", "sdk");

	CU_ASSERT_PTR_NOT_NULL_FATAL(url);
	CU_ASSERT_STRING_EQUAL(url, "https://o.example/v2/subscribe/sk/ch/0"
		"?tt=15955780863943033&tr=2&uuid=u&pnsdk=sdk");
	free(url);
}

static void test_url_escaping(void)
{
	struct rc_pubnub_cursor c = { "1", 0 };
	char *url = rc_pubnub_subscribe_url("https://o.example", "k/../x",
		"ch an/nel?x=1&y#z%", &c, "a b&c=d", "n\xc3\xa9/1.0");

	CU_ASSERT_PTR_NOT_NULL_FATAL(url);
	CU_ASSERT_STRING_EQUAL(url, "https://o.example/v2/subscribe/k%2F..%2Fx/"
		"ch%20an%2Fnel%3Fx%3D1%26y%23z%25/0?tt=1&uuid=a%20b%26c%3Dd&pnsdk=n%C3%A9%2F1.0");
	free(url);

	CU_ASSERT_PTR_NULL(rc_pubnub_subscribe_url("https://o", "", "c", &c, "u", "p"));
	CU_ASSERT_PTR_NULL(rc_pubnub_subscribe_url("https://o", "k", "", &c, "u", "p"));
	CU_ASSERT_PTR_NULL(rc_pubnub_subscribe_url("https://o", NULL, "c", &c, "u", "p"));
	CU_ASSERT_PTR_NULL(rc_pubnub_subscribe_url(NULL, "k", "c", &c, "u", "p"));
}

static void test_parse_handshake(void)
{
	struct rc_pubnub_response r;

	CU_ASSERT_EQUAL_FATAL(parse_str("{\"t\":{\"t\":\"15955780863943033\",\"r\":2},\"m\":[]}", &r),
		RC_PUBNUB_OK);
	CU_ASSERT_STRING_EQUAL(r.next.tt, "15955780863943033");
	CU_ASSERT_EQUAL(r.next.tr, 2);
	CU_ASSERT_EQUAL(r.n_messages, 0);
	CU_ASSERT_PTR_NOT_NULL(r.messages);
	int is_string;
	const char *str;
	size_t str_len;
	json_object *obj;
	CU_ASSERT_EQUAL(rc_pubnub_message_payload(&r, 0, &is_string, &str, &str_len, &obj), -1);
	rc_pubnub_response_clear(&r);
	CU_ASSERT_PTR_NULL(r.root);
	rc_pubnub_response_clear(&r);   /* twice is harmless */

	/* The cursor continues from the answer: the next URL carries it. */
	CU_ASSERT_EQUAL_FATAL(parse_str(" {\"m\":[],\"t\":{\"r\":12,\"t\":\"1\"}}\r\n", &r),
		RC_PUBNUB_OK);
	char *url = rc_pubnub_subscribe_url("https://o", "k", "c", &r.next, NULL, NULL);
	CU_ASSERT_STRING_EQUAL(url, "https://o/v2/subscribe/k/c/0?tt=1&tr=12");
	free(url);
	rc_pubnub_response_clear(&r);

	/* Region missing: 0 (unknown), tr then left out. */
	CU_ASSERT_EQUAL_FATAL(parse_str("{\"t\":{\"t\":\"42\"},\"m\":[]}", &r), RC_PUBNUB_OK);
	CU_ASSERT_EQUAL(r.next.tr, 0);
	rc_pubnub_response_clear(&r);
}

static void test_parse_messages(void)
{
	static const char answer[] =
		"{\"t\":{\"t\":\"15955780863943034\",\"r\":2},\"m\":["
		"{\"a\":\"1\",\"f\":0,\"i\":\"pn-1\",\"p\":{\"t\":\"15955780863943034\",\"r\":2},"
		"\"k\":\"sub-c-b8b9cd8c\",\"c\":\"96830102602705_0d0115d5\","
		"\"d\":\"gkw8EU4G1SDVa2/hrlv6+0ViIxB7N1i1z5MU/Hu2xkI=\"},"
		"{\"a\":\"1\",\"f\":0,\"i\":\"pn-2\",\"k\":\"sub-c-b8b9cd8c\",\"c\":\"96830102602705_0d0115d5\","
		"\"d\":{\"uuid\":\"u-1\",\"event\":\"/restapi/v1.0/account/~/extension/823476228762/message-store\","
		"\"timestamp\":\"2013-06-14T12:00:00.000Z\",\"body\":{}}},"
		"{\"c\":\"x\",\"d\":42},"
		"{\"c\":\"x\"},"
		"[1,2]"
		"]}";
	struct rc_pubnub_response r;
	int is_string = -7;
	const char *str = NULL;
	size_t str_len = 0;
	json_object *obj = NULL;

	CU_ASSERT_EQUAL_FATAL(rc_pubnub_parse(answer, sizeof(answer) - 1, &r), RC_PUBNUB_OK);
	CU_ASSERT_STRING_EQUAL(r.next.tt, "15955780863943034");
	CU_ASSERT_EQUAL(r.n_messages, 5);

	CU_ASSERT_EQUAL(rc_pubnub_message_payload(&r, 0, &is_string, &str, &str_len, &obj), 0);
	CU_ASSERT_EQUAL(is_string, 1);
	CU_ASSERT_PTR_NULL(obj);
	CU_ASSERT_PTR_NOT_NULL_FATAL(str);
	CU_ASSERT_EQUAL(str_len, strlen(str));
	CU_ASSERT_NSTRING_EQUAL(str, "gkw8EU4G1SDVa2/hrlv6+0Vi", 24);
	CU_ASSERT_EQUAL(str[str_len - 1], '=');

	CU_ASSERT_EQUAL(rc_pubnub_message_payload(&r, 1, &is_string, &str, &str_len, &obj), 0);
	CU_ASSERT_EQUAL(is_string, 0);
	CU_ASSERT_PTR_NULL(str);
	CU_ASSERT_PTR_NOT_NULL_FATAL(obj);
	json_object *ev;
	CU_ASSERT_FATAL(json_object_object_get_ex(obj, "event", &ev));
	CU_ASSERT_STRING_EQUAL(json_object_get_string(ev),
		"/restapi/v1.0/account/~/extension/823476228762/message-store");

	CU_ASSERT_EQUAL(rc_pubnub_message_payload(&r, 2, &is_string, &str, &str_len, &obj), -1);
	CU_ASSERT_EQUAL(rc_pubnub_message_payload(&r, 3, &is_string, &str, &str_len, &obj), -1);
	CU_ASSERT_EQUAL(rc_pubnub_message_payload(&r, 4, &is_string, &str, &str_len, &obj), -1);
	CU_ASSERT_EQUAL(rc_pubnub_message_payload(&r, 5, &is_string, &str, &str_len, &obj), -1);
	CU_ASSERT_EQUAL(rc_pubnub_message_payload(&r, (size_t)-1, &is_string, &str, &str_len, &obj), -1);
	rc_pubnub_response_clear(&r);
}

static void test_parse_string_with_nul(void)
{
	/* d may legitimately hold \u0000 after JSON decoding: the length is what counts. */
	struct rc_pubnub_response r;
	int is_string;
	const char *str;
	size_t str_len;
	json_object *obj;

	CU_ASSERT_EQUAL_FATAL(parse_str("{\"t\":{\"t\":\"1\",\"r\":1},\"m\":[{\"d\":\"ab\\u0000cd\"}]}", &r),
		RC_PUBNUB_OK);
	CU_ASSERT_EQUAL(rc_pubnub_message_payload(&r, 0, &is_string, &str, &str_len, &obj), 0);
	CU_ASSERT_EQUAL(is_string, 1);
	CU_ASSERT_EQUAL(str_len, 5);
	CU_ASSERT_EQUAL(memcmp(str, "ab\0cd", 5), 0);
	rc_pubnub_response_clear(&r);
}

static void test_parse_numeric_timetoken(void)
{
	struct rc_pubnub_response r;

	CU_ASSERT_EQUAL_FATAL(parse_str("{\"t\":{\"t\":15955780863943033,\"r\":4},\"m\":[]}", &r),
		RC_PUBNUB_OK);
	CU_ASSERT_STRING_EQUAL(r.next.tt, "15955780863943033");
	CU_ASSERT_EQUAL(r.next.tr, 4);
	rc_pubnub_response_clear(&r);
	/* Above INT64_MAX json-c keeps it as an unsigned integer: the digits must survive. */
	CU_ASSERT_EQUAL_FATAL(parse_str("{\"t\":{\"t\":18446744073709551615},\"m\":[]}", &r),
		RC_PUBNUB_OK);
	CU_ASSERT_STRING_EQUAL(r.next.tt, "18446744073709551615");
	rc_pubnub_response_clear(&r);
	CU_ASSERT_EQUAL(parse_str("{\"t\":{\"t\":-5},\"m\":[]}", &r), RC_PUBNUB_BAD_SHAPE);
	CU_ASSERT_EQUAL(parse_str("{\"t\":{\"t\":1.5e16},\"m\":[]}", &r), RC_PUBNUB_BAD_SHAPE);
}

static void test_parse_hundred_messages(void)
{
	size_t cap = 64 + 100 * 64;
	char *buf = malloc(cap);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	size_t n = (size_t)snprintf(buf, cap, "{\"t\":{\"t\":\"99\",\"r\":2},\"m\":[");
	for (int i = 0; i < 100; i++)
		n += (size_t)snprintf(buf + n, cap - n, "%s{\"c\":\"ch\",\"d\":\"msg-%d\"}",
			i ? "," : "", i);
	n += (size_t)snprintf(buf + n, cap - n, "]}");
	CU_ASSERT_FATAL(n < cap);

	struct rc_pubnub_response r;
	CU_ASSERT_EQUAL_FATAL(rc_pubnub_parse(buf, n, &r), RC_PUBNUB_OK);
	CU_ASSERT_EQUAL(r.n_messages, 100);
	for (size_t i = 0; i < r.n_messages; i++) {
		int is_string;
		const char *str;
		size_t str_len;
		json_object *obj;
		char want[32];
		snprintf(want, sizeof(want), "msg-%zu", i);
		CU_ASSERT_EQUAL(rc_pubnub_message_payload(&r, i, &is_string, &str, &str_len, &obj), 0);
		CU_ASSERT_STRING_EQUAL(str, want);
	}
	rc_pubnub_response_clear(&r);
	free(buf);
}

static void test_parse_bad(void)
{
	static const struct {
		const char *s;
		enum rc_pubnub_result want;
	} cases[] = {
		{ "", RC_PUBNUB_NOT_JSON },
		{ "garbage", RC_PUBNUB_NOT_JSON },
		{ "<html>502 Bad Gateway</html>", RC_PUBNUB_NOT_JSON },
		{ "{\"t\":{\"t\":\"1\",\"r\":2},\"m\":[]", RC_PUBNUB_NOT_JSON },        /* truncated */
		{ "{\"t\":{\"t\":\"1\",\"r\":2},\"m\":[]}x", RC_PUBNUB_NOT_JSON },      /* trailing */
		{ "{\"t\":{\"t\":\"1\",\"r\":2},\"m\":[]}{}", RC_PUBNUB_NOT_JSON },     /* two docs */
		{ "[]", RC_PUBNUB_BAD_SHAPE },
		{ "\"x\"", RC_PUBNUB_BAD_SHAPE },
		{ "{}", RC_PUBNUB_BAD_SHAPE },
		{ "{\"m\":[]}", RC_PUBNUB_BAD_SHAPE },                                 /* no t */
		{ "{\"t\":\"1\",\"m\":[]}", RC_PUBNUB_BAD_SHAPE },                     /* t not object */
		{ "{\"t\":{\"r\":2},\"m\":[]}", RC_PUBNUB_BAD_SHAPE },                  /* no t.t */
		{ "{\"t\":{\"t\":\"\",\"r\":2},\"m\":[]}", RC_PUBNUB_BAD_SHAPE },
		{ "{\"t\":{\"t\":\"12a\",\"r\":2},\"m\":[]}", RC_PUBNUB_BAD_SHAPE },
		{ "{\"t\":{\"t\":\"1&x=2\",\"r\":2},\"m\":[]}", RC_PUBNUB_BAD_SHAPE },
		{ "{\"t\":{\"t\":\" 12\",\"r\":2},\"m\":[]}", RC_PUBNUB_BAD_SHAPE },
		{ "{\"t\":{\"t\":\"-12\",\"r\":2},\"m\":[]}", RC_PUBNUB_BAD_SHAPE },
		{ "{\"t\":{\"t\":\"1\\u00002\",\"r\":2},\"m\":[]}", RC_PUBNUB_BAD_SHAPE },
		{ "{\"t\":{\"t\":\"12345678901234567890123456789012\"},\"m\":[]}", RC_PUBNUB_BAD_SHAPE },
		{ "{\"t\":{\"t\":null},\"m\":[]}", RC_PUBNUB_BAD_SHAPE },
		{ "{\"t\":{\"t\":true},\"m\":[]}", RC_PUBNUB_BAD_SHAPE },
		{ "{\"t\":{\"t\":\"1\",\"r\":\"2\"},\"m\":[]}", RC_PUBNUB_BAD_SHAPE },
		{ "{\"t\":{\"t\":\"1\",\"r\":-1},\"m\":[]}", RC_PUBNUB_BAD_SHAPE },
		{ "{\"t\":{\"t\":\"1\",\"r\":2}}", RC_PUBNUB_BAD_SHAPE },               /* no m */
		{ "{\"t\":{\"t\":\"1\",\"r\":2},\"m\":{}}", RC_PUBNUB_BAD_SHAPE },
		{ "{\"t\":{\"t\":\"1\",\"r\":2},\"m\":null}", RC_PUBNUB_BAD_SHAPE },
		{ "{\"t\":{\"t\":\"1\",\"r\":2},\"m\":\"[]\"}", RC_PUBNUB_BAD_SHAPE },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rc_pubnub_response r;
		memset(&r, 0xab, sizeof(r));
		enum rc_pubnub_result got = parse_str(cases[i].s, &r);
		if (got != cases[i].want)
			fprintf(stderr, "\ncase %zu (%s): got %d\n", i, cases[i].s, (int)got);
		CU_ASSERT_EQUAL(got, cases[i].want);
		CU_ASSERT_PTR_NULL(r.root);   /* nothing to free on failure */
		CU_ASSERT_EQUAL(r.n_messages, 0);
	}
	/* 31 digits is the longest accepted. */
	struct rc_pubnub_response r;
	CU_ASSERT_EQUAL(parse_str("{\"t\":{\"t\":\"1234567890123456789012345678901\"},\"m\":[]}", &r),
		RC_PUBNUB_OK);
	CU_ASSERT_STRING_EQUAL(r.next.tt, "1234567890123456789012345678901");
	rc_pubnub_response_clear(&r);
	/* A NUL byte inside the buffer: not JSON. */
	static const char nul[] = "{\"t\":{\"t\":\"1\"},\"m\":[]}\0";
	CU_ASSERT_EQUAL(rc_pubnub_parse(nul, sizeof(nul), &r), RC_PUBNUB_NOT_JSON);
	CU_ASSERT_EQUAL(rc_pubnub_parse(NULL, 0, &r), RC_PUBNUB_NOT_JSON);
	/* Only the given length is parsed. */
	CU_ASSERT_EQUAL(rc_pubnub_parse("{\"t\":{\"t\":\"1\"},\"m\":[]}garbage", 22, &r), RC_PUBNUB_OK);
	rc_pubnub_response_clear(&r);
}

static void test_strerror(void)
{
	for (int i = RC_PUBNUB_OK; i <= RC_PUBNUB_NOMEM; i++)
		CU_ASSERT_STRING_NOT_EQUAL(rc_pubnub_strerror((enum rc_pubnub_result)i),
			"unknown PubNub error");
}

int main(void)
{
	static const struct rc_test_case cases[] = {
		{ "url first poll", test_url_first_poll },
		{ "url next poll", test_url_next_poll },
		{ "url escaping", test_url_escaping },
		{ "parse handshake", test_parse_handshake },
		{ "parse messages", test_parse_messages },
		{ "parse string payload with NUL", test_parse_string_with_nul },
		{ "parse numeric timetoken", test_parse_numeric_timetoken },
		{ "parse 100 messages", test_parse_hundred_messages },
		{ "parse malformed answers", test_parse_bad },
		{ "strerror", test_strerror },
		{ NULL, NULL },
	};

	return rc_test_run("pubnub", NULL, NULL, cases);
}
