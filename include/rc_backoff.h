/* rc_backoff.h - capped exponential backoff with jitter.
 *
 * Every retry loop in the bridge (login, subscription calls, PubNub polls) waits
 * base * 2^failures, capped, and then takes a random point in the upper half of that
 * window so that many brokers restarted by the same outage do not retry in lockstep.
 * The random number is passed in, which keeps this pure and testable. rc_backoff_window is
 * the same schedule without jitter, for retries whose times are part of a contract (Home
 * Assistant's reads, rc_ha_state.h). */
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

/* The window after the failures-th failure in a row, without jitter:
 * min(cap_ms, base_ms * 2^(failures-1)); base_ms for 0 or 1. Needs 0 < base_ms <= cap_ms
 * (what rc_backoff_init makes of any pair). Never overflows. */
int64_t rc_backoff_window(int64_t base_ms, int64_t cap_ms, unsigned failures);

/* After a success the next failure starts from base again. */
void rc_backoff_reset(struct rc_backoff *b);

#endif
