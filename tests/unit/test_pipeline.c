/* test_pipeline.c - one delivered message in, one MQTT message (or a counted cause) out.
 *
 * Ciphertexts come from an independent implementation, the openssl command line:
 *   printf '%s' "$PLAINTEXT" | openssl enc -aes-128-ecb -K 7cd3f47eccc525d73fb610cef74fc1dc -base64 -A
 * (key = base64 "fNP0fszFJdc/thDO90/B3A=="). */
#include <stdlib.h>
#include <string.h>
#include "rc_test.h"
#include "rc_pipeline.h"

#define KEY "fNP0fszFJdc/thDO90/B3A=="
/* {"uuid":"u-1","event":"/restapi/v1.0/account/~/extension/7/presence?detailedTelephonyState=true","subscriptionId":"s-1","body":{"telephonyStatus":"Ringing"}} */
#define PLAIN_1 "{\"uuid\":\"u-1\",\"event\":\"/restapi/v1.0/account/~/extension/7/presence?detailedTelephonyState=true\",\"subscriptionId\":\"s-1\",\"body\":{\"telephonyStatus\":\"Ringing\"}}"

static struct rc_config cfg;
static struct rc_pipeline p;
static char cipher_1[1024];

static int encrypt_with_openssl(const char *plain, char *out, size_t len)
{
	/* The vector is produced at run time by the openssl tool, never by the code under test. */
	char cmd[2048];
	snprintf(cmd, sizeof(cmd), "printf '%%s' '%s' | openssl enc -aes-128-ecb "
			"-K 7cd3f47eccc525d73fb610cef74fc1dc -base64 -A", plain);
	FILE *f = popen(cmd, "r");
	if (f == NULL)
		return -1;
	size_t n = fread(out, 1, len - 1, f);
	out[n] = '\0';
	return pclose(f) == 0 && n > 0 ? 0 : -1;
}

static int setup(void)
{
	cfg.topic_prefix = "ringcentral";
	cfg.max_notification_size = 65536;
	cfg.payload = RC_PAYLOAD_NOTIFICATION;
	return encrypt_with_openssl(PLAIN_1, cipher_1, sizeof(cipher_1));
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
	CU_ASSERT_EQUAL_FATAL(run(cipher_1, &cause, &m), RC_PIPE_PUBLISH);
	CU_ASSERT_STRING_EQUAL(m->topic, "ringcentral/account/~/extension/7/presence");
	CU_ASSERT_EQUAL(m->payload_len, strlen(PLAIN_1));
	CU_ASSERT(memcmp(m->payload, PLAIN_1, m->payload_len) == 0);
	CU_ASSERT_STRING_EQUAL(m->uuid, "u-1");
	CU_ASSERT_STRING_EQUAL(m->subscription_id, "s-1");
	CU_ASSERT_STRING_EQUAL(m->event, "/restapi/v1.0/account/~/extension/7/presence?detailedTelephonyState=true");
	rc_outbox_msg_free(m);

	/* The same uuid again is a replay. */
	CU_ASSERT_EQUAL(run(cipher_1, &cause, &m), RC_PIPE_DUPLICATE);
	CU_ASSERT_PTR_NULL(m);
}

static void test_body_mode(void)
{
	struct rc_outbox_msg *m = NULL;
	enum rc_drop_cause cause;

	cfg.payload = RC_PAYLOAD_BODY;
	reset();
	CU_ASSERT_EQUAL_FATAL(run(cipher_1, &cause, &m), RC_PIPE_PUBLISH);
	CU_ASSERT_STRING_EQUAL(m->payload, "{\"telephonyStatus\":\"Ringing\"}");
	CU_ASSERT_EQUAL(m->payload_len, strlen("{\"telephonyStatus\":\"Ringing\"}"));
	rc_outbox_msg_free(m);
	cfg.payload = RC_PAYLOAD_NOTIFICATION;
}

static void expect_drop(const char *plain_or_cipher, int encrypt, enum rc_drop_cause want)
{
	char c[1024];
	struct rc_outbox_msg *m = NULL;
	enum rc_drop_cause cause = RC_DROP_CAUSE_COUNT;
	const char *input = plain_or_cipher;

	if (encrypt) {
		CU_ASSERT_EQUAL_FATAL(encrypt_with_openssl(plain_or_cipher, c, sizeof(c)), 0);
		input = c;
	}
	CU_ASSERT_EQUAL(run(input, &cause, &m), RC_PIPE_DROP);
	CU_ASSERT_EQUAL(cause, want);
	CU_ASSERT_PTR_NULL(m);
}

