/* plugin.c - the Mosquitto side of the bridge: entry points and broker-thread callbacks.
 *
 * Everything here runs on the broker's own thread. Init validates the options (a bad one
 * stops the broker at start-up with one line naming it) and starts the worker thread; it
 * never waits on the network. Each MOSQ_EVT_TICK drains the outbox completely: log lines
 * go to the broker log, messages are published with their MQTT v5 properties, and the
 * retained bridge/state and bridge/status topics are refreshed. RELOAD (SIGHUP) asks the
 * worker to re-read the filters file. Cleanup stops the worker, which deletes or keeps the
 * subscription within a few seconds, and publishes the final offline state.
 *
 * Mosquitto queues what a plugin publishes for its subscribers only at the start of its
 * next loop iteration, and a stopping broker leaves its loop right after the last TICK:
 * each TICK therefore confirms to the worker what the previous one handed over (that much
 * is certainly in the broker), and cleanup counts and logs what never got in.
 *
 * Broker functions are not thread safe (mosquitto_broker_publish appends to an unlocked
 * list), which is why the worker never calls them. */
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include "rc_backlog.h"
#include "rc_clock.h"
#include "rc_command.h"
#include "rc_config.h"
#include "rc_discovery.h"
#include "rc_control.h"
#include "rc_control_exec.h"
#include "rc_logsafe.h"
#include "rc_outbox.h"
#include "rc_pace.h"
#include "rc_version.h"
#include "rc_worker.h"

#define RC_EXPORT __attribute__((visibility("default")))
#define RC_OUTBOX_CAPACITY 10000
/* Payload bytes the outbox holds before the worker stops fetching: at 40,000 notifications/s
 * of 600 B that is still 170 ms of the broker's work, and it keeps large notifications
 * from holding 10,000 × their size. */
#define RC_OUTBOX_MAX_BYTES (4u * 1024 * 1024)
#define RC_STATUS_MIN_INTERVAL_MS 1000

struct rc_plugin {
	mosquitto_plugin_id_t *id;
	struct rc_config cfg;
	struct rc_outbox outbox;
	struct rc_worker *worker;
	char *state_topic;
	char *status_topic;
	int last_state;            /* -1 unknown, 0 offline, 1 online */
	int64_t status_published_at;
	uint64_t handed_over;      /* the last outbox message the previous TICK handed over */
	uint64_t handed_count;     /* how many it handed over: in limbo until the next TICK */
	struct rc_pace pace;       /* how much each TICK hands over */
	struct rc_broker_wake wake;
	struct rc_backlog backlog;

	/* What init got as far as, so that one teardown undoes exactly that. */
	bool cfg_parsed;
	bool curl_ready;
	bool outbox_ready;
	bool wake_ready;
	bool worker_running;       /* its thread was started (at the first TICK) */
	bool tick_registered;
	bool reload_registered;
	bool message_registered;   /* homeassistant or a command kind: client messages */
	bool control_registered;
};

static int plugin__log_level(enum rc_log_level l)
{
	switch (l) {
	case RC_LOG_ERR: return MOSQ_LOG_ERR;
	case RC_LOG_WARNING: return MOSQ_LOG_WARNING;
	case RC_LOG_NOTICE: return MOSQ_LOG_NOTICE;
	case RC_LOG_INFO: return MOSQ_LOG_INFO;
	case RC_LOG_DEBUG: return MOSQ_LOG_DEBUG;
	}
	return MOSQ_LOG_INFO;
}

static void plugin__config_warning(void *userdata, const char *message)
{
	(void)userdata;
	mosquitto_log_printf(MOSQ_LOG_WARNING, "ringcentral: Warning: %s", message);
}

static void plugin__publish_retained(const char *topic, const char *payload, size_t len)
{
	mosquitto_property *props = NULL;

	mosquitto_property_add_string(&props, MQTT_PROP_CONTENT_TYPE,
			payload[0] == '{' ? "application/json" : "text/plain");
	if (mosquitto_broker_publish_copy(NULL, topic, (int)len, payload, 1, true, props) != MOSQ_ERR_SUCCESS)
		mosquitto_property_free_all(&props);
}

