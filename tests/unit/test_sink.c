/* test_sink.c - the transports' door: what it remembers for the state file.
 *
 * Clear (unencrypted) notifications go in as text; the outbox plays the broker thread's
 * part by confirming sequence numbers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "rc_test.h"
#include "rc_sink.h"
#include "rc_strlist.h"

static struct rc_config cfg;

static int setup(void)
{
	cfg.topic_prefix = "ringcentral";
	cfg.max_notification_size = 65536;
	cfg.payload = RC_PAYLOAD_NOTIFICATION;
	return 0;
}

static void deliver(struct rc_sink *s, const char *uuid)
{
	char text[256];

	snprintf(text, sizeof(text), "{\"uuid\":\"%s\",\"event\":\"/restapi/v1.0/account/~/extension/7/presence\","
			"\"body\":{}}", uuid);
	rc_sink_deliver(s, text, strlen(text), NULL, 0);
}

static size_t queued(struct rc_outbox *ob)
{
	rc_outbox_lock(ob);
	size_t n = ob->n_msgs;
	rc_outbox_unlock(ob);
	return n;
}

/* Only what the broker confirmed is handed to the state file, oldest first, and only the
 * last `capacity` of it. */
static void test_recent_confirmed(void)
{
	struct rc_outbox ob;
	struct rc_sink s;
	size_t n = 99;

	CU_ASSERT_EQUAL_FATAL(rc_outbox_init(&ob, 100), 0);
	CU_ASSERT_EQUAL_FATAL(rc_sink_init(&s, &cfg, &ob, 64), 0);
	CU_ASSERT_EQUAL_FATAL(rc_sink_keep_recent(&s, 3), 0);
	CU_ASSERT_PTR_NULL(rc_sink_recent_confirmed(&s, &n));
	CU_ASSERT_EQUAL(n, 0);
	deliver(&s, "u-1");
	deliver(&s, "u-2");
	deliver(&s, "u-1");                          /* a replay: not pushed, not remembered */
	deliver(&s, "u-3");
	CU_ASSERT_EQUAL(rc_sink_mark(&s), 3);
	CU_ASSERT_EQUAL(queued(&ob), 3);
	CU_ASSERT_PTR_NULL(rc_sink_recent_confirmed(&s, &n));  /* nothing confirmed yet */
	rc_outbox_confirm(&ob, 2);
	CU_ASSERT_EQUAL(rc_sink_confirmed(&s), 2);
	char **l = rc_sink_recent_confirmed(&s, &n);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_STRING_EQUAL(l[0], "u-1");
	CU_ASSERT_STRING_EQUAL(l[1], "u-2");
	CU_ASSERT_PTR_NULL(l[2]);
	rc_strlist_free(l);
	deliver(&s, "u-4");                          /* the ring holds 3: u-1 goes */
	rc_outbox_confirm(&ob, 4);
	l = rc_sink_recent_confirmed(&s, &n);
	CU_ASSERT_EQUAL_FATAL(n, 3);
	CU_ASSERT_STRING_EQUAL(l[0], "u-2");
	CU_ASSERT_STRING_EQUAL(l[2], "u-4");
	rc_strlist_free(l);
	rc_sink_destroy(&s);
	rc_outbox_destroy(&ob);
}

/* The uuids of the previous run count as published: fetched again from the saved position,
 * they are counted as duplicates, and they stay in the list the next save writes. */
static void test_remembered_uuids_suppress_the_overlap(void)
{
	struct rc_outbox ob;
	struct rc_sink s;
	char *previous[] = { "u-1", "u-2", NULL };
	size_t n;

	CU_ASSERT_EQUAL_FATAL(rc_outbox_init(&ob, 100), 0);
	CU_ASSERT_EQUAL_FATAL(rc_sink_init(&s, &cfg, &ob, 64), 0);
	CU_ASSERT_EQUAL_FATAL(rc_sink_keep_recent(&s, 10), 0);
	rc_sink_remember(&s, previous, 2);
	deliver(&s, "u-1");
	deliver(&s, "u-2");
	deliver(&s, "u-3");
	CU_ASSERT_EQUAL(queued(&ob), 1);
	CU_ASSERT_EQUAL(ob.status.duplicates, 2);
	char **l = rc_sink_recent_confirmed(&s, &n);  /* u-3 is not confirmed yet */
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_STRING_EQUAL(l[0], "u-1");
	CU_ASSERT_STRING_EQUAL(l[1], "u-2");
	rc_strlist_free(l);
	rc_sink_destroy(&s);
	rc_outbox_destroy(&ob);
}

/* Without a saved position nothing is remembered (and nothing is spent on it). */
static void test_nothing_kept_without_a_position(void)
{
	struct rc_outbox ob;
	struct rc_sink s;
	size_t n;

	CU_ASSERT_EQUAL_FATAL(rc_outbox_init(&ob, 100), 0);
	CU_ASSERT_EQUAL_FATAL(rc_sink_init(&s, &cfg, &ob, 64), 0);
	deliver(&s, "u-1");
	rc_outbox_confirm(&ob, 1);
	CU_ASSERT_PTR_NULL(rc_sink_recent_confirmed(&s, &n));
	CU_ASSERT_EQUAL(n, 0);
	rc_sink_destroy(&s);
	rc_outbox_destroy(&ob);
}

int main(void)
{
	static const struct rc_test_case cases[] = {
		{ "recent confirmed", test_recent_confirmed },
		{ "remembered uuids suppress the overlap", test_remembered_uuids_suppress_the_overlap },
		{ "nothing kept without a position", test_nothing_kept_without_a_position },
		{ NULL, NULL },
	};
	return rc_test_run("sink", setup, NULL, cases);
}
