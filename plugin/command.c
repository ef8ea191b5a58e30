/* command.c - the command topics (see rc_command.h).
 *
 * A command topic's payload is turned into the control API's command object and parsed
 * by control.c, so that a presence or SMS command is validated the same way whichever
 * door it came through, and the worker only ever sees validated commands. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "rc_command.h"
#include "rc_json.h"

#define COMMAND_LEVEL "/bridge/command/"

enum rc_command_topic rc_command_topic(const char *topic_prefix, const char *topic,
		const char **arg)
{
	size_t pl = strlen(topic_prefix), cl = strlen(COMMAND_LEVEL);
	const char *rest;

	if (arg != NULL)
		*arg = NULL;
	if (strncmp(topic, topic_prefix, pl) != 0 || strncmp(topic + pl, COMMAND_LEVEL, cl) != 0)
		return RC_CMDT_NONE;
	rest = topic + pl + cl;
	if (strcmp(rest, "sms") == 0)
		return RC_CMDT_SMS;
	if (strcmp(rest, "resubscribe") == 0)
		return RC_CMDT_RESUBSCRIBE;
	/* One more level, never `response`, the answers' own level. */
	const char *one = strncmp(rest, "presence/", 9) == 0 ? rest + 9 :
			strncmp(rest, "sms/", 4) == 0 ? rest + 4 : NULL;
	if (one == NULL || strchr(one, '/') != NULL || strcmp(one, "response") == 0)
		return RC_CMDT_NONE;
	if (arg != NULL)
		*arg = one;
	return rest[0] == 'p' ? RC_CMDT_PRESENCE : RC_CMDT_SMS_TO;
}

static bool command__trimmed(const char *payload, size_t len, const char **s, size_t *n)
{
	while (len > 0 && (*payload == ' ' || *payload == '\t' || *payload == '\r' || *payload == '\n'))
		payload++, len--;
	while (len > 0 && (payload[len - 1] == ' ' || payload[len - 1] == '\t' ||
			payload[len - 1] == '\r' || payload[len - 1] == '\n'))
		len--;
	*s = payload;
	*n = len;
	return len > 0;
}

/* The command object for a message; NULL with *why set when the payload cannot be one. */
static json_object *command__object(enum rc_command_topic t, const char *arg, const char *payload,
		size_t len, const char **why)
{
	json_object *o = NULL, *cmd = json_object_new_object();
	const char *s;
	size_t n;

	*why = "out of memory";
	if (cmd == NULL)
		return NULL;
	if (len > RC_CONTROL_MAX_PAYLOAD) {
		/* Refused before anything parses it: the broker thread does. */
		*why = "Payload too large";
		json_object_put(cmd);
		return NULL;
	}
	switch (t) {
	case RC_CMDT_RESUBSCRIBE:
		rc_json_set(cmd, "command", json_object_new_string("recreateSubscription"));
		return cmd;
	case RC_CMDT_PRESENCE:
		rc_json_set(cmd, "command", json_object_new_string("setPresence"));
		rc_json_set(cmd, "extensionId", json_object_new_string(arg));
		if (!command__trimmed(payload, len, &s, &n)) {
			*why = "empty payload: send a DND status (e.g. DoNotAcceptAnyCalls), a user status "
					"(Available, Busy, Offline) or {\"dndStatus\":...,\"userStatus\":...}";
			break;
		}
		if (s[0] == '{') {
			if (rc_json_parse(s, n, &o) != RC_JSON_OK || !json_object_is_type(o, json_type_object)) {
				*why = "Payload not valid JSON";
				break;
			}
			json_object *v;
			if (json_object_object_get_ex(o, "dndStatus", &v))
				rc_json_set(cmd, "dndStatus", json_object_get(v));
			if (json_object_object_get_ex(o, "userStatus", &v))
				rc_json_set(cmd, "userStatus", json_object_get(v));
			json_object_put(o);
			return cmd;
		}
		/* A bare value, as a Home Assistant select publishes it: the two sets are disjoint. */
		char word[64];
		if (n >= sizeof(word)) {
			*why = "unknown status: send a DND status (TakeAllCalls, DoNotAcceptAnyCalls, "
					"DoNotAcceptDepartmentCalls, TakeDepartmentCallsOnly) or a user status "
					"(Available, Busy, Offline)";
			break;
		}
		memcpy(word, s, n);
		word[n] = '\0';
		if (rc_control_dnd_status(word) != NULL) {
			rc_json_set(cmd, "dndStatus", json_object_new_string(word));
		} else if (rc_control_user_status(word) != NULL) {
			rc_json_set(cmd, "userStatus", json_object_new_string(word));
		} else {
			*why = "unknown status: send a DND status (TakeAllCalls, DoNotAcceptAnyCalls, "
					"DoNotAcceptDepartmentCalls, TakeDepartmentCallsOnly) or a user status "
					"(Available, Busy, Offline)";
			break;
		}
		return cmd;
	case RC_CMDT_SMS:
		rc_json_set(cmd, "command", json_object_new_string("sendSms"));
		if (rc_json_parse(payload, len, &o) != RC_JSON_OK || !json_object_is_type(o, json_type_object)) {
			json_object_put(o);
			*why = "Payload not valid JSON: send {\"to\":\"+15551234567\",\"text\":\"...\"}";
			break;
		}
		{
			json_object_object_foreach(o, key, val)
				if (strcmp(key, "to") == 0 || strcmp(key, "text") == 0)
					rc_json_set(cmd, key, json_object_get(val));
		}
		json_object_put(o);
		return cmd;
	case RC_CMDT_SMS_TO: {
		rc_json_set(cmd, "command", json_object_new_string("sendSms"));
		char to[40];
		size_t al = strlen(arg);
		if (al == 0 || al >= sizeof(to) - 1 || strspn(arg, "0123456789") != al) {
			*why = "Invalid number in the topic (the digits of an E.164 number, without '+')";
			break;
		}
		to[0] = '+';
		memcpy(to + 1, arg, al + 1);
		rc_json_set(cmd, "to", json_object_new_string(to));
		/* The payload is the text as it is: a notify entity publishes the message alone. */
		rc_json_set(cmd, "text", json_object_new_string_len(payload, (int)len));
		return cmd;
	}
	case RC_CMDT_NONE:
		break;
	}
	json_object_put(cmd);
	return NULL;
}

