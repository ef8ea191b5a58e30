/* test_outbox.c - the bounded hand-off between the worker and the broker thread. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "rc_test.h"
#include "rc_outbox.h"

static struct rc_outbox_msg *msg(unsigned n)
{
	struct rc_outbox_msg *m = calloc(1, sizeof(*m));
	char buf[32];

	if (m == NULL)
		abort();
	snprintf(buf, sizeof(buf), "%u", n);
	m->topic = strdup("t");
	m->payload = strdup(buf);
	m->payload_len = strlen(buf);
	m->uuid = strdup(buf);
	m->event = strdup("/e");
	return m;
}

static void test_bound_and_fifo(void)
{
	struct rc_outbox ob;
	struct rc_outbox_msg *msgs;
	struct rc_outbox_log *logs;
	size_t dropped;

	CU_ASSERT_EQUAL_FATAL(rc_outbox_init(&ob, 3), 0);
	CU_ASSERT_EQUAL(rc_outbox_room(&ob), 3);
	for (unsigned i = 0; i < 3; i++) {
		CU_ASSERT_TRUE(rc_outbox_push(&ob, msg(i)));
		CU_ASSERT_EQUAL(rc_outbox_room(&ob), 2 - i);
	}
	CU_ASSERT_EQUAL(rc_outbox_room(&ob), 0);
	CU_ASSERT_FALSE(rc_outbox_push(&ob, msg(99))); /* freed by the outbox */
	rc_outbox_take(&ob, &msgs, &logs, &dropped);
	unsigned n = 0;
	while (msgs != NULL) {
		struct rc_outbox_msg *next = msgs->next;
		char want[8];
		snprintf(want, sizeof(want), "%u", n++);
		CU_ASSERT_STRING_EQUAL(msgs->payload, want);
		rc_outbox_msg_free(msgs);
		msgs = next;
	}
	CU_ASSERT_EQUAL(n, 3);
	CU_ASSERT_PTR_NULL(logs);
	CU_ASSERT_EQUAL(rc_outbox_room(&ob), 3);
	rc_outbox_take(&ob, &msgs, &logs, &dropped);
	CU_ASSERT_PTR_NULL(msgs);

	/* What is still queued at destroy time is freed there (valgrind/ASan check it). */
	CU_ASSERT_TRUE(rc_outbox_push(&ob, msg(7)));
	rc_outbox_log(&ob, RC_LOG_NOTICE, "pending");
	rc_outbox_lock(&ob);
	char *filters[] = { "/f" };
	rc_status_set_filters(&ob.status, filters, 1);
	rc_outbox_unlock(&ob);
	rc_outbox_destroy(&ob);
}

