/* test_pipeline.c - one delivered message in, one MQTT message (or a counted cause) out.
 *
 * The ciphertexts below come from an independent implementation, the openssl command line,
 * and were cross-checked with python3-cryptography (AES-128-ECB, PKCS#7):
 *   printf '%s' "$PLAINTEXT" | openssl enc -aes-128-ecb -K 7cd3f47eccc525d73fb610cef74fc1dc -base64 -A
 * where 7cd3...dc is base64 "fNP0fszFJdc/thDO90/B3A==" in hex. Each constant's plaintext is
 * the comment above it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "rc_test.h"
#include "rc_pipeline.h"

#define KEY "fNP0fszFJdc/thDO90/B3A=="
#define PLAIN_1 "{\"uuid\":\"u-1\",\"event\":\"/restapi/v1.0/account/~/extension/7/presence?detailedTelephonyState=true\",\"subscriptionId\":\"s-1\",\"body\":{\"telephonyStatus\":\"Ringing\"}}"
/* PLAIN_1 */
#define CIPHER_1 "WBIVE04ja2kEtihouXWVGMETsGE8Rj08tZ5MEQgZzuGsBoNdqb9qX0XwHZhXbKgcEzLWhB3eaxkXWNJi1WlEOCcACCdPmlZAaPIxOzubOBZH7IIY8fcCbwGZ+iy9/DC8k46jbYK3X7ZzJpZeHDna5hhpdH1b1wOAOBlbqvMNN0PH1Rtrv4nmRL6WCr4Kreu5tagUTmZIgrSOhP0iuWBHIQ=="
/* 0123456789abcdef, encrypted with -nopad: decrypts to a last byte of 0x66, not PKCS#7 */
#define CIPHER_BAD_PADDING "rhXv+h4hsaM1Mnxmc9/kCw=="
/* not json */
#define CIPHER_NOT_JSON "gco6cx26bkgKYLNlww/Ceg=="
/* [1] */
#define CIPHER_NOT_OBJECT "Rfb4jnvZWqM0OpsJPUn76A=="
/* {"event":"/e"} */
#define CIPHER_NO_UUID "+fWmJOEbLcyU8erxWBLeyQ=="
/* {"uuid":"x"} */
#define CIPHER_NO_EVENT "Xc0bV4YMTWvI/oOF03mKwQ=="
/* {"uuid":"x","event":"/e","body":null} */
#define CIPHER_BAD_BODY "Zs3/I4Of92P6PvCTZoCnz5e7ZNJqacGtWy71KpcE50/6cz97iTqDtPz4zHM4gwJE"
/* {"uuid":"h1","event":"/restapi/v1.0/a/+/b"} */
#define CIPHER_PLUS "MiOHIkZ1yQq4jLDORTM+v3pFGLU3VakE3hwgiasf3ldZuku//Gp8jBLgyt5kCKwO"
/* {"uuid":"h2","event":"/restapi/v1.0/a/#"} */
#define CIPHER_HASH "zooKAFusmnwhErQy8nsAh3pFGLU3VakE3hwgiasf3lfnNpRdZmlTLvATprXVGB/2"
/* {"uuid":"h3","event":"/restapi/v1.0/a/../b"} */
#define CIPHER_DOTDOT "rrnkqYurvDet1hpLP5wO9XpFGLU3VakE3hwgiasf3leNDV/Z4QFQIreA/wqEMZYW"
/* {"uuid":"h4","event":"/restapi/v1.0/a//b"} */
#define CIPHER_EMPTY_LEVEL "i82R9gzNJQ6gkR1HYZb43HpFGLU3VakE3hwgiasf3lfn/Txw34xW2jhfWtJKeGs9"
/* {"uuid":"h5","event":"relative"} */
#define CIPHER_NOT_PATH "4HAKYtIzSIYLnwCvKBaydEbdZvBMz9MEk/59vgpF69EtXkm14rnd5pnAXZjabZkJ"
/* {"uuid":"h1","event":"/restapi/v1.0/a/b"} */
#define CIPHER_H1_FIXED "MiOHIkZ1yQq4jLDORTM+v3pFGLU3VakE3hwgiasf3lfbdvw0XSjBZjDFaV1BYWRY"
/* {"uuid":"x9","event":"/a/\u0001+"} (a JSON escape: the event holds a control character) */
#define CIPHER_CONTROL_CHAR "ydnDCV0sS5egN3IC6fOgCOM7oXVXQbXC13xRO747brGV6AHL4wYkRM9SMFz4J8Df"

