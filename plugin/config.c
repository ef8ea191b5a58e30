/* config.c - parsing and validating plugin_opt_* options (see rc_config.h).
 *
 * Every option is checked here, at start-up, so that a typo stops the broker with one
 * line naming the option rather than surfacing hours later as a bridge that never comes
 * up. Secrets (client secret, JWT, password) are read from their files here too, and
 * never copied into an error message. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <curl/curl.h>
#include <openssl/crypto.h>
#include "rc_config.h"
#include "rc_control.h"
#include "rc_strlist.h"
#include "rc_topic.h"

#define RC_SECRET_FILE_MAX (64 * 1024)
#define RC_CONFIG_DEFAULT_PREFIX "ringcentral"
#define RC_CONFIG_MAX_SMS_NOTIFY 20   /* sms_notify_to lines: one notify entity each */

/* The options that may be given once only, as bits in a "seen" mask. */
enum config_once {
	ONCE_SERVER, ONCE_CLIENT_ID, ONCE_CLIENT_SECRET, ONCE_CLIENT_SECRET_FILE, ONCE_JWT,
	ONCE_JWT_FILE, ONCE_USERNAME, ONCE_EXTENSION, ONCE_PASSWORD, ONCE_PASSWORD_FILE,
	ONCE_FILTERS_FILE, ONCE_TRANSPORT, ONCE_PUBNUB_ORIGIN, ONCE_EXPIRES_IN, ONCE_RENEW_MARGIN,
	ONCE_TOPIC_PREFIX, ONCE_PAYLOAD, ONCE_QOS, ONCE_RETAIN, ONCE_STATE_FILE, ONCE_CAFILE,
	ONCE_MAX_NOTIFICATION_SIZE, ONCE_REQUEST_TIMEOUT, ONCE_POLL_TIMEOUT,
	ONCE_HEARTBEAT_INTERVAL, ONCE_PONG_TIMEOUT, ONCE_WAKE_BROKER, ONCE_HOMEASSISTANT,
	ONCE_HOMEASSISTANT_PREFIX, ONCE_CONTROL_API, ONCE_CONTROL_TOPIC, ONCE_COMMAND_PRESENCE,
	ONCE_COMMAND_SMS, ONCE_SMS_FROM,
};

static const char *const once_names[] = {
	"server", "client_id", "client_secret", "client_secret_file", "jwt", "jwt_file",
	"username", "extension", "password", "password_file", "filters_file", "transport",
	"pubnub_origin", "expires_in", "renew_margin", "topic_prefix", "payload", "qos", "retain",
	"state_file", "cafile", "max_notification_size", "request_timeout", "poll_timeout",
	"heartbeat_interval", "pong_timeout", "wake_broker", "homeassistant", "homeassistant_prefix",
	"control_api", "control_topic", "command_presence", "command_sms", "sms_from",
};

struct config_parser {
	struct rc_config *cfg;
	rc_config_warn_fn warn;
	void *userdata;
	char *err;
	size_t errlen;
	unsigned long seen;
	size_t n_file_filters;   /* filters the filters_file held at start-up */
};

