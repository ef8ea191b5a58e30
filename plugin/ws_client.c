/* ws_client.c - one WebSocket client connection on libwebsockets (see rc_ws_client.h).
 *
 * libwebsockets calls back into ws_client__callback() from rc_ws_client_service(); that
 * callback assembles text messages, writes what is queued when the socket is writable and
 * turns the connection's end (refused, dropped, closed by either side) into exactly one
 * on_closed.
 *
 * Name lookups never run on the worker thread. libwebsockets 4.1 (built without its
 * async DNS) would call a blocking getaddrinfo() for the gateway's host inside
 * lws_client_connect_via_info(), holding up the whole worker, and its stop, for as long
 * as an unanswering DNS server makes it (minutes). So a host name is first resolved with
 * glibc's getaddrinfo_a(), which runs in glibc's own threads; the worker polls it
 * (gai_error) at each service. lws is then given the numeric address to connect to and
 * the host name for everything else: the Host header, SNI and the certificate's name
 * check (lws 4.1 takes all three from the client's host, ci.host, not from the address).
 * A lookup still running when the connection is given up is cancelled if glibc can, else
 * left to glibc: its request block is never freed while glibc may still write to it. */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libwebsockets.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>
#include "rc_http.h"
#include "rc_clock.h"
#include "rc_version.h"
#include "rc_ws_client.h"

#define RC_WS_BUSY_WAIT_MS 5   /* how often lws is serviced while it may wait for output */
#define RC_WS_LOOKUP_POLL_MS 10 /* how often a running name lookup is checked */

/* One getaddrinfo_a() request; glibc writes into req until the lookup is over. */
struct ws_lookup {
	struct ws_lookup *next;   /* in the list of abandoned lookups */
	struct gaicb req;
	struct addrinfo hints;
	char name[];              /* the host name, req.ar_name */
};

struct ws_out {
	struct ws_out *next;
	size_t len;
	unsigned char buf[]; /* LWS_PRE bytes of headroom, then the message */
};

enum ws_state { WS_IDLE = 0, WS_RESOLVING, WS_CONNECTING, WS_OPEN, WS_CLOSING };

struct rc_ws_client {
	struct lws_context *ctx;
	struct lws *wsi;
	enum ws_state state;
	struct rc_ws_callbacks cb;
	long timeout_s;

	/* WS_RESOLVING: the lookup of host, and where to go once it is done. */
	struct ws_lookup *lookup;
	struct ws_lookup *abandoned;  /* given up but still running in glibc */
	int64_t lookup_deadline;
	char *host;
	char *path;                   /* carries the token: cleansed when freed */
	int port;
	bool tls;

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

/* ---------------------------------------------------------------- name lookup */

static void ws_client__lookup_free(struct ws_lookup *l)
{
	if (l->req.ar_result != NULL)
		freeaddrinfo(l->req.ar_result);
	free(l);
}

/* Frees the abandoned lookups glibc is done with. */
static void ws_client__reap(struct rc_ws_client *c)
{
	struct ws_lookup **pp = &c->abandoned;

	while (*pp != NULL) {
		struct ws_lookup *l = *pp;
		if (gai_error(&l->req) != EAI_INPROGRESS) {
			*pp = l->next;
			ws_client__lookup_free(l);
		} else {
			pp = &l->next;
		}
	}
}

/* Gives up the running lookup without waiting for it. */
static void ws_client__abandon_lookup(struct rc_ws_client *c)
{
	struct ws_lookup *l = c->lookup;

	if (l == NULL)
		return;
	c->lookup = NULL;
	if (gai_cancel(&l->req) == EAI_NOTCANCELED) {
		/* In a glibc thread, inside getaddrinfo: it writes its result into l later. */
		l->next = c->abandoned;
		c->abandoned = l;
	} else {
		ws_client__lookup_free(l); /* cancelled before it ran, or already over */
	}
}

static void ws_client__forget_target(struct rc_ws_client *c)
{
	ws_client__abandon_lookup(c);
	free(c->host);
	c->host = NULL;
	if (c->path != NULL) {
		OPENSSL_cleanse(c->path, strlen(c->path));
		free(c->path);
		c->path = NULL;
	}
}

static bool ws_client__numeric(const char *host)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

/* The one place a connection ends. */
static void ws_client__ended(struct rc_ws_client *c)
{
	if (c->state == WS_IDLE)
		return;
	/* Not the target's strings: this may run inside lws_client_connect_via_info. */
	ws_client__abandon_lookup(c);
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

	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: {
		/* lws sends no User-Agent of its own; the upgrade names our release like every
		 * REST request does (http.c). */
		unsigned char **p = in, *end = *p + len;
		if (lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_USER_AGENT,
				(const unsigned char *)RC_USER_AGENT, (int)strlen(RC_USER_AGENT), p, end) != 0) {
			snprintf(c->what, sizeof(c->what), "no room for the User-Agent header");
			return -1;
		}
		break;
	}

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
	c->timeout_s = timeout_s > 0 ? timeout_s : 30;
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
	ws_client__forget_target(c);
	ws_client__reap(c);
	/* Lookups still inside getaddrinfo stay allocated: glibc will write into them when
	 * (if ever) the DNS server answers. Bounded by the reconnect backoff; never waited
	 * for (that wait is what could hold up the stop). */
	c->abandoned = NULL;
	ws_client__drop_queue(c);
	free(c->in);
	free(c);
}

