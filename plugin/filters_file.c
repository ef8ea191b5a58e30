/* filters_file.c - the filter set written back to the filters_file, atomically (see
 * rc_filters_file.h, rc_file_replace.h). The file is the user's: its mode is kept. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "rc_file_replace.h"
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

int rc_filters_file_write(const char *path, char *const *filters, size_t n, const char *header,
		char *err, size_t errlen)
{
	struct stat st;
	mode_t mode = stat(path, &st) == 0 ? (st.st_mode & 07777) : 0644;
	char *text = filters_file__render(filters, n, header);
	if (text == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	int rc = rc_file_replace(path, text, strlen(text), mode, err, errlen);
	free(text);
	return rc;
}
