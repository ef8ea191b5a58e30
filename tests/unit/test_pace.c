/* test_pace.c - what one TICK may hand over, on a fake clock (microseconds).
 *
 * "own" TICKs are the broker's (an acknowledgement read, a socket drained); "timer" TICKs
 * are the wake timer's, every RC_PACE_WAKE_INTERVAL_US while messages wait. */
#include "rc_test.h"
#include "rc_pace.h"

static bool backed_up;
static int asked;

static bool backlogged(void *arg)
{
	(void)arg;
	asked++;
	return backed_up;
}

static size_t own(struct rc_pace *p, int64_t t)
{
	return rc_pace_tick(p, t, false, backlogged, NULL);
}

static size_t timer(struct rc_pace *p, int64_t t)
{
	return rc_pace_tick(p, t, true, backlogged, NULL);
}

static int reset(void)
{
	backed_up = false;
	asked = 0;
	return 0;
}

/* QoS 0: a batch on a quiet timer TICK, one per TICK of the broker's own, nothing on a
 * timer TICK while the broker is busy; a backed-up socket holds the batch back. */
static void test_qos0(void)
{
	struct rc_pace p;
	const int64_t I = RC_PACE_WAKE_INTERVAL_US;

	reset();
	rc_pace_init(&p, 0, true);
	CU_ASSERT_EQUAL(timer(&p, 1000000), RC_PACE_BATCH_QOS0);
	CU_ASSERT_EQUAL(own(&p, 1000000 + 50), 1);         /* busy: a network client's pace */
	CU_ASSERT_EQUAL(own(&p, 1000000 + 100), 1);
	CU_ASSERT_EQUAL(timer(&p, 1000000 + I), 0);         /* its own TICKs are coming */
	CU_ASSERT_EQUAL(timer(&p, 1000000 + 2 * I), RC_PACE_BATCH_QOS0);   /* a quiet interval */
	backed_up = true;
	CU_ASSERT_EQUAL(timer(&p, 1000000 + 3 * I), 0);
	backed_up = false;
	CU_ASSERT_EQUAL(timer(&p, 1000000 + 4 * I), RC_PACE_BATCH_QOS0);
	/* The broker's idle wake-up (100 ms after its last) is not work of its own. */
	CU_ASSERT_EQUAL(own(&p, 1000000 + 4 * I + 100000), 1);
	CU_ASSERT_EQUAL(timer(&p, 1000000 + 4 * I + 100000 + 10), RC_PACE_BATCH_QOS0);
}

/* The socket check is made only when a batch is otherwise due (it scans descriptors). */
static void test_backlog_asked_only_for_a_batch(void)
{
	struct rc_pace p;

	reset();
	rc_pace_init(&p, 0, true);
	own(&p, 1000000);
	own(&p, 1000000 + 10);
	CU_ASSERT_EQUAL(timer(&p, 1000000 + 20), 0);
	CU_ASSERT_EQUAL(asked, 0);
	timer(&p, 1000000 + 520);
	CU_ASSERT_EQUAL(asked, 1);
}

/* QoS 1: the in-flight window after a pause of RC_PACE_ACK_PAUSE_US, one per
 * acknowledgement; a short hiccup is waited out. */
static void test_qos1_window_after_a_pause(void)
{
	struct rc_pace p;
	int64_t t = 1000000;

	reset();
	rc_pace_init(&p, 1, true);
	CU_ASSERT_EQUAL(timer(&p, t), RC_PACE_BATCH_QOS1);
	for (int i = 0; i < 20; i++) {                      /* acknowledgements, 50 us apart */
		t += 50;
		CU_ASSERT_EQUAL(own(&p, t), 1);
	}
	t += RC_PACE_WAKE_INTERVAL_US;                      /* a 1 ms hiccup: two quiet intervals */
	CU_ASSERT_EQUAL(timer(&p, t), 0);
	t += RC_PACE_WAKE_INTERVAL_US;
	CU_ASSERT_EQUAL(timer(&p, t), 0);
	t = 1000000 + 20 * 50 + RC_PACE_ACK_PAUSE_US;       /* quiet long enough: refill */
	CU_ASSERT_EQUAL(timer(&p, t), RC_PACE_BATCH_QOS1);
}

/* QoS 1: while batches are answered, an unanswered one holds the next back, but only for
 * RC_PACE_UNANSWERED_MAX_US (a client that acknowledges only the status must not hold the
 * notifications of QoS 0 subscribers back for long). */
static void test_qos1_unanswered_batch(void)
{
	struct rc_pace p;
	int64_t t = 1000000;

	reset();
	rc_pace_init(&p, 1, true);
	CU_ASSERT_EQUAL(timer(&p, t), RC_PACE_BATCH_QOS1);
	CU_ASSERT_EQUAL(own(&p, t + 100), 1);               /* answered */
	t += 100 + RC_PACE_ACK_PAUSE_US;
	CU_ASSERT_EQUAL(timer(&p, t - RC_PACE_WAKE_INTERVAL_US), 0);   /* the busy interval */
	CU_ASSERT_EQUAL(timer(&p, t), RC_PACE_BATCH_QOS1);  /* this one is not answered */
	int64_t batch_at = t;
	t += RC_PACE_WAKE_INTERVAL_US;
	CU_ASSERT_EQUAL(timer(&p, t), 0);
	t = batch_at + RC_PACE_UNANSWERED_MAX_US - 1;
	CU_ASSERT_EQUAL(timer(&p, t), 0);
	t = batch_at + RC_PACE_UNANSWERED_MAX_US;
	CU_ASSERT_EQUAL(timer(&p, t), RC_PACE_BATCH_QOS1);
	/* Nothing answered for RC_PACE_ACKNOWLEDGING_US: no subscriber acknowledges (QoS 0
	 * subscriptions), a batch every quiet interval. */
	t = 1000000 + RC_PACE_ACKNOWLEDGING_US + 1000;
	CU_ASSERT_EQUAL(timer(&p, t), RC_PACE_BATCH_QOS1);
	t += RC_PACE_WAKE_INTERVAL_US;
	CU_ASSERT_EQUAL(timer(&p, t), RC_PACE_BATCH_QOS1);
}

/* Without the wake timer every TICK is the broker's own: a batch after its idle wait. */
static void test_without_timer(void)
{
	struct rc_pace p;

	reset();
	rc_pace_init(&p, 0, false);
	CU_ASSERT_EQUAL(own(&p, 1000000), RC_PACE_BATCH_QOS0);
	CU_ASSERT_EQUAL(own(&p, 1000000 + 10), 1);
	CU_ASSERT_EQUAL(own(&p, 1000000 + 10 + 100000), RC_PACE_BATCH_QOS0);
	CU_ASSERT_EQUAL(asked, 0);
}

int main(void)
{
	static const struct rc_test_case cases[] = {
		{ "QoS 0", test_qos0 },
		{ "backlog asked only for a batch", test_backlog_asked_only_for_a_batch },
		{ "QoS 1 window after a pause", test_qos1_window_after_a_pause },
		{ "QoS 1 unanswered batch", test_qos1_unanswered_batch },
		{ "without timer", test_without_timer },
		{ NULL, NULL },
	};
	return rc_test_run("pace", NULL, NULL, cases);
}
