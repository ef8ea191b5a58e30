/* test_outbox.c - the bounded hand-off between the worker and the broker thread. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "rc_test.h"
#include "rc_outbox.h"

static struct rc_outbox_msg *msg(unsigned n)
{
	struct rc_outbox_msg *m = calloc(1, sizeof(*m));
	char buf[32];

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
	for (unsigned i = 0; i < 3; i++)
		CU_ASSERT_TRUE(rc_outbox_push(&ob, msg(i)));
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
	rc_outbox_destroy(&ob);
}

static void test_logs_bounded(void)
{
	struct rc_outbox ob;
	struct rc_outbox_msg *msgs;
	struct rc_outbox_log *logs;
	size_t dropped, n = 0;

	rc_outbox_init(&ob, 1);
	for (int i = 0; i < 1100; i++)
		rc_outbox_log(&ob, RC_LOG_INFO, "line %d", i);
	rc_outbox_take(&ob, &msgs, &logs, &dropped);
	CU_ASSERT_STRING_EQUAL(logs->text, "line 0");
	while (logs != NULL) {
		struct rc_outbox_log *next = logs->next;
		free(logs);
		logs = next;
		n++;
	}
	CU_ASSERT_EQUAL(n + dropped, 1100);
	CU_ASSERT(dropped > 0);
	rc_outbox_destroy(&ob);
}

#define PRODUCED 100000

static void *producer(void *arg)
{
	struct rc_outbox *ob = arg;

	for (unsigned i = 0; i < PRODUCED;) {
		if (rc_outbox_room(ob) > 0 && rc_outbox_push(ob, msg(i)))
			i++;
	}
	return NULL;
}

static void test_two_threads_exactly_once_in_order(void)
{
	struct rc_outbox ob;
	pthread_t t;
	unsigned next = 0;

	rc_outbox_init(&ob, 1000);
	pthread_create(&t, NULL, producer, &ob);
	while (next < PRODUCED) {
		struct rc_outbox_msg *msgs;
		struct rc_outbox_log *logs;
		size_t dropped;
		rc_outbox_take(&ob, &msgs, &logs, &dropped);
		while (msgs != NULL) {
			struct rc_outbox_msg *m = msgs;
			msgs = m->next;
			if ((unsigned)atoi(m->payload) != next)
				CU_FAIL("out of order or lost");
			next++;
			rc_outbox_msg_free(m);
		}
	}
	pthread_join(t, NULL);
	CU_ASSERT_EQUAL(next, PRODUCED);
	rc_outbox_destroy(&ob);
}

int main(void)
{
	static const struct rc_test_case cases[] = {
		{ "bound and FIFO", test_bound_and_fifo },
		{ "logs bounded", test_logs_bounded },
		{ "two threads, exactly once, in order", test_two_threads_exactly_once_in_order },
		{ NULL, NULL },
	};
	return rc_test_run("outbox", NULL, NULL, cases);
}
