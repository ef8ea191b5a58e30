/* fuzz_wsg.c - libFuzzer target: WebSocket gateway frames from the server.
 *
 * Besides not crashing, a frame's raw body must lie inside the frame and be exactly the
 * JSON value json-c parsed as the body: that text is what gets republished. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "rc_json.h"
#include "rc_wsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rc_wsg_frame f;
	const char *buf = (const char *)data;
	/* A reader per input keeps inputs independent; the plugin reuses one, which the unit
	 * test covers. */
	struct rc_json_reader reader;
	json_object *whole = NULL;

	rc_wsg_reader_init(&reader);
	enum rc_wsg_result r = rc_wsg_parse(&reader, buf, size, &f);
	rc_json_reader_destroy(&reader);
	/* The frame is read element by element when it looks like [header, body]: it must be
	 * accepted exactly when the whole text is one JSON value (nesting depth included), and
	 * be that value. */
	enum rc_json_result jr = rc_json_parse(buf, size, &whole);
	if (jr == RC_JSON_NOMEM || r == RC_WSG_NOMEM) {
		json_object_put(whole);
		if (r == RC_WSG_OK)
			rc_wsg_frame_clear(&f);
		return 0;
	}
	if ((r == RC_WSG_NOT_JSON) != (jr != RC_JSON_OK))
		abort();
	if (r == RC_WSG_OK &&
			strcmp(json_object_to_json_string(f.root), json_object_to_json_string(whole)) != 0)
		abort();
	json_object_put(whole);
	if (r != RC_WSG_OK)
		return 0;
	rc_wsg_recovery_state(&f);
	if (f.body_text != NULL) {
		if (f.body_text < buf || f.body_text + f.body_len > buf + size || f.body_len == 0)
			abort();
		/* Compared as rendered text: NaN, which json-c accepts, never equals itself.
		 * Parsed as json_tokener_parse would, but to the bridge's depth limit (its
		 * default of 32 would refuse a body the frame legitimately holds). */
		char *copy = strndup(f.body_text, f.body_len);
		json_tokener *tok = json_tokener_new_ex(RC_JSON_MAX_DEPTH);
		json_object *again = copy != NULL && tok != NULL ?
				json_tokener_parse_ex(tok, copy, -1) : NULL;
		const char *a = again != NULL ? json_object_to_json_string(again) : "null";
		const char *b = f.body != NULL ? json_object_to_json_string(f.body) : "null";
		if (copy != NULL && tok != NULL && strcmp(a, b) != 0)
			abort();
		json_object_put(again);
		if (tok != NULL)
			json_tokener_free(tok);
		free(copy);
	}
	rc_wsg_frame_clear(&f);
	return 0;
}
