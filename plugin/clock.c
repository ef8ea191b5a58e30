/* clock.c - the real clocks (see rc_clock.h). */
#include <time.h>
#include "rc_clock.h"

static int64_t clock__ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t rc_clock_now_ms(void)
{
	return clock__ms(CLOCK_BOOTTIME);
}

int64_t rc_clock_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t rc_clock_wall_ms(void)
{
	return clock__ms(CLOCK_REALTIME);
}
