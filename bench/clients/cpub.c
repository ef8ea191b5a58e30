/* cpub.c - the benchmark's C publisher (libmosquitto, MQTT 3.1.1): the broker's own
 * publish -> subscribe ceiling, to compare the plugin with.
 *
 *   cpub PORT TOPIC QOS COUNT TEMPLATEFILE UUID_OFFSET UUID_PREFIX STATSFILE
 *
 * Publishes COUNT copies of the payload in TEMPLATEFILE (a notification as the simulator
 * made it for the same row, so the size is the same) on TOPIC at QOS, each with its own
 * 36-character uuid written over the template's at byte UUID_OFFSET:
 * "<UUID_PREFIX, 8 hex>-0000-4000-8000-<i, 12 digits>", i = 0..COUNT-1 (bench.py derives
 * the expected sequence from the same rule). As fast as libmosquitto takes them, with at
 * most WINDOW (1000) messages handed over and not yet written (QoS 0) or acknowledged
 * (QoS 1), so the library's queue stays bounded; QoS 1 uses libmosquitto's default of 20
 * in flight, as mosquitto_pub does. Writes "first <ns>\n" to STATSFILE just before the
 * first publish and "done <ns>\n" once every message is complete (CLOCK_MONOTONIC: when
 * the last was written out, QoS 0, or acknowledged, QoS 1), then exits 0. */
#include "common.h"

#include <pthread.h>

#define WINDOW 1000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static long completed;
static int connected;
static int64_t last_done;

static void on_connect(struct mosquitto *m, void *ud, int rc)
{
	(void)m; (void)ud;
	if (rc != 0) {
		fprintf(stderr, "cpub: connection refused: %s\n", mosquitto_connack_string(rc));
		exit(2);
	}
	pthread_mutex_lock(&lock);
	connected = 1;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
}

static void on_publish(struct mosquitto *m, void *ud, int mid)
{
	(void)m; (void)ud; (void)mid;
	pthread_mutex_lock(&lock);
	completed++;
	last_done = now_ns();
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
}

int main(int argc, char **argv)
{
	if (argc != 9) {
		fprintf(stderr, "usage: cpub PORT TOPIC QOS COUNT TEMPLATEFILE UUID_OFFSET "
		        "UUID_PREFIX STATSFILE\n");
		return 64;
	}
	int port = atoi(argv[1]), qos = atoi(argv[3]);
	const char *topic = argv[2], *prefix = argv[7];
	long count = atol(argv[4]), offset = atol(argv[6]);

	FILE *tf = fopen(argv[5], "rb");
	if (!tf) die("cpub: open template", MOSQ_ERR_ERRNO);
	static char payload[1 << 20];
	size_t len = fread(payload, 1, sizeof payload, tf);
	fclose(tf);
	if (offset < 0 || (size_t)offset + 36 > len || strlen(prefix) != 8) {
		fprintf(stderr, "cpub: bad uuid offset or prefix\n");
		return 64;
	}
	mosquitto_lib_init();
	char id[64];
	snprintf(id, sizeof id, "bench-cpub-%d", (int)getpid());
	struct mosquitto *m = mosquitto_new(id, true, NULL);
	if (!m) die("cpub: mosquitto_new", MOSQ_ERR_ERRNO);
	mosquitto_connect_callback_set(m, on_connect);
	mosquitto_publish_callback_set(m, on_publish);
	int rc = mosquitto_connect(m, "127.0.0.1", port, 60);
	if (rc) die("cpub: connect", rc);
	rc = mosquitto_loop_start(m);
	if (rc) die("cpub: loop_start", rc);
	pthread_mutex_lock(&lock);
	while (!connected) pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);

	FILE *sf = fopen(argv[8], "w");
	if (!sf) die("cpub: open stats", MOSQ_ERR_ERRNO);
	fprintf(sf, "first %lld\n", (long long)now_ns());
	fflush(sf);
	for (long i = 0; i < count; i++) {
		pthread_mutex_lock(&lock);
		while (i - completed >= WINDOW) pthread_cond_wait(&cond, &lock);
		pthread_mutex_unlock(&lock);
		char uuid[40];
		snprintf(uuid, sizeof uuid, "%s-0000-4000-8000-%012ld", prefix, i);
		memcpy(payload + offset, uuid, 36);
		rc = mosquitto_publish(m, NULL, topic, (int)len, payload, qos, false);
		if (rc) die("cpub: publish", rc);
	}
	pthread_mutex_lock(&lock);
	while (completed < count) pthread_cond_wait(&cond, &lock);
	int64_t done = last_done;
	pthread_mutex_unlock(&lock);

	fprintf(sf, "done %lld\n", (long long)done);
	fclose(sf);
	mosquitto_disconnect(m);
	mosquitto_loop_stop(m, false);
	mosquitto_destroy(m);
	mosquitto_lib_cleanup();
	return 0;
}
