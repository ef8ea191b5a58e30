/* state_file.c - saving and loading the subscription across restarts (see rc_state_file.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>
#include "rc_file_replace.h"
#include "rc_json.h"
#include "rc_state_file.h"
#include "rc_strlist.h"

#define RC_STATE_FILE_MAX (1024 * 1024)

void rc_saved_state_clear(struct rc_saved_state *s)
{
	free(s->subscription_id);
	rc_strlist_free(s->event_filters);
	free(s->address);
	rc_strlist_free(s->owned);
	rc_strlist_free(s->delivered);
	*s = (struct rc_saved_state){0};
}

static int state__parse(json_object *root, struct rc_saved_state *s)
{
	json_object *id, *filters, *address, *tt, *tr;

	/* subscription_id null: no subscription to resume, only ids of ours to remember. */
	if (!json_object_is_type(root, json_type_object) ||
			!json_object_object_get_ex(root, "subscription_id", &id) ||
			(!json_object_is_type(id, json_type_null) &&
			 (!json_object_is_type(id, json_type_string) || json_object_get_string_len(id) == 0)) ||
			!json_object_object_get_ex(root, "event_filters", &filters) ||
			!json_object_is_type(filters, json_type_array))
		return -1;

	if (id != NULL && json_object_is_type(id, json_type_string) &&
			(s->subscription_id = strdup(json_object_get_string(id))) == NULL)
		return -1;
	if (rc_json_read_strings(filters, &s->event_filters, &s->n_event_filters) != 0)
		return -1;

	strcpy(s->cursor.tt, "0");
	if (json_object_object_get_ex(root, "pubnub_address", &address) &&
			json_object_is_type(address, json_type_string)) {
		s->address = strdup(json_object_get_string(address));
		if (s->address == NULL)
			return -1;
	}
	if (json_object_object_get_ex(root, "pubnub_timetoken", &tt) &&
			json_object_is_type(tt, json_type_string)) {
		const char *t = json_object_get_string(tt);
		size_t len = strlen(t);
		if (len == 0 || len >= sizeof(s->cursor.tt) || strspn(t, "0123456789") != len)
			return -1;
		memcpy(s->cursor.tt, t, len + 1);
	}
	if (json_object_object_get_ex(root, "pubnub_region", &tr))
		s->cursor.tr = json_object_get_int(tr);
	/* Absent in files written before it existed: nothing is known to be ours. */
	json_object *owned;
	if (json_object_object_get_ex(root, "owned_subscriptions", &owned)) {
		if (!json_object_is_type(owned, json_type_array))
			return -1;
		for (size_t i = 0; i < json_object_array_length(owned); i++) {
			json_object *o = json_object_array_get_idx(owned, i);
			if (!json_object_is_type(o, json_type_string) ||
					rc_strlist_add_unique(&s->owned, &s->n_owned, json_object_get_string(o)) != 0)
				return -1;
		}
	}
	/* Absent in files written before it existed: nothing to suppress. */
	json_object *delivered;
	if (json_object_object_get_ex(root, "delivered_uuids", &delivered)) {
		size_t nd = json_object_is_type(delivered, json_type_array) ?
				json_object_array_length(delivered) : 0;
		if (!json_object_is_type(delivered, json_type_array) || nd > RC_STATE_DELIVERED_MAX)
			return -1;
		if (nd > 0 && (s->delivered = calloc(nd + 1, sizeof(char *))) == NULL)
			return -1;
		for (size_t i = 0; i < nd; i++) {
			json_object *u = json_object_array_get_idx(delivered, i);
			if (!json_object_is_type(u, json_type_string) ||
					json_object_get_string_len(u) == 0 ||
					(s->delivered[i] = strdup(json_object_get_string(u))) == NULL)
				return -1;
			s->n_delivered = i + 1;
		}
	}
	return 0;
}

enum rc_state_load rc_state_file_load(const char *path, struct rc_saved_state *s, char *err,
		size_t errlen)
{
	*s = (struct rc_saved_state){0};

	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		if (errno == ENOENT)
			return RC_STATE_ABSENT;
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return RC_STATE_UNUSABLE;
	}
	char *buf = malloc(RC_STATE_FILE_MAX + 1);
	size_t len = buf != NULL ? fread(buf, 1, RC_STATE_FILE_MAX + 1, f) : 0;
	fclose(f);
	if (buf == NULL || len > RC_STATE_FILE_MAX) {
		free(buf);
		snprintf(err, errlen, "%s is too large or memory is short", path);
		return RC_STATE_UNUSABLE;
	}
	buf[len] = '\0';

	json_object *root = NULL;
	rc_json_parse(buf, len, &root);
	free(buf);
	int rc = root != NULL ? state__parse(root, s) : -1;
	json_object_put(root);
	if (rc != 0) {
		rc_saved_state_clear(s);
		snprintf(err, errlen, "%s is not a valid state file", path);
		return RC_STATE_UNUSABLE;
	}
	return RC_STATE_LOADED;
}

static char *state__render(const struct rc_saved_state *s)
{
	json_object *root = json_object_new_object();
	json_object *filters = rc_json_strings(s->event_filters, s->n_event_filters);
	char *out = NULL;

	if (root == NULL || filters == NULL) {
		json_object_put(root);
		json_object_put(filters);
		return NULL;
	}
	json_object_object_add(root, "version", json_object_new_int(1));
	json_object_object_add(root, "subscription_id", s->subscription_id != NULL ?
			json_object_new_string(s->subscription_id) : NULL);
	json_object_object_add(root, "event_filters", filters);
	if (s->address != NULL)
		json_object_object_add(root, "pubnub_address", json_object_new_string(s->address));
	if (s->cursor.tt[0] != '\0') {
		json_object_object_add(root, "pubnub_timetoken", json_object_new_string(s->cursor.tt));
		json_object_object_add(root, "pubnub_region", json_object_new_int(s->cursor.tr));
	}
	/* Short of memory for a list, no file at all: one that forgot the bridge's own
	 * subscriptions would leave them behind on RingCentral for good. */
	json_object *owned = rc_json_strings(s->owned, s->n_owned);
	if (owned == NULL) {
		json_object_put(root);
		return NULL;
	}
	json_object_object_add(root, "owned_subscriptions", owned);
	if (s->n_delivered > 0) {
		json_object *delivered = rc_json_strings(s->delivered, s->n_delivered);
		if (delivered == NULL) {
			json_object_put(root);
			return NULL;
		}
		json_object_object_add(root, "delivered_uuids", delivered);
	}
	const char *text = json_object_to_json_string_ext(root,
			JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (text != NULL)
		out = strdup(text);
	json_object_put(root);
	return out;
}

int rc_state_file_save(const char *path, const struct rc_saved_state *s, char *err, size_t errlen)
{
	char *text = state__render(s);

	if (text == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	size_t len = strlen(text);
	char *line = realloc(text, len + 2);   /* the file ends with a newline */
	if (line == NULL) {
		free(text);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	line[len] = '\n';
	line[len + 1] = '\0';
	/* 0600: it holds the subscription's PubNub keys. */
	int rc = rc_file_replace(path, line, len + 1, 0600, err, errlen);
	free(line);
	return rc;
}

void rc_state_file_remove(const char *path)
{
	unlink(path);
}
