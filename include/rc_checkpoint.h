/* rc_checkpoint.h - which PubNub position may be saved in the state file.
 *
 * After each poll the cursor moves past the notifications it fetched, but those are only
 * queued for the broker (rc_outbox.h): a broker that stops now loses what it was handed
 * last. A position is therefore marked with the outbox sequence number of the last
 * notification fetched before it, and becomes the safe (saveable) position only once the
 * broker thread has confirmed that number. After a restart the bridge polls again from the
 * safe position; what it fetches twice is suppressed by uuid (the state file keeps the
 * uuids that entered the broker, rc_sink.h).
 *
 * Pure bookkeeping over a fixed ring: no allocation, no locks, worker thread only. When
 * more marks are pending than the ring holds, the newest is overwritten with the later
 * position, which only delays it: the safe position never covers an unconfirmed
 * notification. */
#ifndef RC_CHECKPOINT_H
#define RC_CHECKPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "rc_pubnub.h"

#define RC_CHECKPOINT_MARKS 256

struct rc_checkpoint {
	struct {
		struct rc_pubnub_cursor at;
		uint64_t upto;               /* outbox sequence number it waits for */
	} marks[RC_CHECKPOINT_MARKS];
	size_t head, n;
	struct rc_pubnub_cursor safe;
};

/* Forgets every pending mark; safe becomes the given position (a fresh channel: tt "0"). */
void rc_checkpoint_reset(struct rc_checkpoint *c, const struct rc_pubnub_cursor *safe);

/* The cursor is at `at` after notifications up to sequence number `upto` were pushed. */
void rc_checkpoint_mark(struct rc_checkpoint *c, const struct rc_pubnub_cursor *at, uint64_t upto);

/* Everything up to sequence number `confirmed` entered the broker. Returns true if the
 * safe position moved. */
bool rc_checkpoint_settle(struct rc_checkpoint *c, uint64_t confirmed);

#endif