/* Publishes one message of the outbox (a notification, or a message of the plugin's own
 * with its publish options); returns true if the broker took it. */
static bool plugin__publish_message(struct rc_plugin *p, const struct rc_outbox_msg *m)
{
	mosquitto_property *props = NULL;
	int qos = m->has_options ? m->qos : p->cfg.qos;
	bool retain = m->has_options ? m->retain : p->cfg.retain;
	bool ok = true;

	/* Our own topic checks ran on the worker; the broker's are the final word. */
	if (mosquitto_pub_topic_check(m->topic) != MOSQ_ERR_SUCCESS ||
			mosquitto_validate_utf8(m->topic, (int)strlen(m->topic)) != MOSQ_ERR_SUCCESS ||
			m->payload_len > (size_t)MQTT_MAX_PAYLOAD)
		return false;
	/* An empty payload (a cleared retained message) carries no content type. */
	if (m->payload_len > 0)
		ok = mosquitto_property_add_string(&props, MQTT_PROP_CONTENT_TYPE,
				m->payload[0] == '{' || m->payload[0] == '[' ? "application/json" : "text/plain")
				== MOSQ_ERR_SUCCESS;
	if (ok && m->event != NULL)
		ok = mosquitto_property_add_string_pair(&props, MQTT_PROP_USER_PROPERTY, "event", m->event)
				== MOSQ_ERR_SUCCESS;
	if (ok && m->uuid != NULL)
		ok = mosquitto_property_add_string_pair(&props, MQTT_PROP_USER_PROPERTY, "uuid", m->uuid)
				== MOSQ_ERR_SUCCESS;
	if (ok && m->subscription_id != NULL)
		ok = mosquitto_property_add_string_pair(&props, MQTT_PROP_USER_PROPERTY, "subscriptionId",
				m->subscription_id) == MOSQ_ERR_SUCCESS;
	if (ok && m->source != NULL)
		ok = mosquitto_property_add_string_pair(&props, MQTT_PROP_USER_PROPERTY, "source", m->source)
				== MOSQ_ERR_SUCCESS;
	if (ok && m->has_options && m->expiry_s > 0)
		ok = mosquitto_property_add_int32(&props, MQTT_PROP_MESSAGE_EXPIRY_INTERVAL, m->expiry_s)
				== MOSQ_ERR_SUCCESS;
	if (ok && m->correlation != NULL)
		ok = m->correlation_len <= UINT16_MAX &&
				mosquitto_property_add_binary(&props, MQTT_PROP_CORRELATION_DATA, m->correlation,
						(uint16_t)m->correlation_len) == MOSQ_ERR_SUCCESS;
	if (!ok) {
		mosquitto_property_free_all(&props);
		return false;
	}
	/* _copy: the broker must own memory from its own allocator (it keeps a memory count). */
	if (mosquitto_broker_publish_copy(NULL, m->topic, (int)m->payload_len, m->payload,
			qos, retain, props) != MOSQ_ERR_SUCCESS) {
		mosquitto_property_free_all(&props);
		return false;
	}
	return true;
}

static void plugin__flush_status(struct rc_plugin *p, bool force)
{
	int64_t now = rc_clock_wall_ms();
	char *status = NULL;
	size_t len = 0;
	int online;

	rc_outbox_lock(&p->outbox);
	online = p->outbox.status.online ? 1 : 0;
	bool due = p->outbox.status_dirty &&
			(force || online != p->last_state || now - p->status_published_at >= RC_STATUS_MIN_INTERVAL_MS);
	if (due) {
		status = rc_status_to_json(&p->outbox.status, now, &len);
		p->outbox.status_dirty = false;
	}
	rc_outbox_unlock(&p->outbox);

	if (online != p->last_state) {
		const char *text = online ? "online" : "offline";
		plugin__publish_retained(p->state_topic, text, strlen(text));
		p->last_state = online;
	}
	if (status != NULL) {
		plugin__publish_retained(p->status_topic, status, len);
		p->status_published_at = now;
		free(status);
	}
}

