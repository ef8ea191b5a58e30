/* rc_broker_wake.h - ending the broker's idle wait when there is something to publish.
 *
 * Mosquitto 2.0 sleeps up to 100 ms in epoll_wait() between loop iterations and publishes
 * a plugin's messages only from its TICK (once per iteration): left alone, a notification
 * waits up to 100 ms for the broker to look. The loop blocks only its own five signals
 * (INT, TERM, USR1, USR2, HUP) around epoll_wait, which is never restarted after a signal
 * handler ran (whatever SA_RESTART says), so a signal to the broker thread ends the wait
 * at once and the TICK that follows publishes.
 *
 * The signal is SIGURG: its default action is to be ignored, the broker never asks for it
 * (it sets no socket owner), and a SIGURG that arrives after cleanup, or before the
 * handler is installed, does nothing. It comes from a POSIX timer aimed at the broker
 * thread: armed "now, then every interval" whenever messages wait, disarmed when the
 * outbox is empty. The repetition makes a lost wake harmless: a signal that lands just
 * before epoll_wait (the loop unblocks signals with sigprocmask and then waits, not
 * atomically) is followed by the next one an interval later. Without the timer (the
 * option off, or no timer available), the broker's own 100 ms wait is the fallback.
 *
 * rc_broker_wake_init/free run on the broker thread (init records it as the target);
 * arm/disarm may be called from any thread. */
#ifndef RC_BROKER_WAKE_H
#define RC_BROKER_WAKE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct rc_broker_wake {
	/* Set by the signal handler when the timer fired: the broker thread reads and clears
	 * it (rc_broker_wake_fired) to tell a TICK the timer caused from one the broker's
	 * own work caused. */
	volatile sig_atomic_t fired;
	bool ready;
	bool armed;
	bool handler_installed;
	timer_t timer;
	struct sigaction previous;   /* restored at free if the handler is still ours */
};

/* Installs the handler and creates the timer for the calling (broker) thread. Returns 0,
 * or -1 with the reason in err (the caller falls back to the broker's own wait). */
int rc_broker_wake_init(struct rc_broker_wake *w, char *err, size_t errlen);

/* Wakes the broker thread now and then every interval_us until disarmed. A no-op if
 * already armed or not ready. Not thread safe by itself: call under the lock that guards
 * the state it reflects (the outbox lock). */
void rc_broker_wake_arm(struct rc_broker_wake *w, long interval_us);
void rc_broker_wake_disarm(struct rc_broker_wake *w);

/* Broker thread: true if the timer fired since the last call. */
bool rc_broker_wake_fired(struct rc_broker_wake *w);

/* Deletes the timer (no signal is sent after it returns) and puts the previous handler
 * back if ours is still installed. */
void rc_broker_wake_free(struct rc_broker_wake *w);

#endif
