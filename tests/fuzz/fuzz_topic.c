/* fuzz_topic.c - libFuzzer target: event URL to topic, with and without topic_map rules,
 * and the rule validation used at start-up. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "rc_topic.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct rc_topic_rule rules[] = {
		{ "/restapi/v1.0/account/{account}/extension/{ext}/presence", "home/{account}/{ext}" },
		{ "/team-messaging/v1/{what}", "chat/{what}" },
	};
	char *topic = NULL;
	char err[256];

	if (rc_topic_for_event((const char *)data, size, "ringcentral", rules, 2, &topic) == RC_TOPIC_OK) {
		if (rc_topic_check(topic, strlen(topic)) != RC_TOPIC_OK)
			abort(); /* a mapped topic must always pass the publish checks */
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
		}
		free(s);
	}
	return 0;
}
