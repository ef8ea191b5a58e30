/* common.h - what the benchmark's C clients (csub.c, cpub.c, crtt.c) share: the clock,
 * finding a notification's uuid in a payload, argument and connection helpers.
 *
 * Every timestamp is CLOCK_MONOTONIC in nanoseconds: one clock for the whole machine, the
 * same one Python's time.monotonic_ns() reads, so bench.py can subtract a time taken in
 * its own process from one taken here. */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mosquitto.h>

static inline int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The value of the first "uuid" member in a JSON payload, copied (at most cap - 1 bytes)
 * into out; "-" when there is none. A substring search rather than a JSON parse: the
 * payloads are notification envelopes whose only "uuid" key is the top-level one (the
 * body is {"pad": "xxx..."}), and the Python subscriber does exactly the same. */
static inline void find_uuid(const void *payload, size_t len, char *out, size_t cap)
{
	static const char key[] = "\"uuid\"";
	const char *p = memmem(payload, len, key, sizeof key - 1);
	const char *end = (const char *)payload + len;
	size_t n = 0;
	if (p) {
		p += sizeof key - 1;
		while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
		if (p < end && *p == ':') p++;
		while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
		if (p < end && *p == '"') {
			p++;
			while (p < end && *p != '"' && n + 1 < cap) out[n++] = *p++;
		}
	}
	if (n == 0) out[n++] = '-';
	out[n] = '\0';
}

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static inline void install_stop_handlers(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
}

/* Creates an empty file (the "I am subscribed" signal bench.py waits for). */
static inline void touch(const char *path)
{
	FILE *f = fopen(path, "w");
	if (f) fclose(f);
}

static inline void die(const char *what, int rc)
{
	fprintf(stderr, "%s: %s\n", what, rc == MOSQ_ERR_ERRNO ? strerror(errno)
	        : mosquitto_strerror(rc));
	exit(2);
}

#endif
