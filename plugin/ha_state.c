/* ha_state.c - extension names and current presence over REST for Home Assistant (see
 * rc_ha_state.h).
 *
 * Why a presence read waits for a subscription: what changes between the read and the
 * subscription's start would be missed for good, whereas what changes after the
 * subscription started arrives as a notification, and one that is published after the
 * read was asked for wins over the read (the `seen` count), since RingCentral's answer
 * carries no sequence number to compare. Why per-epoch bookkeeping rather than a queue: a
 * new subscription makes every earlier read worthless, and an epoch number says so in one
 * increment. Why the account's extensions are listed only after a subscription: a listed
 * extension's presence is read at once, which is only right once the subscription
 * delivers its notifications (the same rule as for a per-extension filter). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "rc_backoff.h"
#include "rc_ha_state.h"
#include "rc_json.h"

#define HA_PATH "/restapi/v1.0/account/~/extension/"
#define HA_LIST_PATH "/restapi/v1.0/account/~/extension?type=User&status=Enabled&perPage=%d&page=%u"
/* However many pages the server says there are: never more than the bound needs. */
#define HA_LIST_MAX_PAGES (RC_HA_LIST_MAX + 1)

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
	bool list;                    /* a page of the account's extensions (id NULL) */
	unsigned gen;                 /* the listing it belongs to */
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

	/* The account-wide presence filter's extensions. */
	bool account;                 /* such a filter is on */
	struct rc_ha_listed *listed;  /* the last complete listing */
	size_t n_listed;
	char **listed_ids;            /* their ids (borrowed from listed) for rc_ha_state_listed */
	struct rc_ha_listed *acc;     /* the listing under way: the pages so far */
	size_t n_acc;
	unsigned list_page;           /* the next page to ask for; 0: no listing due */
	unsigned list_gen;            /* listings started: an answer of an older one is dropped */
	bool list_busy, list_logged, list_capped;
	unsigned list_failures;
	int64_t list_at;
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
	rc_ha_listed_free(st->listed, st->n_listed);
	rc_ha_listed_free(st->acc, st->n_acc);
	free(st->listed_ids);
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

static const struct rc_ha_listed *ha_listed_find(const struct rc_ha_state *st, const char *id)
{
	for (size_t i = 0; i < st->n_listed; i++)
		if (strcmp(st->listed[i].id, id) == 0)
			return &st->listed[i];
	return NULL;
}

static bool ha_same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* ha_set, unless it holds src already. */
static int ha_set_changed(char **dst, const char *src)
{
	return ha_same(*dst, src) ? 0 : ha_set(dst, src);
}

/* Forgets the listing under way (its pages so far); an answer in flight is dropped. */
static void ha_list_reset(struct rc_ha_state *st)
{
	rc_ha_listed_free(st->acc, st->n_acc);
	st->acc = NULL;
	st->n_acc = 0;
	st->list_gen++;
	st->list_page = 0;
}

void rc_ha_state_account(struct rc_ha_state *st, bool on)
{
	if (on == st->account)
		return;
	st->account = on;
	if (on)
		return;     /* listed at the next subscription, which will carry the filter */
	ha_list_reset(st);
	rc_ha_listed_free(st->listed, st->n_listed);
	free(st->listed_ids);
	st->listed = NULL;
	st->listed_ids = NULL;
	st->n_listed = 0;
	st->list_failures = 0;
	st->list_logged = false;
}

