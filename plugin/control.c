/* control.c - control API requests parsed, answered and rendered (see rc_control.h).
 *
 * Everything a client can get wrong is caught here, on the broker thread, before anything
 * reaches the worker: the worker only ever sees commands with their fields validated. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "rc_control.h"
#include "rc_utf8.h"
#include "rc_json.h"
#include "rc_outbox.h"
#include "rc_rest.h"
#include "rc_strlist.h"

#define CONTROL_NAME_MAX 128  /* an unknown command's name is echoed up to this length */

static const struct {
	const char *name;
	enum rc_control_kind kind;
} control__commands[] = {
	{ "getStatus", RC_CTL_GET_STATUS },
	{ "getEventFilters", RC_CTL_GET_EVENT_FILTERS },
	{ "setEventFilters", RC_CTL_SET_EVENT_FILTERS },
	{ "addEventFilter", RC_CTL_ADD_EVENT_FILTER },
	{ "removeEventFilter", RC_CTL_REMOVE_EVENT_FILTER },
	{ "renewNow", RC_CTL_RENEW_NOW },
	{ "recreateSubscription", RC_CTL_RECREATE_SUBSCRIPTION },
	{ "listServerSubscriptions", RC_CTL_LIST_SERVER_SUBSCRIPTIONS },
	{ "setLogLevel", RC_CTL_SET_LOG_LEVEL },
	{ "setPresence", RC_CTL_SET_PRESENCE },
	{ "sendSms", RC_CTL_SEND_SMS },
};

/* RingCentral's PresenceInfo values (PUT .../presence). */
static const char *const control__dnd[] = {
	"TakeAllCalls", "DoNotAcceptAnyCalls", "DoNotAcceptDepartmentCalls", "TakeDepartmentCallsOnly",
};
static const char *const control__user[] = { "Available", "Busy", "Offline" };

static const char *control__one_of(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; s != NULL && i < n; i++)
		if (strcasecmp(s, list[i]) == 0)
			return list[i];
	return NULL;
}

const char *rc_control_dnd_status(const char *s)
{
	return control__one_of(s, control__dnd, sizeof(control__dnd) / sizeof(control__dnd[0]));
}

const char *rc_control_user_status(const char *s)
{
	return control__one_of(s, control__user, sizeof(control__user) / sizeof(control__user[0]));
}

bool rc_control_e164(const char *s)
{
	size_t n = 0;

	if (s == NULL || s[0] != '+')
		return false;
	for (const char *c = s + 1; *c != '\0'; c++, n++)
		if (*c < '0' || *c > '9')
			return false;
	return n >= 7 && n <= 15;
}

static const char *const control__levels[] = {
	[RC_LOG_ERR] = "error", [RC_LOG_WARNING] = "warning", [RC_LOG_NOTICE] = "notice",
	[RC_LOG_INFO] = "info", [RC_LOG_DEBUG] = "debug",
};

int rc_control_level_from_name(const char *name)
{
	for (size_t i = 0; i < sizeof(control__levels) / sizeof(control__levels[0]); i++)
		if (strcasecmp(name, control__levels[i]) == 0)
			return (int)i;
	return -1;
}

const char *rc_control_level_name(int level)
{
	if (level < 0 || (size_t)level >= sizeof(control__levels) / sizeof(control__levels[0]))
		return "unknown";
	return control__levels[level];
}

bool rc_control_needs_worker(enum rc_control_kind kind)
{
	switch (kind) {
	case RC_CTL_INVALID:
	case RC_CTL_GET_STATUS:
	case RC_CTL_SET_LOG_LEVEL:
		return false;
	default:
		return true;
	}
}

bool rc_control_request_needs_worker(const struct rc_control_request *req)
{
	for (size_t i = 0; i < req->n; i++)
		if (!req->cmds[i].answered && rc_control_needs_worker(req->cmds[i].kind))
			return true;
	return false;
}

bool rc_control_request_done(const struct rc_control_request *req)
{
	for (size_t i = 0; i < req->n; i++)
		if (!req->cmds[i].answered)
			return false;
	return true;
}

void rc_control_ok(struct rc_control_command *cmd, json_object *data)
{
	json_object_put(cmd->data);
	free(cmd->error);
	cmd->error = NULL;
	cmd->data = data;
	cmd->answered = true;
}

