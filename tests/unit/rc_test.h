/* rc_test.h - the one main() all the CUnit unit tests share.
 *
 * A test file lists its cases in a table and hands them to rc_test_run(), which registers
 * them as one suite, runs them verbosely and turns the result into the exit code ctest
 * reads: 0 all passed, 1 something failed, 2 CUnit itself could not be set up. */
#ifndef RC_TEST_H
#define RC_TEST_H

#include <CUnit/Basic.h>

struct rc_test_case {
	const char *name;
	CU_TestFunc fn;
};

static inline int rc_test_run(const char *suite, CU_InitializeFunc init, CU_CleanupFunc clean,
		const struct rc_test_case *cases)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite(suite, init, clean);
	for (; s != NULL && cases->name != NULL; cases++)
		if (CU_add_test(s, cases->name, cases->fn) == NULL)
			s = NULL;
	if (s == NULL) {
		CU_cleanup_registry();
		return 2;
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	unsigned failures = CU_get_number_of_failures();
	CU_cleanup_registry();
	return failures ? 1 : 0;
}

#endif
