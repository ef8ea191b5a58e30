/* fuzz_topic.c - libFuzzer target: event URL to topic, with and without topic_map rules
 * (one of them without a template: publish options only, the default mapping), and the
 * rule validation used at start-up. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "rc_topic.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct rc_topic_rule rules[] = {
		{ .pattern = "/restapi/v1.0/account/{account}/extension/{ext}/presence", .tmpl = "home/{account}/{ext}" },
		{ .pattern = "/team-messaging/v1/{what}", .tmpl = "chat/{what}" },
		{ .pattern = "/restapi/v1.0/account/{a}/extension/{e}/{what}", .has_retain = true,
		  .retain = true, .expiry_s = 60 },
	};
	const struct rc_topic_rule *rule = NULL;
	char *topic = NULL;
	char err[256];

	if (rc_topic_for_event_rule((const char *)data, size, "ringcentral", rules, 3, &topic,
			&rule) == RC_TOPIC_OK) {
		if (rc_topic_check(topic, strlen(topic)) != RC_TOPIC_OK ||
				rc_topic_is_reserved(topic, strlen(topic), "ringcentral"))
			abort(); /* a mapped topic must always pass the publish checks */
		if (rule != NULL && (rule < rules || rule >= rules + 3))
			abort();
		free(topic);
	}
	rc_topic_check((const char *)data, size);

	/* Split the input at the first space into a rule pattern and template. */
	char *s = strndup((const char *)data, size);
	if (s != NULL) {
		char *sp = strchr(s, ' ');
		if (sp != NULL) {
			*sp = '\0';
			rc_topic_rule_check(s, sp + 1, err, sizeof(err));
		} else {
			rc_topic_rule_check(s, NULL, err, sizeof(err));
		}
		free(s);
	}
	return 0;
}
