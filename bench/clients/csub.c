/* csub.c - the benchmark's C subscriber (libmosquitto, MQTT 3.1.1, clean session).
 *
 *   csub PORT TOPIC QOS OUTFILE READYFILE
 *
 * Subscribes to TOPIC at QOS on 127.0.0.1:PORT, creates READYFILE once the broker granted
 * the subscription, and appends "<uuid> <monotonic ns>\n" to OUTFILE for every message
 * received (uuid from the payload JSON, time taken in the message callback). The file is
 * flushed every 20 ms or so while messages flow and within 40 ms once they stop, so bench.py can follow its growth; it is complete once this process has exited
 * (SIGTERM or SIGINT: flush and exit 0). Exits 2 if the connection fails. */
#include "common.h"

static FILE *out;
static const char *ready_path;
static int dirty;

static int qos;

static void on_connect(struct mosquitto *m, void *ud, int rc)
{
	if (rc != 0) {
		fprintf(stderr, "csub: connection refused: %s\n", mosquitto_connack_string(rc));
		exit(2);
	}
	rc = mosquitto_subscribe(m, NULL, (const char *)ud, qos);
	if (rc) die("csub: subscribe", rc);
}

static void on_subscribe(struct mosquitto *m, void *ud, int mid, int n, const int *granted)
{
	(void)m; (void)ud; (void)mid;
	if (n < 1 || granted[0] > 2) {
		fprintf(stderr, "csub: subscription refused\n");
		exit(2);
	}
	touch(ready_path);
}

static void on_message(struct mosquitto *m, void *ud, const struct mosquitto_message *msg)
{
	char uuid[160];
	(void)m; (void)ud;
	int64_t t = now_ns();
	find_uuid(msg->payload, (size_t)msg->payloadlen, uuid, sizeof uuid);
	fprintf(out, "%s %lld\n", uuid, (long long)t);
	dirty = 1;
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: csub PORT TOPIC QOS OUTFILE READYFILE\n");
		return 64;
	}
	int port = atoi(argv[1]);
	qos = atoi(argv[3]);
	char *topic = argv[2];
	ready_path = argv[5];
	out = fopen(argv[4], "w");
	if (!out) die("csub: open output", MOSQ_ERR_ERRNO);
	setvbuf(out, NULL, _IOFBF, 1 << 20);
	install_stop_handlers();

	mosquitto_lib_init();
	char id[64];
	snprintf(id, sizeof id, "bench-csub-%d", (int)getpid());
	struct mosquitto *m = mosquitto_new(id, true, topic);
	if (!m) die("csub: mosquitto_new", MOSQ_ERR_ERRNO);
	mosquitto_connect_callback_set(m, on_connect);
	mosquitto_subscribe_callback_set(m, on_subscribe);
	mosquitto_message_callback_set(m, on_message);
	int rc = mosquitto_connect(m, "127.0.0.1", port, 60);
	if (rc) die("csub: connect", rc);

	int64_t last_flush = now_ns();
	while (!stop_requested) {
		rc = mosquitto_loop(m, 20, 1);
		if (rc != MOSQ_ERR_SUCCESS && !stop_requested) {
			fflush(out);
			die("csub: connection lost", rc);
		}
		int64_t t = now_ns();
		if (dirty && t - last_flush > 20000000) {
			fflush(out);
			dirty = 0;
			last_flush = t;
		}
	}
	fflush(out);
	fclose(out);
	mosquitto_disconnect(m);
	mosquitto_destroy(m);
	mosquitto_lib_cleanup();
	return 0;
}
