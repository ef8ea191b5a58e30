/* rc_pace.h - how many notifications one broker TICK may hand over.
 *
 * Mosquitto queues what a plugin publishes to every matching subscriber at the start of
 * its next loop iteration, and drops what exceeds a client's max_queued_messages (default
 * 1000): for QoS 0 packets its socket could not take yet, for QoS 1 and 2 messages beyond
 * its in-flight window. A network publisher is read one packet per loop iteration, between
 * the broker's writes to slow sockets and its reading of acknowledgements, and so is paced
 * by the subscribers; handing the whole outbox over at once is what loses messages in a
 * burst. So:
 *  - a TICK the broker's own work caused (a subscriber's acknowledgement, a socket that
 *    became writable again, any client's traffic): one message, a network publisher's
 *    pace, clocked by the subscribers;
 *  - a TICK the wake timer caused after a whole quiet interval (no TICK of the broker's
 *    own since the timer's last) while no client socket is backed up (rc_backlog.h): a
 *    batch, for QoS 0 what socket buffers absorb, for QoS 1 and 2 the in-flight window;
 *  - a timer TICK while the broker is busy: nothing, its own TICKs are coming.
 * With QoS 1 or 2, a quiet broker may also mean a subscriber that stopped acknowledging
 * with its queue full, which no socket shows. So the window is refilled only after the
 * broker has been quiet for RC_PACE_ACK_PAUSE_US (a subscriber's shorter hiccup, a garbage
 * collection, is waited out: each batch into a queue that was not empty would stay in
 * it), and a TICK of the broker's own soon after a batch (RC_PACE_ANSWER_WINDOW_US) is taken
 * as its answer; while batches have been answered within the last RC_PACE_ACKNOWLEDGING_US,
 * a batch that was not answered holds the next one back until an answer comes or
 * RC_PACE_UNANSWERED_MAX_US passed (whatever answered earlier batches may be a client that
 * acknowledges only something else, such as the retained status, while the notifications'
 * subscribers take QoS 0 and never answer). Subscribers that never acknowledge get a batch
 * every quiet interval.
 * Without the wake timer every TICK is the broker's own: a batch after its idle wait.
 *
 * Pure: the clock is a parameter; the socket check is the caller's callback. Broker
 * thread only. */
#ifndef RC_PACE_H
#define RC_PACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RC_PACE_WAKE_INTERVAL_US 500    /* the wake timer's period while messages wait */
#define RC_PACE_BATCH_QOS0 256
#define RC_PACE_BATCH_BYTES (256 * 1024)
#define RC_PACE_BATCH_QOS1 20           /* Mosquitto's default max_inflight_messages */
#define RC_PACE_ANSWER_WINDOW_US 20000
#define RC_PACE_ACKNOWLEDGING_US 1000000
#define RC_PACE_ACK_PAUSE_US 5000
#define RC_PACE_UNANSWERED_MAX_US 10000

struct rc_pace {
	int qos;                   /* of the plugin's publications */
	bool timed;                /* the wake timer runs (wake_broker) */
	int64_t last_tick_us;
	bool busy_since_timer;     /* a TICK of the broker's own came since the timer's last */
	int64_t busy_at_us;        /* the last TICK of the broker's own while it was busy */
	bool batch_unanswered;     /* no TICK of the broker's own soon after the last batch */
	int64_t batch_at_us;
	int64_t answered_at_us;    /* the last TICK of the broker's own that answered a batch */
};

void rc_pace_init(struct rc_pace *p, int qos, bool timed);

/* One TICK at now_us, caused by the wake timer (by_timer) or by the broker's own work.
 * backlogged(arg) is asked only when a batch is otherwise due: true if a client socket is
 * backed up. Returns how many messages the TICK may hand over (at most
 * RC_PACE_BATCH_BYTES of payload beyond the first, the caller's to apply). */
size_t rc_pace_tick(struct rc_pace *p, int64_t now_us, bool by_timer,
		bool (*backlogged)(void *arg), void *arg);

#endif