struct rc_control_request *rc_command_parse(enum rc_command_topic t, const char *arg,
		const char *payload, size_t len, const void *correlation, size_t correlation_len)
{
	static const char *const names[] = {
		[RC_CMDT_PRESENCE] = "setPresence", [RC_CMDT_SMS] = "sendSms",
		[RC_CMDT_SMS_TO] = "sendSms", [RC_CMDT_RESUBSCRIBE] = "recreateSubscription",
	};
	struct rc_control_request *req;
	const char *why = NULL;

	if (t == RC_CMDT_NONE || len > INT32_MAX ||
			((t == RC_CMDT_PRESENCE || t == RC_CMDT_SMS_TO) && arg == NULL))
		return NULL;
	if ((req = calloc(1, sizeof(*req))) == NULL)
		return NULL;
	req->single = true;
	if ((req->cmds = calloc(1, sizeof(*req->cmds))) == NULL)
		goto nomem;
	req->n = 1;
	if (correlation != NULL && correlation_len > 0) {
		if ((req->correlation = malloc(correlation_len)) == NULL)
			goto nomem;
		memcpy(req->correlation, correlation, correlation_len);
		req->correlation_len = correlation_len;
	}
	json_object *cmd = command__object(t, arg, payload != NULL ? payload : "", len, &why);
	if (cmd != NULL) {
		rc_control_parse_command(&req->cmds[0], cmd);
		json_object_put(cmd);
	} else {
		req->cmds[0].kind = t == RC_CMDT_PRESENCE ? RC_CTL_SET_PRESENCE :
				t == RC_CMDT_RESUBSCRIBE ? RC_CTL_RECREATE_SUBSCRIPTION : RC_CTL_SEND_SMS;
		req->cmds[0].name = strdup(names[t]);
		rc_control_fail(&req->cmds[0], "%s", why);
	}
	if (req->cmds[0].name == NULL)
		goto nomem;
	return req;
nomem:
	rc_control_request_free(req);
	return NULL;
}

const char *rc_command_response_topic_problem(const char *topic_prefix, const char *topic)
{
	size_t len = strlen(topic), pl = strlen(topic_prefix);

	if (len == 0 || len > RC_CONTROL_MAX_TOPIC)
		return "a response topic must have 1 to 512 bytes";
	if (topic[0] == '$')
		return "a response topic must not start with '$'";
	if (strpbrk(topic, "+#") != NULL)
		return "a response topic must not contain wildcards";
	for (const char *c = topic; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return "a response topic must not contain control characters";
	/* The plugin publishes the answer as the broker, which no ACL checks: anywhere else a
	 * client that may send commands could place messages on notification topics, other
	 * applications' topics or discovery configs. Under the command topics, the ACL that
	 * lets it command lets it read its answer, and consumers are denied. */
	if (strncmp(topic, topic_prefix, pl) != 0 ||
			strncmp(topic + pl, COMMAND_LEVEL, strlen(COMMAND_LEVEL)) != 0 ||
			topic[pl + strlen(COMMAND_LEVEL)] == '\0')
		return "a response topic must be under <topic_prefix>/bridge/command/";
	return NULL;
}