static struct rc_config cfg;
static struct rc_pipeline p;

static int setup(void)
{
	cfg.topic_prefix = "ringcentral";
	cfg.max_notification_size = 65536;
	cfg.payload = RC_PAYLOAD_NOTIFICATION;
	return 0;
}

static void reset(void)
{
	rc_pipeline_destroy(&p);
	CU_ASSERT_EQUAL_FATAL(rc_pipeline_init(&p, &cfg, 16), 0);
	CU_ASSERT_EQUAL_FATAL(rc_pipeline_set_key(&p, KEY), 0);
}

static enum rc_pipeline_result run(const char *s, enum rc_drop_cause *cause, struct rc_outbox_msg **m)
{
	char detail[96];

	return rc_pipeline_process(&p, s, strlen(s), NULL, m, cause, detail, sizeof(detail));
}

static void test_publishes_decrypted_notification(void)
{
	struct rc_outbox_msg *m = NULL;
	enum rc_drop_cause cause;

	reset();
	CU_ASSERT_EQUAL_FATAL(run(CIPHER_1, &cause, &m), RC_PIPE_PUBLISH);
	CU_ASSERT_STRING_EQUAL(m->topic, "ringcentral/account/~/extension/7/presence");
	CU_ASSERT_EQUAL(m->payload_len, strlen(PLAIN_1));
	CU_ASSERT(memcmp(m->payload, PLAIN_1, m->payload_len) == 0);
	CU_ASSERT_STRING_EQUAL(m->uuid, "u-1");
	CU_ASSERT_STRING_EQUAL(m->subscription_id, "s-1");
	CU_ASSERT_STRING_EQUAL(m->event, "/restapi/v1.0/account/~/extension/7/presence?detailedTelephonyState=true");
	rc_outbox_msg_free(m);

	/* The same uuid again is a replay. */
	CU_ASSERT_EQUAL(run(CIPHER_1, &cause, &m), RC_PIPE_DUPLICATE);
	CU_ASSERT_PTR_NULL(m);
}

static void test_body_mode(void)
{
	struct rc_outbox_msg *m = NULL;
	enum rc_drop_cause cause;

	cfg.payload = RC_PAYLOAD_BODY;
	reset();
	CU_ASSERT_EQUAL_FATAL(run(CIPHER_1, &cause, &m), RC_PIPE_PUBLISH);
	CU_ASSERT_STRING_EQUAL(m->payload, "{\"telephonyStatus\":\"Ringing\"}");
	CU_ASSERT_EQUAL(m->payload_len, strlen("{\"telephonyStatus\":\"Ringing\"}"));
	rc_outbox_msg_free(m);
	cfg.payload = RC_PAYLOAD_NOTIFICATION;
}

static void expect_drop(const char *input, enum rc_drop_cause want)
{
	struct rc_outbox_msg *m = NULL;
	enum rc_drop_cause cause = RC_DROP_CAUSE_COUNT;

	CU_ASSERT_EQUAL(run(input, &cause, &m), RC_PIPE_DROP);
	CU_ASSERT_EQUAL(cause, want);
	CU_ASSERT_PTR_NULL(m);
}

