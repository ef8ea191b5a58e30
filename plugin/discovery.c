/* discovery.c - Home Assistant MQTT discovery messages (see rc_discovery.h).
 *
 * Why the entities read the notification topics themselves rather than topics of the
 * plugin's own: what a user's automations and Node-RED flows see, Home Assistant sees, and
 * the topic_map rules (retain for presence, none for events) decide for both. The one
 * thing that cannot be predicted from the filters is how RingCentral writes the account in
 * an event URL (`~` or its number, both seen in practice), hence the `+` level.
 *
 * Value templates are Home Assistant's Jinja: they read the notification JSON the plugin
 * publishes (`value_json.body` with `payload notification`, `value_json` with `payload
 * body`), keep the current state when a notification leaves a field out (RingCentral sends
 * telephonyStatus only when it changed), and render nothing for a message that is not the
 * event (Home Assistant ignores an empty rendering). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "rc_discovery.h"
#include "rc_strlist.h"
#include "rc_topic.h"
#include "rc_version.h"

#define HA_API "/restapi/v1.0/account/"
#define HA_KEY_SEP '|'

static const char *const ha_suffix[RC_HA_KIND_COUNT] = {
	"presence", "message-store/instant", "missed-calls",
};

void rc_ha_extensions_free(struct rc_ha_extension *ext, size_t n)
{
	for (size_t i = 0; ext != NULL && i < n; i++) {
		free(ext[i].id);
		free(ext[i].name);
		free(ext[i].number);
		free(ext[i].presence_event);
		for (int k = 0; k < RC_HA_KIND_COUNT; k++)
			free(ext[i].topic[k]);
	}
	free(ext);
}

/* ---------------------------------------------------------------- topics */

/* Splits s at '/' into at most max levels (pointers into a copy the caller frees). */
static size_t ha__levels(char *s, char **lv, size_t max)
{
	size_t n = 0;

	for (char *save = NULL, *t = strtok_r(s, "/", &save); t != NULL && n < max;
			t = strtok_r(NULL, "/", &save))
		lv[n++] = t;
	return n;
}

char *rc_ha_state_topic(const struct rc_config *cfg, const char *ext_id, const char *suffix)
{
	char ev_tilde[256], ev_number[256];
	char *t1 = NULL, *t2 = NULL, *out = NULL;

	/* The same event with the account as `~` and as a number: the levels in which the
	 * two topics differ are where the account went. */
	if (snprintf(ev_tilde, sizeof(ev_tilde), HA_API "~/extension/%s/%s", ext_id, suffix)
			>= (int)sizeof(ev_tilde))
		return NULL;
	snprintf(ev_number, sizeof(ev_number), HA_API "0/extension/%s/%s", ext_id, suffix);
	if (rc_topic_for_event(ev_tilde, strlen(ev_tilde), cfg->topic_prefix, cfg->topic_map,
			cfg->n_topic_map, &t1) != RC_TOPIC_OK ||
			rc_topic_for_event(ev_number, strlen(ev_number), cfg->topic_prefix, cfg->topic_map,
			cfg->n_topic_map, &t2) != RC_TOPIC_OK)
		goto done;
	if (strcmp(t1, t2) == 0) {
		out = t1;
		t1 = NULL;
		goto done;
	}
	char *c1 = strdup(t1), *c2 = strdup(t2);
	char *l1[64], *l2[64];
	size_t n1 = c1 != NULL ? ha__levels(c1, l1, 64) : 0;
	size_t n2 = c2 != NULL ? ha__levels(c2, l2, 64) : 0;
	bool whole = c1 != NULL && c2 != NULL && n1 == n2 && n1 < 64;
	for (size_t i = 0; whole && i < n1; i++)
		if (strcmp(l1[i], l2[i]) != 0 && !(strcmp(l1[i], "~") == 0 && strcmp(l2[i], "0") == 0))
			whole = false;
	if (whole && (out = malloc(strlen(t1) + 1)) != NULL) {
		size_t o = 0;
		for (size_t i = 0; i < n1; i++) {
			const char *lv = strcmp(l1[i], l2[i]) == 0 ? l1[i] : "+";
			if (i > 0)
				out[o++] = '/';
			memcpy(out + o, lv, strlen(lv));
			o += strlen(lv);
		}
		out[o] = '\0';
	} else if (!whole) {
		/* The account is part of a level (a template like acct-{a}): no wildcard can
		 * stand for it; the `~` form is what RingCentral's documentation shows. */
		out = t1;
		t1 = NULL;
	}
	free(c1);
	free(c2);
done:
	free(t1);
	free(t2);
	return out;
}

