/* rc_dedupe.h - remembers the last N notification uuids to drop replays.
 *
 * PubNub replays its cache after a reconnect with an old timetoken, a recreated
 * subscription may overlap the old one, and WebSocket recovery replays its buffer: the same
 * uuid can arrive twice. A fixed-capacity hash set with FIFO eviction bounds the memory;
 * uuids longer than RC_DEDUPE_UUID_MAX are never stored (the pipeline drops them first),
 * and the hash is keyed with a random key per table, so chosen uuids cannot be made to
 * share a bucket. */
#ifndef RC_DEDUPE_H
#define RC_DEDUPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The longest uuid remembered, in bytes. RingCentral's are 36-character UUIDs (some
 * carry a prefix); anything far longer is not a uuid. */
#define RC_DEDUPE_UUID_MAX 128

struct rc_dedupe;

/* capacity: how many uuids are remembered (>= 1). NULL on no memory, or if no random key
 * or SipHash (OpenSSL 3 EVP_MAC "SIPHASH") is available. */
struct rc_dedupe *rc_dedupe_new(size_t capacity);
void rc_dedupe_free(struct rc_dedupe *d);

/* Returns true if uuid was seen among the last `capacity` distinct uuids; otherwise
 * remembers it (evicting the oldest when full) and returns false. A uuid longer than
 * RC_DEDUPE_UUID_MAX bytes (or one that cannot be hashed or copied) is not remembered:
 * false, deliver. */
bool rc_dedupe_check_and_add(struct rc_dedupe *d, const char *uuid);

size_t rc_dedupe_count(const struct rc_dedupe *d);

/* The table's keyed 64-bit hash of uuid (its bucket is the low bits), for tests and
 * diagnostics: the same table always gives the same value, another table (another key)
 * a different one. Returns false if it cannot be computed. */
bool rc_dedupe_hash(const struct rc_dedupe *d, const char *uuid, uint64_t *hash);

#endif
