/* outbox.c - the bounded hand-off from worker thread to broker thread (see rc_outbox.h). */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "rc_outbox.h"

#define RC_OUTBOX_LOG_MAX 1024
#define RC_OUTBOX_LOG_LINE 1024

int rc_outbox_init(struct rc_outbox *ob, size_t max_msgs)
{
	*ob = (struct rc_outbox){0};
	ob->max_msgs = max_msgs;
	ob->max_bytes = SIZE_MAX;
	ob->max_logs = RC_OUTBOX_LOG_MAX;
	ob->log_level = RC_LOG_DEBUG;
	return pthread_mutex_init(&ob->lock, NULL) == 0 ? 0 : -1;
}

void rc_outbox_msg_free(struct rc_outbox_msg *m)
{
	if (m == NULL)
		return;
	free(m->topic);
	free(m->payload);
	free(m->event);
	free(m->uuid);
	free(m->subscription_id);
	free(m->source);
	free(m->correlation);
	free(m);
}

void rc_outbox_destroy(struct rc_outbox *ob)
{
	struct rc_outbox_msg *msgs;
	struct rc_outbox_log *logs;
	size_t dropped;

	rc_outbox_take(ob, &msgs, &logs, &dropped);
	while (msgs != NULL) {
		struct rc_outbox_msg *next = msgs->next;
		rc_outbox_msg_free(msgs);
		msgs = next;
	}
	while (logs != NULL) {
		struct rc_outbox_log *next = logs->next;
		free(logs);
		logs = next;
	}
	rc_status_clear(&ob->status);
	pthread_mutex_destroy(&ob->lock);
}

void rc_outbox_limit_bytes(struct rc_outbox *ob, size_t max_bytes)
{
	pthread_mutex_lock(&ob->lock);
	ob->max_bytes = max_bytes;
	pthread_mutex_unlock(&ob->lock);
}

size_t rc_outbox_room(struct rc_outbox *ob)
{
	pthread_mutex_lock(&ob->lock);
	size_t room = ob->n_msgs < ob->max_msgs && ob->bytes < ob->max_bytes ?
			ob->max_msgs - ob->n_msgs : 0;
	pthread_mutex_unlock(&ob->lock);
	return room;
}

uint64_t rc_outbox_push(struct rc_outbox *ob, struct rc_outbox_msg *m)
{
	uint64_t seq = 0;

	size_t limit = ob->max_msgs + (m->own ? RC_OUTBOX_OWN_RESERVE : 0);

	m->next = NULL;
	pthread_mutex_lock(&ob->lock);
	if (ob->n_msgs < limit) {
		if (ob->n_msgs == 0 && ob->wake != NULL)
			rc_broker_wake_arm(ob->wake, ob->wake_interval_us);
		seq = m->seq = ++ob->pushed;
		if (ob->msgs_tail != NULL)
			ob->msgs_tail->next = m;
		else
			ob->msgs = m;
		ob->msgs_tail = m;
		ob->n_msgs++;
		ob->bytes += m->payload_len;
	}
	pthread_mutex_unlock(&ob->lock);
	if (seq == 0)
		rc_outbox_msg_free(m);
	return seq;
}

uint64_t rc_outbox_last_pushed(struct rc_outbox *ob)
{
	pthread_mutex_lock(&ob->lock);
	uint64_t seq = ob->pushed;
	pthread_mutex_unlock(&ob->lock);
	return seq;
}

void rc_outbox_confirm(struct rc_outbox *ob, uint64_t seq)
{
	pthread_mutex_lock(&ob->lock);
	if (seq > ob->confirmed)
		ob->confirmed = seq;
	pthread_mutex_unlock(&ob->lock);
}

uint64_t rc_outbox_confirmed(struct rc_outbox *ob)
{
	pthread_mutex_lock(&ob->lock);
	uint64_t seq = ob->confirmed;
	pthread_mutex_unlock(&ob->lock);
	return seq;
}

