/* checkpoint.c - the PubNub position that is safe to save (see rc_checkpoint.h). */
#include <string.h>
#include "rc_checkpoint.h"

void rc_checkpoint_reset(struct rc_checkpoint *c, const struct rc_pubnub_cursor *safe)
{
	c->head = c->n = 0;
	c->safe = *safe;
}

void rc_checkpoint_mark(struct rc_checkpoint *c, const struct rc_pubnub_cursor *at, uint64_t upto)
{
	if (c->n > 0) {
		size_t last = (c->head + c->n - 1) % RC_CHECKPOINT_MARKS;
		/* Nothing new was pushed since the last mark (a quiet or fully duplicate poll),
		 * or the ring is full: the later position replaces it, waiting for the same or a
		 * later number. */
		if (c->marks[last].upto == upto || c->n == RC_CHECKPOINT_MARKS) {
			c->marks[last].at = *at;
			c->marks[last].upto = upto;
			return;
		}
	}
	size_t slot = (c->head + c->n) % RC_CHECKPOINT_MARKS;
	c->marks[slot].at = *at;
	c->marks[slot].upto = upto;
	c->n++;
}

bool rc_checkpoint_settle(struct rc_checkpoint *c, uint64_t confirmed)
{
	bool moved = false;

	while (c->n > 0 && c->marks[c->head].upto <= confirmed) {
		if (strcmp(c->safe.tt, c->marks[c->head].at.tt) != 0 ||
				c->safe.tr != c->marks[c->head].at.tr)
			moved = true;
		c->safe = c->marks[c->head].at;
		c->head = (c->head + 1) % RC_CHECKPOINT_MARKS;
		c->n--;
	}
	return moved;
}
