/* rc_ha_state.h - what Home Assistant shows before anything happens: the covered
 * extensions' names and their current presence, read over REST.
 *
 * Discovery (rc_discovery.h) knows the covered extensions only by id; a presence
 * notification only arrives when something changes. With homeassistant on, this module
 * (worker thread only) asks the API door (rc_api.h) for
 *
 * - each covered extension's info (GET /restapi/v1.0/account/~/extension/{id}): its name
 *   and number name the Home Assistant device (rc_ha_extension.name/number); once per
 *   extension, a failure retried with back-off (RC_HA_INFO_RETRY_MS, doubling up to
 *   RC_HA_INFO_RETRY_MAX_MS, and at once when a subscription is recreated), logged once per
 *   extension until it succeeds;
 * - each covered extension's presence (GET .../extension/{id}/presence, with
 *   ?detailedTelephonyState=true when its filter asks for it), once per subscription epoch:
 *   after the first subscription and after every new one (a new subscription cannot replay
 *   what was missed while there was none), and for an extension that joins the covered set.
 *   The answer is turned into the presence notification RingCentral would have sent
 *   (rc_ha_presence_notification) and handed to the pipeline like a real one, so its topic,
 *   topic_map rule (retained, with homeassistant's built-in rule) and payload shape are
 *   exactly a real notification's. A presence notification for that extension published
 *   after the GET was submitted is newer than the answer: the answer is then dropped. A
 *   failure is retried with back-off (RC_HA_PRESENCE_RETRY_MS doubling up to
 *   RC_HA_PRESENCE_RETRY_MAX_MS) within the same epoch; a 404 is not retried.
 * - with an account-wide presence filter (rc_ha_account_presence), the account's
 *   extensions (GET /restapi/v1.0/account/~/extension?type=User&status=Enabled&perPage=
 *   RC_HA_LIST_PER_PAGE&page=N, page after page while the answer names a next one, at most
 *   RC_HA_LIST_MAX extensions, a warning beyond): after every subscription adopted while
 *   such a filter is on (a new one, or a MODIFY: the filters changed), so that the list is
 *   only ever read once the subscription delivers their presence. The listed extensions
 *   (rc_ha_state_listed) become devices (rc_ha_extensions_listed), named from the list
 *   itself (no per-extension lookup), and their presence is read like any other's. A
 *   listing replaces the previous one only when complete; one that changes the set, a
 *   name or a number asks for discovery again (an extension gone from the account has its
 *   device cleared). A failure is retried with back-off (RC_HA_LIST_RETRY_MS doubling up
 *   to RC_HA_LIST_RETRY_MAX_MS, and at once at the next subscription), logged once until a
 *   listing succeeds.
 *
 * At most RC_HA_MAX_CALLS calls of this module wait or run in the door at once, so the
 * control API always finds room there. Everything the module does to the world goes
 * through the callbacks of rc_ha_state_env (submit, publish, rediscover, log): the unit
 * tests drive it with fakes and an injected clock. No call, token or answer body is logged. */
#ifndef RC_HA_STATE_H
#define RC_HA_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>
#include "rc_api.h"
#include "rc_discovery.h"
#include "rc_outbox.h"

#define RC_HA_MAX_CALLS 2
#define RC_HA_INFO_RETRY_MS (10 * 60 * 1000)
#define RC_HA_INFO_RETRY_MAX_MS (60 * 60 * 1000)
#define RC_HA_PRESENCE_RETRY_MS (30 * 1000)
#define RC_HA_PRESENCE_RETRY_MAX_MS (10 * 60 * 1000)
#define RC_HA_LIST_PER_PAGE 100
#define RC_HA_LIST_MAX 1000
#define RC_HA_LIST_RETRY_MS (60 * 1000)
#define RC_HA_LIST_RETRY_MAX_MS (60 * 60 * 1000)

/* An extension of a listing page. Strings owned (rc_ha_listed_free). */
struct rc_ha_listed {
	char *id;                 /* numeric, as event URLs carry it */
	char *name;               /* NULL: none given */
	char *number;             /* extensionNumber; NULL: none given */
};

struct rc_ha_state_env {
	/* rc_api_submit's contract (0: on_done will be called once, later; -1: refused, try
	 * again later). */
	int (*submit)(void *arg, const char *method, const char *path, int64_t now,
			rc_api_done_fn on_done, void *done_arg);
	/* A synthetic presence notification (an envelope the callee borrows) for the
	 * pipeline, marked as read over REST. */
	bool (*publish)(void *arg, json_object *notification, int64_t now);   /* false: not taken */
	/* Names or numbers were learned: publish the discovery configs again. */
	void (*rediscover)(void *arg);
	void (*log)(void *arg, enum rc_log_level level, const char *line);
	/* A fresh uuid (at least 37 bytes) and the wall clock as ISO 8601 (at least 32). */
	void (*uuid)(void *arg, char *buf, size_t len);
	void (*timestamp)(void *arg, char *buf, size_t len);
	void *arg;
};

