/* test_state_file.c - saving and loading the subscription across restarts. */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "rc_test.h"
#include "rc_state_file.h"

/* How many files match pattern (glob). */
static size_t leftovers(const char *pattern)
{
	glob_t g;
	size_t n = glob(pattern, 0, NULL, &g) == 0 ? g.gl_pathc : 0;

	globfree(&g);
	return n;
}

static char dir[64];
static char path[128];

static void write_file(const char *content)
{
	FILE *f = fopen(path, "w");

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(content, f);
	fclose(f);
}

static void test_round_trip(void)
{
	char *filters[] = { "/restapi/v1.0/account/~/extension/~/presence", "/b", NULL };
	struct rc_saved_state s = { .subscription_id = "78c53776-6aa5-4089-b080-150089c097bf",
		.event_filters = filters, .n_event_filters = 2, .address = "96830102602705_0d0115d5",
		.cursor = { .tt = "15955780863943033", .tr = 2 } };
	struct rc_saved_state got;
	char err[256];
	struct stat st;
	char tmp[160];

	CU_ASSERT_EQUAL_FATAL(rc_state_file_save(path, &s, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
	snprintf(tmp, sizeof(tmp), "%s.tmp*", path);
	CU_ASSERT_EQUAL(leftovers(tmp), 0);             /* no temporary file left behind */

	CU_ASSERT_EQUAL_FATAL(rc_state_file_load(path, &got, err, sizeof(err)), RC_STATE_LOADED);
	CU_ASSERT_STRING_EQUAL(got.subscription_id, s.subscription_id);
	CU_ASSERT_EQUAL_FATAL(got.n_event_filters, 2);
	CU_ASSERT_STRING_EQUAL(got.event_filters[0], filters[0]);
	CU_ASSERT_STRING_EQUAL(got.event_filters[1], "/b");
	CU_ASSERT_PTR_NULL(got.event_filters[2]);
	CU_ASSERT_STRING_EQUAL(got.address, s.address);
	CU_ASSERT_STRING_EQUAL(got.cursor.tt, "15955780863943033");
	CU_ASSERT_EQUAL(got.cursor.tr, 2);
	CU_ASSERT_EQUAL(got.n_owned, 0);               /* none given, none loaded */
	rc_saved_state_clear(&got);
	CU_ASSERT_PTR_NULL(got.subscription_id);

	/* The ids this bridge created (its only possible orphans) survive the restart. */
	char *owned[] = { "old-1", s.subscription_id, NULL };
	s.owned = owned;
	s.n_owned = 2;
	CU_ASSERT_EQUAL_FATAL(rc_state_file_save(path, &s, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(rc_state_file_load(path, &got, err, sizeof(err)), RC_STATE_LOADED);
	CU_ASSERT_EQUAL_FATAL(got.n_owned, 2);
	CU_ASSERT_STRING_EQUAL(got.owned[0], "old-1");
	CU_ASSERT_STRING_EQUAL(got.owned[1], s.subscription_id);
	CU_ASSERT_PTR_NULL(got.owned[2]);
	rc_saved_state_clear(&got);

	/* No live subscription, but ids of ours to remember: the file keeps only those. */
	struct rc_saved_state only = { .owned = owned, .n_owned = 2 };
	CU_ASSERT_EQUAL_FATAL(rc_state_file_save(path, &only, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(rc_state_file_load(path, &got, err, sizeof(err)), RC_STATE_LOADED);
	CU_ASSERT_PTR_NULL(got.subscription_id);
	CU_ASSERT_EQUAL(got.n_event_filters, 0);
	CU_ASSERT_EQUAL_FATAL(got.n_owned, 2);
	CU_ASSERT_STRING_EQUAL(got.owned[0], "old-1");
	rc_saved_state_clear(&got);
	s.owned = NULL;
	s.n_owned = 0;

	/* The uuids that entered the broker travel with the position, in order. */
	char *delivered[] = { "u-1", "u-2", "u-3", NULL };
	s.delivered = delivered;
	s.n_delivered = 3;
	CU_ASSERT_EQUAL_FATAL(rc_state_file_save(path, &s, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(rc_state_file_load(path, &got, err, sizeof(err)), RC_STATE_LOADED);
	CU_ASSERT_EQUAL_FATAL(got.n_delivered, 3);
	CU_ASSERT_STRING_EQUAL(got.delivered[0], "u-1");
	CU_ASSERT_STRING_EQUAL(got.delivered[2], "u-3");
	CU_ASSERT_PTR_NULL(got.delivered[3]);
	rc_saved_state_clear(&got);
	s.delivered = NULL;
	s.n_delivered = 0;

	/* Saving again replaces the file atomically. */
	s.cursor.tt[0] = '2';
	CU_ASSERT_EQUAL(rc_state_file_save(path, &s, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(rc_state_file_load(path, &got, err, sizeof(err)), RC_STATE_LOADED);
	CU_ASSERT_STRING_EQUAL(got.cursor.tt, "25955780863943033");
	rc_saved_state_clear(&got);
}

static void test_missing_and_corrupt(void)
{
	struct rc_saved_state got;
	char err[256] = "";

	rc_state_file_remove(path);
	CU_ASSERT_EQUAL(rc_state_file_load(path, &got, err, sizeof(err)), RC_STATE_ABSENT);
	write_file("{ not json");
	CU_ASSERT_EQUAL(rc_state_file_load(path, &got, err, sizeof(err)), RC_STATE_UNUSABLE);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "not a valid state file"));
	/* A timetoken goes into a URL: anything but digits is refused, and nothing is kept. */
	write_file("{\"subscription_id\":\"x\",\"event_filters\":[\"/a\"],\"pubnub_timetoken\":\"12ab\"}");
	err[0] = '\0';
	CU_ASSERT_EQUAL(rc_state_file_load(path, &got, err, sizeof(err)), RC_STATE_UNUSABLE);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, path));
	CU_ASSERT_PTR_NULL(got.subscription_id);
	CU_ASSERT_PTR_NULL(got.event_filters);
	write_file("{\"subscription_id\":\"x\",\"event_filters\":[\"/a\"],\"pubnub_timetoken\":\"1&x=2\"}");
	CU_ASSERT_EQUAL(rc_state_file_load(path, &got, err, sizeof(err)), RC_STATE_UNUSABLE);
	write_file("{\"subscription_id\":\"x\",\"event_filters\":[\"/a\"],\"pubnub_timetoken\":\"\"}");
	CU_ASSERT_EQUAL(rc_state_file_load(path, &got, err, sizeof(err)), RC_STATE_UNUSABLE);
	write_file("");
	CU_ASSERT_EQUAL(rc_state_file_load(path, &got, err, sizeof(err)), RC_STATE_UNUSABLE);
	write_file("{\"subscription_id\":\"\",\"event_filters\":[\"/a\"]}");
	CU_ASSERT_EQUAL(rc_state_file_load(path, &got, err, sizeof(err)), RC_STATE_UNUSABLE);
	write_file("{\"subscription_id\":\"x\",\"event_filters\":[1]}");
	CU_ASSERT_EQUAL(rc_state_file_load(path, &got, err, sizeof(err)), RC_STATE_UNUSABLE);
	/* The uuid list is ours: any other shape, or more than we ever write, is refused. */
	write_file("{\"subscription_id\":\"x\",\"event_filters\":[],\"delivered_uuids\":\"u\"}");
	CU_ASSERT_EQUAL(rc_state_file_load(path, &got, err, sizeof(err)), RC_STATE_UNUSABLE);
	write_file("{\"subscription_id\":\"x\",\"event_filters\":[],\"delivered_uuids\":[\"u\",2]}");
	CU_ASSERT_EQUAL(rc_state_file_load(path, &got, err, sizeof(err)), RC_STATE_UNUSABLE);
	write_file("{\"subscription_id\":\"x\",\"event_filters\":[],\"delivered_uuids\":[\"\"]}");
	CU_ASSERT_EQUAL(rc_state_file_load(path, &got, err, sizeof(err)), RC_STATE_UNUSABLE);
	{
		FILE *f = fopen(path, "w");
		CU_ASSERT_PTR_NOT_NULL_FATAL(f);
		fputs("{\"subscription_id\":\"x\",\"event_filters\":[],\"delivered_uuids\":[", f);
		for (int i = 0; i <= RC_STATE_DELIVERED_MAX; i++)
			fprintf(f, "%s\"u-%d\"", i ? "," : "", i);
		fputs("]}", f);
		fclose(f);
	}
	CU_ASSERT_EQUAL(rc_state_file_load(path, &got, err, sizeof(err)), RC_STATE_UNUSABLE);
	/* No cursor saved: start from "0". */
	write_file("{\"subscription_id\":\"x\",\"event_filters\":[\"/a\"]}");
	CU_ASSERT_EQUAL_FATAL(rc_state_file_load(path, &got, err, sizeof(err)), RC_STATE_LOADED);
	CU_ASSERT_STRING_EQUAL(got.cursor.tt, "0");
	CU_ASSERT_PTR_NULL(got.address);
	rc_saved_state_clear(&got);
}

static void test_stale_temporary_file(void)
{
	struct rc_saved_state s = { .subscription_id = "x", .cursor = { .tt = "1" } };
	char err[256] = "";
	char tmp[160];
	struct stat st;

	/* A leftover world-readable .tmp (say from a crash, or planted) must not lend its
	 * mode to the saved file, which holds the subscription id, nor be written through. */
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("stale", f);
	fclose(f);
	CU_ASSERT_EQUAL_FATAL(chmod(tmp, 0644), 0);
	CU_ASSERT_EQUAL_FATAL(rc_state_file_save(path, &s, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
	f = fopen(tmp, "r");
	char buf[16] = "";
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_PTR_NOT_NULL(fgets(buf, sizeof(buf), f));
	fclose(f);
	CU_ASSERT_STRING_EQUAL(buf, "stale");           /* untouched */
	unlink(tmp);
	rc_state_file_remove(path);
	CU_ASSERT_NOT_EQUAL(access(path, F_OK), 0);
	rc_state_file_remove(path); /* absent: no harm */
}

static void test_unwritable_directory(void)
{
	struct rc_saved_state s = { .subscription_id = "x", .cursor = { .tt = "1" } };
	char err[256] = "";

	CU_ASSERT_EQUAL(rc_state_file_save("/nonexistent-dir/state", &s, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "cannot write /nonexistent-dir/state"));
}

int main(void)
{
	static const struct rc_test_case cases[] = {
		{ "round trip", test_round_trip },
		{ "missing and corrupt", test_missing_and_corrupt },
		{ "stale temporary file", test_stale_temporary_file },
		{ "unwritable directory", test_unwritable_directory },
		{ NULL, NULL },
	};
	snprintf(dir, sizeof(dir), "/tmp/test_state_file.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 2;
	snprintf(path, sizeof(path), "%s/rc.state", dir);
	int rc = rc_test_run("state_file", NULL, NULL, cases);
	unlink(path);
	rmdir(dir);
	return rc;
}