/* ---------------------------------------------------------------- coverage */

static bool ha__digits(const char *s, size_t len)
{
	if (len == 0 || len > 32)
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* The kind of an extension filter, and its extension level, or -1. */
static int ha__filter_kind(const char *filter, const char **ext, size_t *ext_len, bool *detailed)
{
	size_t api = strlen(HA_API);
	const char *query = strchr(filter, '?');
	size_t path_len = query != NULL ? (size_t)(query - filter) : strlen(filter);

	*detailed = false;
	if (path_len <= api || strncmp(filter, HA_API, api) != 0)
		return -1;
	const char *p = filter + api, *end = filter + path_len;
	const char *slash = memchr(p, '/', (size_t)(end - p));   /* after the account */
	if (slash == NULL || slash == p || (size_t)(end - slash) < 12 ||
			strncmp(slash, "/extension/", 11) != 0)
		return -1;
	*ext = slash + 11;
	const char *after = memchr(*ext, '/', (size_t)(end - *ext));
	if (after == NULL || after == *ext)
		return -1;
	*ext_len = (size_t)(after - *ext);
	after++;
	for (int k = 0; k < RC_HA_KIND_COUNT; k++) {
		size_t sl = strlen(ha_suffix[k]);
		if ((size_t)(end - after) != sl || strncmp(after, ha_suffix[k], sl) != 0)
			continue;
		/* Only the SMS flavour of instant messages is an incoming SMS. */
		if (k == RC_HA_SMS && (query == NULL || strstr(query, "type=SMS") == NULL))
			return -1;
		if (k == RC_HA_PRESENCE && query != NULL)
			*detailed = strstr(query, "detailedTelephonyState=true") != NULL;
		return k;
	}
	return -1;
}

/* filter with its extension level (the first after /extension/) written as id. */
static char *ha__resolve(const char *filter, const char *id, size_t id_len)
{
	const char *lv = strstr(filter, "/extension/");
	char *out = NULL;

	if (lv == NULL)
		return NULL;
	lv += 11;
	const char *after = strchr(lv, '/');
	if (after == NULL || asprintf(&out, "%.*s%.*s%s", (int)(lv - filter), filter, (int)id_len, id,
			after) < 0)
		return NULL;
	return out;
}

int rc_ha_extensions(const struct rc_config *cfg, char *const *filters, size_t n_filters,
		const char *owner_id, struct rc_ha_extension **out, size_t *n_out)
{
	struct rc_ha_extension *ext = NULL;
	size_t n = 0;

	*out = NULL;
	*n_out = 0;
	for (size_t f = 0; f < n_filters; f++) {
		const char *id;
		size_t id_len;
		bool detailed;
		int kind = ha__filter_kind(filters[f], &id, &id_len, &detailed);
		if (kind < 0)
			continue;
		if (id_len == 1 && id[0] == '~') {
			if (owner_id == NULL || !ha__digits(owner_id, strlen(owner_id)))
				continue;
			id = owner_id;
			id_len = strlen(owner_id);
		} else if (!ha__digits(id, id_len)) {
			continue;
		}
		size_t i = 0;
		while (i < n && !(strlen(ext[i].id) == id_len && strncmp(ext[i].id, id, id_len) == 0))
			i++;
		if (i == n) {
			struct rc_ha_extension *more = realloc(ext, (n + 1) * sizeof(*ext));
			if (more == NULL)
				goto nomem;
			ext = more;
			memset(&ext[n], 0, sizeof(ext[n]));
			if ((ext[n].id = strndup(id, id_len)) == NULL) {
				n++;
				goto nomem;
			}
			n++;
		}
		if (kind == RC_HA_PRESENCE && (ext[i].presence_event == NULL || (detailed && !ext[i].detailed))) {
			free(ext[i].presence_event);
			if ((ext[i].presence_event = ha__resolve(filters[f], id, id_len)) == NULL)
				goto nomem;
		}
		ext[i].detailed = ext[i].detailed || (kind == RC_HA_PRESENCE && detailed);
		if (ext[i].topic[kind] == NULL &&
				(ext[i].topic[kind] = rc_ha_state_topic(cfg, ext[i].id, ha_suffix[kind])) == NULL) {
			/* A reserved topic: those notifications are never published, so no entity. */
			continue;
		}
	}
	*out = ext;
	*n_out = n;
	return 0;
nomem:
	rc_ha_extensions_free(ext, n);
	return -1;
}

/* True if filter is `/restapi/v1.0/account/<account>/presence` with any query. */
static bool ha__account_presence(const char *filter, bool *detailed)
{
	size_t api = strlen(HA_API);
	const char *query = strchr(filter, '?');
	size_t path_len = query != NULL ? (size_t)(query - filter) : strlen(filter);

	if (path_len <= api || strncmp(filter, HA_API, api) != 0)
		return false;
	const char *acc = filter + api, *slash = memchr(acc, '/', path_len - api);
	if (slash == NULL || slash == acc || (size_t)(filter + path_len - slash) != 9 ||
			strncmp(slash, "/presence", 9) != 0)
		return false;
	*detailed = query != NULL && strstr(query, "detailedTelephonyState=true") != NULL;
	return true;
}

const char *rc_ha_account_presence(char *const *filters, size_t n_filters, bool *detailed)
{
	const char *found = NULL;
	bool d;

	*detailed = false;
	for (size_t f = 0; f < n_filters; f++) {
		if (!ha__account_presence(filters[f], &d) || (found != NULL && (*detailed || !d)))
			continue;
		found = filters[f];
		*detailed = d;
	}
	return found;
}

int rc_ha_extensions_listed(const struct rc_config *cfg, const char *account_filter,
		char *const *ids, size_t n_ids, struct rc_ha_extension **exts, size_t *n)
{
	bool detailed;

	if (account_filter == NULL || !ha__account_presence(account_filter, &detailed))
		return 0;
	const char *query = strchr(account_filter, '?');
	size_t path_len = query != NULL ? (size_t)(query - account_filter) : strlen(account_filter);
	size_t base_len = path_len - 9;   /* up to the account, without "/presence" */

	for (size_t k = 0; k < n_ids; k++) {
		if (!ha__digits(ids[k], strlen(ids[k])))
			continue;
		size_t i = 0;
		while (i < *n && strcmp((*exts)[i].id, ids[k]) != 0)
			i++;
		if (i == *n) {
			struct rc_ha_extension *more = realloc(*exts, (*n + 1) * sizeof(**exts));
			if (more == NULL)
				return -1;
			*exts = more;
			memset(&more[*n], 0, sizeof(more[*n]));
			if ((more[*n].id = strdup(ids[k])) == NULL)
				return -1;
			(*n)++;
		}
		struct rc_ha_extension *e = &(*exts)[i];
		if (e->presence_event != NULL && (e->detailed || !detailed))
			continue;
		char *ev = NULL;
		if (asprintf(&ev, "%.*s/extension/%s/presence%s", (int)base_len, account_filter, ids[k],
				query != NULL ? query : "") < 0)
			return -1;
		free(e->presence_event);
		e->presence_event = ev;
		e->detailed = detailed;
		if (e->topic[RC_HA_PRESENCE] == NULL)
			e->topic[RC_HA_PRESENCE] = rc_ha_state_topic(cfg, e->id, ha_suffix[RC_HA_PRESENCE]);
	}
	return 0;
}

char *rc_ha_extension_name(const struct rc_ha_extension *ext)
{
	char *s = NULL;

	if (ext->name != NULL && ext->name[0] != '\0')
		return strdup(ext->name);
	if (asprintf(&s, "Extension %s", ext->number != NULL && ext->number[0] != '\0' ?
			ext->number : ext->id) < 0)
		return NULL;
	return s;
}

/* ---------------------------------------------------------------- payloads */

/* What a device config is built with; ok turns false at the first allocation failure. */
struct ha_build {
	const struct rc_config *cfg;
	char *san;                 /* topic_prefix made fit for ids: [A-Za-z0-9_-] */
	char **keys;
	size_t n_keys;
	bool ok;
};

/* Adds v (taken) to o; false (v freed, the build marked failed) if it could not. */
static bool ha__add(struct ha_build *b, json_object *o, const char *key, json_object *v)
{
	if (v == NULL || json_object_object_add(o, key, v) != 0) {
		json_object_put(v);
		b->ok = false;
		return false;
	}
	return true;
}

static void ha__str(struct ha_build *b, json_object *o, const char *key, const char *v)
{
	ha__add(b, o, key, json_object_new_string(v));
}

static char *ha__sanitize(const char *s)
{
	char *out = strdup(s);

	for (char *c = out; c != NULL && *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
				*c == '_' || *c == '-'))
			*c = '_';
	return out;
}

