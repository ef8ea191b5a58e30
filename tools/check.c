/* check.c - mosquitto-ringcentral-check: is this broker configuration going to work?
 *
 *     mosquitto-ringcentral-check [--online] /etc/mosquitto/mosquitto.conf
 *
 * Run before `systemctl reload mosquitto` (or a restart): it reads the broker's
 * configuration the way Mosquitto 2.0 does (broker_conf.c: include_dir, plugin blocks,
 * plugin_opt_ values), finds the blocks that load this plugin, validates their options with
 * the plugin's own parser (rc_config_parse: the same one-line messages the broker would
 * log), and checks the files the options name from the point of view of the broker's
 * `user`, which is who reads them once the broker has dropped root (file_access.c). With
 * --online it also logs in and asks RingCentral (check_online.c).
 *
 * One line per finding on stdout; exit 0 without errors, 1 with errors, 2 on a usage
 * error. Nothing it prints holds a secret. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <curl/curl.h>
#include <openssl/x509.h>
#include "check.h"
#include "rc_broker_conf.h"
#include "rc_config.h"
#include "rc_file_access.h"
#include "rc_http.h"
#include "rc_logsafe.h"
#include "rc_state_file.h"
#include "rc_strlist.h"

#define SHOWN 512   /* room for an escaped path or server text in a finding */

static const char usage[] =
	"usage: mosquitto-ringcentral-check [--online] MOSQUITTO_CONF\n"
	"\n"
	"Checks the plugin's configuration in a Mosquitto 2.0 configuration file (and the\n"
	"files its include_dir names) without starting the broker: every plugin_opt_ option,\n"
	"and the files they name as the broker's user will see them. --online also logs in to\n"
	"RingCentral, lists the app's subscriptions and tries the event filters.\n"
	"Prints one line per finding (error:, warning:, ok:); exits 0 without errors, 1 with\n"
	"errors, 2 on a usage error.\n";

