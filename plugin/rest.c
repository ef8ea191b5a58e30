/* rest.c - RingCentral REST bodies: OAuth tokens, subscriptions, API errors (see rc_rest.h).
 *
 * Answers are parsed strictly where the lifecycle depends on them (a subscription without
 * an id or a parseable expirationTime is useless, so it is an error, not a default) and
 * leniently where they are only reported (error bodies never fail). Secrets (tokens, the
 * encryption key) are wiped from our copies and from json-c's before the memory is freed,
 * so a later heap dump or use-after-free elsewhere cannot leak them. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <curl/curl.h>
#include <json-c/json.h>
#include <openssl/crypto.h>
#include "rc_config.h"
#include "rc_http.h"
#include "rc_json.h"
#include "rc_logsafe.h"
#include "rc_rest.h"
#include "rc_strlist.h"

/* ---- helpers ---- */

/* Exactly one JSON value in buf; only whitespace may follow. NULL if not. */
static json_object *rest__parse(const char *buf, size_t len)
{
	json_object *root;

	return rc_json_parse(buf, len, &root) == RC_JSON_OK ? root : NULL;
}

/* The string member key of obj, or NULL if absent or not a string. Borrowed. */
static const char *rest__str(json_object *obj, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* Heap copy of the string member key (NULL if absent); *fail set on out-of-memory. */
static char *rest__dup(json_object *obj, const char *key, bool *fail)
{
	const char *s = rest__str(obj, key);
	char *d = s ? strdup(s) : NULL;

	if (s && !d)
		*fail = true;
	return d;
}

/* A lifetime in seconds the server states (expires_in, refresh_token_expires_in,
 * expiresIn): a JSON number, clamped to [RC_LIFETIME_MIN_S, RC_LIFETIME_MAX_S] so that the
 * millisecond arithmetic downstream never overflows (a huge value made the token look
 * expired at once) and a fraction of a second is not taken for "no lifetime". False if
 * absent, not a number, zero or negative. */
static bool rest__lifetime(json_object *obj, const char *key, long *out)
{
	json_object *v;

	if (!json_object_object_get_ex(obj, key, &v))
		return false;
	if (json_object_is_type(v, json_type_int)) {
		/* json-c saturates integers beyond int64 at INT64_MAX. */
		int64_t i = json_object_get_int64(v);
		if (i <= 0)
			return false;
		*out = i > RC_LIFETIME_MAX_S ? RC_LIFETIME_MAX_S : (long)i;
		return true;
	}
	if (json_object_is_type(v, json_type_double)) {
		double d = json_object_get_double(v);
		if (!(d > 0))   /* also NaN */
			return false;
		*out = d < RC_LIFETIME_MIN_S ? RC_LIFETIME_MIN_S :
				d > RC_LIFETIME_MAX_S ? RC_LIFETIME_MAX_S : (long)d;
		return true;
	}
	return false;   /* strings, booleans, objects: not a lifetime */
}

long rc_subscription_lifetime(const struct rc_subscription *s, int64_t now_ms)
{
	if (s->expires_in > 0)
		return s->expires_in;   /* already clamped by the parser */
	/* Both are within years 0000..9999 (rc_iso8601_to_ms), so the difference cannot
	 * overflow; the quotient is then clamped like any stated lifetime. */
	int64_t left = (s->expiration_ms - now_ms) / 1000;
	return left < RC_LIFETIME_MIN_S ? RC_LIFETIME_MIN_S :
			left > RC_LIFETIME_MAX_S ? RC_LIFETIME_MAX_S : (long)left;
}

/* Overwrites a string held by json-c. json-c owns that buffer and it is writable heap
 * memory; the const on its getter is about ownership, not storage. */
static void rest__wipe_json_string(json_object *obj, const char *key)
{
	json_object *v;

	if (obj && json_object_object_get_ex(obj, key, &v) &&
	    json_object_is_type(v, json_type_string))
		OPENSSL_cleanse((char *)json_object_get_string(v), (size_t)json_object_get_string_len(v));
}

static void rest__free_secret(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

/* Form values are percent-encoded with rc_url_escape(); released with rest__free_escaped(). */
static void rest__free_escaped(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		curl_free(s);
	}
}

/* ---- OAuth ---- */

int rc_token_parse(const char *json, size_t len, struct rc_token *t)
{
	json_object *root = rest__parse(json, len);
	long expires_in = 0, rt_expires_in = 0;
	bool fail = false;

	memset(t, 0, sizeof(*t));
	if (!root)
		return -1;
	if (!json_object_is_type(root, json_type_object))
		goto bad;
	const char *access = rest__str(root, "access_token");
	if (!access || !*access || !rest__lifetime(root, "expires_in", &expires_in))
		goto bad;
	t->access_token = rest__dup(root, "access_token", &fail);
	const char *refresh = rest__str(root, "refresh_token");
	if (refresh && *refresh)
		t->refresh_token = rest__dup(root, "refresh_token", &fail);
	t->expires_in = expires_in;
	/* A string in RingCentral's answers; a number is taken too (json-c prints it). */
	json_object *owner;
	if (json_object_object_get_ex(root, "owner_id", &owner) &&
			(json_object_is_type(owner, json_type_string) || json_object_is_type(owner, json_type_int)) &&
			(t->owner_id = strdup(json_object_get_string(owner))) == NULL)
		fail = true;
	if (rest__lifetime(root, "refresh_token_expires_in", &rt_expires_in))
		t->refresh_token_expires_in = rt_expires_in;
	if (fail)
		goto bad;
	rest__wipe_json_string(root, "access_token");
	rest__wipe_json_string(root, "refresh_token");
	json_object_put(root);
	return 0;
bad:
	rest__wipe_json_string(root, "access_token");
	rest__wipe_json_string(root, "refresh_token");
	json_object_put(root);
	rc_token_clear(t);
	return -1;
}

int rc_wstoken_parse(const char *json, size_t len, struct rc_wstoken *t, char *why,
		size_t why_len)
{
	json_object *root = rest__parse(json, len);
	long expires_in = 0;
	bool fail = false;
	char shown[RC_LOGSAFE_BUF];
	char dummy[64]; /* the reason, when the caller does not want it */

	if (why == NULL || why_len == 0) {
		why = dummy;
		why_len = sizeof(dummy);
	}
	memset(t, 0, sizeof(*t));
	snprintf(why, why_len, "unreadable wstoken answer");
	if (!root)
		return -1;
	const char *token = json_object_is_type(root, json_type_object) ?
			rest__str(root, "ws_access_token") : NULL;
	const char *uri = token ? rest__str(root, "uri") : NULL;
	/* The server names the gateway; ws:// would carry the token in the clear, so it gets
	 * the rule a configured http:// URL gets: loopback only. */
	const char *problem = uri ? rc_config_ws_url_problem(uri) : NULL;
	if (!token || !*token || !uri || problem) {
		if (problem)
			snprintf(why, why_len, "wstoken answer refused: gateway uri '%s' %s",
					rc_logsafe_str(shown, sizeof(shown), uri), problem);
		rest__wipe_json_string(root, "ws_access_token");
		json_object_put(root);
		return -1;
	}
	t->ws_access_token = rest__dup(root, "ws_access_token", &fail);
	t->uri = rest__dup(root, "uri", &fail);
	if (rest__lifetime(root, "expires_in", &expires_in))
		t->expires_in = expires_in;
	rest__wipe_json_string(root, "ws_access_token");
	json_object_put(root);
	if (fail) {
		rc_wstoken_clear(t);
		snprintf(why, why_len, "out of memory");
		return -1;
	}
	why[0] = '\0';
	return 0;
}


void rc_wstoken_clear(struct rc_wstoken *t)
{
	if (!t)
		return;
	rest__free_secret(t->ws_access_token);
	free(t->uri);
	memset(t, 0, sizeof(*t));
}

void rc_token_clear(struct rc_token *t)
{
	if (!t)
		return;
	rest__free_secret(t->access_token);
	rest__free_secret(t->refresh_token);
	free(t->owner_id);
	memset(t, 0, sizeof(*t));
}

/* Builds "<head><escaped v1>[<sep2><escaped v2>][<sep3><escaped v3>]"; a NULL separator
 * ends the list. Every piece is wiped after use since the values are credentials. */
static char *rest__form(const char *head, const char *v1, const char *sep2, const char *v2,
		const char *sep3, const char *v3)
{
	char *e1 = rc_url_escape(v1);
	char *e2 = sep2 ? rc_url_escape(v2) : NULL;
	char *e3 = sep3 ? rc_url_escape(v3) : NULL;
	char *body = NULL;

	if (e1 && (!sep2 || e2) && (!sep3 || e3)) {
		if (asprintf(&body, "%s%s%s%s%s%s", head, e1, sep2 ? sep2 : "", e2 ? e2 : "",
				sep3 ? sep3 : "", e3 ? e3 : "") < 0)
			body = NULL;
	}
	rest__free_escaped(e1);
	rest__free_escaped(e2);
	rest__free_escaped(e3);
	return body;
}

char *rc_token_body_jwt(const char *jwt)
{
	if (!jwt || !*jwt)
		return NULL;
	return rest__form("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"
		"&assertion=", jwt, NULL, NULL, NULL, NULL);
}

char *rc_token_body_password(const char *username, const char *extension, const char *password)
{
	if (!username || !*username || !password)
		return NULL;
	if (extension && *extension)
		return rest__form("grant_type=password&username=", username,
			"&password=", password, "&extension=", extension);
	return rest__form("grant_type=password&username=", username, "&password=", password,
		NULL, NULL);
}

char *rc_token_body_refresh(const char *refresh_token)
{
	if (!refresh_token || !*refresh_token)
		return NULL;
	return rest__form("grant_type=refresh_token&refresh_token=", refresh_token,
		NULL, NULL, NULL, NULL);
}

/* ---- Subscriptions ---- */

/* Fills s from a subscription object. On failure s is left for the caller to clear. */
static int rest__subscription_from(json_object *obj, struct rc_subscription *s)
{
	json_object *filters, *disabled, *dm, *v;
	bool fail = false;
	long expires_in;

	if (!json_object_is_type(obj, json_type_object))
		return -1;
	const char *id = rest__str(obj, "id");
	const char *exp = rest__str(obj, "expirationTime");
	if (!id || !*id || !exp || rc_iso8601_to_ms(exp, &s->expiration_ms) != 0)
		return -1;
	s->id = rest__dup(obj, "id", &fail);
	s->expiration_time = rest__dup(obj, "expirationTime", &fail);
	const char *created = rest__str(obj, "creationTime");
	if (created == NULL || rc_iso8601_to_ms(created, &s->creation_ms) != 0)
		s->creation_ms = 0; /* optional: only used to close the first-poll gap */
	s->status = rest__dup(obj, "status", &fail);
	if (rest__lifetime(obj, "expiresIn", &expires_in))
		s->expires_in = expires_in;

	if (!json_object_object_get_ex(obj, "eventFilters", &filters) ||
	    rc_json_read_strings(filters, &s->event_filters, &s->n_event_filters) != 0)
		return -1;

	/* Optional: entries that are not {filter: string, ...} are malformed answers. */
	if (json_object_object_get_ex(obj, "disabledFilters", &disabled) &&
	    json_object_is_type(disabled, json_type_array) &&
	    json_object_array_length(disabled) > 0) {
		size_t nd = json_object_array_length(disabled);
		s->disabled = calloc(nd, sizeof(*s->disabled));
		if (!s->disabled)
			return -1;
		for (size_t i = 0; i < nd; i++) {
			v = json_object_array_get_idx(disabled, i);
			if (!json_object_is_type(v, json_type_object) || !rest__str(v, "filter"))
				return -1;
			s->disabled[i].filter = rest__dup(v, "filter", &fail);
			s->disabled[i].reason = rest__dup(v, "reason", &fail);
			s->n_disabled = i + 1;
		}
	}

	if (json_object_object_get_ex(obj, "deliveryMode", &dm) &&
	    json_object_is_type(dm, json_type_object)) {
		s->transport_type = rest__dup(dm, "transportType", &fail);
		s->address = rest__dup(dm, "address", &fail);
		s->subscriber_key = rest__dup(dm, "subscriberKey", &fail);
		s->encryption_key = rest__dup(dm, "encryptionKey", &fail);
		if (json_object_object_get_ex(dm, "encryption", &v) &&
		    json_object_is_type(v, json_type_boolean))
			s->encryption = json_object_get_boolean(v);
	}
	return fail ? -1 : 0;
}

static void rest__wipe_subscription_json(json_object *obj)
{
	json_object *dm;

	if (json_object_is_type(obj, json_type_object) &&
	    json_object_object_get_ex(obj, "deliveryMode", &dm))
		rest__wipe_json_string(dm, "encryptionKey");
}

int rc_subscription_parse(const char *json, size_t len, struct rc_subscription *s)
{
	json_object *root = rest__parse(json, len);
	int rc;

	memset(s, 0, sizeof(*s));
	if (!root)
		return -1;
	rc = rest__subscription_from(root, s);
	rest__wipe_subscription_json(root);
	json_object_put(root);
	if (rc != 0)
		rc_subscription_clear(s);
	return rc;
}

void rc_subscription_clear(struct rc_subscription *s)
{
	if (!s)
		return;
	free(s->id);
	free(s->status);
	free(s->expiration_time);
	rc_strlist_free(s->event_filters);
	for (size_t i = 0; i < s->n_disabled; i++) {
		free(s->disabled[i].filter);
		free(s->disabled[i].reason);
	}
	free(s->disabled);
	free(s->transport_type);
	free(s->address);
	free(s->subscriber_key);
	rest__free_secret(s->encryption_key);
	memset(s, 0, sizeof(*s));
}

/* Serialises and frees obj. Slashes are left unescaped: filters are paths. */
static char *rest__to_string(json_object *obj)
{
	const char *text = json_object_to_json_string_ext(obj,
		JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	char *out = text ? strdup(text) : NULL;

	json_object_put(obj);
	return out;
}

/* Adds val to obj under key, taking ownership of val even on failure. */
static bool rest__add(json_object *obj, const char *key, json_object *val)
{
	if (!val)
		return false;
	if (json_object_object_add(obj, key, val) != 0) {
		json_object_put(val);
		return false;
	}
	return true;
}

char *rc_subscription_create_body(char *const *filters, size_t n, long expires_in,
		const char *transport_type)
{
	if (!filters || n == 0)
		return NULL;
	const char *transport = transport_type && *transport_type ? transport_type : "PubNub";
	json_object *body = json_object_new_object();
	json_object *dm = json_object_new_object();
	bool ok = body && dm;

	ok = ok && rest__add(body, "eventFilters", rc_json_strings(filters, n));
	if (ok && expires_in > 0)
		ok = rest__add(body, "expiresIn", json_object_new_int64(expires_in));
	ok = ok && rest__add(dm, "transportType", json_object_new_string(transport));
	/* WebSocket subscriptions are requested without the flag (as RingCentral's own SDK
	 * does): the socket is private to this session, there is no shared channel to protect. */
	if (ok && strcmp(transport, "WebSocket") != 0)
		ok = rest__add(dm, "encryption", json_object_new_boolean(1));
	if (ok) {
		ok = rest__add(body, "deliveryMode", dm);
		dm = NULL;
	}
	json_object_put(dm);
	if (!ok) {
		json_object_put(body);
		return NULL;
	}
	return rest__to_string(body);
}

char *rc_subscription_modify_body(char *const *filters, size_t n, long expires_in)
{
	if (!filters && n > 0)
		return NULL;
	json_object *body = json_object_new_object();
	bool ok = body != NULL;

	/* No filters: {"expiresIn":N} (or {}), which renews without changing the filters. */
	if (ok && n > 0)
		ok = rest__add(body, "eventFilters", rc_json_strings(filters, n));
	if (ok && expires_in > 0)
		ok = rest__add(body, "expiresIn", json_object_new_int64(expires_in));
	if (!ok) {
		json_object_put(body);
		return NULL;
	}
	return rest__to_string(body);
}

int rc_subscription_list_parse(const char *json, size_t len, struct rc_subscription **out,
		size_t *n)
{
	json_object *root = rest__parse(json, len);
	json_object *records;
	struct rc_subscription *subs = NULL;
	size_t count = 0, done = 0;

	*out = NULL;
	*n = 0;
	if (!root)
		return -1;
	if (!json_object_is_type(root, json_type_object) ||
	    !json_object_object_get_ex(root, "records", &records) ||
	    !json_object_is_type(records, json_type_array))
		goto bad;
	count = json_object_array_length(records);
	/* One extra element so an empty list is still a non-NULL heap array. */
	subs = calloc(count + 1, sizeof(*subs));
	if (!subs)
		goto bad;
	for (; done < count; done++) {
		json_object *rec = json_object_array_get_idx(records, done);
		int rc = rest__subscription_from(rec, &subs[done]);
		rest__wipe_subscription_json(rec);
		if (rc != 0) {
			done++;   /* the failed one holds partial data too */
			goto bad;
		}
	}
	json_object_put(root);
	*out = subs;
	*n = count;
	return 0;
bad:
	for (size_t i = 0; i < done; i++)
		rc_subscription_clear(&subs[i]);
	free(subs);
	if (json_object_is_type(root, json_type_object) &&
	    json_object_object_get_ex(root, "records", &records) &&
	    json_object_is_type(records, json_type_array))
		for (size_t i = 0; i < json_object_array_length(records); i++)
			rest__wipe_subscription_json(json_object_array_get_idx(records, i));
	json_object_put(root);
	return -1;
}

/* ---- Errors ---- */

void rc_api_error_parse(const char *json, size_t len, struct rc_api_error *e)
{
	json_object *root = rest__parse(json, len);
	json_object *errors, *first = NULL;
	const char *code = NULL, *message = NULL;

	memset(e, 0, sizeof(*e));
	if (!root)
		return;
	if (json_object_is_type(root, json_type_object)) {
		if (json_object_object_get_ex(root, "errors", &errors) &&
		    json_object_is_type(errors, json_type_array) &&
		    json_object_array_length(errors) > 0) {
			first = json_object_array_get_idx(errors, 0);
			if (!json_object_is_type(first, json_type_object))
				first = NULL;
		}
		code = rest__str(root, "errorCode");
		if (!code && first)
			code = rest__str(first, "errorCode");
		if (!code)
			code = rest__str(root, "error");
		message = rest__str(root, "message");
		if (!message && first)
			message = rest__str(first, "message");
		if (!message)
			message = rest__str(root, "error_description");
	}
	/* Escaped here, once: these texts end up in log lines and the status JSON. */
	if (code)
		rc_logsafe_str(e->code, sizeof(e->code), code);
	if (message)
		rc_logsafe_str(e->message, sizeof(e->message), message);
	json_object_put(root);
}

/* ---- Time ---- */

/* Reads exactly n decimal digits. */
static bool rest__digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		char c = (*p)[i];
		if (c < '0' || c > '9')
			return false;
		v = v * 10 + (c - '0');
	}
	*p += n;
	*out = v;
	return true;
}

