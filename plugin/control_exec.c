/* control_exec.c - control API commands on the worker thread (see rc_control_exec.h).
 *
 * One request at a time, one command at a time: a command is started once (it may answer
 * itself at once), then checked every loop turn and at every lifecycle action's end until
 * it has its answer or its deadline passes. Filter changes go through the same desired
 * set SIGHUP changes, so the lifecycle's rule holds for them too: a change made while a
 * request is in flight stays pending until a request carries it. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "rc_clock.h"
#include "rc_control_exec.h"
#include "rc_filters_file.h"
#include "rc_http.h"
#include "rc_json.h"
#include "rc_logsafe.h"
#include "rc_rest.h"
#include "rc_status.h"
#include "rc_strlist.h"

#define SUBSCRIPTIONS_PATH "/restapi/v1.0/subscription"
#define SMS_PATH "/restapi/v1.0/account/~/extension/~/sms"

struct rc_ctl {
	struct rc_ctl_env env;
	int64_t timeout_ms;

	pthread_mutex_t lock;                /* guards the queue only */
	struct rc_control_request **queue;   /* a ring of cap entries */
	size_t cap, head, n;

	/* The request in progress and its current command (cur->cmds[cur->next]). */
	struct rc_control_request *cur;
	bool started;
	int64_t deadline;
	char **want;                         /* filter commands: the set asked for */
	size_t n_want;
	char **before;                       /* ... and the one it replaced */
	size_t n_before;
	bool persisted;                      /* want is what a restart will have */
	char persist_note[300];              /* why not, or how it failed; "" if it did not */
	bool wrote_file;
	char *prev_id;                       /* recreateSubscription: the id it replaces */
	uint64_t call_seq;                   /* the API call the current command waits for */
};

/* What an API call's callback is given: a call outlives its command when the command
 * timed out, so the answer only counts for the command that made it. Freed by the
 * callback (rc_api calls it exactly once). */
struct ctl_call {
	struct rc_ctl *c;
	uint64_t seq;
};

struct rc_ctl *rc_ctl_new(const struct rc_ctl_env *env, size_t max_queued,
		int64_t command_timeout_ms)
{
	struct rc_ctl *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->env = *env;
	c->timeout_ms = command_timeout_ms;
	c->cap = max_queued > 0 ? max_queued : 1;
	c->queue = calloc(c->cap, sizeof(*c->queue));
	if (c->queue == NULL || pthread_mutex_init(&c->lock, NULL) != 0) {
		free(c->queue);
		free(c);
		return NULL;
	}
	return c;
}

int rc_ctl_submit(struct rc_ctl *c, struct rc_control_request *req)
{
	int rc = -1;

	pthread_mutex_lock(&c->lock);
	if (c->n < c->cap) {
		c->queue[(c->head + c->n) % c->cap] = req;
		c->n++;
		rc = 0;
	}
	pthread_mutex_unlock(&c->lock);
	return rc;
}

static struct rc_control_request *ctl__take(struct rc_ctl *c)
{
	struct rc_control_request *req = NULL;

	pthread_mutex_lock(&c->lock);
	if (c->n > 0) {
		req = c->queue[c->head];
		c->head = (c->head + 1) % c->cap;
		c->n--;
	}
	pthread_mutex_unlock(&c->lock);
	return req;
}

static void ctl__reset_command(struct rc_ctl *c)
{
	c->started = false;
	rc_strlist_free(c->want);
	rc_strlist_free(c->before);
	c->want = c->before = NULL;
	c->n_want = c->n_before = 0;
	c->persisted = false;
	c->persist_note[0] = '\0';
	c->wrote_file = false;
	free(c->prev_id);
	c->prev_id = NULL;
	/* An API call still out for this command (it timed out) must not answer the next
	 * one, which may make no call of its own. */
	c->call_seq++;
}

