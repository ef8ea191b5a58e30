/* rc_broker_conf.h - a Mosquitto 2.0 configuration file, read the way the broker reads it.
 *
 * The configuration check (tools/check.c) needs exactly the plugin_opt_ pairs the broker
 * will hand to the plugin, so this follows Mosquitto 2.0's src/conf.c (the same in 2.0.11
 * and 2.0.20) rather than a looser idea of the format:
 *
 * - A line whose first byte is '#', '\n' or '\r' is skipped; trailing '\n' and '\r' are
 *   removed; the first word ends at the first space (tabs do not separate words).
 * - `plugin` (or `auth_plugin`) starts a block; its path is the rest of the line with
 *   surrounding blanks trimmed. Only a new plugin line ends a block: a `listener` line
 *   does not. Each file starts without a block, so a plugin_opt_ line before the file's
 *   first plugin line is an error, even when an earlier file had one.
 * - `plugin_opt_<key> <value>`: the key runs to the first space and has at least three
 *   characters; the value is the rest of the line after leading spaces and tabs, trailing
 *   blanks kept. An empty value is an error.
 * - `include_dir <dir>` (in the main file only; ignored in included files) reads, at that
 *   point, every entry of dir whose name ends in ".conf" (and is longer than that), in
 *   Mosquitto's order: case-insensitively alphabetical, ties broken by case. The
 *   directory is the rest of the line exactly (not trimmed).
 * - `user` (last one wins; Mosquitto's default is "mosquitto") and
 *   `per_listener_settings` are kept for the check.
 *
 * What Mosquitto itself would refuse among these lines is collected as problems (the
 * broker stops at the first; the check reports them all). A problem never quotes an
 * option's value: values may be secrets. Pure: reads files, no broker calls. */
#ifndef RC_BROKER_CONF_H
#define RC_BROKER_CONF_H

#include <stdbool.h>
#include <stddef.h>

struct rc_conf_option {
	char *key;          /* without "plugin_opt_" */
	char *value;        /* exactly as the broker passes it: may be a secret */
	const char *file;   /* borrowed from rc_broker_conf.files */
	int line;
};

struct rc_conf_plugin {
	char *path;         /* the plugin line's path */
	const char *file;   /* borrowed from rc_broker_conf.files */
	int line;
	struct rc_conf_option *opts;
	size_t n_opts;
};

struct rc_conf_problem {
	const char *file;   /* borrowed; NULL if the problem has no file */
	int line;           /* 0 if it has no line */
	char *message;
};

struct rc_broker_conf {
	char **files;                   /* every file read, in reading order */
	size_t n_files;
	struct rc_conf_plugin *plugins; /* every plugin/auth_plugin block, in reading order */
	size_t n_plugins;
	char *user;                     /* the last `user` line; NULL: none (the broker's default) */
	bool per_listener_settings;
	struct rc_conf_problem *problems; /* what Mosquitto would refuse */
	size_t n_problems;
};

/* Mosquitto's own default for `user`. */
#define RC_BROKER_DEFAULT_USER "mosquitto"

/* Reads path and what it includes into *c (zeroed first). Returns 0, or -1 if path
 * itself cannot be read (err says why; *c is then empty). Problems in the files, an
 * include_dir that cannot be opened among them, are in c->problems. The caller frees *c
 * with rc_broker_conf_free either way. */
int rc_broker_conf_read(const char *path, struct rc_broker_conf *c, char *err, size_t errlen);

/* Frees everything, wiping option values first (they may be secrets). */
void rc_broker_conf_free(struct rc_broker_conf *c);

/* True if a plugin line's path loads this plugin: its file name (the part after the last
 * '/') contains "mosquitto_ringcentral", as the built and installed module's does. */
bool rc_broker_conf_is_ours(const char *plugin_path);

/* Mosquitto's include_dir order (strcmp-like): case-insensitive first, then by case. */
int rc_broker_conf_name_cmp(const char *a, const char *b);

#endif