/* Takes up to max_msgs messages and every log line from the outbox: logs, then messages,
 * then status. At cleanup (publish false) the broker has already disconnected every client
 * and closed its database, so what is left is only logged and freed. Returns how many
 * messages it took. */
static uint64_t plugin__drain(struct rc_plugin *p, size_t max_msgs, size_t max_bytes, bool publish)
{
	struct rc_outbox_msg *msgs;
	struct rc_outbox_log *logs;
	size_t logs_dropped;
	uint64_t published = 0, failed = 0, taken = 0;

	rc_outbox_take_some(&p->outbox, max_msgs, max_bytes, &msgs, &logs, &logs_dropped);
	while (logs != NULL) {
		struct rc_outbox_log *next = logs->next;
		mosquitto_log_printf(plugin__log_level(logs->level), "%s", logs->text);
		free(logs);
		logs = next;
	}
	if (logs_dropped > 0)
		mosquitto_log_printf(MOSQ_LOG_WARNING, "ringcentral: %zu log line(s) suppressed", logs_dropped);
	while (msgs != NULL) {
		struct rc_outbox_msg *next = msgs->next;
		bool ok = publish && plugin__publish_message(p, msgs);
		/* The status and the shutdown count are about notifications: the plugin's own
		 * messages (discovery configs, answers) are not counted as such. */
		if (!msgs->own) {
			if (ok)
				published++;
			else if (publish)
				failed++;
			taken++;
		}
		if (publish)
			p->handed_over = msgs->seq;
		rc_outbox_msg_free(msgs);
		msgs = next;
	}
	/* One wall-clock read per TICK that published: last_notification_at. */
	if (published > 0)
		rc_outbox_published(&p->outbox, published, rc_clock_wall_ms());
	if (failed > 0)
		rc_outbox_count_drop(&p->outbox, RC_DROP_PUBLISH_FAILED, failed);
	if (publish) {
		p->handed_count = published;
		plugin__flush_status(p, false);
	}
	return taken;
}

static bool plugin__backlogged(void *arg)
{
	struct rc_plugin *p = arg;

	return rc_backlog_any(&p->backlog, rc_clock_now_us());
}

/* How many messages this TICK may hand over (rc_pace.h). A timer TICK also lets the
 * outbox stop the timer when nothing waits. */
static size_t plugin__tick_budget(struct rc_plugin *p)
{
	bool by_timer = p->wake_ready && rc_broker_wake_fired(&p->wake);

	if (by_timer)
		rc_outbox_rest(&p->outbox);
	return rc_pace_tick(&p->pace, rc_clock_now_us(), by_timer, plugin__backlogged, p);
}

/* The worker thread starts at the first TICK, not in init: Mosquitto 2.0.11 exits
 * without calling a plugin's cleanup when a plugin loaded after it fails its init, and a
 * thread left running then crashes the exiting broker. The first TICK comes once every
 * plugin is initialised. */
static void plugin__start_worker(struct rc_plugin *p)
{
	char err[256];
	sigset_t block, old;

	/* The broker expects its own thread to receive INT/TERM/HUP/USR1/USR2. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGUSR2);
	sigaddset(&block, SIGPIPE);
	sigaddset(&block, SIGURG);     /* the wake timer's: the broker thread's alone */
	pthread_sigmask(SIG_BLOCK, &block, &old);
	int rc = rc_worker_run(p->worker, err, sizeof(err));
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	p->worker_running = true;      /* tried: a failure is logged once, not every TICK */
	if (rc != 0)
		mosquitto_log_printf(MOSQ_LOG_ERR, "ringcentral: Error: %s; no notifications will be bridged", err);
}

