/* test_checkpoint.c - the saveable PubNub position never covers an unconfirmed
 * notification, and follows the confirmations as closely as it can. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "rc_test.h"
#include "rc_checkpoint.h"

static struct rc_pubnub_cursor at(unsigned long long tt)
{
	struct rc_pubnub_cursor c = { .tr = 4 };

	snprintf(c.tt, sizeof(c.tt), "%llu", tt);
	return c;
}

static void test_safe_follows_confirmation(void)
{
	static struct rc_checkpoint c;
	struct rc_pubnub_cursor zero = { .tt = "0" }, p;

	rc_checkpoint_reset(&c, &zero);
	p = at(100);
	rc_checkpoint_mark(&c, &p, 3);        /* a poll fetched #1..#3 */
	p = at(200);
	rc_checkpoint_mark(&c, &p, 5);        /* the next fetched #4, #5 */
	CU_ASSERT_FALSE(rc_checkpoint_settle(&c, 0));
	CU_ASSERT_STRING_EQUAL(c.safe.tt, "0");
	CU_ASSERT_FALSE(rc_checkpoint_settle(&c, 2));   /* #3 is not in the broker yet */
	CU_ASSERT_STRING_EQUAL(c.safe.tt, "0");
	CU_ASSERT_TRUE(rc_checkpoint_settle(&c, 4));
	CU_ASSERT_STRING_EQUAL(c.safe.tt, "100");
	CU_ASSERT_EQUAL(c.safe.tr, 4);
	CU_ASSERT_TRUE(rc_checkpoint_settle(&c, 5));
	CU_ASSERT_STRING_EQUAL(c.safe.tt, "200");
	CU_ASSERT_FALSE(rc_checkpoint_settle(&c, 9));   /* nothing pending */
	CU_ASSERT_EQUAL(c.n, 0);
}

/* A poll that pushed nothing (quiet, or only duplicates) moves the pending mark on: it
 * waits for the same notifications, and is safe at once when they are confirmed. */
static void test_quiet_poll_replaces_the_pending_mark(void)
{
	static struct rc_checkpoint c;
	struct rc_pubnub_cursor zero = { .tt = "0" }, p;

	rc_checkpoint_reset(&c, &zero);
	p = at(100);
	rc_checkpoint_mark(&c, &p, 7);
	p = at(150);
	rc_checkpoint_mark(&c, &p, 7);
	CU_ASSERT_EQUAL(c.n, 1);
	CU_ASSERT_TRUE(rc_checkpoint_settle(&c, 7));
	CU_ASSERT_STRING_EQUAL(c.safe.tt, "150");
	p = at(160);
	rc_checkpoint_mark(&c, &p, 7);                  /* already confirmed */
	CU_ASSERT_TRUE(rc_checkpoint_settle(&c, 7));
	CU_ASSERT_STRING_EQUAL(c.safe.tt, "160");
}

/* More pending polls than the ring holds: the newest mark is overwritten with a later
 * position and a later number, so the safe position lags but never runs ahead. */
static void test_full_ring_stays_conservative(void)
{
	static struct rc_checkpoint c;
	struct rc_pubnub_cursor zero = { .tt = "0" }, p;
	const uint64_t polls = RC_CHECKPOINT_MARKS + 50;

	rc_checkpoint_reset(&c, &zero);
	for (uint64_t i = 1; i <= polls; i++) {
		p = at(1000 + i);
		rc_checkpoint_mark(&c, &p, i);            /* one notification per poll */
	}
	CU_ASSERT_EQUAL(c.n, RC_CHECKPOINT_MARKS);
	for (uint64_t confirmed = 1; confirmed <= polls; confirmed++) {
		rc_checkpoint_settle(&c, confirmed);
		unsigned long long safe = strtoull(c.safe.tt, NULL, 10);
		/* Position 1000+k covers notifications 1..k. */
		CU_ASSERT_TRUE(safe == 0 || safe - 1000 <= confirmed);
	}
	CU_ASSERT_STRING_EQUAL(c.safe.tt, "1306");
	CU_ASSERT_EQUAL(c.n, 0);
}

/* A new channel starts from its own position; marks of the old one are forgotten. */
static void test_reset_forgets_pending_marks(void)
{
	static struct rc_checkpoint c;
	struct rc_pubnub_cursor zero = { .tt = "0" }, p = at(100), resumed = at(42);

	rc_checkpoint_reset(&c, &zero);
	rc_checkpoint_mark(&c, &p, 1);
	rc_checkpoint_reset(&c, &resumed);
	CU_ASSERT_FALSE(rc_checkpoint_settle(&c, 10));
	CU_ASSERT_STRING_EQUAL(c.safe.tt, "42");
}

int main(void)
{
	static const struct rc_test_case cases[] = {
		{ "safe follows confirmation", test_safe_follows_confirmation },
		{ "quiet poll replaces the pending mark", test_quiet_poll_replaces_the_pending_mark },
		{ "full ring stays conservative", test_full_ring_stays_conservative },
		{ "reset forgets pending marks", test_reset_forgets_pending_marks },
		{ NULL, NULL },
	};
	return rc_test_run("checkpoint", NULL, NULL, cases);
}
