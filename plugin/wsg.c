/* wsg.c - building and parsing WebSocket gateway frames (see rc_wsg.h). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include "rc_http.h"
#include "rc_wsg.h"
#include "rc_json.h"


static const struct {
	const char *name;
	enum rc_wsg_type type;
} wsg_types[] = {
	{ "ConnectionDetails", RC_WSG_CONNECTION_DETAILS },
	{ "ClientRequest", RC_WSG_CLIENT_REQUEST },
	{ "ServerNotification", RC_WSG_SERVER_NOTIFICATION },
	{ "Heartbeat", RC_WSG_HEARTBEAT },
	{ "Error", RC_WSG_ERROR },
};

void rc_wsg_frame_clear(struct rc_wsg_frame *f)
{
	json_object_put(f->root);
	*f = (struct rc_wsg_frame){0};
}

static void wsg__copy(char *dst, size_t len, json_object *s)
{
	snprintf(dst, len, "%s", json_object_get_string(s));
}

static size_t wsg__skip_space(const char *buf, size_t len, size_t i)
{
	while (i < len && rc_json_is_space(buf[i]))
		i++;
	return i;
}

void rc_wsg_reader_init(struct rc_json_reader *r)
{
	rc_json_reader_init(r, 1);
}

/* The common frame, [header, body] or [header], read element by element with the
 * caller's reader: one pass over the text, no second parse to find where the body's text
 * lies, and no tokener allocated per frame. Returns the array (owned) with body_text set
 * for [header, body], or NULL for anything else (other shapes, invalid JSON, no memory),
 * which the caller then parses whole to say which it is. */
static json_object *wsg__read_list(struct rc_json_reader *r, const char *buf, size_t len,
		struct rc_wsg_frame *f)
{
	json_object *header = NULL, *body = NULL, *root;
	size_t i = wsg__skip_space(buf, len, 0), used, body_at = 0, body_end = 0;
	bool has_body = false;

	if (i >= len || buf[i] != '[')
		return NULL;
	i++;
	if (rc_json_read_value(r, buf + i, len - i, &header, &used) != RC_JSON_OK)
		return NULL;
	i = wsg__skip_space(buf, len, i + used);
	if (!json_object_is_type(header, json_type_object) || i >= len)
		goto other;
	if (buf[i] == ',') {
		body_at = wsg__skip_space(buf, len, i + 1);
		if (rc_json_read_value(r, buf + body_at, len - body_at, &body, &used) != RC_JSON_OK)
			goto other;
		/* json-c's end of a value takes in the whitespace after it. */
		body_end = body_at + used;
		while (body_end > body_at && rc_json_is_space(buf[body_end - 1]))
			body_end--;
		i = wsg__skip_space(buf, len, body_end);
		has_body = true;
	}
	if (i >= len || buf[i] != ']' || wsg__skip_space(buf, len, i + 1) != len)
		goto other;
	root = json_object_new_array_ext(2);
	if (root == NULL || json_object_array_add(root, header) != 0)
		goto nomem;
	header = NULL;
	if (has_body) {
		if (json_object_array_add(root, body) != 0)
			goto nomem;
		f->body_text = buf + body_at;
		f->body_len = body_end - body_at;
	}
	return root;
nomem:
	json_object_put(root);
other:
	json_object_put(header);
	json_object_put(body);
	return NULL;
}

enum rc_wsg_result rc_wsg_parse(struct rc_json_reader *r, const char *buf, size_t len,
		struct rc_wsg_frame *f)
{
	json_object *header, *v, *wsc;
	json_object *root;

