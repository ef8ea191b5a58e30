/* rc_command.h - the command topics: commands back to RingCentral over plain MQTT.
 *
 * Beside the control API ($CONTROL/..., dynamic-security style), a few commands have
 * topics of their own in the plugin's reserved space, where no notification is ever
 * published (rc_topic_is_reserved), so that Home Assistant's select, notify and button
 * entities can publish to them and an ACL can grant exactly them:
 *
 *   <topic_prefix>/bridge/command/presence/<extensionId>  setPresence ("~" or digits);
 *       payload: a bare DND or user status value (what a Home Assistant select
 *       publishes: DoNotAcceptAnyCalls, Available, ...), or JSON {"dndStatus", "userStatus"}
 *   <topic_prefix>/bridge/command/sms                     sendSms;
 *       payload: JSON {"to": "+15551234567" or [...], "text": "..."}
 *   <topic_prefix>/bridge/command/sms/<digits>            sendSms to +<digits>;
 *       payload: the text itself (what a Home Assistant notify entity publishes)
 *   <topic_prefix>/bridge/command/resubscribe             recreateSubscription; any payload
 *
 * Each becomes a one-command struct rc_control_request (single: answered with the one
 * command's object) that goes the control API's way: gated, then handed to the worker
 * (rc_worker_submit) or answered at once. Pure: no broker calls. */
#ifndef RC_COMMAND_H
#define RC_COMMAND_H

#include <stddef.h>
#include "rc_control.h"

enum rc_command_topic {
	RC_CMDT_NONE = 0,        /* not a command topic (or a response topic): left alone */
	RC_CMDT_PRESENCE,
	RC_CMDT_SMS,
	RC_CMDT_SMS_TO,
	RC_CMDT_RESUBSCRIBE,
};

/* Which command topic `topic` (NUL-terminated) is under topic_prefix; *arg (may be NULL)
 * points into topic at what follows `presence/` or `sms/` (unchecked: the parse checks
 * it), else is NULL. Cheap: the broker thread asks it about every client message, and
 * anything not under `<topic_prefix>/bridge/command/` is refused after one compare. */
enum rc_command_topic rc_command_topic(const char *topic_prefix, const char *topic,
		const char **arg);

/* The request a message on a command topic makes: one command, parsed and validated like
 * the control API's (rc_control_parse_command); a bad payload or argument becomes that
 * command's answered error. correlation (MQTT v5; may be NULL) is copied. NULL on no
 * memory or RC_CMDT_NONE. The caller owns the request (rc_control_request_free). */
struct rc_control_request *rc_command_parse(enum rc_command_topic t, const char *arg,
		const char *payload, size_t len, const void *correlation, size_t correlation_len);

/* NULL if topic is a response topic the plugin may publish an answer on for a client
 * (an MQTT v5 Response Topic): a valid topic name without wildcards or control
 * characters, at most RC_CONTROL_MAX_TOPIC bytes, under `<topic_prefix>/bridge/command/`
 * (the plugin publishes answers as the broker, unchecked by ACLs, so only where the ACL
 * that lets a client command lets it read, and where no notification, status or other
 * application's topic lies); else why not. */
const char *rc_command_response_topic_problem(const char *topic_prefix, const char *topic);

#endif