static void test_each_drop_cause(void)
{
	reset();
	expect_drop("%%% not base64", RC_DROP_BAD_BASE64);
	expect_drop("QUJD", RC_DROP_BAD_LENGTH); /* "ABC": 3 bytes, not a whole block */
	expect_drop(CIPHER_BAD_PADDING, RC_DROP_BAD_PADDING);
	expect_drop(CIPHER_NOT_JSON, RC_DROP_NOT_JSON);
	expect_drop(CIPHER_NOT_OBJECT, RC_DROP_NOT_OBJECT);
	expect_drop(CIPHER_NO_UUID, RC_DROP_NO_UUID);
	expect_drop(CIPHER_NO_EVENT, RC_DROP_NO_EVENT);
	expect_drop(CIPHER_BAD_BODY, RC_DROP_BAD_BODY);
	expect_drop(CIPHER_PLUS, RC_DROP_TOPIC_WILDCARD);
	expect_drop(CIPHER_HASH, RC_DROP_TOPIC_WILDCARD);
	expect_drop(CIPHER_DOTDOT, RC_DROP_TOPIC_DOT_LEVEL);
	expect_drop(CIPHER_EMPTY_LEVEL, RC_DROP_TOPIC_EMPTY_LEVEL);
	expect_drop(CIPHER_NOT_PATH, RC_DROP_TOPIC_NOT_PATH);
	/* A hostile event does not mark its uuid as delivered: a corrected resend flows. */
	struct rc_outbox_msg *m = NULL;
	enum rc_drop_cause cause;
	CU_ASSERT_EQUAL_FATAL(run(CIPHER_H1_FIXED, &cause, &m), RC_PIPE_PUBLISH);
	CU_ASSERT_STRING_EQUAL(m->topic, "ringcentral/a/b");
	CU_ASSERT_PTR_NULL(m->subscription_id);
	rc_outbox_msg_free(m);
}

static void test_size_cap_applies_before_decryption(void)
{
	size_t big = cfg.max_notification_size + 1;
	char *s = malloc(big + 1);
	struct rc_outbox_msg *m = NULL;
	enum rc_drop_cause cause;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	reset();
	/* One byte over: refused as too large, although decrypting it would fail differently. */
	memset(s, 'A', big);
	s[big] = '\0';
	CU_ASSERT_EQUAL(run(s, &cause, &m), RC_PIPE_DROP);
	CU_ASSERT_EQUAL(cause, RC_DROP_TOO_LARGE);
	/* Exactly at the cap it is decrypted: 65536 'A's are 49152 zero bytes, whose last block
	 * decrypts to one ending in 0xdc (openssl enc -d -nopad), not PKCS#7 padding. */
	s[big - 1] = '\0';
	CU_ASSERT_EQUAL(run(s, &cause, &m), RC_PIPE_DROP);
	CU_ASSERT_EQUAL(cause, RC_DROP_BAD_PADDING);
	CU_ASSERT_PTR_NULL(m);
	free(s);
}

static void test_wrong_key(void)
{
	struct rc_outbox_msg *m = NULL;
	enum rc_drop_cause cause;

	/* openssl enc -d -aes-128-ecb -K 00000000000000000000000000000000 -base64 -A on CIPHER_1
	 * also fails with "bad decrypt". */
	reset();
	CU_ASSERT_EQUAL_FATAL(rc_pipeline_set_key(&p, "AAAAAAAAAAAAAAAAAAAAAA=="), 0);
	CU_ASSERT_EQUAL(run(CIPHER_1, &cause, &m), RC_PIPE_DROP);
	CU_ASSERT_EQUAL(cause, RC_DROP_BAD_PADDING);
	CU_ASSERT_PTR_NULL(m);
}

static void test_unencrypted_string(void)
{
	struct rc_outbox_msg *m = NULL;
	enum rc_drop_cause cause;

	reset();
	CU_ASSERT_EQUAL(rc_pipeline_set_key(&p, NULL), 0);
	CU_ASSERT_FALSE(p.have_key);
	CU_ASSERT_EQUAL_FATAL(run(PLAIN_1, &cause, &m), RC_PIPE_PUBLISH);
	CU_ASSERT_STRING_EQUAL(m->topic, "ringcentral/account/~/extension/7/presence");
	CU_ASSERT_EQUAL(m->payload_len, strlen(PLAIN_1));
	CU_ASSERT(memcmp(m->payload, PLAIN_1, m->payload_len) == 0);
	rc_outbox_msg_free(m);
	/* Without a key, ciphertext is just text that is not JSON. */
	CU_ASSERT_EQUAL(run(CIPHER_NOT_JSON, &cause, &m), RC_PIPE_DROP);
	CU_ASSERT_EQUAL(cause, RC_DROP_NOT_JSON);
}

