/*
 * hostile.c: forked loopback HTTP servers for tests (see hostile.h).
 */
#include "hostile.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "util.h"

void hs_reply(int fd, int status, const char *extra_headers, const char *body)
{
	char *r =
	    ac_asprintf("HTTP/1.1 %d X\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n%s",
			status, strlen(body), extra_headers, body);
	size_t off = 0, len = strlen(r);
	while (off < len) {
		ssize_t n = write(fd, r + off, len - off);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	free(r);
}

static bool read_request(int fd, struct hs_request *req, struct ac_buf *raw)
{
	char chunk[4096];
	char *end = NULL;
	while (!(end = strstr(raw->buf, "\r\n\r\n"))) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n <= 0)
			return false;
		ac_buf_add(raw, chunk, (size_t)n);
		if (raw->len > 1024 * 1024)
			return false;
	}
	size_t hlen = (size_t)(end - raw->buf) + 4;
	sscanf(raw->buf, "%15s %1023s", req->method, req->path);
	req->headers = ac_strndup(raw->buf, hlen);
	size_t want = 0;
	const char *cl = strcasestr(req->headers, "\r\nContent-Length:");
	if (cl) {
		long v = 0;
		if (sscanf(cl + 17, "%ld", &v) == 1 && v > 0)
			want = (size_t)v;
	}
	while (raw->len - hlen < want) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n <= 0)
			break;
		ac_buf_add(raw, chunk, (size_t)n);
	}
	req->nbody = raw->len - hlen;
	req->body = ac_strndup(raw->buf + hlen, req->nbody);
	return true;
}

static void child(int lfd, const char *logpath, hs_handler h, void *ud)
{
	signal(SIGPIPE, SIG_IGN);
	int seq = 0;
	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		if (fd < 0) {
			if (errno == EINTR)
				continue;
			_exit(0);
		}
		struct ac_buf raw = AC_BUF_INIT;
		struct hs_request req;
		memset(&req, 0, sizeof(req));
		if (read_request(fd, &req, &raw)) {
			req.seq = ++seq;
			FILE *f = fopen(logpath, "a");
			if (f) {
				fprintf(f, "=== %d %s %s\n%s%s\n", req.seq, req.method, req.path,
					req.headers, req.body);
				fclose(f);
			}
			h(fd, &req, ud);
		}
		free(req.headers);
		free(req.body);
		ac_buf_release(&raw);
		close(fd);
	}
}

void hs_start(struct hs_server *s, hs_handler h, void *ud)
{
	int lfd = tu_listen(&s->port);
	s->log = tu_write_temp("", ".log");
	s->pid = fork();
	ck_assert_int_ge(s->pid, 0);
	if (s->pid == 0) {
		child(lfd, s->log, h, ud);
		_exit(0);
	}
	close(lfd);
}

void hs_stop(struct hs_server *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
	}
	s->pid = 0;
	free(s->log);
	s->log = NULL;
}

char *hs_log(const struct hs_server *s)
{
	return tu_read_file(s->log);
}

int hs_requests(const struct hs_server *s)
{
	char *l = hs_log(s);
	int n = 0;
	for (const char *p = l; (p = strstr(p, "=== ")); p += 4)
		n++;
	free(l);
	return n;
}
