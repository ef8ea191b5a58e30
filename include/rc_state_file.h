/* rc_state_file.h - what survives a broker restart when state_file is set.
 *
 * The subscription id, its filters and the transport position (PubNub channel and
 * timetoken) are saved as a small JSON file, written atomically (temporary file, fsync,
 * rename) with mode 0600. On the next start the bridge resumes that subscription and polls
 * from the saved timetoken, so what was sent while the broker was down is still delivered
 * and no orphan subscription is left behind. The timetoken covers only what entered the
 * broker (rc_checkpoint.h); the uuids of the last notifications that did are saved with
 * it, so that what is fetched again is not published twice. */
#ifndef RC_STATE_FILE_H
#define RC_STATE_FILE_H

#include <stddef.h>
#include "rc_pubnub.h"

struct rc_saved_state {
	char *subscription_id; /* NULL: none to resume (the file only remembers owned ids) */
	char **event_filters;  /* NULL-terminated */
	size_t n_event_filters;
	char *address;         /* PubNub channel the cursor belongs to; may be NULL */
	struct rc_pubnub_cursor cursor;
	/* Ids of the subscriptions this bridge created and has not seen deleted: the only
	 * ones it may ever delete as orphans (another broker on the same account has its
	 * own). NULL-terminated; may be NULL. */
	char **owned;
	size_t n_owned;
	/* The uuids of the last notifications that entered the broker, oldest first (at most
	 * RC_STATE_DELIVERED_MAX). NULL-terminated; may be NULL. */
	char **delivered;
	size_t n_delivered;
};

/* More than a poll's worth (PubNub answers at most 100): the overlap after a restart is at
 * most the notifications of the polls not yet confirmed. */
#define RC_STATE_DELIVERED_MAX 1000

enum rc_state_load {
	RC_STATE_ABSENT = 0,  /* no file: nothing to resume */
	RC_STATE_LOADED,      /* *s is filled (free it with rc_saved_state_clear) */
	RC_STATE_UNUSABLE,    /* it exists but cannot be read or parsed; err says why */
};

enum rc_state_load rc_state_file_load(const char *path, struct rc_saved_state *s, char *err,
		size_t errlen);

/* Writes s atomically. Returns 0, or -1 with a message in err. */
int rc_state_file_save(const char *path, const struct rc_saved_state *s, char *err, size_t errlen);

/* Removes the file (no error if absent). */
void rc_state_file_remove(const char *path);

void rc_saved_state_clear(struct rc_saved_state *s);

#endif
