/* test_dedupe.c - the bounded memory of recent notification uuids. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
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

/* Against a naive model (a FIFO array searched linearly): a small pool of uuids makes hits,
 * misses, evictions and re-additions interleave, and a small capacity with a pool larger than
 * the table makes the hash chains share buckets. */
static void test_matches_naive_model(void)
{
	enum { CAP = 7, POOL = 40, OPS = 100000 };
	struct rc_dedupe *d = rc_dedupe_new(CAP);
	int model[CAP];
	size_t model_n = 0, model_head = 0;
	uint32_t rng = 12345;
	unsigned mismatches = 0, hits = 0;
	char uuid[32];

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	for (int op = 0; op < OPS; op++) {
		rng = rng * 1664525u + 1013904223u;
		int id = (int)((rng >> 8) % POOL);
		snprintf(uuid, sizeof(uuid), "uuid-%d", id);

		bool want = false;
		for (size_t i = 0; i < model_n; i++)
			want |= model[(model_head + i) % CAP] == id;
		if (!want) {
			if (model_n == CAP) {
				model_head = (model_head + 1) % CAP;
				model_n--;
			}
			model[(model_head + model_n++) % CAP] = id;
		}
		bool got = rc_dedupe_check_and_add(d, uuid);
		mismatches += got != want;
		hits += got;
		if (rc_dedupe_count(d) != model_n)
			mismatches++;
	}
	CU_ASSERT_EQUAL(mismatches, 0);
	CU_ASSERT(hits > OPS / 20); /* the test did exercise both outcomes */
	CU_ASSERT(hits < OPS);
	rc_dedupe_free(d);
}

static void test_nulls_are_harmless(void)
{
	struct rc_dedupe *d = rc_dedupe_new(2);

	CU_ASSERT_FALSE(rc_dedupe_check_and_add(d, NULL));
	CU_ASSERT_FALSE(rc_dedupe_check_and_add(NULL, "a"));
	CU_ASSERT_EQUAL(rc_dedupe_count(d), 0);
	CU_ASSERT_PTR_NULL(rc_dedupe_new(SIZE_MAX));
	CU_ASSERT_PTR_NULL(rc_dedupe_new(SIZE_MAX / 2 + 1));
	rc_dedupe_free(d);
	rc_dedupe_free(NULL);
}

/* A caller's buffer is copied, not kept: overwriting it must not change what is remembered. */
static void test_uuid_is_copied(void)
{
	struct rc_dedupe *d = rc_dedupe_new(2);
	char buf[16];

	strcpy(buf, "first");
	CU_ASSERT_FALSE(rc_dedupe_check_and_add(d, buf));
	strcpy(buf, "second");
	CU_ASSERT_FALSE(rc_dedupe_check_and_add(d, buf));
	CU_ASSERT_TRUE(rc_dedupe_check_and_add(d, "first"));
	CU_ASSERT_TRUE(rc_dedupe_check_and_add(d, "second"));
	rc_dedupe_free(d);
}

/* Over-long uuids are not kept: the table's memory stays bounded per entry. */
static void test_long_uuid_not_remembered(void)
{
	struct rc_dedupe *d = rc_dedupe_new(4);
	char uuid[RC_DEDUPE_UUID_MAX + 2];

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	memset(uuid, 'u', sizeof(uuid) - 1);
	uuid[sizeof(uuid) - 1] = '\0';   /* RC_DEDUPE_UUID_MAX + 1 bytes */
	CU_ASSERT_FALSE(rc_dedupe_check_and_add(d, uuid));
	CU_ASSERT_FALSE(rc_dedupe_check_and_add(d, uuid));
	CU_ASSERT_EQUAL(rc_dedupe_count(d), 0);
	uuid[RC_DEDUPE_UUID_MAX] = '\0';   /* exactly the limit: kept */
	CU_ASSERT_FALSE(rc_dedupe_check_and_add(d, uuid));
	CU_ASSERT_TRUE(rc_dedupe_check_and_add(d, uuid));
	CU_ASSERT_EQUAL(rc_dedupe_count(d), 1);
	rc_dedupe_free(d);
}

/* The hash is keyed per table: stable within one table, different across tables, so no
 * set of uuids chosen in advance lands in one bucket of every run. */
static void test_hash_is_keyed_per_table(void)
{
	struct rc_dedupe *a = rc_dedupe_new(16), *b = rc_dedupe_new(16);
	uint64_t ha1 = 0, ha2 = 1, hb = 0;
	int same_bucket = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_TRUE(rc_dedupe_hash(a, "3f1c3a6e-8d2b-4f3a-9c1e-5b7d2e8a9f01", &ha1));
	CU_ASSERT_TRUE(rc_dedupe_hash(a, "3f1c3a6e-8d2b-4f3a-9c1e-5b7d2e8a9f01", &ha2));
	CU_ASSERT_TRUE(rc_dedupe_hash(b, "3f1c3a6e-8d2b-4f3a-9c1e-5b7d2e8a9f01", &hb));
	CU_ASSERT_EQUAL(ha1, ha2);
	CU_ASSERT_NOT_EQUAL(ha1, hb);   /* 2^-64 chance of a false failure */
	/* Buckets (the low bits) differ too: of 64 uuids, chance alone puts few in the same
	 * bucket of both tables (32 buckets here: about 2 expected). */
	for (int i = 0; i < 64; i++) {
		char uuid[16];
		snprintf(uuid, sizeof(uuid), "u-%d", i);
		CU_ASSERT_TRUE(rc_dedupe_hash(a, uuid, &ha1));
		CU_ASSERT_TRUE(rc_dedupe_hash(b, uuid, &hb));
		same_bucket += (ha1 & 31) == (hb & 31);
	}
	CU_ASSERT(same_bucket < 16);
	CU_ASSERT_FALSE(rc_dedupe_hash(NULL, "x", &ha1));
	CU_ASSERT_FALSE(rc_dedupe_hash(a, NULL, &ha1));
	rc_dedupe_free(a);
	rc_dedupe_free(b);
}

int main(void)
{
	static const struct rc_test_case cases[] = {
		{ "seen and unseen", test_seen_and_unseen },
		{ "oldest forgotten first", test_oldest_is_forgotten_first },
		{ "capacity one", test_capacity_one },
		{ "many inserts stay bounded", test_many_inserts_stay_bounded },
		{ "matches a naive model", test_matches_naive_model },
		{ "NULLs are harmless", test_nulls_are_harmless },
		{ "uuid is copied", test_uuid_is_copied },
		{ "long uuid not remembered", test_long_uuid_not_remembered },
		{ "hash is keyed per table", test_hash_is_keyed_per_table },
		{ NULL, NULL },
	};
	return rc_test_run("dedupe", NULL, NULL, cases);
}