void check_report(struct check *ck, enum check_level level, const char *file, int line,
		const char *fmt, ...)
{
	static const char *const names[] = { "ok", "warning", "error" };
	char shown[SHOWN];
	va_list ap;

	if (level == CHECK_ERROR)
		ck->errors++;
	else if (level == CHECK_WARNING)
		ck->warnings++;
	printf("%s: ", names[level]);
	/* A file name from include_dir may hold any byte but '/' and NUL. */
	if (file != NULL && line > 0)
		printf("%s:%d: ", rc_logsafe_str(shown, sizeof(shown), file), line);
	else if (file != NULL)
		printf("%s: ", rc_logsafe_str(shown, sizeof(shown), file));
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* ---------------------------------------------------------------- one plugin block */

/* The options that name files, and what the broker's user must be able to do with them. */
enum file_kind { FILE_SECRET, FILE_READ, FILE_CA, FILE_STATE };

static const struct {
	const char *key;
	enum file_kind kind;
} file_options[] = {
	{ "client_secret_file", FILE_SECRET },
	{ "jwt_file", FILE_SECRET },
	{ "password_file", FILE_SECRET },
	{ "filters_file", FILE_READ },
	{ "cafile", FILE_CA },
	{ "state_file", FILE_STATE },
};

/* Inline secrets: the configuration file itself then holds them. */
static const char *const inline_secrets[] = { "client_secret", "jwt", "password" };

struct block_check {
	struct check *ck;
	const struct rc_conf_plugin *block;
	const struct rc_principal *user;   /* NULL: unknown user, access not checked */
	const char *bad_key;               /* the option the parser refused, if one */
};

/* Where a finding about `key` belongs: the line of its last occurrence in the block, or
 * the plugin line. */
static void block__locate(const struct rc_conf_plugin *b, const char *key, size_t key_len,
		const char **file, int *line)
{
	*file = b->file;
	*line = b->line;
	for (size_t i = 0; i < b->n_opts; i++) {
		if (strlen(b->opts[i].key) == key_len && strncmp(b->opts[i].key, key, key_len) == 0) {
			*file = b->opts[i].file;
			*line = b->opts[i].line;
		}
	}
}

/* The parser's warnings, as the broker would log them ("ringcentral: Warning: <message>"),
 * located at the option they name ("plugin_opt_<key>..."). */
static void block__warning(void *userdata, const char *message)
{
	struct block_check *bc = userdata;
	const char *file;
	int line;
	const char *key = strncmp(message, "plugin_opt_", 11) == 0 ? message + 11 : "";

	block__locate(bc->block, key, strcspn(key, ": "), &file, &line);
	check_report(bc->ck, CHECK_WARNING, file, line, "%s", message);
}

static void block__check_ca(struct block_check *bc, const struct rc_conf_option *o)
{
	char err[SHOWN + 64];
	X509_STORE *st = rc_http_trust_store(o->value, err, sizeof(err));

	if (st == NULL) {
		check_report(bc->ck, CHECK_ERROR, o->file, o->line, "plugin_opt_cafile: %s", err);
		return;
	}
	X509_STORE_free(st);
}

static void block__check_state(struct block_check *bc, const struct rc_conf_option *o,
		struct rc_saved_state *saved, bool *have_saved)
{
	char shown[SHOWN], err[SHOWN + 64];
	struct stat st;

	rc_logsafe_str(shown, sizeof(shown), o->value);
	if (stat(o->value, &st) != 0) {
		check_report(bc->ck, CHECK_OK, o->file, o->line,
				"plugin_opt_state_file: %s does not exist yet; the plugin creates it", shown);
		return;
	}
	switch (rc_state_file_load(o->value, saved, err, sizeof(err))) {
	case RC_STATE_LOADED:
		*have_saved = true;
		check_report(bc->ck, CHECK_OK, o->file, o->line,
				"plugin_opt_state_file: %s holds %s and %zu subscription id(s) this bridge created",
				shown, saved->subscription_id != NULL ? "a subscription to resume" :
				"no subscription to resume", saved->n_owned);
		break;
	case RC_STATE_UNUSABLE:
		check_report(bc->ck, CHECK_WARNING, o->file, o->line,
				"plugin_opt_state_file: %s is unusable (%s); the plugin will start afresh "
				"and replace it", shown, err);
		break;
	case RC_STATE_ABSENT:
		break;
	}
}

/* Can the broker's user do what the plugin needs with the file? */
static void block__check_access(struct block_check *bc, const struct rc_conf_option *o,
		enum file_kind kind)
{
	char why[SHOWN + 256], shown[SHOWN];
	const char *target = o->value;
	char *dir = NULL;
	int want = RC_ACCESS_READ;

	if (bc->user == NULL)
		return;
	if (kind == FILE_STATE) {
		/* Written as a temporary file renamed over it: the directory must be writable. */
		const char *slash = strrchr(o->value, '/');
		dir = slash == NULL ? strdup(".") : slash == o->value ? strdup("/") :
				strndup(o->value, (size_t)(slash - o->value));
		if (dir == NULL)
			return;
		target = dir;
		want = RC_ACCESS_WRITE | RC_ACCESS_SEARCH;
	}
	if (rc_access_check(target, bc->user, want, why, sizeof(why)) != 0) {
		check_report(bc->ck, CHECK_ERROR, o->file, o->line, "plugin_opt_%s: %s (the broker's "
				"user)%s", o->key, why, kind == FILE_STATE ? ": the state cannot be saved" : "");
	} else if (kind == FILE_STATE) {
		struct stat st;
		if (stat(o->value, &st) == 0 &&
				rc_access_check(o->value, bc->user, RC_ACCESS_READ, why, sizeof(why)) != 0)
			check_report(bc->ck, CHECK_ERROR, o->file, o->line, "plugin_opt_state_file: %s "
					"(the broker's user): the state cannot be resumed", why);
		else
			check_report(bc->ck, CHECK_OK, o->file, o->line,
					"plugin_opt_state_file: %s is writable by %s",
					rc_logsafe_str(shown, sizeof(shown), dir), bc->user->name);
	} else {
		check_report(bc->ck, CHECK_OK, o->file, o->line, "plugin_opt_%s: %s is readable by %s",
				o->key, rc_logsafe_str(shown, sizeof(shown), o->value), bc->user->name);
	}
	free(dir);
}

/* The command topics: what each enabled kind opens, so that the ACL lines follow. */
static void block__check_commands(struct block_check *bc, const struct rc_config *cfg)
{
	static const struct { const char *option, *what, *levels; } kinds[] = {
		{ "command_presence", "presence commands", "presence/<extensionId>" },
		{ "command_sms", "SMS commands", "sms and sms/<digits>" },
	};
	const char *file;
	int line;
	char shown[SHOWN], text[SHOWN * 2 + 128];

	rc_logsafe_str(shown, sizeof(shown), cfg->topic_prefix);
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		bool on = i == 0 ? cfg->command_presence : cfg->command_sms;
		if (!on)
			continue;
		block__locate(bc->block, kinds[i].option, strlen(kinds[i].option), &file, &line);
		snprintf(text, sizeof(text), "%s on %s/bridge/command/%s", kinds[i].what, shown,
				kinds[i].levels);
		check_report(bc->ck, CHECK_OK, file, line, "plugin_opt_%s: %s (answers on <topic>/response); "
				"only clients the broker's ACLs let publish there can use it: grant %s/bridge/command/# "
				"to Home Assistant and administrators only", kinds[i].option, text, shown);
	}
}

