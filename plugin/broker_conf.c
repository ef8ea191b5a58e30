/* broker_conf.c - reading a Mosquitto 2.0 configuration as the broker does (see
 * rc_broker_conf.h).
 *
 * Mosquitto's parser (src/conf.c) tokenises each line in place with strtok_r(" ") and a
 * little pointer arithmetic; its quirks (tabs are not separators, a value keeps its
 * trailing blanks, include_dir is not trimmed, options belong to the last plugin line of
 * the same file) decide what the plugin receives, so they are reproduced here line for
 * line instead of being "fixed": the check must see what the broker will see. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <openssl/crypto.h>
#include "rc_broker_conf.h"
#include "rc_logsafe.h"

struct conf_reader {
	struct rc_broker_conf *c;
	bool nomem;
};

static void conf__problem(struct conf_reader *r, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void conf__problem(struct conf_reader *r, const char *file, int line, const char *fmt, ...)
{
	struct rc_broker_conf *c = r->c;
	struct rc_conf_problem *p = realloc(c->problems, (c->n_problems + 1) * sizeof(*p));
	char *msg = NULL;
	va_list ap;

	if (p == NULL) {
		r->nomem = true;
		return;
	}
	c->problems = p;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (msg == NULL) {
		r->nomem = true;
		return;
	}
	p[c->n_problems++] = (struct rc_conf_problem){ file, line, msg };
}

/* Remembers a file name; returns the stored copy (what options and problems borrow). */
static const char *conf__add_file(struct conf_reader *r, const char *path)
{
	struct rc_broker_conf *c = r->c;
	char **files = realloc(c->files, (c->n_files + 2) * sizeof(*files));

	if (files == NULL) {
		r->nomem = true;
		return NULL;
	}
	c->files = files;
	if ((files[c->n_files] = strdup(path)) == NULL) {
		r->nomem = true;
		return NULL;
	}
	files[++c->n_files] = NULL;
	return files[c->n_files - 1];
}

/* misc__trimblanks: isspace() on both ends, in place. */
static char *conf__trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t len = strlen(s);
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		s[--len] = '\0';
	return s;
}

int rc_broker_conf_name_cmp(const char *a, const char *b)
{
	/* scmp_p in Mosquitto's conf_includedir.c. */
	for (; a[0] != '\0' && b[0] != '\0'; a++, b++) {
		int d = toupper((unsigned char)a[0]) - toupper((unsigned char)b[0]);
		if (d != 0)
			return d;
		if (a[0] != b[0])
			return (unsigned char)a[0] - (unsigned char)b[0];
	}
	return (unsigned char)a[0] - (unsigned char)b[0];
}

static int conf__qsort_cmp(const void *a, const void *b)
{
	return rc_broker_conf_name_cmp(*(char *const *)a, *(char *const *)b);
}

static void conf__read_file(struct conf_reader *r, const char *path, int level,
		const char *from_file, int from_line);

static void conf__include_dir(struct conf_reader *r, const char *dir, const char *file, int line)
{
	DIR *d = opendir(dir);
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;

	if (d == NULL) {
		char shown[RC_LOGSAFE_BUF];
		conf__problem(r, file, line, "include_dir '%s' cannot be opened: %s (Mosquitto will not start)",
				rc_logsafe_str(shown, sizeof(shown), dir), strerror(errno));
		return;
	}
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		if (len <= 5 || strcmp(de->d_name + len - 5, ".conf") != 0)
			continue;
		char **more = realloc(names, (n + 1) * sizeof(*names));
		if (more == NULL || asprintf(&more[n], "%s/%s", dir, de->d_name) < 0) {
			names = more != NULL ? more : names;
			r->nomem = true;
			break;
		}
		names = more;
		n++;
	}
	closedir(d);
	if (names != NULL)
		qsort(names, n, sizeof(*names), conf__qsort_cmp);
	for (size_t i = 0; i < n; i++) {
		conf__read_file(r, names[i], 1, file, line);
		free(names[i]);
	}
	free(names);
}

