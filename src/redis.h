/*
 * redis.h: Redis for probes: the "redis" section, an allowlist of read
 * commands, and pipelined batches on the engine's loop.
 *
 * One connection per server for the run, reconnected after any error.
 * hiredis 0.14 is used for its protocol code only (non-blocking context,
 * redisBufferRead/Write, redisReaderGetReply); the loop does the waiting.
 * Every batch has a deadline; replies are bounded: arrays above
 * AC_REDIS_MAX_ELEMENTS are refused before hiredis allocates them, and a
 * reply larger than AC_REDIS_MAX_BYTES ends the connection.
 *
 * rediss:// servers: allclear does TLS itself (src/redis_tls.h) on the
 * same socket, writes the commands hiredis formats and feeds what it reads
 * to hiredis' reader; the same bounds hold, and the connect timeout covers
 * the handshake.
 */
#ifndef AC_REDIS_H
#define AC_REDIS_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stdint.h>

#include "cfg.h"
#include "probe.h"
#include "redis_tls.h"

#define AC_REDIS_MAX_ELEMENTS 100000
#define AC_REDIS_MAX_BYTES (16 * 1024 * 1024)
#define AC_REDIS_MAX_ARGS 16

struct ac_redis_server {
	char *name;
	char *host;
	int port;
	int db;
	char *user;	/* NULL: AUTH with the password alone */
	char *password; /* NULL: no AUTH */
	int64_t connect_timeout_ms;
	int64_t timeout_ms;
	/* rediss:// */
	bool tls;
	bool insecure;		     /* no certificate or host-name verification */
	char *ca_file;		     /* NULL: the system's CA store */
	char *cert;		     /* client certificate (PEM), optional */
	char *key;		     /* its key; NULL: in the cert file */
	struct ac_rtls_ctx *tls_ctx; /* made at load */
};

/* One entry of the "redis" section, parsed once at load (the section row is
 * in probes/probes.c); destroy frees it. */
void *ac_redis_server_load(struct ac_cfg *cx, const cJSON *entry, const char *name,
			   const char *path);
void ac_redis_server_destroy(void *server);
/* An entry's keys (for the schema). */
const struct ac_field *ac_redis_fields(size_t *n);
void ac_redis_server_release(struct ac_redis_server *s);

/* Is this command (case-insensitive) on the read-only allowlist? */
bool ac_redis_command_allowed(const char *name);
/* "LLEN, ZCARD, ..." for messages. */
const char *ac_redis_allowlist_text(void);

/* One command: up to AC_REDIS_MAX_ARGS arguments, copied. */
struct ac_redis_cmd {
	int argc;
	const char *argv[AC_REDIS_MAX_ARGS];
};

/* All replies of a batch in order (owned by the callee), or NULL with
 * error set. */
typedef void (*ac_redis_done_fn)(void *ud, redisReply **replies, size_t n, const char *error);

struct ac_redis_batch;

/* Pipeline cmds to srv; done is called once, from a loop callback, unless
 * the batch is cancelled first. Commands off the allowlist fail the batch. */
struct ac_redis_batch *ac_redis_batch_start(struct ac_services *sv,
					    const struct ac_redis_server *srv,
					    const struct ac_redis_cmd *cmds, size_t n,
					    int64_t deadline_ms, ac_redis_done_fn done, void *ud);
void ac_redis_batch_cancel(struct ac_services *sv, struct ac_redis_batch *b);

#endif
