/* ws_client.c - one WebSocket client connection on libwebsockets (see rc_ws_client.h).
 *
 * libwebsockets calls back into ws_client__callback() from rc_ws_client_service(); that
 * callback assembles text messages, writes what is queued when the socket is writable and
 * turns the connection's end (refused, dropped, closed by either side) into exactly one
 * on_closed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libwebsockets.h>
#include <openssl/x509.h>
#include "rc_http.h"
#include "rc_ws_client.h"

#define RC_WS_BUSY_WAIT_MS 5   /* how often lws is serviced while it may wait for output */

struct ws_out {
	struct ws_out *next;
	size_t len;
	unsigned char buf[]; /* LWS_PRE bytes of headroom, then the message */
};

enum ws_state { WS_IDLE = 0, WS_CONNECTING, WS_OPEN, WS_CLOSING };

struct rc_ws_client {
	struct lws_context *ctx;
	struct lws *wsi;
	enum ws_state state;
	struct rc_ws_callbacks cb;

	struct ws_out *out_head, *out_tail;
	bool ping_pending;
	bool close_pending;
	bool kill_pending;

	char *in;                 /* the message being assembled */
	size_t in_len, in_cap, in_max;
	bool in_too_large;

	/* TLS trust, set while lws_create_context() runs (see rc_ws_client_new). */
	const char *cafile;
	bool trust_set;
	char trust_error[200];

	int close_code;           /* from the server's close frame */
	char close_reason[128];
	char what[200];
};

static const char *ws_client__scrub(const char *s)
{
	/* lws error strings do not name the URL, but the URL carries a token: be sure. */
	if (s == NULL)
		return "";
	if (strstr(s, "access_token") != NULL || strstr(s, "wsc=") != NULL)
		return "connection failed";
	return s;
}

static void ws_client__drop_queue(struct rc_ws_client *c)
{
	while (c->out_head != NULL) {
		struct ws_out *o = c->out_head;
		c->out_head = o->next;
		free(o);
	}
	c->out_tail = NULL;
	c->ping_pending = false;
	c->close_pending = false;
	c->kill_pending = false;
}

/* The one place a connection ends. */
static void ws_client__ended(struct rc_ws_client *c)
{
	if (c->state == WS_IDLE)
		return;
	c->state = WS_IDLE;
	c->wsi = NULL;
	ws_client__drop_queue(c);
	c->in_len = 0;
	c->in_too_large = false;
	if (c->cb.on_closed != NULL)
		c->cb.on_closed(c->cb.arg, c->close_code, c->close_reason, c->what);
}

static int ws_client__append(struct rc_ws_client *c, const void *in, size_t len)
{
	if (c->in_too_large || c->in_len + len > c->in_max) {
		c->in_too_large = true;
		c->in_len += len;
		return 0;
	}
	if (c->in_len + len + 1 > c->in_cap) {
		size_t cap = c->in_cap ? c->in_cap : 4096;
		while (cap < c->in_len + len + 1)
			cap *= 2;
		char *p = realloc(c->in, cap);
		if (p == NULL)
			return -1;
		c->in = p;
		c->in_cap = cap;
	}
	memcpy(c->in + c->in_len, in, len);
	c->in_len += len;
	c->in[c->in_len] = '\0';
	return 0;
}

static int ws_client__writeable(struct rc_ws_client *c, struct lws *wsi)
{
	if (c->close_pending && c->out_head == NULL) {
		/* Returning -1 makes lws close the connection. (lws_close_reason() would add a
		 * status code, but Debian's lws 4.1 asserts on it for client connections.) */
		return -1;
	}
	if (c->ping_pending) {
		unsigned char buf[LWS_PRE];
		c->ping_pending = false;
		if (lws_write(wsi, buf + LWS_PRE, 0, LWS_WRITE_PING) < 0)
			return -1;
	} else if (c->out_head != NULL) {
		struct ws_out *o = c->out_head;
		int n = lws_write(wsi, o->buf + LWS_PRE, o->len, LWS_WRITE_TEXT);
		c->out_head = o->next;
		if (c->out_head == NULL)
			c->out_tail = NULL;
		free(o);
		if (n < 0)
			return -1;
	}
	if (c->out_head != NULL || c->ping_pending || c->close_pending)
		lws_callback_on_writable(wsi);
	return 0;
}