void rc_ctl_free(struct rc_ctl *c)
{
	if (c == NULL)
		return;
	ctl__reset_command(c);
	rc_control_request_free(c->cur);
	for (size_t i = 0; i < c->n; i++)
		rc_control_request_free(c->queue[(c->head + i) % c->cap]);
	free(c->queue);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* ---------------------------------------------------------------- shared answers */

void rc_ctl_answer_local(struct rc_control_command *cmd, struct rc_outbox *ob, int64_t wall_now)
{
	if (cmd->answered)
		return;
	if (cmd->kind == RC_CTL_GET_STATUS) {
		size_t len = 0;
		rc_outbox_lock(ob);
		char *status = rc_status_to_json(&ob->status, wall_now, &len);
		rc_outbox_unlock(ob);
		rc_control_answer_status(cmd, status, len);
		free(status);
	} else if (cmd->kind == RC_CTL_SET_LOG_LEVEL) {
		int previous = rc_outbox_set_log_level(ob, (enum rc_log_level)cmd->level);
		json_object *data = json_object_new_object();
		rc_json_set(data, "level", json_object_new_string(rc_control_level_name(cmd->level)));
		rc_json_set(data, "previousLevel",
				json_object_new_string(rc_control_level_name(previous)));
		rc_control_ok(cmd, data);
		/* Said at notice level, so that it shows whatever the new level. */
		rc_outbox_log(ob, RC_LOG_NOTICE, "ringcentral: log level %s (was %s), set by the control API",
				rc_control_level_name(cmd->level), rc_control_level_name(previous));
	}
}

struct rc_outbox_msg *rc_ctl_response_msg(const struct rc_control_request *req, const char *topic)
{
	struct rc_outbox_msg *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	m->topic = strdup(req->response_topic != NULL ? req->response_topic : topic);
	m->payload = rc_control_response(req, &m->payload_len);
	m->has_options = true;
	m->own = true;
	m->qos = 1;
	m->retain = false;
	if (req->correlation_len > 0 && (m->correlation = malloc(req->correlation_len)) != NULL) {
		memcpy(m->correlation, req->correlation, req->correlation_len);
		m->correlation_len = req->correlation_len;
	}
	if (m->topic == NULL || m->payload == NULL ||
			(req->correlation_len > 0 && m->correlation == NULL)) {
		rc_outbox_msg_free(m);
		return NULL;
	}
	return m;
}

/* ---------------------------------------------------------------- helpers */

static bool ctl__has_live_sub(const struct rc_ctl *c)
{
	return c->env.lc->has_sub && c->env.lc->sub_confirmed && c->env.slot->sub.id != NULL;
}

static void ctl__sync_filters(struct rc_ctl *c)
{
	rc_lifecycle_set_filters_dirty(c->env.lc, rc_sub_filters_differ(c->env.slot,
			*c->env.desired, *c->env.n_desired));
	rc_sink_changed(c->env.sink);
}

/* The desired set becomes list (taken). */
static void ctl__set_desired(struct rc_ctl *c, char **list, size_t n)
{
	rc_strlist_free(*c->env.desired);
	*c->env.desired = list;
	*c->env.n_desired = n;
	ctl__sync_filters(c);
	if (c->env.filters_changed != NULL)
		c->env.filters_changed(c->env.arg);
}

/* Writes set to filters_file: the set less the filters the event_filter lines give (they
 * come back at every start anyway). Sets c->persisted and c->persist_note. */
static void ctl__persist(struct rc_ctl *c, char *const *set, size_t n, const char *what)
{
	const struct rc_config *cfg = c->env.cfg;
	char **file = calloc(1, sizeof(*file));
	size_t n_file = 0;
	char err[256];

	c->persisted = false;
	if (cfg->filters_file == NULL) {
		snprintf(c->persist_note, sizeof(c->persist_note),
				"no filters_file is configured: the change lasts until the broker restarts");
		free(file);
		return;
	}
	for (size_t i = 0; file != NULL && i < n; i++)
		if (!rc_strlist_contains(cfg->event_filters, cfg->n_event_filters, set[i]) &&
				rc_strlist_add_unique(&file, &n_file, set[i]) != 0) {
			rc_strlist_free(file);
			file = NULL;
		}
	char header[200];
	char when[40];
	rc_ms_to_iso8601(rc_clock_wall_ms(), when, sizeof(when));
	snprintf(header, sizeof(header), "Event filters of mosquitto-ringcentral, written by the control API (%s)\n"
			"at %s. One filter per line; re-read on SIGHUP.", what, when);
	if (file == NULL) {
		snprintf(c->persist_note, sizeof(c->persist_note), "not written to %s: out of memory",
				cfg->filters_file);
	} else if (rc_filters_file_write(cfg->filters_file, file, n_file, header, err, sizeof(err)) != 0) {
		snprintf(c->persist_note, sizeof(c->persist_note), "%s", err);
		rc_sink_log(c->env.sink, RC_LOG_WARNING, "control API: %s", err);
	} else {
		c->wrote_file = true;
		/* A filter of an event_filter line that the set dropped comes back at a restart. */
		bool all = true;
		for (size_t i = 0; i < cfg->n_event_filters; i++)
			if (!rc_strlist_contains(set, n, cfg->event_filters[i]))
				all = false;
		c->persisted = all;
		if (!all)
			snprintf(c->persist_note, sizeof(c->persist_note),
					"written to %s, but a removed filter given by a plugin_opt_event_filter line "
					"comes back when the broker restarts", cfg->filters_file);
	}
	rc_strlist_free(file);
}

/* ---------------------------------------------------------------- the commands */

static void ctl__answer_filters(struct rc_ctl *c, struct rc_control_command *cmd)
{
	json_object *data = json_object_new_object();
	const struct rc_subscription *s = &c->env.slot->sub;

	rc_json_set(data, "eventFilters", rc_json_strings(s->event_filters, s->n_event_filters));
	rc_json_set(data, "disabledFilters", rc_control_disabled_filters(s));
	rc_json_set(data, "requestedFilters", rc_json_strings(c->want, c->n_want));
	rc_json_set(data, "subscriptionId", rc_json_string_or_null(s->id));
	rc_json_set(data, "persisted", json_object_new_boolean(c->persisted));
	rc_json_set(data, "filtersFile", rc_json_string_or_null(c->env.cfg->filters_file));
	if (c->persist_note[0] != '\0')
		rc_json_set(data, "note", json_object_new_string(c->persist_note));
	rc_control_ok(cmd, data);
}

static void ctl__get_filters(struct rc_ctl *c, struct rc_control_command *cmd)
{
	json_object *data = json_object_new_object();
	const struct rc_subscription *s = &c->env.slot->sub;
	bool live = ctl__has_live_sub(c);

	rc_json_set(data, "eventFilters", rc_json_strings(*c->env.desired, *c->env.n_desired));
	rc_json_set(data, "serverEventFilters", live ?
			rc_json_strings(s->event_filters, s->n_event_filters) : NULL);
	rc_json_set(data, "disabledFilters", live ? rc_control_disabled_filters(s) :
			json_object_new_array());
	rc_json_set(data, "pending", json_object_new_boolean(c->env.lc->filters_dirty));
	rc_json_set(data, "subscriptionId", live ? json_object_new_string(s->id) : NULL);
	rc_json_set(data, "filtersFile", rc_json_string_or_null(c->env.cfg->filters_file));
	rc_control_ok(cmd, data);
}

static void ctl__start_filters(struct rc_ctl *c, struct rc_control_command *cmd)
{
	char err[200];
	bool changed = false;

	if (rc_control_filters_apply(cmd, *c->env.desired, *c->env.n_desired, &c->want, &c->n_want,
			&changed, err, sizeof(err)) != 0) {
		rc_control_fail(cmd, "%s", err);
		return;
	}
	if (!changed) {
		c->persisted = c->env.cfg->filters_file != NULL;
		snprintf(c->persist_note, sizeof(c->persist_note), "the event filters are unchanged");
		return; /* answered by ctl__check once the server has this set (it may already) */
	}
	c->before = rc_strlist_copy(*c->env.desired, *c->env.n_desired);
	c->n_before = *c->env.n_desired;
	char **mine = rc_strlist_copy(c->want, c->n_want);
	if (c->before == NULL || mine == NULL) {
		rc_strlist_free(mine);
		rc_control_fail(cmd, "out of memory");
		return;
	}
	ctl__persist(c, c->want, c->n_want, cmd->name);
	ctl__set_desired(c, mine, c->n_want);
	rc_sink_log(c->env.sink, RC_LOG_NOTICE,
			"control API: %s: %zu event filter(s); updating the subscription", cmd->name, c->n_want);
}

/* A RingCentral error answer as the command's error: the text, and the HTTP status,
 * errorCode, message and (for a 429) the seconds until calls go out again as members of
 * the answer. The error texts are escaped and bounded by rc_api_error_parse. */
static void ctl__api_error(struct rc_ctl *c, struct rc_control_command *cmd, const char *what,
		long status, const char *body, size_t len, int64_t now)
{
	struct rc_api_error e;
	char text[300];
	json_object *detail = json_object_new_object();

	rc_api_error_parse(body, len, &e);
	rc_http_describe_status(status, body, len, text, sizeof(text));
	rc_json_set(detail, "httpStatus", json_object_new_int((int)status));
	if (e.code[0] != '\0')
		rc_json_set(detail, "errorCode", json_object_new_string(e.code));
	if (e.message[0] != '\0')
		rc_json_set(detail, "errorMessage", json_object_new_string(e.message));
	if (status == 429) {
		/* The API door moved the shared window to the end of Retry-After before this. */
		int64_t wait = c->env.lc->api_blocked_until - now;
		long secs = wait > 0 ? (long)((wait + 999) / 1000) : 0;
		rc_json_set(detail, "retryAfter", json_object_new_int64(secs));
		rc_control_fail_detail(cmd, detail, "%s: %s (rate limited: RingCentral API calls of "
				"the bridge wait %ld s)", what, text, secs);
		return;
	}
	rc_control_fail_detail(cmd, detail, "%s: %s", what, text);
}

static json_object *ctl__member(json_object *o, const char *key)
{
	json_object *v = NULL;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) || v == NULL ||
			json_object_is_type(v, json_type_object) || json_object_is_type(v, json_type_array))
		return NULL;
	/* A string either way: ids are numbers in some answers and strings in others. */
	return json_object_new_string(json_object_get_string(v));
}