/* The control API: its topic, and whether filter changes can be written back to the
 * filters_file (a temporary file renamed over it: its directory must be writable by the
 * broker's user; else a change lasts until a restart). */
static void block__check_control(struct block_check *bc, const struct rc_config *cfg)
{
	const char *file;
	int line;
	char why[SHOWN + 256], shown[SHOWN];

	block__locate(bc->block, "control_api", strlen("control_api"), &file, &line);
	check_report(bc->ck, CHECK_OK, file, line, "plugin_opt_control_api: control API on %s "
			"(answers on %s/response); only clients the broker's ACLs let publish there can use it",
			rc_logsafe_str(shown, sizeof(shown), cfg->control_topic), shown);
	if (cfg->filters_file == NULL || bc->user == NULL)
		return;
	const char *slash = strrchr(cfg->filters_file, '/');
	char *dir = slash == NULL ? strdup(".") : slash == cfg->filters_file ? strdup("/") :
			strndup(cfg->filters_file, (size_t)(slash - cfg->filters_file));
	if (dir == NULL)
		return;
	block__locate(bc->block, "filters_file", strlen("filters_file"), &file, &line);
	if (rc_access_check(dir, bc->user, RC_ACCESS_WRITE | RC_ACCESS_SEARCH, why, sizeof(why)) != 0)
		check_report(bc->ck, CHECK_WARNING, file, line, "plugin_opt_filters_file: %s (the broker's "
				"user): the control API cannot write filter changes back; they last until a restart",
				why);
	else
		check_report(bc->ck, CHECK_OK, file, line, "plugin_opt_filters_file: %s is writable by %s: "
				"the control API's filter changes are kept", rc_logsafe_str(shown, sizeof(shown), dir),
				bc->user->name);
	free(dir);
}

static void block__check_file(struct block_check *bc, const struct rc_conf_option *o,
		enum file_kind kind, struct rc_saved_state *saved, bool *have_saved)
{
	char shown[SHOWN], desc[160];
	struct stat st = {0};

	/* The parser refused this very option: its line already says why. */
	if (bc->bad_key != NULL && strcmp(bc->bad_key, o->key) == 0)
		return;
	rc_logsafe_str(shown, sizeof(shown), o->value);
	if (kind != FILE_STATE && stat(o->value, &st) != 0) {
		check_report(bc->ck, CHECK_ERROR, o->file, o->line, "plugin_opt_%s: cannot read %s: %s",
				o->key, shown, strerror(errno));
		return;
	}
	block__check_access(bc, o, kind);
	if (kind == FILE_SECRET && (st.st_mode & S_IROTH) != 0) {
		/* The plugin only warns (for group or others, above); every local user is worse. */
		rc_access_describe(st.st_mode, st.st_uid, st.st_gid, desc, sizeof(desc));
		check_report(bc->ck, CHECK_ERROR, o->file, o->line,
				"plugin_opt_%s: %s (%s) is readable by every local user; chmod 600 it",
				o->key, shown, desc);
	}
	if (kind == FILE_CA)
		block__check_ca(bc, o);
	if (kind == FILE_STATE)
		block__check_state(bc, o, saved, have_saved);
}

