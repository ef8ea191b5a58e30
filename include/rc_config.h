/* rc_config.h - the plugin's options, parsed and validated.
 *
 * The broker hands us `plugin_opt_<key> <value>` pairs once, at start-up.
 * rc_config_parse() turns them into a struct rc_config or refuses with one
 * error line naming the offending option, so a typo stops the broker at
 * start-up instead of surfacing hours later as a silent bridge.
 * Pure: no broker calls, no network; secret files are read here. */
#ifndef RC_CONFIG_H
#define RC_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum rc_transport { RC_TRANSPORT_PUBNUB = 0, RC_TRANSPORT_WEBSOCKET = 1 };
enum rc_payload_mode { RC_PAYLOAD_NOTIFICATION = 0, RC_PAYLOAD_BODY = 1 };
enum rc_auth_mode { RC_AUTH_JWT = 0, RC_AUTH_PASSWORD = 1 };

struct rc_topic_rule {
	char *pattern;  /* event path pattern, e.g. /restapi/v1.0/account/{a}/extension/{e}/presence */
	char *tmpl;     /* topic template, e.g. home/phone/{e}/presence; NULL: the default mapping */
	/* Publish options of what the rule maps (`retain=`, `qos=`, `expiry=` words). A zeroed
	 * rule has none: the configured qos and retain apply and nothing expires. */
	bool has_qos;
	int qos;        /* 0..2 */
	bool has_retain;
	bool retain;
	uint32_t expiry_s; /* MQTT v5 message expiry interval; 0: none */
	bool builtin;   /* added by homeassistant after the user's rules (never printed as theirs) */
};

/* One key/value pair as the broker gives it (struct mosquitto_opt has the same shape). */
struct rc_option {
	const char *key;
	const char *value;
};

struct rc_config {
	char *server;            /* base URL, no trailing slash */
	char *client_id;
	char *client_secret;     /* secret: never log */
	enum rc_auth_mode auth_mode;
	char *jwt;               /* secret */
	char *username;
	char *extension;         /* may be NULL */
	char *password;          /* secret */
	char **event_filters;    /* from event_filter lines, in order, no duplicates */
	size_t n_event_filters;
	char *filters_file;      /* may be NULL */
	enum rc_transport transport;
	char *pubnub_origin;     /* base URL, no trailing slash */
	long expires_in;         /* seconds */
	long renew_margin;       /* seconds */
	char *topic_prefix;
	struct rc_topic_rule *topic_map;
	size_t n_topic_map;
	enum rc_payload_mode payload;
	int qos;                 /* 0..2 */
	bool retain;
	char *state_file;        /* may be NULL */
	char *cafile;            /* may be NULL: system store */
	size_t max_notification_size; /* bytes of encrypted/raw notification accepted; 0 never */
	long request_timeout;    /* seconds for REST requests */
	long poll_timeout;       /* seconds for a PubNub long-poll before we give up on it */
	long heartbeat_interval; /* WebSocket: seconds of silence before a Heartbeat and a ping */
	long pong_timeout;       /* WebSocket: seconds a ping may go unanswered */
	bool wake_broker;        /* end the broker's idle wait when notifications wait */
	bool homeassistant;      /* Home Assistant MQTT discovery (and its built-in topic_map rules) */
	char *homeassistant_prefix; /* HA's discovery prefix; never NULL after parsing */
	bool control_api;        /* answer requests on control_topic (rc_control.h) */
	char *control_topic;     /* $CONTROL/<topic_prefix>/v1 unless given; answers on
	                          * <control_topic>/response */
	char *control_response_topic; /* <control_topic>/response; never NULL after parsing */
	/* Commands back to RingCentral (rc_command.h, rc_control.h): each kind off unless
	 * turned on, on the command topics and on the control API alike. */
	bool command_presence;   /* setPresence: PUT .../extension/{id}/presence */
	bool command_sms;        /* sendSms: POST .../extension/~/sms */
	char *sms_from;          /* E.164: the number SMS are sent from; required with command_sms */
	char **sms_notify_to;    /* E.164 numbers with a Home Assistant notify entity each
	                          * (NULL-terminated, n_sms_notify_to of them) */
	size_t n_sms_notify_to;
};

/* True if any option needs the broker thread to look at client messages (MOSQ_EVT_MESSAGE):
 * Home Assistant's birth message, or a command topic. */
bool rc_config_hears_messages(const struct rc_config *cfg);
/* True if the worker's command executor is needed: the control API or any command topic. */
bool rc_config_has_commands(const struct rc_config *cfg);

/* Called for non-fatal findings (deprecated names, secret files readable by group/others).
 * The message never contains a secret. */
typedef void (*rc_config_warn_fn)(void *userdata, const char *message);

/* Parses and validates `count` options into *cfg (zeroed first).
 * Returns 0 on success. On failure returns -1, frees anything partly built and writes one
 * line naming the option into err (e.g. "plugin_opt_qos: must be 0, 1 or 2, got '7'").
 * Reads client_secret_file / jwt_file / password_file and filters_file (to validate it). */
int rc_config_parse(struct rc_config *cfg, const struct rc_option *opts, int count,
		rc_config_warn_fn warn, void *userdata, char *err, size_t errlen);

/* The same, and for a refusal that one option caused, its index in opts in *bad_option
 * (-1 when the refusal is about the options together: a required one missing, two that
 * conflict). The configuration check uses it to name the line. */
int rc_config_parse_at(struct rc_config *cfg, const struct rc_option *opts, int count,
		rc_config_warn_fn warn, void *userdata, char *err, size_t errlen, int *bad_option);

/* The rule behind the warning for client_secret_file, jwt_file and password_file: a secret
 * file whose mode lets its group or others read it (st_mode bits) is exposed. */
bool rc_config_secret_mode_exposed(unsigned int mode);

/* Frees everything cfg owns, wiping secrets first. Safe on a zeroed struct. */
void rc_config_free(struct rc_config *cfg);

/* True if url is https://, or http:// to a loopback host (127.0.0.0/8, ::1, localhost). */
bool rc_config_url_allowed(const char *url);

/* The same rule for a WebSocket address (the gateway uri the server hands out): NULL if
 * url is wss://, or ws:// to a loopback host; else a static string saying why not (ws://
 * elsewhere would send the access token in the clear). A query is allowed, credentials
 * and a fragment are not. */
const char *rc_config_ws_url_problem(const char *url);

/* The filter set: the event_filter lines followed by the filters_file lines (if any),
 * without duplicates, in first-seen order. On success returns 0 and sets *out (a
 * NULL-terminated array the caller frees with rc_strlist_free) and *count.
 * On failure (unreadable file, bad line, empty set) returns -1 with a message in err. */
int rc_filters_effective(const struct rc_config *cfg, char ***out, size_t *count,
		char *err, size_t errlen);

/* Reads a filters file: one filter per line, blank lines and `#` comments ignored,
 * surrounding blanks trimmed. Each filter must start with '/'. Same ownership as above. */
int rc_filters_load_file(const char *path, char ***out, size_t *count, char *err, size_t errlen);

#endif
