/* broker_wake.c - a timer that ends the broker's idle wait (see rc_broker_wake.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "rc_broker_wake.h"

#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

/* Interrupting epoll_wait is what the signal is for; the handler only notes that it was
 * our timer (the instance travels in the timer's sigev_value). */
static void broker_wake__handler(int sig, siginfo_t *info, void *ctx)
{
	(void)sig;
	(void)ctx;
	if (info != NULL && info->si_code == SI_TIMER && info->si_value.sival_ptr != NULL)
		((struct rc_broker_wake *)info->si_value.sival_ptr)->fired = 1;
}

static bool broker_wake__is_ours(const struct sigaction *sa)
{
	return (sa->sa_flags & SA_SIGINFO) && sa->sa_sigaction == broker_wake__handler;
}

static bool broker_wake__is_default(const struct sigaction *sa)
{
	return !(sa->sa_flags & SA_SIGINFO) && (sa->sa_handler == SIG_DFL || sa->sa_handler == SIG_IGN);
}

int rc_broker_wake_init(struct rc_broker_wake *w, char *err, size_t errlen)
{
	struct sigaction sa;
	struct sigevent sev;

	*w = (struct rc_broker_wake){0};
	if (sigaction(SIGURG, NULL, &w->previous) != 0) {
		snprintf(err, errlen, "cannot read the SIGURG disposition: %s", strerror(errno));
		return -1;
	}
	/* Someone else's handler (another library in the broker) is left alone. */
	if (!broker_wake__is_default(&w->previous) && !broker_wake__is_ours(&w->previous)) {
		snprintf(err, errlen, "SIGURG already has a handler in this process");
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = broker_wake__handler;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;   /* every other call carries on; epoll_wait returns */
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGURG, &sa, NULL) != 0) {
		snprintf(err, errlen, "cannot install the SIGURG handler: %s", strerror(errno));
		return -1;
	}
	w->handler_installed = true;
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = SIGURG;
	sev.sigev_notify_thread_id = gettid();
	sev.sigev_value.sival_ptr = w;
	if (timer_create(CLOCK_MONOTONIC, &sev, &w->timer) != 0) {
		snprintf(err, errlen, "cannot create the wake timer: %s", strerror(errno));
		rc_broker_wake_free(w);
		return -1;
	}
	w->ready = true;
	return 0;
}

void rc_broker_wake_arm(struct rc_broker_wake *w, long interval_us)
{
	struct itimerspec its = {
		.it_value = { .tv_sec = 0, .tv_nsec = 1 },   /* now */
		.it_interval = { .tv_sec = interval_us / 1000000, .tv_nsec = (interval_us % 1000000) * 1000 },
	};

	if (!w->ready || w->armed)
		return;
	if (timer_settime(w->timer, 0, &its, NULL) == 0)
		w->armed = true;
}

void rc_broker_wake_disarm(struct rc_broker_wake *w)
{
	struct itimerspec off = {0};

	if (!w->ready || !w->armed)
		return;
	timer_settime(w->timer, 0, &off, NULL);
	w->armed = false;
}

bool rc_broker_wake_fired(struct rc_broker_wake *w)
{
	bool fired = w->fired != 0;

	w->fired = 0;
	return fired;
}

void rc_broker_wake_free(struct rc_broker_wake *w)
{
	struct sigaction now;

	if (w->ready)
		timer_delete(w->timer);
	w->ready = w->armed = false;
	/* Another instance of this plugin may have installed the same handler after us:
	 * restore only what we replaced, and only while ours is in place. */
	if (w->handler_installed && sigaction(SIGURG, NULL, &now) == 0 &&
			broker_wake__is_ours(&now) && !broker_wake__is_ours(&w->previous))
		sigaction(SIGURG, &w->previous, NULL);
	w->handler_installed = false;
}
