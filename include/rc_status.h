/* rc_status.h - what the bridge tells about itself on <prefix>/bridge/status.
 *
 * The worker and the broker thread both update one struct rc_status (under the outbox
 * lock); the broker thread renders it as the retained status JSON. Counters are plain
 * totals since start-up; every skipped notification is counted under exactly one cause. */
#ifndef RC_STATUS_H
#define RC_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum rc_drop_cause {
	RC_DROP_TOO_LARGE = 0,
	RC_DROP_BAD_PAYLOAD,     /* PubNub message without a usable d */
	RC_DROP_BAD_BASE64,
	RC_DROP_BAD_LENGTH,
	RC_DROP_BAD_PADDING,
	RC_DROP_NOT_JSON,
	RC_DROP_NOT_OBJECT,
	RC_DROP_NO_UUID,
	RC_DROP_NO_EVENT,
	RC_DROP_BAD_BODY,
	RC_DROP_TOPIC_NOT_PATH,
	RC_DROP_TOPIC_WILDCARD,
	RC_DROP_TOPIC_NUL,
	RC_DROP_TOPIC_BAD_UTF8,
	RC_DROP_TOPIC_EMPTY_LEVEL,
	RC_DROP_TOPIC_DOT_LEVEL,
	RC_DROP_TOPIC_TOO_LONG,
	RC_DROP_PUBLISH_FAILED,  /* the broker refused it */
	RC_DROP_NOMEM,
	RC_DROP_TOPIC_RESERVED,  /* would land on <prefix>/bridge[/...] or a '$' topic */
	RC_DROP_UUID_TOO_LONG,   /* uuid longer than RC_DEDUPE_UUID_MAX bytes */
	RC_DROP_CAUSE_COUNT
};

const char *rc_drop_cause_name(enum rc_drop_cause c);
/* True for the causes that are decryption failures (counted in decrypt_errors too). */
bool rc_drop_cause_is_decrypt(enum rc_drop_cause c);

#define RC_STATUS_TEXT_MAX 256

struct rc_status {
	bool online;
	const char *lifecycle;        /* static string: rc_lc_state_name() */
	const char *transport;        /* static string */
	char subscription_id[128];
	char expiration_time[40];     /* ISO 8601, "" if none */
	char **event_filters;         /* owned, NULL-terminated; NULL if none */
	char last_error[RC_STATUS_TEXT_MAX]; /* "" if none; never contains a secret */
	int64_t started_at_ms;        /* wall clock */
	/* Wall clock of the last TICK that handed notifications to the broker (one stamp per
	 * batch, not per message: a clock read per TICK is all it costs); 0: none yet. */
	int64_t last_notification_at_ms;

	uint64_t received;      /* notifications taken off the transport */
	uint64_t published;     /* handed to the broker */
	uint64_t dropped;       /* skipped for one of the causes below */
	uint64_t duplicates;    /* suppressed replays */
	uint64_t decrypt_errors;
	uint64_t renewals;
	uint64_t recreations;
	uint64_t reconnects;        /* WebSocket connections opened after the first */
	uint64_t recoveries;        /* of those, resumed with recoveryState Successful */
	uint64_t recovery_failures; /* recoveryState Failed: subscribed again */
	uint64_t drops[RC_DROP_CAUSE_COUNT];
};

/* The plain counters, so that every change goes through one function. */
enum rc_counter {
	RC_COUNT_RECEIVED = 0,
	RC_COUNT_PUBLISHED,
	RC_COUNT_DUPLICATES,
	RC_COUNT_RENEWALS,
	RC_COUNT_RECREATIONS,
	RC_COUNT_RECONNECTS,
	RC_COUNT_RECOVERIES,
	RC_COUNT_RECOVERY_FAILURES,
};

/* Adds n to one counter. */
void rc_status_count(struct rc_status *s, enum rc_counter c, uint64_t n);
/* n notifications were handed to the broker at now_ms (wall clock): counts them as
 * published and, if n > 0, makes now_ms the last_notification_at. */
void rc_status_published(struct rc_status *s, uint64_t n, int64_t now_ms);

void rc_status_set_filters(struct rc_status *s, char *const *filters, size_t n);
void rc_status_count_drop(struct rc_status *s, enum rc_drop_cause c);
void rc_status_clear(struct rc_status *s);

/* Renders the status JSON (heap, caller frees; length in *len), with the plugin's version
 * (rc_version.h) and now_ms as updated_at. NULL on no memory. */
char *rc_status_to_json(const struct rc_status *s, int64_t now_ms, size_t *len);

#endif