static json_object *ha__origin(struct ha_build *b)
{
	json_object *o = json_object_new_object();

	if (o == NULL) {
		b->ok = false;
		return NULL;
	}
	ha__str(b, o, "name", "mosquitto-ringcentral");
	ha__str(b, o, "sw_version", RC_VERSION);
	return o;
}

/* The availability every extension entity shares: the bridge's own state. */
static json_object *ha__availability(struct ha_build *b)
{
	json_object *list = json_object_new_array(), *a = json_object_new_object();
	char *topic = NULL;

	if (list == NULL || a == NULL ||
			asprintf(&topic, "%s/bridge/state", b->cfg->topic_prefix) < 0) {
		json_object_put(list);
		json_object_put(a);
		b->ok = false;
		return NULL;
	}
	ha__str(b, a, "topic", topic);
	ha__str(b, a, "payload_available", "online");
	ha__str(b, a, "payload_not_available", "offline");
	free(topic);
	if (json_object_array_add(list, a) != 0) {
		json_object_put(a);
		b->ok = false;
	}
	return list;
}

/* A component of a device: platform, unique_id `<device id>_<cid>`, name; the key
 * `<config topic>|<cid>|<platform>` remembered. */
static json_object *ha__component(struct ha_build *b, json_object *cmps, const char *config_topic,
		const char *device_id, const char *cid, const char *platform, const char *name)
{
	json_object *c = json_object_new_object();
	char *uid = NULL, *key = NULL;

	if (c == NULL || asprintf(&uid, "%s_%s", device_id, cid) < 0 ||
			asprintf(&key, "%s%c%s%c%s", config_topic, HA_KEY_SEP, cid, HA_KEY_SEP, platform) < 0) {
		json_object_put(c);
		free(uid);
		b->ok = false;
		return NULL;
	}
	ha__str(b, c, "platform", platform);
	ha__str(b, c, "unique_id", uid);
	/* object_id: entity ids like sensor.ringcentral_401550809004_telephony, stable
	 * whatever the device is called. */
	ha__str(b, c, "object_id", uid);
	ha__str(b, c, "name", name);
	if (rc_strlist_add_unique(&b->keys, &b->n_keys, key) != 0)
		b->ok = false;
	free(uid);
	free(key);
	return ha__add(b, cmps, cid, c) ? c : NULL;
}

