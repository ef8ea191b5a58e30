/* crtt.c - the benchmark's "other MQTT client": how long a round trip through the broker
 * takes for a client that has nothing to do with the plugin.
 *
 *   crtt PORT TOPIC INTERVAL_MS OUTFILE READYFILE
 *
 * Subscribes to TOPIC (QoS 0), creates READYFILE, then until SIGTERM publishes a small
 * message on TOPIC (QoS 0) every INTERVAL_MS and waits for it to come back: one round trip
 * at a time. Appends "<send ns> <round trip ns>\n" (CLOCK_MONOTONIC) per round trip,
 * "<send ns> -1" when the message did not come back within 2 s (then the next one goes).
 * bench.py splits the lines into phases by send time. */
#include "common.h"

static const char *topic, *ready_path;
static FILE *out;
static long seq_sent, seq_got = -1;
static int64_t t_sent;

static void on_connect(struct mosquitto *m, void *ud, int rc)
{
	(void)ud;
	if (rc != 0) {
		fprintf(stderr, "crtt: connection refused: %s\n", mosquitto_connack_string(rc));
		exit(2);
	}
	rc = mosquitto_subscribe(m, NULL, topic, 0);
	if (rc) die("crtt: subscribe", rc);
}

static void on_subscribe(struct mosquitto *m, void *ud, int mid, int n, const int *granted)
{
	(void)m; (void)ud; (void)mid; (void)n; (void)granted;
	touch(ready_path);
}

static void on_message(struct mosquitto *m, void *ud, const struct mosquitto_message *msg)
{
	(void)m; (void)ud;
	int64_t t = now_ns();
	char buf[32];
	size_t n = (size_t)msg->payloadlen < sizeof buf - 1 ? (size_t)msg->payloadlen : sizeof buf - 1;
	memcpy(buf, msg->payload, n);
	buf[n] = '\0';
	long seq = atol(buf);
	if (seq == seq_sent && seq_got != seq) {
		seq_got = seq;
		fprintf(out, "%lld %lld\n", (long long)t_sent, (long long)(t - t_sent));
		fflush(out);
	}
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: crtt PORT TOPIC INTERVAL_MS OUTFILE READYFILE\n");
		return 64;
	}
	int port = atoi(argv[1]);
	topic = argv[2];
	int64_t interval = (int64_t)atoi(argv[3]) * 1000000;
	ready_path = argv[5];
	out = fopen(argv[4], "w");
	if (!out) die("crtt: open output", MOSQ_ERR_ERRNO);
	install_stop_handlers();

	mosquitto_lib_init();
	char id[64];
	snprintf(id, sizeof id, "bench-crtt-%d", (int)getpid());
	struct mosquitto *m = mosquitto_new(id, true, NULL);
	if (!m) die("crtt: mosquitto_new", MOSQ_ERR_ERRNO);
	mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
	mosquitto_connect_callback_set(m, on_connect);
	mosquitto_subscribe_callback_set(m, on_subscribe);
	mosquitto_message_callback_set(m, on_message);
	int rc = mosquitto_connect(m, "127.0.0.1", port, 60);
	if (rc) die("crtt: connect", rc);

	/* Wait for the SUBACK before the first round trip. */
	while (!stop_requested && access(ready_path, F_OK) != 0) {
		rc = mosquitto_loop(m, 50, 1);
		if (rc) die("crtt: connection lost", rc);
	}
	int64_t next = now_ns();
	int pending = 0;
	while (!stop_requested) {
		int64_t t = now_ns();
		if (pending && seq_got == seq_sent) {
			pending = 0;
		} else if (pending && t - t_sent > 2000000000LL) {
			fprintf(out, "%lld -1\n", (long long)t_sent);
			fflush(out);
			pending = 0;
		}
		if (!pending && t >= next) {
			char buf[32];
			int n = snprintf(buf, sizeof buf, "%ld", ++seq_sent);
			t_sent = now_ns();
			rc = mosquitto_publish(m, NULL, topic, n, buf, 0, false);
			if (rc) die("crtt: publish", rc);
			pending = 1;
			next = t_sent + interval;
		}
		int64_t wait_ms = pending ? 5 : (next - now_ns()) / 1000000;
		if (wait_ms < 0) wait_ms = 0;
		if (wait_ms > 5) wait_ms = 5;
		rc = mosquitto_loop(m, (int)wait_ms, 1);
		if (rc && !stop_requested) die("crtt: connection lost", rc);
	}
	fclose(out);
	mosquitto_disconnect(m);
	mosquitto_destroy(m);
	mosquitto_lib_cleanup();
	return 0;
}