static struct rc_conf_plugin *conf__new_plugin(struct conf_reader *r, char *path,
		const char *file, int line)
{
	struct rc_broker_conf *c = r->c;
	struct rc_conf_plugin *p = realloc(c->plugins, (c->n_plugins + 1) * sizeof(*p));

	if (p == NULL) {
		r->nomem = true;
		return NULL;
	}
	c->plugins = p;
	p[c->n_plugins] = (struct rc_conf_plugin){ .file = file, .line = line };
	if ((p[c->n_plugins].path = strdup(path)) == NULL) {
		r->nomem = true;
		return NULL;
	}
	return &p[c->n_plugins++];
}

static void conf__add_option(struct conf_reader *r, struct rc_conf_plugin *p, const char *key,
		const char *value, const char *file, int line)
{
	struct rc_conf_option *o = realloc(p->opts, (p->n_opts + 1) * sizeof(*o));

	if (o == NULL) {
		r->nomem = true;
		return;
	}
	p->opts = o;
	o[p->n_opts] = (struct rc_conf_option){ strdup(key), strdup(value), file, line };
	if (o[p->n_opts].key == NULL || o[p->n_opts].value == NULL) {
		r->nomem = true;
		free(o[p->n_opts].key);
		free(o[p->n_opts].value);
		return;
	}
	p->n_opts++;
}

/* One line that is not a comment, '\n' and '\r' already removed. `buf` has room for two
 * NUL bytes after the text (see conf__read_file), as Mosquitto's line buffer has. The
 * index of the block the file is in (-1: none yet) is *cur. */
static void conf__line(struct conf_reader *r, char *buf, const char *file, int line, int level,
		long *cur)
{
	char *save = NULL;
	char *token = strtok_r(buf, " ", &save);
	char shown[RC_LOGSAFE_BUF];

	if (token == NULL)
		return;
	if (strcmp(token, "plugin") == 0 || strcmp(token, "auth_plugin") == 0) {
		char *rest = strtok_r(NULL, "", &save);
		char *path = rest != NULL ? conf__trim(rest) : NULL;
		if (path == NULL || path[0] == '\0') {
			conf__problem(r, file, line, "%s has no path (Mosquitto will not start)", token);
			*cur = -1;
			return;
		}
		*cur = conf__new_plugin(r, path, file, line) != NULL ? (long)r->c->n_plugins - 1 : -1;
	} else if (strncmp(token, "plugin_opt_", 11) == 0 || strncmp(token, "auth_opt_", 9) == 0) {
		size_t prefix = token[0] == 'p' ? 11 : 9;
		char *key = token + prefix;
		/* Named up to a tab: "plugin_opt_jwt\t<the JWT>" is one word to Mosquitto, and
		 * what follows the tab is a value, perhaps a secret. */
		rc_logsafe(shown, sizeof(shown), token, strcspn(token, "\t"));
		if (*cur < 0) {
			conf__problem(r, file, line, "%s comes before any plugin line in this file "
					"(Mosquitto will not start)", shown);
			return;
		}
		if (strlen(key) < 3) {
			conf__problem(r, file, line, "%s: Mosquitto refuses option names shorter than "
					"3 characters (it will not start)", shown);
			return;
		}
		/* Mosquitto: token += prefix_len + strlen(key) + 1, then skip blanks. When the word
		 * ended the line this lands on the line's second NUL: an empty value. */
		char *value = key + strlen(key) + 1;
		while (*value == ' ' || *value == '\t')
			value++;
		if (*value == '\0') {
			conf__problem(r, file, line, "%s has no value (Mosquitto will not start)%s", shown,
					strchr(token, '\t') != NULL ?
					"; separate the value with a space, not a tab" : "");
			return;
		}
		conf__add_option(r, &r->c->plugins[*cur], key, value, file, line);
	} else if (strcmp(token, "include_dir") == 0) {
		if (level != 0)
			return;   /* Mosquitto only follows include_dir in the main file */
		char *dir = strtok_r(NULL, "", &save);
		if (dir == NULL) {
			conf__problem(r, file, line, "include_dir has no directory (Mosquitto will not start)");
			return;
		}
		conf__include_dir(r, dir, file, line);
	} else if (strcmp(token, "user") == 0) {
		char *rest = strtok_r(NULL, "", &save);
		char *user = rest != NULL ? conf__trim(rest) : NULL;
		if (user == NULL || user[0] == '\0') {
			conf__problem(r, file, line, "user has no value (Mosquitto will not start)");
			return;
		}
		free(r->c->user);
		if ((r->c->user = strdup(user)) == NULL)
			r->nomem = true;
	} else if (strcmp(token, "per_listener_settings") == 0) {
		char *v = strtok_r(NULL, " ", &save);
		if (v != NULL && (strcmp(v, "true") == 0 || strcmp(v, "1") == 0))
			r->c->per_listener_settings = true;
		else if (v != NULL && (strcmp(v, "false") == 0 || strcmp(v, "0") == 0))
			r->c->per_listener_settings = false;
		else
			conf__problem(r, file, line, "per_listener_settings must be true or false "
					"(Mosquitto will not start)");
	}
}

