/* random.c - jitter and identifiers (see rc_random.h). */
#include <stdio.h>
#include <string.h>
#include <openssl/rand.h>
#include "rc_random.h"

int rc_rng_init(struct rc_rng *r)
{
	unsigned char seed[sizeof(r->state)];

	if (RAND_bytes(seed, sizeof(seed)) != 1)
		return -1;
	memcpy(&r->state, seed, sizeof(r->state));
	r->state |= 1; /* xorshift must not start at zero */
	return 0;
}

/* xorshift64* */
uint32_t rc_rng_next(struct rc_rng *r)
{
	r->state ^= r->state >> 12;
	r->state ^= r->state << 25;
	r->state ^= r->state >> 27;
	return (uint32_t)((r->state * 0x2545F4914F6CDD1DULL) >> 32);
}

void rc_rng_uuid(struct rc_rng *r, char *buf, size_t len)
{
	unsigned char b[16];

	for (size_t i = 0; i < sizeof(b); i += 4) {
		uint32_t x = rc_rng_next(r);
		memcpy(b + i, &x, 4);
	}
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(buf, len, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
			b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
			b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}