static int plugin__on_tick(int event, void *event_data, void *userdata)
{
	struct rc_plugin *p = userdata;

	(void)event;
	if (!p->worker_running)
		plugin__start_worker(p);
	/* The broker queued what the previous TICK handed over before this one came. */
	rc_outbox_confirm(&p->outbox, p->handed_over);
	plugin__drain(p, plugin__tick_budget(p), RC_PACE_BATCH_BYTES, true);
#if LIBMOSQUITTO_VERSION_NUMBER >= 2001000
	/* 2.1 sleeps until the earliest requested tick: ask for one soon. */
	struct mosquitto_evt_tick *ed = event_data;
	ed->next_s = 0;
	ed->next_ms = 100;
#else
	(void)event_data;
#endif
	return MOSQ_ERR_SUCCESS;
}

/* A parsed request (the control API's or a command topic's, which names its response
 * topic): handed to the worker if a command needs it, else answered now. Takes req. */
static void plugin__dispatch(struct rc_plugin *p, struct rc_control_request *req)
{
	if (rc_control_request_needs_worker(req)) {
		if (rc_worker_submit(p->worker, req) == 0)
			return;
		rc_control_fail_all(req, "too many control requests waiting; try again later");
	}
	int64_t now = rc_clock_wall_ms();
	for (size_t i = 0; i < req->n; i++)
		rc_ctl_answer_local(&req->cmds[i], &p->outbox, now);
	struct rc_outbox_msg *m = rc_ctl_response_msg(req, p->cfg.control_response_topic);
	if (m == NULL || !plugin__publish_message(p, m))
		mosquitto_log_printf(MOSQ_LOG_WARNING, "ringcentral: a control response could not be published");
	rc_outbox_msg_free(m);
	rc_control_request_free(req);
}

/* Control API requests (rc_control.h). The broker checked the publisher's ACL for the
 * topic before calling this, on its own thread: parse, then answer at once what needs
 * nothing of the worker, or hand the request over (rc_worker_submit). Always
 * MOSQ_ERR_SUCCESS: in 2.0.x any other code from a control callback makes the broker
 * disconnect the publisher (handle__publish returns it); errors are answers instead. */
static int plugin__on_control(int event, void *event_data, void *userdata)
{
	struct rc_plugin *p = userdata;
	struct mosquitto_evt_control *ed = event_data;
	void *corr = NULL;
	uint16_t corr_len = 0;

	(void)event;
	if (ed->properties != NULL)
		mosquitto_property_read_binary(ed->properties, MQTT_PROP_CORRELATION_DATA, &corr,
				&corr_len, false);
	struct rc_control_request *req = rc_control_parse(ed->payload, ed->payloadlen, corr, corr_len);
	mosquitto_free(corr);
	if (req == NULL)
		return MOSQ_ERR_SUCCESS;

	/* Who asked what, as dynamic-security logs it. The client id and an unknown command's
	 * name are the client's text: escaped, so that they cannot forge a log line. */
	char who[RC_LOGSAFE_BUF], cmds[256] = "", safe_cmds[300];
	size_t used = 0;
	for (size_t i = 0; i < req->n && used < sizeof(cmds); i++)
		used += (size_t)snprintf(cmds + used, sizeof(cmds) - used, "%s%s", i ? ", " : "",
				req->cmds[i].name != NULL ? req->cmds[i].name : "?");
	const char *id = ed->client != NULL ? mosquitto_client_id(ed->client) : NULL;
	mosquitto_log_printf(MOSQ_LOG_INFO, "ringcentral: control request from %s: %s",
			rc_logsafe_str(who, sizeof(who), id != NULL ? id : "?"),
			rc_logsafe_str(safe_cmds, sizeof(safe_cmds), cmds));

	struct rc_control_gates gates = {
		.presence = p->cfg.command_presence, .sms = p->cfg.command_sms, .recreate = true,
	};
	rc_control_gate(req, &gates);
	plugin__dispatch(p, req);
	return MOSQ_ERR_SUCCESS;
}

static int plugin__on_reload(int event, void *event_data, void *userdata)
{
	struct rc_plugin *p = userdata;

	(void)event;
	(void)event_data;
	/* plugin_opt_* lines are not re-read by the broker: the filters file is what changes. */
	if (p->worker != NULL)
		rc_worker_reload(p->worker);
	/* Mosquitto 2.0.x stops handing the event on at the first callback that answers
	 * anything but "defer": another instance of this plugin, any plugin loaded after it
	 * and the v2-v4 auth plugins' reload would never see the SIGHUP. (2.1 ignores the
	 * code.) */
	return MOSQ_ERR_PLUGIN_DEFER;
}