static char *ha__device_id(struct ha_build *b, const char *what)
{
	char *id = NULL;

	if (asprintf(&id, "rc_%s_%s", b->san, what) < 0) {
		b->ok = false;
		return NULL;
	}
	return id;
}

static char *ha__config_topic(struct ha_build *b, const char *device_id)
{
	char *t = NULL;

	if (asprintf(&t, "%s/device/%s/config", b->cfg->homeassistant_prefix, device_id) < 0) {
		b->ok = false;
		return NULL;
	}
	if (rc_strlist_add_unique(&b->keys, &b->n_keys, t) != 0)
		b->ok = false;
	return t;
}

/* The bridge: its connectivity (bridge/state), diagnostics (bridge/status) and the
 * re-subscribe button. These have no availability of their own: they describe the
 * bridge itself, and last_error matters most exactly when bridge/state is offline. */
static json_object *ha__bridge(struct ha_build *b, const char *device_id, const char *config_topic)
{
	static const struct {
		const char *cid, *name, *field, *device_class, *state_class;
	} diag[] = {
		{ "last_error", "Last error", "last_error", NULL, NULL },
		{ "received", "Notifications received", "received", NULL, "total_increasing" },
		{ "dropped", "Notifications dropped", "dropped", NULL, "total_increasing" },
		{ "transport", "Transport", "transport", NULL, NULL },
		{ "expiration", "Subscription expiry", "expiration_time", "timestamp", NULL },
	};
	json_object *root = json_object_new_object(), *dev = json_object_new_object();
	json_object *cmps = json_object_new_object(), *ids = json_object_new_array();
	char *state = NULL, *status = NULL, *name = NULL;

	if (root == NULL || dev == NULL || cmps == NULL || ids == NULL ||
			asprintf(&state, "%s/bridge/state", b->cfg->topic_prefix) < 0 ||
			asprintf(&status, "%s/bridge/status", b->cfg->topic_prefix) < 0 ||
			asprintf(&name, "RingCentral bridge (%s)", b->cfg->topic_prefix) < 0) {
		b->ok = false;
		goto fail;
	}
	if (json_object_array_add(ids, json_object_new_string(device_id)) != 0)
		b->ok = false;
	ha__add(b, dev, "identifiers", ids);
	ids = NULL;
	ha__str(b, dev, "name", name);
	ha__str(b, dev, "manufacturer", "mosquitto-ringcentral");
	ha__str(b, dev, "model", "Mosquitto plugin");
	ha__str(b, dev, "sw_version", RC_VERSION);
	ha__add(b, root, "device", dev);
	dev = NULL;
	ha__add(b, root, "origin", ha__origin(b));

	json_object *c = ha__component(b, cmps, config_topic, device_id, "connectivity",
			"binary_sensor", "Connected");
	if (c != NULL) {
		ha__str(b, c, "device_class", "connectivity");
		ha__str(b, c, "entity_category", "diagnostic");
		ha__str(b, c, "state_topic", state);
		ha__str(b, c, "payload_on", "online");
		ha__str(b, c, "payload_off", "offline");
	}
	for (size_t i = 0; i < sizeof(diag) / sizeof(diag[0]); i++) {
		char tpl[160];
		c = ha__component(b, cmps, config_topic, device_id, diag[i].cid, "sensor", diag[i].name);
		if (c == NULL)
			continue;
		ha__str(b, c, "entity_category", "diagnostic");
		ha__str(b, c, "state_topic", status);
		/* null (no error yet, no subscription) reads as unknown. */
		snprintf(tpl, sizeof(tpl), "{{ value_json.%s if value_json.%s is not none else None }}",
				diag[i].field, diag[i].field);
		ha__str(b, c, "value_template", tpl);
		if (diag[i].device_class != NULL)
			ha__str(b, c, "device_class", diag[i].device_class);
		if (diag[i].state_class != NULL)
			ha__str(b, c, "state_class", diag[i].state_class);
	}
	c = ha__component(b, cmps, config_topic, device_id, "resubscribe", "button", "Re-subscribe");
	if (c != NULL) {
		char *topic = NULL;
		if (asprintf(&topic, "%s" RC_HA_RESUBSCRIBE_LEVELS, b->cfg->topic_prefix) < 0) {
			topic = NULL;
			b->ok = false;
		}
		ha__str(b, c, "entity_category", "config");
		if (topic != NULL)
			ha__str(b, c, "command_topic", topic);
		free(topic);
	}
	/* A notify entity per number Home Assistant may text: its message alone is published,
	 * so the number is in the topic (rc_command.h: sms/<digits>). */
	for (size_t i = 0; b->cfg->command_sms && i < b->cfg->n_sms_notify_to; i++) {
		const char *number = b->cfg->sms_notify_to[i];
		char cid[40], ename[60], *topic = NULL;
		snprintf(cid, sizeof(cid), "sms_%s", number + 1);
		snprintf(ename, sizeof(ename), "SMS to %s", number);
		c = ha__component(b, cmps, config_topic, device_id, cid, "notify", ename);
		if (c == NULL)
			continue;
		if (asprintf(&topic, "%s/bridge/command/sms/%s", b->cfg->topic_prefix, number + 1) < 0) {
			b->ok = false;
			continue;
		}
		ha__str(b, c, "command_topic", topic);
		ha__str(b, c, "icon", "mdi:message-arrow-right");
		free(topic);
	}
	ha__add(b, root, "components", cmps);
	cmps = NULL;
	free(state);
	free(status);
	free(name);
	return root;
fail:
	json_object_put(root);
	json_object_put(dev);
	json_object_put(cmps);
	json_object_put(ids);
	free(state);
	free(status);
	free(name);
	return NULL;
}

