/* backlog.c - is some client socket of the broker backed up? (see rc_backlog.h) */
#include <dirent.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <linux/sockios.h>
#include "rc_backlog.h"

/* A connected stream socket (not a listener): one whose send queue can fill. */
static bool backlog__is_stream_peer(int fd)
{
	struct stat st;
	int type = 0, listening = 0;
	socklen_t len = sizeof(type);

	if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode) ||
			getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM)
		return false;
	len = sizeof(listening);
	return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 && !listening;
}

static void backlog__scan(struct rc_backlog *b)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	b->n = 0;
	if (d == NULL)
		return;
	int own = dirfd(d);
	while ((e = readdir(d)) != NULL) {
		char *end;
		long fd = strtol(e->d_name, &end, 10);
		if (*end != '\0' || end == e->d_name || fd == own || !backlog__is_stream_peer((int)fd))
			continue;
		if (b->n == b->cap) {
			size_t cap = b->cap ? b->cap * 2 : 64;
			int *fds = realloc(b->fds, cap * sizeof(*fds));
			if (fds == NULL)
				break;
			b->fds = fds;
			b->cap = cap;
		}
		b->fds[b->n++] = (int)fd;
	}
	closedir(d);
}

bool rc_backlog_any(struct rc_backlog *b, int64_t now_us)
{
	if (!b->scanned || now_us - b->scanned_at_us >= RC_BACKLOG_RESCAN_US) {
		backlog__scan(b);
		b->scanned = true;
		b->scanned_at_us = now_us;
	}
	for (size_t i = 0; i < b->n; i++) {
		int unsent = 0, sndbuf = 0;
		socklen_t len = sizeof(sndbuf);
		if (ioctl(b->fds[i], SIOCOUTQ, &unsent) == 0 &&
				getsockopt(b->fds[i], SOL_SOCKET, SO_SNDBUF, &sndbuf, &len) == 0 &&
				unsent > sndbuf / 2)
			return true;
	}
	return false;
}

void rc_backlog_free(struct rc_backlog *b)
{
	free(b->fds);
	*b = (struct rc_backlog){0};
}