static int config__fail(struct config_parser *p, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int config__fail(struct config_parser *p, const char *key, const char *fmt, ...)
{
	char detail[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	snprintf(p->err, p->errlen, "plugin_opt_%s: %s", key, detail);
	return -1;
}

static void secret__free(char **s)
{
	if (*s != NULL) {
		OPENSSL_cleanse(*s, strlen(*s));
		free(*s);
		*s = NULL;
	}
}

void rc_config_free(struct rc_config *cfg)
{
	free(cfg->server);
	free(cfg->client_id);
	secret__free(&cfg->client_secret);
	secret__free(&cfg->jwt);
	free(cfg->username);
	free(cfg->extension);
	secret__free(&cfg->password);
	rc_strlist_free(cfg->event_filters);
	free(cfg->filters_file);
	free(cfg->pubnub_origin);
	free(cfg->topic_prefix);
	for (size_t i = 0; i < cfg->n_topic_map; i++) {
		free(cfg->topic_map[i].pattern);
		free(cfg->topic_map[i].tmpl);
	}
	free(cfg->topic_map);
	free(cfg->state_file);
	free(cfg->cafile);
	free(cfg->homeassistant_prefix);
	free(cfg->control_topic);
	free(cfg->control_response_topic);
	free(cfg->sms_from);
	rc_strlist_free(cfg->sms_notify_to);
	*cfg = (struct rc_config){0};
}

/* ---------------------------------------------------------------- URLs */

static bool config__loopback_host(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;
	char buf[64];
	size_t len = strlen(host);

	if (strcasecmp(host, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	/* curl reports IPv6 hosts with their brackets. */
	if (len >= 2 && host[0] == '[' && host[len - 1] == ']' && len - 2 < sizeof(buf)) {
		memcpy(buf, host + 1, len - 2);
		buf[len - 2] = '\0';
		host = buf;
	}
	return inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

/* True if the URL part is present (curl returns CURLUE_NO_* for absent parts). */
static bool config__url_has(CURLU *u, CURLUPart part)
{
	char *v = NULL;
	bool has = curl_url_get(u, part, &v, 0) == CURLUE_OK;

	curl_free(v);
	return has;
}

/* The TLS scheme a URL must use, and its plain twin that only a loopback host may use:
 * the rule for configured URLs (https/http) and for the WebSocket gateway address the
 * server hands out (wss/ws) is the same rule, written once. */
struct config_schemes {
	const char *secure, *plain;
	const char *plain_problem;   /* plain scheme to a host that is not loopback */
	const char *other_problem;   /* any other scheme */
	bool query_allowed;
};

static const struct config_schemes config__http = {
	"https", "http", "http:// is only allowed to a loopback address; use https://",
	"must be an https:// URL", false,
};

/* The gateway may hand out an address with a query; the token is appended to it. */
static const struct config_schemes config__ws = {
	"wss", "ws", "ws:// is only allowed to a loopback address; wss:// is required",
	"must be a wss:// URL", true,
};

/* Returns NULL if url is acceptable, else a reason. *secret is set when the URL may carry
 * credentials, so that the caller does not echo it. */
static const char *config__url_problem_for(const char *url, const struct config_schemes *sc,
		bool *secret)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL;
	const char *problem = NULL;

	/* Also when it does not parse: "user:pass@" may be in there, broken or not. */
	*secret = strchr(url, '@') != NULL;
	if (u == NULL)
		return "out of memory";
	/* NON_SUPPORT_SCHEME: parse any scheme, so that ftp:// or foo:// get the clear
	 * "must be https" answer below instead of "not a valid URL". */
	if (curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK ||
			curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
			curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || host[0] == '\0') {
		problem = "not a valid URL";
	} else if (config__url_has(u, CURLUPART_USER) || config__url_has(u, CURLUPART_PASSWORD) ||
			config__url_has(u, CURLUPART_OPTIONS)) {
		problem = "must not contain credentials";
	} else if ((!sc->query_allowed && config__url_has(u, CURLUPART_QUERY)) ||
			config__url_has(u, CURLUPART_FRAGMENT)) {
		problem = sc->query_allowed ? "must not contain a fragment" :
				"must not contain a query or a fragment";
	} else if (strcasecmp(scheme, sc->secure) == 0) {
		problem = NULL;
	} else if (strcasecmp(scheme, sc->plain) == 0) {
		if (!config__loopback_host(host))
			problem = sc->plain_problem;
	} else {
		problem = sc->other_problem;
	}
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return problem;
}

static const char *config__url_problem(const char *url, bool *secret)
{
	return config__url_problem_for(url, &config__http, secret);
}

const char *rc_config_ws_url_problem(const char *url)
{
	bool secret;

	return url != NULL ? config__url_problem_for(url, &config__ws, &secret) : "no URL";
}

bool rc_config_url_allowed(const char *url)
{
	bool secret;

	return url != NULL && config__url_problem(url, &secret) == NULL;
}

/* Stores a copy of the URL without trailing slashes, so paths can be appended with '/'. */
static int config__url(struct config_parser *p, const char *key, const char *value, char **out)
{
	bool secret;
	const char *problem = config__url_problem(value, &secret);
	size_t len = strlen(value);

	if (problem != NULL && secret)
		return config__fail(p, key, "%s (URL not shown: it may hold credentials)", problem);
	if (problem != NULL)
		return config__fail(p, key, "%s, got '%s'", problem, value);
	while (len > 0 && value[len - 1] == '/')
		len--;
	*out = strndup(value, len);
	return *out != NULL ? 0 : config__fail(p, key, "out of memory");
}

/* ---------------------------------------------------------------- values */

static int config__long(struct config_parser *p, const char *key, const char *value,
		long min, long max, long *out)
{
	char *end;

	errno = 0;
	long v = strtol(value, &end, 10);
	/* strtol skips leading blanks and takes a sign; we only take plain digits. */
	if (!isdigit((unsigned char)value[0]) || errno != 0 || *end != '\0' || v < min || v > max)
		return config__fail(p, key, "must be a whole number from %ld to %ld, got '%s'",
				min, max, value);
	*out = v;
	return 0;
}

static int config__string(struct config_parser *p, const char *key, const char *value, char **out)
{
	*out = strdup(value);
	return *out != NULL ? 0 : config__fail(p, key, "out of memory");
}

bool rc_config_secret_mode_exposed(unsigned int mode)
{
	return (mode & (S_IRGRP | S_IROTH)) != 0;
}

/* Reads a secret from a file: whole content, trailing whitespace removed. */
static int config__secret_file(struct config_parser *p, const char *key, const char *path,
		char **out)
{
	struct stat st;
	FILE *f = fopen(path, "rb");

	if (f == NULL)
		return config__fail(p, key, "cannot read %s: %s", path, strerror(errno));
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
		fclose(f);
		return config__fail(p, key, "%s is not a regular file", path);
	}
	if (rc_config_secret_mode_exposed(st.st_mode) && p->warn != NULL) {
		char msg[PATH_MAX + 128];
		snprintf(msg, sizeof(msg), "plugin_opt_%s: %s is readable by group or others; chmod 600 it",
				key, path);
		p->warn(p->userdata, msg);
	}
	char *buf = malloc(RC_SECRET_FILE_MAX + 1);
	size_t len = buf != NULL ? fread(buf, 1, RC_SECRET_FILE_MAX + 1, f) : 0;
	fclose(f);
	if (buf == NULL)
		return config__fail(p, key, "out of memory");
	if (len > RC_SECRET_FILE_MAX) {
		OPENSSL_cleanse(buf, len);
		free(buf);
		return config__fail(p, key, "%s is larger than %d bytes", path, RC_SECRET_FILE_MAX);
	}
	while (len > 0 && isspace((unsigned char)buf[len - 1]))
		len--;
	buf[len] = '\0';
	if (len == 0 || memchr(buf, '\0', len) != NULL) {
		OPENSSL_cleanse(buf, len);
		free(buf);
		return config__fail(p, key, "%s is empty or not text", path);
	}
	*out = buf;
	return 0;
}

static bool config__has_space(const char *s)
{
	for (; *s != '\0'; s++)
		if (isspace((unsigned char)*s))
			return true;
	return false;
}

static int config__add_filter(struct config_parser *p, const char *value)
{
	struct rc_config *cfg = p->cfg;

	if (value[0] != '/')
		return config__fail(p, "event_filter", "must start with '/', got '%s'", value);
	if (config__has_space(value))
		return config__fail(p, "event_filter", "must not contain blanks, got '%s'", value);
	/* The same filter twice is harmless: it is kept once. */
	if (rc_strlist_add_unique(&cfg->event_filters, &cfg->n_event_filters, value) != 0)
		return config__fail(p, "event_filter", "out of memory");
	return 0;
}

/* A trailing `<name>=<value>` word of a topic_map line: a publish option of the rule.
 * Returns 1 if word is one (parsed into *r), 0 if it is not an option word (part of the
 * template), -1 on a bad one (err says why). A word with a '/' is always a template: the
 * option words have none, and a template level may hold '='. */
static int config__rule_option(const char *word, size_t len, struct rc_topic_rule *r,
		char *err, size_t errlen)
{
	const char *eq = memchr(word, '=', len);
	char value[32];

	if (eq == NULL || memchr(word, '/', len) != NULL || eq == word)
		return 0;
	for (const char *c = word; c < eq; c++)
		if (!((*c >= 'a' && *c <= 'z') || *c == '_'))
			return 0;
	size_t klen = (size_t)(eq - word), vlen = len - klen - 1;
	if (vlen == 0 || vlen >= sizeof(value)) {
		snprintf(err, errlen, "option '%.*s' needs a value", (int)klen, word);
		return -1;
	}
	memcpy(value, eq + 1, vlen);
	value[vlen] = '\0';
	if (klen == 6 && memcmp(word, "retain", 6) == 0) {
		if (strcasecmp(value, "true") == 0 || strcmp(value, "1") == 0)
			r->retain = true;
		else if (strcasecmp(value, "false") == 0 || strcmp(value, "0") == 0)
			r->retain = false;
		else {
			snprintf(err, errlen, "retain= must be true or false, got '%s'", value);
			return -1;
		}
		r->has_retain = true;
		return 1;
	}
	if (klen == 3 && memcmp(word, "qos", 3) == 0) {
		if (vlen != 1 || value[0] < '0' || value[0] > '2') {
			snprintf(err, errlen, "qos= must be 0, 1 or 2, got '%s'", value);
			return -1;
		}
		r->has_qos = true;
		r->qos = value[0] - '0';
		return 1;
	}
	if (klen == 6 && memcmp(word, "expiry", 6) == 0) {
		char *end;
		errno = 0;
		unsigned long long v = strtoull(value, &end, 10);
		if (!isdigit((unsigned char)value[0]) || errno != 0 || *end != '\0' || v > UINT32_MAX) {
			snprintf(err, errlen, "expiry= must be a whole number of seconds from 0 to %u, got '%s'",
					UINT32_MAX, value);
			return -1;
		}
		r->expiry_s = (uint32_t)v;
		return 1;
	}
	snprintf(err, errlen, "unknown rule option '%.*s' (known: retain=, qos=, expiry=)", (int)klen, word);
	return -1;
}

/* Appends a rule (pattern and tmpl copied; tmpl NULL: the default mapping). */
static int config__push_rule(struct config_parser *p, const char *pattern, size_t plen,
		const char *tmpl, size_t tlen, const struct rc_topic_rule *options)
{
	struct rc_config *cfg = p->cfg;
	struct rc_topic_rule *rules = realloc(cfg->topic_map, (cfg->n_topic_map + 1) * sizeof(*rules));

	if (rules == NULL)
		return config__fail(p, "topic_map", "out of memory");
	cfg->topic_map = rules;
	struct rc_topic_rule *r = &rules[cfg->n_topic_map];
	*r = *options;
	r->pattern = strndup(pattern, plen);
	r->tmpl = tmpl != NULL ? strndup(tmpl, tlen) : NULL;
	cfg->n_topic_map++;
	if (r->pattern == NULL || (tmpl != NULL && r->tmpl == NULL))
		return config__fail(p, "topic_map", "out of memory");
	return 0;
}

/* `<pattern> [<template>] [retain=true|false] [qos=0|1|2] [expiry=<seconds>]`: the
 * option words are taken from the end; what lies between the pattern and them is the
 * template (blanks inside it kept, as before options existed). Without a template the
 * rule keeps the default mapping and only sets the options. */
static int config__add_topic_map(struct config_parser *p, const char *value)
{
	char detail[256];
	struct rc_topic_rule opts = {0};
	size_t plen = strcspn(value, " \t");
	const char *tmpl = value + plen;
	size_t end = strlen(value);
	bool any_option = false;

	while (*tmpl == ' ' || *tmpl == '\t')
		tmpl++;
	/* Peel option words off the end. */
	while (value + end > tmpl) {
		size_t w = end;
		while (w > (size_t)(tmpl - value) && value[w - 1] != ' ' && value[w - 1] != '\t')
			w--;
		int rc = config__rule_option(value + w, end - w, &opts, detail, sizeof(detail));
		if (rc < 0)
			return config__fail(p, "topic_map", "%s", detail);
		if (rc == 0)
			break;
		any_option = true;
		end = w;
		while (value + end > tmpl && (value[end - 1] == ' ' || value[end - 1] == '\t'))
			end--;
	}
	size_t tlen = value + end > tmpl ? (size_t)(value + end - tmpl) : 0;
	if (plen == 0 || (tlen == 0 && !any_option))
		return config__fail(p, "topic_map", "must be '<event-pattern> <topic-template> "
				"[retain=true|false] [qos=0|1|2] [expiry=<seconds>]', got '%s'", value);
	char *pattern = strndup(value, plen);
	char *t = tlen > 0 ? strndup(tmpl, tlen) : NULL;
	if (pattern == NULL || (tlen > 0 && t == NULL)) {
		free(pattern);
		free(t);
		return config__fail(p, "topic_map", "out of memory");
	}
	int rc = rc_topic_rule_check(pattern, t, detail, sizeof(detail));
	free(pattern);
	free(t);
	if (rc != 0)
		return config__fail(p, "topic_map", "%s", detail);
	return config__push_rule(p, value, plen, tlen > 0 ? tmpl : NULL, tlen, &opts);
}

/* With homeassistant, after the user's rules (first match wins, so theirs override):
 * presence is retained, so that Home Assistant shows the right state after its own
 * restart; what is an event (an SMS, a missed call, a call's progress) is never retained
 * (Home Assistant would replay it), whatever plugin_opt_retain says. Topics stay the
 * default ones. */
static int config__builtin_rules(struct config_parser *p)
{
	static const struct { const char *suffix; bool retain; } builtin[] = {
		{ "presence", true },
		{ "message-store/instant", false },
		{ "missed-calls", false },
		{ "telephony/sessions", false },
	};
	char pattern[128];

	for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++) {
		struct rc_topic_rule opts = { .has_retain = true, .retain = builtin[i].retain, .builtin = true };
		int n = snprintf(pattern, sizeof(pattern),
				"/restapi/v1.0/account/{account}/extension/{extension}/%s", builtin[i].suffix);
		if (config__push_rule(p, pattern, (size_t)n, NULL, 0, &opts) != 0)
			return -1;
	}
	return 0;
}

/* A prefix (topic_prefix, homeassistant_prefix) is the start of topics we publish: the
 * same rules as a whole topic (rc_topic_check: no wildcards, no empty or dot levels,
 * UTF-8), so that a bad prefix is refused once at start-up rather than on every message.
 * 0, or -1 with the error set for key. */
static int config__prefix_rules(struct config_parser *p, const char *key, const char *value)
{
	enum rc_topic_result r = rc_topic_check(value, strlen(value));

	if (r != RC_TOPIC_OK)
		return config__fail(p, key, "%s, got '%s'",
				r == RC_TOPIC_BAD_UTF8 ? "must be valid UTF-8 without control characters" :
				rc_topic_strerror(r), value);
	return 0;
}

static int config__topic_prefix(struct config_parser *p, const char *value)
{
	if (value[0] == '/' || value[strlen(value) - 1] == '/')
		return config__fail(p, "topic_prefix", "must not start or end with '/', got '%s'", value);
	if (value[0] == '$')
		return config__fail(p, "topic_prefix", "must not start with '$' (the broker's topics), "
				"got '%s'", value);
	if (config__prefix_rules(p, "topic_prefix", value) != 0)
		return -1;
	return config__string(p, "topic_prefix", value, &p->cfg->topic_prefix);
}

/* The broker takes a control topic only under $CONTROL/ and at least as long as
 * "$CONTROL/A/v1" (src/control.c); the answers go to <topic>/response, so it must be a
 * valid publish topic too. */
static int config__control_topic(struct config_parser *p, const char *value)
{
	size_t len = strlen(value);
	enum rc_topic_result r = rc_topic_check(value, len);

	if (strncmp(value, "$CONTROL/", 9) != 0 || len < strlen("$CONTROL/A/v1"))
		return config__fail(p, "control_topic", "must start with '$CONTROL/' and have a level "
				"after it, e.g. $CONTROL/ringcentral/sales/v1, got '%s'", value);
	if (value[len - 1] == '/' || r != RC_TOPIC_OK)
		return config__fail(p, "control_topic", "%s, got '%s'", value[len - 1] == '/' ?
				"must not end with '/'" : rc_topic_strerror(r), value);
	return config__string(p, "control_topic", value, &p->cfg->control_topic);
}

static int config__bool(struct config_parser *p, const char *key, const char *value, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(value, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(value, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return config__fail(p, key, "must be true or false, got '%s'", value);
}

static int config__readable_file(struct config_parser *p, const char *key, const char *value,
		char **out)
{
	struct stat st;

	if (access(value, R_OK) != 0)
		return config__fail(p, key, "cannot read %s: %s", value, strerror(errno));
	if (stat(value, &st) != 0 || S_ISDIR(st.st_mode))
		return config__fail(p, key, "%s is a directory, not a file", value);
	return config__string(p, key, value, out);
}

/* The file is loaded once here so that a bad line stops the broker at start-up; it is
 * re-read by rc_filters_effective() whenever the filters are needed (start, SIGHUP). */
static int config__filters_file(struct config_parser *p, const char *value)
{
	char **filters = NULL;
	char detail[512];

	if (config__readable_file(p, "filters_file", value, &p->cfg->filters_file) != 0)
		return -1;
	if (rc_filters_load_file(value, &filters, &p->n_file_filters, detail, sizeof(detail)) != 0)
		return config__fail(p, "filters_file", "%s", detail);
	rc_strlist_free(filters);
	return 0;
}

static int config__state_file(struct config_parser *p, const char *value)
{
	size_t len = strlen(value);
	char *dir;
	struct stat st;

	if (value[len - 1] == '/' || (stat(value, &st) == 0 && S_ISDIR(st.st_mode)))
		return config__fail(p, "state_file", "%s is a directory; give a file path", value);
	if ((dir = strdup(value)) == NULL)
		return config__fail(p, "state_file", "out of memory");
	char *slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else if (slash != NULL)
		*slash = '\0';
	else
		strcpy(dir, ".");
	int ok = stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
	free(dir);
	if (!ok)
		return config__fail(p, "state_file", "the directory of %s does not exist", value);
	return config__string(p, "state_file", value, &p->cfg->state_file);
}

/* Home Assistant's discovery prefix: a topic we publish retained configs under and whose
 * `status` we listen to, so the rules of a topic prefix. */
static int config__ha_prefix(struct config_parser *p, const char *value)
{
	if (value[0] == '/' || value[strlen(value) - 1] == '/' || value[0] == '$')
		return config__fail(p, "homeassistant_prefix", "must not start or end with '/' nor start "
				"with '$', got '%s'", value);
	if (config__prefix_rules(p, "homeassistant_prefix", value) != 0)
		return -1;
	/* discovery.c remembers what it published as "<config topic>|<entity>" keys. */
	if (strchr(value, '|') != NULL)
		return config__fail(p, "homeassistant_prefix", "must not contain '|', got '%s'", value);
	return config__string(p, "homeassistant_prefix", value, &p->cfg->homeassistant_prefix);
}

/* ---------------------------------------------------------------- dispatch */

/* An inline secret and its _file variant fill the same field: refuse the second one as
 * soon as it is seen, before it overwrites (and leaks) the first. */
static const enum config_once secret_pairs[][2] = {
	{ ONCE_CLIENT_SECRET, ONCE_CLIENT_SECRET_FILE },
	{ ONCE_JWT, ONCE_JWT_FILE },
	{ ONCE_PASSWORD, ONCE_PASSWORD_FILE },
};

static int config__once(struct config_parser *p, enum config_once o)
{
	if (p->seen & (1UL << o))
		return config__fail(p, once_names[o], "given more than once");
	for (size_t i = 0; i < sizeof(secret_pairs) / sizeof(secret_pairs[0]); i++) {
		for (int side = 0; side < 2; side++) {
			enum config_once other = secret_pairs[i][!side];
			if (secret_pairs[i][side] == o && (p->seen & (1UL << other)))
				return config__fail(p, once_names[o], "give plugin_opt_%s or plugin_opt_%s, not both",
						once_names[secret_pairs[i][0]], once_names[secret_pairs[i][1]]);
		}
	}
	p->seen |= 1UL << o;
	return 0;
}

static int config__option(struct config_parser *p, const char *key, const char *value)
{
	struct rc_config *c = p->cfg;
	long v;

	if (strcmp(key, "event_filter") == 0)
		return config__add_filter(p, value);
	if (strcmp(key, "topic_map") == 0)
		return config__add_topic_map(p, value);
	if (strcmp(key, "sms_notify_to") == 0) {
		if (!rc_control_e164(value))
			return config__fail(p, key, "must be an E.164 number ('+' and 7 to 15 digits, "
					"e.g. +15551234567), got '%s'", value);
		if (c->n_sms_notify_to >= RC_CONFIG_MAX_SMS_NOTIFY)
			return config__fail(p, key, "at most %d numbers", RC_CONFIG_MAX_SMS_NOTIFY);
		if (c->sms_notify_to == NULL && (c->sms_notify_to = calloc(1, sizeof(char *))) == NULL)
			return config__fail(p, key, "out of memory");
		if (rc_strlist_add_unique(&c->sms_notify_to, &c->n_sms_notify_to, value) != 0)
			return config__fail(p, key, "out of memory");
		return 0;
	}

	for (size_t o = 0; o < sizeof(once_names) / sizeof(once_names[0]); o++) {
		if (strcmp(key, once_names[o]) != 0)
			continue;
		if (config__once(p, (enum config_once)o) != 0)
			return -1;
		switch ((enum config_once)o) {
		case ONCE_SERVER: return config__url(p, key, value, &c->server);
		case ONCE_PUBNUB_ORIGIN: return config__url(p, key, value, &c->pubnub_origin);
		case ONCE_CLIENT_ID: return config__string(p, key, value, &c->client_id);
		case ONCE_CLIENT_SECRET: return config__string(p, key, value, &c->client_secret);
		case ONCE_CLIENT_SECRET_FILE: return config__secret_file(p, key, value, &c->client_secret);
		case ONCE_JWT: return config__string(p, key, value, &c->jwt);
		case ONCE_JWT_FILE: return config__secret_file(p, key, value, &c->jwt);
		case ONCE_USERNAME: return config__string(p, key, value, &c->username);
		case ONCE_EXTENSION: return config__string(p, key, value, &c->extension);
		case ONCE_PASSWORD: return config__string(p, key, value, &c->password);
		case ONCE_PASSWORD_FILE: return config__secret_file(p, key, value, &c->password);
		case ONCE_FILTERS_FILE: return config__filters_file(p, value);
		case ONCE_CAFILE: return config__readable_file(p, key, value, &c->cafile);
		case ONCE_STATE_FILE: return config__state_file(p, value);
		case ONCE_TOPIC_PREFIX: return config__topic_prefix(p, value);
		case ONCE_RETAIN: return config__bool(p, key, value, &c->retain);
		case ONCE_TRANSPORT:
			if (strcasecmp(value, "pubnub") == 0) {
				c->transport = RC_TRANSPORT_PUBNUB;
				return 0;
			}
			if (strcasecmp(value, "websocket") == 0) {
				c->transport = RC_TRANSPORT_WEBSOCKET;
				return 0;
			}
			return config__fail(p, key, "must be pubnub or websocket, got '%s'", value);
		case ONCE_PAYLOAD:
			if (strcasecmp(value, "notification") == 0)
				c->payload = RC_PAYLOAD_NOTIFICATION;
			else if (strcasecmp(value, "body") == 0)
				c->payload = RC_PAYLOAD_BODY;
			else
				return config__fail(p, key, "must be notification or body, got '%s'", value);
			return 0;
		case ONCE_QOS:
			if (strlen(value) != 1 || value[0] < '0' || value[0] > '2')
				return config__fail(p, key, "must be 0, 1 or 2, got '%s'", value);
			c->qos = value[0] - '0';
			return 0;
		case ONCE_EXPIRES_IN: return config__long(p, key, value, 10, 31536000, &c->expires_in);
		case ONCE_RENEW_MARGIN: return config__long(p, key, value, 1, 86400, &c->renew_margin);
		case ONCE_REQUEST_TIMEOUT: return config__long(p, key, value, 1, 300, &c->request_timeout);
		case ONCE_POLL_TIMEOUT: return config__long(p, key, value, 10, 600, &c->poll_timeout);
		case ONCE_HEARTBEAT_INTERVAL:
			return config__long(p, key, value, 1, 3600, &c->heartbeat_interval);
		case ONCE_PONG_TIMEOUT: return config__long(p, key, value, 1, 300, &c->pong_timeout);
		case ONCE_WAKE_BROKER: return config__bool(p, key, value, &c->wake_broker);
		case ONCE_HOMEASSISTANT: return config__bool(p, key, value, &c->homeassistant);
		case ONCE_HOMEASSISTANT_PREFIX: return config__ha_prefix(p, value);
		case ONCE_CONTROL_API: return config__bool(p, key, value, &c->control_api);
		case ONCE_CONTROL_TOPIC: return config__control_topic(p, value);
		case ONCE_COMMAND_PRESENCE: return config__bool(p, key, value, &c->command_presence);
		case ONCE_COMMAND_SMS: return config__bool(p, key, value, &c->command_sms);
		case ONCE_SMS_FROM:
			if (!rc_control_e164(value))
				return config__fail(p, key, "must be an E.164 number ('+' and 7 to 15 digits, "
						"e.g. +15551234567), got '%s'", value);
			return config__string(p, key, value, &c->sms_from);
		case ONCE_MAX_NOTIFICATION_SIZE:
			if (config__long(p, key, value, 1024, 16777216, &v) != 0)
				return -1;
			c->max_notification_size = (size_t)v;
			return 0;
		}
	}
	return config__fail(p, key, "unknown option");
}

static bool config__given(const struct config_parser *p, enum config_once o)
{
	return (p->seen & (1UL << o)) != 0;
}

/* Cross-option rules, checked once every option has been read. */
/* Options that only one transport uses are accepted with the other (a config can switch
 * transports by changing one line) but named, so nobody tunes a knob that does nothing. */
static void config__warn_unused(struct config_parser *p)
{
	static const enum config_once pubnub_only[] = {
		ONCE_PUBNUB_ORIGIN, ONCE_POLL_TIMEOUT, ONCE_EXPIRES_IN, ONCE_RENEW_MARGIN, ONCE_STATE_FILE,
	};
	static const enum config_once websocket_only[] = { ONCE_HEARTBEAT_INTERVAL, ONCE_PONG_TIMEOUT };
	bool ws = p->cfg->transport == RC_TRANSPORT_WEBSOCKET;
	const enum config_once *list = ws ? pubnub_only : websocket_only;
	size_t n = ws ? sizeof(pubnub_only) / sizeof(pubnub_only[0]) :
			sizeof(websocket_only) / sizeof(websocket_only[0]);

	for (size_t i = 0; i < n && p->warn != NULL; i++) {
		if (!(p->seen & (1UL << list[i])))
			continue;
		char msg[160];
		snprintf(msg, sizeof(msg), "plugin_opt_%s has no effect with transport %s",
				once_names[list[i]], ws ? "websocket" : "pubnub");
		p->warn(p->userdata, msg);
	}
}

static int config__check_whole(struct config_parser *p)
{
	struct rc_config *c = p->cfg;
	bool jwt = config__given(p, ONCE_JWT) || config__given(p, ONCE_JWT_FILE);
	bool password_grant = config__given(p, ONCE_USERNAME) || config__given(p, ONCE_PASSWORD) ||
			config__given(p, ONCE_PASSWORD_FILE);

	if (c->client_id == NULL)
		return config__fail(p, "client_id", "required");
	if (c->client_secret == NULL)
		return config__fail(p, "client_secret", "required (or plugin_opt_client_secret_file)");
	if (jwt && password_grant)
		return config__fail(p, config__given(p, ONCE_JWT) ? "jwt" : "jwt_file",
				"give either jwt/jwt_file or username and password, not both");
	if (config__given(p, ONCE_EXTENSION) && c->username == NULL)
		return config__fail(p, "extension", "needs plugin_opt_username");
	if (jwt) {
		c->auth_mode = RC_AUTH_JWT;
	} else if (password_grant) {
		if (c->username == NULL)
			return config__fail(p, "username", "required with the password grant");
		if (c->password == NULL)
			return config__fail(p, "password", "required with the password grant (or plugin_opt_password_file)");
		c->auth_mode = RC_AUTH_PASSWORD;
	} else {
		return config__fail(p, "jwt", "required: give jwt/jwt_file, or username and password");
	}
	/* Here rather than per topic_map line: topic_prefix may come after those lines. */
	for (size_t i = 0; i < c->n_topic_map; i++) {
		char detail[256];
		const char *prefix = c->topic_prefix != NULL ? c->topic_prefix : RC_CONFIG_DEFAULT_PREFIX;
		if (rc_topic_template_reserved_check(c->topic_map[i].tmpl, prefix, detail,
				sizeof(detail)) != 0)
			return config__fail(p, "topic_map", "%s", detail);
	}
	if (c->homeassistant && config__builtin_rules(p) != 0)
		return -1;
	if (!c->homeassistant && config__given(p, ONCE_HOMEASSISTANT_PREFIX) && p->warn != NULL)
		p->warn(p->userdata, "plugin_opt_homeassistant_prefix has no effect without plugin_opt_homeassistant true");
	/* The filters file was loaded (and its errors reported) when it was read. */
	if (c->n_event_filters + p->n_file_filters == 0)
		return config__fail(p, "event_filter",
				"at least one event_filter or a filters_file is required");
	config__warn_unused(p);
	if (config__given(p, ONCE_CONTROL_TOPIC) && !c->control_api && p->warn != NULL)
		p->warn(p->userdata, "plugin_opt_control_topic has no effect while plugin_opt_control_api is false");
	if (c->command_sms && c->sms_from == NULL)
		return config__fail(p, "sms_from", "required with plugin_opt_command_sms true (the "
				"E.164 number SMS are sent from, one of the logged-in extension's SMS numbers)");
	if (!c->command_sms && c->sms_from != NULL && p->warn != NULL)
		p->warn(p->userdata, "plugin_opt_sms_from has no effect while plugin_opt_command_sms is false");
	if (c->n_sms_notify_to > 0 && !(c->command_sms && c->homeassistant) && p->warn != NULL)
		p->warn(p->userdata, "plugin_opt_sms_notify_to has no effect without plugin_opt_command_sms "
				"true and plugin_opt_homeassistant true");
	return 0;
}

bool rc_config_hears_messages(const struct rc_config *cfg)
{
	return cfg->homeassistant || cfg->command_presence || cfg->command_sms;
}

bool rc_config_has_commands(const struct rc_config *cfg)
{
	return cfg->control_api || rc_config_hears_messages(cfg);
}

static void config__defaults(struct rc_config *c)
{
	/* RingCentral's current delivery; PubNub is deprecated (see the README). */
	c->transport = RC_TRANSPORT_WEBSOCKET;
	c->expires_in = 900;
	c->renew_margin = 120;
	c->payload = RC_PAYLOAD_NOTIFICATION;
	c->qos = 1;
	c->retain = false;
	c->max_notification_size = 65536;
	c->request_timeout = 30;
	c->poll_timeout = 300;
	c->heartbeat_interval = 30;
	c->pong_timeout = 10;
	c->wake_broker = true;
}

static int config__default_strings(struct config_parser *p)
{
	struct rc_config *c = p->cfg;

	if ((c->server == NULL && (c->server = strdup("https://platform.ringcentral.com")) == NULL) ||
			(c->pubnub_origin == NULL &&
			 (c->pubnub_origin = strdup("https://ringcentral.pubnubapi.com")) == NULL) ||
			(c->topic_prefix == NULL && (c->topic_prefix = strdup(RC_CONFIG_DEFAULT_PREFIX)) == NULL) ||
			(c->homeassistant_prefix == NULL &&
			 (c->homeassistant_prefix = strdup("homeassistant")) == NULL))
		return config__fail(p, "server", "out of memory");
	/* Derived from the prefix, so that instances on their own prefixes get their own
	 * control topics: $CONTROL/ringcentral/v1, $CONTROL/ringcentral/sales/v1, ... */
	if (c->control_topic == NULL && asprintf(&c->control_topic, "$CONTROL/%s/v1", c->topic_prefix) < 0) {
		c->control_topic = NULL;
		return config__fail(p, "control_topic", "out of memory");
	}
	if (asprintf(&c->control_response_topic, "%s/response", c->control_topic) < 0) {
		c->control_response_topic = NULL;
		return config__fail(p, "control_topic", "out of memory");
	}
	return 0;
}

int rc_config_parse(struct rc_config *cfg, const struct rc_option *opts, int count,
		rc_config_warn_fn warn, void *userdata, char *err, size_t errlen)
{
	return rc_config_parse_at(cfg, opts, count, warn, userdata, err, errlen, NULL);
}

int rc_config_parse_at(struct rc_config *cfg, const struct rc_option *opts, int count,
		rc_config_warn_fn warn, void *userdata, char *err, size_t errlen, int *bad_option)
{
	struct config_parser p = { cfg, warn, userdata, err, errlen, 0, 0 };
	int rc = 0;
	int bad = -1;

	*cfg = (struct rc_config){0};
	config__defaults(cfg);
	for (int i = 0; i < count && rc == 0; i++) {
		const char *key = opts[i].key != NULL ? opts[i].key : "";
		const char *raw = opts[i].value != NULL ? opts[i].value : "";
		/* The broker keeps trailing blanks: nobody means them. */
		size_t len = strlen(raw);
		while (len > 0 && isspace((unsigned char)raw[len - 1]))
			len--;
		char *value = strndup(raw, len);
		if (value == NULL)
			rc = config__fail(&p, key, "out of memory");
		else if (len == 0)
			rc = config__fail(&p, key, "empty value");
		else
			rc = config__option(&p, key, value);
		if (value != NULL) {
			OPENSSL_cleanse(value, len);
			free(value);
		}
		if (rc != 0)
			bad = i;
	}
	if (rc == 0)
		rc = config__default_strings(&p);
	if (rc == 0)
		rc = config__check_whole(&p);
	if (rc != 0)
		rc_config_free(cfg);
	if (bad_option != NULL)
		*bad_option = bad;
	return rc;
}