/* The success data of setPresence and sendSms, from RingCentral's answer. */
static json_object *ctl__api_data(const struct rc_control_command *cmd, const char *body, size_t len)
{
	json_object *root = NULL, *data = json_object_new_object();

	if (data == NULL || rc_json_parse(body, len, &root) != RC_JSON_OK ||
			!json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		return data;
	}
	if (cmd->kind == RC_CTL_SET_PRESENCE) {
		static const char *const keys[] = { "dndStatus", "userStatus", "presenceStatus",
			"telephonyStatus" };
		json_object *ext = NULL;
		json_object_object_get_ex(root, "extension", &ext);
		json_object *id = ctl__member(ext, "id");
		rc_json_set(data, "extensionId", id != NULL ? id :
				json_object_new_string(cmd->extension_id));
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			rc_json_set(data, keys[i], ctl__member(root, keys[i]));
	} else {
		rc_json_set(data, "id", ctl__member(root, "id"));
		rc_json_set(data, "messageStatus", ctl__member(root, "messageStatus"));
		rc_json_set(data, "to", rc_json_strings(cmd->to, cmd->n_to));
	}
	json_object_put(root);
	return data;
}

static void ctl__api_done(void *arg, long status, const char *body, size_t len, const char *error)
{
	struct ctl_call *call = arg;
	struct rc_ctl *c = call->c;
	bool mine = c->cur != NULL && c->cur->next < c->cur->n && c->call_seq == call->seq;

	free(call);
	if (!mine)
		return;
	struct rc_control_command *cmd = &c->cur->cmds[c->cur->next];
	const char *what = cmd->kind == RC_CTL_LIST_SERVER_SUBSCRIPTIONS ? "listing the subscriptions failed" :
			cmd->kind == RC_CTL_SET_PRESENCE ? "setting the presence failed" : "sending the SMS failed";
	if (cmd->answered)
		return;
	if (error != NULL) {
		rc_control_fail(cmd, "%s: %s", what, error);
	} else if (status < 200 || status >= 300) {
		ctl__api_error(c, cmd, what, status, body, len, rc_clock_now_ms());
	} else if (cmd->kind == RC_CTL_LIST_SERVER_SUBSCRIPTIONS) {
		const struct rc_sub_slot *slot = c->env.slot;
		json_object *data = rc_control_subscriptions_data(body, len,
				ctl__has_live_sub(c) ? slot->sub.id : NULL, slot->owned, slot->n_owned);
		if (data == NULL)
			rc_control_fail(cmd, "unreadable subscription list");
		else
			rc_control_ok(cmd, data);
	} else {
		rc_control_ok(cmd, ctl__api_data(cmd, body, len));
		if (cmd->kind == RC_CTL_SET_PRESENCE)
			rc_sink_log(c->env.sink, RC_LOG_NOTICE, "command: presence of extension %s set%s%s%s%s",
					cmd->extension_id, cmd->dnd_status != NULL ? ", dndStatus " : "",
					cmd->dnd_status != NULL ? cmd->dnd_status : "",
					cmd->user_status != NULL ? ", userStatus " : "",
					cmd->user_status != NULL ? cmd->user_status : "");
		else
			/* Neither the text nor the recipients: user data. */
			rc_sink_log(c->env.sink, RC_LOG_NOTICE, "command: SMS sent to %zu recipient(s)", cmd->n_to);
	}
}

