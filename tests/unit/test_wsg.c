/* test_wsg.c - WebSocket gateway frames, with the shapes from the protocol notes. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "rc_test.h"
#include "rc_json.h"
#include "rc_wsg.h"

/* One reader for every frame of the file, as the transport keeps one per connection:
 * each case also checks that the frames before it, good or bad, left it fit for more. */
static struct rc_json_reader reader;

static int open_reader(void)
{
	rc_wsg_reader_init(&reader);
	return 0;
}

static int close_reader(void)
{
	rc_json_reader_destroy(&reader);
	return 0;
}

static enum rc_wsg_result parse(const char *s, struct rc_wsg_frame *f)
{
	return rc_wsg_parse(&reader, s, strlen(s), f);
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

/* Frames read element by element must give what a whole parse gives: each near miss of
 * [header, body] either parses as the same JSON a whole parse sees or is refused the same
 * way, and a failure halfway through leaves the tokener fit for the next frame. */
static void test_element_by_element(void)
{
	static const struct {
		const char *frame;
		enum rc_wsg_result want;
		const char *body;   /* the expected body_text, NULL for none */
	} cases[] = {
		{ "[{\"type\":\"X\"},{\"a\":1}", RC_WSG_NOT_JSON, NULL },
		{ "[{\"type\":\"X\"},{\"a\":1}]]", RC_WSG_NOT_JSON, NULL },
		{ "[{\"type\":\"X\"},{\"a\":1}]", RC_WSG_OK, "{\"a\":1}" },
		/* json-c (not in strict mode) takes a trailing comma; the body's text is then
		 * not located, and the transport drops such a notification as a bad payload
		 * rather than publish something other than what was sent. */
		{ "[{\"type\":\"X\"},{\"a\":1},]", RC_WSG_OK, NULL },
		{ "[{\"type\":\"X\"} {\"a\":1}]", RC_WSG_NOT_JSON, NULL },
		{ "[{\"type\":\"X\"},]", RC_WSG_OK, NULL },
		{ "[{\"type\":\"X\"},12]", RC_WSG_OK, "12" },
		{ "[{\"type\":\"X\"},-1.5e3 ]", RC_WSG_OK, "-1.5e3" },
		{ "[{\"type\":\"X\"},[1,[2]]]", RC_WSG_OK, "[1,[2]]" },
		{ "[{\"type\":\"X\"},{},1]", RC_WSG_OK, NULL },
		{ "[[{\"type\":\"X\"}],{}]", RC_WSG_BAD_SHAPE, NULL },
		{ "\t[{\"type\":\"X\"}\r\n]\n", RC_WSG_OK, NULL },
		{ "[{\"type\":\"X\"},{\"a\":1}]", RC_WSG_OK, "{\"a\":1}" },
	};
	static const char nul_first[] = "\0\t[{\"type\":\"X\"},{}]";
	struct rc_wsg_frame f;

	/* A NUL byte is no whitespace, before the frame as anywhere else. */
	CU_ASSERT_EQUAL(rc_wsg_parse(&reader, nul_first, sizeof(nul_first) - 1, &f), RC_WSG_NOT_JSON);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum rc_wsg_result r = parse(cases[i].frame, &f);

		CU_ASSERT_EQUAL(r, cases[i].want);
		if (r != RC_WSG_OK)
			continue;
		CU_ASSERT_EQUAL(f.type, RC_WSG_UNKNOWN);
		if (cases[i].body == NULL) {
			CU_ASSERT_PTR_NULL(f.body_text);
		} else {
			CU_ASSERT_PTR_NOT_NULL_FATAL(f.body_text);
			CU_ASSERT_EQUAL(f.body_len, strlen(cases[i].body));
			CU_ASSERT_NSTRING_EQUAL(f.body_text, cases[i].body, strlen(cases[i].body));
		}
		rc_wsg_frame_clear(&f);
	}
}

/* Read element by element, a body is one level inside the frame: it is refused for its
 * depth exactly when the whole frame would be (rc_json.h's limit), no level later. */
static void test_depth_as_whole(void)
{
	char frame[256];
	int accepted = 0, refused = 0;

	for (int k = RC_JSON_MAX_DEPTH - 6; k <= RC_JSON_MAX_DEPTH + 2; k++) {
		struct rc_wsg_frame f;
		json_object *whole = NULL;
		int n = snprintf(frame, sizeof(frame), "[{\"type\":\"X\"},%*s%*s]", k, "", k, "");

		CU_ASSERT_FATAL(n > 0 && (size_t)n < sizeof(frame));
		memset(frame + 14, '[', (size_t)k);
		memset(frame + 14 + k, ']', (size_t)k);
		enum rc_wsg_result r = parse(frame, &f);
		bool whole_ok = rc_json_parse(frame, strlen(frame), &whole) == RC_JSON_OK;

		CU_ASSERT_EQUAL(r == RC_WSG_OK, whole_ok);
		CU_ASSERT(r == RC_WSG_OK || r == RC_WSG_NOT_JSON);
		if (r == RC_WSG_OK) {
			accepted++;
			rc_wsg_frame_clear(&f);
		} else {
			refused++;
		}
		json_object_put(whole);
	}
	/* The range straddles the limit: both outcomes were checked. */
	CU_ASSERT(accepted > 0);
	CU_ASSERT(refused > 0);
}

/* A frame that breaks off inside a surrogate pair leaves json-c's tokener holding half of
 * it, which json_tokener_reset keeps: the next frame's first \u escape must still read as
 * itself. */
static void test_reuse_after_broken_escape(void)
{
	struct rc_wsg_frame f;

	CU_ASSERT_EQUAL(parse("[{\"type\":\"X\"},\"\\ud800\\u12\"]", &f), RC_WSG_NOT_JSON);
	CU_ASSERT_EQUAL_FATAL(parse("[{\"type\":\"X\",\"messageId\":\"\\u00e9\"},{}]", &f), RC_WSG_OK);
	CU_ASSERT_STRING_EQUAL(f.message_id, "\xc3\xa9");
	rc_wsg_frame_clear(&f);
	CU_ASSERT_EQUAL(parse("[{\"type\":\"X\",\"messageId\":\"\\ud83d", &f), RC_WSG_NOT_JSON);
	CU_ASSERT_EQUAL_FATAL(parse("[{\"type\":\"X\",\"messageId\":\"\\udc00\"},{}]", &f), RC_WSG_OK);
	CU_ASSERT_STRING_EQUAL(f.message_id, "\xef\xbf\xbd"); /* a lone low half: U+FFFD */
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
		{ "element by element", test_element_by_element },
		{ "depth as the whole frame's", test_depth_as_whole },
		{ "reuse after a broken escape", test_reuse_after_broken_escape },
		{ "bad frames", test_bad_frames },
		{ "building frames", test_building_frames },
		{ NULL, NULL },
	};
	return rc_test_run("wsg", open_reader, close_reader, cases);
}
