/* rc_sink.h - where a transport's results go: the narrow door from the worker thread's
 * network code to the rest of the bridge.
 *
 * A transport hands over each raw notification (rc_sink_deliver): the pipeline decrypts,
 * validates, de-duplicates and maps it, and the outbox takes it to the broker thread.
 * Skipped input is counted under its cause and logged at most once a minute per cause.
 * Transports also log, count and report errors here; rc_sink_error/rc_sink_changed only
 * note that the bridge's status must be derived again, which the worker does once per
 * loop turn (it alone knows the whole state). Worker thread only. */
#ifndef RC_SINK_H
#define RC_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>
#include "rc_config.h"
#include "rc_dedupe.h"
#include "rc_outbox.h"
#include "rc_pipeline.h"
#include "rc_status.h"

/* One notification that was pushed to the outbox, for the state file (see below). */
struct rc_sink_pushed {
	uint64_t seq;                                /* 0: entered the broker in an earlier run */
	char uuid[RC_DEDUPE_UUID_MAX + 1];
};

struct rc_sink {
	struct rc_outbox *outbox;                    /* borrowed */
	struct rc_pipeline pipeline;                 /* owned */
	int64_t drop_logged_at[RC_DROP_CAUSE_COUNT];
	uint64_t drops_since_log[RC_DROP_CAUSE_COUNT];
	bool changed;                                /* the status must be derived again */
	bool has_error;                              /* error holds a new last_error */
	char error[RC_STATUS_TEXT_MAX];
	/* Told the event of every notification the pipeline publishes (NULL: nobody). */
	void (*on_publish)(void *arg, const char *event, size_t len);
	void *on_publish_arg;
	/* The last notifications pushed, oldest first (a ring; NULL unless kept). */
	struct rc_sink_pushed *recent;
	size_t recent_cap, recent_head, recent_n;
};

/* Returns 0, or -1 on no memory. */
int rc_sink_init(struct rc_sink *s, const struct rc_config *cfg, struct rc_outbox *outbox,
		size_t dedupe_capacity);
void rc_sink_destroy(struct rc_sink *s);

/* One notification: its text (str, len), an already parsed object (obj, str NULL), or
 * both (see rc_pipeline_process). */
void rc_sink_deliver(struct rc_sink *s, const char *str, size_t len, json_object *obj,
		int64_t now);
/* A notification the bridge made itself (obj, borrowed: e.g. a presence read over REST,
 * rc_ha_state.h): the same pipeline, topic and topic_map rule as a delivered one, the
 * message marked with source (its `source` user property), but neither counted as
 * received nor told to on_publish. Returns true if it was pushed. */
bool rc_sink_inject(struct rc_sink *s, json_object *obj, const char *source, int64_t now);
/* A notification that could not even be handed to the pipeline. detail: printable, "" if
 * none. */
void rc_sink_drop(struct rc_sink *s, enum rc_drop_cause cause, const char *detail, int64_t now);

/* How many more notifications the outbox takes now: a transport reads no more than this. */
size_t rc_sink_room(struct rc_sink *s);

/* The subscription's encryption key (base64), or NULL for clear notifications. */
int rc_sink_set_key(struct rc_sink *s, const char *b64);

/* Positions (rc_outbox.h, rc_checkpoint.h): the sequence number of the last notification
 * pushed, and the number up to which everything has entered the broker. */
uint64_t rc_sink_mark(struct rc_sink *s);
uint64_t rc_sink_confirmed(struct rc_sink *s);

/* With a saved position, the de-duplication memory must survive a restart with it: what
 * is fetched again from the saved position and already entered the broker must not be
 * published twice. rc_sink_keep_recent makes the sink remember the uuids of the last
 * `capacity` notifications it pushed (0 or -1 on no memory); rc_sink_recent_confirmed
 * gives those of them that entered the broker, oldest first, as a new NULL-terminated
 * list (NULL with *n 0 if none or no memory); rc_sink_remember takes such a list from the
 * previous run: those uuids count as published. */
int rc_sink_keep_recent(struct rc_sink *s, size_t capacity);
char **rc_sink_recent_confirmed(struct rc_sink *s, size_t *n);
void rc_sink_remember(struct rc_sink *s, char *const *uuids, size_t n);

void rc_sink_count(struct rc_sink *s, enum rc_counter c);
/* Logs a line ("ringcentral: " prepended). */
void rc_sink_log(struct rc_sink *s, enum rc_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Logs the message ("ringcentral: " prepended) and makes it the status's last_error. */
void rc_sink_error(struct rc_sink *s, enum rc_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Something the status derives from changed (online, subscription). */
void rc_sink_changed(struct rc_sink *s);

#endif
