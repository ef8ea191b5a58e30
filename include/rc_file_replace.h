/* rc_file_replace.h - replacing a file's contents atomically.
 *
 * The state file and the filters file the control API writes back are both rewritten
 * while the broker runs, and a crash or a full disk in the middle must leave either the old
 * file or the new one, never half of each. One way, used by both: a fresh temporary file
 * in the same directory (mkstemp: only we can have made it, so a leftover or a planted
 * symlink is never written through), the data, the mode, fsync, rename() over the old
 * name, then fsync of the directory so that the rename itself survives a power cut. */
#ifndef RC_FILE_REPLACE_H
#define RC_FILE_REPLACE_H

#include <stddef.h>
#include <sys/types.h>

/* Replaces path's contents with data (len bytes), the new file having mode. Returns 0, or
 * -1 with a one-line message naming path and the system's reason in err (the temporary
 * file removed, the old file untouched). */
int rc_file_replace(const char *path, const void *data, size_t len, mode_t mode, char *err,
		size_t errlen);

#endif
