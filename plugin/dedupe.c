/* dedupe.c - the last N notification uuids, for dropping replays (see rc_dedupe.h).
 *
 * A ring of owned strings remembers insertion order for eviction; a chained hash table
 * over the same slots answers "seen?" in O(1). Each ring slot is also a hash node, so
 * evicting the oldest uuid unlinks exactly one node.
 *
 * The uuids come from the server (or whoever can inject notifications), so the hash is
 * keyed: SipHash-2-4 from OpenSSL 3 (EVP_MAC "SIPHASH") with a random 128-bit key drawn
 * per table. Without a key, chosen uuids could all share one bucket and turn every lookup
 * into a walk over 20,000 strings. Each slot keeps its hash, so eviction never has to
 * compute one (and cannot fail to). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include "rc_dedupe.h"

#define DEDUPE_KEY_LEN 16

struct dedupe_slot {
	char *uuid;                 /* NULL while the slot is unused */
	uint64_t hash;
	struct dedupe_slot *next;   /* hash chain */
};

struct rc_dedupe {
	struct dedupe_slot *ring;
	size_t capacity, count, oldest;
	struct dedupe_slot **buckets;
	size_t n_buckets;           /* a power of two */
	EVP_MAC_CTX *keyed;         /* owned: SipHash initialised with this table's key; each
	                             * hash works on a copy, so it is never consumed */
};

/* Keyed hash of uuid into *h. A copy of the keyed context costs one small allocation
 * (~80 ns here); re-initialising one context without the key would be cheaper, but only
 * some OpenSSL 3.0.x releases restore the keyed state on that path. */
static bool dedupe__hash(const struct rc_dedupe *d, const char *uuid, size_t len, uint64_t *h)
{
	EVP_MAC_CTX *c = EVP_MAC_CTX_dup(d->keyed);
	unsigned char out[8];
	size_t out_len = 0;
	bool ok = c != NULL && EVP_MAC_update(c, (const unsigned char *)uuid, len) == 1 &&
			EVP_MAC_final(c, out, &out_len, sizeof(out)) == 1 && out_len == sizeof(out);

	EVP_MAC_CTX_free(c);
	if (ok)
		memcpy(h, out, sizeof(*h));
	return ok;
}

/* A SipHash context with a fresh random key and an 8-byte output. NULL on failure. */
static EVP_MAC_CTX *dedupe__keyed_context(void)
{
	unsigned char key[DEDUPE_KEY_LEN];
	size_t size = 8;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size),
		OSSL_PARAM_construct_end(),
	};
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "SIPHASH", NULL);
	EVP_MAC_CTX *c = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;

	EVP_MAC_free(mac);   /* the context holds its own reference */
	if (c == NULL || RAND_bytes(key, sizeof(key)) != 1 ||
	    EVP_MAC_init(c, key, sizeof(key), params) != 1) {
		EVP_MAC_CTX_free(c);
		c = NULL;
	}
	OPENSSL_cleanse(key, sizeof(key));
	return c;
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
	d->keyed = dedupe__keyed_context();
	if (d->ring == NULL || d->buckets == NULL || d->keyed == NULL) {
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
	EVP_MAC_CTX_free(d->keyed);
	free(d);
}

static struct dedupe_slot **dedupe__bucket(struct rc_dedupe *d, uint64_t hash)
{
	return &d->buckets[hash & (d->n_buckets - 1)];
}

static void dedupe__unlink(struct rc_dedupe *d, struct dedupe_slot *slot)
{
	for (struct dedupe_slot **pp = dedupe__bucket(d, slot->hash); *pp != NULL; pp = &(*pp)->next) {
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
	uint64_t hash;

	if (d == NULL || uuid == NULL)
		return false; /* nothing to compare with: deliver */
	/* The pipeline drops longer uuids before they get here; this bounds the memory
	 * of anyone else calling. */
	size_t len = strnlen(uuid, RC_DEDUPE_UUID_MAX + 1);
	if (len > RC_DEDUPE_UUID_MAX || !dedupe__hash(d, uuid, len, &hash))
		return false; /* cannot remember it: deliver rather than drop */

	struct dedupe_slot **bucket = dedupe__bucket(d, hash);

	for (struct dedupe_slot *s = *bucket; s != NULL; s = s->next)
		if (s->hash == hash && strcmp(s->uuid, uuid) == 0)
			return true;

	char *copy = strdup(uuid);
	if (copy == NULL)
		return false;

	size_t index = (d->oldest + d->count) % d->capacity;
	if (d->count == d->capacity) {
		index = d->oldest;
		dedupe__unlink(d, &d->ring[index]);
		d->oldest = (d->oldest + 1) % d->capacity;
		d->count--;
	}
	struct dedupe_slot *slot = &d->ring[index];
	slot->uuid = copy;
	slot->hash = hash;
	slot->next = *bucket;
	*bucket = slot;
	d->count++;
	return false;
}

size_t rc_dedupe_count(const struct rc_dedupe *d)
{
	return d != NULL ? d->count : 0;
}

bool rc_dedupe_hash(const struct rc_dedupe *d, const char *uuid, uint64_t *hash)
{
	return d != NULL && uuid != NULL && dedupe__hash(d, uuid, strlen(uuid), hash);
}
