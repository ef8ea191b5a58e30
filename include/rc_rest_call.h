/* rc_rest_call.h - one lifecycle action as a REST request.
 *
 * Which method, URL, body and credentials each action of the lifecycle needs (login,
 * refresh, the subscription calls, the WebSocket token): the worker only decides when,
 * and runs the exchange on its multi handle. Pure: it prepares a libcurl handle (see
 * rc_http.h) and performs nothing. */
#ifndef RC_REST_CALL_H
#define RC_REST_CALL_H

#include <stddef.h>
#include "rc_config.h"
#include "rc_http.h"
#include "rc_lifecycle.h"
#include "rc_rest.h"

/* What the request for an action is about; all borrowed for the call only. */
struct rc_rest_call {
	const struct rc_config *cfg;
	const struct rc_token *token;   /* the access token (bearer) or refresh token */
	const char *sub_id;             /* RESUME/CHECK/RENEW/MODIFY/DELETE */
	const char *orphan_id;          /* DELETE_ORPHAN */
	char *const *filters;           /* CREATE/MODIFY */
	size_t n_filters;
	const char *delivery_type;      /* CREATE: deliveryMode.transportType */
	long timeout_s;
	size_t max_answer;
	void (*on_done)(void *arg, struct rc_http *h);
	void *done_arg;
};

/* Prepares h (see rc_http_prepare) for act. Returns 0, or -1 if the request cannot be
 * built (no memory, or an id it needs is missing); h is then reset. */
int rc_rest_call_prepare(struct rc_http *h, enum rc_lc_action act, const struct rc_rest_call *c);

#endif
