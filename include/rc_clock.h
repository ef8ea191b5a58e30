/* rc_clock.h - the two clocks the bridge reads.
 *
 * Every state machine takes its time as a parameter (so tests drive them with a fake
 * clock); these are the only places that read the real ones. */
#ifndef RC_CLOCK_H
#define RC_CLOCK_H

#include <stdint.h>

/* Milliseconds on a clock that keeps counting while the machine sleeps, so that a laptop
 * waking after an hour sees its subscription as expired rather than fresh. For timers. */
int64_t rc_clock_now_ms(void);

/* Microseconds on the same clock: for pacing within the broker's loop. */
int64_t rc_clock_now_us(void);

/* Milliseconds since the epoch (wall clock): for timestamps shown to people and for
 * comparing with times the server states (expirationTime). */
int64_t rc_clock_wall_ms(void);

#endif
