/*
 * hostile.h: small HTTP servers for tests, each a forked child process on
 * 127.0.0.1 with an OS-assigned port. The child logs every request it
 * receives (method, path, headers and body) to a file, so a test can prove
 * what a server saw, or that it saw nothing.
 */
#ifndef AC_HOSTILE_H
#define AC_HOSTILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct hs_request {
	char method[16];
	char path[1024];
	char *headers; /* raw header block */
	char *body;
	size_t nbody;
	int seq; /* 1 for the first request this server saw */
};

/* Answer one request on fd (write a whole response). The connection is
 * closed afterwards. */
typedef void (*hs_handler)(int fd, const struct hs_request *req, void *ud);

struct hs_server {
	pid_t pid;
	int port;
	char *log; /* path of the request log */
};

void hs_start(struct hs_server *s, hs_handler h, void *ud);
void hs_stop(struct hs_server *s);
/* The request log so far (the caller frees it), and requests counted. */
char *hs_log(const struct hs_server *s);
int hs_requests(const struct hs_server *s);

/* Write a whole response with a body and extra header lines ("" for none). */
void hs_reply(int fd, int status, const char *extra_headers, const char *body);

#endif