static int ws_client__callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
		void *in, size_t len)
{
	struct rc_ws_client *c = lws_context_user(lws_get_context(wsi));

	if (c == NULL || (c->wsi != NULL && wsi != c->wsi && reason != LWS_CALLBACK_WSI_DESTROY))
		return 0;

	switch (reason) {
	case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_CLIENT_VERIFY_CERTS:
		/* Once, from lws_create_context(), with the client SSL_CTX as user: its store
		 * becomes the one REST and PubNub use too (system store plus cafile). */
		if (user != NULL && rc_http_tls_trust(user, c->cafile, c->trust_error,
				sizeof(c->trust_error)) == 0)
			c->trust_set = true;
		break;

	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		c->state = WS_OPEN;
		if (c->cb.on_open != NULL)
			c->cb.on_open(c->cb.arg);
		if (c->out_head != NULL || c->ping_pending || c->close_pending)
			lws_callback_on_writable(wsi);
		break;

	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (ws_client__append(c, in, len) != 0) {
			snprintf(c->what, sizeof(c->what), "out of memory");
			return -1;
		}
		if (lws_is_final_fragment(wsi)) {
			if (c->in_too_large) {
				if (c->cb.on_too_large != NULL)
					c->cb.on_too_large(c->cb.arg, c->in_len);
			} else if (c->cb.on_text != NULL) {
				c->cb.on_text(c->cb.arg, c->in != NULL ? c->in : "", c->in_len);
			}
			c->in_len = 0;
			c->in_too_large = false;
		}
		if (c->kill_pending)
			return -1;
		break;

	case LWS_CALLBACK_CLIENT_RECEIVE_PONG:
		if (c->cb.on_pong != NULL)
			c->cb.on_pong(c->cb.arg);
		break;

	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (c->kill_pending)
			return -1;
		return ws_client__writeable(c, wsi);

	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		/* lws answers the close frame at its next service: keep servicing it promptly. */
		c->state = WS_CLOSING;
		if (in != NULL && len >= 2) {
			const unsigned char *p = in;
			size_t rlen = len - 2 < sizeof(c->close_reason) - 1 ? len - 2 : sizeof(c->close_reason) - 1;
			c->close_code = (p[0] << 8) | p[1];
			memcpy(c->close_reason, p + 2, rlen);
			c->close_reason[rlen] = '\0';
		} else {
			c->close_code = LWS_CLOSE_STATUS_NO_STATUS;
		}
		break;

	case LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION:
		/* OpenSSL has decided (len is its verdict); keep the reason for the log, since
		 * lws reports a failed handshake only as an opaque error number. */
		if (len == 0 && user != NULL)
			snprintf(c->what, sizeof(c->what), "TLS certificate verify failed: %s",
					X509_verify_cert_error_string(X509_STORE_CTX_get_error(user)));
		break;

	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR: {
		unsigned int status = lws_http_client_http_response(wsi);
		if (status != 0 && status != 101)
			snprintf(c->what, sizeof(c->what), "HTTP %u on upgrade", status);
		else if (c->what[0] == '\0')
			snprintf(c->what, sizeof(c->what), "%s", in != NULL ?
					ws_client__scrub(in) : "connection failed");
		ws_client__ended(c);
		break;
	}

	case LWS_CALLBACK_CLIENT_CLOSED:
		ws_client__ended(c);
		break;

	case LWS_CALLBACK_WSI_DESTROY:
		if (wsi == c->wsi) {
			if (c->what[0] == '\0' && c->close_code == 0)
				snprintf(c->what, sizeof(c->what), "connection lost");
			ws_client__ended(c);
		}
		break;

	default:
		break;
	}
	return 0;
}