/* An inline secret lives in the configuration file: that file then needs a secret's mode. */
static void block__check_inline(struct block_check *bc, const struct rc_conf_option *o)
{
	struct stat st;
	char desc[160];

	for (size_t i = 0; i < sizeof(inline_secrets) / sizeof(inline_secrets[0]); i++) {
		if (strcmp(o->key, inline_secrets[i]) != 0 || stat(o->file, &st) != 0 ||
				!rc_config_secret_mode_exposed(st.st_mode))
			continue;
		rc_access_describe(st.st_mode, st.st_uid, st.st_gid, desc, sizeof(desc));
		check_report(bc->ck, (st.st_mode & S_IROTH) ? CHECK_ERROR : CHECK_WARNING, o->file, o->line,
				"plugin_opt_%s is written inline in a file readable by %s (%s); use "
				"plugin_opt_%s_file with a file of mode 0600", o->key,
				(st.st_mode & S_IROTH) ? "every local user" : "its group", desc, o->key);
	}
}

static const char *block__transport_name(const struct rc_config *cfg)
{
	return cfg->transport == RC_TRANSPORT_WEBSOCKET ? "websocket" : "pubnub";
}

static void block__check(struct check *ck, const struct rc_conf_plugin *b,
		const struct rc_principal *user, bool online)
{
	struct block_check bc = { ck, b, user, NULL };
	struct rc_option *opts = calloc(b->n_opts + 1, sizeof(*opts));
	struct rc_config cfg;
	struct rc_saved_state saved = {0};
	bool have_saved = false;
	struct stat st;
	char err[1024], shown[SHOWN];
	int bad = -1;

	if (opts == NULL) {
		check_report(ck, CHECK_ERROR, NULL, 0, "out of memory");
		return;
	}
	rc_logsafe_str(shown, sizeof(shown), b->path);
	if (stat(b->path, &st) != 0)
		check_report(ck, CHECK_ERROR, b->file, b->line, "plugin %s: %s (Mosquitto will not start)",
				shown, strerror(errno));
	else
		check_report(ck, CHECK_OK, b->file, b->line, "plugin %s with %zu option(s)", shown,
				b->n_opts);
	for (size_t i = 0; i < b->n_opts; i++) {
		opts[i].key = b->opts[i].key;
		opts[i].value = b->opts[i].value;
	}

	bool parsed = rc_config_parse_at(&cfg, opts, (int)b->n_opts, block__warning, &bc, err,
			sizeof(err), &bad) == 0;
	if (!parsed) {
		/* The broker logs exactly this, "ringcentral: Error: <err>", and does not start.
		 * But the parser reads the files as whoever runs the check, while the broker reads
		 * them as its `user` (that is judged below, for the files it could read). */
		if (geteuid() != 0 && strstr(err, "Permission denied") != NULL)
			snprintf(err + strlen(err), sizeof(err) - strlen(err),
					" (the check reads the files itself: run it as root)");
		if (bad >= 0) {
			bc.bad_key = b->opts[bad].key;
			check_report(ck, CHECK_ERROR, b->opts[bad].file, b->opts[bad].line, "%s", err);
		} else {
			const char *key = strncmp(err, "plugin_opt_", 11) == 0 ? err + 11 : "";
			const char *file;
			int line;
			block__locate(b, key, strcspn(key, ":"), &file, &line);
			check_report(ck, CHECK_ERROR, file, line, "%s", err);
		}
	} else {
		char **filters = NULL;
		size_t n = 0;
		if (rc_filters_effective(&cfg, &filters, &n, err, sizeof(err)) != 0)
			check_report(ck, CHECK_ERROR, b->file, b->line, "%s", err);
		else
			check_report(ck, CHECK_OK, b->file, b->line,
					"options valid: %s transport, %s grant, %zu event filter(s)",
					block__transport_name(&cfg),
					cfg.auth_mode == RC_AUTH_JWT ? "JWT" : "password", n);
		rc_strlist_free(filters);
	}

	for (size_t i = 0; i < b->n_opts; i++) {
		block__check_inline(&bc, &b->opts[i]);
		for (size_t k = 0; k < sizeof(file_options) / sizeof(file_options[0]); k++) {
			/* The parser has said state_file does nothing with websocket. */
			bool unused = file_options[k].kind == FILE_STATE && parsed &&
					cfg.transport == RC_TRANSPORT_WEBSOCKET;
			if (strcmp(b->opts[i].key, file_options[k].key) == 0 && !unused)
				block__check_file(&bc, &b->opts[i], file_options[k].kind, &saved, &have_saved);
		}
	}

	if (parsed && cfg.control_api)
		block__check_control(&bc, &cfg);
	if (parsed)
		block__check_commands(&bc, &cfg);
	if (online && parsed)
		check_online(ck, &cfg, have_saved ? &saved : NULL);
	else if (online)
		check_report(ck, CHECK_WARNING, b->file, b->line,
				"online checks skipped: fix the options first");
	if (parsed)
		rc_config_free(&cfg);
	rc_saved_state_clear(&saved);
	free(opts);
}