char *const *rc_ha_state_listed(const struct rc_ha_state *st, size_t *n)
{
	*n = st->n_listed;
	return st->listed_ids;
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
		const struct rc_ha_listed *l = ha_listed_find(st, e->id);
		if (l != NULL) {
			/* Listed after the subscription carried the account filter: its presence
			 * arrives already, and the list named it. */
			e->waits_subscription = false;
			if (ha_set_changed(&e->name, l->name) != 0 || ha_set_changed(&e->number, l->number) != 0)
				rc = -1;
			e->info_known = true;
		}
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
	/* The subscription now delivers the account's presence: name its extensions. */
	if (st->account) {
		ha_list_reset(st);
		st->list_page = 1;
		st->list_at = 0;
		st->list_failures = 0;
	}
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

/* A failure (no answer, an HTTP error, or a success answer that could not be read): why,
 * printable and free of secrets. */
static void ha_describe(long status, const char *error, char *buf, size_t len)
{
	if (error != NULL)
		snprintf(buf, len, "%s", error);
	else if (status >= 200 && status < 300)
		snprintf(buf, len, "unreadable answer");
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
	ha_describe(status, error, why, sizeof(why));
	e->info_failures++;
	e->info_at = st->now + rc_backoff_window(RC_HA_INFO_RETRY_MS, RC_HA_INFO_RETRY_MAX_MS,
			e->info_failures);
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
		bool taken = st->env.publish(st->env.arg, n, st->now);
		json_object_put(n);
		if (!taken) {
			/* The outbox was full (a burst): read it again shortly, in this epoch. */
			e->pres_epoch = 0;
			e->pres_at = st->now + RC_HA_PRESENCE_RETRY_MS;
		}
		return;
	}
	ha_describe(status, error, why, sizeof(why));
	/* A client error will not go away by asking again in this epoch. */
	bool again = error != NULL || status == 429 || status >= 500 || status == 0;
	e->pres_failures++;
	if (again)
		e->pres_at = st->now + rc_backoff_window(RC_HA_PRESENCE_RETRY_MS,
				RC_HA_PRESENCE_RETRY_MAX_MS, e->pres_failures);
	else
		e->pres_epoch = c->epoch;
	if (!e->pres_logged && !st->stopping)
		ha_log(st, RC_LOG_WARNING, "Home Assistant: cannot read extension %s's presence (%s)%s",
				e->id, why, again ? "; trying again later" : "");
	e->pres_logged = e->pres_logged || !st->stopping;
}

/* The listing is complete: it replaces the last one; discovery again if it changed. */
static void ha_list_commit(struct rc_ha_state *st)
{
	char **ids = st->n_acc > 0 ? calloc(st->n_acc, sizeof(*ids)) : NULL;
	bool changed = st->n_acc != st->n_listed;

	if (st->n_acc > 0 && ids == NULL)
		return;     /* no memory: the last listing stays, the next subscription lists again */
	for (size_t i = 0; i < st->n_acc; i++) {
		ids[i] = st->acc[i].id;
		const struct rc_ha_listed *l = ha_listed_find(st, st->acc[i].id);
		changed = changed || l == NULL || !ha_same(l->name, st->acc[i].name) ||
				!ha_same(l->number, st->acc[i].number);
	}
	rc_ha_listed_free(st->listed, st->n_listed);
	free(st->listed_ids);
	st->listed = st->acc;
	st->n_listed = st->n_acc;
	st->listed_ids = ids;
	st->acc = NULL;
	st->n_acc = 0;
	st->list_page = 0;
	st->rediscover = st->rediscover || changed;
}

static void ha_list_capped(struct rc_ha_state *st)
{
	if (!st->list_capped)
		ha_log(st, RC_LOG_WARNING, "Home Assistant: the account has more than %d extensions; "
				"only the first %d listed get a device", RC_HA_LIST_MAX, RC_HA_LIST_MAX);
	st->list_capped = true;
}

/* Appends a page's records to the listing under way (each id once, at most RC_HA_LIST_MAX). */
static int ha_list_append(struct rc_ha_state *st, struct rc_ha_listed *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		bool dup = false;
		for (size_t j = 0; j < st->n_acc && !dup; j++)
			dup = strcmp(st->acc[j].id, r[i].id) == 0;
		if (dup)
			continue;
		if (st->n_acc == RC_HA_LIST_MAX) {
			ha_list_capped(st);
			return 0;
		}
		struct rc_ha_listed *more = realloc(st->acc, (st->n_acc + 1) * sizeof(*more));
		if (more == NULL)
			return -1;
		st->acc = more;
		st->acc[st->n_acc++] = r[i];
		r[i] = (struct rc_ha_listed){ NULL, NULL, NULL };   /* moved */
	}
	return 0;
}

