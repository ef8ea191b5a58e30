/* ha_state.c - extension names and current presence over REST for Home Assistant (see
 * rc_ha_state.h).
 *
 * Why a presence read waits for a subscription: what changes between the read and the
 * subscription's start would be missed for good, whereas what changes after the
 * subscription started arrives as a notification, and one that is published after the
 * read was asked for wins over the read (the `seen` count), since RingCentral's answer
 * carries no sequence number to compare. Why per-epoch bookkeeping rather than a queue: a
 * new subscription makes every earlier read worthless, and an epoch number says so in one
 * increment. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "rc_ha_state.h"
#include "rc_json.h"

#define HA_PATH "/restapi/v1.0/account/~/extension/"

struct ha_ext {
	char *id;
	bool covered;                 /* in the last covered set */
	char *presence_event;         /* NULL: no presence filter covers it now */
	bool detailed;
	bool waits_subscription;      /* joined after the last subscribed(): read after the next */

	char *name, *number;          /* learned from its info */
	bool info_known, info_busy, info_logged;
	unsigned info_failures;
	int64_t info_at;              /* no lookup before */

	unsigned pres_epoch;          /* the epoch its presence was read (or given up) in */
	bool pres_busy, pres_logged;
	unsigned pres_failures;
	int64_t pres_at;
	uint64_t seen;                /* presence notifications published for it */
};

/* One call in the door; freed by its completion. */
struct ha_call {
	struct rc_ha_state *st;
	char *id;
	bool presence;
	unsigned epoch;
	uint64_t seen;                /* ext->seen when submitted */
};

struct rc_ha_state {
	struct rc_ha_state_env env;
	struct ha_ext *ext;
	size_t n;
	unsigned epoch;               /* subscriptions adopted (0: none yet) */
	unsigned calls;               /* of ours in the door */
	bool rediscover;
	bool stopping;
	int64_t now;                  /* the latest clock reading handed in */
	char *owner_id;
};

struct rc_ha_state *rc_ha_state_new(const struct rc_ha_state_env *env)
{
	struct rc_ha_state *st = calloc(1, sizeof(*st));

	if (st != NULL)
		st->env = *env;
	return st;
}

static void ha_ext_free(struct ha_ext *e)
{
	free(e->id);
	free(e->presence_event);
	free(e->name);
	free(e->number);
}

void rc_ha_state_free(struct rc_ha_state *st)
{
	if (st == NULL)
		return;
	for (size_t i = 0; i < st->n; i++)
		ha_ext_free(&st->ext[i]);
	free(st->ext);
	free(st->owner_id);
	free(st);
}

void rc_ha_state_stop(struct rc_ha_state *st)
{
	st->stopping = true;
}

