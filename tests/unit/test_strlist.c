/* test_strlist.c - NULL-terminated string lists. */
#include <stdlib.h>
#include <string.h>
#include "rc_test.h"
#include "rc_strlist.h"

static void test_add_copy_compare(void)
{
	char **l = NULL;
	size_t n = 0;

	CU_ASSERT_EQUAL(rc_strlist_add_unique(&l, &n, "/a"), 0);
	CU_ASSERT_EQUAL(rc_strlist_add_unique(&l, &n, "/b"), 0);
	CU_ASSERT_EQUAL(rc_strlist_add_unique(&l, &n, "/a"), 0); /* already there */
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_PTR_NULL(l[2]);
	CU_ASSERT_TRUE(rc_strlist_contains(l, n, "/b"));
	CU_ASSERT_FALSE(rc_strlist_contains(l, n, "/c"));

	char **c = rc_strlist_copy(l, n);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_PTR_NOT_EQUAL(c[0], l[0]);
	CU_ASSERT_PTR_NULL(c[2]);
	char *other[] = { "/b", "/a", "/a", NULL };
	CU_ASSERT_TRUE(rc_strlist_same_set(l, n, other, 3));   /* order and repeats ignored */
	CU_ASSERT_FALSE(rc_strlist_same_set(l, n, other, 1));
	CU_ASSERT_TRUE(rc_strlist_same_set(NULL, 0, NULL, 0));
	rc_strlist_free(c);

	char **empty = rc_strlist_copy(NULL, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(empty);
	CU_ASSERT_PTR_NULL(empty[0]);
	rc_strlist_free(empty);
	rc_strlist_free(l);
	rc_strlist_free(NULL);
}

static void test_remove(void)
{
	char **l = NULL;
	size_t n = 0;

	rc_strlist_add_unique(&l, &n, "x");
	rc_strlist_add_unique(&l, &n, "y");
	rc_strlist_add_unique(&l, &n, "z");
	rc_strlist_remove(l, &n, "y");
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_STRING_EQUAL(l[0], "x");
	CU_ASSERT_STRING_EQUAL(l[1], "z");
	CU_ASSERT_PTR_NULL(l[2]);
	rc_strlist_remove(l, &n, "absent");
	CU_ASSERT_EQUAL(n, 2);
	/* The entry itself as the key (the oldest of a full list): compared with the rest
	 * before it is freed (the sanitizer run would see a use after free otherwise). */
	rc_strlist_remove(l, &n, l[0]);
	CU_ASSERT_EQUAL_FATAL(n, 1);
	CU_ASSERT_STRING_EQUAL(l[0], "z");
	CU_ASSERT_PTR_NULL(l[1]);
	rc_strlist_free(l);
}

int main(void)
{
	static const struct rc_test_case cases[] = {
		{ "add, copy, compare", test_add_copy_compare },
		{ "remove", test_remove },
		{ NULL, NULL },
	};
	return rc_test_run("strlist", NULL, NULL, cases);
}
