/* test_file_access.c - unit tests for judging another user's access (file_access.c).
 *
 * The permission-bit rule is tested on made-up principals; the path walk on a private
 * mkdtemp tree (removed again) with principals made up around its real owner, so the
 * tests mean the same whether they run as root or as anyone else. */
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "rc_test.h"
#include "rc_file_access.h"

/* A user who is neither the owner of anything here nor in its group, nor root. */
static struct rc_principal stranger(uid_t owner, gid_t group)
{
	static gid_t groups[1];
	struct rc_principal p = { .uid = owner + 54321, .gid = group + 54321 };

	groups[0] = p.gid;
	p.groups = groups;
	p.n_groups = 1;
	snprintf(p.name, sizeof(p.name), "stranger");
	return p;
}

static void test_mode_rule(void)
{
	gid_t groups[] = { 100, 200, 300 };
	struct rc_principal p = { "u", 1000, 100, groups, 3 };
	struct rc_principal root = { "root", 0, 0, NULL, 0 };
	const mode_t f = S_IFREG, d = S_IFDIR;

	/* Owner class. */
	CU_ASSERT_TRUE(rc_access_mode_allows(f | 0400, 1000, 999, &p, RC_ACCESS_READ));
	CU_ASSERT_FALSE(rc_access_mode_allows(f | 0400, 1000, 999, &p, RC_ACCESS_READ | RC_ACCESS_WRITE));
	/* The owner class is the only one asked for the owner, even if others may read. */
	CU_ASSERT_FALSE(rc_access_mode_allows(f | 0044, 1000, 100, &p, RC_ACCESS_READ));
	/* Group class, by primary or supplementary group. */
	CU_ASSERT_TRUE(rc_access_mode_allows(f | 0040, 0, 100, &p, RC_ACCESS_READ));
	CU_ASSERT_TRUE(rc_access_mode_allows(f | 0040, 0, 300, &p, RC_ACCESS_READ));
	CU_ASSERT_FALSE(rc_access_mode_allows(f | 0004, 0, 300, &p, RC_ACCESS_READ));
	/* Others. */
	CU_ASSERT_TRUE(rc_access_mode_allows(f | 0004, 0, 0, &p, RC_ACCESS_READ));
	CU_ASSERT_FALSE(rc_access_mode_allows(f | 0600, 0, 0, &p, RC_ACCESS_READ));
	CU_ASSERT_TRUE(rc_access_mode_allows(d | 0711, 0, 0, &p, RC_ACCESS_SEARCH));
	CU_ASSERT_FALSE(rc_access_mode_allows(d | 0755, 0, 0, &p, RC_ACCESS_WRITE | RC_ACCESS_SEARCH));
	/* Root. */
	CU_ASSERT_TRUE(rc_access_mode_allows(f | 0000, 1000, 100, &root, RC_ACCESS_READ | RC_ACCESS_WRITE));
	CU_ASSERT_TRUE(rc_access_mode_allows(d | 0000, 1000, 100, &root, RC_ACCESS_SEARCH));
}

struct tmp {
	char dir[64];
	char path[256];
};

static const char *tmp_path(struct tmp *t, const char *name)
{
	snprintf(t->path, sizeof(t->path), "%s/%s", t->dir, name);
	return t->path;
}

static void tmp_write(struct tmp *t, const char *name, mode_t mode)
{
	int fd = open(tmp_path(t, name), O_WRONLY | O_CREAT | O_TRUNC, 0600);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(write(fd, "x\n", 2) == 2);
	CU_ASSERT_FATAL(fchmod(fd, mode) == 0);
	close(fd);
}

static int tmp_remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	chmod(path, 0700);   /* harmless on files; lets the walk into closed directories */
	return remove(path);
}

static int tmp_open_dirs(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_D || type == FTW_DNR)
		chmod(path, 0700);
	return 0;
}

static void tmp_close(struct tmp *t)
{
	chmod(t->dir, 0700);
	nftw(t->dir, tmp_open_dirs, 8, FTW_PHYS);
	CU_ASSERT_EQUAL(nftw(t->dir, tmp_remove_one, 8, FTW_DEPTH | FTW_PHYS), 0);
}

