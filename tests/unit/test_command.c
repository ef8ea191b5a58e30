/* test_command.c - the command topics (command.c) and the commands back to RingCentral
 * they share with the control API (control.c): topics recognised, payloads parsed and
 * refused, kinds gated, answers rendered, response topics checked. */
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "rc_command.h"
#include "rc_control.h"
#include "rc_test.h"

static struct rc_control_request *cmd(enum rc_command_topic t, const char *arg, const char *payload)
{
	struct rc_control_request *r = rc_command_parse(t, arg, payload, strlen(payload), "c1", 2);

	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL_FATAL(r->n, 1);
	CU_ASSERT_TRUE(r->single);
	CU_ASSERT_EQUAL(r->correlation_len, 2);
	return r;
}

static json_object *answer(const struct rc_control_request *r)
{
	size_t len = 0;
	char *text = rc_control_response(r, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	json_object *o = json_tokener_parse(text);
	free(text);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	return o;
}

static const char *str(json_object *o, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) && v != NULL ? json_object_get_string(v) : NULL;
}

static void test_topics(void)
{
	const char *arg;

	CU_ASSERT_EQUAL(rc_command_topic("ringcentral", "ringcentral/bridge/command/presence/123", &arg),
			RC_CMDT_PRESENCE);
	CU_ASSERT_STRING_EQUAL(arg, "123");
	CU_ASSERT_EQUAL(rc_command_topic("ringcentral", "ringcentral/bridge/command/presence/~", &arg),
			RC_CMDT_PRESENCE);
	CU_ASSERT_EQUAL(rc_command_topic("ringcentral", "ringcentral/bridge/command/sms", &arg), RC_CMDT_SMS);
	CU_ASSERT_PTR_NULL(arg);
	CU_ASSERT_EQUAL(rc_command_topic("ringcentral", "ringcentral/bridge/command/sms/15551234567", &arg),
			RC_CMDT_SMS_TO);
	CU_ASSERT_STRING_EQUAL(arg, "15551234567");
	CU_ASSERT_EQUAL(rc_command_topic("a/b", "a/b/bridge/command/resubscribe", NULL), RC_CMDT_RESUBSCRIBE);
	/* Answers, other levels and other prefixes are left alone. */
	static const char *const none[] = {
		"ringcentral/bridge/command/sms/response", "ringcentral/bridge/command/presence/1/response",
		"ringcentral/bridge/command/resubscribe/response", "ringcentral/bridge/command/response",
		"ringcentral/bridge/command/presence", "ringcentral/bridge/command/other",
		"ringcentral/bridge/state", "ringcentral/x/bridge/command/sms", "ringcentralx/bridge/command/sms",
		"other/bridge/command/sms", "ringcentral/bridge/command/sms/1/2", "",
	};
	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++)
		CU_ASSERT_EQUAL(rc_command_topic("ringcentral", none[i], &arg), RC_CMDT_NONE);
}