/* Hands the connection to lws: address is numeric (lws's own getaddrinfo of it does no
 * lookup), c->host names the server for the Host header, SNI and the certificate check.
 * 0, or -1 with c->what set. */
static int ws_client__start_lws(struct rc_ws_client *c, const char *address)
{
	struct lws_client_connect_info ci;

	memset(&ci, 0, sizeof(ci));
	ci.context = c->ctx;
	ci.address = address;
	ci.port = c->port;
	ci.path = c->path;
	ci.host = c->host;
	ci.origin = c->host;
	ci.ssl_connection = c->tls ? LCCSCF_USE_SSL : 0;
	ci.protocol = NULL;
	ci.local_protocol_name = ws_client__protocols[0].name;
	ci.ietf_version_or_minus_one = -1;
	ci.pwsi = &c->wsi;

	c->state = WS_CONNECTING;
	struct lws *wsi = lws_client_connect_via_info(&ci);
	/* lws copied what it needs (into its stash) before returning; address may be
	 * c->host. */
	ws_client__forget_target(c);
	if (wsi == NULL) {
		/* Failures this early may or may not have gone through the callback (which
		 * then left the state WS_IDLE, on_closed said). */
		c->wsi = NULL;
		if (c->what[0] == '\0')
			snprintf(c->what, sizeof(c->what), "cannot start the connection");
		return -1;
	}
	return 0;
}

static int ws_client__start_lookup(struct rc_ws_client *c)
{
	size_t n = strlen(c->host);
	struct ws_lookup *l = calloc(1, sizeof(*l) + n + 1);

	if (l == NULL) {
		snprintf(c->what, sizeof(c->what), "out of memory");
		return -1;
	}
	memcpy(l->name, c->host, n + 1);
	l->hints.ai_family = AF_UNSPEC;
	l->hints.ai_socktype = SOCK_STREAM;
	l->req.ar_name = l->name;
	l->req.ar_request = &l->hints;
	struct gaicb *list[1] = { &l->req };
	int rc = getaddrinfo_a(GAI_NOWAIT, list, 1, NULL);
	if (rc != 0) {
		snprintf(c->what, sizeof(c->what), "cannot look up %s: %s", c->host, gai_strerror(rc));
		free(l);
		return -1;
	}
	c->lookup = l;
	c->lookup_deadline = rc_clock_now_ms() + (int64_t)c->timeout_s * 1000;
	c->state = WS_RESOLVING;
	return 0;
}

/* The connection ends before lws had it: on_closed, and the URL's parts are dropped. */
static void ws_client__lookup_failed(struct rc_ws_client *c)
{
	ws_client__ended(c);
	ws_client__forget_target(c);
}

