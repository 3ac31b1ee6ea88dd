/*
 * monit.h: speaking the monitoring stack's language from the command line.
 *
 * - the Nagios plugin exit codes (--format nagios);
 * - --prom FILE: the Prometheus series written atomically at the end, for
 *   node_exporter's textfile collector (report/prom_text.c writes them);
 * - --listen HOST:PORT: GET /metrics served from the engine's loop while
 *   the rounds go on (src/listen.c), never blocking a round.
 */
#ifndef AC_MONIT_H
#define AC_MONIT_H

#include <stdbool.h>

#include "result.h"
#include "util.h"

struct ac_loop;

/* allclear's exit code (0 RESTORED, 1 NOT RESTORED, 2 INCONCLUSIVE, 3 bad
 * input) as a Nagios plugin's: 0 OK, 2 CRITICAL, 3 UNKNOWN. */
int ac_nagios_exit_code(int rc);

/* The result in the Prometheus text format (the "prometheus" writer); the
 * caller frees it. */
char *ac_prom_text(const struct ac_result *r);

/* --prom FILE: a temporary file next to path is created when opened (so a
 * path that cannot be written is found before anything is probed) and
 * renamed over path by commit, whole or not at all. Destroy removes the
 * temporary file unless it was committed; NULL-safe. */
struct ac_promfile;
struct ac_promfile *ac_promfile_open(const char *path, struct ac_error *err);
int ac_promfile_commit(struct ac_promfile *pf, const struct ac_result *r, struct ac_error *err);
void ac_promfile_destroy(struct ac_promfile *pf);

/* --listen: a tiny HTTP responder for GET /metrics. Open binds and listens
 * (HOST:PORT, [V6]:PORT, :PORT or PORT; no host means 127.0.0.1);
 * *loopback tells whether the address is a loopback one. Attach registers
 * it on a loop (the engine's), detach takes it off and closes its
 * clients. Set gives the text to serve (the listener keeps a copy). At
 * most AC_LISTEN_CLIENTS clients at once (one more takes the place of the
 * one that has waited longest without a whole request), requests of at most
 * AC_LISTEN_REQ_MAX bytes, AC_LISTEN_TIMEOUT_MS per connection; every
 * connection is closed after its response. */
#define AC_LISTEN_CLIENTS 16
#define AC_LISTEN_REQ_MAX 4096
#define AC_LISTEN_TIMEOUT_MS 5000
struct ac_listener;
struct ac_listener *ac_listener_open(const char *hostport, bool *loopback, struct ac_error *err);
/* "127.0.0.1:9464" as bound (the port the system chose for port 0). */
const char *ac_listener_address(const struct ac_listener *l);
void ac_listener_attach(struct ac_listener *l, struct ac_loop *loop);
void ac_listener_detach(struct ac_listener *l);
void ac_listener_set(struct ac_listener *l, const char *text);
/* Requests answered so far. */
unsigned long ac_listener_served(const struct ac_listener *l);
void ac_listener_destroy(struct ac_listener *l);

#endif
