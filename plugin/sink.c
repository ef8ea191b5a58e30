/* sink.c - the transports' door to the pipeline, the outbox and the status (see rc_sink.h). */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "rc_sink.h"
#include "rc_strlist.h"

#define SINK_DROP_LOG_INTERVAL_MS 60000

int rc_sink_init(struct rc_sink *s, const struct rc_config *cfg, struct rc_outbox *outbox,
		size_t dedupe_capacity)
{
	*s = (struct rc_sink){ .outbox = outbox };
	return rc_pipeline_init(&s->pipeline, cfg, dedupe_capacity);
}

void rc_sink_destroy(struct rc_sink *s)
{
	rc_pipeline_destroy(&s->pipeline);
	free(s->recent);
	s->recent = NULL;
}

static void sink__log_drop(struct rc_sink *s, enum rc_drop_cause cause, const char *detail,
		int64_t now)
{
	s->drops_since_log[cause]++;
	/* Once per cause per minute: a flood of bad input must not flood the log. */
	if (s->drop_logged_at[cause] != 0 && now - s->drop_logged_at[cause] < SINK_DROP_LOG_INTERVAL_MS)
		return;
	rc_outbox_log(s->outbox, RC_LOG_WARNING,
			"ringcentral: skipped %" PRIu64 " notification(s): %s%s%s",
			s->drops_since_log[cause], rc_drop_cause_name(cause),
			detail[0] ? " event=" : "", detail);
	s->drop_logged_at[cause] = now;
	s->drops_since_log[cause] = 0;
}

void rc_sink_drop(struct rc_sink *s, enum rc_drop_cause cause, const char *detail, int64_t now)
{
	rc_outbox_lock(s->outbox);
	rc_status_count(&s->outbox->status, RC_COUNT_RECEIVED, 1);
	rc_status_count_drop(&s->outbox->status, cause);
	s->outbox->status_dirty = true;
	rc_outbox_unlock(s->outbox);
	sink__log_drop(s, cause, detail, now);
}

/* The ring slot the next push goes to (the oldest is overwritten when full). */
static struct rc_sink_pushed *sink__next_recent(struct rc_sink *s)
{
	return &s->recent[(s->recent_head + s->recent_n) % s->recent_cap];
}

static void sink__add_recent(struct rc_sink *s)
{
	if (s->recent_n < s->recent_cap)
		s->recent_n++;
	else
		s->recent_head = (s->recent_head + 1) % s->recent_cap;
}

/* Returns true if the outbox took m. */
static bool sink__push(struct rc_sink *s, struct rc_outbox_msg *m)
{
	struct rc_sink_pushed *slot = NULL;

	/* The uuid is copied before the push: from then on the broker thread owns m. The
	 * pipeline never lets a longer uuid through. */
	if (s->recent != NULL && strlen(m->uuid) <= RC_DEDUPE_UUID_MAX) {
		slot = sink__next_recent(s);
		strcpy(slot->uuid, m->uuid);
	}
	uint64_t seq = rc_outbox_push(s->outbox, m);
	if (seq == 0) {
		/* Cannot happen while the transports wait for room; counted if it ever does. */
		rc_outbox_count_drop(s->outbox, RC_DROP_NOMEM, 1);
	} else if (slot != NULL) {
		slot->seq = seq;
		sink__add_recent(s);
	}
	return seq != 0;
}

void rc_sink_deliver(struct rc_sink *s, const char *str, size_t len, json_object *obj,
		int64_t now)
{
	struct rc_outbox_msg *m = NULL;
	enum rc_drop_cause cause = RC_DROP_BAD_PAYLOAD;
	char detail[96];
	enum rc_pipeline_result pr;

	detail[0] = '\0';
	pr = rc_pipeline_process(&s->pipeline, str, len, obj, &m, &cause, detail, sizeof(detail));

	/* One lock for the counters of this notification, whatever became of it. */
	rc_outbox_lock(s->outbox);
	rc_status_count(&s->outbox->status, RC_COUNT_RECEIVED, 1);
	if (pr == RC_PIPE_DUPLICATE)
		rc_status_count(&s->outbox->status, RC_COUNT_DUPLICATES, 1);
	else if (pr == RC_PIPE_DROP)
		rc_status_count_drop(&s->outbox->status, cause);
	s->outbox->status_dirty = true;
	rc_outbox_unlock(s->outbox);

	if (pr == RC_PIPE_DROP) {
		sink__log_drop(s, cause, detail, now);
	} else if (pr == RC_PIPE_PUBLISH) {
		if (s->on_publish != NULL)
			s->on_publish(s->on_publish_arg, m->event, strlen(m->event));
		sink__push(s, m);
	}
}

