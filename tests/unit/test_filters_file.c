/* test_filters_file.c - the filter set written back atomically (rc_filters_file.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "rc_test.h"
#include "rc_config.h"
#include "rc_filters_file.h"
#include "rc_strlist.h"

static char dir[] = "/tmp/rc-filters-file-XXXXXX";

static int setup(void)
{
	return mkdtemp(dir) != NULL ? 0 : -1;
}

static int teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_write_and_read_back(void)
{
	char path[256], err[256];
	char *filters[] = { "/restapi/v1.0/a?x=1", "/b", NULL };
	char **back = NULL;
	size_t n = 0;

	snprintf(path, sizeof(path), "%s/filters", dir);
	CU_ASSERT_EQUAL(rc_filters_file_write(path, filters, 2, "written by a test\nsecond line",
			err, sizeof(err)), 0);
	struct stat st;
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0644);          /* a new file */
	/* What the plugin reads at start-up and on SIGHUP. */
	CU_ASSERT_EQUAL(rc_filters_load_file(path, &back, &n, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_STRING_EQUAL(back[0], "/restapi/v1.0/a?x=1");
	CU_ASSERT_STRING_EQUAL(back[1], "/b");
	rc_strlist_free(back);
	FILE *f = fopen(path, "r");
	char line[128];
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_PTR_NOT_NULL(fgets(line, sizeof(line), f));
	CU_ASSERT_STRING_EQUAL(line, "# written by a test\n");
	CU_ASSERT_PTR_NOT_NULL(fgets(line, sizeof(line), f));
	CU_ASSERT_STRING_EQUAL(line, "# second line\n");
	fclose(f);

	/* An existing file keeps its mode; no temporary file is left behind. */
	CU_ASSERT_EQUAL(chmod(path, 0640), 0);
	CU_ASSERT_EQUAL(rc_filters_file_write(path, filters + 1, 1, NULL, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0640);
	CU_ASSERT_EQUAL(rc_filters_load_file(path, &back, &n, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(n, 1);
	rc_strlist_free(back);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "test $(ls -A %s | wc -l) -eq 1", dir);
	CU_ASSERT_EQUAL(system(cmd), 0);
}

static void test_failure_leaves_the_old_file(void)
{
	char path[256], err[256];
	char *filters[] = { "/a", NULL };

	snprintf(path, sizeof(path), "%s/missing-dir/filters", dir);
	CU_ASSERT_EQUAL(rc_filters_file_write(path, filters, 1, NULL, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "cannot write"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, path));
}

int main(void)
{
	static const struct rc_test_case cases[] = {
		{ "write and read back", test_write_and_read_back },
		{ "failure", test_failure_leaves_the_old_file },
		{ NULL, NULL },
	};
	return rc_test_run("filters_file", setup, teardown, cases);
}
