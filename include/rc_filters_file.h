/* rc_filters_file.h - writing the event filter set back to the filters_file.
 *
 * When the control API changes the filter set and a filters_file is configured, the new
 * set is written there so that a restart (or a SIGHUP, which re-reads the file) keeps it.
 * The write is atomic: a temporary file in the same directory, written, fsynced, given
 * the old file's mode, renamed over it, and the directory fsynced; a crash leaves the old
 * file or the new one, never a mix. The file is rewritten whole: one filter per line after
 * a comment header (comments the user had in it are not kept). Pure apart from the file
 * system: no broker calls, no network. */
#ifndef RC_FILTERS_FILE_H
#define RC_FILTERS_FILE_H

#include <stddef.h>

/* Writes filters (n of them) to path, one per line, after the comment lines of header
 * (each line of it prefixed with "# "; NULL: none). The file keeps its mode (0644 if it
 * did not exist). Returns 0, or -1 with why in err (the old file is then untouched). The
 * directory must be writable by the broker's user. */
int rc_filters_file_write(const char *path, char *const *filters, size_t n, const char *header,
		char *err, size_t errlen);

#endif
