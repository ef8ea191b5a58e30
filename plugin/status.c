/* status.c - rendering the bridge status JSON and keeping its counters (see rc_status.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "rc_rest.h"
#include "rc_status.h"
#include "rc_version.h"

static const char *const drop_names[RC_DROP_CAUSE_COUNT] = {
	[RC_DROP_TOO_LARGE] = "too_large",
	[RC_DROP_BAD_PAYLOAD] = "bad_payload",
	[RC_DROP_BAD_BASE64] = "bad_base64",
	[RC_DROP_BAD_LENGTH] = "bad_length",
	[RC_DROP_BAD_PADDING] = "bad_padding",
	[RC_DROP_NOT_JSON] = "not_json",
	[RC_DROP_NOT_OBJECT] = "not_object",
	[RC_DROP_NO_UUID] = "no_uuid",
	[RC_DROP_NO_EVENT] = "no_event",
	[RC_DROP_BAD_BODY] = "bad_body",
	[RC_DROP_TOPIC_NOT_PATH] = "topic_not_path",
	[RC_DROP_TOPIC_WILDCARD] = "topic_wildcard",
	[RC_DROP_TOPIC_NUL] = "topic_nul",
	[RC_DROP_TOPIC_BAD_UTF8] = "topic_bad_utf8",
	[RC_DROP_TOPIC_EMPTY_LEVEL] = "topic_empty_level",
	[RC_DROP_TOPIC_DOT_LEVEL] = "topic_dot_level",
	[RC_DROP_TOPIC_TOO_LONG] = "topic_too_long",
	[RC_DROP_PUBLISH_FAILED] = "publish_failed",
	[RC_DROP_NOMEM] = "out_of_memory",
	[RC_DROP_TOPIC_RESERVED] = "topic_reserved",
	[RC_DROP_UUID_TOO_LONG] = "uuid_too_long",
};

const char *rc_drop_cause_name(enum rc_drop_cause c)
{
	return (unsigned)c < RC_DROP_CAUSE_COUNT ? drop_names[c] : "unknown";
}

bool rc_drop_cause_is_decrypt(enum rc_drop_cause c)
{
	return c == RC_DROP_BAD_BASE64 || c == RC_DROP_BAD_LENGTH || c == RC_DROP_BAD_PADDING;
}

void rc_status_set_filters(struct rc_status *s, char *const *filters, size_t n)
{
	char **copy = calloc(n + 1, sizeof(*copy));

	if (copy == NULL)
		return; /* keeps the old list: stale beats absent */
	for (size_t i = 0; i < n; i++) {
		copy[i] = strdup(filters[i]);
		if (copy[i] == NULL) {
			for (size_t j = 0; j < i; j++)
				free(copy[j]);
			free(copy);
			return;
		}
	}
	if (s->event_filters != NULL) {
		for (char **f = s->event_filters; *f != NULL; f++)
			free(*f);
		free(s->event_filters);
	}
	s->event_filters = copy;
}

void rc_status_count(struct rc_status *s, enum rc_counter c, uint64_t n)
{
	switch (c) {
	case RC_COUNT_RECEIVED: s->received += n; break;
	case RC_COUNT_PUBLISHED: s->published += n; break;
	case RC_COUNT_DUPLICATES: s->duplicates += n; break;
	case RC_COUNT_RENEWALS: s->renewals += n; break;
	case RC_COUNT_RECREATIONS: s->recreations += n; break;
	case RC_COUNT_RECONNECTS: s->reconnects += n; break;
	case RC_COUNT_RECOVERIES: s->recoveries += n; break;
	case RC_COUNT_RECOVERY_FAILURES: s->recovery_failures += n; break;
	}
}

void rc_status_published(struct rc_status *s, uint64_t n, int64_t now_ms)
{
	if (n == 0)
		return;
	s->published += n;
	s->last_notification_at_ms = now_ms;
}

void rc_status_count_drop(struct rc_status *s, enum rc_drop_cause c)
{
	if ((unsigned)c >= RC_DROP_CAUSE_COUNT)
		return;
	s->drops[c]++;
	s->dropped++;
	if (rc_drop_cause_is_decrypt(c))
		s->decrypt_errors++;
}

void rc_status_clear(struct rc_status *s)
{
	rc_status_set_filters(s, NULL, 0);
	free(s->event_filters);
	s->event_filters = NULL;
}

static void add_string_or_null(json_object *o, const char *key, const char *value)
{
	json_object_object_add(o, key,
			value != NULL && value[0] != '\0' ? json_object_new_string(value) : NULL);
}

static void add_u64(json_object *o, const char *key, uint64_t v)
{
	json_object_object_add(o, key, json_object_new_uint64(v));
}

char *rc_status_to_json(const struct rc_status *s, int64_t now_ms, size_t *len)
{
	json_object *o = json_object_new_object();
	json_object *filters = json_object_new_array();
	json_object *drops = json_object_new_object();
	char when[40];
	char *out = NULL;

	if (o == NULL || filters == NULL || drops == NULL) {
		json_object_put(o);
		json_object_put(filters);
		json_object_put(drops);
		return NULL;
	}
	json_object_object_add(o, "version", json_object_new_string(RC_VERSION));
	json_object_object_add(o, "state", json_object_new_string(s->online ? "online" : "offline"));
	add_string_or_null(o, "lifecycle", s->lifecycle);
	add_string_or_null(o, "transport", s->transport);
	add_string_or_null(o, "subscription_id", s->subscription_id);
	add_string_or_null(o, "expiration_time", s->expiration_time);
	for (char **f = s->event_filters; f != NULL && *f != NULL; f++)
		json_object_array_add(filters, json_object_new_string(*f));
	json_object_object_add(o, "event_filters", filters);
	add_string_or_null(o, "last_error", s->last_error);
	add_u64(o, "received", s->received);
	add_u64(o, "published", s->published);
	add_u64(o, "dropped", s->dropped);
	add_u64(o, "duplicates", s->duplicates);
	add_u64(o, "decrypt_errors", s->decrypt_errors);
	add_u64(o, "renewals", s->renewals);
	add_u64(o, "recreations", s->recreations);
	add_u64(o, "reconnects", s->reconnects);
	add_u64(o, "recoveries", s->recoveries);
	add_u64(o, "recovery_failures", s->recovery_failures);
	for (int c = 0; c < RC_DROP_CAUSE_COUNT; c++)
		if (s->drops[c] > 0)
			add_u64(drops, drop_names[c], s->drops[c]);
	json_object_object_add(o, "drop_causes", drops);
	rc_ms_to_iso8601(s->started_at_ms, when, sizeof(when));
	json_object_object_add(o, "started_at", json_object_new_string(when));
	if (s->last_notification_at_ms > 0) {
		rc_ms_to_iso8601(s->last_notification_at_ms, when, sizeof(when));
		json_object_object_add(o, "last_notification_at", json_object_new_string(when));
	} else {
		json_object_object_add(o, "last_notification_at", NULL);
	}
	rc_ms_to_iso8601(now_ms, when, sizeof(when));
	json_object_object_add(o, "updated_at", json_object_new_string(when));

	const char *text = json_object_to_json_string_ext(o,
			JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (text != NULL) {
		*len = strlen(text);
		out = strdup(text);
	}
	json_object_put(o);
	return out;
}
