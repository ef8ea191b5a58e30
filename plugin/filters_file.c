/* filters_file.c - the filter set written back to the filters_file, atomically (see
 * rc_filters_file.h). The same pattern as state_file.c, except that the file is the
 * user's: its mode is kept rather than forced to 0600. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "rc_filters_file.h"

static char *filters_file__render(char *const *filters, size_t n, const char *header)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (f == NULL)
		return NULL;
	for (const char *line = header; line != NULL && *line != '\0';) {
		size_t l = strcspn(line, "\n");
		fprintf(f, "# %.*s\n", (int)l, line);
		line += l;
		if (*line == '\n')
			line++;
	}
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s\n", filters[i]);
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

/* Makes the rename itself durable. A failure here is not worth failing the write for: the
 * new file is in place. */
static void filters_file__sync_dir(const char *path)
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

int rc_filters_file_write(const char *path, char *const *filters, size_t n, const char *header,
		char *err, size_t errlen)
{
	struct stat st;
	mode_t mode = stat(path, &st) == 0 ? (st.st_mode & 07777) : 0644;
	char *text = filters_file__render(filters, n, header);
	char *tmp = NULL;
	int fd = -1;

	if (text == NULL || asprintf(&tmp, "%s.tmp-XXXXXX", path) < 0) {
		free(text);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* mkstemp: a fresh file only we can have made (0600), in the same directory so that
	 * rename() is atomic; it gets the old file's mode before it replaces it. */
	fd = mkstemp(tmp);
	size_t len = strlen(text);
	int ok = fd >= 0 && write(fd, text, len) == (ssize_t)len && fchmod(fd, mode) == 0 &&
			fsync(fd) == 0;
	int saved_errno = errno;
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
		filters_file__sync_dir(path);
	}
	free(tmp);
	free(text);
	return ok ? 0 : -1;
}
