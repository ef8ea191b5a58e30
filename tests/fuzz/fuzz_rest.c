/* fuzz_rest.c - libFuzzer target: REST answers (token, subscription, list, error) and
 * ISO 8601 times. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "rc_rest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *json = (const char *)data;
	struct rc_token t = {0};
	struct rc_subscription s = {0};
	struct rc_subscription *list = NULL;
	size_t n = 0;
	struct rc_api_error e;

	if (rc_token_parse(json, size, &t) == 0)
		rc_token_clear(&t);
	if (rc_subscription_parse(json, size, &s) == 0)
		rc_subscription_clear(&s);
	if (rc_subscription_list_parse(json, size, &list, &n) == 0) {
		for (size_t i = 0; i < n; i++)
			rc_subscription_clear(&list[i]);
		free(list);
	}
	rc_api_error_parse(json, size, &e);

	char *z = strndup(json, size);
	if (z != NULL) {
		int64_t ms;
		rc_iso8601_to_ms(z, &ms);
		free(z);
	}
	return 0;
}
