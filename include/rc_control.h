/* rc_control.h - the control API's requests and responses (Mosquitto dynamic-security style).
 *
 * A client publishes {"commands":[{"command":"<name>", ...}, ...]} on the plugin's control
 * topic ($CONTROL/<topic_prefix>/v1 by default); the plugin answers every command, in
 * order, in one message on <control topic>/response:
 * {"responses":[{"command":"<name>", "error":"...", "data":{...}, "correlationData":"..."}]}
 * with "error" only on failure, "data" only where a command has some, and the command's
 * own "correlationData" string echoed. A request that is not JSON, or has no "commands"
 * array, is answered with one response whose command is "Unknown command", as
 * dynamic-security does.
 *
 * This module parses and validates a request into a struct rc_control_request, holds
 * each command's answer, renders the response, and computes what a command asks of the
 * filter set or of a subscription list. Pure: no broker calls, no network, no threads;
 * who answers which command (the broker thread or the worker) is decided by the caller
 * (rc_control_needs_worker). */
#ifndef RC_CONTROL_H
#define RC_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>

#define RC_CONTROL_MAX_COMMANDS 32       /* per request */
/* Bytes of a request's payload, refused before it is parsed: the broker thread parses
 * requests, and one publish may carry 256 MB. The largest sensible request (200 filters of
 * 2 KB) is well below. */
#define RC_CONTROL_MAX_PAYLOAD (1024 * 1024)
#define RC_CONTROL_MAX_FILTERS 200       /* in one setEventFilters */
#define RC_CONTROL_MAX_FILTER_LEN 2048
#define RC_CONTROL_MAX_CORRELATION 1024  /* bytes of a command's correlationData */

enum rc_control_kind {
	RC_CTL_INVALID = 0,            /* answered at parse time with its error */
	RC_CTL_GET_STATUS,
	RC_CTL_GET_EVENT_FILTERS,
	RC_CTL_SET_EVENT_FILTERS,      /* "eventFilters": [string, ...] */
	RC_CTL_ADD_EVENT_FILTER,       /* "eventFilter": string */
	RC_CTL_REMOVE_EVENT_FILTER,    /* "eventFilter": string */
	RC_CTL_RENEW_NOW,
	RC_CTL_RECREATE_SUBSCRIPTION,
	RC_CTL_LIST_SERVER_SUBSCRIPTIONS,
	RC_CTL_SET_LOG_LEVEL,          /* "level": error|warning|notice|info|debug */
	RC_CTL_SET_PRESENCE,           /* "extensionId", "dndStatus" and/or "userStatus" */
	RC_CTL_SEND_SMS,               /* "to" (E.164 string or array of them), "text" */
};

#define RC_CONTROL_MAX_SMS_TO 10         /* recipients of one SMS */
#define RC_CONTROL_MAX_SMS_TEXT 1000     /* characters of an SMS text (RingCentral's limit) */
#define RC_CONTROL_MAX_TOPIC 512         /* bytes of an MQTT v5 response topic */

struct rc_control_command {
	enum rc_control_kind kind;
	char *name;             /* the command as answered: the request's spelling of a known
	                         * command's canonical name, or what it said, or "Unknown command" */
	char *correlation;      /* the command's "correlationData" string; NULL if none */
	char **filters;         /* setEventFilters: validated, without duplicates, in order */
	size_t n_filters;
	char *filter;           /* addEventFilter / removeEventFilter: validated */
	int level;              /* setLogLevel: an enum rc_log_level value */
	char *extension_id;     /* setPresence: "~" or digits */
	char *dnd_status;       /* setPresence: canonical spelling; NULL: unchanged */
	char *user_status;      /* setPresence: likewise */
	char **to;              /* sendSms: E.164 numbers, NULL-terminated, n_to of them */
	size_t n_to;
	char *text;             /* sendSms: the message; user data, never logged */

	/* The answer. */
	bool answered;
	char *error;            /* NULL: success */
	json_object *data;      /* owned; NULL: none */
	json_object *detail;    /* owned; on failure only, NULL: none: members (httpStatus,
	                         * errorCode, errorMessage, retryAfter) added to the answer */
};

struct rc_control_request {
	struct rc_control_command *cmds;
	size_t n;
	unsigned char *correlation;   /* the MQTT v5 correlation data of the request; owned */
	size_t correlation_len;
	size_t next;                  /* the first command not yet answered (worker's cursor) */
	char *response_topic;         /* owned; NULL: the control API's response topic */
	bool single;                  /* a command topic's request (rc_command.h): exactly one
	                               * command, answered with its own object, not
	                               * {"responses":[...]} */
};

/* Parses a request payload (len bytes, no terminator needed). Never refuses: whatever is
 * wrong with it becomes an answered error of a command (bad JSON, no commands array, an
 * unknown command, a missing or bad field, too many commands). correlation (may be NULL)
 * is copied. Returns NULL only on no memory. The caller frees it with
 * rc_control_request_free. */