/* Submits the current command's API call; false if the door refused it. */
static bool ctl__call(struct rc_ctl *c, const char *method, const char *path, const char *body,
		int64_t now)
{
	struct ctl_call *call = malloc(sizeof(*call));

	if (call == NULL)
		return false;
	call->c = c;
	call->seq = ++c->call_seq;
	if (rc_api_submit(c->env.api, method, path, body, now, ctl__api_done, call) != 0) {
		free(call);
		return false;
	}
	return true;
}

/* Submits body (taken), serialised with json-c's flags, as the current command's API call;
 * the command fails at once if it cannot be sent. */
static void ctl__call_json(struct rc_ctl *c, struct rc_control_command *cmd, const char *method,
		const char *path, json_object *body, int flags, int64_t now)
{
	const char *text = body != NULL ? json_object_to_json_string_ext(body, flags) : NULL;

	if (text == NULL)
		rc_control_fail(cmd, "out of memory");
	else if (!ctl__call(c, method, path, text, now))
		rc_control_fail(cmd, "too many API calls waiting; try again later");
	json_object_put(body);
}

static void ctl__start_presence(struct rc_ctl *c, struct rc_control_command *cmd, int64_t now)
{
	json_object *body = json_object_new_object();
	char path[128];

	snprintf(path, sizeof(path), "/restapi/v1.0/account/~/extension/%s/presence", cmd->extension_id);
	if (cmd->dnd_status != NULL)
		rc_json_set(body, "dndStatus", json_object_new_string(cmd->dnd_status));
	if (cmd->user_status != NULL)
		rc_json_set(body, "userStatus", json_object_new_string(cmd->user_status));
	ctl__call_json(c, cmd, "PUT", path, body, JSON_C_TO_STRING_PLAIN, now);
}

