/*
 * redis_tls.h: TLS for rediss:// servers, done with OpenSSL on the
 * connection's own non-blocking socket (Debian 12's hiredis 0.14 has none).
 *
 * A context per server (trust store, client certificate, verification) is
 * made when the scenario is loaded, so a bad ca_file, cert or key is a
 * scenario error. A session per connection runs the handshake and then
 * carries the bytes hiredis' reader parses; every step returns at once and
 * says what it waits for (the loop does the waiting).
 */
#ifndef AC_REDIS_TLS_H
#define AC_REDIS_TLS_H

#include <stdbool.h>
#include <stddef.h>

struct ac_rtls_ctx;
struct ac_rtls;

/* NULL with *error (allocated) when a file cannot be used. key NULL: the
 * key is in the cert file. */
struct ac_rtls_ctx *ac_rtls_ctx_create(const char *ca_file, const char *cert, const char *key,
				       bool insecure, char **error);
struct ac_rtls_ctx *ac_rtls_ctx_ref(struct ac_rtls_ctx *x);
void ac_rtls_ctx_unref(struct ac_rtls_ctx *x);

enum ac_rtls_step {
	AC_RTLS_OK,	    /* done (or some bytes moved) */
	AC_RTLS_WANT_READ,  /* call again when the socket is readable */
	AC_RTLS_WANT_WRITE, /* call again when the socket is writable */
	AC_RTLS_EOF,	    /* the server closed the session */
	AC_RTLS_FAIL,	    /* *why says what (allocated) */
};

/* A client session on fd (connected, non-blocking) for host: SNI when host
 * is a name, and the certificate must name host (a DNS name or an IP
 * address) unless the context is insecure. */
struct ac_rtls *ac_rtls_create(struct ac_rtls_ctx *x, int fd, const char *host, char **error);
void ac_rtls_destroy(struct ac_rtls *t);

/* where: "redis 127.0.0.1:6380", for the reasons. */
enum ac_rtls_step ac_rtls_handshake(struct ac_rtls *t, const char *where, char **why);
/* Up to len bytes; *n says how many went. */
enum ac_rtls_step ac_rtls_write(struct ac_rtls *t, const char *buf, size_t len, size_t *n,
				char **why);
/* Up to cap bytes into buf; *n says how many came. */
enum ac_rtls_step ac_rtls_read(struct ac_rtls *t, char *buf, size_t cap, size_t *n, char **why);

#endif