struct rc_control_request *rc_control_parse(const char *payload, size_t len,
		const void *correlation, size_t correlation_len);
void rc_control_request_free(struct rc_control_request *req);

/* True if the command needs the worker thread (the filter set, the lifecycle, the REST
 * API); false if the broker thread can answer it at once (getStatus, setLogLevel, and
 * commands answered at parse time). */
bool rc_control_needs_worker(enum rc_control_kind kind);
/* True if any unanswered command of req needs the worker. */
bool rc_control_request_needs_worker(const struct rc_control_request *req);
/* True when every command has its answer. */
bool rc_control_request_done(const struct rc_control_request *req);

/* Answers a command: data (owned from here; may be NULL) on success. */
void rc_control_ok(struct rc_control_command *cmd, json_object *data);
void rc_control_fail(struct rc_control_command *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Answers every unanswered command of req with the same error. */
void rc_control_fail_all(struct rc_control_request *req, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Fails, with detail (owned from here; may be NULL) added to the answer. */
void rc_control_fail_detail(struct rc_control_command *cmd, json_object *detail,
		const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* One command object ({"command": ..., fields}) parsed into cmd (zeroed by the caller):
 * what rc_control_parse does for each element of "commands"; the command topics
 * (rc_command.h) build their command object and parse it here, so that both doors
 * validate alike. */
void rc_control_parse_command(struct rc_control_command *cmd, json_object *obj);

/* Which commands back to RingCentral this door accepts: a command whose kind is off is
 * answered with an error naming the option that turns it on. recreate: whether
 * recreateSubscription is allowed (always on the control API; with homeassistant on the
 * command topic). */
struct rc_control_gates {
	bool presence;   /* plugin_opt_command_presence */
	bool sms;        /* plugin_opt_command_sms */
	bool recreate;
	const char *recreate_option;   /* what turns recreate on, for the error */
};
void rc_control_gate(struct rc_control_request *req, const struct rc_control_gates *g);

/* Value checks, pure: the canonical spelling of a DND status (TakeAllCalls,
 * DoNotAcceptAnyCalls, DoNotAcceptDepartmentCalls, TakeDepartmentCallsOnly) or user status
 * (Available, Busy, Offline), any case; NULL if it is none. */
const char *rc_control_dnd_status(const char *s);
const char *rc_control_user_status(const char *s);
/* True for an E.164 number: '+' and 7 to 15 digits. */
bool rc_control_e164(const char *s);
/* NULL if text is a usable SMS text (valid UTF-8, 1 to RC_CONTROL_MAX_SMS_TEXT
 * characters, len bytes, no NUL); else why not. */
const char *rc_control_sms_text_problem(const char *text, size_t len);

/* The response JSON (heap, caller frees; length in *len), every command in order (an
 * unanswered one as an error, which cannot happen when rc_control_request_done). NULL on
 * no memory. */
char *rc_control_response(const struct rc_control_request *req, size_t *len);

/* getStatus: the status JSON text (what <prefix>/bridge/status carries) as the command's
 * data. */
void rc_control_answer_status(struct rc_control_command *cmd, const char *status_json, size_t len);

/* Log levels by name ("error", "warning", "notice", "info", "debug"): the enum
 * rc_log_level value, or -1. And back. */
int rc_control_level_from_name(const char *name);
const char *rc_control_level_name(int level);

/* NULL if filter is a usable event filter (starts with '/', no blanks or control
 * characters, at most RC_CONTROL_MAX_FILTER_LEN bytes, valid UTF-8); else why not. */
const char *rc_control_filter_problem(const char *filter);

/* The filter set a set/add/remove command makes of current (n): a new NULL-terminated
 * list in *out (caller frees with rc_strlist_free), *changed whether it differs from
 * current as a set. Returns 0, or -1 with why in err (removing a filter that is not in
 * the set, removing the last one, no memory). */
int rc_control_filters_apply(const struct rc_control_command *cmd, char *const *current,
		size_t n, char ***out, size_t *n_out, bool *changed, char *err, size_t errlen);

/* listServerSubscriptions: a GET /restapi/v1.0/subscription answer turned into the
 * command's data, {"subscriptions":[{id, status, transportType, creationTime,
 * expirationTime, eventFilters, disabledFilters, thisBridge, createdByThisBridge}]}, with
 * nothing of the delivery mode but its transport type (a PubNub subscription's address and
 * keys are secrets). live_id: this bridge's live subscription (NULL if none); owned: the
 * ids this bridge created. NULL if the answer is unreadable or on no memory. */
json_object *rc_control_subscriptions_data(const char *body, size_t len, const char *live_id,
		char *const *owned, size_t n_owned);

struct rc_subscription;

/* A subscription's disabledFilters as answers show them: [{filter, reason}] (null for a
 * field the server left out); an entry memory is short for is left out. A new array the
 * caller owns (rc_json_set takes it), NULL on no memory. */
json_object *rc_control_disabled_filters(const struct rc_subscription *s);

#endif