static void test_presence_payloads(void)
{
	/* What a Home Assistant select publishes: a bare value of either set. */
	struct rc_control_request *r = cmd(RC_CMDT_PRESENCE, "123", "DoNotAcceptAnyCalls");
	CU_ASSERT_FALSE(r->cmds[0].answered);
	CU_ASSERT_EQUAL(r->cmds[0].kind, RC_CTL_SET_PRESENCE);
	CU_ASSERT_STRING_EQUAL(r->cmds[0].extension_id, "123");
	CU_ASSERT_STRING_EQUAL(r->cmds[0].dnd_status, "DoNotAcceptAnyCalls");
	CU_ASSERT_PTR_NULL(r->cmds[0].user_status);
	CU_ASSERT_TRUE(rc_control_request_needs_worker(r));
	rc_control_request_free(r);
	r = cmd(RC_CMDT_PRESENCE, "~", " busy\n");
	CU_ASSERT_FALSE(r->cmds[0].answered);
	CU_ASSERT_STRING_EQUAL(r->cmds[0].user_status, "Busy");
	CU_ASSERT_STRING_EQUAL(r->cmds[0].extension_id, "~");
	rc_control_request_free(r);
	r = cmd(RC_CMDT_PRESENCE, "123", "{\"dndStatus\":\"TakeAllCalls\",\"userStatus\":\"Available\"}");
	CU_ASSERT_FALSE(r->cmds[0].answered);
	CU_ASSERT_STRING_EQUAL(r->cmds[0].dnd_status, "TakeAllCalls");
	CU_ASSERT_STRING_EQUAL(r->cmds[0].user_status, "Available");
	rc_control_request_free(r);

	static const struct { const char *arg, *payload, *error; } bad[] = {
		{ "123", "", "empty payload" },
		{ "123", "Sleeping", "unknown status" },
		{ "123", "{\"dndStatus\":\"Nope\"}", "Invalid dndStatus" },
		{ "123", "{\"userStatus\":3}", "Invalid userStatus" },
		{ "123", "{}", "Missing dndStatus or userStatus" },
		{ "123", "{nope", "Payload not valid JSON" },
		{ "12a", "TakeAllCalls", "Invalid extensionId" },
		{ "", "TakeAllCalls", "Invalid extensionId" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = cmd(RC_CMDT_PRESENCE, bad[i].arg, bad[i].payload);
		CU_ASSERT_TRUE(r->cmds[0].answered);
		CU_ASSERT_STRING_EQUAL(r->cmds[0].name, "setPresence");
		CU_ASSERT_PTR_NOT_NULL_FATAL(r->cmds[0].error);
		CU_ASSERT_PTR_NOT_NULL(strstr(r->cmds[0].error, bad[i].error));
		CU_ASSERT_FALSE(rc_control_request_needs_worker(r));
		rc_control_request_free(r);
	}
	/* Past RC_CONTROL_MAX_PAYLOAD: refused before it is parsed. */
	size_t n = RC_CONTROL_MAX_PAYLOAD + 1;
	char *huge = malloc(n + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(huge);
	memset(huge, ' ', n);
	huge[0] = '{';
	huge[n] = '\0';
	r = cmd(RC_CMDT_PRESENCE, "123", huge);
	CU_ASSERT_TRUE(r->cmds[0].answered);
	CU_ASSERT_PTR_NOT_NULL(strstr(r->cmds[0].error, "Payload too large"));
	rc_control_request_free(r);
	free(huge);
}

static void test_sms_payloads(void)
{
	struct rc_control_request *r = cmd(RC_CMDT_SMS, NULL,
			"{\"to\":\"+15551234567\",\"text\":\"Hello \\u00e9\"}");
	CU_ASSERT_FALSE(r->cmds[0].answered);
	CU_ASSERT_EQUAL(r->cmds[0].kind, RC_CTL_SEND_SMS);
	CU_ASSERT_EQUAL_FATAL(r->cmds[0].n_to, 1);
	CU_ASSERT_STRING_EQUAL(r->cmds[0].to[0], "+15551234567");
	CU_ASSERT_STRING_EQUAL(r->cmds[0].text, "Hello \xc3\xa9");
	rc_control_request_free(r);
	r = cmd(RC_CMDT_SMS, NULL, "{\"to\":[\"+15551234567\",\"+15551234568\",\"+15551234567\"],\"text\":\"x\"}");
	CU_ASSERT_EQUAL(r->cmds[0].n_to, 2);
	rc_control_request_free(r);
	/* What a Home Assistant notify entity publishes: the text, to the topic's number. */
	r = cmd(RC_CMDT_SMS_TO, "15551234567", "{not json, just text}");
	CU_ASSERT_FALSE(r->cmds[0].answered);
	CU_ASSERT_STRING_EQUAL(r->cmds[0].to[0], "+15551234567");
	CU_ASSERT_STRING_EQUAL(r->cmds[0].text, "{not json, just text}");
	rc_control_request_free(r);

	char long_text[1100];
	memset(long_text, 'a', 1001);
	long_text[1001] = '\0';
	char *long_json = NULL;
	CU_ASSERT_TRUE(asprintf(&long_json, "{\"to\":\"+15551234567\",\"text\":\"%s\"}", long_text) > 0);
	const struct { enum rc_command_topic t; const char *arg, *payload, *error; } bad[] = {
		{ RC_CMDT_SMS, NULL, "hello", "Payload not valid JSON" },
		{ RC_CMDT_SMS, NULL, "{\"text\":\"x\"}", "Missing or invalid to" },
		{ RC_CMDT_SMS, NULL, "{\"to\":\"5551234567\",\"text\":\"x\"}", "Invalid to" },
		{ RC_CMDT_SMS, NULL, "{\"to\":\"+1555\",\"text\":\"x\"}", "Invalid to" },
		{ RC_CMDT_SMS, NULL, "{\"to\":[],\"text\":\"x\"}", "to must name 1 to 10" },
		{ RC_CMDT_SMS, NULL, "{\"to\":\"+15551234567\"}", "Missing or invalid text" },
		{ RC_CMDT_SMS, NULL, "{\"to\":\"+15551234567\",\"text\":\"\"}", "text must not be empty" },
		{ RC_CMDT_SMS, NULL, "{\"to\":\"+15551234567\",\"text\":\"a\\u0000b\"}", "without NUL" },
		{ RC_CMDT_SMS, NULL, long_json, "longer than 1000" },
		{ RC_CMDT_SMS_TO, "1555x", "hi", "Invalid number in the topic" },
		{ RC_CMDT_SMS_TO, "1555", "hi", "Invalid to" },
		{ RC_CMDT_SMS_TO, "15551234567", "", "text must not be empty" },
		{ RC_CMDT_SMS_TO, "15551234567", "\xff\xfe", "valid UTF-8" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = cmd(bad[i].t, bad[i].arg, bad[i].payload);
		CU_ASSERT_TRUE(r->cmds[0].answered);
		CU_ASSERT_STRING_EQUAL(r->cmds[0].name, "sendSms");
		CU_ASSERT_PTR_NOT_NULL_FATAL(r->cmds[0].error);
		if (strstr(r->cmds[0].error, bad[i].error) == NULL)
			fprintf(stderr, "case %zu: %s\n", i, r->cmds[0].error);
		CU_ASSERT_PTR_NOT_NULL(strstr(r->cmds[0].error, bad[i].error));
		rc_control_request_free(r);
	}
	free(long_json);
	/* 1000 characters of two bytes each are fine. */
	char *ok = calloc(1, 2100);
	for (int i = 0; i < 1000; i++)
		memcpy(ok + 2 * i, "\xc3\xa9", 2);
	r = cmd(RC_CMDT_SMS_TO, "15551234567", ok);
	CU_ASSERT_FALSE(r->cmds[0].answered);
	rc_control_request_free(r);
	free(ok);
}

static void test_control_api_shapes(void)
{
	const char *req = "{\"commands\":["
			"{\"command\":\"setPresence\",\"extensionId\":\"101\",\"dndStatus\":\"donotacceptanycalls\"},"
			"{\"command\":\"sendsms\",\"to\":\"+15551234567\",\"text\":\"hi\"},"
			"{\"command\":\"setPresence\"},"
			"{\"command\":\"recreateSubscription\"}]}";
	struct rc_control_request *r = rc_control_parse(req, strlen(req), NULL, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL_FATAL(r->n, 4);
	CU_ASSERT_FALSE(r->single);
	CU_ASSERT_STRING_EQUAL(r->cmds[0].dnd_status, "DoNotAcceptAnyCalls");
	CU_ASSERT_STRING_EQUAL(r->cmds[1].name, "sendSms");
	CU_ASSERT_TRUE(r->cmds[2].answered);
	/* Gates: each kind off names the option that turns it on. */
	struct rc_control_gates g = { .presence = false, .sms = true, .recreate = true };
	rc_control_gate(r, &g);
	CU_ASSERT_TRUE(r->cmds[0].answered);
	CU_ASSERT_PTR_NOT_NULL(strstr(r->cmds[0].error, "plugin_opt_command_presence true"));
	CU_ASSERT_FALSE(r->cmds[1].answered);
	CU_ASSERT_FALSE(r->cmds[3].answered);
	g = (struct rc_control_gates){ .recreate = false, .recreate_option = "plugin_opt_homeassistant true" };
	rc_control_gate(r, &g);
	CU_ASSERT_PTR_NOT_NULL(strstr(r->cmds[1].error, "plugin_opt_command_sms true"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r->cmds[3].error, "plugin_opt_homeassistant true"));
	rc_control_request_free(r);
}

static void test_answers(void)
{
	struct rc_control_request *r = cmd(RC_CMDT_SMS, NULL, "{\"to\":\"+15551234567\",\"text\":\"x\"}");
	json_object *d = json_object_new_object();
	json_object_object_add(d, "httpStatus", json_object_new_int(400));
	json_object_object_add(d, "errorCode", json_object_new_string("MSG-304"));
	rc_control_fail_detail(&r->cmds[0], d, "sending the SMS failed: %s", "HTTP 400 MSG-304: no");
	json_object *a = answer(r);
	/* A command topic's answer is the command's own object. */
	CU_ASSERT_STRING_EQUAL(str(a, "command"), "sendSms");
	CU_ASSERT_STRING_EQUAL(str(a, "error"), "sending the SMS failed: HTTP 400 MSG-304: no");
	CU_ASSERT_STRING_EQUAL(str(a, "errorCode"), "MSG-304");
	CU_ASSERT_STRING_EQUAL(str(a, "httpStatus"), "400");
	CU_ASSERT_FALSE(json_object_object_get_ex(a, "responses", NULL));
	json_object_put(a);
	json_object *data = json_object_new_object();
	json_object_object_add(data, "id", json_object_new_string("2000000"));
	rc_control_ok(&r->cmds[0], data);
	a = answer(r);
	CU_ASSERT_PTR_NULL(str(a, "error"));
	CU_ASSERT_PTR_NULL(str(a, "errorCode"));
	CU_ASSERT_STRING_EQUAL(str(json_object_object_get(a, "data"), "id"), "2000000");
	json_object_put(a);
	rc_control_request_free(r);
}

static void test_response_topics(void)
{
	CU_ASSERT_PTR_NULL(rc_command_response_topic_problem("ringcentral", "ringcentral/bridge/command/x/response"));
	CU_ASSERT_PTR_NULL(rc_command_response_topic_problem("ringcentral", "ringcentral/bridge/command/answers/c1"));
	/* Published as the broker, unchecked by ACLs: only under the command topics. */
	CU_ASSERT_PTR_NOT_NULL(rc_command_response_topic_problem("ringcentral", "scripts/answers/1"));
	CU_ASSERT_PTR_NOT_NULL(rc_command_response_topic_problem("ringcentral", "ringcentral/bridgex"));
	CU_ASSERT_PTR_NOT_NULL(rc_command_response_topic_problem("ringcentral",
			"ringcentral/account/1/extension/2/presence"));
	CU_ASSERT_PTR_NOT_NULL(rc_command_response_topic_problem("ringcentral", "ringcentral/bridge/command/"));
	CU_ASSERT_PTR_NOT_NULL(rc_command_response_topic_problem("ringcentral", "homeassistant/device/x/config"));
	CU_ASSERT_PTR_NOT_NULL(rc_command_response_topic_problem("ringcentral", "ringcentral/bridge/state"));
	CU_ASSERT_PTR_NOT_NULL(rc_command_response_topic_problem("ringcentral", "ringcentral/bridge"));
	CU_ASSERT_PTR_NOT_NULL(rc_command_response_topic_problem("ringcentral", "$SYS/x"));
	CU_ASSERT_PTR_NOT_NULL(rc_command_response_topic_problem("ringcentral", "$CONTROL/ringcentral/v1"));
	CU_ASSERT_PTR_NOT_NULL(rc_command_response_topic_problem("ringcentral", "a/+/b"));
	CU_ASSERT_PTR_NOT_NULL(rc_command_response_topic_problem("ringcentral", "a/#"));
	CU_ASSERT_PTR_NOT_NULL(rc_command_response_topic_problem("ringcentral", ""));
}

static void test_values(void)
{
	CU_ASSERT_TRUE(rc_control_e164("+1555123"));
	CU_ASSERT_TRUE(rc_control_e164("+123456789012345"));
	CU_ASSERT_FALSE(rc_control_e164("+1234567890123456"));
	CU_ASSERT_FALSE(rc_control_e164("+155512"));
	CU_ASSERT_FALSE(rc_control_e164("15551234567"));
	CU_ASSERT_FALSE(rc_control_e164("+1555 123 4567"));
	CU_ASSERT_FALSE(rc_control_e164(NULL));
	CU_ASSERT_STRING_EQUAL(rc_control_dnd_status("takeallcalls"), "TakeAllCalls");
	CU_ASSERT_PTR_NULL(rc_control_dnd_status("Available"));
	CU_ASSERT_STRING_EQUAL(rc_control_user_status("OFFLINE"), "Offline");
	CU_ASSERT_PTR_NULL(rc_control_user_status("TakeAllCalls"));
}

int main(void)
{
	static const struct rc_test_case cases[] = {
		{ "command topics recognised", test_topics },
		{ "presence payloads", test_presence_payloads },
		{ "SMS payloads", test_sms_payloads },
		{ "the same commands on the control API, gated", test_control_api_shapes },
		{ "answers with RingCentral's error", test_answers },
		{ "response topics", test_response_topics },
		{ "values", test_values },
		{ NULL, NULL },
	};
	return rc_test_run("command", NULL, NULL, cases);
}
