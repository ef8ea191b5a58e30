/* dedupe.c - the last N notification uuids, for dropping replays (see rc_dedupe.h).
 *
 * A ring of owned strings remembers insertion order for eviction; a chained hash table
 * over the same slots answers "seen?" in O(1). Each ring slot is also a hash node, so
 * evicting the oldest uuid unlinks exactly one node. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "rc_dedupe.h"

struct dedupe_slot {
	char *uuid;                 /* NULL while the slot is unused */
	struct dedupe_slot *next;   /* hash chain */
};

struct rc_dedupe {
	struct dedupe_slot *ring;
	size_t capacity, count, oldest;
	struct dedupe_slot **buckets;
	size_t n_buckets;           /* a power of two */
};

static uint64_t dedupe__hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h ^ (h >> 29);
}

struct rc_dedupe *rc_dedupe_new(size_t capacity)
{
	struct rc_dedupe *d = calloc(1, sizeof(*d));

	/* The bound keeps capacity * 2 and the table sizes below from overflowing. */
	if (d == NULL || capacity == 0 || capacity > SIZE_MAX / 4 / sizeof(struct dedupe_slot)) {
		free(d);
		return NULL;
	}
	d->capacity = capacity;
	d->n_buckets = 16;
	while (d->n_buckets < capacity * 2)
		d->n_buckets *= 2;
	d->ring = calloc(capacity, sizeof(*d->ring));
	d->buckets = calloc(d->n_buckets, sizeof(*d->buckets));
	if (d->ring == NULL || d->buckets == NULL) {
		rc_dedupe_free(d);
		return NULL;
	}
	return d;
}

void rc_dedupe_free(struct rc_dedupe *d)
{
	if (d == NULL)
		return;
	for (size_t i = 0; d->ring != NULL && i < d->capacity; i++)
		free(d->ring[i].uuid);
	free(d->ring);
	free(d->buckets);
	free(d);
}

static struct dedupe_slot **dedupe__bucket(struct rc_dedupe *d, const char *uuid)
{
	return &d->buckets[dedupe__hash(uuid) & (d->n_buckets - 1)];
}

static void dedupe__unlink(struct rc_dedupe *d, struct dedupe_slot *slot)
{
	for (struct dedupe_slot **pp = dedupe__bucket(d, slot->uuid); *pp != NULL; pp = &(*pp)->next) {
		if (*pp == slot) {
			*pp = slot->next;
			break;
		}
	}
	free(slot->uuid);
	slot->uuid = NULL;
	slot->next = NULL;
}

bool rc_dedupe_check_and_add(struct rc_dedupe *d, const char *uuid)
{
	if (d == NULL || uuid == NULL)
		return false; /* nothing to compare with: deliver */

	struct dedupe_slot **bucket = dedupe__bucket(d, uuid);

	for (struct dedupe_slot *s = *bucket; s != NULL; s = s->next)
		if (strcmp(s->uuid, uuid) == 0)
			return true;

	char *copy = strdup(uuid);
	if (copy == NULL)
		return false; /* cannot remember it: deliver rather than drop */

	size_t index = (d->oldest + d->count) % d->capacity;
	if (d->count == d->capacity) {
		index = d->oldest;
		dedupe__unlink(d, &d->ring[index]);
		d->oldest = (d->oldest + 1) % d->capacity;
		d->count--;
	}
	struct dedupe_slot *slot = &d->ring[index];
	slot->uuid = copy;
	slot->next = *bucket;
	*bucket = slot;
	d->count++;
	return false;
}

size_t rc_dedupe_count(const struct rc_dedupe *d)
{
	return d != NULL ? d->count : 0;
}