static void control__vfail(struct rc_control_command *cmd, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

static void control__vfail(struct rc_control_command *cmd, const char *fmt, va_list ap)
{
	char *text = NULL;

	if (vasprintf(&text, fmt, ap) < 0)
		text = NULL;
	json_object_put(cmd->data);
	cmd->data = NULL;
	json_object_put(cmd->detail);
	cmd->detail = NULL;
	free(cmd->error);
	/* No memory: still an error, with no words to it. */
	cmd->error = text != NULL ? text : strdup("");
	cmd->answered = true;
}

void rc_control_fail(struct rc_control_command *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	control__vfail(cmd, fmt, ap);
	va_end(ap);
}

void rc_control_fail_detail(struct rc_control_command *cmd, json_object *detail,
		const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	control__vfail(cmd, fmt, ap);
	va_end(ap);
	cmd->detail = detail;
}

void rc_control_fail_all(struct rc_control_request *req, const char *fmt, ...)
{
	for (size_t i = 0; i < req->n; i++) {
		if (req->cmds[i].answered)
			continue;
		va_list ap;
		va_start(ap, fmt);
		control__vfail(&req->cmds[i], fmt, ap);
		va_end(ap);
	}
}

static void control__command_free(struct rc_control_command *cmd)
{
	free(cmd->name);
	free(cmd->correlation);
	rc_strlist_free(cmd->filters);
	free(cmd->filter);
	free(cmd->error);
	json_object_put(cmd->data);
	json_object_put(cmd->detail);
	free(cmd->extension_id);
	free(cmd->dnd_status);
	free(cmd->user_status);
	rc_strlist_free(cmd->to);
	/* Not wiped: an SMS text is user data, never logged, but not a credential, and its
	 * other copies (the request body, json-c's strings) could not be wiped anyway. */
	free(cmd->text);
}

void rc_control_request_free(struct rc_control_request *req)
{
	if (req == NULL)
		return;
	for (size_t i = 0; i < req->n; i++)
		control__command_free(&req->cmds[i]);
	free(req->cmds);
	free(req->correlation);
	free(req->response_topic);
	free(req);
}

/* ---------------------------------------------------------------- parsing */

const char *rc_control_filter_problem(const char *filter)
{
	size_t len = strlen(filter);

	if (filter[0] != '/')
		return "an event filter must start with '/'";
	if (len > RC_CONTROL_MAX_FILTER_LEN)
		return "an event filter must not be longer than 2048 bytes";
	for (const char *c = filter; *c != '\0'; c++)
		if (isspace((unsigned char)*c) || iscntrl((unsigned char)*c))
			return "an event filter must not contain blanks or control characters";
	/* It ends up in the status JSON, the log and the filters file: UTF-8 only. */
	if (!rc_utf8_valid(filter, strlen(filter)))
		return "an event filter must be valid UTF-8";
	return NULL;
}

/* The command's own member `key` as a string: 1 found, 0 absent, -1 present but not a
 * string. */
static int control__string(json_object *cmd, const char *key, const char **out)
{
	json_object *v;

	*out = NULL;
	if (!json_object_object_get_ex(cmd, key, &v) || v == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return -1;
	*out = json_object_get_string(v);
	return 1;
}

static void control__parse_filters(struct rc_control_command *c, json_object *obj)
{
	json_object *arr;

	if (!json_object_object_get_ex(obj, "eventFilters", &arr) ||
			!json_object_is_type(arr, json_type_array)) {
		rc_control_fail(c, "Missing or invalid eventFilters (an array of strings)");
		return;
	}
	size_t n = json_object_array_length(arr);
	if (n == 0) {
		rc_control_fail(c, "eventFilters must not be empty");
		return;
	}
	if (n > RC_CONTROL_MAX_FILTERS) {
		rc_control_fail(c, "too many eventFilters (at most %d)", RC_CONTROL_MAX_FILTERS);
		return;
	}
	if ((c->filters = calloc(1, sizeof(*c->filters))) == NULL) {
		rc_control_fail(c, "out of memory");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *f = json_object_array_get_idx(arr, i);
		const char *problem;
		if (!json_object_is_type(f, json_type_string)) {
			rc_control_fail(c, "eventFilters[%zu] is not a string", i);
			return;
		}
		if ((problem = rc_control_filter_problem(json_object_get_string(f))) != NULL) {
			rc_control_fail(c, "eventFilters[%zu]: %s", i, problem);
			return;
		}
		if (rc_strlist_add_unique(&c->filters, &c->n_filters, json_object_get_string(f)) != 0) {
			rc_control_fail(c, "out of memory");
			return;
		}
	}
}

static void control__parse_one_filter(struct rc_control_command *c, json_object *obj)
{
	const char *f, *problem;

	if (control__string(obj, "eventFilter", &f) != 1) {
		rc_control_fail(c, "Missing or invalid eventFilter (a string)");
		return;
	}
	if ((problem = rc_control_filter_problem(f)) != NULL) {
		rc_control_fail(c, "eventFilter: %s", problem);
		return;
	}
	if ((c->filter = strdup(f)) == NULL)
		rc_control_fail(c, "out of memory");
}

static void control__parse_level(struct rc_control_command *c, json_object *obj)
{
	const char *name;

	if (control__string(obj, "level", &name) != 1 ||
			(c->level = rc_control_level_from_name(name)) < 0)
		rc_control_fail(c, "Missing or invalid level (error, warning, notice, info or debug)");
}

const char *rc_control_sms_text_problem(const char *text, size_t len)
{
	size_t chars = 0;

	if (len == 0)
		return "text must not be empty";
	if (memchr(text, '\0', len) != NULL || strlen(text) != len || !rc_utf8_valid(text, strlen(text)))
		return "text must be valid UTF-8 without NUL";
	for (size_t i = 0; i < len; i++)
		if (((unsigned char)text[i] & 0xC0) != 0x80)
			chars++;
	if (chars > RC_CONTROL_MAX_SMS_TEXT)
		return "text must not be longer than 1000 characters";
	return NULL;
}

/* setPresence: extensionId ("~" or digits; default "~"), dndStatus and/or userStatus. */
static void control__parse_presence(struct rc_control_command *c, json_object *obj)
{
	const char *ext = "~", *dnd = NULL, *user = NULL, *canon;
	int r;

	if ((r = control__string(obj, "extensionId", &ext)) == -1 || (r == 1 && !(strcmp(ext, "~") == 0 ||
			(strlen(ext) > 0 && strlen(ext) <= 32 && strspn(ext, "0123456789") == strlen(ext))))) {
		rc_control_fail(c, "Invalid extensionId (\"~\" or the extension's numeric id)");
		return;
	}
	if (r == 0)
		ext = "~";
	if ((r = control__string(obj, "dndStatus", &dnd)) == -1 ||
			(r == 1 && (canon = rc_control_dnd_status(dnd)) == NULL)) {
		rc_control_fail(c, "Invalid dndStatus (TakeAllCalls, DoNotAcceptAnyCalls, "
				"DoNotAcceptDepartmentCalls or TakeDepartmentCallsOnly)");
		return;
	}
	if (r == 1 && (c->dnd_status = strdup(canon)) == NULL)
		goto nomem;
	if ((r = control__string(obj, "userStatus", &user)) == -1 ||
			(r == 1 && (canon = rc_control_user_status(user)) == NULL)) {
		rc_control_fail(c, "Invalid userStatus (Available, Busy or Offline)");
		return;
	}
	if (r == 1 && (c->user_status = strdup(canon)) == NULL)
		goto nomem;
	if (c->dnd_status == NULL && c->user_status == NULL) {
		rc_control_fail(c, "Missing dndStatus or userStatus");
		return;
	}
	if ((c->extension_id = strdup(ext)) == NULL)
		goto nomem;
	return;
nomem:
	rc_control_fail(c, "out of memory");
}

/* sendSms: to (an E.164 string or an array of 1 to 10), text. */
static void control__parse_sms(struct rc_control_command *c, json_object *obj)
{
	json_object *to;
	const char *text, *problem;

	if (!json_object_object_get_ex(obj, "to", &to) || to == NULL ||
			!(json_object_is_type(to, json_type_string) || json_object_is_type(to, json_type_array))) {
		rc_control_fail(c, "Missing or invalid to (an E.164 number such as +15551234567, or an "
				"array of them)");
		return;
	}
	size_t n = json_object_is_type(to, json_type_array) ? json_object_array_length(to) : 1;
	if (n == 0 || n > RC_CONTROL_MAX_SMS_TO) {
		rc_control_fail(c, "to must name 1 to %d numbers", RC_CONTROL_MAX_SMS_TO);
		return;
	}
	if ((c->to = calloc(1, sizeof(*c->to))) == NULL)
		goto nomem;
	for (size_t i = 0; i < n; i++) {
		json_object *one = json_object_is_type(to, json_type_array) ?
				json_object_array_get_idx(to, i) : to;
		if (!json_object_is_type(one, json_type_string) ||
				!rc_control_e164(json_object_get_string(one))) {
			rc_control_fail(c, "Invalid to (an E.164 number such as +15551234567: '+' and 7 to "
					"15 digits)");
			return;
		}
		if (rc_strlist_add_unique(&c->to, &c->n_to, json_object_get_string(one)) != 0)
			goto nomem;
	}
	if (control__string(obj, "text", &text) != 1) {
		rc_control_fail(c, "Missing or invalid text (a string)");
		return;
	}
	size_t len = (size_t)json_object_get_string_len(json_object_object_get(obj, "text"));
	if ((problem = rc_control_sms_text_problem(text, len)) != NULL) {
		rc_control_fail(c, "%s", problem);
		return;
	}
	if ((c->text = strdup(text)) == NULL)
		goto nomem;
	return;
nomem:
	rc_control_fail(c, "out of memory");
}

/* One element of "commands". */
void rc_control_parse_command(struct rc_control_command *c, json_object *obj)
{
	const char *name, *corr;

	c->kind = RC_CTL_INVALID;
	if (!json_object_is_type(obj, json_type_object)) {
		c->name = strdup("Unknown command");
		rc_control_fail(c, "Command not an object");
		return;
	}
	int has_corr = control__string(obj, "correlationData", &corr);
	if (has_corr == 1 && strlen(corr) <= RC_CONTROL_MAX_CORRELATION)
		c->correlation = strdup(corr);
	if (control__string(obj, "command", &name) != 1) {
		c->name = strdup("Unknown command");
		rc_control_fail(c, "Missing command");
		return;
	}
	for (size_t i = 0; i < sizeof(control__commands) / sizeof(control__commands[0]); i++) {
		if (strcasecmp(name, control__commands[i].name) == 0) {
			c->kind = control__commands[i].kind;
			c->name = strdup(control__commands[i].name);
			break;
		}
	}
	if (c->kind == RC_CTL_INVALID) {
		/* Cut on a character boundary: the name goes back in a JSON answer. */
		size_t len = strnlen(name, CONTROL_NAME_MAX);
		while (len > 0 && len < strlen(name) && ((unsigned char)name[len] & 0xc0) == 0x80)
			len--;
		c->name = strndup(name, len);
		rc_control_fail(c, "Unknown command");
		return;
	}
	if (has_corr == -1 || (has_corr == 1 && c->correlation == NULL)) {
		rc_control_fail(c, "Invalid correlationData (a string of at most %d bytes)",
				RC_CONTROL_MAX_CORRELATION);
		return;
	}
	switch (c->kind) {
	case RC_CTL_SET_EVENT_FILTERS:
		control__parse_filters(c, obj);
		break;
	case RC_CTL_ADD_EVENT_FILTER:
	case RC_CTL_REMOVE_EVENT_FILTER:
		control__parse_one_filter(c, obj);
		break;
	case RC_CTL_SET_LOG_LEVEL:
		control__parse_level(c, obj);
		break;
	case RC_CTL_SET_PRESENCE:
		control__parse_presence(c, obj);
		break;
	case RC_CTL_SEND_SMS:
		control__parse_sms(c, obj);
		break;
	default:
		break;
	}
}

/* A request with one command, answered with err (dynamic-security's shape). */
static struct rc_control_request *control__single_error(struct rc_control_request *req,
		const char *err)
{
	req->cmds = calloc(1, sizeof(*req->cmds));
	if (req->cmds == NULL) {
		rc_control_request_free(req);
		return NULL;
	}
	req->n = 1;
	req->cmds[0].name = strdup("Unknown command");
	rc_control_fail(&req->cmds[0], "%s", err);
	return req;
}

struct rc_control_request *rc_control_parse(const char *payload, size_t len,
		const void *correlation, size_t correlation_len)
{
	struct rc_control_request *req = calloc(1, sizeof(*req));
	json_object *root = NULL, *commands;

	if (req == NULL)
		return NULL;
	if (correlation != NULL && correlation_len > 0) {
		if ((req->correlation = malloc(correlation_len)) == NULL) {
			free(req);
			return NULL;
		}
		memcpy(req->correlation, correlation, correlation_len);
		req->correlation_len = correlation_len;
	}
	if (len > RC_CONTROL_MAX_PAYLOAD)
		return control__single_error(req, "Payload too large (at most 1048576 bytes)");
	enum rc_json_result jr = rc_json_parse(payload, len, &root);
	if (jr == RC_JSON_NOMEM) {
		rc_control_request_free(req);
		return NULL;
	}
	if (jr != RC_JSON_OK)
		return control__single_error(req, "Payload not valid JSON");
	if (!json_object_is_type(root, json_type_object) ||
			!json_object_object_get_ex(root, "commands", &commands) ||
			!json_object_is_type(commands, json_type_array)) {
		json_object_put(root);
		return control__single_error(req, "Invalid/missing commands");
	}
	size_t n = json_object_array_length(commands);
	if (n == 0 || n > RC_CONTROL_MAX_COMMANDS) {
		json_object_put(root);
		return control__single_error(req, n == 0 ? "Empty commands" :
				"Too many commands in one request (at most 32)");
	}
	if ((req->cmds = calloc(n, sizeof(*req->cmds))) == NULL) {
		json_object_put(root);
		rc_control_request_free(req);
		return NULL;
	}
	req->n = n;
	for (size_t i = 0; i < n; i++)
		rc_control_parse_command(&req->cmds[i], json_object_array_get_idx(commands, i));
	json_object_put(root);
	return req;
}

/* ---------------------------------------------------------------- answers */

void rc_control_gate(struct rc_control_request *req, const struct rc_control_gates *g)
{
	for (size_t i = 0; i < req->n; i++) {
		struct rc_control_command *c = &req->cmds[i];
		if (c->answered)
			continue;
		if (c->kind == RC_CTL_SET_PRESENCE && !g->presence)
			rc_control_fail(c, "presence commands are disabled: set plugin_opt_command_presence true");
		else if (c->kind == RC_CTL_SEND_SMS && !g->sms)
			rc_control_fail(c, "SMS commands are disabled: set plugin_opt_command_sms true");
		else if (c->kind == RC_CTL_RECREATE_SUBSCRIPTION && !g->recreate)
			rc_control_fail(c, "the re-subscribe command is disabled: set %s",
					g->recreate_option != NULL ? g->recreate_option : "plugin_opt_control_api true");
	}
}

/* One command's answer: {"command", "error" and its detail | "data", "correlationData"}. */
static json_object *control__answer(const struct rc_control_command *c)
{
	json_object *r = json_object_new_object();

	if (r == NULL)
		return NULL;
	rc_json_set(r, "command",
			json_object_new_string(c->name != NULL ? c->name : "Unknown command"));
	if (!c->answered || c->error != NULL) {
		rc_json_set(r, "error",
				json_object_new_string(c->answered ? c->error : "Not answered"));
		if (c->answered && c->detail != NULL) {
			json_object_object_foreach(c->detail, key, val)
				rc_json_set(r, key, json_object_get(val));
		}
	} else if (c->data != NULL) {
		rc_json_set(r, "data", json_object_get(c->data));
	}
	if (c->correlation != NULL)
		rc_json_set(r, "correlationData", json_object_new_string(c->correlation));
	return r;
}

char *rc_control_response(const struct rc_control_request *req, size_t *len)
{
	json_object *root = json_object_new_object();
	json_object *list = json_object_new_array();
	char *out = NULL;

	if (root == NULL || list == NULL) {
		json_object_put(root);
		json_object_put(list);
		return NULL;
	}
	if (req->single && req->n == 1) {
		/* A command topic's answer: the one command's object itself. */
		json_object_put(root);
		json_object_put(list);
		if ((root = control__answer(&req->cmds[0])) == NULL)
			return NULL;
	} else {
		rc_json_set(root, "responses", list);
		for (size_t i = 0; i < req->n; i++) {
			json_object *r = control__answer(&req->cmds[i]);
			if (r == NULL)
				goto done;
			json_object_array_add(list, r);
		}
	}
	const char *text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN |
			JSON_C_TO_STRING_NOSLASHESCAPE);
	if (text != NULL && (out = strdup(text)) != NULL)
		*len = strlen(out);
done:
	json_object_put(root);
	return out;
}

void rc_control_answer_status(struct rc_control_command *cmd, const char *status_json, size_t len)
{
	json_object *status = NULL;

	if (status_json == NULL || rc_json_parse(status_json, len, &status) != RC_JSON_OK)
		rc_control_fail(cmd, "out of memory");
	else
		rc_control_ok(cmd, status);
}

int rc_control_filters_apply(const struct rc_control_command *cmd, char *const *current,
		size_t n, char ***out, size_t *n_out, bool *changed, char *err, size_t errlen)
{
	char **list = NULL;
	size_t len = 0;

	*out = NULL;
	*n_out = 0;
	switch (cmd->kind) {
	case RC_CTL_SET_EVENT_FILTERS:
		list = rc_strlist_copy(cmd->filters, cmd->n_filters);
		len = cmd->n_filters;
		break;
	case RC_CTL_ADD_EVENT_FILTER:
		list = rc_strlist_copy(current, n);
		len = n;
		if (list != NULL && rc_strlist_add_unique(&list, &len, cmd->filter) != 0) {
			rc_strlist_free(list);
			list = NULL;
		}
		break;
	case RC_CTL_REMOVE_EVENT_FILTER:
		if (!rc_strlist_contains(current, n, cmd->filter)) {
			snprintf(err, errlen, "Event filter not in the current set");
			return -1;
		}
		if (n == 1) {
			snprintf(err, errlen, "Cannot remove the last event filter (a subscription needs one)");
			return -1;
		}
		list = rc_strlist_copy(current, n);
		len = n;
		if (list != NULL)
			rc_strlist_remove(list, &len, cmd->filter);
		break;
	default:
		snprintf(err, errlen, "not a filter command");
		return -1;
	}
	if (list == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	*changed = !rc_strlist_same_set(list, len, current, n);
	*out = list;
	*n_out = len;
	return 0;
}

json_object *rc_control_disabled_filters(const struct rc_subscription *s)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; a != NULL && i < s->n_disabled; i++) {
		json_object *one = json_object_new_object();
		if (one == NULL)
			continue;
		rc_json_set(one, "filter", rc_json_string_or_null(s->disabled[i].filter));
		rc_json_set(one, "reason", rc_json_string_or_null(s->disabled[i].reason));
		if (json_object_array_add(a, one) != 0)
			json_object_put(one);
	}
	return a;
}

