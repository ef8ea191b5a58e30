/* fuzz_control.c - libFuzzer target: control API requests (rc_control.h) parsed, filter
 * set changes applied and responses rendered, as the broker thread and the worker do. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "rc_command.h"
#include "rc_control.h"
#include "rc_strlist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *current[] = { "/restapi/v1.0/account/~/extension/~/presence", "/b", NULL };
	struct rc_control_request *req = rc_control_parse((const char *)data, size, data,
			size < 16 ? size : 16);

	if (req == NULL)
		return 0;
	for (size_t i = 0; i < req->n; i++) {
		struct rc_control_command *cmd = &req->cmds[i];
		char **out = NULL;
		size_t n = 0;
		bool changed;
		char err[200];
		if (cmd->answered)
			continue;
		if (rc_control_filters_apply(cmd, current, 2, &out, &n, &changed, err, sizeof(err)) == 0)
			rc_strlist_free(out);
		if (i % 2)
			rc_control_ok(cmd, json_object_new_object());
		else
			rc_control_fail(cmd, "fuzz %zu", i);
	}
	size_t len;
	free(rc_control_response(req, &len));
	rc_control_request_free(req);
	/* The same bytes on every command topic (the first byte picks the argument). */
	static const char *const args[] = { "~", "401550809004", "", "12a", "15551234567", "1" };
	for (int t = RC_CMDT_PRESENCE; t <= RC_CMDT_RESUBSCRIBE; t++) {
		struct rc_control_request *one = rc_command_parse((enum rc_command_topic)t,
				args[size > 0 ? data[0] % 6 : 0], (const char *)data, size, data, size < 8 ? size : 8);
		struct rc_control_gates g = { .presence = size % 2 == 0, .sms = size % 3 == 0 };
		if (one == NULL)
			continue;
		rc_control_gate(one, &g);
		free(rc_control_response(one, &len));
		rc_control_request_free(one);
	}
	char topic[64];
	snprintf(topic, sizeof(topic), "p/bridge/command/%.*s", (int)(size < 40 ? size : 40), (const char *)data);
	(void)rc_command_topic("p", topic, NULL);
	(void)rc_command_response_topic_problem("p", topic);
	/* The same bytes as a subscription list. */
	json_object *d = rc_control_subscriptions_data((const char *)data, size, "s1", NULL, 0);
	json_object_put(d);
	return 0;
}