static void test_logs_bounded(void)
{
	struct rc_outbox ob;
	struct rc_outbox_msg *msgs;
	struct rc_outbox_log *logs;
	size_t dropped, n = 0;

	CU_ASSERT_EQUAL_FATAL(rc_outbox_init(&ob, 1), 0);
	for (int i = 0; i < 5000; i++)
		rc_outbox_log(&ob, i % 2 ? RC_LOG_WARNING : RC_LOG_INFO, "line %d", i);
	rc_outbox_take(&ob, &msgs, &logs, &dropped);
	CU_ASSERT_PTR_NULL(msgs);
	CU_ASSERT_PTR_NOT_NULL_FATAL(logs);
	/* The oldest lines are kept, in order; the rest are only counted. */
	while (logs != NULL) {
		struct rc_outbox_log *next = logs->next;
		char want[32];
		snprintf(want, sizeof(want), "line %zu", n);
		CU_ASSERT_STRING_EQUAL(logs->text, want);
		CU_ASSERT_EQUAL(logs->level, n % 2 ? RC_LOG_WARNING : RC_LOG_INFO);
		free(logs);
		logs = next;
		n++;
	}
	CU_ASSERT_EQUAL(n + dropped, 5000);
	CU_ASSERT(dropped > 0);
	CU_ASSERT(n > 0 && n < 5000);

	/* Taking reset the count and made room again. */
	rc_outbox_log(&ob, RC_LOG_ERR, "after");
	rc_outbox_take(&ob, &msgs, &logs, &dropped);
	CU_ASSERT_EQUAL(dropped, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(logs);
	CU_ASSERT_STRING_EQUAL(logs->text, "after");
	CU_ASSERT_PTR_NULL(logs->next);
	free(logs);

	/* A line longer than 1 KiB is truncated, not refused. */
	char *big = malloc(5000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	memset(big, 'x', 4999);
	big[4999] = '\0';
	rc_outbox_log(&ob, RC_LOG_INFO, "%s", big);
	free(big);
	rc_outbox_take(&ob, &msgs, &logs, &dropped);
	CU_ASSERT_PTR_NOT_NULL_FATAL(logs);
	size_t len = strlen(logs->text);
	CU_ASSERT(len > 0 && len < 1024);
	CU_ASSERT_EQUAL(strspn(logs->text, "x"), len);
	free(logs);
	rc_outbox_destroy(&ob);
}

#define PRODUCED 100000

struct producer_arg {
	struct rc_outbox *ob;
	atomic_bool done;
	unsigned refused;  /* pushes refused although room was reported: must stay 0 */
};

static void *producer(void *arg)
{
	struct producer_arg *a = arg;

	for (unsigned i = 0; i < PRODUCED;) {
		if (rc_outbox_room(a->ob) == 0) {
			sched_yield();
			continue;
		}
		/* Only this thread pushes, so reported room cannot vanish before the push. */
		if (rc_outbox_push(a->ob, msg(i)))
			i++;
		else
			a->refused++;
	}
	atomic_store(&a->done, true);
	return NULL;
}

static void test_two_threads_exactly_once_in_order(void)
{
	struct rc_outbox ob;
	struct producer_arg a = { .ob = &ob };
	pthread_t t;
	unsigned next = 0, wrong = 0;

	CU_ASSERT_EQUAL_FATAL(rc_outbox_init(&ob, 1000), 0);
	CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, producer, &a), 0);
	for (;;) {
		struct rc_outbox_msg *msgs;
		struct rc_outbox_log *logs;
		size_t dropped;
		/* Read before taking: once the producer is done, one empty take means the end, so a
		 * lost message fails the test instead of hanging it. */
		bool finished = atomic_load(&a.done);
		rc_outbox_take(&ob, &msgs, &logs, &dropped);
		if (msgs == NULL && finished)
			break;
		while (msgs != NULL) {
			struct rc_outbox_msg *m = msgs;
			msgs = m->next;
			unsigned got = (unsigned)strtoul(m->payload, NULL, 10);
			if (got != next)
				wrong++;
			next = got + 1;
			rc_outbox_msg_free(m);
		}
	}
	pthread_join(t, NULL);
	CU_ASSERT_EQUAL(wrong, 0);
	CU_ASSERT_EQUAL(next, PRODUCED);
	CU_ASSERT_EQUAL(a.refused, 0);
	rc_outbox_destroy(&ob);
}

/* Sequence numbers follow the pushes (a refused push takes none); confirmation never moves
 * backwards: what a transport saved as delivered stays delivered. */
static void test_sequence_and_confirmation(void)
{
	struct rc_outbox ob;
	struct rc_outbox_msg *msgs;
	struct rc_outbox_log *logs;
	size_t dropped;

	CU_ASSERT_EQUAL_FATAL(rc_outbox_init(&ob, 2), 0);
	CU_ASSERT_EQUAL(rc_outbox_last_pushed(&ob), 0);
	CU_ASSERT_EQUAL(rc_outbox_confirmed(&ob), 0);
	CU_ASSERT_EQUAL(rc_outbox_push(&ob, msg(0)), 1);
	CU_ASSERT_EQUAL(rc_outbox_push(&ob, msg(1)), 2);
	CU_ASSERT_EQUAL(rc_outbox_push(&ob, msg(2)), 0);     /* full: no number used */
	CU_ASSERT_EQUAL(rc_outbox_last_pushed(&ob), 2);
	rc_outbox_take(&ob, &msgs, &logs, &dropped);
	CU_ASSERT_EQUAL(msgs->seq, 1);
	CU_ASSERT_EQUAL(msgs->next->seq, 2);
	rc_outbox_msg_free(msgs->next);
	rc_outbox_msg_free(msgs);
	CU_ASSERT_EQUAL(rc_outbox_push(&ob, msg(3)), 3);
	rc_outbox_confirm(&ob, 2);
	CU_ASSERT_EQUAL(rc_outbox_confirmed(&ob), 2);
	rc_outbox_confirm(&ob, 1);
	CU_ASSERT_EQUAL(rc_outbox_confirmed(&ob), 2);
	rc_outbox_confirm(&ob, 3);
	CU_ASSERT_EQUAL(rc_outbox_confirmed(&ob), 3);
	rc_outbox_destroy(&ob);
}

