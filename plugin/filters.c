/* filters.c - the event filter set: config lines plus the filters file (see rc_config.h).
 *
 * The file is what a user edits without restarting the broker: it is re-read on SIGHUP
 * and, if the set changed, the subscription is modified in place. Order is kept (first
 * seen wins) so logs and status read the way the user wrote them. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "rc_config.h"
#include "rc_strlist.h"

int rc_filters_load_file(const char *path, char ***out, size_t *count, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	unsigned lineno = 0;
	char **list = calloc(1, sizeof(*list));
	size_t n = 0;
	int rc = 0;

	*out = NULL;
	*count = 0;
	if (f == NULL || list == NULL) {
		snprintf(err, errlen, "cannot read %s: %s", path, f == NULL ? strerror(errno) : "out of memory");
		if (f != NULL)
			fclose(f);
		free(list);
		return -1;
	}
	while (rc == 0 && (len = getline(&line, &cap, f)) >= 0) {
		lineno++;
		if ((size_t)len != strlen(line)) {
			snprintf(err, errlen, "%s:%u: contains a NUL byte", path, lineno);
			rc = -1;
			break;
		}
		char *s = line;
		while (isspace((unsigned char)*s))
			s++;
		/* A comment runs from '#' at the start of a line or after a blank. */
		for (char *c = s; *c != '\0'; c++) {
			if (*c == '#' && (c == s || isspace((unsigned char)c[-1]))) {
				*c = '\0';
				break;
			}
		}
		size_t l = strlen(s);
		while (l > 0 && isspace((unsigned char)s[l - 1]))
			s[--l] = '\0';
		if (l == 0)
			continue;
		if (s[0] != '/') {
			snprintf(err, errlen, "%s:%u: event filter must start with '/'", path, lineno);
			rc = -1;
		} else if (strpbrk(s, " \t\r\v\f") != NULL) {
			snprintf(err, errlen, "%s:%u: event filter must not contain blanks", path, lineno);
			rc = -1;
		} else if (rc_strlist_add_unique(&list, &n, s) != 0) {
			snprintf(err, errlen, "out of memory");
			rc = -1;
		}
	}
	free(line);
	fclose(f);
	if (rc != 0) {
		rc_strlist_free(list);
		return -1;
	}
	*out = list;
	*count = n;
	return 0;
}

int rc_filters_effective(const struct rc_config *cfg, char ***out, size_t *count,
		char *err, size_t errlen)
{
	char **list = calloc(1, sizeof(*list));
	size_t n = 0;

	*out = NULL;
	*count = 0;
	if (list == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < cfg->n_event_filters; i++) {
		if (rc_strlist_add_unique(&list, &n, cfg->event_filters[i]) != 0) {
			rc_strlist_free(list);
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	if (cfg->filters_file != NULL) {
		char **file = NULL;
		size_t nf = 0;
		if (rc_filters_load_file(cfg->filters_file, &file, &nf, err, errlen) != 0) {
			rc_strlist_free(list);
			return -1;
		}
		for (size_t i = 0; i < nf; i++) {
			if (rc_strlist_add_unique(&list, &n, file[i]) != 0) {
				rc_strlist_free(file);
				rc_strlist_free(list);
				snprintf(err, errlen, "out of memory");
				return -1;
			}
		}
		rc_strlist_free(file);
	}
	if (n == 0) {
		rc_strlist_free(list);
		snprintf(err, errlen, "no event filters: give event_filter lines or filters in %s",
				cfg->filters_file != NULL ? cfg->filters_file : "a filters_file");
		return -1;
	}
	*out = list;
	*count = n;
	return 0;
}
