/* test_wsg.c - WebSocket gateway frames, with the shapes from the protocol notes. */
#include <stdlib.h>
#include <string.h>
#include "rc_test.h"
#include "rc_wsg.h"

static enum rc_wsg_result parse(const char *s, struct rc_wsg_frame *f)
{
	return rc_wsg_parse(s, strlen(s), f);
}

static void test_connection_details(void)
{
	struct rc_wsg_frame f;
	const char *s = "[{\"type\":\"ConnectionDetails\",\"messageId\":\"m-1\",\"status\":200,"
		"\"wsc\":{\"token\":\"tok-1\",\"sequence\":1}},{\"maxConnectionsPerSession\":50,"
		"\"recoveryBufferSize\":100,\"recoveryTimeout\":180,\"idleTimeout\":1800,"
		"\"absoluteTimeout\":86400,\"maxActiveRequests\":10}]";

	CU_ASSERT_EQUAL_FATAL(parse(s, &f), RC_WSG_OK);
	CU_ASSERT_EQUAL(f.type, RC_WSG_CONNECTION_DETAILS);
	CU_ASSERT_STRING_EQUAL(f.message_id, "m-1");
	CU_ASSERT_EQUAL(f.status, 200);
	CU_ASSERT_STRING_EQUAL(f.wsc_token, "tok-1");
	CU_ASSERT_EQUAL(f.wsc_sequence, 1);
	CU_ASSERT_EQUAL(rc_wsg_recovery_state(&f), RC_WSG_RECOVERY_NONE);
	rc_wsg_frame_clear(&f);

	CU_ASSERT_EQUAL_FATAL(parse("[{\"type\":\"ConnectionDetails\"},{\"recoveryState\":\"Successful\"}]", &f), RC_WSG_OK);
	CU_ASSERT_EQUAL(rc_wsg_recovery_state(&f), RC_WSG_RECOVERY_SUCCESSFUL);
	rc_wsg_frame_clear(&f);
	CU_ASSERT_EQUAL_FATAL(parse("[{\"type\":\"ConnectionDetails\"},{\"recoveryState\":\"Failed\"}]", &f), RC_WSG_OK);
	CU_ASSERT_EQUAL(rc_wsg_recovery_state(&f), RC_WSG_RECOVERY_FAILED);
	rc_wsg_frame_clear(&f);
}

static void test_answer_and_notification(void)
{
	struct rc_wsg_frame f;

	CU_ASSERT_EQUAL_FATAL(parse("[{\"type\":\"ClientRequest\",\"messageId\":\"req-7\",\"status\":200},"
			"{\"id\":\"sub-1\",\"deliveryMode\":{\"transportType\":\"WebSocket\"}}]", &f), RC_WSG_OK);
	CU_ASSERT_EQUAL(f.type, RC_WSG_CLIENT_REQUEST);
	CU_ASSERT_STRING_EQUAL(f.message_id, "req-7");
	CU_ASSERT_TRUE(json_object_is_type(f.body, json_type_object));
	CU_ASSERT_STRING_EQUAL(f.wsc_token, "");
	rc_wsg_frame_clear(&f);

	CU_ASSERT_EQUAL_FATAL(parse("[{\"type\":\"ServerNotification\",\"messageId\":\"n\",\"status\":200,"
			"\"wsc\":{\"token\":\"t2\",\"sequence\":42}},{\"uuid\":\"u\",\"event\":\"/e\"}] \n", &f), RC_WSG_OK);
	CU_ASSERT_EQUAL(f.type, RC_WSG_SERVER_NOTIFICATION);
	CU_ASSERT_EQUAL(f.wsc_sequence, 42);
	rc_wsg_frame_clear(&f);

	CU_ASSERT_EQUAL_FATAL(parse("[{\"type\":\"Error\",\"status\":401},{\"errorCode\":\"WSG-1003\"}]", &f), RC_WSG_OK);
	CU_ASSERT_EQUAL(f.type, RC_WSG_ERROR);
	CU_ASSERT_EQUAL(f.status, 401);
	rc_wsg_frame_clear(&f);

	CU_ASSERT_EQUAL_FATAL(parse("[{\"type\":\"SomethingNew\"}]", &f), RC_WSG_OK);
	CU_ASSERT_EQUAL(f.type, RC_WSG_UNKNOWN);
	CU_ASSERT_PTR_NULL(f.body);
	rc_wsg_frame_clear(&f);
}