static const struct lws_protocols ws_client__protocols[] = {
	{ "rc-wsg", ws_client__callback, 0, 0, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

struct rc_ws_client *rc_ws_client_new(const char *cafile, size_t max_message, long timeout_s,
		const struct rc_ws_callbacks *cb, char *err, size_t errlen)
{
	struct rc_ws_client *c = calloc(1, sizeof(*c));
	struct lws_context_creation_info info;

	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->cb = *cb;
	c->in_max = max_message;
	/* lws logs to stderr by default, and its connection logs would name the URL. */
	lws_set_log_level(0, NULL);

	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = ws_client__protocols;
	info.user = c;
	/* Trust is set up in the LOAD_EXTRA_CLIENT_VERIFY_CERTS callback, which replaces the
	 * SSL_CTX's store. Left to itself, lws 4.1 would load OpenSSL's default paths plus
	 * client_ssl_ca_filepath, or, with no file, plus LWS_OPENSSL_CLIENT_CERTS ("../share",
	 * relative to the working directory): so no file is given, and the default paths it
	 * would only load to have them replaced are skipped. */
	c->cafile = cafile;
	info.client_ssl_ca_filepath = NULL;
	info.fd_limit_per_thread = 8; /* one connection; keeps lws's fd tables small */
	info.timeout_secs = (unsigned int)(timeout_s > 0 ? timeout_s : 30);
	info.connect_timeout_secs = info.timeout_secs;
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT | LWS_SERVER_OPTION_VALIDATE_UTF8 |
			LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS;
	c->ctx = lws_create_context(&info);
	c->cafile = NULL;
	if (c->ctx == NULL || !c->trust_set) {
		/* Without the callback's store nothing would be trusted: fail now, not at connect. */
		if (c->ctx == NULL)
			snprintf(err, errlen, "cannot set up libwebsockets");
		else
			snprintf(err, errlen, "cannot set up TLS trust: %s",
					c->trust_error[0] ? c->trust_error : "libwebsockets did not ask");
		c->cb = (struct rc_ws_callbacks){0};
		lws_context_destroy(c->ctx);
		free(c);
		return NULL;
	}
	return c;
}

void rc_ws_client_free(struct rc_ws_client *c)
{
	if (c == NULL)
		return;
	c->cb = (struct rc_ws_callbacks){0}; /* destroying the context closes without telling */
	lws_context_destroy(c->ctx);
	ws_client__drop_queue(c);
	free(c->in);
	free(c);
}

int rc_ws_client_connect(struct rc_ws_client *c, const char *url, char *err, size_t errlen)
{
	struct lws_client_connect_info ci;
	char *copy = strdup(url);
	const char *scheme = NULL, *address = NULL, *path = NULL;
	int port = 0;
	char *fullpath = NULL;

	if (c->state != WS_IDLE) {
		snprintf(err, errlen, "a connection is already open");
		free(copy);
		return -1;
	}
	if (copy == NULL || lws_parse_uri(copy, &scheme, &address, &port, &path) != 0 ||
			(strcmp(scheme, "wss") != 0 && strcmp(scheme, "ws") != 0)) {
		snprintf(err, errlen, "not a ws:// or wss:// URL");
		free(copy);
		return -1;
	}
	/* lws_parse_uri drops the path's leading '/'. */
	if (asprintf(&fullpath, "/%s", path) < 0) {
		snprintf(err, errlen, "out of memory");
		free(copy);
		return -1;
	}
	memset(&ci, 0, sizeof(ci));
	ci.context = c->ctx;
	ci.address = address;
	ci.port = port;
	ci.path = fullpath;
	ci.host = address;
	ci.origin = address;
	ci.ssl_connection = strcmp(scheme, "wss") == 0 ? LCCSCF_USE_SSL : 0;
	ci.protocol = NULL;
	ci.local_protocol_name = ws_client__protocols[0].name;
	ci.ietf_version_or_minus_one = -1;
	ci.pwsi = &c->wsi;

	c->close_code = 0;
	c->close_reason[0] = '\0';
	c->what[0] = '\0';
	c->in_len = 0;
	c->in_too_large = false;
	c->state = WS_CONNECTING;
	struct lws *wsi = lws_client_connect_via_info(&ci);
	/* lws copies what it needs before returning. */
	if (fullpath != NULL) {
		memset(fullpath, 0, strlen(fullpath));
		free(fullpath);
	}
	memset(copy, 0, strlen(url));
	free(copy);
	if (wsi == NULL) {
		/* Failures this early may or may not have gone through the callback. */
		if (c->state != WS_IDLE) {
			c->state = WS_IDLE;
			c->wsi = NULL;
		}
		snprintf(err, errlen, "%s", c->what[0] ? c->what : "cannot start the connection");
		c->what[0] = '\0';
		return -1;
	}
	return 0;
}

bool rc_ws_client_active(const struct rc_ws_client *c)
{
	return c->state != WS_IDLE;
}

int rc_ws_client_send(struct rc_ws_client *c, const char *text, size_t len)
{
	if (c->state != WS_OPEN || c->close_pending)
		return -1;
	struct ws_out *o = malloc(sizeof(*o) + LWS_PRE + len);
	if (o == NULL)
		return -1;
	o->next = NULL;
	o->len = len;
	memcpy(o->buf + LWS_PRE, text, len);
	if (c->out_tail != NULL)
		c->out_tail->next = o;
	else
		c->out_head = o;
	c->out_tail = o;
	lws_callback_on_writable(c->wsi);
	return 0;
}

int rc_ws_client_ping(struct rc_ws_client *c)
{
	if (c->state != WS_OPEN)
		return -1;
	c->ping_pending = true;
	lws_callback_on_writable(c->wsi);
	return 0;
}

void rc_ws_client_close(struct rc_ws_client *c)
{
	if (c->state != WS_OPEN) {
		if (c->state == WS_CONNECTING)
			rc_ws_client_abort(c, "closed before it opened");
		return;
	}
	c->close_pending = true;
	c->state = WS_CLOSING;
	lws_callback_on_writable(c->wsi);
}

void rc_ws_client_abort(struct rc_ws_client *c, const char *what)
{
	if (c->state == WS_IDLE || c->wsi == NULL)
		return;
	if (c->what[0] == '\0')
		snprintf(c->what, sizeof(c->what), "%s", what);
	c->kill_pending = true;
	/* Safe from inside a callback too: lws ends it at the next service. */
	lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

void rc_ws_client_pause(struct rc_ws_client *c, bool paused)
{
	if (c->wsi != NULL && c->state != WS_IDLE)
		lws_rx_flow_control(c->wsi, paused ? 0 : 1);
}

int rc_ws_client_wait(struct rc_ws_client *c, struct curl_waitfd *fd, int *max_wait_ms)
{
	if (c->state == WS_IDLE)
		return -1;
	if (lws_service_adjust_timeout(c->ctx, 1, 0) == 0)
		*max_wait_ms = 0; /* lws holds decrypted input it has not delivered yet */
	else if (c->state != WS_OPEN || c->out_head != NULL || c->ping_pending || c->close_pending ||
			c->kill_pending) {
		if (*max_wait_ms > RC_WS_BUSY_WAIT_MS)
			*max_wait_ms = RC_WS_BUSY_WAIT_MS;
	}
	int sock = c->wsi != NULL ? (int)lws_get_socket_fd(c->wsi) : -1;
	if (sock < 0)
		return -1;
	fd->fd = sock;
	fd->events = CURL_WAIT_POLLIN;
	fd->revents = 0;
	return 0;
}

void rc_ws_client_service(struct rc_ws_client *c)
{
	/* A negative timeout makes lws poll its fds without waiting. */
	lws_service(c->ctx, -1);
}
