/* test_subscription.c - which subscriptions are ours, and which of them are orphans. */
#include <stdio.h>
#include <string.h>
#include "rc_test.h"
#include "rc_strlist.h"
#include "rc_subscription.h"

static const char LIST[] =
	"{\"records\":["
	"{\"id\":\"ours-old\",\"status\":\"Active\",\"expirationTime\":\"2030-01-01T00:00:00.000Z\","
	"\"eventFilters\":[\"/a\"],\"deliveryMode\":{\"transportType\":\"PubNub\"}},"
	"{\"id\":\"live\",\"status\":\"Active\",\"expirationTime\":\"2030-01-01T00:00:00.000Z\","
	"\"eventFilters\":[\"/a\"],\"deliveryMode\":{\"transportType\":\"PubNub\"}},"
	"{\"id\":\"another-brokers\",\"status\":\"Active\",\"expirationTime\":\"2030-01-01T00:00:00.000Z\","
	"\"eventFilters\":[\"/a\"],\"deliveryMode\":{\"transportType\":\"PubNub\"}}]}";

static void test_orphans_are_only_ours(void)
{
	struct rc_sub_slot slot = {0};
	char **orphans = NULL;
	size_t n = 0;

	CU_ASSERT_FALSE(rc_sub_may_have_orphans(&slot));
	rc_sub_own(&slot, "ours-old", true);
	rc_sub_own(&slot, "ours-gone", true);
	rc_sub_own(&slot, "live", true);
	slot.sub.id = "live";
	CU_ASSERT_TRUE(rc_sub_may_have_orphans(&slot));
	CU_ASSERT_EQUAL_FATAL(rc_sub_find_orphans(&slot, LIST, strlen(LIST), &orphans, &n), 0);
	/* Not the live one, not another broker's look-alike, not one no longer listed. */
	CU_ASSERT_EQUAL_FATAL(n, 1);
	CU_ASSERT_STRING_EQUAL(orphans[0], "ours-old");
	rc_strlist_free(orphans);
	CU_ASSERT_EQUAL(rc_sub_find_orphans(&slot, "{", 1, &orphans, &n), -1);

	rc_sub_own(&slot, "ours-old", false);
	rc_sub_own(&slot, "ours-gone", false);
	CU_ASSERT_FALSE(rc_sub_may_have_orphans(&slot)); /* only the live one is left */
	slot.sub.id = NULL;
	rc_sub_slot_free(&slot);
}

static void test_ownership_is_bounded(void)
{
	struct rc_sub_slot slot = {0};
	char id[32];

	for (int i = 0; i < RC_SUB_OWNED_MAX + 5; i++) {
		snprintf(id, sizeof(id), "sub-%d", i);
		rc_sub_own(&slot, id, true);
	}
	CU_ASSERT_EQUAL_FATAL(slot.n_owned, RC_SUB_OWNED_MAX);
	CU_ASSERT_STRING_EQUAL(slot.owned[0], "sub-5");     /* the oldest went */
	snprintf(id, sizeof(id), "sub-%d", RC_SUB_OWNED_MAX + 4);
	CU_ASSERT_STRING_EQUAL(slot.owned[RC_SUB_OWNED_MAX - 1], id);
	rc_sub_own(&slot, id, true);                         /* already there */
	CU_ASSERT_EQUAL(slot.n_owned, RC_SUB_OWNED_MAX);
	rc_sub_slot_free(&slot);
}

int main(void)
{
	static const struct rc_test_case cases[] = {
		{ "orphans are only ours", test_orphans_are_only_ours },
		{ "ownership is bounded", test_ownership_is_bounded },
		{ NULL, NULL },
	};
	return rc_test_run("subscription", NULL, NULL, cases);
}