bool rc_sink_inject(struct rc_sink *s, json_object *obj, const char *source, int64_t now)
{
	struct rc_outbox_msg *m = NULL;
	enum rc_drop_cause cause = RC_DROP_BAD_PAYLOAD;
	char detail[96];

	detail[0] = '\0';
	enum rc_pipeline_result pr = rc_pipeline_process(&s->pipeline, NULL, 0, obj, &m, &cause,
			detail, sizeof(detail));
	if (pr != RC_PIPE_PUBLISH) {
		if (pr == RC_PIPE_DROP)
			sink__log_drop(s, cause, detail, now);
		return false;
	}
	if (source != NULL && (m->source = strdup(source)) == NULL) {
		rc_outbox_msg_free(m);
		return false;
	}
	return sink__push(s, m);
}

uint64_t rc_sink_mark(struct rc_sink *s)
{
	return rc_outbox_last_pushed(s->outbox);
}

uint64_t rc_sink_confirmed(struct rc_sink *s)
{
	return rc_outbox_confirmed(s->outbox);
}

int rc_sink_keep_recent(struct rc_sink *s, size_t capacity)
{
	free(s->recent);
	s->recent_head = s->recent_n = 0;
	s->recent_cap = capacity;
	s->recent = capacity > 0 ? calloc(capacity, sizeof(*s->recent)) : NULL;
	if (s->recent == NULL)
		s->recent_cap = 0;
	return capacity == 0 || s->recent != NULL ? 0 : -1;
}

char **rc_sink_recent_confirmed(struct rc_sink *s, size_t *n)
{
	uint64_t confirmed = rc_sink_confirmed(s);
	size_t count = 0;
	char **list;

	*n = 0;
	/* Sequence numbers grow along the ring: the confirmed ones are a prefix. */
	while (count < s->recent_n &&
			s->recent[(s->recent_head + count) % s->recent_cap].seq <= confirmed)
		count++;
	if (count == 0 || (list = calloc(count + 1, sizeof(*list))) == NULL)
		return NULL;
	for (size_t i = 0; i < count; i++) {
		list[i] = strdup(s->recent[(s->recent_head + i) % s->recent_cap].uuid);
		if (list[i] == NULL) {
			rc_strlist_free(list);
			return NULL;
		}
	}
	*n = count;
	return list;
}

void rc_sink_remember(struct rc_sink *s, char *const *uuids, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (strlen(uuids[i]) > RC_DEDUPE_UUID_MAX)
			continue;
		rc_dedupe_check_and_add(s->pipeline.dedupe, uuids[i]);
		if (s->recent != NULL) {
			struct rc_sink_pushed *slot = sink__next_recent(s);
			slot->seq = 0;
			strcpy(slot->uuid, uuids[i]);
			sink__add_recent(s);
		}
	}
}

size_t rc_sink_room(struct rc_sink *s)
{
	return rc_outbox_room(s->outbox);
}

int rc_sink_set_key(struct rc_sink *s, const char *b64)
{
	return rc_pipeline_set_key(&s->pipeline, b64);
}

void rc_sink_count(struct rc_sink *s, enum rc_counter c)
{
	rc_outbox_count(s->outbox, c, 1);
}

void rc_sink_log(struct rc_sink *s, enum rc_log_level level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	rc_outbox_log(s->outbox, level, "ringcentral: %s", line);
}

void rc_sink_error(struct rc_sink *s, enum rc_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->error, sizeof(s->error), fmt, ap);
	va_end(ap);
	s->has_error = true;
	s->changed = true;
	rc_outbox_log(s->outbox, level, "ringcentral: %s", s->error);
}

void rc_sink_changed(struct rc_sink *s)
{
	s->changed = true;
}
