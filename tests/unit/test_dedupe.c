/* test_dedupe.c - the bounded memory of recent notification uuids. */
#include <stdio.h>
#include "rc_test.h"
#include "rc_dedupe.h"

static void test_seen_and_unseen(void)
{
	struct rc_dedupe *d = rc_dedupe_new(4);

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_FALSE(rc_dedupe_check_and_add(d, "a"));
	CU_ASSERT_TRUE(rc_dedupe_check_and_add(d, "a"));
	CU_ASSERT_FALSE(rc_dedupe_check_and_add(d, "b"));
	CU_ASSERT_TRUE(rc_dedupe_check_and_add(d, "b"));
	CU_ASSERT_EQUAL(rc_dedupe_count(d), 2);
	rc_dedupe_free(d);
}

static void test_oldest_is_forgotten_first(void)
{
	struct rc_dedupe *d = rc_dedupe_new(3);

	rc_dedupe_check_and_add(d, "1");
	rc_dedupe_check_and_add(d, "2");
	rc_dedupe_check_and_add(d, "3");
	rc_dedupe_check_and_add(d, "4"); /* evicts 1 */
	CU_ASSERT_EQUAL(rc_dedupe_count(d), 3);
	CU_ASSERT_TRUE(rc_dedupe_check_and_add(d, "2"));
	CU_ASSERT_TRUE(rc_dedupe_check_and_add(d, "3"));
	CU_ASSERT_TRUE(rc_dedupe_check_and_add(d, "4"));
	CU_ASSERT_FALSE(rc_dedupe_check_and_add(d, "1")); /* forgotten, re-added, evicts 2 */
	CU_ASSERT_FALSE(rc_dedupe_check_and_add(d, "2"));
	rc_dedupe_free(d);
}

static void test_capacity_one(void)
{
	struct rc_dedupe *d = rc_dedupe_new(1);

	CU_ASSERT_FALSE(rc_dedupe_check_and_add(d, "x"));
	CU_ASSERT_TRUE(rc_dedupe_check_and_add(d, "x"));
	CU_ASSERT_FALSE(rc_dedupe_check_and_add(d, "y"));
	CU_ASSERT_FALSE(rc_dedupe_check_and_add(d, "x"));
	CU_ASSERT_EQUAL(rc_dedupe_count(d), 1);
	rc_dedupe_free(d);
	CU_ASSERT_PTR_NULL(rc_dedupe_new(0));
}

static void test_many_inserts_stay_bounded(void)
{
	struct rc_dedupe *d = rc_dedupe_new(1000);
	char uuid[64];
	unsigned dups = 0;

	for (int i = 0; i < 200000; i++) {
		snprintf(uuid, sizeof(uuid), "%08x-0000-4000-8000-%012d", (unsigned)i * 2654435761u, i);
		dups += rc_dedupe_check_and_add(d, uuid);
		CU_ASSERT_FATAL(rc_dedupe_count(d) <= 1000);
	}
	CU_ASSERT_EQUAL(dups, 0);
	/* The last 1000 are remembered, the one before them is not. */
	snprintf(uuid, sizeof(uuid), "%08x-0000-4000-8000-%012d", 199999u * 2654435761u, 199999);
	CU_ASSERT_TRUE(rc_dedupe_check_and_add(d, uuid));
	snprintf(uuid, sizeof(uuid), "%08x-0000-4000-8000-%012d", 199000u * 2654435761u, 199000);
	CU_ASSERT_TRUE(rc_dedupe_check_and_add(d, uuid));
	snprintf(uuid, sizeof(uuid), "%08x-0000-4000-8000-%012d", 198999u * 2654435761u, 198999);
	CU_ASSERT_FALSE(rc_dedupe_check_and_add(d, uuid));
	rc_dedupe_free(d);
}

int main(void)
{
	static const struct rc_test_case cases[] = {
		{ "seen and unseen", test_seen_and_unseen },
		{ "oldest forgotten first", test_oldest_is_forgotten_first },
		{ "capacity one", test_capacity_one },
		{ "many inserts stay bounded", test_many_inserts_stay_bounded },
		{ NULL, NULL },
	};
	return rc_test_run("dedupe", NULL, NULL, cases);
}
