/* rc_worker.h - the bridge's worker thread: all network I/O lives here.
 *
 * One thread runs one libcurl multi handle: the REST conversation driven by the lifecycle
 * state machine, and the configured transport (transport.h) with its own sockets. What
 * the transport reads goes through the sink (decrypt, validate, de-duplicate, map) into
 * the outbox, which the broker thread drains. The broker thread only talks to the worker
 * through rc_worker_reload(), rc_worker_rediscover(), rc_worker_submit() and
 * rc_worker_stop(), which set a flag or queue a request and wake the multi handle. */
#ifndef RC_WORKER_H
#define RC_WORKER_H

#include <stdbool.h>
#include "rc_config.h"
#include "rc_control.h"
#include "rc_outbox.h"

struct rc_worker;

/* Creates the worker (it also fills outbox->status.transport): options checked, state
 * file read, nothing started. cfg and outbox must outlive it. Returns NULL with a message
 * in err on failure. */
struct rc_worker *rc_worker_new(const struct rc_config *cfg, struct rc_outbox *outbox,
		char *err, size_t errlen);

/* Starts its thread (once; again is a no-op). The caller blocks the signals the broker
 * handles before calling (the thread inherits the mask). Returns 0, or -1 with a message
 * in err. */
int rc_worker_run(struct rc_worker *w, char *err, size_t errlen);

/* Asks the worker to re-read the filters file (SIGHUP). Never blocks on the network. */
void rc_worker_reload(struct rc_worker *w);

/* Asks the worker to publish the Home Assistant discovery configs again (Home Assistant
 * announced itself on <homeassistant_prefix>/status). Never blocks on the network. */
void rc_worker_rediscover(struct rc_worker *w);

/* Hands a control API or command topic request (rc_control.h, rc_command.h) that needs
 * the worker over to it (a bounded queue: rc_control_exec.h); the answer comes back
 * through the outbox. Never blocks. Returns 0 (the worker owns req), or -1 (neither the
 * control API nor a command topic is on, or the queue is full: req stays the caller's,
 * who answers it). Callable before the thread starts. */
int rc_worker_submit(struct rc_worker *w, struct rc_control_request *req);

/* True if a restart continues from a saved position (state_file, with a transport that
 * has one): what was fetched but had not entered the broker at shutdown is fetched again. */
bool rc_worker_saves_position(const struct rc_worker *w);

/* Stops the worker (if it was started): without state_file the subscription is deleted (bounded to a few
 * seconds); with it, the subscription is kept and its state saved. Joins the thread and
 * frees w. */
void rc_worker_stop(struct rc_worker *w);

#endif