/* The body as it was sent, spacing and escapes included: what gets republished. */
static void test_raw_body(void)
{
	static const struct {
		const char *frame, *body;
	} cases[] = {
		{ "[{\"type\":\"ServerNotification\"},{\"uuid\":\"u\",\"t\":\"caf\\u00e9 \\/ \\\"]\"}]",
		  "{\"uuid\":\"u\",\"t\":\"caf\\u00e9 \\/ \\\"]\"}" },
		{ " [ {\"type\":\"X\",\"a\":[1,{\"b\":\"},\"}]} ,\n { \"k\" : [ 1 , 2 ] } \n] ",
		  "{ \"k\" : [ 1 , 2 ] }" },
		{ "[{\"type\":\"X\"},\"text\"]", "\"text\"" },
		{ "[{\"type\":\"X\"},null]", "null" },
	};
	struct rc_wsg_frame f;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CU_ASSERT_EQUAL_FATAL(parse(cases[i].frame, &f), RC_WSG_OK);
		CU_ASSERT_PTR_NOT_NULL_FATAL(f.body_text);
		CU_ASSERT_EQUAL(f.body_len, strlen(cases[i].body));
		CU_ASSERT_NSTRING_EQUAL(f.body_text, cases[i].body, strlen(cases[i].body));
		rc_wsg_frame_clear(&f);
	}
	CU_ASSERT_EQUAL_FATAL(parse("[{\"type\":\"Heartbeat\"}]", &f), RC_WSG_OK);
	CU_ASSERT_PTR_NULL(f.body_text);
	rc_wsg_frame_clear(&f);
	CU_ASSERT_EQUAL_FATAL(parse("[{\"type\":\"X\"},{},{}]", &f), RC_WSG_OK);
	CU_ASSERT_PTR_NULL(f.body_text);
	rc_wsg_frame_clear(&f);
}

static void test_bad_frames(void)
{
	struct rc_wsg_frame f;

	CU_ASSERT_EQUAL(parse("", &f), RC_WSG_NOT_JSON);
	CU_ASSERT_EQUAL(parse("[{\"type\":\"Heartbeat\"}] x", &f), RC_WSG_NOT_JSON);
	CU_ASSERT_EQUAL(parse("{\"type\":\"Heartbeat\"}", &f), RC_WSG_BAD_SHAPE);
	CU_ASSERT_EQUAL(parse("[]", &f), RC_WSG_BAD_SHAPE);
	CU_ASSERT_EQUAL(parse("[{\"type\":7}]", &f), RC_WSG_BAD_SHAPE);
	CU_ASSERT_EQUAL(parse("[\"x\",{}]", &f), RC_WSG_BAD_SHAPE);
	CU_ASSERT_PTR_NULL(f.root);
}

static void test_building_frames(void)
{
	json_object *body = json_tokener_parse("{\"eventFilters\":[\"/a/b\"],\"deliveryMode\":{\"transportType\":\"WebSocket\"}}");
	char *req = rc_wsg_client_request("id-1", "POST", "/restapi/v1.0/subscription/", body);
	struct rc_wsg_frame f;

	CU_ASSERT_STRING_EQUAL(req, "[{\"type\":\"ClientRequest\",\"messageId\":\"id-1\",\"method\":\"POST\","
			"\"path\":\"/restapi/v1.0/subscription/\"},{\"eventFilters\":[\"/a/b\"],"
			"\"deliveryMode\":{\"transportType\":\"WebSocket\"}}]");
	CU_ASSERT_EQUAL(parse(req, &f), RC_WSG_OK);
	CU_ASSERT_EQUAL(f.type, RC_WSG_CLIENT_REQUEST);
	rc_wsg_frame_clear(&f);
	free(req);
	json_object_put(body);

	req = rc_wsg_client_request("id-2", "DELETE", "/restapi/v1.0/subscription/s-1", NULL);
	CU_ASSERT_PTR_NOT_NULL(strstr(req, "},{}]"));
	free(req);

	char *hb = rc_wsg_heartbeat("hb-1");
	CU_ASSERT_STRING_EQUAL(hb, "[{\"type\":\"Heartbeat\",\"messageId\":\"hb-1\"}]");
	free(hb);

	char *url = rc_wsg_connect_url("wss://ws.example/ws", "a+b/c", NULL);
	CU_ASSERT_STRING_EQUAL(url, "wss://ws.example/ws?access_token=a%2Bb%2Fc");
	free(url);
	url = rc_wsg_connect_url("wss://ws.example/ws?x=1", "t", "w=1");
	CU_ASSERT_STRING_EQUAL(url, "wss://ws.example/ws?x=1&access_token=t&wsc=w%3D1");
	free(url);
}

int main(void)
{
	static const struct rc_test_case cases[] = {
		{ "ConnectionDetails", test_connection_details },
		{ "answers and notifications", test_answer_and_notification },
		{ "raw body text", test_raw_body },
		{ "bad frames", test_bad_frames },
		{ "building frames", test_building_frames },
		{ NULL, NULL },
	};
	return rc_test_run("wsg", NULL, NULL, cases);
}
