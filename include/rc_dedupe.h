/* rc_dedupe.h - remembers the last N notification uuids to drop replays.
 *
 * PubNub replays its cache after a reconnect with an old timetoken, a recreated
 * subscription may overlap the old one, and WebSocket recovery replays its buffer: the same
 * uuid can arrive twice. A fixed-capacity hash set with FIFO eviction bounds the memory. */
#ifndef RC_DEDUPE_H
#define RC_DEDUPE_H

#include <stdbool.h>
#include <stddef.h>

struct rc_dedupe;

/* capacity: how many uuids are remembered (>= 1). NULL on no memory. */
struct rc_dedupe *rc_dedupe_new(size_t capacity);
void rc_dedupe_free(struct rc_dedupe *d);

/* Returns true if uuid was seen among the last `capacity` distinct uuids; otherwise
 * remembers it (evicting the oldest when full) and returns false. */
bool rc_dedupe_check_and_add(struct rc_dedupe *d, const char *uuid);

size_t rc_dedupe_count(const struct rc_dedupe *d);

#endif
