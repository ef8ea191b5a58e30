/* rc_notification.h - one RingCentral notification: the envelope, validated.
 *
 * Envelope: {uuid, event, timestamp, subscriptionId, ownerId, body}. We need uuid (for
 * de-duplication) and event (for the topic); body may be absent (the seed document allows
 * events without payload). Pure: json-c parsing of a buffer. */
#ifndef RC_NOTIFICATION_H
#define RC_NOTIFICATION_H

#include <stddef.h>
#include <json-c/json.h>
#include "rc_json.h"

enum rc_envelope_result {
	RC_ENVELOPE_OK = 0,
	RC_ENVELOPE_NOT_JSON,     /* does not parse, or trailing garbage */
	RC_ENVELOPE_NOT_OBJECT,
	RC_ENVELOPE_NO_UUID,      /* missing, not a string, or empty */
	RC_ENVELOPE_NO_EVENT,     /* missing, not a string, or empty */
	RC_ENVELOPE_BAD_BODY,     /* present but null */
	RC_ENVELOPE_NOMEM,
	RC_ENVELOPE_UUID_TOO_LONG, /* uuid longer than RC_DEDUPE_UUID_MAX bytes */
};

const char *rc_envelope_strerror(enum rc_envelope_result r);

struct rc_notification {
	json_object *root;          /* owned: the whole envelope */
	const char *uuid;           /* borrowed from root */
	const char *event;          /* borrowed from root; may contain NUL, so use event_len */
	size_t event_len;
	const char *subscription_id;/* borrowed; NULL if absent */
	json_object *body;          /* borrowed; NULL if absent */
};

/* Parses json (len bytes) into *n. On RC_ENVELOPE_OK the caller calls
 * rc_notification_clear(n). On failure *n is left cleared. */
enum rc_envelope_result rc_notification_parse(const char *json, size_t len,
		struct rc_notification *n);

/* rc_notification_parse with the caller's reader (rc_json.h, nesting 0): for a stream of
 * notifications, one tokener for all. */
enum rc_envelope_result rc_notification_read(struct rc_json_reader *reader, const char *json,
		size_t len, struct rc_notification *n);

/* Parses an already-built JSON value (PubNub delivers unencrypted notifications as
 * objects): takes a new reference to obj on success. */
enum rc_envelope_result rc_notification_from_object(json_object *obj, struct rc_notification *n);

/* The `body` member as compact JSON (slashes not escaped); "null" when absent.
 * Returns a heap string the caller frees, length in *len; NULL on no memory. */
char *rc_notification_body_json(const struct rc_notification *n, size_t *len);

void rc_notification_clear(struct rc_notification *n);

#endif