/* WS_RESOLVING, at each service: the lookup's outcome, a timeout or an abort. */
static void ws_client__check_lookup(struct rc_ws_client *c)
{
	struct ws_lookup *l = c->lookup;
	int rc = l != NULL ? gai_error(&l->req) : EAI_CANCELED;

	if (c->kill_pending) {
		ws_client__lookup_failed(c);       /* abandons the lookup */
		return;
	}
	if (rc == EAI_INPROGRESS) {
		if (rc_clock_now_ms() >= c->lookup_deadline) {
			snprintf(c->what, sizeof(c->what), "looking up %s took longer than %ld s",
					c->host, c->timeout_s);
			ws_client__lookup_failed(c);
		}
		return;
	}
	if (rc != 0 || l->req.ar_result == NULL) {
		snprintf(c->what, sizeof(c->what), "cannot look up %s: %s", c->host,
				rc != 0 ? gai_strerror(rc) : "no address");
		ws_client__lookup_failed(c);
		return;
	}
	char address[INET6_ADDRSTRLEN] = "";
	const struct addrinfo *ai = l->req.ar_result;
	if (ai->ai_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ai->ai_addr)->sin_addr, address,
				sizeof(address));
	else if (ai->ai_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ai->ai_addr)->sin6_addr, address,
				sizeof(address));
	c->lookup = NULL;
	ws_client__lookup_free(l);
	if (address[0] == '\0') {
		snprintf(c->what, sizeof(c->what), "cannot look up %s: no usable address", c->host);
		ws_client__lookup_failed(c);
		return;
	}
	if (ws_client__start_lws(c, address) != 0)
		ws_client__ended(c);    /* unless the callback has already said so */
}

int rc_ws_client_connect(struct rc_ws_client *c, const char *url, char *err, size_t errlen)
{
	char *copy = strdup(url);
	const char *scheme = NULL, *address = NULL, *path = NULL;
	int port = 0;

	if (c->state != WS_IDLE) {
		snprintf(err, errlen, "a connection is already open");
		free(copy);
		return -1;
	}
	if (copy == NULL || lws_parse_uri(copy, &scheme, &address, &port, &path) != 0 ||
			(strcmp(scheme, "wss") != 0 && strcmp(scheme, "ws") != 0)) {
		snprintf(err, errlen, "not a ws:// or wss:// URL");
		if (copy != NULL)
			OPENSSL_cleanse(copy, strlen(url)); /* lws_parse_uri may have cut it */
		free(copy);
		return -1;
	}
	ws_client__reap(c);
	ws_client__forget_target(c);
	c->close_code = 0;
	c->close_reason[0] = '\0';
	c->what[0] = '\0';
	c->in_len = 0;
	c->in_too_large = false;
	c->port = port;
	c->tls = strcmp(scheme, "wss") == 0;
	c->host = strdup(address);
	/* lws_parse_uri drops the path's leading '/'. */
	if (c->host == NULL || asprintf(&c->path, "/%s", path) < 0) {
		c->path = NULL;
		ws_client__forget_target(c);
		snprintf(err, errlen, "out of memory");
		OPENSSL_cleanse(copy, strlen(url));
		free(copy);
		return -1;
	}
	OPENSSL_cleanse(copy, strlen(url));
	free(copy);

	int rc = ws_client__numeric(c->host) ? ws_client__start_lws(c, c->host) :
			ws_client__start_lookup(c);
	if (rc != 0) {
		c->state = WS_IDLE;
		c->wsi = NULL;
		ws_client__forget_target(c);
		snprintf(err, errlen, "%s", c->what);
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
		if (c->state == WS_CONNECTING || c->state == WS_RESOLVING)
			rc_ws_client_abort(c, "closed before it opened");
		return;
	}
	c->close_pending = true;
	c->state = WS_CLOSING;
	lws_callback_on_writable(c->wsi);
}

void rc_ws_client_abort(struct rc_ws_client *c, const char *what)
{
	if (c->state == WS_IDLE || (c->wsi == NULL && c->state != WS_RESOLVING))
		return;
	if (c->what[0] == '\0')
		snprintf(c->what, sizeof(c->what), "%s", what);
	c->kill_pending = true;
	if (c->state == WS_RESOLVING)
		return;    /* ended (on_closed) at the next service, without waiting for the lookup */
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
	if (c->state == WS_RESOLVING) {
		/* No socket of ours yet: glibc's thread does the lookup; check it soon. */
		int cap = c->kill_pending ? 0 : RC_WS_LOOKUP_POLL_MS;
		if (*max_wait_ms > cap)
			*max_wait_ms = cap;
		return -1;
	}
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
	if (c->state == WS_RESOLVING)
		ws_client__check_lookup(c);
	/* A negative timeout makes lws poll its fds without waiting. */
	lws_service(c->ctx, -1);
}
