/* rc_control_exec.h - control API commands carried out on the worker thread.
 *
 * The broker thread parses a request (rc_control.h) and answers it at once when none of
 * its commands needs the worker (getStatus, setLogLevel, errors found while parsing);
 * otherwise it hands the whole request over with rc_ctl_submit (any thread, never blocks:
 * a bounded queue under its own mutex; a full queue is refused and the broker thread
 * answers with an error). The worker runs the requests one at a time and each one's
 * commands in order, the way dynamic-security applies them:
 *
 * - getStatus, getEventFilters, setLogLevel: answered at once.
 * - setEventFilters, addEventFilter, removeEventFilter: the new set becomes the worker's
 *   desired set (written to filters_file first when one is configured) and the command is
 *   answered when a subscription request carrying it has been accepted (the server's
 *   filters, disabled ones too), or with an error if the server refuses it (the previous
 *   set is then restored, in the file too).
 * - renewNow, recreateSubscription: lifecycle inputs (rc_lifecycle_renew_now,
 *   rc_lifecycle_recreate), answered when the renewal or the new subscription is done.
 * - listServerSubscriptions: GET /restapi/v1.0/subscription through the API door
 *   (rc_api.h).
 * A command not done within the command timeout is answered with an error (what it
 * started stays under way). When every command of a request is answered, the response
 * goes into the outbox (QoS 1, not retained, the request's MQTT v5 correlation data) and
 * the broker thread publishes it at its next TICK.
 *
 * The worker tells it what happened through rc_ctl_step (every loop turn) and
 * rc_ctl_action_done (every lifecycle action's end). Everything but rc_ctl_submit is
 * worker-thread only. */
#ifndef RC_CONTROL_EXEC_H
#define RC_CONTROL_EXEC_H

#include <stddef.h>
#include <stdint.h>
#include "rc_api.h"
#include "rc_config.h"
#include "rc_control.h"
#include "rc_lifecycle.h"
#include "rc_outbox.h"
#include "rc_sink.h"
#include "rc_subscription.h"

/* What the commands act on: the worker's own state, borrowed for the executor's life. */
struct rc_ctl_env {
	const struct rc_config *cfg;
	struct rc_outbox *outbox;
	struct rc_sink *sink;
	struct rc_lifecycle *lc;
	struct rc_sub_slot *slot;
	struct rc_api *api;
	char ***desired;            /* the worker's desired filter set (NULL-terminated) */
	size_t *n_desired;
	const char *response_topic;
	/* Told after the desired set changed (Home Assistant's devices follow it); may be NULL. */
	void (*filters_changed)(void *arg);
	void *arg;
};

struct rc_ctl;

/* max_queued: requests waiting besides the one in progress. NULL on no memory. */
struct rc_ctl *rc_ctl_new(const struct rc_ctl_env *env, size_t max_queued,
		int64_t command_timeout_ms);
/* Any thread. Takes req on success (0); -1 if the queue is full (req stays the caller's). */
int rc_ctl_submit(struct rc_ctl *c, struct rc_control_request *req);
/* Worker: starts and checks the commands, answers the ones that timed out, sends finished
 * responses. Lowers *wake_at to the next deadline. */
void rc_ctl_step(struct rc_ctl *c, int64_t now, int64_t *wake_at);
/* Worker: the lifecycle action act ended with out (sent: the filters a CREATE/MODIFY
 * carried; what: its description when it failed). Call after rc_lifecycle_done. */
void rc_ctl_action_done(struct rc_ctl *c, enum rc_lc_action act, enum rc_lc_outcome out,
		char *const *sent, size_t n_sent, const char *what, int64_t now);
/* Frees everything; requests not answered are dropped (at shutdown nobody can publish). */
void rc_ctl_free(struct rc_ctl *c);

/* Either thread: answers getStatus (the status JSON as bridge/status has it, rendered
 * under the outbox lock at wall_now) and setLogLevel (rc_outbox_set_log_level; data: the
 * level and the previous one). Other commands are left alone. */
void rc_ctl_answer_local(struct rc_control_command *cmd, struct rc_outbox *ob, int64_t wall_now);

/* The response message for req on topic: QoS 1, not retained, with the request's MQTT v5
 * correlation data. NULL on no memory. The caller publishes or pushes it. */
struct rc_outbox_msg *rc_ctl_response_msg(const struct rc_control_request *req, const char *topic);

#endif
