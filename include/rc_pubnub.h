/* rc_pubnub.h - the PubNub v2 subscribe long-poll, as URLs and parsed answers.
 *
 * GET {origin}/v2/subscribe/{subKey}/{channel}/0?tt=..&tr=..&uuid=..&pnsdk=..
 * answers {"t":{"t":"<timetoken>","r":<region>},"m":[{... "c":channel, "d":payload}]}.
 * Passing the last timetoken back is what makes delivery gap-free across polls and
 * reconnects. Pure: building strings and parsing buffers. */
#ifndef RC_PUBNUB_H
#define RC_PUBNUB_H

#include <stddef.h>
#include <json-c/json.h>

#define RC_PUBNUB_TT_MAX 32

struct rc_pubnub_cursor {
	char tt[RC_PUBNUB_TT_MAX]; /* "0" before the first answer */
	int tr;                    /* region, 0 if unknown */
};

enum rc_pubnub_result {
	RC_PUBNUB_OK = 0,
	RC_PUBNUB_NOT_JSON,
	RC_PUBNUB_BAD_SHAPE,   /* no t.t, or m not an array, or a timetoken that is not digits */
	RC_PUBNUB_NOMEM,
};

const char *rc_pubnub_strerror(enum rc_pubnub_result r);

struct rc_pubnub_response {
	json_object *root;            /* owned */
	struct rc_pubnub_cursor next; /* where the next poll continues */
	json_object *messages;        /* borrowed: the m array (may be empty) */
	size_t n_messages;
};

/* Builds the subscribe URL (heap string, caller frees; NULL on no memory or bad input).
 * Path parts and query values are percent-encoded. */
char *rc_pubnub_subscribe_url(const char *origin, const char *subscribe_key,
		const char *channel, const struct rc_pubnub_cursor *cursor,
		const char *uuid, const char *pnsdk);

/* Parses a subscribe answer. On RC_PUBNUB_OK call rc_pubnub_response_clear(). */
enum rc_pubnub_result rc_pubnub_parse(const char *buf, size_t len, struct rc_pubnub_response *r);

/* The payload of message i: d as a string (encrypted notification, *is_string=1, *str and
 * *str_len set) or as an object (unencrypted, *obj set). Returns 0, or -1 if d is missing
 * or of another type. Borrowed pointers, valid until clear. */
int rc_pubnub_message_payload(const struct rc_pubnub_response *r, size_t i,
		int *is_string, const char **str, size_t *str_len, json_object **obj);

void rc_pubnub_response_clear(struct rc_pubnub_response *r);

#endif