/* ---------------------------------------------------------------- the whole configuration */

static void check__files_read(struct check *ck, const struct rc_broker_conf *conf)
{
	size_t len = 0;
	char *list = NULL;
	char shown[SHOWN];

	for (size_t i = 0; i < conf->n_files; i++) {
		rc_logsafe_str(shown, sizeof(shown), conf->files[i]);
		size_t room = strlen(shown) + 3;   /* ", " and the NUL */
		char *more = realloc(list, len + room);
		if (more == NULL)
			break;
		list = more;
		len += (size_t)snprintf(list + len, room, "%s%s", i > 0 ? ", " : "", shown);
	}
	check_report(ck, CHECK_OK, NULL, 0, "read %s", list != NULL ? list : "nothing");
	free(list);
}

static int check__run(const char *path, bool online)
{
	struct check ck = {0};
	struct rc_broker_conf conf;
	struct rc_principal user;
	bool have_user = false;
	char err[SHOWN + 128];
	size_t ours = 0;

	if (rc_broker_conf_read(path, &conf, err, sizeof(err)) != 0) {
		check_report(&ck, CHECK_ERROR, NULL, 0, "%s", err);
		return 1;
	}
	check__files_read(&ck, &conf);
	for (size_t i = 0; i < conf.n_problems; i++)
		check_report(&ck, CHECK_ERROR, conf.problems[i].file, conf.problems[i].line, "%s",
				conf.problems[i].message);
	if (conf.per_listener_settings)
		check_report(&ck, CHECK_WARNING, NULL, 0,
				"per_listener_settings true: Mosquitto before 2.0.15 (Debian 12 has 2.0.11) "
				"then never ticks the plugin and notifications stay queued; use false");

	const char *name = conf.user != NULL ? conf.user : RC_BROKER_DEFAULT_USER;
	if (rc_principal_lookup(name, &user, err, sizeof(err)) == 0)
		have_user = true;
	else
		check_report(&ck, CHECK_ERROR, NULL, 0, "%s: Mosquitto started as root drops to its "
				"`user` and will not start; file access is not checked", err);

	for (size_t i = 0; i < conf.n_plugins; i++) {
		if (!rc_broker_conf_is_ours(conf.plugins[i].path))
			continue;
		ours++;
		block__check(&ck, &conf.plugins[i], have_user ? &user : NULL, online);
	}
	if (ours == 0)
		check_report(&ck, CHECK_ERROR, NULL, 0,
				"no plugin line loads mosquitto_ringcentral.so in the files read");
	if (have_user)
		rc_principal_free(&user);
	rc_broker_conf_free(&conf);
	return ck.errors > 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	bool online = false;
	const char *path = NULL;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--online") == 0) {
			online = true;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(usage, stdout);
			return 0;
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			fprintf(stderr, "mosquitto-ringcentral-check: unknown option '%s'\n%s", argv[i], usage);
			return 2;
		} else if (path != NULL) {
			fprintf(stderr, "mosquitto-ringcentral-check: one configuration file only\n%s", usage);
			return 2;
		} else {
			path = argv[i];
		}
	}
	if (path == NULL) {
		fputs(usage, stderr);
		return 2;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		printf("error: cannot initialise libcurl\n");
		return 1;
	}
	int rc = check__run(path, online);
	curl_global_cleanup();
	return rc;
}