struct rc_ha_state;

/* NULL on no memory. env is copied. */
struct rc_ha_state *rc_ha_state_new(const struct rc_ha_state_env *env);
/* Call after rc_api_free (which answers the calls still pending: their contexts are freed
 * then, and they must find the state alive). NULL is fine. */
void rc_ha_state_free(struct rc_ha_state *st);

/* The covered extensions (rc_ha_extensions), each time discovery is about to be
 * published: new ones are remembered (their lookups become due), and the name and number
 * learned so far are filled into exts. owner_id (NULL: not known) becomes the synthetic
 * notifications' ownerId (strings the caller then owns with exts). Returns
 * 0, or -1 on no memory (exts may then lack names: the fallback names apply). */
int rc_ha_state_covered(struct rc_ha_state *st, struct rc_ha_extension *exts, size_t n,
		const char *owner_id, int64_t now);

/* The subscription was adopted: new_subscription after a CREATE or the first RESUME (a
 * new epoch: every covered presence is read again; from the second one on, failed info
 * lookups are due again at once),
 * false after a MODIFY (only extensions not yet read in this epoch). Before the first
 * call no presence is read: a read before the subscription exists could miss a change. */
void rc_ha_state_subscribed(struct rc_ha_state *st, bool new_subscription, int64_t now);

/* A notification of event (len bytes, not NUL-terminated) was published: if it is an
 * extension's presence, a REST answer asked for before now is stale. Cheap. */
void rc_ha_state_seen(struct rc_ha_state *st, const char *event, size_t len);

/* Submits what is due; lowers *wake_at to when the next retry is due. Calls
 * env.rediscover here (never from inside another call into the module). */
void rc_ha_state_step(struct rc_ha_state *st, int64_t now, int64_t *wake_at);

/* Whether an account-wide presence filter is among the filters, each time discovery is
 * about to be published (before rc_ha_state_listed). Off forgets the listed extensions and
 * any listing under way; on, the next adopted subscription starts a listing. */
void rc_ha_state_account(struct rc_ha_state *st, bool on);

/* The ids of the last complete listing (valid until the next call into the module), *n of
 * them; NULL with *n 0 before one or with the account filter off. */
char *const *rc_ha_state_listed(const struct rc_ha_state *st, size_t *n);

/* From now on failures are not logged (the door answers "stopping"). */
void rc_ha_state_stop(struct rc_ha_state *st);

/* Pure: RingCentral's presence notification for a GET .../presence answer (PresenceInfo:
 * {uri, extension{id, uri, extensionNumber}, presenceStatus, telephonyStatus, userStatus,
 * dndStatus, meetingStatus, message, allowSeeMyPresence, ringOnMonitoredCall,
 * pickUpCallsOnHold, activeCalls[...]}): the envelope {uuid, event, timestamp, ownerId,
 * body} with no subscriptionId (it came from no subscription), whose body is the
 * (detailed) extension presence event body {extensionId (a string), telephonyStatus,
 * presenceStatus, userStatus, dndStatus, meetingStatus, allowSeeMyPresence,
 * ringOnMonitoredCall, pickUpCallsOnHold, ownerId, and with detailed activeCalls (without
 * sipData, as notifications carry them) and totalActiveCalls}. No sequence: the answer has
 * none to give. Fields the answer lacks are left out (as a notification leaves out what
 * did not change); extensionId falls back to ext_id. owner_id may be NULL. Returns a new
 * object (the caller puts it), or NULL if body is not a JSON object (*why says so) or on
 * no memory. */
json_object *rc_ha_presence_notification(const char *body, size_t len, const char *ext_id,
		const char *event, const char *owner_id, const char *uuid, const char *timestamp,
		bool detailed, const char **why);

/* Pure: name and extensionNumber of a GET .../extension/{id} answer (ExtensionInfo). The
 * name is `name`, else contact.firstName and lastName joined; *name and *number are NULL
 * when absent or empty (heap strings the caller frees). Returns 0, or -1 if body is not a
 * JSON object or on no memory. */
int rc_ha_extension_info(const char *body, size_t len, char **name, char **number);

/* Pure: one page of GET .../extension (GetExtensionListResponse: {uri, records[{id,
 * extensionNumber, name, contact{firstName, lastName}, type, status, ...}], paging{page,
 * totalPages, perPage, totalElements, pageStart, pageEnd}, navigation{firstPage, nextPage,
 * previousPage, lastPage}}). *records gets the records that have an id (a number or a
 * string of digits), named as rc_ha_extension_info names them; a record whose type is not
 * User or whose status is not Enabled is skipped (the query asked for those only). *more:
 * another page follows (navigation.nextPage, else paging.page below paging.totalPages;
 * never after a page without records). Returns 0, or -1 if body is not a JSON object with
 * a records array, or on no memory (*records NULL). */
int rc_ha_extension_page(const char *body, size_t len, struct rc_ha_listed **records,
		size_t *n, bool *more);
void rc_ha_listed_free(struct rc_ha_listed *r, size_t n);

#endif
