/* test_backoff.c - capped exponential backoff with jitter. */
#include <stdint.h>
#include "rc_test.h"
#include "rc_backoff.h"

static void test_window_doubles_up_to_the_cap(void)
{
	struct rc_backoff b;
	int64_t expected_max[] = { 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000 };

	rc_backoff_init(&b, 1000, 30000);
	for (size_t i = 0; i < sizeof(expected_max) / sizeof(expected_max[0]); i++) {
		struct rc_backoff copy = b;
		/* The largest random value gives the top of the window, zero gives its middle. */
		CU_ASSERT_EQUAL(rc_backoff_fail(&b, 0xffffffffu), expected_max[i]);
		CU_ASSERT_EQUAL(rc_backoff_fail(&copy, 0), expected_max[i] - expected_max[i] / 2);
	}
}

static void test_jitter_stays_in_upper_half(void)
{
	struct rc_backoff b;
	uint32_t r = 12345;

	rc_backoff_init(&b, 500, 8000);
	for (int i = 0; i < 1000; i++) {
		struct rc_backoff probe = b;
		int64_t top = rc_backoff_fail(&probe, 0xffffffffu);
		r = r * 1664525u + 1013904223u;
		int64_t d = rc_backoff_fail(&b, r);
		CU_ASSERT(d >= top / 2 && d <= top);
	}
}

static void test_odd_window_bounds(void)
{
	struct rc_backoff b;

	/* w = 1001: the lowest wait is 501 (>= w/2), the highest exactly w. */
	rc_backoff_init(&b, 1001, 5000);
	struct rc_backoff probe = b;
	CU_ASSERT_EQUAL(rc_backoff_fail(&probe, 0), 501);
	CU_ASSERT_EQUAL(rc_backoff_fail(&b, 0xffffffffu), 1001);
	/* Second failure: w = 2002; third: 4004; then the cap, 5000. */
	probe = b;
	CU_ASSERT_EQUAL(rc_backoff_fail(&probe, 0), 1001);
	CU_ASSERT_EQUAL(rc_backoff_fail(&b, 0xffffffffu), 2002);
	CU_ASSERT_EQUAL(rc_backoff_fail(&b, 0xffffffffu), 4004);
	probe = b;
	CU_ASSERT_EQUAL(rc_backoff_fail(&probe, 0), 2500);
	CU_ASSERT_EQUAL(rc_backoff_fail(&b, 0xffffffffu), 5000);
}

static void test_reset_and_no_overflow(void)
{
	struct rc_backoff b;

	rc_backoff_init(&b, 1000, 60000);
	for (int i = 0; i < 100; i++)
		CU_ASSERT(rc_backoff_fail(&b, 0xffffffffu) <= 60000);
	CU_ASSERT_EQUAL(rc_backoff_fail(&b, 0xffffffffu), 60000);
	rc_backoff_reset(&b);
	CU_ASSERT_EQUAL(rc_backoff_fail(&b, 0xffffffffu), 1000);
	/* Even with no practical cap, 100 failures neither overflow nor leave the window. */
	rc_backoff_init(&b, 1, INT64_MAX);
	for (int i = 0; i < 100; i++) {
		struct rc_backoff probe = b;
		int64_t low = rc_backoff_fail(&probe, 0);
		int64_t high = rc_backoff_fail(&b, 0xffffffffu);
		int64_t w = i < 63 ? INT64_C(1) << i : INT64_MAX;
		CU_ASSERT(low >= w / 2 && low <= high && high <= w);
		/* Exact for windows up to 2^32 ms (49 days); only the bounds are promised beyond. */
		if (i <= 32)
			CU_ASSERT_EQUAL(high, w);
	}
	struct rc_backoff probe = b;
	CU_ASSERT(rc_backoff_fail(&probe, 0) >= INT64_MAX / 2);
	/* Nonsense settings are made sane rather than dividing by zero. */
	rc_backoff_init(&b, 0, -5);
	CU_ASSERT(rc_backoff_fail(&b, 0xffffffffu) >= 1);
}

static void test_window_without_jitter(void)
{
	struct rc_backoff b;

	/* The schedule rc_backoff_fail jitters: the top of its window after each failure. */
	rc_backoff_init(&b, 1000, 30000);
	for (unsigned f = 1; f <= 10; f++)
		CU_ASSERT_EQUAL(rc_backoff_window(1000, 30000, f), rc_backoff_fail(&b, 0xffffffffu));
	CU_ASSERT_EQUAL(rc_backoff_window(1000, 30000, 0), 1000);
	/* Odd bounds: the cap is reached exactly, never passed. */
	CU_ASSERT_EQUAL(rc_backoff_window(3, 5, 2), 5);
	CU_ASSERT_EQUAL(rc_backoff_window(2, 5, 2), 4);
	CU_ASSERT_EQUAL(rc_backoff_window(1, INT64_MAX, 63), INT64_C(1) << 62);
	CU_ASSERT_EQUAL(rc_backoff_window(1, INT64_MAX, 64), INT64_MAX);
	CU_ASSERT_EQUAL(rc_backoff_window(1, INT64_MAX, 1000000), INT64_MAX);
}

int main(void)
{
	static const struct rc_test_case cases[] = {
		{ "window doubles up to the cap", test_window_doubles_up_to_the_cap },
		{ "jitter in the upper half", test_jitter_stays_in_upper_half },
		{ "odd window bounds", test_odd_window_bounds },
		{ "reset, no overflow", test_reset_and_no_overflow },
		{ "window without jitter", test_window_without_jitter },
		{ NULL, NULL },
	};
	return rc_test_run("backoff", NULL, NULL, cases);
}
