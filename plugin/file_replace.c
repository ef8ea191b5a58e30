/* file_replace.c - replacing a file's contents atomically (see rc_file_replace.h). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "rc_file_replace.h"

/* Makes the rename itself durable. A failure here is not worth failing the write for: the
 * new file is in place. */
static void file_replace__sync_dir(const char *path)
{
	char *copy = strdup(path);

	if (copy == NULL)
		return;
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(copy);
}

int rc_file_replace(const char *path, const void *data, size_t len, mode_t mode, char *err,
		size_t errlen)
{
	char *tmp = NULL;

	if (asprintf(&tmp, "%s.tmp-XXXXXX", path) < 0) {
		snprintf(err, errlen, "cannot write %s: out of memory", path);
		return -1;
	}
	int fd = mkstemp(tmp);
	errno = 0;
	int ok = fd >= 0 && write(fd, data, len) == (ssize_t)len && fchmod(fd, mode) == 0 &&
			fsync(fd) == 0;
	int saved_errno = errno != 0 ? errno : EIO;   /* a short write sets none */
	if (fd >= 0 && close(fd) != 0 && ok) {
		saved_errno = errno;
		ok = 0;
	}
	if (ok && rename(tmp, path) != 0) {
		saved_errno = errno;
		ok = 0;
	}
	if (!ok) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(saved_errno));
		if (fd >= 0)
			unlink(tmp);
	} else {
		file_replace__sync_dir(path);
	}
	free(tmp);
	return ok ? 0 : -1;
}