/* The Jinja prelude that names the notification's body `b` (an empty mapping if the
 * message has none), whichever `payload` mode publishes it. */
static const char *ha__body(const struct rc_config *cfg)
{
	return cfg->payload == RC_PAYLOAD_BODY ?
		"{% set b = value_json if value_json is mapping else {} %}" :
		"{% set b = value_json.body if value_json.body is defined and value_json.body is mapping else {} %}";
}

static void ha__template(struct ha_build *b, json_object *c, const char *body_tpl)
{
	char *t = NULL;

	if (asprintf(&t, "%s%s", ha__body(b->cfg), body_tpl) < 0) {
		b->ok = false;
		return;
	}
	ha__str(b, c, "value_template", t);
	free(t);
}

static json_object *ha__event_types(struct ha_build *b, const char *type)
{
	json_object *a = json_object_new_array();

	if (a == NULL || json_object_array_add(a, json_object_new_string(type)) != 0) {
		json_object_put(a);
		b->ok = false;
		return NULL;
	}
	return a;
}

/* With command_presence: a select for the DND status and one for the user status, both
 * publishing the bare value to the extension's presence command topic (rc_command.h tells
 * the two sets apart) and reading the current one from the presence notifications. */
static void ha__presence_selects(struct ha_build *b, json_object *cmps,
		const struct rc_ha_extension *e, const char *device_id, const char *config_topic)
{
	static const struct {
		const char *cid, *name, *field, *icon, *options[4];
	} sel[] = {
		{ "dnd_select", "Do not disturb mode", "dndStatus", "mdi:phone-cancel",
			{ "TakeAllCalls", "DoNotAcceptAnyCalls", "DoNotAcceptDepartmentCalls",
			  "TakeDepartmentCallsOnly" } },
		{ "user_status", "User status", "userStatus", "mdi:account-clock",
			{ "Available", "Busy", "Offline", NULL } },
	};
	char *topic = NULL;

	if (asprintf(&topic, "%s/bridge/command/presence/%s", b->cfg->topic_prefix, e->id) < 0) {
		b->ok = false;
		return;
	}
	for (size_t i = 0; i < sizeof(sel) / sizeof(sel[0]); i++) {
		json_object *c = ha__component(b, cmps, config_topic, device_id, sel[i].cid, "select",
				sel[i].name), *opts = json_object_new_array();
		/* tpl holds list twice, the field three times and the template's own text. */
		char list[160] = "", tpl[1024];
		size_t used = 0;
		if (c == NULL || opts == NULL) {
			json_object_put(opts);
			b->ok = c != NULL ? false : b->ok;
			continue;
		}
		for (size_t k = 0; k < 4 && sel[i].options[k] != NULL; k++) {
			json_object_array_add(opts, json_object_new_string(sel[i].options[k]));
			if (used < sizeof(list))
				used += (size_t)snprintf(list + used, sizeof(list) - used, "%s'%s'",
						k ? ", " : "", sel[i].options[k]);
		}
		ha__add(b, c, "options", opts);
		ha__str(b, c, "command_topic", topic);
		ha__str(b, c, "icon", sel[i].icon);
		if (e->topic[RC_HA_PRESENCE] != NULL) {
			ha__str(b, c, "state_topic", e->topic[RC_HA_PRESENCE]);
			/* A notification without the field keeps the current option; "None" (no option
			 * yet) rather than a value Home Assistant would reject. */
			snprintf(tpl, sizeof(tpl), "{{ b.%s if b.%s is defined and b.%s in [%s] else "
					"(this.state if this.state in [%s] else 'None') }}", sel[i].field, sel[i].field,
					sel[i].field, list, list);
			ha__template(b, c, tpl);
		}
	}
	free(topic);
}

