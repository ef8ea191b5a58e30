/* transport.h - the one door between the worker and a delivery transport.
 *
 * A transport is a table of operations on its own state, chosen once at start-up from
 * plugin_opt_transport (transport.c holds the table), the way libcurl drives every
 * protocol through its handler table: the worker never asks which one it runs. A
 * transport reads notifications from its channel and hands them to the sink; it tells
 * the worker what its channel looks like (rc_transport_channel) and, where subscription
 * requests travel over the channel rather than as REST calls, carries them and returns
 * their answers. Everything runs on the worker thread.
 *
 * Adding a transport (RingCentral's WebHook delivery, say) means one file implementing
 * these operations and one entry in transport.c. */
#ifndef RC_TRANSPORT_H
#define RC_TRANSPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <curl/curl.h>
#include "rc_config.h"
#include "rc_lifecycle.h"
#include "rc_random.h"
#include "rc_rest.h"
#include "rc_sink.h"
#include "rc_state_file.h"

/* What a transport may use; owned by the worker, outliving the transport. */
struct rc_transport_env {
	const struct rc_config *cfg;
	CURLM *multi;            /* for its own HTTP transfers (see rc_http's on_done) */
	struct rc_sink *sink;
	struct rc_rng *rng;
};

/* The channel as the lifecycle needs to know it (socket mode). Levels, not events: the
 * worker compares them with what it last saw. */
struct rc_transport_channel {
	bool up;                 /* open and greeted: subscription requests may go */
	unsigned session;        /* counts the times the channel came up */
	bool resumed;            /* this session continues the previous one's subscription */
	bool wants_token;        /* needs a WebSocket token (RC_ACT_WSTOKEN) to connect */
	bool refused;            /* the subscription's channel was refused: make a new one */
};

/* The answer to a subscription request sent over the channel. */
struct rc_transport_answer {
	int status;              /* HTTP-like */
	char *body;              /* heap, NUL-terminated, or NULL; the caller frees it */
	size_t len;
};

struct rc_transport_ops {
	const char *name;        /* as in plugin_opt_transport */
	/* deliveryMode.transportType of a REST-created subscription, or NULL if this transport
	 * carries the subscription requests itself (request/take_answer/open). */
	const char *rest_delivery_type;

	void *(*create)(const struct rc_transport_env *env, char *err, size_t errlen);
	void (*destroy)(void *t);

	/* state_file (optional): the position to resume from / to save. moved() says (once)
	 * whether the position changed since it was last asked. */
	void (*restore)(void *t, const struct rc_saved_state *s);
	void (*save)(void *t, struct rc_saved_state *s);
	bool (*moved)(void *t);

	/* The subscription is now sub (adopted by the action how), or NULL: there is none. */
	void (*attach)(void *t, const struct rc_subscription *sub, enum rc_lc_action how);

	/* Channel-carried subscriptions (rest_delivery_type NULL): sends CREATE, MODIFY,
	 * CHECK or DELETE (filters for CREATE/MODIFY; sub_id for the others). Returns 0, or -1
	 * if it could not be sent. take_answer returns true once with the answer. */
	int (*request)(void *t, enum rc_lc_action act, const char *sub_id, char *const *filters,
			size_t n, int64_t now);
	bool (*take_answer)(void *t, struct rc_transport_answer *a);
	/* The WebSocket token arrived: connect with it (copied as needed). */
	void (*open)(void *t, const struct rc_wstoken *tok, int64_t now);

	void (*channel)(void *t, struct rc_transport_channel *out);
	/* Once per loop turn: timers, reading, keepalive; lowers *wake. */
	void (*step)(void *t, int64_t now, int64_t *wake);
	/* A socket to add to the worker's poll set (returns 0) or none (-1); may lower
	 * *max_wait_ms. Optional, with service: the socket is serviced after every wake-up. */
	int (*wait)(void *t, struct curl_waitfd *fd, int *max_wait_ms);
	void (*service)(void *t);
	/* Notifications can flow: a notification sent now will be fetched. */
	bool (*online)(void *t);

	/* Shutdown: stop reading and reconnecting; close once the lifecycle is done with the
	 * subscription; stopped once nothing is left open. */
	void (*begin_stop)(void *t);
	void (*close)(void *t);
	bool (*stopped)(void *t);
};

/* The operations for a configured transport. */
const struct rc_transport_ops *rc_transport_ops_for(enum rc_transport kind);

#endif
