/* rc_outbox.h - the only door between the worker thread and the broker thread.
 *
 * The worker pushes ready-to-publish MQTT messages and log lines; the broker thread takes
 * everything at once on each TICK (one short critical section, then publishing outside the
 * lock), so throughput is not bounded by the tick rate. The queue is bounded: the worker
 * asks for room before it fetches more notifications, so a slow broker slows the fetching
 * instead of losing messages. The shared status struct lives here too, under the same lock.
 *
 * Every message gets a sequence number when it is pushed (1, 2, 3, ...). The broker thread
 * reports which of them have certainly entered the broker (rc_outbox_confirm): Mosquitto
 * queues a plugin's message for its subscribers only at the start of its next loop
 * iteration, so a message counts as in the broker once the TICK after the one that handed
 * it over has come. A transport saves as its position only what is confirmed. */
#ifndef RC_OUTBOX_H
#define RC_OUTBOX_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "rc_broker_wake.h"
#include "rc_status.h"

enum rc_log_level { RC_LOG_ERR, RC_LOG_WARNING, RC_LOG_NOTICE, RC_LOG_INFO, RC_LOG_DEBUG };

struct rc_outbox_msg {
	struct rc_outbox_msg *next;
	char *topic;
	char *payload;
	size_t payload_len;
	char *event;            /* MQTT v5 user properties; NULL: not sent (a message that is */
	char *uuid;             /* not a notification: a response, a discovery config, ...) */
	char *subscription_id;
	char *source;           /* user property `source` (e.g. "rest": read, not notified); NULL: none */
	/* How it is published. With has_options false (calloc's zero) the configured qos and
	 * retain apply and nothing expires: every notification without a rule of its own. */
	bool has_options;
	int qos;                /* 0..2 */
	bool retain;
	uint32_t expiry_s;      /* MQTT v5 message expiry interval; 0: none */
	/* A message of the plugin's own (a control response, a discovery config), not a
	 * notification: it may use the outbox's reserve (RC_OUTBOX_OWN_RESERVE). */
	bool own;
	/* MQTT v5 correlation data echoed on a response; NULL: none. Owned. */
	unsigned char *correlation;
	size_t correlation_len;
	uint64_t seq;           /* set by rc_outbox_push */
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
	size_t bytes, max_bytes;   /* payload bytes queued; the bound rc_outbox_room applies */
	struct rc_outbox_log *logs, *logs_tail;
	size_t n_logs, max_logs, logs_dropped;
	uint64_t pushed;           /* the sequence number of the last message pushed */
	uint64_t confirmed;        /* every message up to this one has entered the broker */
	struct rc_status status;   /* guarded by lock */
	bool status_dirty;
	struct rc_broker_wake *wake;  /* borrowed; NULL: the broker looks on its own */
	long wake_interval_us;
	int log_level;             /* lines above it are not queued; __atomic access, no lock */
};

/* Messages of the plugin's own (own: control responses, discovery configs) may
 * exceed max_msgs by this much, so that a full outbox of notifications never loses them
 * (their producers are bounded on their own: e.g. the control API's request queue). */
#define RC_OUTBOX_OWN_RESERVE 256

int rc_outbox_init(struct rc_outbox *ob, size_t max_msgs);
void rc_outbox_destroy(struct rc_outbox *ob);

/* Bounds the payload bytes queued as well (default: no bound beyond the message count):
 * once they reach max_bytes, rc_outbox_room() answers 0 so that the worker stops fetching
 * until the broker thread has taken some. A push is still accepted up to the message count,
 * so a transport that asked for room before a fetch never loses what it fetched; the bound
 * may be exceeded by that one fetch. Without it, 10,000 large notifications (message-store
 * events of 16 KB) would hold 160 MB. Call before the worker starts. */
void rc_outbox_limit_bytes(struct rc_outbox *ob, size_t max_bytes);

/* How many more messages fit right now (0 when the byte bound is reached). */
size_t rc_outbox_room(struct rc_outbox *ob);

/* Takes ownership of m (allocated with malloc, fields too). Returns its sequence number
 * (the first message pushed is 1), or 0 (and frees m) if the queue is full (for a message
 * of the plugin's own: beyond max_msgs + RC_OUTBOX_OWN_RESERVE). */
uint64_t rc_outbox_push(struct rc_outbox *ob, struct rc_outbox_msg *m);
void rc_outbox_msg_free(struct rc_outbox_msg *m);

/* Queues a log line (truncated to 1 KiB) unless its level is above the outbox's log
 * level. Never blocks for long; lines beyond the bound are counted and reported later. */
void rc_outbox_log(struct rc_outbox *ob, enum rc_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The plugin's own log verbosity (the control API's setLogLevel): lines of a level above
 * it are dropped before they are formatted. Default RC_LOG_DEBUG: everything goes to the
 * broker, whose log_type lines decide. Any thread. Returns the previous level. */
int rc_outbox_set_log_level(struct rc_outbox *ob, enum rc_log_level level);
enum rc_log_level rc_outbox_log_level(struct rc_outbox *ob);

/* Detaches everything queued; the caller walks and frees the lists. *logs_dropped reports
 * (and resets) how many log lines did not fit. */
void rc_outbox_take(struct rc_outbox *ob, struct rc_outbox_msg **msgs,
		struct rc_outbox_log **logs, size_t *logs_dropped);
/* The same, but only the oldest messages: at most max_msgs of them and at most max_bytes
 * of payload (one message if the first alone is larger); every log line. */
void rc_outbox_take_some(struct rc_outbox *ob, size_t max_msgs, size_t max_bytes,
		struct rc_outbox_msg **msgs, struct rc_outbox_log **logs, size_t *logs_dropped);

/* From now on a push into an empty outbox arms the broker's wake timer (rc_broker_wake.h)
 * if it is not running. Call before the worker starts. */
void rc_outbox_set_wake(struct rc_outbox *ob, struct rc_broker_wake *wake, long interval_us);
/* Broker thread, on a TICK the timer caused: disarms it if the outbox is empty. A steady
 * flow keeps it running (re-arming it for every message would cost a system call each);
 * an idle bridge stops it within one interval. Both under the lock, so a push that races
 * with it always finds the timer armed or arms it. */
void rc_outbox_rest(struct rc_outbox *ob);

/* The sequence number of the last message pushed (0: none yet). */
uint64_t rc_outbox_last_pushed(struct rc_outbox *ob);
/* Broker thread: every message up to seq has entered the broker (or was refused by it,
 * which a second attempt would not change). Never moves backwards. */
void rc_outbox_confirm(struct rc_outbox *ob, uint64_t seq);
uint64_t rc_outbox_confirmed(struct rc_outbox *ob);

/* Counter changes: lock, count, mark the status dirty, unlock. */
void rc_outbox_count(struct rc_outbox *ob, enum rc_counter c, uint64_t n);
void rc_outbox_count_drop(struct rc_outbox *ob, enum rc_drop_cause cause, uint64_t n);
/* Broker thread, once per TICK: n notifications were handed to the broker at now_ms
 * (wall clock): published and last_notification_at (rc_status_published). */
void rc_outbox_published(struct rc_outbox *ob, uint64_t n, int64_t now_ms);

/* Other status access: lock, change ob->status, set status_dirty, unlock. */
void rc_outbox_lock(struct rc_outbox *ob);
void rc_outbox_unlock(struct rc_outbox *ob);

#endif
