/* transport.c - the transport table (see transport.h): the only place that maps a
 * configured transport to its implementation. */
#include <stddef.h>
#include "transport.h"

extern const struct rc_transport_ops rc_transport_pubnub;
extern const struct rc_transport_ops rc_transport_websocket;

const struct rc_transport_ops *rc_transport_ops_for(enum rc_transport kind)
{
	switch (kind) {
	case RC_TRANSPORT_PUBNUB: return &rc_transport_pubnub;
	case RC_TRANSPORT_WEBSOCKET: return &rc_transport_websocket;
	}
	return NULL;
}