static void ha_log(struct rc_ha_state *st, enum rc_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void ha_log(struct rc_ha_state *st, enum rc_log_level level, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (st->env.log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	st->env.log(st->env.arg, level, line);
}

static struct ha_ext *ha_find(struct rc_ha_state *st, const char *id, size_t len)
{
	for (size_t i = 0; i < st->n; i++)
		if (strlen(st->ext[i].id) == len && memcmp(st->ext[i].id, id, len) == 0)
			return &st->ext[i];
	return NULL;
}

static int ha_set(char **dst, const char *src)
{
	char *c = NULL;

	if (src != NULL && (c = strdup(src)) == NULL)
		return -1;
	free(*dst);
	*dst = c;
	return 0;
}

int rc_ha_state_covered(struct rc_ha_state *st, struct rc_ha_extension *exts, size_t n,
		const char *owner_id, int64_t now)
{
	int rc = 0;

	st->now = now;
	if (owner_id != NULL && (st->owner_id == NULL || strcmp(st->owner_id, owner_id) != 0) &&
			ha_set(&st->owner_id, owner_id) != 0)
		rc = -1;
	for (size_t i = 0; i < st->n; i++)
		st->ext[i].covered = false;
	for (size_t i = 0; i < n; i++) {
		struct ha_ext *e = ha_find(st, exts[i].id, strlen(exts[i].id));
		if (e == NULL) {
			struct ha_ext *more = realloc(st->ext, (st->n + 1) * sizeof(*more));
			if (more == NULL) {
				rc = -1;
				continue;
			}
			st->ext = more;
			e = &st->ext[st->n];
			*e = (struct ha_ext){ .id = strdup(exts[i].id), .waits_subscription = true };
			if (e->id == NULL) {
				rc = -1;
				continue;
			}
			st->n++;
		}
		e->covered = true;
		/* A presence filter that is new for it: read once the subscription carries it. */
		if (exts[i].presence_event != NULL && e->presence_event == NULL)
			e->waits_subscription = true;
		if ((exts[i].presence_event == NULL) != (e->presence_event == NULL) ||
				(e->presence_event != NULL && strcmp(e->presence_event, exts[i].presence_event) != 0)) {
			if (ha_set(&e->presence_event, exts[i].presence_event) != 0)
				rc = -1;
		}
		e->detailed = exts[i].detailed;
		if ((e->name != NULL && exts[i].name == NULL && ha_set(&exts[i].name, e->name) != 0) ||
				(e->number != NULL && exts[i].number == NULL &&
				 ha_set(&exts[i].number, e->number) != 0))
			rc = -1;
	}
	return rc;
}

void rc_ha_state_subscribed(struct rc_ha_state *st, bool new_subscription, int64_t now)
{
	/* The first subscription follows the login (and the first lookups) within moments:
	 * only a later one retries failed lookups early. */
	bool again = new_subscription && st->epoch > 0;

	st->now = now;
	if (new_subscription || st->epoch == 0)
		st->epoch++;
	for (size_t i = 0; i < st->n; i++) {
		struct ha_ext *e = &st->ext[i];
		e->waits_subscription = false;
		if (!new_subscription)
			continue;
		e->pres_failures = 0;
		e->pres_at = 0;
		if (again && !e->info_known && !e->info_busy) {
			e->info_at = 0;   /* a failed lookup is tried again now */
			e->info_failures = 0;
		}
	}
}

void rc_ha_state_seen(struct rc_ha_state *st, const char *event, size_t len)
{
	static const char api[] = "/restapi/v1.0/account/";
	const char *end = event + len, *p;

	if (st->n == 0 || len <= sizeof(api) - 1 || memcmp(event, api, sizeof(api) - 1) != 0)
		return;
	p = memchr(event + sizeof(api) - 1, '/', (size_t)(end - event) - (sizeof(api) - 1));
	if (p == NULL || (size_t)(end - p) < 11 || memcmp(p, "/extension/", 11) != 0)
		return;
	const char *id = p + 11;
	const char *slash = memchr(id, '/', (size_t)(end - id));
	if (slash == NULL || (size_t)(end - slash) < 9 || memcmp(slash, "/presence", 9) != 0 ||
			(slash + 9 != end && slash[9] != '?'))
		return;
	struct ha_ext *e = ha_find(st, id, (size_t)(slash - id));
	if (e != NULL)
		e->seen++;
}

/* ---------------------------------------------------------------- calls */

static int64_t ha_backoff(unsigned failures, int64_t base, int64_t max)
{
	int64_t d = base;

	for (unsigned i = 1; i < failures && d < max; i++)
		d *= 2;
	return d < max ? d : max;
}

/* A failure (no answer, or an HTTP error): why, printable and free of secrets. */
static void ha_describe(long status, const char *error, char *buf, size_t len)
{
	if (error != NULL)
		snprintf(buf, len, "%s", error);
	else
		snprintf(buf, len, "HTTP %ld", status);
}

static void ha_info_done(struct rc_ha_state *st, struct ha_ext *e, long status,
		const char *body, size_t len, const char *error)
{
	char *name = NULL, *number = NULL;
	char why[160];

	e->info_busy = false;
	if (error == NULL && status >= 200 && status < 300 &&
			rc_ha_extension_info(body, len, &name, &number) == 0) {
		bool changed = (name == NULL) != (e->name == NULL) ||
				(name != NULL && strcmp(name, e->name) != 0) ||
				(number == NULL) != (e->number == NULL) ||
				(number != NULL && strcmp(number, e->number) != 0);
		free(e->name);
		free(e->number);
		e->name = name;
		e->number = number;
		e->info_known = true;
		e->info_failures = 0;
		e->info_logged = false;
		st->rediscover = st->rediscover || changed;
		return;
	}
	if (error == NULL && status >= 200 && status < 300)
		snprintf(why, sizeof(why), "unreadable answer");
	else
		ha_describe(status, error, why, sizeof(why));
	e->info_failures++;
	e->info_at = st->now + ha_backoff(e->info_failures, RC_HA_INFO_RETRY_MS, RC_HA_INFO_RETRY_MAX_MS);
	if (!e->info_logged && !st->stopping)
		ha_log(st, RC_LOG_WARNING, "Home Assistant: cannot read extension %s's name (%s); "
				"keeping \"Extension %s\", trying again later", e->id, why,
				e->number != NULL ? e->number : e->id);
	e->info_logged = e->info_logged || !st->stopping;
}

static void ha_presence_done(struct rc_ha_state *st, struct ha_ext *e, const struct ha_call *c,
		long status, const char *body, size_t len, const char *error)
{
	char why[160];

	e->pres_busy = false;
	if (error == NULL && status >= 200 && status < 300) {
		e->pres_epoch = c->epoch;
		e->pres_failures = 0;
		e->pres_logged = false;
		if (e->seen != c->seen) {
			ha_log(st, RC_LOG_INFO, "Home Assistant: presence of extension %s read over REST "
					"not published: a newer notification came first", e->id);
			return;
		}
		if (!e->covered || e->presence_event == NULL)
			return;
		char uuid[40], ts[40];
		const char *bad = NULL;
		st->env.uuid(st->env.arg, uuid, sizeof(uuid));
		st->env.timestamp(st->env.arg, ts, sizeof(ts));
		json_object *n = rc_ha_presence_notification(body, len, e->id, e->presence_event,
				st->owner_id, uuid, ts, e->detailed, &bad);
		if (n == NULL) {
			ha_log(st, RC_LOG_WARNING, "Home Assistant: presence of extension %s read over "
					"REST: %s", e->id, bad != NULL ? bad : "out of memory");
			return;
		}
		st->env.publish(st->env.arg, n, st->now);
		json_object_put(n);
		return;
	}
	ha_describe(status, error, why, sizeof(why));
	/* A client error will not go away by asking again in this epoch. */
	bool again = error != NULL || status == 429 || status >= 500 || status == 0;
	e->pres_failures++;
	if (again)
		e->pres_at = st->now + ha_backoff(e->pres_failures, RC_HA_PRESENCE_RETRY_MS,
				RC_HA_PRESENCE_RETRY_MAX_MS);
	else
		e->pres_epoch = c->epoch;
	if (!e->pres_logged && !st->stopping)
		ha_log(st, RC_LOG_WARNING, "Home Assistant: cannot read extension %s's presence (%s)%s",
				e->id, why, again ? "; trying again later" : "");
	e->pres_logged = e->pres_logged || !st->stopping;
}

static void ha_done(void *arg, long status, const char *body, size_t len, const char *error)
{
	struct ha_call *c = arg;
	struct rc_ha_state *st = c->st;
	struct ha_ext *e = ha_find(st, c->id, strlen(c->id));

	st->calls--;
	if (e != NULL && c->presence)
		ha_presence_done(st, e, c, status, body, len, error);
	else if (e != NULL)
		ha_info_done(st, e, status, body, len, error);
	free(c->id);
	free(c);
}

static bool ha_submit(struct rc_ha_state *st, struct ha_ext *e, bool presence, int64_t now)
{
	char path[300];
	struct ha_call *c = calloc(1, sizeof(*c));

	if (presence)
		snprintf(path, sizeof(path), HA_PATH "%s/presence%s", e->id,
				e->detailed ? "?detailedTelephonyState=true" : "");
	else
		snprintf(path, sizeof(path), HA_PATH "%s", e->id);
	char *id = strdup(e->id);

	if (c == NULL || id == NULL) {
		free(c);
		free(id);
		return false;
	}
	*c = (struct ha_call){ .st = st, .id = id, .presence = presence, .epoch = st->epoch,
			.seen = e->seen };
	if (st->env.submit(st->env.arg, "GET", path, now, ha_done, c) != 0) {
		free(c->id);
		free(c);
		return false;   /* the door is full: the next step tries again */
	}
	st->calls++;
	if (presence)
		e->pres_busy = true;
	else
		e->info_busy = true;
	return true;
}

static void ha_wake(int64_t *wake_at, int64_t at)
{
	if (at < *wake_at)
		*wake_at = at;
}

void rc_ha_state_step(struct rc_ha_state *st, int64_t now, int64_t *wake_at)
{
	st->now = now;
	for (size_t i = 0; i < st->n && !st->stopping; i++) {
		struct ha_ext *e = &st->ext[i];
		if (!e->covered)
			continue;
		/* Presence first: it is what Home Assistant shows wrong until it is read. */
		if (e->presence_event != NULL && st->epoch > 0 && !e->waits_subscription &&
				e->pres_epoch != st->epoch && !e->pres_busy) {
			if (now < e->pres_at)
				ha_wake(wake_at, e->pres_at);
			else if (st->calls < RC_HA_MAX_CALLS)
				ha_submit(st, e, true, now);
		}
		if (!e->info_known && !e->info_busy) {
			if (now < e->info_at)
				ha_wake(wake_at, e->info_at);
			else if (st->calls < RC_HA_MAX_CALLS)
				ha_submit(st, e, false, now);
		}
	}
	if (st->rediscover && !st->stopping) {
		st->rediscover = false;
		st->env.rediscover(st->env.arg);
	}
}

/* ---------------------------------------------------------------- pure mappings */

static json_object *ha_parse_object(const char *body, size_t len)
{
	json_object *o = NULL;

	if (body == NULL || rc_json_parse(body, len, &o) != RC_JSON_OK)
		return NULL;
	if (!json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static const char *ha_string(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string) ||
			json_object_get_string_len(v) == 0)
		return NULL;
	return json_object_get_string(v);
}

int rc_ha_extension_info(const char *body, size_t len, char **name, char **number)
{
	json_object *o = ha_parse_object(body, len), *contact;
	int rc = 0;

	*name = *number = NULL;
	if (o == NULL)
		return -1;
	const char *n = ha_string(o, "name"), *num = ha_string(o, "extensionNumber");
	if (n != NULL) {
		*name = strdup(n);
		rc = *name != NULL ? 0 : -1;
	} else if (json_object_object_get_ex(o, "contact", &contact)) {
		const char *first = ha_string(contact, "firstName"), *last = ha_string(contact, "lastName");
		if ((first != NULL || last != NULL) && asprintf(name, "%s%s%s", first ? first : "",
				first && last ? " " : "", last ? last : "") < 0) {
			*name = NULL;
			rc = -1;
		}
	}
	if (rc == 0 && num != NULL && (*number = strdup(num)) == NULL)
		rc = -1;
	json_object_put(o);
	if (rc != 0) {
		free(*name);
		*name = NULL;
	}
	return rc;
}

/* Copies key from src to dst if it has one of the JSON type t (a new reference). */
static bool ha_copy(json_object *dst, json_object *src, const char *key, json_type t)
{
	json_object *v;

	if (!json_object_object_get_ex(src, key, &v) || !json_object_is_type(v, t))
		return true;
	return json_object_object_add(dst, key, json_object_get(v)) == 0;
}

/* The active calls as a notification carries them (ActiveCallInfoWithoutSIP). */
static json_object *ha_calls(json_object *calls)
{
	json_object *out = json_object_new_array();
	size_t n = json_object_array_length(calls);

	for (size_t i = 0; out != NULL && i < n; i++) {
		json_object *c = json_object_array_get_idx(calls, i), *copy;
		if (!json_object_is_type(c, json_type_object))
			continue;
		if ((copy = json_object_new_object()) == NULL) {
			json_object_put(out);
			return NULL;
		}
		json_object_object_foreach(c, key, val) {
			if (strcmp(key, "sipData") != 0 &&
					json_object_object_add(copy, key, json_object_get(val)) != 0)
				goto fail;
		}
		if (json_object_array_add(out, copy) != 0)
			goto fail;
		continue;
fail:
		json_object_put(copy);
		json_object_put(out);
		return NULL;
	}
	return out;
}

json_object *rc_ha_presence_notification(const char *body, size_t len, const char *ext_id,
		const char *event, const char *owner_id, const char *uuid, const char *timestamp,
		bool detailed, const char **why)
{
	json_object *a = ha_parse_object(body, len), *b = NULL, *env = NULL, *ext, *id, *calls;
	bool ok;
	char num[32];

	*why = NULL;
	if (a == NULL) {
		*why = "the answer is not a JSON object";
		return NULL;
	}
	b = json_object_new_object();
	env = json_object_new_object();
	ok = b != NULL && env != NULL;
	/* extensionId: a string in notifications, a number or a string in the answer. */
	const char *eid = ext_id;
	if (json_object_object_get_ex(a, "extension", &ext) && json_object_is_type(ext, json_type_object) &&
			json_object_object_get_ex(ext, "id", &id)) {
		if (json_object_is_type(id, json_type_int)) {
			snprintf(num, sizeof(num), "%lld", (long long)json_object_get_int64(id));
			eid = num;
		} else if (json_object_is_type(id, json_type_string) && json_object_get_string_len(id) > 0) {
			eid = json_object_get_string(id);
		}
	}
	/* In the order RingCentral's event body lists them. */
	ok = ok && json_object_object_add(b, "extensionId", json_object_new_string(eid)) == 0;
	ok = ok && ha_copy(b, a, "telephonyStatus", json_type_string);
	if (ok && detailed && json_object_object_get_ex(a, "activeCalls", &calls) &&
			json_object_is_type(calls, json_type_array)) {
		json_object *c = ha_calls(calls);
		size_t n = c != NULL ? json_object_array_length(c) : 0;
		ok = c != NULL && json_object_object_add(b, "activeCalls", c) == 0;
		ok = ok && json_object_object_add(b, "totalActiveCalls", json_object_new_int((int)n)) == 0;
	}
	ok = ok && ha_copy(b, a, "presenceStatus", json_type_string) &&
			ha_copy(b, a, "userStatus", json_type_string) &&
			ha_copy(b, a, "meetingStatus", json_type_string) &&
			ha_copy(b, a, "dndStatus", json_type_string) &&
			ha_copy(b, a, "allowSeeMyPresence", json_type_boolean) &&
			ha_copy(b, a, "ringOnMonitoredCall", json_type_boolean) &&
			ha_copy(b, a, "pickUpCallsOnHold", json_type_boolean);
	if (ok && owner_id != NULL)
		ok = json_object_object_add(b, "ownerId", json_object_new_string(owner_id)) == 0;
	ok = ok && json_object_object_add(env, "uuid", json_object_new_string(uuid)) == 0 &&
			json_object_object_add(env, "event", json_object_new_string(event)) == 0 &&
			json_object_object_add(env, "timestamp", json_object_new_string(timestamp)) == 0;
	if (ok && owner_id != NULL)
		ok = json_object_object_add(env, "ownerId", json_object_new_string(owner_id)) == 0;
	if (ok) {
		ok = json_object_object_add(env, "body", b) == 0;
		if (ok)
			b = NULL;
	}
	json_object_put(a);
	json_object_put(b);
	if (!ok) {
		json_object_put(env);
		return NULL;
	}
	return env;
}