static void test_path_walk(void)
{
	struct tmp t;
	struct stat st;
	char why[512];

	snprintf(t.dir, sizeof(t.dir), "/tmp/test_file_access.XXXXXX");
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(t.dir));
	CU_ASSERT_FATAL(stat(t.dir, &st) == 0);
	struct rc_principal p = stranger(st.st_uid, st.st_gid);

	/* mkdtemp makes 0700: nobody else gets in, whatever the file's mode. */
	tmp_write(&t, "open", 0644);
	CU_ASSERT_EQUAL(rc_access_check(tmp_path(&t, "open"), &p, RC_ACCESS_READ, why, sizeof(why)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "directory "));
	CU_ASSERT_PTR_NOT_NULL(strstr(why, t.dir));
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "is not searchable by stranger"));
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "mode 0700"));

	CU_ASSERT_FATAL(chmod(t.dir, 0711) == 0);
	CU_ASSERT_EQUAL(rc_access_check(tmp_path(&t, "open"), &p, RC_ACCESS_READ, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(rc_access_check(tmp_path(&t, "open"), &p, RC_ACCESS_READ | RC_ACCESS_WRITE,
			why, sizeof(why)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "is not readable and writable by stranger"));

	tmp_write(&t, "secret", 0600);
	CU_ASSERT_EQUAL(rc_access_check(tmp_path(&t, "secret"), &p, RC_ACCESS_READ, why, sizeof(why)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "/secret (mode 0600, owner "));
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "is not readable by stranger"));

	/* The same file through the group. */
	CU_ASSERT_FATAL(chmod(tmp_path(&t, "secret"), 0640) == 0);
	CU_ASSERT_EQUAL(rc_access_check(tmp_path(&t, "secret"), &p, RC_ACCESS_READ, why, sizeof(why)), -1);
	gid_t member[] = { p.gid, st.st_gid };
	struct rc_principal in_group = p;
	in_group.groups = member;
	in_group.n_groups = 2;
	CU_ASSERT_EQUAL(rc_access_check(tmp_path(&t, "secret"), &in_group, RC_ACCESS_READ, why,
			sizeof(why)), 0);

	/* The owner, and root. */
	struct rc_principal owner = p;
	owner.uid = st.st_uid;
	CU_ASSERT_FATAL(chmod(tmp_path(&t, "secret"), 0400) == 0);
	CU_ASSERT_EQUAL(rc_access_check(tmp_path(&t, "secret"), &owner, RC_ACCESS_READ, why, sizeof(why)), 0);
	struct rc_principal root = { "root", 0, 0, NULL, 0 };
	CU_ASSERT_FATAL(chmod(tmp_path(&t, "secret"), 0000) == 0);
	CU_ASSERT_EQUAL(rc_access_check(tmp_path(&t, "secret"), &root, RC_ACCESS_READ, why, sizeof(why)), 0);

	/* A directory to write in (state_file). */
	CU_ASSERT_EQUAL(rc_access_check(t.dir, &p, RC_ACCESS_WRITE | RC_ACCESS_SEARCH, why, sizeof(why)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "is not writable by stranger"));
	CU_ASSERT_EQUAL(rc_access_check(t.dir, &owner, RC_ACCESS_WRITE | RC_ACCESS_SEARCH, why, sizeof(why)), 0);

	/* A symbolic link is judged by where it leads: into a closed directory here. */
	char closed[128], target[192], link_path[192];
	snprintf(closed, sizeof(closed), "%s/closed", t.dir);
	CU_ASSERT_FATAL(mkdir(closed, 0700) == 0);
	snprintf(target, sizeof(target), "%s/file", closed);
	int fd = open(target, O_WRONLY | O_CREAT, 0644);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(fchmod(fd, 0644) == 0);
	close(fd);
	snprintf(link_path, sizeof(link_path), "%s/link", t.dir);
	CU_ASSERT_FATAL(symlink(target, link_path) == 0);
	CU_ASSERT_EQUAL(rc_access_check(link_path, &p, RC_ACCESS_READ, why, sizeof(why)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "/closed (mode 0700"));

	/* A path that does not exist. */
	CU_ASSERT_EQUAL(rc_access_check(tmp_path(&t, "missing"), &p, RC_ACCESS_READ, why, sizeof(why)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "No such file"));
	tmp_close(&t);
}

static void test_principal_lookup(void)
{
	struct rc_principal p;
	char err[256] = "";

	CU_ASSERT_EQUAL_FATAL(rc_principal_lookup("root", &p, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(p.uid, 0);
	CU_ASSERT_STRING_EQUAL(p.name, "root");
	bool has_primary = false;
	for (size_t i = 0; i < p.n_groups; i++)
		has_primary |= p.groups[i] == p.gid;
	CU_ASSERT_TRUE(has_primary);
	rc_principal_free(&p);
	CU_ASSERT_PTR_NULL(p.groups);

	CU_ASSERT_EQUAL(rc_principal_lookup("no-such-user-rc-check", &p, err, sizeof(err)), -1);
	CU_ASSERT_STRING_EQUAL(err, "user 'no-such-user-rc-check' does not exist");
}

static void test_describe(void)
{
	char buf[160];

	rc_access_describe(S_IFREG | 0640, 0, 0, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "mode 0640, owner root:root");
	/* Ids the databases do not know are shown as numbers. */
	rc_access_describe(S_IFDIR | 01777, 3999999, 3999998, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "mode 1777, owner 3999999:3999998");
}

int main(void)
{
	static const struct rc_test_case cases[] = {
		{ "permission bits", test_mode_rule },
		{ "path walk", test_path_walk },
		{ "principal lookup", test_principal_lookup },
		{ "describe", test_describe },
		{ NULL, NULL },
	};

	return rc_test_run("file_access", NULL, NULL, cases);
}
