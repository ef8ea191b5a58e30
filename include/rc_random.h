/* rc_random.h - random numbers that need not be secret: backoff jitter and identifiers.
 *
 * Seeded once from OpenSSL, then a fast xorshift generator: jitter only has to differ
 * between brokers, and ids only have to be unique. Secrets never come from here. */
#ifndef RC_RANDOM_H
#define RC_RANDOM_H

#include <stddef.h>
#include <stdint.h>

struct rc_rng {
	uint64_t state;
};

/* Seeds from OpenSSL's generator. Returns 0, or -1 if it has no entropy. */
int rc_rng_init(struct rc_rng *r);

uint32_t rc_rng_next(struct rc_rng *r);

/* A random v4 UUID in buf (at least 37 bytes): PubNub's client id, WSG message ids. */
void rc_rng_uuid(struct rc_rng *r, char *buf, size_t len);

#endif
