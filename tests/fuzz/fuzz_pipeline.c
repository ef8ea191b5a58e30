/* fuzz_pipeline.c - libFuzzer target: decrypt + envelope parse + dedupe + topic mapping.
 *
 * The input is a delivered PubNub `d` string. The first byte chooses whether the
 * subscription is encrypted (the key is fixed), so both the ciphertext path and the
 * plaintext envelope path are explored. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "rc_pipeline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct rc_topic_rule rules[] = {
		{ .pattern = "/restapi/v1.0/account/{account}/extension/{ext}/presence", .tmpl = "home/phone/{ext}/presence" },
	};
	struct rc_config cfg = {
		.topic_prefix = "ringcentral",
		.topic_map = (struct rc_topic_rule *)rules,
		.n_topic_map = 1,
		.max_notification_size = 65536,
	};
	struct rc_pipeline p;
	struct rc_outbox_msg *m = NULL;
	enum rc_drop_cause cause;
	char detail[96];

	if (size < 1)
		return 0;
	cfg.payload = (data[0] & 2) ? RC_PAYLOAD_BODY : RC_PAYLOAD_NOTIFICATION;
	if (rc_pipeline_init(&p, &cfg, 8) != 0)
		return 0;
	if (data[0] & 1)
		rc_pipeline_set_key(&p, "fNP0fszFJdc/thDO90/B3A==");
	/* Twice: the second pass exercises the duplicate path. */
	for (int i = 0; i < 2; i++) {
		if (rc_pipeline_process(&p, (const char *)data + 1, size - 1, NULL, &m, &cause,
				detail, sizeof(detail)) == RC_PIPE_PUBLISH)
			rc_outbox_msg_free(m);
	}
	rc_pipeline_destroy(&p);
	return 0;
}
