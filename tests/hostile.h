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
/* A server of a test's own: serve(lfd, log, arg) runs in a forked child
 * (killed when the test process ends) listening on lfd (closed in the
 * parent); s->log is a new temporary file for its request log. */
typedef void (*hs_serve)(int lfd, const char *log, void *arg);
void hs_spawn(struct hs_server *s, int lfd, hs_serve serve, void *arg);
/* Append text to a request log. */
void hs_log_append(const char *log, const char *text);
void hs_stop(struct hs_server *s);
/* hs_stop, then free a and b (a test's strings). */
void hs_stop_free(struct hs_server *s, char *a, char *b);
/* The request log so far (the caller frees it), and requests counted. */
char *hs_log(const struct hs_server *s);
int hs_requests(const struct hs_server *s);

/* Write a whole response with a body and extra header lines ("" for none). */
void hs_reply(int fd, int status, const char *extra_headers, const char *body);
/* Write all of p, retrying short writes; false when the peer is gone. */
bool hs_write_all(int fd, const char *p, size_t len);

/* hs_start on another loopback address ("127.0.0.2": another host as far
 * as origins go). */
void hs_start_at(struct hs_server *s, const char *addr, hs_handler h, void *ud);

/* A listener that reads nothing: it logs "=== accept" for every connection
 * (so hs_requests counts connections, e.g. an ftp:// client that would wait
 * for a greeting) and closes it. */
void hs_start_counting(struct hs_server *s);

/* Behaviours (handlers) for hs_start:
 * - hs_drip: 200 with Content-Length 100, then one body byte a second;
 * - hs_partial: 200 with Content-Length 1000, 10 bytes, then close;
 * - hs_partial_chunked: a chunked 200 that stops before the last chunk;
 * - hs_ok_any: 200 {"ok":true} to anything. */
void hs_drip(int fd, const struct hs_request *req, void *ud);
void hs_partial(int fd, const struct hs_request *req, void *ud);
void hs_partial_chunked(int fd, const struct hs_request *req, void *ud);
void hs_ok_any(int fd, const struct hs_request *req, void *ud);

/* TLS servers: `openssl s_server -HTTP` on 127.0.0.1, serving files from a
 * directory (each file holds a whole HTTP response). hs_tls_certs makes a
 * temporary directory with a throwaway CA (ca.pem) and certificates
 * NAME.pem/NAME.key: "good" (signed by the CA, for 127.0.0.1 and
 * localhost), "expired" (signed by the CA, valid only in January 2020),
 * "wronghost" (signed by the CA, for other.example only) and "self"
 * (self-signed, for 127.0.0.1 and localhost). */
struct hs_tls {
	pid_t pid;
	int port;
	char *dir; /* not owned */
	char *out; /* s_server's output: "FILE:name" for every file served */
};
char *hs_tls_certs(void);
void hs_tls_certs_remove(char *dir); /* and frees dir */
/* Write DIR/NAME holding a whole HTTP response. */
void hs_tls_file(const char *dir, const char *name, const char *response);
void hs_tls_start(struct hs_tls *t, char *dir, const char *cert);
void hs_tls_stop(struct hs_tls *t);
/* Files s_server served so far. */
int hs_tls_served(const struct hs_tls *t);

#endif
