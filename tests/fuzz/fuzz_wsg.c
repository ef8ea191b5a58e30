/* fuzz_wsg.c - libFuzzer target: WebSocket gateway frames from the server. */
#include <stdint.h>
#include "rc_wsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rc_wsg_frame f;

	if (rc_wsg_parse((const char *)data, size, &f) != RC_WSG_OK)
		return 0;
	rc_wsg_recovery_state(&f);
	rc_wsg_frame_clear(&f);
	return 0;
}
