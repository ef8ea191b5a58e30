/* pace.c - how many notifications one broker TICK may hand over (see rc_pace.h). */
#include "rc_pace.h"

void rc_pace_init(struct rc_pace *p, int qos, bool timed)
{
	*p = (struct rc_pace){ .qos = qos, .timed = timed };
}

size_t rc_pace_tick(struct rc_pace *p, int64_t now_us, bool by_timer,
		bool (*backlogged)(void *arg), void *arg)
{
	size_t batch = p->qos == 0 ? RC_PACE_BATCH_QOS0 : RC_PACE_BATCH_QOS1;
	int64_t gap = now_us - p->last_tick_us;

	p->last_tick_us = now_us;
	if (!p->timed)
		return gap >= RC_PACE_WAKE_INTERVAL_US ? batch : 1;
	if (!by_timer) {
		/* The broker's idle wake-up (every 100 ms in 2.0) is not work of its own. */
		if (gap < RC_PACE_WAKE_INTERVAL_US) {
			p->busy_since_timer = true;
			p->busy_at_us = now_us;
		}
		if (p->batch_unanswered && now_us - p->batch_at_us < RC_PACE_ANSWER_WINDOW_US) {
			p->batch_unanswered = false;
			p->answered_at_us = now_us;
		}
		return 1;
	}
	bool quiet = !p->busy_since_timer;
	p->busy_since_timer = false;
	/* Quiet may also mean a subscriber that stopped reading with its socket full. */
	if (!quiet || backlogged(arg))
		return 0;
	if (p->qos > 0 && (now_us - p->busy_at_us < RC_PACE_ACK_PAUSE_US ||
			(p->batch_unanswered && now_us - p->answered_at_us < RC_PACE_ACKNOWLEDGING_US &&
			 now_us - p->batch_at_us < RC_PACE_UNANSWERED_MAX_US)))
		return 0;
	p->batch_unanswered = true;
	p->batch_at_us = now_us;
	return batch;
}