/* A message on a command topic (rc_command.h): parsed, gated by its option, handed to
 * the worker or answered at once, on the MQTT v5 response topic the publisher named (with
 * its correlation data) or else on `<topic>/response`. The broker checked the
 * publisher's write access to the command topic before this. */
static void plugin__on_command(struct rc_plugin *p, const struct mosquitto_evt_message *ed,
		enum rc_command_topic t, const char *arg)
{
	void *corr = NULL;
	char *rtopic = NULL;
	uint16_t corr_len = 0;
	const char *problem = NULL;

	if (ed->properties != NULL) {
		mosquitto_property_read_binary(ed->properties, MQTT_PROP_CORRELATION_DATA, &corr,
				&corr_len, false);
		mosquitto_property_read_string(ed->properties, MQTT_PROP_RESPONSE_TOPIC, &rtopic, false);
	}
	struct rc_control_request *req = rc_command_parse(t, arg, ed->payload, ed->payloadlen,
			corr, corr_len);
	mosquitto_free(corr);
	if (req == NULL) {
		mosquitto_free(rtopic);
		return;
	}
	if (rtopic != NULL && (problem = rc_command_response_topic_problem(p->cfg.topic_prefix, rtopic)) != NULL)
		rc_control_fail(&req->cmds[0], "Invalid response topic: %s", problem);
	/* An unusable response topic is refused on the default one, where the client can hear why. */
	if (rtopic != NULL && problem == NULL)
		req->response_topic = strdup(rtopic);
	else if (asprintf(&req->response_topic, "%s/response", ed->topic) < 0)
		req->response_topic = NULL;
	mosquitto_free(rtopic);
	if (req->response_topic == NULL) {
		rc_control_request_free(req);
		return;
	}
	struct rc_control_gates gates = {
		.presence = p->cfg.command_presence, .sms = p->cfg.command_sms,
		.recreate = p->cfg.homeassistant, .recreate_option = "plugin_opt_homeassistant true",
	};
	rc_control_gate(req, &gates);
	char who[RC_LOGSAFE_BUF];
	const char *id = ed->client != NULL ? mosquitto_client_id(ed->client) : NULL;
	mosquitto_log_printf(MOSQ_LOG_INFO, "ringcentral: command from %s: %s",
			rc_logsafe_str(who, sizeof(who), id != NULL ? id : "?"), req->cmds[0].name);
	plugin__dispatch(p, req);
}

/* Every message a client publishes passes here (homeassistant or a command kind on):
 * Home Assistant's `<homeassistant_prefix>/status` = `online` (it has restarted and
 * forgotten what it was told) asks the worker to publish discovery again, and a command
 * topic's message becomes a command. Two prefix compares for any other message; the
 * message itself goes on untouched (2.0.x hands on what the callback leaves in
 * event_data, and stops at the first callback that does not answer success). */
static int plugin__on_message(int event, void *event_data, void *userdata)
{
	struct rc_plugin *p = userdata;
	struct mosquitto_evt_message *ed = event_data;
	const char *arg;
	enum rc_command_topic t;

	(void)event;
	if (p->worker == NULL || ed->topic == NULL)
		return MOSQ_ERR_SUCCESS;
	if (p->cfg.homeassistant &&
			rc_ha_is_birth(p->cfg.homeassistant_prefix, ed->topic, ed->payload, ed->payloadlen))
		rc_worker_rediscover(p->worker);
	else if ((t = rc_command_topic(p->cfg.topic_prefix, ed->topic, &arg)) != RC_CMDT_NONE)
		plugin__on_command(p, ed, t, arg);
	return MOSQ_ERR_SUCCESS;
}

/* Undoes whatever init got as far as (the one cleanup path for a failed init and for
 * the broker's cleanup): unregisters the callbacks, stops the worker (which deletes or
 * keeps the subscription within a few seconds), logs and frees what it left behind. */