static void test_unencrypted_object(void)
{
	json_object *o = json_tokener_parse("{\"uuid\":\"plain-1\",\"event\":\"/team-messaging/v1/posts\",\"body\":{\"text\":\"a/b\"}}");
	struct rc_outbox_msg *m = NULL;
	enum rc_drop_cause cause;
	char detail[96];

	reset();
	rc_pipeline_set_key(&p, NULL);
	CU_ASSERT_EQUAL_FATAL(rc_pipeline_process(&p, NULL, 0, o, &m, &cause, detail, sizeof(detail)), RC_PIPE_PUBLISH);
	CU_ASSERT_STRING_EQUAL(m->topic, "ringcentral/team-messaging/v1/posts");
	CU_ASSERT_STRING_EQUAL(m->payload, "{\"uuid\":\"plain-1\",\"event\":\"/team-messaging/v1/posts\",\"body\":{\"text\":\"a/b\"}}");
	CU_ASSERT_PTR_NULL(m->subscription_id);
	rc_outbox_msg_free(m);
	json_object_put(o);
	CU_ASSERT_EQUAL(rc_pipeline_process(&p, NULL, 0, NULL, &m, &cause, detail, sizeof(detail)), RC_PIPE_DROP);
	CU_ASSERT_EQUAL(cause, RC_DROP_BAD_PAYLOAD);
	CU_ASSERT_EQUAL(rc_pipeline_set_key(&p, "short"), -1);
	CU_ASSERT_FALSE(p.have_key);

	/* An object is held to the same size cap, measured on its JSON text. */
	o = json_tokener_parse("{\"uuid\":\"plain-2\",\"event\":\"/team-messaging/v1/posts\",\"body\":{}}");
	cfg.max_notification_size = 20;
	CU_ASSERT_EQUAL(rc_pipeline_process(&p, NULL, 0, o, &m, &cause, detail, sizeof(detail)), RC_PIPE_DROP);
	CU_ASSERT_EQUAL(cause, RC_DROP_TOO_LARGE);
	CU_ASSERT_PTR_NULL(m);
	cfg.max_notification_size = 65536;
	json_object_put(o);
}

static void test_topic_map_and_excerpt(void)
{
	struct rc_topic_rule rule = { .pattern = "/restapi/v1.0/account/{a}/extension/{e}/presence", .tmpl = "home/{e}" };
	struct rc_outbox_msg *m = NULL;
	enum rc_drop_cause cause;
	char detail[96];

	cfg.topic_map = &rule;
	cfg.n_topic_map = 1;
	reset();
	CU_ASSERT_EQUAL_FATAL(run(CIPHER_1, &cause, &m), RC_PIPE_PUBLISH);
	CU_ASSERT_STRING_EQUAL(m->topic, "home/7");
	rc_outbox_msg_free(m);
	cfg.topic_map = NULL;
	cfg.n_topic_map = 0;

	/* The log excerpt of a hostile event is short, and escaped by rc_logsafe(). */
	CU_ASSERT_EQUAL(rc_pipeline_process(&p, CIPHER_CONTROL_CHAR, strlen(CIPHER_CONTROL_CHAR),
			NULL, &m, &cause, detail, sizeof(detail)), RC_PIPE_DROP);
	CU_ASSERT_EQUAL(cause, RC_DROP_TOPIC_BAD_UTF8); /* U+0001 is a control character MQTT forbids */
	CU_ASSERT_STRING_EQUAL(detail, "/a/\\x01+");
}


/* A rule's publish options reach the message, completed with the configured qos and
 * retain; a message no rule with options matched has none (the configured ones apply). */
static void test_rule_publish_options(void)
{
	struct rc_topic_rule rules[] = {
		{ .pattern = "/restapi/v1.0/account/{a}/extension/{e}/presence", .has_retain = true,
		  .retain = true, .expiry_s = 600 },
	};
	struct rc_outbox_msg *m = NULL;
	enum rc_drop_cause cause;

	cfg.topic_map = rules;
	cfg.n_topic_map = 1;
	cfg.qos = 2;
	reset();
	CU_ASSERT_EQUAL_FATAL(run(CIPHER_1, &cause, &m), RC_PIPE_PUBLISH);
	CU_ASSERT_STRING_EQUAL(m->topic, "ringcentral/account/~/extension/7/presence");
	CU_ASSERT_TRUE(m->has_options && m->retain);
	CU_ASSERT_EQUAL(m->qos, 2);
	CU_ASSERT_EQUAL(m->expiry_s, 600);
	rc_outbox_msg_free(m);
	rules[0].pattern = "/restapi/v1.0/account/{a}/extension/{e}/other";
	reset();
	CU_ASSERT_EQUAL_FATAL(run(CIPHER_1, &cause, &m), RC_PIPE_PUBLISH);
	CU_ASSERT_FALSE(m->has_options);
	rc_outbox_msg_free(m);
	cfg.topic_map = NULL;
	cfg.n_topic_map = 0;
	cfg.qos = 0;
}

