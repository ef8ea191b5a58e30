/* worker_internal.h - the worker's state, shared by worker.c and ws_delivery.c only.
 *
 * worker.c owns the loop, the REST calls and PubNub delivery; ws_delivery.c owns
 * WebSocket delivery. Both run on the worker thread and use the helpers below for what
 * every transport shares: status, counters, the notification pipeline. */
#ifndef RC_WORKER_INTERNAL_H
#define RC_WORKER_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <curl/curl.h>
#include "rc_backoff.h"
#include "rc_config.h"
#include "rc_http.h"
#include "rc_lifecycle.h"
#include "rc_outbox.h"
#include "rc_pipeline.h"
#include "rc_pubnub.h"
#include "rc_rest.h"
#include "rc_wsg.h"
#include "rc_ws_client.h"

enum rc_wsd_phase {
	RC_WSD_IDLE = 0,    /* no connection; the next one is due at reconnect_at */
	RC_WSD_WAIT_TOKEN,  /* a WSTOKEN REST call is due or in flight */
	RC_WSD_CONNECTING,  /* TCP, TLS and the upgrade */
	RC_WSD_GREETING,    /* open, waiting for ConnectionDetails */
	RC_WSD_READY,       /* ConnectionDetails seen: requests may go */
};

struct rc_ws_delivery {
	struct rc_ws_client *client;
	enum rc_wsd_phase phase;
	struct rc_backoff backoff;
	int64_t reconnect_at;
	int64_t deadline;          /* connecting/greeting must end by then */
	int64_t ready_at;
	int64_t last_rx, last_tx;
	int64_t ping_sent_at;      /* 0: no ping outstanding */
	bool paused;               /* reading stopped: the outbox is full */

	/* Recovery: the latest wsc token, and until when the server keeps it. */
	char wsc_token[RC_WSG_WSC_MAX];
	int64_t wsc_valid_until;
	int64_t recovery_timeout_ms;
	bool recovering;           /* this connection was opened with the wsc token */
	bool ever_connected;

	/* The one ClientRequest in flight. */
	char req_id[40];
	const char *req_method;    /* "POST" "PUT" "GET" "DELETE", NULL if none */
	int64_t req_deadline;
	int64_t req_retry_at;
	char **req_filters;        /* what a POST or PUT asked for */
	size_t n_req_filters;
	int64_t check_at;          /* when to GET the subscription to confirm it */

	bool stop_sent;            /* DELETE or close sent during shutdown */
};

struct rc_worker {
	const struct rc_config *cfg;
	struct rc_outbox *outbox;
	pthread_t thread;

	pthread_mutex_t cmd_lock;
	bool cmd_stop;
	bool cmd_reload;

	CURLM *multi;
	struct rc_lifecycle lc;
	uint64_t rng;

	/* The REST exchange in flight (lc.in_flight says which). */
	struct rc_http rest;
	bool rest_busy;

	/* The PubNub long-poll. */
	struct rc_http poll;
	bool poll_busy;
	bool poll_failing;            /* the last poll failed: not online until one succeeds */
	int64_t poll_not_before;
	struct rc_backoff poll_backoff;
	struct rc_pubnub_cursor cursor;
	char pubnub_uuid[40];

	struct rc_token token;
	struct rc_subscription sub;   /* the live subscription as the server last described it */
	char *resume_id;              /* a saved subscription id to confirm */
	char *resume_address;
	struct rc_pubnub_cursor resume_cursor;
	bool ever_subscribed;

	/* Filters: what we want, and what we last asked the server for. */
	char **desired;
	size_t n_desired;
	char **requested;
	size_t n_requested;

	/* Orphans of earlier runs found by a LIST, deleted one per DELETE_ORPHAN. */
	char **orphans;
	size_t n_orphans;

	struct rc_pipeline pipeline;
	int64_t drop_logged_at[RC_DROP_CAUSE_COUNT];
	uint64_t drops_since_log[RC_DROP_CAUSE_COUNT];

	/* WebSocket delivery (transport websocket): see ws_delivery.c. */
	struct rc_ws_delivery ws;

	bool stopping;
	int64_t stop_deadline;
	bool state_dirty;
	int64_t state_saved_at;
	bool last_online;
};


/* Helpers in worker.c shared with ws_delivery.c. */
int64_t rc_worker_now(void);
uint32_t rc_worker_random(struct rc_worker *w);
/* A random v4 UUID (PubNub's client id, WSG message ids). */
void rc_worker_uuid(struct rc_worker *w, char *buf, size_t len);
void rc_worker_publish_status(struct rc_worker *w, const char *error);
void rc_worker_count(struct rc_worker *w, uint64_t *counter);
/* One notification (its text, or a parsed object) through the pipeline to the outbox. */
void rc_worker_deliver_one(struct rc_worker *w, const char *str, size_t len, json_object *obj,
		int64_t now);
/* Counts and (rate-limited) logs a skipped notification. */
void rc_worker_drop(struct rc_worker *w, enum rc_drop_cause cause, const char *detail, int64_t now);
char **rc_worker_copy_list(char *const *list, size_t n);
void rc_worker_free_list(char **list, size_t n);

/* PubNub delivery (pubnub_delivery.c). */
/* Once per loop turn: starts a long-poll when one is due; lowers *wake. */
void rc_pnd_step(struct rc_worker *w, int64_t now, int64_t *wake);
/* The long-poll finished (curl said so). */
void rc_pnd_done(struct rc_worker *w, int64_t now);
/* Abandons a long-poll in flight. */
void rc_pnd_stop(struct rc_worker *w);

/* WebSocket delivery (ws_delivery.c). */
int rc_wsd_init(struct rc_worker *w, char *err, size_t errlen);
void rc_wsd_free(struct rc_worker *w);
/* The WSTOKEN call succeeded (takes t) : connects. */
void rc_wsd_token_ready(struct rc_worker *w, struct rc_wstoken *t, int64_t now);
/* Once per loop turn: timers, requests, keepalive; lowers *wake. */
void rc_wsd_step(struct rc_worker *w, int64_t now, int64_t *wake);
/* The socket to add to the poll set (0) or none (-1); lowers *max_wait_ms. */
int rc_wsd_wait(struct rc_worker *w, struct curl_waitfd *fd, int *max_wait_ms);
void rc_wsd_service(struct rc_worker *w);
bool rc_wsd_online(const struct rc_worker *w);
/* Shutdown: delete the subscription over the socket, then close. */
void rc_wsd_begin_stop(struct rc_worker *w);
bool rc_wsd_stopped(const struct rc_worker *w);

#endif
