/* file_access.c - permission checks for another user (see rc_file_access.h). */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "rc_file_access.h"
#include "rc_logsafe.h"

/* Paths are the administrator's, not the network's, but escaped all the same (a newline in
 * one must not make a second finding line); long enough not to be cut in practice. */
#define SHOWN_PATH 512

int rc_principal_lookup(const char *name, struct rc_principal *p, char *err, size_t errlen)
{
	struct passwd pw, *found = NULL;
	char buf[4096];
	char shown[RC_LOGSAFE_BUF];
	int n = 16;

	*p = (struct rc_principal){0};
	int rc = getpwnam_r(name, &pw, buf, sizeof(buf), &found);
	if (found == NULL) {
		if (rc != 0)
			snprintf(err, errlen, "cannot look up user '%s': %s",
					rc_logsafe_str(shown, sizeof(shown), name), strerror(rc));
		else
			snprintf(err, errlen, "user '%s' does not exist",
					rc_logsafe_str(shown, sizeof(shown), name));
		return -1;
	}
	snprintf(p->name, sizeof(p->name), "%s", pw.pw_name);
	p->uid = pw.pw_uid;
	p->gid = pw.pw_gid;
	/* getgrouplist says how many it needs when the array is too small. */
	for (int attempt = 0; attempt < 2; attempt++) {
		gid_t *groups = realloc(p->groups, (size_t)n * sizeof(*groups));
		if (groups == NULL) {
			rc_principal_free(p);
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		p->groups = groups;
		int want = n;
		if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &want) >= 0) {
			p->n_groups = (size_t)want;
			return 0;
		}
		n = want;
	}
	rc_principal_free(p);
	snprintf(err, errlen, "cannot list the groups of user '%s'", rc_logsafe_str(shown, sizeof(shown), name));
	return -1;
}

void rc_principal_free(struct rc_principal *p)
{
	free(p->groups);
	*p = (struct rc_principal){0};
}

static bool access__in_group(const struct rc_principal *p, gid_t g)
{
	if (p->gid == g)
		return true;
	for (size_t i = 0; i < p->n_groups; i++)
		if (p->groups[i] == g)
			return true;
	return false;
}

bool rc_access_mode_allows(mode_t mode, uid_t owner, gid_t group, const struct rc_principal *p,
		int want)
{
	int bits;

	if (p->uid == 0) {
		/* Root reads and writes anything; it may execute (search) only what someone
		 * may, but a directory is always searchable for it. */
		return (want & RC_ACCESS_SEARCH) == 0 || S_ISDIR(mode) || (mode & 0111) != 0;
	}
	if (p->uid == owner)
		bits = (int)(mode >> 6) & 7;
	else if (access__in_group(p, group))
		bits = (int)(mode >> 3) & 7;
	else
		bits = (int)mode & 7;
	return (bits & want) == want;
}

void rc_access_describe(mode_t mode, uid_t owner, gid_t group, char *buf, size_t len)
{
	char ubuf[1024], gbuf[1024], uname[64], gname[64];
	struct passwd pw, *pwp = NULL;
	struct group gr, *grp = NULL;

	/* Names when the databases know them, numbers otherwise. */
	getpwuid_r(owner, &pw, ubuf, sizeof(ubuf), &pwp);
	getgrgid_r(group, &gr, gbuf, sizeof(gbuf), &grp);
	if (pwp != NULL)
		snprintf(uname, sizeof(uname), "%s", pwp->pw_name);
	else
		snprintf(uname, sizeof(uname), "%lu", (unsigned long)owner);
	if (grp != NULL)
		snprintf(gname, sizeof(gname), "%s", grp->gr_name);
	else
		snprintf(gname, sizeof(gname), "%lu", (unsigned long)group);
	snprintf(buf, len, "mode %04o, owner %s:%s", (unsigned)(mode & 07777), uname, gname);
}

static const char *access__verb(int want)
{
	switch (want) {
	case RC_ACCESS_READ: return "readable";
	case RC_ACCESS_READ | RC_ACCESS_WRITE: return "readable and writable";
	case RC_ACCESS_WRITE | RC_ACCESS_SEARCH: return "writable";   /* a directory */
	case RC_ACCESS_SEARCH: return "searchable";
	default: return "accessible";
	}
}

int rc_access_check(const char *path, const struct rc_principal *p, int want, char *why,
		size_t whylen)
{
	char real[PATH_MAX], dir[PATH_MAX];
	char shown[SHOWN_PATH];
	char desc[160];
	struct stat st;

	if (realpath(path, real) == NULL) {
		snprintf(why, whylen, "%s: %s", rc_logsafe_str(shown, sizeof(shown), path), strerror(errno));
		return -1;
	}
	/* Every directory above it, "/" first: each '/' of the real path ends one. */
	for (const char *s = real; (s = strchr(s, '/')) != NULL; s++) {
		size_t n = s == real ? 1 : (size_t)(s - real);
		memcpy(dir, real, n);
		dir[n] = '\0';
		if (stat(dir, &st) != 0) {
			snprintf(why, whylen, "%s: %s", rc_logsafe_str(shown, sizeof(shown), dir), strerror(errno));
			return -1;
		}
		if (!rc_access_mode_allows(st.st_mode, st.st_uid, st.st_gid, p, RC_ACCESS_SEARCH)) {
			rc_access_describe(st.st_mode, st.st_uid, st.st_gid, desc, sizeof(desc));
			snprintf(why, whylen, "directory %s (%s) is not searchable by %s",
					rc_logsafe_str(shown, sizeof(shown), dir), desc, p->name);
			return -1;
		}
	}
	if (stat(real, &st) != 0) {
		snprintf(why, whylen, "%s: %s", rc_logsafe_str(shown, sizeof(shown), real), strerror(errno));
		return -1;
	}
	if (!rc_access_mode_allows(st.st_mode, st.st_uid, st.st_gid, p, want)) {
		rc_access_describe(st.st_mode, st.st_uid, st.st_gid, desc, sizeof(desc));
		snprintf(why, whylen, "%s (%s) is not %s by %s", rc_logsafe_str(shown, sizeof(shown), real),
				desc, access__verb(want), p->name);
		return -1;
	}
	return 0;
}