static void test_each_drop_cause(void)
{
	reset();
	expect_drop("%%% not base64", 0, RC_DROP_BAD_BASE64);
	expect_drop("QUJD", 0, RC_DROP_BAD_LENGTH);
	expect_drop("rhXv+h4hsaM1Mnxmc9/kCw==", 0, RC_DROP_BAD_PADDING);
	expect_drop("not json", 1, RC_DROP_NOT_JSON);
	expect_drop("[1]", 1, RC_DROP_NOT_OBJECT);
	expect_drop("{\"event\":\"/e\"}", 1, RC_DROP_NO_UUID);
	expect_drop("{\"uuid\":\"x\"}", 1, RC_DROP_NO_EVENT);
	expect_drop("{\"uuid\":\"x\",\"event\":\"/e\",\"body\":null}", 1, RC_DROP_BAD_BODY);
	expect_drop("{\"uuid\":\"h1\",\"event\":\"/restapi/v1.0/a/+/b\"}", 1, RC_DROP_TOPIC_WILDCARD);
	expect_drop("{\"uuid\":\"h2\",\"event\":\"/restapi/v1.0/a/#\"}", 1, RC_DROP_TOPIC_WILDCARD);
	expect_drop("{\"uuid\":\"h3\",\"event\":\"/restapi/v1.0/a/../b\"}", 1, RC_DROP_TOPIC_DOT_LEVEL);
	expect_drop("{\"uuid\":\"h4\",\"event\":\"/restapi/v1.0/a//b\"}", 1, RC_DROP_TOPIC_EMPTY_LEVEL);
	expect_drop("{\"uuid\":\"h5\",\"event\":\"relative\"}", 1, RC_DROP_TOPIC_NOT_PATH);
	/* A hostile event does not mark its uuid as delivered: a corrected resend flows. */
	struct rc_outbox_msg *m = NULL;
	enum rc_drop_cause cause;
	char c[512];
	CU_ASSERT_EQUAL_FATAL(encrypt_with_openssl("{\"uuid\":\"h1\",\"event\":\"/restapi/v1.0/a/b\"}", c, sizeof(c)), 0);
	CU_ASSERT_EQUAL(run(c, &cause, &m), RC_PIPE_PUBLISH);
	rc_outbox_msg_free(m);
}

static void test_size_cap_applies_before_decryption(void)
{
	size_t big = cfg.max_notification_size + 1;
	char *s = malloc(big + 1);
	struct rc_outbox_msg *m = NULL;
	enum rc_drop_cause cause;

	reset();
	memset(s, 'A', big);
	s[big] = '\0';
	CU_ASSERT_EQUAL(run(s, &cause, &m), RC_PIPE_DROP);
	CU_ASSERT_EQUAL(cause, RC_DROP_TOO_LARGE);
	free(s);
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
}

static void test_topic_map_and_excerpt(void)
{
	struct rc_topic_rule rule = { "/restapi/v1.0/account/{a}/extension/{e}/presence", "home/{e}" };
	struct rc_outbox_msg *m = NULL;
	enum rc_drop_cause cause;
	char detail[96];
	char c[512];

	cfg.topic_map = &rule;
	cfg.n_topic_map = 1;
	reset();
	CU_ASSERT_EQUAL_FATAL(run(cipher_1, &cause, &m), RC_PIPE_PUBLISH);
	CU_ASSERT_STRING_EQUAL(m->topic, "home/7");
	rc_outbox_msg_free(m);
	cfg.topic_map = NULL;
	cfg.n_topic_map = 0;

	/* The log excerpt of a hostile event is short and printable. */
	CU_ASSERT_EQUAL_FATAL(encrypt_with_openssl("{\"uuid\":\"x9\",\"event\":\"/a/\\u0001+\"}", c, sizeof(c)), 0);
	CU_ASSERT_EQUAL(rc_pipeline_process(&p, c, strlen(c), NULL, &m, &cause, detail, sizeof(detail)), RC_PIPE_DROP);
	CU_ASSERT_STRING_EQUAL(detail, "/a/?+");
}

int main(void)
{
	static const struct rc_test_case cases[] = {
		{ "publishes the decrypted notification", test_publishes_decrypted_notification },
		{ "body mode", test_body_mode },
		{ "each drop cause", test_each_drop_cause },
		{ "size cap before decryption", test_size_cap_applies_before_decryption },
		{ "unencrypted object", test_unencrypted_object },
		{ "topic map and excerpt", test_topic_map_and_excerpt },
		{ NULL, NULL },
	};
	int rc = rc_test_run("pipeline", setup, NULL, cases);
	rc_pipeline_destroy(&p);
	return rc;
}