static void ctl__start_sms(struct rc_ctl *c, struct rc_control_command *cmd, int64_t now)
{
	json_object *body = json_object_new_object(), *from = json_object_new_object();
	json_object *to = json_object_new_array();

	if (c->env.cfg->sms_from == NULL) {
		/* The configuration refuses command_sms without sms_from; this is belt and braces. */
		rc_control_fail(cmd, "no sending number: set plugin_opt_sms_from");
		json_object_put(body);
		json_object_put(from);
		json_object_put(to);
		return;
	}
	rc_json_set(from, "phoneNumber", json_object_new_string(c->env.cfg->sms_from));
	rc_json_set(body, "from", from);
	for (size_t i = 0; to != NULL && i < cmd->n_to; i++) {
		json_object *one = json_object_new_object();
		rc_json_set(one, "phoneNumber", json_object_new_string(cmd->to[i]));
		json_object_array_add(to, one);
	}
	rc_json_set(body, "to", to);
	rc_json_set(body, "text", json_object_new_string(cmd->text));
	ctl__call_json(c, cmd, "POST", SMS_PATH, body, JSON_C_TO_STRING_PLAIN |
			JSON_C_TO_STRING_NOSLASHESCAPE, now);
}

static void ctl__start(struct rc_ctl *c, struct rc_control_command *cmd, int64_t now)
{
	const char *state = rc_lc_state_name(c->env.lc->state);

	switch (cmd->kind) {
	case RC_CTL_GET_STATUS:
	case RC_CTL_SET_LOG_LEVEL:
		rc_ctl_answer_local(cmd, c->env.outbox, rc_clock_wall_ms());
		break;
	case RC_CTL_GET_EVENT_FILTERS:
		ctl__get_filters(c, cmd);
		break;
	case RC_CTL_SET_EVENT_FILTERS:
	case RC_CTL_ADD_EVENT_FILTER:
	case RC_CTL_REMOVE_EVENT_FILTER:
		ctl__start_filters(c, cmd);
		break;
	case RC_CTL_RENEW_NOW:
		if (!rc_lifecycle_renew_now(c->env.lc))
			rc_control_fail(cmd, "no active subscription to renew (lifecycle: %s)", state);
		break;
	case RC_CTL_RECREATE_SUBSCRIPTION:
		if (c->env.lc->state == RC_LC_STOPPING || c->env.lc->state == RC_LC_STOPPED) {
			rc_control_fail(cmd, "the bridge is stopping");
			break;
		}
		c->prev_id = c->env.slot->sub.id != NULL ? strdup(c->env.slot->sub.id) : NULL;
		/* Without a subscription one is being created anyway: its CREATE answers. */
		rc_lifecycle_recreate(c->env.lc);
		rc_sink_log(c->env.sink, RC_LOG_NOTICE, "control API: recreating the subscription");
		break;
	case RC_CTL_LIST_SERVER_SUBSCRIPTIONS:
		if (!ctl__call(c, "GET", SUBSCRIPTIONS_PATH, NULL, now))
			rc_control_fail(cmd, "too many API calls waiting; try again later");
		break;
	case RC_CTL_SET_PRESENCE:
		ctl__start_presence(c, cmd, now);
		break;
	case RC_CTL_SEND_SMS:
		ctl__start_sms(c, cmd, now);
		break;
	case RC_CTL_INVALID:
		break;
	}
}

