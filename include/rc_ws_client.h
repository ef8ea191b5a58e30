/* rc_ws_client.h - one WebSocket client connection (libwebsockets) driven by the worker.
 *
 * libwebsockets does the TLS, the HTTP upgrade and the WebSocket framing; this module
 * only fits it into the worker's loop, which sleeps in curl_multi_poll(). Debian builds
 * libwebsockets without external-poll support, so lws cannot tell us which events it
 * waits for; what we know instead is its one socket. The worker adds that socket to its
 * poll set (rc_ws_client_wait), calls rc_ws_client_service() after every wake-up (which
 * never blocks: lws polls its own fds with a zero timeout), and while lws may be waiting
 * for something other than input (connecting, TLS handshake, output queued behind a
 * full socket) the wait is capped at a few milliseconds.
 *
 * Everything here runs on the worker thread. The callbacks are called from inside
 * rc_ws_client_service(); they may call rc_ws_client_send/ping/close/abort, but not
 * rc_ws_client_connect (reconnecting is the worker loop's decision, outside callbacks). */
#ifndef RC_WS_CLIENT_H
#define RC_WS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <curl/curl.h>

struct rc_ws_client;

struct rc_ws_callbacks {
	void (*on_open)(void *arg);
	/* One complete text message. Messages above max_message are dropped here and
	 * reported with on_too_large instead. */
	void (*on_text)(void *arg, const char *buf, size_t len);
	void (*on_too_large)(void *arg, size_t len);
	void (*on_pong)(void *arg);
	/* The connection is gone (or never opened). code/reason are the server's close
	 * frame; code 0 means there was none (connect failure, TCP drop, our own abort).
	 * what describes a failure for logs (no secrets), "" if none. */
	void (*on_closed)(void *arg, int code, const char *reason, const char *what);
	void *arg;
};

/* The peer is verified against the system store plus cafile (NULL: the system store
 * alone), the same set REST and PubNub use (rc_http_trust_store). timeout_s bounds the
 * name lookup, and then connecting and the upgrade. Returns NULL with a message in err,
 * also when cafile cannot be loaded. */
struct rc_ws_client *rc_ws_client_new(const char *cafile, size_t max_message, long timeout_s,
		const struct rc_ws_callbacks *cb, char *err, size_t errlen);
void rc_ws_client_free(struct rc_ws_client *c);

/* Starts connecting to a ws:// or wss:// URL (query included). One connection at a
 * time: fails if one is open or opening. On failure to even start, returns -1 with a
 * message in err and no callback follows. A host name is looked up without blocking
 * (glibc's getaddrinfo_a, checked at each service); a failed or timed-out lookup ends
 * in on_closed like a refused connection. The certificate is checked against the host
 * name, never against the address it resolved to. */
int rc_ws_client_connect(struct rc_ws_client *c, const char *url, char *err, size_t errlen);

/* True from rc_ws_client_connect until on_closed. */
bool rc_ws_client_active(const struct rc_ws_client *c);

/* Queues a text message (copied) / a ping. -1 if not open or out of memory. */
int rc_ws_client_send(struct rc_ws_client *c, const char *text, size_t len);
int rc_ws_client_ping(struct rc_ws_client *c);
/* A clean close (code 1000) after the queued messages; on_closed follows. */
void rc_ws_client_close(struct rc_ws_client *c);
/* Drops the connection at once (no close frame); on_closed follows with code 0 (at the
 * next service; a name lookup in progress is abandoned, not waited for). */
void rc_ws_client_abort(struct rc_ws_client *c, const char *what);

/* Stops (true) or resumes reading: the server's frames wait in TCP meanwhile. */
void rc_ws_client_pause(struct rc_ws_client *c, bool paused);

/* Loop integration: fills *fd with the socket to wait on (returns 0) or returns -1 if
 * there is none; *max_wait_ms is lowered to how long the worker may sleep at most. */
int rc_ws_client_wait(struct rc_ws_client *c, struct curl_waitfd *fd, int *max_wait_ms);
/* Lets libwebsockets do whatever is ready; never blocks. */
void rc_ws_client_service(struct rc_ws_client *c);

#endif