/* The broker thread's count of what it handed over marks the status for publishing and
 * stamps last_notification_at; an empty TICK stamps nothing. */
static void test_published(void)
{
	struct rc_outbox ob;

	CU_ASSERT_EQUAL_FATAL(rc_outbox_init(&ob, 2), 0);
	ob.status_dirty = false;
	rc_outbox_published(&ob, 0, 1000);
	CU_ASSERT_EQUAL(ob.status.last_notification_at_ms, 0);
	rc_outbox_published(&ob, 4, 2000);
	CU_ASSERT_TRUE(ob.status_dirty);
	CU_ASSERT_EQUAL(ob.status.published, 4);
	CU_ASSERT_EQUAL(ob.status.last_notification_at_ms, 2000);
	rc_outbox_destroy(&ob);
}

/* A TICK's share: at most max_msgs and max_bytes (but at least one), oldest first, and
 * the rest stays queued in order. */
static void test_take_some(void)
{
	struct rc_outbox ob;
	struct rc_outbox_msg *msgs;
	struct rc_outbox_log *logs;
	size_t dropped;

	CU_ASSERT_EQUAL_FATAL(rc_outbox_init(&ob, 10), 0);
	for (unsigned i = 0; i < 5; i++)
		CU_ASSERT_TRUE(rc_outbox_push(&ob, msg(i)));   /* payloads "0".."4": 1 byte each */
	rc_outbox_take_some(&ob, 2, SIZE_MAX, &msgs, &logs, &dropped);
	CU_ASSERT_STRING_EQUAL(msgs->payload, "0");
	CU_ASSERT_STRING_EQUAL(msgs->next->payload, "1");
	CU_ASSERT_PTR_NULL(msgs->next->next);
	rc_outbox_msg_free(msgs->next);
	rc_outbox_msg_free(msgs);
	CU_ASSERT_EQUAL(rc_outbox_room(&ob), 7);
	rc_outbox_take_some(&ob, 0, SIZE_MAX, &msgs, &logs, &dropped);
	CU_ASSERT_PTR_NULL(msgs);
	rc_outbox_take_some(&ob, 10, 0, &msgs, &logs, &dropped);   /* the byte bound: one */
	CU_ASSERT_STRING_EQUAL(msgs->payload, "2");
	CU_ASSERT_PTR_NULL(msgs->next);
	rc_outbox_msg_free(msgs);
	rc_outbox_take_some(&ob, 10, 2, &msgs, &logs, &dropped);   /* two bytes: both */
	CU_ASSERT_STRING_EQUAL(msgs->payload, "3");
	CU_ASSERT_STRING_EQUAL(msgs->next->payload, "4");
	rc_outbox_msg_free(msgs->next);
	rc_outbox_msg_free(msgs);
	CU_ASSERT_EQUAL(rc_outbox_room(&ob), 10);
	CU_ASSERT_TRUE(rc_outbox_push(&ob, msg(5)));              /* the tail was reset */
	rc_outbox_take(&ob, &msgs, &logs, &dropped);
	CU_ASSERT_STRING_EQUAL(msgs->payload, "5");
	rc_outbox_msg_free(msgs);
	rc_outbox_destroy(&ob);
}