/* Progress that shows in the worker's state rather than in an action's end. */
static void ctl__check(struct rc_ctl *c, struct rc_control_command *cmd)
{
	switch (cmd->kind) {
	case RC_CTL_SET_EVENT_FILTERS:
	case RC_CTL_ADD_EVENT_FILTER:
	case RC_CTL_REMOVE_EVENT_FILTER:
		/* Done once a request carrying this set was accepted and nothing is pending. */
		if (ctl__has_live_sub(c) && !c->env.lc->filters_dirty &&
				rc_strlist_same_set(c->env.slot->accepted, c->env.slot->n_accepted, c->want, c->n_want))
			ctl__answer_filters(c, cmd);
		break;
	case RC_CTL_RENEW_NOW:
		/* Neither asked for nor in flight any more, without an answer: the subscription went. */
		if (!c->env.lc->renew_requested && c->env.lc->in_flight != RC_ACT_RENEW &&
				c->env.lc->in_flight != RC_ACT_CHECK)
			rc_control_fail(cmd, "the subscription was lost before it could be renewed; "
					"subscribing again");
		break;
	default:
		break;
	}
}

void rc_ctl_action_done(struct rc_ctl *c, enum rc_lc_action act, enum rc_lc_outcome out,
		char *const *sent, size_t n_sent, const char *what, int64_t now)
{
	(void)now;
	if (c->cur == NULL || c->cur->next >= c->cur->n || !c->started)
		return;
	struct rc_control_command *cmd = &c->cur->cmds[c->cur->next];
	if (cmd->answered)
		return;
	const struct rc_subscription *s = &c->env.slot->sub;
	switch (cmd->kind) {
	case RC_CTL_SET_EVENT_FILTERS:
	case RC_CTL_ADD_EVENT_FILTER:
	case RC_CTL_REMOVE_EVENT_FILTER:
		if ((act == RC_ACT_CREATE || act == RC_ACT_MODIFY) && out == RC_OUT_REJECTED &&
				c->before != NULL && rc_strlist_same_set(sent, n_sent, c->want, c->n_want)) {
			/* The server will not take this set: retrying it would only fail again. */
			if (rc_strlist_same_set(*c->env.desired, *c->env.n_desired, c->want, c->n_want)) {
				char **back = rc_strlist_copy(c->before, c->n_before);
				if (back != NULL) {
					ctl__set_desired(c, back, c->n_before);
					if (c->wrote_file)
						ctl__persist(c, c->before, c->n_before, "restored after a refusal");
				}
			}
			rc_control_fail(cmd, "the server refused the event filters (%s); the previous set "
					"is kept", what != NULL ? what : "rejected");
			rc_sink_log(c->env.sink, RC_LOG_WARNING,
					"control API: %s refused by the server; the previous event filters are kept",
					cmd->name);
		}
		break;
	case RC_CTL_RENEW_NOW:
		if (act != RC_ACT_RENEW && act != RC_ACT_CHECK)
			break;
		if (out == RC_OUT_OK) {
			json_object *data = json_object_new_object();
			rc_json_set(data, "subscriptionId", rc_json_string_or_null(s->id));
			rc_json_set(data, "expirationTime", rc_json_string_or_null(s->expiration_time));
			rc_json_set(data, "action", json_object_new_string(act == RC_ACT_RENEW ?
					"renew" : "check"));
			rc_control_ok(cmd, data);
		} else {
			rc_control_fail(cmd, "%s failed: %s", rc_lc_action_name(act), what != NULL ? what : "?");
		}
		break;
	case RC_CTL_RECREATE_SUBSCRIPTION:
		if (act != RC_ACT_CREATE)
			break;
		if (out == RC_OUT_OK) {
			json_object *data = json_object_new_object();
			rc_json_set(data, "previousSubscriptionId", rc_json_string_or_null(c->prev_id));
			rc_json_set(data, "subscriptionId", rc_json_string_or_null(s->id));
			rc_json_set(data, "expirationTime", rc_json_string_or_null(s->expiration_time));
			rc_control_ok(cmd, data);
		} else {
			rc_control_fail(cmd, "create failed: %s; the bridge keeps trying",
					what != NULL ? what : "?");
		}
		break;
	default:
		break;
	}
}

