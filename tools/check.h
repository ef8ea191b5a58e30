/* check.h - what the two halves of mosquitto-ringcentral-check share: the findings.
 *
 * check.c reads the broker's configuration and checks it offline; check_online.c logs in
 * with it and asks RingCentral. Both report through check_report(), one line per finding
 * on stdout ("error: ...", "warning: ...", "ok: ..."), and the errors decide the exit
 * code. No finding ever holds a secret: option values are only quoted by the plugin's own
 * parser, which never quotes a secret, and server text is escaped (rc_logsafe). */
#ifndef RC_CHECK_H
#define RC_CHECK_H

#include "rc_config.h"
#include "rc_state_file.h"

enum check_level { CHECK_OK, CHECK_WARNING, CHECK_ERROR };

struct check {
	int errors;
	int warnings;
};

/* One finding. file/line locate it in the configuration (file NULL: no location;
 * line 0: the file as a whole); the message is printf-formatted. */
void check_report(struct check *ck, enum check_level level, const char *file, int line,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Logs in with cfg, lists the app's subscriptions and tries the event filters against the
 * API (see docs/interface.md, "Checking the configuration"). saved is what the state_file
 * holds (NULL: none), to tell this bridge's subscriptions from others. */
void check_online(struct check *ck, const struct rc_config *cfg,
		const struct rc_saved_state *saved);

#endif