static void ha_list_done(struct rc_ha_state *st, const struct ha_call *c, long status,
		const char *body, size_t len, const char *error)
{
	struct rc_ha_listed *r = NULL;
	size_t n = 0;
	bool more = false;
	char why[160];

	st->list_busy = false;
	if (c->gen != st->list_gen || !st->account)
		return;     /* a listing since restarted or turned off */
	if (error == NULL && status >= 200 && status < 300 &&
			rc_ha_extension_page(body, len, &r, &n, &more) == 0) {
		int rc = ha_list_append(st, r, n);
		rc_ha_listed_free(r, n);
		if (rc == 0) {
			st->list_failures = 0;
			st->list_logged = false;
			if (more && st->n_acc < RC_HA_LIST_MAX && st->list_page < HA_LIST_MAX_PAGES) {
				st->list_page++;
				return;
			}
			if (more)
				ha_list_capped(st);    /* the server has more than the bound takes */
			ha_list_commit(st);
			return;
		}
		snprintf(why, sizeof(why), "out of memory");
	} else {
		ha_describe(status, error, why, sizeof(why));
	}
	/* The same page again later; the pages so far are kept. */
	st->list_failures++;
	st->list_at = st->now + rc_backoff_window(RC_HA_LIST_RETRY_MS, RC_HA_LIST_RETRY_MAX_MS,
			st->list_failures);
	if (!st->list_logged && !st->stopping)
		ha_log(st, RC_LOG_WARNING, "Home Assistant: cannot list the account's extensions for "
				"the account-wide presence filter (%s); trying again later", why);
	st->list_logged = st->list_logged || !st->stopping;
}

