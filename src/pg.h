/*
 * pg.h: PostgreSQL for probes: the "databases" section, and read-only
 * queries on the engine's loop.
 *
 * One connection per database for the whole run, reused across checks and
 * rounds, reconnected after a failure. Queries on one connection wait
 * their turn. Every query runs as
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
 */
#ifndef AC_PG_H
#define AC_PG_H

#include <cjson/cJSON.h>
#include <libpq-fe.h>
#include <stdint.h>

#include "cfg.h"
#include "probe.h"

struct ac_pg_target {
	char *name;
	char *dsn; /* may hold a password: never print it unmasked */
	int64_t connect_timeout_ms;
	int64_t statement_timeout_ms;
	int64_t lock_timeout_ms;
};

/* Validate the "databases" section (registered in probes/probes.c). */
void ac_pg_section_validate(struct ac_cfg *cx, const cJSON *section, const char *path);

/* The database a check names, copied into out; false after an error. */
bool ac_pg_target_lookup(struct ac_cfg *cx, const cJSON *name, const char *path,
			 struct ac_pg_target *out);
void ac_pg_target_release(struct ac_pg_target *t);

/* A query's outcome: res is the query's result (owned by the callee: do
 * not PQclear it) or NULL with error set (masked, printable). */
typedef void (*ac_pg_done_fn)(void *ud, const PGresult *res, const char *error);

struct ac_pg_query;

/* Queue sql on db's connection; done is called exactly once, from a loop
 * callback, unless ac_pg_query_cancel is called first. */
struct ac_pg_query *ac_pg_query_start(struct ac_services *sv, const struct ac_pg_target *db,
				      const char *sql, int nparams, const char *const *params,
				      int64_t deadline_ms, ac_pg_done_fn done, void *ud);
/* Forget a query (its check hit its deadline); done is not called. */
void ac_pg_query_cancel(struct ac_services *sv, struct ac_pg_query *q);

/* Is sql one statement? Semicolons inside quotes, identifiers, comments
 * and dollar quotes do not count; one trailing semicolon is allowed. */
bool ac_pg_single_statement(const char *sql);

#endif