static json_object *ha__extension(struct ha_build *b, const struct rc_ha_extension *e,
		const char *device_id, const char *bridge_id, const char *config_topic)
{
	static const struct { const char *cid, *name, *field, *icon; } sensors[] = {
		{ "telephony", "Telephony status", "telephonyStatus", "mdi:phone" },
		{ "presence", "Presence", "presenceStatus", "mdi:account" },
		{ "dnd", "Do not disturb", "dndStatus", "mdi:phone-off" },
	};
	json_object *root = json_object_new_object(), *dev = json_object_new_object();
	json_object *cmps = json_object_new_object(), *ids = json_object_new_array();
	char *name = rc_ha_extension_name(e);

	if (root == NULL || dev == NULL || cmps == NULL || ids == NULL || name == NULL) {
		b->ok = false;
		json_object_put(root);
		json_object_put(dev);
		json_object_put(cmps);
		json_object_put(ids);
		free(name);
		return NULL;
	}
	if (json_object_array_add(ids, json_object_new_string(device_id)) != 0)
		b->ok = false;
	ha__add(b, dev, "identifiers", ids);
	ha__str(b, dev, "name", name);
	ha__str(b, dev, "manufacturer", "RingCentral");
	ha__str(b, dev, "model", "Extension");
	if (e->number != NULL)
		ha__str(b, dev, "serial_number", e->number);
	ha__str(b, dev, "via_device", bridge_id);
	ha__add(b, root, "device", dev);
	ha__add(b, root, "origin", ha__origin(b));
	/* Device-level availability: shared by every entity of the device. */
	ha__add(b, root, "availability", ha__availability(b));
	free(name);

	const char *presence = e->topic[RC_HA_PRESENCE];
	for (size_t i = 0; presence != NULL && i < sizeof(sensors) / sizeof(sensors[0]); i++) {
		char tpl[200];
		json_object *c = ha__component(b, cmps, config_topic, device_id, sensors[i].cid,
				"sensor", sensors[i].name);
		if (c == NULL)
			continue;
		ha__str(b, c, "state_topic", presence);
		ha__str(b, c, "icon", sensors[i].icon);
		snprintf(tpl, sizeof(tpl), "{{ b.%s if b.%s is defined else this.state }}",
				sensors[i].field, sensors[i].field);
		ha__template(b, c, tpl);
	}
	if (presence != NULL) {
		json_object *c = ha__component(b, cmps, config_topic, device_id, "on_call",
				"binary_sensor", "On call");
		if (c != NULL) {
			ha__str(b, c, "state_topic", presence);
			ha__str(b, c, "icon", "mdi:phone-in-talk");
			ha__str(b, c, "payload_on", "ON");
			ha__str(b, c, "payload_off", "OFF");
			ha__template(b, c, "{% if b.telephonyStatus is defined %}"
					"{{ 'OFF' if b.telephonyStatus == 'NoCall' else 'ON' }}{% endif %}");
		}
	}
	/* The event entities: one event type each, named as the component. The one with no
	 * topic (its notifications are not subscribed to) is not announced. */
	const struct { const char *topic, *cid, *name, *attr, *attr_value, *tpl; } events[] = {
		/* The caller of a ringing call is in the detailed presence's activeCalls only. */
		{ e->detailed ? presence : NULL, "incoming_call", "Incoming call",
			"device_class", "doorbell",
			"{% set c = b.activeCalls | default([]) | selectattr('direction', 'defined')"
			" | selectattr('direction', 'eq', 'Inbound') | list %}"
			"{% if b.telephonyStatus | default('') == 'Ringing' and c %}"
			"{{ {'event_type': 'incoming_call', 'caller_number': c[0]['from'] | default(''),"
			" 'caller_name': c[0]['fromName'] | default('')} | tojson }}{% endif %}" },
		/* RingCentral's missed-call event carries from/fromName (in the body, or at the
		 * top level in older samples). */
		{ e->topic[RC_HA_MISSED_CALLS], "missed_call", "Missed call", "icon", "mdi:phone-missed",
			"{% set m = b if b['from'] is defined else (value_json if value_json is mapping else {}) %}"
			"{{ {'event_type': 'missed_call', 'caller_number': m['from'] | default(''),"
			" 'caller_name': m['fromName'] | default('')} | tojson }}" },
		{ e->topic[RC_HA_SMS], "incoming_sms", "Incoming SMS", "icon", "mdi:message-text",
			"{% if b.direction | default('Inbound') == 'Inbound' %}"
			"{% set f = b['from'] if b['from'] is defined and b['from'] is mapping else {} %}"
			"{{ {'event_type': 'incoming_sms', 'from_number': f.phoneNumber | default(''),"
			" 'from_name': f.name | default(''), 'text': b.subject | default('')} | tojson }}"
			"{% endif %}" },
	};
	for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
		json_object *c = events[i].topic == NULL ? NULL : ha__component(b, cmps, config_topic,
				device_id, events[i].cid, "event", events[i].name);
		if (c == NULL)
			continue;
		ha__str(b, c, "state_topic", events[i].topic);
		ha__str(b, c, events[i].attr, events[i].attr_value);
		ha__add(b, c, "event_types", ha__event_types(b, events[i].cid));
		ha__template(b, c, events[i].tpl);
	}
	if (b->cfg->command_presence)
		ha__presence_selects(b, cmps, e, device_id, config_topic);
	ha__add(b, root, "components", cmps);
	return root;
}

