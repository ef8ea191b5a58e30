/* rc_strlist.h - NULL-terminated lists of strings (event filters, subscription ids).
 *
 * A list is a heap array of heap strings ending with a NULL entry, with its length kept
 * beside it by the owner. Every list of the bridge is built, copied, compared and freed
 * here. Pure. */
#ifndef RC_STRLIST_H
#define RC_STRLIST_H

#include <stdbool.h>
#include <stddef.h>

/* Frees every string and the array. NULL is fine. */
void rc_strlist_free(char **list);

/* A deep copy of the first n strings (NULL-terminated; n may be 0). NULL on no memory.
 * The caller frees it with rc_strlist_free. */
char **rc_strlist_copy(char *const *list, size_t n);

/* Appends a copy of s to *list (length *n) unless it is already there. Returns 0, or -1
 * on no memory (the list is left as it was). */
int rc_strlist_add_unique(char ***list, size_t *n, const char *s);

/* True if s is in the list. */
bool rc_strlist_contains(char *const *list, size_t n, const char *s);

/* Removes (and frees) every entry equal to s, which may itself be one of the entries;
 * the list stays NULL-terminated. */
void rc_strlist_remove(char **list, size_t *n, const char *s);

/* True if both lists hold the same strings, order and repetition ignored. */
bool rc_strlist_same_set(char *const *a, size_t na, char *const *b, size_t nb);

#endif