static void ha_done(void *arg, long status, const char *body, size_t len, const char *error)
{
	struct ha_call *c = arg;
	struct rc_ha_state *st = c->st;
	struct ha_ext *e = c->id != NULL ? ha_find(st, c->id, strlen(c->id)) : NULL;

	st->calls--;
	if (c->list)
		ha_list_done(st, c, status, body, len, error);
	else if (e != NULL && c->presence)
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

static void ha_list_submit(struct rc_ha_state *st, int64_t now)
{
	char path[200];
	struct ha_call *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return;
	snprintf(path, sizeof(path), HA_LIST_PATH, RC_HA_LIST_PER_PAGE, st->list_page);
	*c = (struct ha_call){ .st = st, .list = true, .gen = st->list_gen };
	if (st->env.submit(st->env.arg, "GET", path, now, ha_done, c) != 0) {
		free(c);
		return;     /* the door is full: the next step tries again */
	}
	st->calls++;
	st->list_busy = true;
}

void rc_ha_state_step(struct rc_ha_state *st, int64_t now, int64_t *wake_at)
{
	st->now = now;
	/* The listing first: it decides which devices there are. */
	if (st->account && st->list_page > 0 && !st->list_busy && !st->stopping) {
		if (now < st->list_at)
			ha_wake(wake_at, st->list_at);
		else if (st->calls < RC_HA_MAX_CALLS)
			ha_list_submit(st, now);
	}
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

/* Name and number of an ExtensionInfo object (rc_ha_extension_info). */
static int ha_info_of(json_object *o, char **name, char **number)
{
	json_object *contact;
	int rc = 0;

	*name = *number = NULL;
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
	if (rc != 0) {
		free(*name);
		*name = NULL;
	}
	return rc;
}

int rc_ha_extension_info(const char *body, size_t len, char **name, char **number)
{
	json_object *o = ha_parse_object(body, len);

	*name = *number = NULL;
	if (o == NULL)
		return -1;
	int rc = ha_info_of(o, name, number);
	json_object_put(o);
	return rc;
}

void rc_ha_listed_free(struct rc_ha_listed *r, size_t n)
{
	for (size_t i = 0; r != NULL && i < n; i++) {
		free(r[i].id);
		free(r[i].name);
		free(r[i].number);
	}
	free(r);
}

/* The record's id as the digits event URLs carry, into buf; false if it has none. */
static bool ha_record_id(json_object *rec, char *buf, size_t len)
{
	json_object *id;

	if (!json_object_object_get_ex(rec, "id", &id))
		return false;
	if (json_object_is_type(id, json_type_int)) {
		int64_t v = json_object_get_int64(id);
		if (v <= 0)
			return false;
		snprintf(buf, len, "%lld", (long long)v);
		return true;
	}
	if (!json_object_is_type(id, json_type_string))
		return false;
	const char *s = json_object_get_string(id);
	size_t n = strlen(s);
	if (n == 0 || n >= len || n > 32 || strspn(s, "0123456789") != n)
		return false;
	memcpy(buf, s, n + 1);
	return true;
}

/* A field the query filtered on: absent is fine, another value is not what was asked. */
static bool ha_field_is(json_object *rec, const char *key, const char *want)
{
	json_object *v;

	return !json_object_object_get_ex(rec, key, &v) || !json_object_is_type(v, json_type_string) ||
			strcmp(json_object_get_string(v), want) == 0;
}

static long long ha_int(json_object *o, const char *key, long long dflt)
{
	json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return dflt;
	return (long long)json_object_get_int64(v);
}

int rc_ha_extension_page(const char *body, size_t len, struct rc_ha_listed **records,
		size_t *n, bool *more)
{
	json_object *o = ha_parse_object(body, len), *recs, *nav, *paging, *next;
	struct rc_ha_listed *r = NULL;
	size_t cnt = 0;

	*records = NULL;
	*n = 0;
	*more = false;
	if (o == NULL)
		return -1;
	if (!json_object_object_get_ex(o, "records", &recs) || !json_object_is_type(recs, json_type_array)) {
		json_object_put(o);
		return -1;
	}
	size_t total = json_object_array_length(recs);
	if (total > 0 && (r = calloc(total, sizeof(*r))) == NULL)
		goto nomem;
	for (size_t i = 0; i < total; i++) {
		json_object *rec = json_object_array_get_idx(recs, i);
		char id[40];
		if (!json_object_is_type(rec, json_type_object) || !ha_record_id(rec, id, sizeof(id)) ||
				!ha_field_is(rec, "type", "User") || !ha_field_is(rec, "status", "Enabled"))
			continue;
		if ((r[cnt].id = strdup(id)) == NULL)
			goto nomem;
		cnt++;
		if (ha_info_of(rec, &r[cnt - 1].name, &r[cnt - 1].number) != 0)
			goto nomem;
	}
	/* navigation.nextPage is what RingCentral's clients follow; paging is the fallback. */
	if (total > 0) {
		if (json_object_object_get_ex(o, "navigation", &nav) &&
				json_object_is_type(nav, json_type_object) &&
				json_object_object_get_ex(nav, "nextPage", &next) &&
				json_object_is_type(next, json_type_object))
			*more = true;
		else if (json_object_object_get_ex(o, "paging", &paging) &&
				json_object_is_type(paging, json_type_object))
			*more = ha_int(paging, "page", 1) < ha_int(paging, "totalPages", 0);
	}
	json_object_put(o);
	*records = r;
	*n = cnt;
	return 0;
nomem:
	json_object_put(o);
	rc_ha_listed_free(r, cnt);
	*more = false;
	return -1;
}

/* Copies key from src to dst if it has one of the JSON type t (a new reference). */
static bool ha_copy(json_object *dst, json_object *src, const char *key, json_type t)
{
	json_object *v;

	if (!json_object_object_get_ex(src, key, &v) || !json_object_is_type(v, t))
		return true;
	return rc_json_set(dst, key, json_object_get(v)) == 0;
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
					rc_json_set(copy, key, json_object_get(val)) != 0)
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
	ok = ok && rc_json_set(b, "extensionId", json_object_new_string(eid)) == 0;
	ok = ok && ha_copy(b, a, "telephonyStatus", json_type_string);
	if (ok && detailed && json_object_object_get_ex(a, "activeCalls", &calls) &&
			json_object_is_type(calls, json_type_array)) {
		json_object *c = ha_calls(calls);
		size_t n = c != NULL ? json_object_array_length(c) : 0;
		ok = c != NULL && rc_json_set(b, "activeCalls", c) == 0;
		ok = ok && rc_json_set(b, "totalActiveCalls", json_object_new_int((int)n)) == 0;
	}
	ok = ok && ha_copy(b, a, "presenceStatus", json_type_string) &&
			ha_copy(b, a, "userStatus", json_type_string) &&
			ha_copy(b, a, "meetingStatus", json_type_string) &&
			ha_copy(b, a, "dndStatus", json_type_string) &&
			ha_copy(b, a, "allowSeeMyPresence", json_type_boolean) &&
			ha_copy(b, a, "ringOnMonitoredCall", json_type_boolean) &&
			ha_copy(b, a, "pickUpCallsOnHold", json_type_boolean);
	if (ok && owner_id != NULL)
		ok = rc_json_set(b, "ownerId", json_object_new_string(owner_id)) == 0;
	ok = ok && rc_json_set(env, "uuid", json_object_new_string(uuid)) == 0 &&
			rc_json_set(env, "event", json_object_new_string(event)) == 0 &&
			rc_json_set(env, "timestamp", json_object_new_string(timestamp)) == 0;
	if (ok && owner_id != NULL)
		ok = rc_json_set(env, "ownerId", json_object_new_string(owner_id)) == 0;
	if (ok) {
		ok = rc_json_set(env, "body", b) == 0;
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