/* ---------------------------------------------------------------- messages */

static struct rc_outbox_msg *ha__message(const char *topic, json_object *payload)
{
	struct rc_outbox_msg *m = calloc(1, sizeof(*m));
	const char *text = payload != NULL ? json_object_to_json_string_ext(payload,
			JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE) : "";

	if (m == NULL || text == NULL)
		goto fail;
	m->topic = strdup(topic);
	m->payload = strdup(text);
	m->payload_len = strlen(text);
	m->has_options = true;
	m->own = true;
	m->qos = 1;
	m->retain = true;
	if (m->topic == NULL || m->payload == NULL)
		goto fail;
	return m;
fail:
	rc_outbox_msg_free(m);
	return NULL;
}

/* Components of prev under config_topic that this build did not publish: a stub
 * {"platform": p} each, which Home Assistant takes as "remove this entity". */
static void ha__stubs(struct ha_build *b, json_object *root, const char *config_topic,
		char *const *prev, size_t n_prev)
{
	json_object *cmps;
	size_t tl = strlen(config_topic);

	if (!json_object_object_get_ex(root, "components", &cmps))
		return;
	for (size_t i = 0; i < n_prev; i++) {
		if (strncmp(prev[i], config_topic, tl) != 0 || prev[i][tl] != HA_KEY_SEP ||
				rc_strlist_contains(b->keys, b->n_keys, prev[i]))
			continue;
		const char *cid = prev[i] + tl + 1;
		const char *sep = strchr(cid, HA_KEY_SEP);
		if (sep == NULL)
			continue;
		char *id = strndup(cid, (size_t)(sep - cid));
		json_object *stub = json_object_new_object();
		if (id == NULL || stub == NULL) {
			free(id);
			json_object_put(stub);
			b->ok = false;
			continue;
		}
		ha__str(b, stub, "platform", sep + 1);
		ha__add(b, cmps, id, stub);
		free(id);
	}
}

