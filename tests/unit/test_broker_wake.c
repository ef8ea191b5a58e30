/* test_broker_wake.c - the wake timer ends a wait of the thread that created it, tells
 * its TICK apart, stops when disarmed, and leaves the signal disposition as it found it.
 *
 * The "broker loop" here is this thread blocked in poll() on a pipe nobody writes: only
 * a signal can end that wait early. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>
#include "rc_test.h"
#include "rc_broker_wake.h"

/* Waits on a silent pipe; returns poll()'s result and errno. */
static int wait_silent(int timeout_ms, int *err)
{
	int fds[2];
	struct pollfd pfd;

	CU_ASSERT_EQUAL_FATAL(pipe(fds), 0);
	pfd.fd = fds[0];
	pfd.events = POLLIN;
	int rc = poll(&pfd, 1, timeout_ms);
	*err = errno;
	close(fds[0]);
	close(fds[1]);
	return rc;
}

static void test_arm_interrupts_the_wait(void)
{
	struct rc_broker_wake w;
	char err[128];
	int e = 0;

	CU_ASSERT_EQUAL_FATAL(rc_broker_wake_init(&w, err, sizeof(err)), 0);
	CU_ASSERT_FALSE(rc_broker_wake_fired(&w));
	rc_broker_wake_arm(&w, 2000);
	/* Ten seconds is what a missed wake would cost here: the test fails by timing out. */
	CU_ASSERT_EQUAL(wait_silent(10000, &e), -1);
	CU_ASSERT_EQUAL(e, EINTR);
	CU_ASSERT_TRUE(rc_broker_wake_fired(&w));
	CU_ASSERT_FALSE(rc_broker_wake_fired(&w));     /* read and cleared */
	/* Armed, it keeps waking: a wake that landed before the wait is repeated. */
	CU_ASSERT_EQUAL(wait_silent(10000, &e), -1);
	CU_ASSERT_EQUAL(e, EINTR);
	rc_broker_wake_disarm(&w);
	(void)rc_broker_wake_fired(&w);
	/* Disarmed: the wait runs its course (a short one: nothing may end it). */
	CU_ASSERT_EQUAL(wait_silent(50, &e), 0);
	CU_ASSERT_FALSE(rc_broker_wake_fired(&w));
	rc_broker_wake_free(&w);
}

static bool urg_is_default(void)
{
	struct sigaction sa;

	sigaction(SIGURG, NULL, &sa);
	return !(sa.sa_flags & SA_SIGINFO) && sa.sa_handler == SIG_DFL;
}

/* Two instances (two plugin lines): freed in either order, the default is back at the end,
 * and the survivor keeps working in between. */
static void test_two_instances_restore_the_default(void)
{
	struct rc_broker_wake a, b;
	char err[128];
	int e = 0;

	CU_ASSERT_TRUE_FATAL(urg_is_default());
	CU_ASSERT_EQUAL_FATAL(rc_broker_wake_init(&a, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(rc_broker_wake_init(&b, err, sizeof(err)), 0);
	rc_broker_wake_free(&b);
	CU_ASSERT_FALSE(urg_is_default());
	rc_broker_wake_arm(&a, 2000);
	CU_ASSERT_EQUAL(wait_silent(10000, &e), -1);
	CU_ASSERT_TRUE(rc_broker_wake_fired(&a));
	rc_broker_wake_free(&a);
	CU_ASSERT_TRUE(urg_is_default());

	CU_ASSERT_EQUAL_FATAL(rc_broker_wake_init(&a, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(rc_broker_wake_init(&b, err, sizeof(err)), 0);
	rc_broker_wake_free(&a);
	rc_broker_wake_free(&b);
	CU_ASSERT_TRUE(urg_is_default());
}

static void ignore_urg(int sig)
{
	(void)sig;
}

/* A handler someone else installed is not replaced. */
static void test_foreign_handler_is_left_alone(void)
{
	struct rc_broker_wake w;
	struct sigaction sa = { .sa_handler = ignore_urg }, now;
	char err[128] = "";

	sigemptyset(&sa.sa_mask);
	CU_ASSERT_EQUAL_FATAL(sigaction(SIGURG, &sa, NULL), 0);
	CU_ASSERT_EQUAL(rc_broker_wake_init(&w, err, sizeof(err)), -1);
	CU_ASSERT_STRING_EQUAL(err, "SIGURG already has a handler in this process");
	sigaction(SIGURG, NULL, &now);
	CU_ASSERT_PTR_EQUAL(now.sa_handler, ignore_urg);
	rc_broker_wake_free(&w);                        /* harmless on a failed init */
	sa.sa_handler = SIG_DFL;
	sigaction(SIGURG, &sa, NULL);
}

int main(void)
{
	static const struct rc_test_case cases[] = {
		{ "arm interrupts the wait", test_arm_interrupts_the_wait },
		{ "two instances restore the default", test_two_instances_restore_the_default },
		{ "foreign handler is left alone", test_foreign_handler_is_left_alone },
		{ NULL, NULL },
	};
	return rc_test_run("broker_wake", NULL, NULL, cases);
}