static void ctl__send(struct rc_ctl *c, struct rc_control_request *req)
{
	struct rc_outbox_msg *m = rc_ctl_response_msg(req, c->env.response_topic);

	if (m == NULL || rc_outbox_push(c->env.outbox, m) == 0)
		rc_sink_log(c->env.sink, RC_LOG_WARNING, "control API: a response could not be queued");
}

void rc_ctl_step(struct rc_ctl *c, int64_t now, int64_t *wake_at)
{
	for (;;) {
		if (c->cur == NULL && (c->cur = ctl__take(c)) == NULL)
			return;
		struct rc_control_request *req = c->cur;
		while (req->next < req->n) {
			struct rc_control_command *cmd = &req->cmds[req->next];
			if (!cmd->answered && !c->started) {
				c->started = true;
				c->deadline = now + c->timeout_ms;
				ctl__start(c, cmd, now);
			}
			if (!cmd->answered)
				ctl__check(c, cmd);
			if (!cmd->answered && now >= c->deadline)
				rc_control_fail(cmd, "not done within %lld s; what it started is still under way",
						(long long)(c->timeout_ms / 1000));
			if (!cmd->answered) {
				if (c->deadline < *wake_at)
					*wake_at = c->deadline;
				return;
			}
			ctl__reset_command(c);
			req->next++;
		}
		ctl__send(c, req);
		rc_control_request_free(req);
		c->cur = NULL;
	}
}
