/* rc_pipeline.h - one delivered message in, one MQTT message (or a counted reason) out.
 *
 * decrypt (if the subscription is encrypted) -> parse and validate the envelope ->
 * drop replays by uuid -> map the event to a topic -> shape the payload. Shared by every
 * transport, and pure apart from the de-duplication memory it is given, so it is unit
 * tested and fuzzed as a whole. */
#ifndef RC_PIPELINE_H
#define RC_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>
#include "rc_config.h"
#include "rc_crypto.h"
#include "rc_dedupe.h"
#include "rc_json.h"
#include "rc_outbox.h"
#include "rc_status.h"

struct rc_pipeline {
	const struct rc_config *cfg;
	struct rc_dedupe *dedupe;            /* owned */
	struct rc_json_reader reader;        /* owned: parses every decrypted notification */
	unsigned char key[RC_CRYPTO_KEY_LEN];
	bool have_key;                       /* false: notifications arrive unencrypted */
};

enum rc_pipeline_result {
	RC_PIPE_PUBLISH = 0,  /* *out is ready for the outbox */
	RC_PIPE_DUPLICATE,    /* seen before: skip silently (counted) */
	RC_PIPE_DROP,         /* *cause says why */
};

int rc_pipeline_init(struct rc_pipeline *p, const struct rc_config *cfg, size_t dedupe_capacity);
void rc_pipeline_destroy(struct rc_pipeline *p);

/* Sets (or, with NULL, clears) the subscription's base64 key. Returns 0, or -1 if the key
 * is not 16 bytes of base64 (the key is then cleared). */
int rc_pipeline_set_key(struct rc_pipeline *p, const char *b64);

/* Processes one message: an encrypted/plain string (str, len), an already parsed
 * notification object (obj, str NULL), or both: a clear notification's exact text with
 * the object parsed from exactly that text (the WebSocket frame parser has it), which
 * saves parsing it twice; with a key set the object is ignored. On RC_PIPE_PUBLISH *out is a heap message
 * the caller owns. On RC_PIPE_DROP *cause is set and, when useful, *detail gets a short
 * excerpt (no secrets) of what was wrong, e.g. the start of a hostile event, escaped by
 * rc_logsafe() so it can go into a log line as it is. */
enum rc_pipeline_result rc_pipeline_process(struct rc_pipeline *p, const char *str, size_t len,
		json_object *obj, struct rc_outbox_msg **out, enum rc_drop_cause *cause,
		char *detail, size_t detail_len);

#endif