static void plugin__teardown(struct rc_plugin *p)
{
	if (p == NULL)
		return;
	if (p->tick_registered)
		mosquitto_callback_unregister(p->id, MOSQ_EVT_TICK, plugin__on_tick, NULL);
	if (p->reload_registered)
		mosquitto_callback_unregister(p->id, MOSQ_EVT_RELOAD, plugin__on_reload, NULL);
	if (p->message_registered)
		mosquitto_callback_unregister(p->id, MOSQ_EVT_MESSAGE, plugin__on_message, NULL);
	if (p->control_registered)
		mosquitto_callback_unregister(p->id, MOSQ_EVT_CONTROL, plugin__on_control, p->cfg.control_topic);
	bool refetched = p->worker != NULL && rc_worker_saves_position(p->worker);
	if (p->worker != NULL)
		rc_worker_stop(p->worker);
	if (p->wake_ready)
		rc_broker_wake_free(&p->wake);
	rc_backlog_free(&p->backlog);
	if (p->outbox_ready) {
		/* What the last TICK handed over was never queued by the broker, and what is
		 * still in the outbox never reached it. */
		uint64_t discarded = p->handed_count + plugin__drain(p, SIZE_MAX, SIZE_MAX, false);
		if (discarded > 0)
			mosquitto_log_printf(MOSQ_LOG_WARNING,
					"ringcentral: %" PRIu64 " notification(s) fetched had not entered the broker at shutdown%s",
					discarded, refetched ?
					"; the saved position does not cover them, so they are fetched again at the next start" :
					" and are lost");
		rc_outbox_destroy(&p->outbox);
	}
	if (p->curl_ready)
		curl_global_cleanup();
	free(p->state_topic);
	free(p->status_topic);
	if (p->cfg_parsed)
		rc_config_free(&p->cfg);
	free(p);
}

static int plugin__register(struct rc_plugin *p, int event, MOSQ_FUNC_generic_callback cb,
		const char *name, bool *registered)
{
	int rc = mosquitto_callback_register(p->id, event, cb, NULL, p);

	if (rc != MOSQ_ERR_SUCCESS) {
		mosquitto_log_printf(MOSQ_LOG_ERR, "ringcentral: Error: cannot register the %s callback: %s",
				name, mosquitto_strerror(rc));
		return rc;
	}
	*registered = true;
	return MOSQ_ERR_SUCCESS;
}

/* The control topic is the broker's to give: one callback per topic, whoever asks
 * (src/control.c). A second instance on the same topic would otherwise be a silent loss. */
static int plugin__register_control(struct rc_plugin *p)
{
	if (!p->cfg.control_api)
		return MOSQ_ERR_SUCCESS;
	int rc = mosquitto_callback_register(p->id, MOSQ_EVT_CONTROL, plugin__on_control,
			p->cfg.control_topic, p);
	if (rc == MOSQ_ERR_ALREADY_EXISTS) {
		mosquitto_log_printf(MOSQ_LOG_ERR, "ringcentral: Error: plugin_opt_control_topic: %s is "
				"already taken by another plugin (another instance of this one?); give each "
				"instance its own topic_prefix or plugin_opt_control_topic", p->cfg.control_topic);
		return rc;
	}
	if (rc != MOSQ_ERR_SUCCESS) {
		mosquitto_log_printf(MOSQ_LOG_ERR, "ringcentral: Error: cannot register the control topic %s: %s",
				p->cfg.control_topic, mosquitto_strerror(rc));
		return rc;
	}
	p->control_registered = true;
	return MOSQ_ERR_SUCCESS;
}

RC_EXPORT int mosquitto_plugin_version(int supported_version_count, const int *supported_versions)
{
	for (int i = 0; i < supported_version_count; i++)
		if (supported_versions[i] == 5)
			return 5;
	return -1;
}