json_object *rc_control_subscriptions_data(const char *body, size_t len, const char *live_id,
		char *const *owned, size_t n_owned)
{
	struct rc_subscription *list = NULL;
	size_t n = 0;
	json_object *data, *subs;

	if (body == NULL || rc_subscription_list_parse(body, len, &list, &n) != 0)
		return NULL;
	data = json_object_new_object();
	subs = json_object_new_array();
	if (data != NULL && subs != NULL) {
		rc_json_set(data, "subscriptions", subs);
		subs = NULL;
	}
	json_object *arr = data != NULL ? json_object_object_get(data, "subscriptions") : NULL;
	for (size_t i = 0; i < n; i++) {
		struct rc_subscription *s = &list[i];
		json_object *o = arr != NULL ? json_object_new_object() : NULL;
		if (o != NULL) {
			char created[40] = "";
			if (s->creation_ms > 0)
				rc_ms_to_iso8601(s->creation_ms, created, sizeof(created));
			rc_json_set(o, "id", json_object_new_string(s->id));
			rc_json_set(o, "status", rc_json_string_or_null(s->status));
			rc_json_set(o, "transportType", rc_json_string_or_null(s->transport_type));
			rc_json_set(o, "creationTime", created[0] ? json_object_new_string(created) : NULL);
			rc_json_set(o, "expirationTime", rc_json_string_or_null(s->expiration_time));
			rc_json_set(o, "eventFilters", rc_json_strings(s->event_filters,
					s->n_event_filters));
			rc_json_set(o, "disabledFilters", rc_control_disabled_filters(s));
			rc_json_set(o, "thisBridge", json_object_new_boolean(
					live_id != NULL && strcmp(live_id, s->id) == 0));
			rc_json_set(o, "createdByThisBridge", json_object_new_boolean(
					rc_strlist_contains(owned, n_owned, s->id)));
			json_object_array_add(arr, o);
		}
		rc_subscription_clear(s);
	}
	free(list);
	json_object_put(subs);
	return data;
}
