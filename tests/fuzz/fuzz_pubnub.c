/* fuzz_pubnub.c - libFuzzer target: PubNub v2 subscribe answers. */
#include <stdint.h>
#include <string.h>
#include "rc_pubnub.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rc_pubnub_response r;

	if (rc_pubnub_parse((const char *)data, size, &r) != RC_PUBNUB_OK)
		return 0;
	if (strlen(r.next.tt) == 0 || strlen(r.next.tt) >= RC_PUBNUB_TT_MAX)
		__builtin_trap(); /* a parsed timetoken is always a usable cursor */
	for (size_t i = 0; i < r.n_messages; i++) {
		int is_string;
		const char *str;
		size_t len;
		json_object *obj;
		rc_pubnub_message_payload(&r, i, &is_string, &str, &len, &obj);
	}
	rc_pubnub_response_clear(&r);
	return 0;
}
