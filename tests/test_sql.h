/*
 * test_sql.h: what the files of the sql suite share (test_sql.c defines
 * it): a database of its own per test, made by the fixture, scenarios on it
 * as the read-only role, and checks judged on it.
 */
#ifndef AC_TEST_SQL_H
#define AC_TEST_SQL_H

#include <check.h>
#include <libpq-fe.h>
#include <stddef.h>

#include "result.h"
#include "scenario.h"

/* The test database (allclear_sql_PID), made by sql_setup. */
extern char sql_dbname[64];

/* A superuser connection to database db, or fail the test. */
PGconn *sql_su(const char *db);
/* Run sql on c, or fail the test. */
void sql_exec(PGconn *c, const char *sql);
/* Run sql on the test database as the superuser. */
void sql_exec_db(const char *sql);
/* The checked fixture: make the test database (table t, function evil())
 * and drop it. */
void sql_setup(void);
void sql_teardown(void);

/* A scenario on the test database as the read-only role; db_extra adds keys
 * to the database entry (", \"max_rows\": 3"). The caller frees it. */
char *sql_scenario_with(const char *db_extra, const char *checks);
char *sql_scenario(const char *checks);
/* One sql check on database "db", the query escaped for JSON. */
char *sql_check(const char *name, const char *query, const char *expect);
/* The same as a literal, the query already escaped. */
#define SQL(name, q, e)                                                                            \
	"{\"kind\": \"sql\", \"name\": \"" name "\", \"area\": \"data\", \"owner\": \"dba\", "     \
	"\"database\": \"db\", \"query\": \"" q "\", \"expect\": " e "}"

/* Run checks (a JSON list body) on "db" with db_extra; the caller destroys. */
struct ac_result *sql_run_checks(const char *db_extra, const char *const *checks, size_t n,
				 struct ac_plan **plan);
/* Fail the test unless check id's last sample has state st and, with
 * reason non-NULL, exactly that reason. */
void sql_expect_check(const struct ac_result *r, const char *id, enum ac_state st,
		      const char *reason);

/* The tests of the other files, added to the suite's test cases. */
void sql_queue_tests(TCase *tc);		 /* "sql": queue presets */
void sql_trust_tests(TCase *tc);		 /* "sql_trust": caps, edges, roles, pool */
void sql_fault_tests(TCase *trust, TCase *down); /* frozen and stopped servers, TLS */

#endif