static bool rest__expect(const char **p, char c)
{
	if (**p != c)
		return false;
	(*p)++;
	return true;
}

static int rest__days_in_month(int year, int month)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return month == 2 && leap ? 29 : days[month - 1];
}

int rc_iso8601_to_ms(const char *s, int64_t *ms)
{
	int year, mon, day, hour, min, sec, ms_part = 0, off_h = 0, off_m = 0, sign = 0;
	const char *p = s;

	if (!s)
		return -1;
	if (!rest__digits(&p, 4, &year) || !rest__expect(&p, '-') ||
	    !rest__digits(&p, 2, &mon) || !rest__expect(&p, '-') ||
	    !rest__digits(&p, 2, &day) || !rest__expect(&p, 'T') ||
	    !rest__digits(&p, 2, &hour) || !rest__expect(&p, ':') ||
	    !rest__digits(&p, 2, &min) || !rest__expect(&p, ':') ||
	    !rest__digits(&p, 2, &sec))
		return -1;
	if (*p == '.') {
		/* Milliseconds: "5" is 500, "25" is 250; digits past the third are truncated. */
		int digits = 0;
		for (p++; *p >= '0' && *p <= '9'; p++, digits++)
			if (digits < 3)
				ms_part = ms_part * 10 + (*p - '0');
		if (digits == 0)
			return -1;
		for (; digits < 3; digits++)
			ms_part *= 10;
	}
	if (*p == 'Z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p == '-' ? -1 : 1;
		p++;
		if (!rest__digits(&p, 2, &off_h) || !rest__expect(&p, ':') ||
		    !rest__digits(&p, 2, &off_m) || off_h > 23 || off_m > 59)
			return -1;
	} else {
		return -1;   /* no zone: local time would be a guess */
	}
	if (*p != '\0')
		return -1;
	if (mon < 1 || mon > 12 || day < 1 || day > rest__days_in_month(year, mon) ||
	    hour > 23 || min > 59 || sec > 59)
		return -1;

	struct tm tm = {
		.tm_year = year - 1900, .tm_mon = mon - 1, .tm_mday = day,
		.tm_hour = hour, .tm_min = min, .tm_sec = sec,
	};
	time_t t = timegm(&tm);
	/* "+02:00" means local time is two hours ahead of UTC: subtract it. */
	*ms = ((int64_t)t - (int64_t)sign * (off_h * 3600 + off_m * 60)) * 1000 + ms_part;
	return 0;
}

void rc_ms_to_iso8601(int64_t ms, char *buf, size_t len)
{
	int64_t sec = ms / 1000, frac = ms % 1000;
	struct tm tm;
	char date[32];

	if (!buf || len == 0)
		return;
	buf[0] = '\0';
	if (frac < 0) {   /* floor division, so times before 1970 read correctly */
		frac += 1000;
		sec--;
	}
	time_t t = (time_t)sec;
	if (!gmtime_r(&t, &tm) || strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		return;
	snprintf(buf, len, "%s.%03dZ", date, (int)frac);
}