RC_EXPORT int mosquitto_plugin_init(mosquitto_plugin_id_t *identifier, void **userdata,
		struct mosquitto_opt *options, int option_count)
{
	struct rc_plugin *p = calloc(1, sizeof(*p));
	struct rc_option *opts = calloc((size_t)(option_count > 0 ? option_count : 1), sizeof(*opts));
	char err[512] = "";
	int rc = MOSQ_ERR_NOMEM;

	if (p == NULL || opts == NULL)
		goto error;
	p->id = identifier;
	p->last_state = -1;
	for (int i = 0; i < option_count; i++) {
		opts[i].key = options[i].key;
		opts[i].value = options[i].value;
	}
	if (rc_config_parse(&p->cfg, opts, option_count, plugin__config_warning, NULL,
			err, sizeof(err)) != 0) {
		mosquitto_log_printf(MOSQ_LOG_ERR, "ringcentral: Error: %s", err);
		rc = MOSQ_ERR_INVAL;
		goto error;
	}
	p->cfg_parsed = true;
	if (asprintf(&p->state_topic, "%s/bridge/state", p->cfg.topic_prefix) < 0 ||
			asprintf(&p->status_topic, "%s/bridge/status", p->cfg.topic_prefix) < 0) {
		p->state_topic = p->status_topic = NULL;
		goto error;
	}
	rc = MOSQ_ERR_UNKNOWN;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		goto error;
	p->curl_ready = true;
	if (rc_outbox_init(&p->outbox, RC_OUTBOX_CAPACITY) != 0)
		goto error;
	rc_outbox_limit_bytes(&p->outbox, RC_OUTBOX_MAX_BYTES);
	p->outbox_ready = true;
	p->outbox.status.started_at_ms = rc_clock_wall_ms();
	if (p->cfg.wake_broker) {
		/* init runs on the broker thread: the timer is aimed at it. */
		if (rc_broker_wake_init(&p->wake, err, sizeof(err)) == 0) {
			p->wake_ready = true;
			rc_outbox_set_wake(&p->outbox, &p->wake, RC_PACE_WAKE_INTERVAL_US);
		} else {
			mosquitto_log_printf(MOSQ_LOG_WARNING,
					"ringcentral: Warning: wake_broker is off: %s; notifications wait for the broker's own tick (up to 100 ms)",
					err);
		}
	}
	rc_pace_init(&p->pace, p->cfg.qos, p->wake_ready);

	p->worker = rc_worker_new(&p->cfg, &p->outbox, err, sizeof(err));
	if (p->worker == NULL) {
		mosquitto_log_printf(MOSQ_LOG_ERR, "ringcentral: Error: %s", err);
		goto error;
	}
	if ((rc = plugin__register(p, MOSQ_EVT_TICK, plugin__on_tick, "tick",
			&p->tick_registered)) != MOSQ_ERR_SUCCESS ||
			(rc = plugin__register(p, MOSQ_EVT_RELOAD, plugin__on_reload, "reload",
			&p->reload_registered)) != MOSQ_ERR_SUCCESS ||
			(rc_config_hears_messages(&p->cfg) &&
			 (rc = plugin__register(p, MOSQ_EVT_MESSAGE, plugin__on_message, "message",
			 &p->message_registered)) != MOSQ_ERR_SUCCESS) ||
			(rc = plugin__register_control(p)) != MOSQ_ERR_SUCCESS)
		goto error;
	mosquitto_log_printf(MOSQ_LOG_NOTICE, "ringcentral: started (version %s, %s transport, server %s)",
			RC_VERSION, p->outbox.status.transport, p->cfg.server);
	if (p->cfg.control_api)
		mosquitto_log_printf(MOSQ_LOG_NOTICE, "ringcentral: control API on %s (answers on %s)",
				p->cfg.control_topic, p->cfg.control_response_topic);
	free(opts);
	*userdata = p;
	return MOSQ_ERR_SUCCESS;

error:
	free(opts);
	plugin__teardown(p);
	return rc;
}

RC_EXPORT int mosquitto_plugin_cleanup(void *userdata, struct mosquitto_opt *options, int option_count)
{
	(void)options;
	(void)option_count;
	plugin__teardown(userdata);
	return MOSQ_ERR_SUCCESS;
}
