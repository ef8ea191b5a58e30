/* rc_wsg.h - RingCentral's WebSocket gateway (WSG) protocol, as frames.
 *
 * Every WSG frame is a JSON array [header, body]. The header's `type` says what it is
 * (ConnectionDetails, ClientRequest, ServerNotification, Heartbeat, Error); answers to our
 * ClientRequests come back with the same `messageId` and an HTTP-like `status`; any
 * frame may carry a newer `wsc` {token, sequence} for connection recovery. This module
 * builds our frames and parses the server's; the socket itself is the transport's job.
 * Pure: strings in, structs out. */
#ifndef RC_WSG_H
#define RC_WSG_H

#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>
#include "rc_json.h"

enum rc_wsg_type {
	RC_WSG_UNKNOWN = 0,
	RC_WSG_CONNECTION_DETAILS,
	RC_WSG_CLIENT_REQUEST,       /* the answer to one of our requests */
	RC_WSG_SERVER_NOTIFICATION,
	RC_WSG_HEARTBEAT,
	RC_WSG_ERROR,
};

#define RC_WSG_ID_MAX 64
#define RC_WSG_WSC_MAX 512

struct rc_wsg_frame {
	json_object *root;              /* owned: the whole [header, body] array */
	enum rc_wsg_type type;
	char message_id[RC_WSG_ID_MAX]; /* "" if absent */
	int status;                     /* 0 if absent */
	char wsc_token[RC_WSG_WSC_MAX]; /* "" if this frame carries no wsc */
	int64_t wsc_sequence;
	json_object *body;              /* borrowed from root; NULL if absent or null */
	/* The body exactly as it appeared in the frame (borrowed from the parsed buffer), so
	 * a notification is republished byte for byte; NULL unless the frame is
	 * [header, body]. */
	const char *body_text;
	size_t body_len;
};

enum rc_wsg_result {
	RC_WSG_OK = 0,
	RC_WSG_NOT_JSON,
	RC_WSG_BAD_SHAPE,   /* not [header, body?] with an object header and a string type */
	RC_WSG_NOMEM,
};

/* Readies r (rc_json.h) for the frames of a stream: the header and the body are read one
 * level inside the frame's list. The caller frees it with rc_json_reader_destroy. */
void rc_wsg_reader_init(struct rc_json_reader *r);

/* Parses one text frame with the caller's reader (rc_wsg_reader_init; reused frame after
 * frame). On RC_WSG_OK call rc_wsg_frame_clear(); body_text points into buf, which must
 * outlive the frame's use. */
enum rc_wsg_result rc_wsg_parse(struct rc_json_reader *r, const char *buf, size_t len,
		struct rc_wsg_frame *f);
void rc_wsg_frame_clear(struct rc_wsg_frame *f);

enum rc_wsg_recovery {
	RC_WSG_RECOVERY_NONE = 0,    /* not a recovery attempt (no recoveryState) */
	RC_WSG_RECOVERY_SUCCESSFUL,  /* the session continues; missed events follow */
	RC_WSG_RECOVERY_FAILED,      /* a new session: subscribe again */
};

/* The recovery state a ConnectionDetails body reports. */
enum rc_wsg_recovery rc_wsg_recovery_state(const struct rc_wsg_frame *f);

/* [{"type":"ClientRequest","messageId":id,"method":m,"path":p}, body] as a heap string
 * (the caller frees). body may be NULL (sent as {}). */
char *rc_wsg_client_request(const char *message_id, const char *method, const char *path,
		json_object *body);

/* [{"type":"Heartbeat","messageId":id}] as a heap string. */
char *rc_wsg_heartbeat(const char *message_id);

/* The connect URL: uri?access_token=..[&wsc=..], values percent-encoded. Heap string. */
char *rc_wsg_connect_url(const char *uri, const char *ws_access_token, const char *wsc_token);

#endif