void rc_outbox_log(struct rc_outbox *ob, enum rc_log_level level, const char *fmt, ...)
{
	char line[RC_OUTBOX_LOG_LINE];
	va_list ap;

	if ((int)level > __atomic_load_n(&ob->log_level, __ATOMIC_RELAXED))
		return;
	/* Formatting happens outside the lock. */
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	size_t len = strlen(line);
	struct rc_outbox_log *l = malloc(sizeof(*l) + len + 1);

	pthread_mutex_lock(&ob->lock);
	if (l == NULL || ob->n_logs >= ob->max_logs) {
		ob->logs_dropped++;
		pthread_mutex_unlock(&ob->lock);
		free(l);
		return;
	}
	l->next = NULL;
	l->level = level;
	memcpy(l->text, line, len + 1);
	if (ob->logs_tail != NULL)
		ob->logs_tail->next = l;
	else
		ob->logs = l;
	ob->logs_tail = l;
	ob->n_logs++;
	pthread_mutex_unlock(&ob->lock);
}

int rc_outbox_set_log_level(struct rc_outbox *ob, enum rc_log_level level)
{
	return __atomic_exchange_n(&ob->log_level, (int)level, __ATOMIC_RELAXED);
}

enum rc_log_level rc_outbox_log_level(struct rc_outbox *ob)
{
	return (enum rc_log_level)__atomic_load_n(&ob->log_level, __ATOMIC_RELAXED);
}

void rc_outbox_take_some(struct rc_outbox *ob, size_t max_msgs, size_t max_bytes,
		struct rc_outbox_msg **msgs, struct rc_outbox_log **logs, size_t *logs_dropped)
{
	pthread_mutex_lock(&ob->lock);
	*msgs = NULL;
	if (max_msgs > 0 && ob->msgs != NULL) {
		/* At least one message, then as many as both bounds allow. */
		struct rc_outbox_msg *last = ob->msgs;
		size_t n = 1, bytes = last->payload_len;
		while (last->next != NULL && n < max_msgs && bytes + last->next->payload_len <= max_bytes) {
			last = last->next;
			bytes += last->payload_len;
			n++;
		}
		*msgs = ob->msgs;
		ob->msgs = last->next;
		last->next = NULL;
		if (ob->msgs == NULL)
			ob->msgs_tail = NULL;
		ob->n_msgs -= n;
		ob->bytes -= bytes;
	}
	*logs = ob->logs;
	*logs_dropped = ob->logs_dropped;
	ob->logs = ob->logs_tail = NULL;
	ob->n_logs = ob->logs_dropped = 0;
	pthread_mutex_unlock(&ob->lock);
}

void rc_outbox_take(struct rc_outbox *ob, struct rc_outbox_msg **msgs,
		struct rc_outbox_log **logs, size_t *logs_dropped)
{
	rc_outbox_take_some(ob, SIZE_MAX, SIZE_MAX, msgs, logs, logs_dropped);
}

void rc_outbox_rest(struct rc_outbox *ob)
{
	pthread_mutex_lock(&ob->lock);
	if (ob->n_msgs == 0 && ob->wake != NULL)
		rc_broker_wake_disarm(ob->wake);
	pthread_mutex_unlock(&ob->lock);
}

void rc_outbox_set_wake(struct rc_outbox *ob, struct rc_broker_wake *wake, long interval_us)
{
	pthread_mutex_lock(&ob->lock);
	ob->wake = wake;
	ob->wake_interval_us = interval_us;
	pthread_mutex_unlock(&ob->lock);
}

void rc_outbox_lock(struct rc_outbox *ob)
{
	pthread_mutex_lock(&ob->lock);
}

void rc_outbox_unlock(struct rc_outbox *ob)
{
	pthread_mutex_unlock(&ob->lock);
}

void rc_outbox_count(struct rc_outbox *ob, enum rc_counter c, uint64_t n)
{
	pthread_mutex_lock(&ob->lock);
	rc_status_count(&ob->status, c, n);
	ob->status_dirty = true;
	pthread_mutex_unlock(&ob->lock);
}

void rc_outbox_published(struct rc_outbox *ob, uint64_t n, int64_t now_ms)
{
	pthread_mutex_lock(&ob->lock);
	rc_status_published(&ob->status, n, now_ms);
	ob->status_dirty = true;
	pthread_mutex_unlock(&ob->lock);
}

void rc_outbox_count_drop(struct rc_outbox *ob, enum rc_drop_cause cause, uint64_t n)
{
	pthread_mutex_lock(&ob->lock);
	for (uint64_t i = 0; i < n; i++)
		rc_status_count_drop(&ob->status, cause);
	ob->status_dirty = true;
	pthread_mutex_unlock(&ob->lock);
}
