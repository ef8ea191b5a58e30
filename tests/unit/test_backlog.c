/* test_backlog.c - a connected socket whose peer stops reading is seen as backed up; one
 * whose peer reads is not; listeners and other descriptors are not looked at. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "rc_test.h"
#include "rc_backlog.h"

/* A TCP connection over loopback: *client writes, *server is the peer. */
static void tcp_pair(int *listener, int *client, int *server)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);

	*listener = socket(AF_INET, SOCK_STREAM, 0);
	CU_ASSERT_FATAL(*listener >= 0);
	CU_ASSERT_EQUAL_FATAL(bind(*listener, (struct sockaddr *)&a, sizeof(a)), 0);
	CU_ASSERT_EQUAL_FATAL(listen(*listener, 1), 0);
	CU_ASSERT_EQUAL_FATAL(getsockname(*listener, (struct sockaddr *)&a, &len), 0);
	*client = socket(AF_INET, SOCK_STREAM, 0);
	CU_ASSERT_EQUAL_FATAL(connect(*client, (struct sockaddr *)&a, sizeof(a)), 0);
	*server = accept(*listener, NULL, NULL);
	CU_ASSERT_FATAL(*server >= 0);
}

static void test_stalled_peer_is_seen(void)
{
	struct rc_backlog b = {0};
	int listener, client, server;
	char buf[65536];
	int64_t t = 0;

	tcp_pair(&listener, &client, &server);
	CU_ASSERT_FALSE(rc_backlog_any(&b, t));
	CU_ASSERT_TRUE(b.n >= 2);                  /* both ends; not the listener */
	for (size_t i = 0; i < b.n; i++)
		CU_ASSERT_NOT_EQUAL(b.fds[i], listener);

	/* The peer stops reading: write until the kernel takes no more. */
	memset(buf, 'x', sizeof(buf));
	fcntl(client, F_SETFL, O_NONBLOCK);
	while (write(client, buf, sizeof(buf)) > 0)
		;
	CU_ASSERT_TRUE(rc_backlog_any(&b, t));

	/* The peer reads everything: nothing is waiting any more. */
	fcntl(server, F_SETFL, O_NONBLOCK);
	for (int quiet = 0; quiet < 3; ) {
		if (read(server, buf, sizeof(buf)) > 0)
			quiet = 0;
		else if (rc_backlog_any(&b, t) == false)
			break;
		else
			quiet++, usleep(1000);
	}
	CU_ASSERT_FALSE(rc_backlog_any(&b, t));

	close(client);
	close(server);
	close(listener);
	/* Closed descriptors are dropped at the next scan (and skipped before it). */
	CU_ASSERT_FALSE(rc_backlog_any(&b, t + RC_BACKLOG_RESCAN_US));
	CU_ASSERT_EQUAL(b.n, 0);
	rc_backlog_free(&b);
}

int main(void)
{
	static const struct rc_test_case cases[] = {
		{ "stalled peer is seen", test_stalled_peer_is_seen },
		{ NULL, NULL },
	};
	return rc_test_run("backlog", NULL, NULL, cases);
}
