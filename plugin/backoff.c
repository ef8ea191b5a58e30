/* backoff.c - capped exponential backoff with jitter (see rc_backoff.h). */
#include "rc_backoff.h"

void rc_backoff_init(struct rc_backoff *b, int64_t base_ms, int64_t cap_ms)
{
	b->base_ms = base_ms > 0 ? base_ms : 1;
	b->cap_ms = cap_ms >= b->base_ms ? cap_ms : b->base_ms;
	b->failures = 0;
}

int64_t rc_backoff_window(int64_t base_ms, int64_t cap_ms, unsigned failures)
{
	int64_t window = base_ms;

	/* Doubling stops at the cap and never goes past it, so it cannot overflow even when
	 * the cap is near INT64_MAX. */
	for (unsigned i = 1; i < failures && window < cap_ms; i++)
		window = window > cap_ms / 2 ? cap_ms : window * 2;
	return window;
}

int64_t rc_backoff_fail(struct rc_backoff *b, uint32_t random32)
{
	int64_t window = rc_backoff_window(b->base_ms, b->cap_ms, b->failures + 1);

	if (b->failures < 64)
		b->failures++;

	int64_t half = window / 2;
	return window - half + (int64_t)(((uint64_t)random32 * (uint64_t)(half + 1)) >> 32);
}

void rc_backoff_reset(struct rc_backoff *b)
{
	b->failures = 0;
}
