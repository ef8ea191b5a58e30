/* rc_backlog.h - whether any of the broker's client sockets is backed up.
 *
 * Mosquitto drops a QoS 0 message for a client whose socket could not take the previous
 * ones (more than max_queued_messages packets waiting in the broker), and the plugin API
 * says nothing about how far behind a client is. The kernel does: SIOCOUTQ gives the bytes
 * a socket has not yet sent. A subscriber that keeps up leaves its socket's send queue
 * near empty between batches; one that fell behind leaves it full (and the broker's own
 * queue growing behind it). So before handing the broker a batch, the plugin asks
 * whether some stream socket of the process has more than half of its send buffer
 * waiting; if so it hands over at the broker's own pace (one message per TICK of the
 * broker's own, which come as the socket drains).
 *
 * The sockets are found by scanning /proc/self/fd (connected stream sockets: the broker's
 * clients, and the worker's few connections to the cloud, whose queues stay small), at
 * most once per RC_BACKLOG_RESCAN_US; a descriptor closed or reused in between is skipped
 * or, at worst, looked at once for nothing. Broker thread only; read-only on the sockets. */
#ifndef RC_BACKLOG_H
#define RC_BACKLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RC_BACKLOG_RESCAN_US 1000000

struct rc_backlog {
	int *fds;
	size_t n, cap;
	int64_t scanned_at_us;
	bool scanned;
};

/* True if some connected stream socket of this process has more than half its send
 * buffer unsent. Rescans the descriptors when due. */
bool rc_backlog_any(struct rc_backlog *b, int64_t now_us);

void rc_backlog_free(struct rc_backlog *b);

#endif