	*f = (struct rc_wsg_frame){0};
	root = wsg__read_list(r, buf, len, f);
	if (root == NULL) {
		f->body_text = NULL;
		f->body_len = 0;
		switch (rc_json_parse(buf, len, &root)) {
		case RC_JSON_OK: break;
		case RC_JSON_NOMEM: return RC_WSG_NOMEM;
		case RC_JSON_INVALID: return RC_WSG_NOT_JSON;
		}
	}
	header = json_object_is_type(root, json_type_array) && json_object_array_length(root) >= 1 ?
			json_object_array_get_idx(root, 0) : NULL;
	if (!json_object_is_type(header, json_type_object) ||
			!json_object_object_get_ex(header, "type", &v) ||
			!json_object_is_type(v, json_type_string)) {
		json_object_put(root);
		return RC_WSG_BAD_SHAPE;
	}
	f->root = root;
	for (size_t i = 0; i < sizeof(wsg_types) / sizeof(wsg_types[0]); i++)
		if (strcmp(json_object_get_string(v), wsg_types[i].name) == 0)
			f->type = wsg_types[i].type;
	if (json_object_object_get_ex(header, "messageId", &v) && json_object_is_type(v, json_type_string))
		wsg__copy(f->message_id, sizeof(f->message_id), v);
	if (json_object_object_get_ex(header, "status", &v) && json_object_is_type(v, json_type_int))
		f->status = json_object_get_int(v);
	if (json_object_object_get_ex(header, "wsc", &wsc) && json_object_is_type(wsc, json_type_object) &&
			json_object_object_get_ex(wsc, "token", &v) && json_object_is_type(v, json_type_string)) {
		wsg__copy(f->wsc_token, sizeof(f->wsc_token), v);
		if (json_object_object_get_ex(wsc, "sequence", &v))
			f->wsc_sequence = json_object_get_int64(v);
	}
	f->body = json_object_array_length(root) >= 2 ? json_object_array_get_idx(root, 1) : NULL;
	return RC_WSG_OK;
}

enum rc_wsg_recovery rc_wsg_recovery_state(const struct rc_wsg_frame *f)
{
	json_object *v;

	if (f->type != RC_WSG_CONNECTION_DETAILS || !json_object_is_type(f->body, json_type_object) ||
			!json_object_object_get_ex(f->body, "recoveryState", &v) ||
			!json_object_is_type(v, json_type_string))
		return RC_WSG_RECOVERY_NONE;
	return strcmp(json_object_get_string(v), "Successful") == 0 ? RC_WSG_RECOVERY_SUCCESSFUL :
			RC_WSG_RECOVERY_FAILED;
}

static char *wsg__render(json_object *frame)
{
	const char *text = json_object_to_json_string_ext(frame,
			JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	char *out = text != NULL ? strdup(text) : NULL;

	json_object_put(frame);
	return out;
}

/* [{"type":type,"messageId":id}] with room for more header fields and a body. NULL on no
 * memory; *header is borrowed from the returned frame. */
static json_object *wsg__frame(const char *type, const char *message_id, json_object **header)
{
	json_object *frame = json_object_new_array();

	*header = json_object_new_object();
	if (frame == NULL || *header == NULL) {
		json_object_put(frame);
		json_object_put(*header);
		return NULL;
	}
	json_object_object_add(*header, "type", json_object_new_string(type));
	json_object_object_add(*header, "messageId", json_object_new_string(message_id));
	json_object_array_add(frame, *header);
	return frame;
}

char *rc_wsg_client_request(const char *message_id, const char *method, const char *path,
		json_object *body)
{
	json_object *header;
	json_object *frame = wsg__frame("ClientRequest", message_id, &header);

	if (frame == NULL)
		return NULL;
	json_object_object_add(header, "method", json_object_new_string(method));
	json_object_object_add(header, "path", json_object_new_string(path));
	json_object_array_add(frame, body != NULL ? json_object_get(body) : json_object_new_object());
	return wsg__render(frame);
}

char *rc_wsg_heartbeat(const char *message_id)
{
	json_object *header;
	json_object *frame = wsg__frame("Heartbeat", message_id, &header);

	return frame != NULL ? wsg__render(frame) : NULL;
}

char *rc_wsg_connect_url(const char *uri, const char *ws_access_token, const char *wsc_token)
{
	char *token = rc_url_escape(ws_access_token);
	char *wsc = wsc_token != NULL && wsc_token[0] != '\0' ? rc_url_escape(wsc_token) : NULL;
	char *url = NULL;

	if (token != NULL && (wsc_token == NULL || wsc_token[0] == '\0' || wsc != NULL) &&
			asprintf(&url, "%s%saccess_token=%s%s%s", uri, strchr(uri, '?') ? "&" : "?", token,
				wsc != NULL ? "&wsc=" : "", wsc != NULL ? wsc : "") < 0)
		url = NULL;
	curl_free(token);
	curl_free(wsc);
	return url;
}