/* An event naming the plugin's own topics is dropped under its own cause, and does not
 * mark its uuid as delivered. */
static void test_reserved_topic_dropped(void)
{
	static const char *const events[] = {
		"{\"uuid\":\"r1\",\"event\":\"/restapi/v1.0/bridge/state\"}",
		"{\"uuid\":\"r1\",\"event\":\"https://host/restapi/v1.0/bridge/status?x=1\"}",
		"{\"uuid\":\"r1\",\"event\":\"/restapi/v1.0/bridge\"}",
	};
	struct rc_outbox_msg *m = NULL;
	enum rc_drop_cause cause = RC_DROP_CAUSE_COUNT;
	char detail[96];

	reset();
	rc_pipeline_set_key(&p, NULL);
	for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
		CU_ASSERT_EQUAL(rc_pipeline_process(&p, events[i], strlen(events[i]), NULL, &m, &cause,
				detail, sizeof(detail)), RC_PIPE_DROP);
		CU_ASSERT_EQUAL(cause, RC_DROP_TOPIC_RESERVED);
		CU_ASSERT_PTR_NULL(m);
		CU_ASSERT_PTR_NOT_NULL(strstr(detail, "bridge"));
	}
	CU_ASSERT_EQUAL(rc_dedupe_count(p.dedupe), 0);
}

/* A uuid over RC_DEDUPE_UUID_MAX bytes is dropped under its own cause and not kept. */
static void test_long_uuid_dropped(void)
{
	char json[512], uuid[RC_DEDUPE_UUID_MAX + 2];
	struct rc_outbox_msg *m = NULL;
	enum rc_drop_cause cause = RC_DROP_CAUSE_COUNT;
	char detail[96];

	reset();
	rc_pipeline_set_key(&p, NULL);
	memset(uuid, 'u', sizeof(uuid) - 1);
	uuid[sizeof(uuid) - 1] = '\0';
	snprintf(json, sizeof(json), "{\"uuid\":\"%s\",\"event\":\"/restapi/v1.0/a\"}", uuid);
	CU_ASSERT_EQUAL(rc_pipeline_process(&p, json, strlen(json), NULL, &m, &cause, detail,
			sizeof(detail)), RC_PIPE_DROP);
	CU_ASSERT_EQUAL(cause, RC_DROP_UUID_TOO_LONG);
	CU_ASSERT_PTR_NULL(m);
	CU_ASSERT_EQUAL(rc_dedupe_count(p.dedupe), 0);
	/* Exactly the limit still flows. */
	uuid[RC_DEDUPE_UUID_MAX] = '\0';
	snprintf(json, sizeof(json), "{\"uuid\":\"%s\",\"event\":\"/restapi/v1.0/a\"}", uuid);
	CU_ASSERT_EQUAL_FATAL(rc_pipeline_process(&p, json, strlen(json), NULL, &m, &cause, detail,
			sizeof(detail)), RC_PIPE_PUBLISH);
	rc_outbox_msg_free(m);
	CU_ASSERT_EQUAL(rc_dedupe_count(p.dedupe), 1);
}

int main(void)
{
	static const struct rc_test_case cases[] = {
		{ "publishes the decrypted notification", test_publishes_decrypted_notification },
		{ "body mode", test_body_mode },
		{ "each drop cause", test_each_drop_cause },
		{ "size cap before decryption", test_size_cap_applies_before_decryption },
		{ "wrong key", test_wrong_key },
		{ "unencrypted string", test_unencrypted_string },
		{ "unencrypted object", test_unencrypted_object },
		{ "topic map and excerpt", test_topic_map_and_excerpt },
		{ "rule publish options", test_rule_publish_options },
		{ "reserved topic dropped", test_reserved_topic_dropped },
		{ "long uuid dropped", test_long_uuid_dropped },
		{ NULL, NULL },
	};
	int rc = rc_test_run("pipeline", setup, NULL, cases);
	rc_pipeline_destroy(&p);
	return rc;
}
