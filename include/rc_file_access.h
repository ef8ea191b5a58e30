/* rc_file_access.h - can a given user read (or write) a file, judged from modes and owners.
 *
 * The configuration check usually runs as root, which can read anything, while the broker
 * drops to its `user` (mosquitto) before the plugin reads its files; access(2) would answer
 * for the wrong user. So the answer is worked out from the classic Unix permission bits
 * for that user, its primary group and its supplementary groups: search permission on
 * every directory from / down (symbolic links resolved first) and the wanted permission on
 * the file itself. Root may do anything, as the kernel lets it. POSIX ACLs and capabilities
 * other than root's are not considered.
 * Pure: reads the password and group databases and file metadata, changes nothing. */
#ifndef RC_FILE_ACCESS_H
#define RC_FILE_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* A user as the kernel sees it for permission checks. */
struct rc_principal {
	char name[64];
	uid_t uid;
	gid_t gid;          /* primary group */
	gid_t *groups;      /* every group, the primary one included; heap */
	size_t n_groups;
};

/* Looks up a user by name (password database, then its groups). Returns 0, or -1 with
 * a message in err (no such user, or the lookup failed). Free with rc_principal_free. */
int rc_principal_lookup(const char *name, struct rc_principal *p, char *err, size_t errlen);
void rc_principal_free(struct rc_principal *p);

/* Access to ask for: any of these bits (the values of R_OK, W_OK, X_OK). */
#define RC_ACCESS_READ 4
#define RC_ACCESS_WRITE 2
#define RC_ACCESS_SEARCH 1

/* The permission bits' verdict: may p do `want` on an inode with this mode and owner?
 * The owner class applies to the owner, else the group class to a member of the group,
 * else the others class (as in the kernel, a class that applies is the only one asked). */
bool rc_access_mode_allows(mode_t mode, uid_t owner, gid_t group, const struct rc_principal *p,
		int want);

/* May p do `want` on path (which must exist)? Symbolic links are resolved first, then
 * every directory on the way needs search permission. Returns 0 if allowed, else -1 with
 * a one-line reason in why, e.g. "directory /etc/mosquitto/rc (mode 0700, owner root:root)
 * is not searchable by mosquitto" or "/etc/x (mode 0600, owner root:root) is not readable
 * by mosquitto". */
int rc_access_check(const char *path, const struct rc_principal *p, int want, char *why,
		size_t whylen);

/* "0640, owner root:mosquitto" for an inode, into buf. */
void rc_access_describe(mode_t mode, uid_t owner, gid_t group, char *buf, size_t len);

#endif
