/* rc_subscription.h - our subscription as the server last described it, for both
 * transports.
 *
 * Whether an answer came from a REST call (PubNub) or over the WebSocket, it is taken
 * the same way: parsed, checked to be Active, its disabled filters logged, its key handed
 * to the pipeline, the renewal/recreation counted, and the filters that request asked
 * for remembered as what the server accepted (so a filter change made while a request
 * was in flight is seen as still pending). Worker thread only. */
#ifndef RC_SUBSCRIPTION_H
#define RC_SUBSCRIPTION_H

#include <stdbool.h>
#include <stddef.h>
#include "rc_lifecycle.h"
#include "rc_rest.h"
#include "rc_sink.h"

struct rc_sub_slot {
	struct rc_subscription sub;  /* the live one; sub.id is NULL if there is none */
	char **accepted;             /* the filters the server last accepted (NULL-terminated) */
	size_t n_accepted;
	bool ever;                   /* one was adopted before: the next create is a recreation */
	/* The subscriptions this bridge created and has not seen deleted (kept in the state
	 * file): the only ones it may ever delete as orphans. */
	char **owned;
	size_t n_owned;
};

/* Takes a successful answer (body json, len) to act (RESUME, CREATE, RENEW, MODIFY or
 * CHECK). sent/n_sent: the filters a CREATE or MODIFY carried (ignored otherwise).
 * Returns RC_OUT_OK with the remaining lifetime in *lifetime_s, RC_OUT_NOT_FOUND if the
 * subscription is not Active (it is as good as gone), RC_OUT_TRANSIENT if the answer is
 * unreadable; what then says why. wall_now: epoch ms, for an answer without expiresIn. */
enum rc_lc_outcome rc_sub_adopt(struct rc_sub_slot *slot, enum rc_lc_action act,
		const char *json, size_t len, char *const *sent, size_t n_sent,
		struct rc_sink *sink, int64_t wall_now, long *lifetime_s, char *what, size_t what_len);

/* The subscription is gone (what the server accepted stays known until the next one). */
void rc_sub_forget(struct rc_sub_slot *slot);

/* True if the desired filters differ from what the server accepted. */
bool rc_sub_filters_differ(const struct rc_sub_slot *slot, char *const *desired, size_t n);

/* Ownership: an id joins when this bridge creates it (ours true) and leaves when it is
 * known to be gone (ours false). At most RC_SUB_OWNED_MAX are kept (the oldest go). */
#define RC_SUB_OWNED_MAX 32
void rc_sub_own(struct rc_sub_slot *slot, const char *id, bool ours);
/* True if ids of ours other than the live subscription are known (possible orphans). */
bool rc_sub_may_have_orphans(const struct rc_sub_slot *slot);
/* From a GET /restapi/v1.0/subscription answer: the subscriptions that still exist, are
 * ours and are not the live one. A subscription that only looks like ours (same app,
 * same filters) may be another broker's on the same account and is never listed.
 * Returns 0 with a NULL-terminated list in *out (the caller frees it with
 * rc_strlist_free), or -1 if the answer is unreadable. */
int rc_sub_find_orphans(const struct rc_sub_slot *slot, const char *json, size_t len,
		char ***out, size_t *n_out);

void rc_sub_slot_free(struct rc_sub_slot *slot);

#endif
