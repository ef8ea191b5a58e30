/* rc_outbox.h - the only door between the worker thread and the broker thread.
 *
 * The worker pushes ready-to-publish MQTT messages and log lines; the broker thread takes
 * everything at once on each TICK (one short critical section, then publishing outside the
 * lock), so throughput is not bounded by the tick rate. The queue is bounded: the worker
 * asks for room before it fetches more notifications, so a slow broker slows the fetching
 * instead of losing messages. The shared status struct lives here too, under the same lock. */
#ifndef RC_OUTBOX_H
#define RC_OUTBOX_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include "rc_status.h"

enum rc_log_level { RC_LOG_ERR, RC_LOG_WARNING, RC_LOG_NOTICE, RC_LOG_INFO, RC_LOG_DEBUG };

struct rc_outbox_msg {
	struct rc_outbox_msg *next;
	char *topic;
	char *payload;
	size_t payload_len;
	char *event;            /* MQTT v5 user properties */
	char *uuid;
	char *subscription_id;
};

struct rc_outbox_log {
	struct rc_outbox_log *next;
	enum rc_log_level level;
	char text[];
};

struct rc_outbox {
	pthread_mutex_t lock;
	struct rc_outbox_msg *msgs, *msgs_tail;
	size_t n_msgs, max_msgs;
	struct rc_outbox_log *logs, *logs_tail;
	size_t n_logs, max_logs, logs_dropped;
	struct rc_status status;   /* guarded by lock */
	bool status_dirty;
};

int rc_outbox_init(struct rc_outbox *ob, size_t max_msgs);
void rc_outbox_destroy(struct rc_outbox *ob);

/* How many more messages fit right now. */
size_t rc_outbox_room(struct rc_outbox *ob);

/* Takes ownership of m (allocated with malloc, fields too). Returns false (and frees m)
 * if the queue is full. */
bool rc_outbox_push(struct rc_outbox *ob, struct rc_outbox_msg *m);
void rc_outbox_msg_free(struct rc_outbox_msg *m);

/* Queues a log line (truncated to 1 KiB). Never blocks for long; lines beyond the bound are
 * counted and reported later. */
void rc_outbox_log(struct rc_outbox *ob, enum rc_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Detaches everything queued; the caller walks and frees the lists. *logs_dropped reports
 * (and resets) how many log lines did not fit. */
void rc_outbox_take(struct rc_outbox *ob, struct rc_outbox_msg **msgs,
		struct rc_outbox_log **logs, size_t *logs_dropped);

/* Counter changes: lock, count, mark the status dirty, unlock. */
void rc_outbox_count(struct rc_outbox *ob, enum rc_counter c, uint64_t n);
void rc_outbox_count_drop(struct rc_outbox *ob, enum rc_drop_cause cause, uint64_t n);

/* Other status access: lock, change ob->status, set status_dirty, unlock. */
void rc_outbox_lock(struct rc_outbox *ob);
void rc_outbox_unlock(struct rc_outbox *ob);

#endif
