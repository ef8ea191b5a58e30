/* rc_backoff.h - capped exponential backoff with jitter.
 *
 * Every retry loop in the bridge (login, subscription calls, PubNub polls) waits
 * base * 2^failures, capped, and then takes a random point in the upper half of that
 * window so that many brokers restarted by the same outage do not retry in lockstep.
 * The random number is passed in, which keeps this pure and testable. */
#ifndef RC_BACKOFF_H
#define RC_BACKOFF_H

#include <stdint.h>

struct rc_backoff {
	int64_t base_ms;
	int64_t cap_ms;
	unsigned failures;
};

void rc_backoff_init(struct rc_backoff *b, int64_t base_ms, int64_t cap_ms);

/* Records one more failure and returns how long to wait before the next attempt:
 * a value in [w/2, w] where w = min(cap, base * 2^(failures-1)), chosen by random32. */
int64_t rc_backoff_fail(struct rc_backoff *b, uint32_t random32);

/* After a success the next failure starts from base again. */
void rc_backoff_reset(struct rc_backoff *b);

#endif
