/* notification.c - parsing and validating the notification envelope (see rc_notification.h).
 *
 * Strict where it matters for what follows: the whole buffer must be one JSON value (no
 * trailing garbage, no embedded NUL), nesting is bounded, and uuid and event must be
 * non-empty strings because de-duplication and topic mapping depend on them. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "rc_dedupe.h"
#include "rc_json.h"
#include "rc_notification.h"


const char *rc_envelope_strerror(enum rc_envelope_result r)
{
	switch (r) {
	case RC_ENVELOPE_OK: return "ok";
	case RC_ENVELOPE_NOT_JSON: return "not JSON";
	case RC_ENVELOPE_NOT_OBJECT: return "not a JSON object";
	case RC_ENVELOPE_NO_UUID: return "no uuid";
	case RC_ENVELOPE_NO_EVENT: return "no event";
	case RC_ENVELOPE_BAD_BODY: return "body is null";
	case RC_ENVELOPE_NOMEM: return "out of memory";
	case RC_ENVELOPE_UUID_TOO_LONG: return "uuid too long";
	}
	return "unknown";
}

void rc_notification_clear(struct rc_notification *n)
{
	json_object_put(n->root);
	*n = (struct rc_notification){0};
}

static bool notification__string(json_object *root, const char *key, json_object **value)
{
	return json_object_object_get_ex(root, key, value) &&
			json_object_is_type(*value, json_type_string) &&
			json_object_get_string_len(*value) > 0;
}

/* Validates root and fills n; takes over the caller's reference to root on success. */
static enum rc_envelope_result notification__validate(json_object *root, struct rc_notification *n)
{
	json_object *uuid, *event, *sub, *body = NULL;

	*n = (struct rc_notification){0};
	if (!json_object_is_type(root, json_type_object))
		return RC_ENVELOPE_NOT_OBJECT;
	if (!notification__string(root, "uuid", &uuid))
		return RC_ENVELOPE_NO_UUID;
	/* Every uuid is kept for de-duplication: its length is bounded before that. */
	if (json_object_get_string_len(uuid) > RC_DEDUPE_UUID_MAX)
		return RC_ENVELOPE_UUID_TOO_LONG;
	if (!notification__string(root, "event", &event))
		return RC_ENVELOPE_NO_EVENT;
	bool has_body = json_object_object_get_ex(root, "body", &body);
	if (has_body && body == NULL)
		return RC_ENVELOPE_BAD_BODY; /* json-c represents JSON null as NULL */

	n->root = root;
	n->uuid = json_object_get_string(uuid);
	n->event = json_object_get_string(event);
	n->event_len = (size_t)json_object_get_string_len(event);
	n->subscription_id = json_object_object_get_ex(root, "subscriptionId", &sub) &&
			json_object_is_type(sub, json_type_string) ? json_object_get_string(sub) : NULL;
	n->body = has_body ? body : NULL;
	return RC_ENVELOPE_OK;
}

enum rc_envelope_result rc_notification_parse(const char *json, size_t len,
		struct rc_notification *n)
{
	struct rc_json_reader reader;

	rc_json_reader_init(&reader, 0);
	enum rc_envelope_result r = rc_notification_read(&reader, json, len, n);
	rc_json_reader_destroy(&reader);
	return r;
}

enum rc_envelope_result rc_notification_read(struct rc_json_reader *reader, const char *json,
		size_t len, struct rc_notification *n)
{
	json_object *root;

	*n = (struct rc_notification){0};
	switch (rc_json_read(reader, json, len, &root)) {
	case RC_JSON_OK: break;
	case RC_JSON_NOMEM: return RC_ENVELOPE_NOMEM;
	case RC_JSON_INVALID: return RC_ENVELOPE_NOT_JSON;
	}
	enum rc_envelope_result r = notification__validate(root, n);
	if (r != RC_ENVELOPE_OK)
		json_object_put(root);
	return r;
}

enum rc_envelope_result rc_notification_from_object(json_object *obj, struct rc_notification *n)
{
	enum rc_envelope_result r = notification__validate(obj, n);

	if (r == RC_ENVELOPE_OK)
		json_object_get(obj);
	return r;
}

char *rc_notification_body_json(const struct rc_notification *n, size_t *len)
{
	const char *text = n->body != NULL ? json_object_to_json_string_ext(n->body,
			JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE) : "null";
	char *copy = text != NULL ? strdup(text) : NULL;

	if (copy != NULL)
		*len = strlen(copy);
	return copy;
}