static void ha__append(struct rc_outbox_msg ***tail, struct rc_outbox_msg *m, struct ha_build *b)
{
	if (m == NULL) {
		b->ok = false;
		return;
	}
	**tail = m;
	*tail = &m->next;
}

struct rc_outbox_msg *rc_ha_discovery(const struct rc_config *cfg,
		const struct rc_ha_extension *exts, size_t n_exts, char *const *prev, size_t n_prev,
		char ***keys, size_t *n_keys)
{
	struct ha_build b = { .cfg = cfg, .ok = true };
	struct rc_outbox_msg *head = NULL, **tail = &head;
	json_object **roots = calloc(n_exts + 1, sizeof(*roots));
	char **topics = calloc(n_exts + 1, sizeof(*topics));
	char *bridge_id = NULL;

	*keys = NULL;
	*n_keys = 0;
	b.san = ha__sanitize(cfg->topic_prefix);
	if (roots == NULL || topics == NULL || b.san == NULL)
		b.ok = false;
	/* First every config (so that the keys are complete), then the stubs and messages. */
	if (b.ok && (bridge_id = ha__device_id(&b, "bridge")) != NULL &&
			(topics[0] = ha__config_topic(&b, bridge_id)) != NULL)
		roots[0] = ha__bridge(&b, bridge_id, topics[0]);
	for (size_t i = 0; b.ok && i < n_exts; i++) {
		char *what = NULL, *device_id;
		char *san = ha__sanitize(exts[i].id);
		if (san == NULL || asprintf(&what, "ext_%s", san) < 0) {
			free(san);
			b.ok = false;
			break;
		}
		free(san);
		device_id = ha__device_id(&b, what);
		free(what);
		if (device_id != NULL && (topics[i + 1] = ha__config_topic(&b, device_id)) != NULL)
			roots[i + 1] = ha__extension(&b, &exts[i], device_id, bridge_id, topics[i + 1]);
		free(device_id);
	}
	for (size_t i = 0; b.ok && i <= n_exts; i++) {
		if (roots[i] == NULL) {
			b.ok = false;
			break;
		}
		ha__stubs(&b, roots[i], topics[i], prev, n_prev);
		ha__append(&tail, ha__message(topics[i], roots[i]), &b);
	}
	/* Devices published before and gone now: an empty retained payload removes them. */
	for (size_t i = 0; b.ok && i < n_prev; i++)
		if (strchr(prev[i], HA_KEY_SEP) == NULL && !rc_strlist_contains(b.keys, b.n_keys, prev[i]))
			ha__append(&tail, ha__message(prev[i], NULL), &b);
	for (size_t i = 0; i <= n_exts && roots != NULL; i++)
		json_object_put(roots[i]);
	for (size_t i = 0; i <= n_exts && topics != NULL; i++)
		free(topics[i]);
	free(roots);
	free(topics);
	free(bridge_id);
	free(b.san);
	if (!b.ok) {
		while (head != NULL) {
			struct rc_outbox_msg *next = head->next;
			rc_outbox_msg_free(head);
			head = next;
		}
		rc_strlist_free(b.keys);
		return NULL;
	}
	*keys = b.keys;
	*n_keys = b.n_keys;
	return head;
}

bool rc_ha_is_birth(const char *ha_prefix, const char *topic, const void *payload,
		size_t payload_len)
{
	size_t pl = strlen(ha_prefix);

	return payload_len == 6 && memcmp(payload, "online", 6) == 0 &&
		strncmp(topic, ha_prefix, pl) == 0 && strcmp(topic + pl, "/status") == 0;
}
