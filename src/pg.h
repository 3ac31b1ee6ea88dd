/*
 * pg.h: PostgreSQL for probes: the "databases" section, and read-only
 * queries on the engine's loop.
 *
 * A small pool of connections per database (pool_size, default 4) for the
 * whole run, reused across checks and rounds, each reconnected after a
 * failure (src/connq.c keeps the queue). A query takes a free connection,
 * or waits for one; the wait is told apart from the query's own time.
 * Every query runs as
 *
 *   BEGIN READ ONLY; SET LOCAL statement_timeout, lock_timeout,
 *   idle_in_transaction_session_timeout;  <the query, alone>;  ROLLBACK
 *
 * on a connection opened with default_transaction_read_only=on and
 * application_name=allclear. The query goes through PQsendQueryParams,
 * which refuses more than one statement. A deadline on the loop bounds the
 * connect and the query; when it passes the connection is closed (libpq
 * 15's PQcancel blocks, so it is not used) and the server's own
 * statement_timeout ends the statement.
 *
 * Results are read a row at a time and reading stops at a cap (rows, and
 * bytes: allclear hands the server's bytes to libpq itself, so at most the
 * cap plus one byte is ever read, even of one huge value: memory grows with
 * pool_size times the cap at most). Each fresh connection first checks
 * whether its role can write, for a warning.
 */
#ifndef AC_PG_H
#define AC_PG_H

#include <cjson/cJSON.h>
#include <libpq-fe.h>
#include <stdint.h>

#include "cfg.h"
#include "probe.h"

/* What one query may read before reading stops (settable per database as
 * "max_rows" and "max_result_size"). */
#define AC_PG_MAX_ROWS 10000
#define AC_PG_MAX_RESULT_SIZE (16 * 1024 * 1024)
/* Connections per database at once (settable as "pool_size", 1 to 32). */
#define AC_PG_POOL_SIZE 4
#define AC_PG_POOL_SIZE_MAX 32
/* A wait for a free connection longer than this is told in the reply. */
#define AC_PG_WAIT_NOTE_MS 50
/* Rows kept of what is read (the rest are only counted). */
#define AC_PG_KEEP_ROWS 10

struct ac_pg_target {
	char *name;
	char *dsn; /* may hold a password: never print it unmasked */
	int64_t connect_timeout_ms;
	int64_t statement_timeout_ms;
	int64_t lock_timeout_ms;
	long max_rows;
	uint64_t max_result_size;
	int pool_size;
};

/* One entry of the "databases" section, parsed once at load (the section
 * row is in probes/probes.c); destroy frees it. */
void *ac_pg_target_load(struct ac_cfg *cx, const cJSON *entry, const char *name, const char *path);
void ac_pg_target_destroy(void *target);
/* An entry's keys (for the schema). */
const struct ac_field *ac_pg_fields(size_t *n);
void ac_pg_target_release(struct ac_pg_target *t);

/* A query's outcome. Rows are read one at a time (single-row mode) and
 * reading stops as soon as the caller has the rows it wants, or at the
 * database's caps; stopping closes the connection (the next query opens a
 * new one), so no half-read result is ever left on it. */
struct ac_pg_reply {
	/* The first rows read (up to AC_PG_KEEP_ROWS) with the columns, owned
	 * by pg.c; NULL when error is set. */
	const PGresult *res;
	long nrows;	    /* rows read (PQntuples(res) unless there are no columns) */
	bool more;	    /* stopped with rows or bytes still to come */
	const char *capped; /* stopped at a cap before the rows wanted: why */
	const char *error;  /* masked, printable */
	/* The role can write ("is a superuser", "INSERT on public.t"): allclear
	 * stays read-only anyway, but the role should not be able to. */
	const char *warning;
	/* How long the query waited for a free connection before it ran (not
	 * part of its own time), and past AC_PG_WAIT_NOTE_MS the words for it:
	 * "waited 320 ms for a free connection (pool of 4)"; else NULL. */
	int64_t waited_ms;
	const char *wait_note;
};
typedef void (*ac_pg_done_fn)(void *ud, const struct ac_pg_reply *reply);

struct ac_pg_query;

/* Run sql on one of db's connections, when one is free; done is called
 * exactly once, from a loop callback, unless ac_pg_query_cancel is called
 * first. want_rows is how many rows the caller needs (clamped to the
 * database's max_rows). */
struct ac_pg_query *ac_pg_query_start(struct ac_services *sv, const struct ac_pg_target *db,
				      const char *sql, int nparams, const char *const *params,
				      long want_rows, int64_t deadline_ms, ac_pg_done_fn done,
				      void *ud);
/* Forget a query (its check hit its deadline); done is not called. */
void ac_pg_query_cancel(struct ac_services *sv, struct ac_pg_query *q);
/* While q still waits for a free connection: "waited 2000 ms for a free
 * connection (pool of 4)" (the caller frees it); NULL once it runs. */
char *ac_pg_query_waiting(const struct ac_pg_query *q);

/* Is sql one statement, as PostgreSQL's lexer reads it? Semicolons inside
 * strings (E'' strings with backslash escapes), quoted identifiers, nested
 * block comments and dollar quotes do not count; one trailing semicolon,
 * followed only by blanks and comments, is allowed. */
bool ac_pg_single_statement(const char *sql);
/* The session-level advisory lock function the query calls
 * (pg_advisory_lock and the like), or NULL. */
const char *ac_pg_session_lock_call(const char *sql);
/* Skip blanks and comments (nested block comments too) from p. */
const char *ac_pg_skip_blanks(const char *p);

#endif