static void conf__read_file(struct conf_reader *r, const char *path, int level,
		const char *from_file, int from_line)
{
	struct stat st;
	char *buf = NULL;
	size_t cap = 0;
	ssize_t got;
	int line = 0;
	long cur = -1;   /* each file starts outside any plugin block */
	const char *file = conf__add_file(r, path);

	if (file == NULL)
		return;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		conf__problem(r, from_file, from_line, "%s is a directory (Mosquitto will not start)", file);
		return;
	}
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		conf__problem(r, from_file, from_line, "cannot read %s: %s (Mosquitto will not start)",
				file, strerror(errno));
		return;
	}
	while (!r->nomem && (got = getline(&buf, &cap, f)) >= 0) {
		line++;
		/* Mosquitto's buffer ends "text\n\0"; once the newline is cut there are two NULs,
		 * which the value arithmetic above relies on. Make sure of the second one. */
		size_t len = strlen(buf);
		if (cap < len + 2) {
			char *more = realloc(buf, len + 2);
			if (more == NULL) {
				r->nomem = true;
				break;
			}
			buf = more;
			cap = len + 2;
		}
		buf[len + 1] = '\0';
		if (buf[0] == '#' || buf[0] == '\n' || buf[0] == '\r' || buf[0] == '\0')
			continue;
		while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
			buf[--len] = '\0';
		conf__line(r, buf, file, line, level, &cur);
	}
	if (buf != NULL) {
		OPENSSL_cleanse(buf, cap);   /* the last line read may have held a secret */
		free(buf);
	}
	fclose(f);
}

int rc_broker_conf_read(const char *path, struct rc_broker_conf *c, char *err, size_t errlen)
{
	struct conf_reader r = { c, false };
	struct stat st;
	FILE *f;

	*c = (struct rc_broker_conf){0};
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s is a directory, not a configuration file", path);
		return -1;
	}
	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	fclose(f);
	conf__read_file(&r, path, 0, NULL, 0);
	if (r.nomem) {
		rc_broker_conf_free(c);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

void rc_broker_conf_free(struct rc_broker_conf *c)
{
	for (size_t i = 0; i < c->n_plugins; i++) {
		struct rc_conf_plugin *p = &c->plugins[i];
		for (size_t j = 0; j < p->n_opts; j++) {
			OPENSSL_cleanse(p->opts[j].value, strlen(p->opts[j].value));
			free(p->opts[j].value);
			free(p->opts[j].key);
		}
		free(p->opts);
		free(p->path);
	}
	free(c->plugins);
	for (size_t i = 0; i < c->n_problems; i++)
		free(c->problems[i].message);
	free(c->problems);
	for (size_t i = 0; i < c->n_files; i++)
		free(c->files[i]);
	free(c->files);
	free(c->user);
	*c = (struct rc_broker_conf){0};
}

bool rc_broker_conf_is_ours(const char *plugin_path)
{
	const char *slash = strrchr(plugin_path, '/');

	return strstr(slash != NULL ? slash + 1 : plugin_path, "mosquitto_ringcentral") != NULL;
}