/* The plugin's own level filter (setLogLevel) and the reserve for its own messages. */
static void test_log_level_and_reserve(void)
{
	struct rc_outbox ob;
	struct rc_outbox_msg *msgs;
	struct rc_outbox_log *logs;
	size_t dropped;

	CU_ASSERT_EQUAL(rc_outbox_init(&ob, 2), 0);
	CU_ASSERT_EQUAL(rc_outbox_log_level(&ob), RC_LOG_DEBUG);
	CU_ASSERT_EQUAL(rc_outbox_set_log_level(&ob, RC_LOG_INFO), RC_LOG_DEBUG);
	rc_outbox_log(&ob, RC_LOG_DEBUG, "hidden");
	rc_outbox_log(&ob, RC_LOG_INFO, "shown");
	rc_outbox_log(&ob, RC_LOG_ERR, "shown too");
	rc_outbox_take(&ob, &msgs, &logs, &dropped);
	CU_ASSERT_EQUAL(dropped, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(logs);
	CU_ASSERT_STRING_EQUAL(logs->text, "shown");
	CU_ASSERT_PTR_NOT_NULL_FATAL(logs->next);
	CU_ASSERT_STRING_EQUAL(logs->next->text, "shown too");
	CU_ASSERT_PTR_NULL(logs->next->next);
	free(logs->next);
	free(logs);
	CU_ASSERT_EQUAL(rc_outbox_set_log_level(&ob, RC_LOG_DEBUG), RC_LOG_INFO);

	/* Full of notifications: a message of the plugin's own still gets in, up to the reserve. */
	CU_ASSERT_TRUE(rc_outbox_push(&ob, msg(1)));
	CU_ASSERT_TRUE(rc_outbox_push(&ob, msg(2)));
	CU_ASSERT_FALSE(rc_outbox_push(&ob, msg(3)));
	CU_ASSERT_EQUAL(rc_outbox_room(&ob), 0);
	size_t own = 0;
	for (;;) {
		struct rc_outbox_msg *m = msg(100);
		m->own = true;
		if (!rc_outbox_push(&ob, m))
			break;
		own++;
	}
	CU_ASSERT_EQUAL(own, RC_OUTBOX_OWN_RESERVE);
	CU_ASSERT_EQUAL(rc_outbox_room(&ob), 0);
	rc_outbox_destroy(&ob);
}

static void test_byte_bound(void)
{
	struct rc_outbox ob;
	struct rc_outbox_msg *msgs;
	struct rc_outbox_log *logs;
	size_t dropped;

	CU_ASSERT_EQUAL_FATAL(rc_outbox_init(&ob, 10), 0);
	rc_outbox_limit_bytes(&ob, 3);
	CU_ASSERT_EQUAL(rc_outbox_room(&ob), 10);
	CU_ASSERT_TRUE(rc_outbox_push(&ob, msg(12)));   /* 2 bytes: below the bound */
	CU_ASSERT_EQUAL(rc_outbox_room(&ob), 9);
	CU_ASSERT_TRUE(rc_outbox_push(&ob, msg(34)));   /* 4 bytes: at or past it */
	CU_ASSERT_EQUAL(rc_outbox_room(&ob), 0);
	/* The bound only stops fetching: what was fetched is still taken in. */
	CU_ASSERT_TRUE(rc_outbox_push(&ob, msg(5)));
	rc_outbox_take_some(&ob, 1, SIZE_MAX, &msgs, &logs, &dropped);
	CU_ASSERT_STRING_EQUAL(msgs->payload, "12");
	rc_outbox_msg_free(msgs);
	CU_ASSERT_EQUAL(rc_outbox_room(&ob), 0);        /* 3 bytes left: still at it */
	rc_outbox_take_some(&ob, 1, SIZE_MAX, &msgs, &logs, &dropped);
	rc_outbox_msg_free(msgs);
	CU_ASSERT_EQUAL(rc_outbox_room(&ob), 9);        /* 1 byte, 1 message */
	rc_outbox_take(&ob, &msgs, &logs, &dropped);
	rc_outbox_msg_free(msgs);
	CU_ASSERT_EQUAL(rc_outbox_room(&ob), 10);
	rc_outbox_destroy(&ob);
}

int main(void)
{
	static const struct rc_test_case cases[] = {
		{ "bound and FIFO", test_bound_and_fifo },
		{ "logs bounded", test_logs_bounded },
		{ "sequence and confirmation", test_sequence_and_confirmation },
		{ "take some", test_take_some },
		{ "byte bound", test_byte_bound },
		{ "published", test_published },
		{ "two threads, exactly once, in order", test_two_threads_exactly_once_in_order },
		{ "log level and reserve", test_log_level_and_reserve },
		{ NULL, NULL },
	};
	return rc_test_run("outbox", NULL, NULL, cases);
}
