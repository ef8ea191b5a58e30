/* strlist.c - NULL-terminated string lists (see rc_strlist.h). */
#include <stdlib.h>
#include <string.h>
#include "rc_strlist.h"

void rc_strlist_free(char **list)
{
	if (list == NULL)
		return;
	for (char **s = list; *s != NULL; s++)
		free(*s);
	free(list);
}

char **rc_strlist_copy(char *const *list, size_t n)
{
	char **copy = calloc(n + 1, sizeof(*copy));

	for (size_t i = 0; copy != NULL && i < n; i++) {
		copy[i] = strdup(list[i]);
		if (copy[i] == NULL) {
			rc_strlist_free(copy);
			return NULL;
		}
	}
	return copy;
}

int rc_strlist_add_unique(char ***list, size_t *n, const char *s)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*list)[i], s) == 0)
			return 0;
	char **grown = realloc(*list, (*n + 2) * sizeof(**list));
	if (grown == NULL)
		return -1;
	*list = grown;
	if ((grown[*n] = strdup(s)) == NULL) {
		grown[*n] = NULL;
		return -1;
	}
	(*n)++;
	grown[*n] = NULL;
	return 0;
}

bool rc_strlist_contains(char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

void rc_strlist_remove(char **list, size_t *n, const char *s)
{
	size_t kept = 0;
	char *itself = NULL; /* s may be one of the entries: freed only once compared */

	for (size_t i = 0; i < *n; i++) {
		if (strcmp(list[i], s) != 0)
			list[kept++] = list[i];
		else if (list[i] == s)
			itself = list[i];
		else
			free(list[i]);
	}
	free(itself);
	if (list != NULL)
		list[kept] = NULL;
	*n = kept;
}

/* True if every string of a is in b. Quadratic, but these lists are a handful long. */
static bool strlist__subset(char *const *a, size_t na, char *const *b, size_t nb)
{
	for (size_t i = 0; i < na; i++) {
		bool found = false;
		for (size_t j = 0; j < nb && !found; j++)
			found = strcmp(a[i], b[j]) == 0;
		if (!found)
			return false;
	}
	return true;
}

bool rc_strlist_same_set(char *const *a, size_t na, char *const *b, size_t nb)
{
	/* Inclusion both ways: set equality even if a list has duplicates. */
	return strlist__subset(a, na, b, nb) && strlist__subset(b, nb, a, na);
}
