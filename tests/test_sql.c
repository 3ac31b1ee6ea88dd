/*
 * test_sql.c: read-only SQL checks against a real PostgreSQL server
 * (tests/servers.sh): the read-only proof, values, rows and expectations,
 * servers that cannot be reached; the helpers the other files of the sql
 * suite share (test_sql.h), and the suite. Queue presets are in
 * test_sql_queue.c, caps, edges, roles and the pool in test_sql_trust.c,
 * servers that go away or freeze in test_sql_faults.c.
 */
#include <glob.h>
#include <libpq-fe.h>
#include <malloc.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "pg.h"
#include "test_sql.h"
#include "testutil.h"

char sql_dbname[64];

PGconn *sql_su(const char *db)
{
	char *dsn = tu_fmt("%s dbname=%s", tu_env("AC_TEST_PG_DSN"), db);
	PGconn *c = PQconnectdb(dsn);
	free(dsn);
	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "postgres: %s", PQerrorMessage(c));
	return c;
}

void sql_exec(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK,
		      "%s: %s", sql, PQresultErrorMessage(r));
	PQclear(r);
}

void sql_setup(void)
{
	snprintf(sql_dbname, sizeof(sql_dbname), "allclear_sql_%d", (int)getpid());
	PGconn *c = sql_su("postgres");
	sql_exec(c, "SET client_min_messages TO warning");
	char *sql = tu_fmt("DROP DATABASE IF EXISTS %s", sql_dbname);
	sql_exec(c, sql);
	free(sql);
	sql = tu_fmt("CREATE DATABASE %s", sql_dbname);
	sql_exec(c, sql);
	free(sql);
	PQfinish(c);
	c = sql_su(sql_dbname);
	sql_exec(c, "CREATE TABLE t (id int, note text, email text);"
		    "INSERT INTO t SELECT i, 'note ' || i, 'user' || i || '@example.com' FROM "
		    "generate_series(1, 7) i;"
		    "CREATE FUNCTION evil() RETURNS int LANGUAGE plpgsql AS $$ BEGIN INSERT INTO t "
		    "VALUES (99); RETURN 1; END $$;"
		    "GRANT EXECUTE ON FUNCTION evil() TO PUBLIC;");
	PQfinish(c);
	setenv("AC_TEST_RO_PW", tu_env("AC_TEST_PG_RO_PASSWORD"), 1);
}

/* Run sql on the test database as the superuser. */
void sql_exec_db(const char *sql)
{
	PGconn *c = sql_su(sql_dbname);
	sql_exec(c, sql);
	PQfinish(c);
}

void sql_teardown(void)
{
	PGconn *c = sql_su("postgres");
	char *sql = tu_fmt("DROP DATABASE IF EXISTS %s WITH (FORCE)", sql_dbname);
	PQclear(PQexec(c, sql));
	free(sql);
	PQfinish(c);
}

/* A scenario on the test database as the read-only role; db_extra adds keys
 * to the database entry (", \"max_rows\": 3"). */
char *sql_scenario_with(const char *db_extra, const char *checks)
{
	return tu_fmt("{\"settings\": {\"rounds\": 1, \"confirm\": 1},"
		      " \"databases\": {\"db\": {\"dsn\": \"host=127.0.0.1 port=%s dbname=%s "
		      "user=%s password=${env:AC_TEST_RO_PW}\","
		      "   \"connect_timeout\": \"2s\"%s%s}},"
		      " \"checks\": [%s]}",
		      tu_env("AC_TEST_PG_PORT"), sql_dbname, tu_env("AC_TEST_PG_RO_USER"),
		      strstr(db_extra, "statement_timeout") ? ""
							    : ", \"statement_timeout\": \"1s\"",
		      db_extra, checks);
}

char *sql_scenario(const char *checks)
{
	return sql_scenario_with("", checks);
}

/* One sql check on database "db", the query escaped for JSON. */
char *sql_check(const char *name, const char *query, const char *expect)
{
	cJSON *js = cJSON_CreateString(query);
	char *q = cJSON_PrintUnformatted(js);
	cJSON_Delete(js);
	char *j = tu_fmt("{\"kind\": \"sql\", \"name\": \"%s\", \"area\": \"data\", \"owner\": "
			 "\"dba\", \"database\": \"db\", \"query\": %s, \"expect\": %s}",
			 name, q, expect);
	cJSON_free(q);
	return j;
}

/* Run checks (a JSON list body) on "db" with db_extra; the caller destroys. */
struct ac_result *sql_run_checks(const char *db_extra, const char *const *checks, size_t n,
				 struct ac_plan **plan)
{
	struct ac_buf b = AC_BUF_INIT;
	for (size_t i = 0; i < n; i++)
		ac_buf_addf(&b, "%s%s", i ? "," : "", checks[i]);
	char *json = sql_scenario_with(db_extra, b.buf);
	ac_buf_release(&b);
	struct ac_result *r = tu_run_scenario(json, 1, plan);
	free(json);
	return r;
}

void sql_expect_check(const struct ac_result *r, const char *id, enum ac_state st,
		      const char *reason)
{
	const struct ac_check_result *cr = tu_check(r, id);
	ck_assert_msg(cr->last.state == st, "%s: %s (%s), want %s", id,
		      ac_state_name(cr->last.state), cr->last.reason ? cr->last.reason : "",
		      ac_state_name(st));
	if (reason)
		ck_assert_msg(cr->last.reason && strcmp(cr->last.reason, reason) == 0,
			      "%s: reason \"%s\", want \"%s\"", id,
			      cr->last.reason ? cr->last.reason : "(none)", reason);
}

static long writes(void)
{
	PGconn *c = sql_su(sql_dbname);
	long n = -1;
	/* Statistics of ended sessions may arrive a moment late: look twice. */
	for (int i = 0; i < 20; i++) {
		PQclear(PQexec(c, "SELECT pg_stat_clear_snapshot()"));
		PGresult *r = PQexec(c, "SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), "
					"0) FROM pg_stat_user_tables");
		n = strtol(PQgetvalue(r, 0, 0), NULL, 10);
		PQclear(r);
		usleep(50000);
	}
	PQfinish(c);
	return n;
}

START_TEST(the_method_sees_writes)
{
	/* The proof below is only worth something if writes do show. */
	long before = writes();
	sql_exec_db("BEGIN; INSERT INTO t VALUES (100); ROLLBACK");
	ck_assert_int_gt(writes(), before);
}
END_TEST

START_TEST(write_attempts_are_refused_and_nothing_moves)
{
	long before = writes();
	/* Refused before anything is sent. */
	const char *load_time[] = {
	    SQL("i", "INSERT INTO t VALUES (1)", "{\"==\": 0}"),
	    SQL("d", "SELECT 1; DELETE FROM t", "{\"==\": 0}"),
	    SQL("c", "CREATE TABLE x (a int)", "{\"==\": 0}"),
	    SQL("u", "UPDATE t SET id = 0", "{\"==\": 0}"),
	    SQL("p", "COPY t TO STDOUT", "{\"==\": 0}"),
	    SQL("s", "SET default_transaction_read_only = off", "{\"==\": 0}"),
	};
	for (size_t i = 0; i < sizeof(load_time) / sizeof(load_time[0]); i++) {
		char *json = sql_scenario(load_time[i]);
		char *e = tu_load_error(json);
		ck_assert_msg(strstr(e, "one statement only") || strstr(e, "must be a query"), "%s",
			      e);
		free(e);
		free(json);
	}
	/* Refused by the server inside the read-only transaction. */
	char *json = sql_scenario(
	    SQL("cte", "WITH d AS (DELETE FROM t RETURNING 1) SELECT count(*) FROM d", "{\"==\": 0}") "," SQL(
		"lock", "SELECT id FROM t FOR UPDATE",
		"{\"min_rows\": 1}") "," SQL("func", "SELECT evil()",
					     "{\"==\": 1}") "," SQL("rw",
								    "SELECT "
								    "set_config('transaction_read_"
								    "only', 'off', true), evil()",
								    "{\"min_rows\": 1}") "," SQL("c"
												 "o"
												 "p"
												 "y"
												 "f"
												 "u"
												 "n"
												 "c",
												 "S"
												 "E"
												 "L"
												 "E"
												 "C"
												 "T"
												 " "
												 "*"
												 " "
												 "F"
												 "R"
												 "O"
												 "M"
												 " "
												 "t"
												 ","
												 " "
												 "L"
												 "A"
												 "T"
												 "E"
												 "R"
												 "A"
												 "L"
												 " "
												 "("
												 "S"
												 "E"
												 "L"
												 "E"
												 "C"
												 "T"
												 " "
												 "e"
												 "v"
												 "i"
												 "l"
												 "("
												 ")"
												 ")"
												 " "
												 "e",
												 "{"
												 "\"min_rows\": 1}"));
	struct ac_plan *plan;
	struct ac_result *r = tu_run_scenario(json, 1, &plan);
	for (size_t i = 0; i < r->nchecks; i++) {
		const struct ac_check_result *cr = &r->checks[i];
		ck_assert_msg(cr->state == AC_STATE_ERROR, "%s: %s (%s)", cr->check->id,
			      ac_state_name(cr->state), cr->reason ? cr->reason : "");
		ck_assert_msg(strstr(cr->reason, "read-only transaction") ||
				  strstr(cr->reason, "read-write mode"),
			      "%s: %s", cr->check->id, cr->reason);
	}
	ck_assert_int_eq(r->verdict, AC_INCONCLUSIVE);
	ac_result_destroy(r);
	ac_plan_destroy(plan);
	free(json);
	ck_assert_int_eq(writes(), before);
}
END_TEST

START_TEST(values_rows_and_expectations)
{
	char *json = sql_scenario(
	    SQL("count", "SELECT count(*) FROM t", "{\"==\": 7}") "," SQL("between", "SELECT max(id) FROM t", "{\"between\": [1, 5]}") "," SQL(
		"none", "SELECT id, email FROM t WHERE id > 2",
		"{\"no_rows\": true}") "," SQL("some", "SELECT 1 FROM t",
					       "{\"min_rows\": 3}") "," SQL("empty",
									    "SELECT id FROM t "
									    "WHERE id < 0",
									    "{\"==\": 0}") "," SQL("null",
												   "SELECT NULL::int",
												   "{\"==\": 0}") "," SQL("text",
															  "SELECT 'abc'",
															  "{\"==\": 0}") "," SQL("slow",
																		 "SELECT pg_sleep(3)::text",
																		 "{\"==\": 0}"));
	/* secret columns are masked in sample rows */
	char *json2 = NULL;
	{
		char *p = strstr(json, "\"name\": \"none\"");
		ck_assert_ptr_nonnull(p);
		json2 = tu_fmt("%.*s\"secret_columns\": [\"email\"], %s", (int)(p - json), json, p);
	}
	struct ac_plan *plan;
	struct ac_result *r = tu_run_scenario(json2, 1, &plan);
	ck_assert_int_eq(tu_check(r, "count")->state, AC_STATE_PASS);
	const struct ac_check_result *b = tu_check(r, "between");
	ck_assert_int_eq(b->state, AC_STATE_FAIL);
	ck_assert_str_eq(b->reason, "value 7, expected between 1 and 5");
	const struct ac_check_result *n = tu_check(r, "none");
	ck_assert_int_eq(n->state, AC_STATE_FAIL);
	ck_assert_str_eq(n->reason, "5 rows, expected none");
	ck_assert_msg(strstr(n->last.evidence, "id=3, email=***") &&
			  !strstr(n->last.evidence, "example.com") &&
			  !strstr(n->last.evidence, "id=8"),
		      "%s", n->last.evidence);
	ck_assert_int_eq(tu_check(r, "some")->state, AC_STATE_PASS);
	ck_assert_str_eq(tu_check(r, "empty")->reason,
			 "no measurement: the query returned no rows");
	ck_assert_int_eq(tu_check(r, "empty")->state, AC_STATE_ERROR);
	ck_assert_str_eq(tu_check(r, "null")->reason, "no measurement: the first cell is NULL");
	ck_assert_ptr_nonnull(strstr(tu_check(r, "text")->reason, "is not a number"));
	const struct ac_check_result *s = tu_check(r, "slow");
	ck_assert_int_eq(s->state, AC_STATE_ERROR);
	ck_assert_msg(strstr(s->reason, "statement timeout"), "%s", s->reason);
	ck_assert_int_eq(r->verdict, AC_NOT_RESTORED);
	ac_result_destroy(r);
	ac_plan_destroy(plan);
	free(json);
	free(json2);
}
END_TEST

START_TEST(unreachable_silent_and_wrong_password)
{
	int port;
	int silent = tu_listen(&port); /* accepts into the backlog, never answers */
	int closed_port;
	close(tu_listen(&closed_port));
	char *more[7];
	for (int i = 0; i < 7; i++)
		more[i] = tu_fmt("{\"kind\": \"sql\", \"name\": \"s%d\", \"area\": \"data\", "
				 "\"owner\": \"o\", \"database\": \"%s\", \"query\": \"SELECT "
				 "1\", \"expect\": {\"==\": 1}}",
				 i, i < 5 ? "silent" : "refused");
	char *json = tu_fmt(
	    "{\"settings\": {\"rounds\": 1, \"confirm\": 1},"
	    " \"databases\": {\"silent\": {\"dsn\": \"host=127.0.0.1 port=%d dbname=x user=y\", "
	    "\"connect_timeout\": \"1s\"},"
	    "  \"refused\": \"host=127.0.0.1 port=%d dbname=x user=y\","
	    "  \"badpw\": \"host=127.0.0.1 port=%s dbname=%s user=%s password=wrong-canary-4411\"},"
	    " \"checks\": [{\"kind\": \"sql\", \"name\": \"s\", \"area\": \"data\", \"owner\": "
	    "\"o\", \"database\": \"silent\", \"query\": \"SELECT 1\", \"expect\": {\"==\": 1}},"
	    "  {\"kind\": \"sql\", \"name\": \"r\", \"area\": \"data\", \"owner\": \"o\", "
	    "\"database\": \"refused\", \"query\": \"SELECT 1\", \"expect\": {\"==\": 1}},"
	    "  {\"kind\": \"sql\", \"name\": \"p\", \"area\": \"data\", \"owner\": \"o\", "
	    "\"database\": \"badpw\", \"query\": \"SELECT 1\", \"expect\": {\"==\": 1}},"
	    /* More checks than the pool has connections: those still waiting
	     * for one fail with the first that cannot connect. */
	    "  %s, %s, %s, %s, %s, %s, %s]}",
	    port, closed_port, tu_env("AC_TEST_PG_PORT"), sql_dbname, tu_env("AC_TEST_PG_RO_USER"),
	    more[0], more[1], more[2], more[3], more[4], more[5], more[6]);
	int64_t t0 = tu_now_ms();
	struct ac_plan *plan;
	struct ac_result *r = tu_run_scenario(json, 1, &plan);
	ck_assert_int_lt(tu_now_ms() - t0, 5000);
	const struct ac_check_result *s = tu_check(r, "s");
	ck_assert_int_eq(s->state, AC_STATE_ERROR);
	ck_assert_msg(strstr(s->reason, "connect timeout after 1000 ms"), "%s", s->reason);
	ck_assert_int_eq(tu_check(r, "r")->state, AC_STATE_ERROR);
	ck_assert_msg(strstr(tu_check(r, "r")->reason, "Connection refused"), "%s",
		      tu_check(r, "r")->reason);
	for (int i = 0; i < 7; i++) {
		char id[8];
		snprintf(id, sizeof(id), "s%d", i);
		const struct ac_check_result *m = tu_check(r, id);
		ck_assert_int_eq(m->state, AC_STATE_ERROR);
		ck_assert_msg(strstr(m->reason, i < 5 ? "connect timeout after 1000 ms"
						      : "Connection refused"),
			      "%s: %s", id, m->reason);
		free(more[i]);
	}
	const struct ac_check_result *p = tu_check(r, "p");
	ck_assert_int_eq(p->state, AC_STATE_ERROR);
	ck_assert_msg(strstr(p->reason, "password authentication failed") ||
			  strstr(p->reason, "authentication"),
		      "%s", p->reason);
	ck_assert_int_eq(r->verdict, AC_INCONCLUSIVE);
	ac_result_destroy(r);
	ac_plan_destroy(plan);
	/* Through the binary: the DSN's password appears nowhere. */
	char *path = tu_write_temp(json, ".json");
	char *out = tu_fmt("%s.out.json", path);
	const char *args[] = {"check", path, "--json", out, NULL};
	struct tu_proc pr;
	tu_run(&pr, args, NULL, 30);
	ck_assert_int_eq(pr.exit_code, 2);
	char *rep = tu_read_file(out);
	TU_EXPECT(!strstr(pr.out, "wrong-canary") && !strstr(pr.err, "wrong-canary") &&
		      !strstr(rep, "wrong-canary"),
		  &pr, "the DSN password leaked");
	unlink(out);
	free(rep);
	free(out);
	free(path);
	tu_proc_release(&pr);
	close(silent);
	free(json);
}
END_TEST

/* Session-level advisory locks outlive the ROLLBACK and pile up on the
 * pooled connection, blocking job systems that use them: refused at load;
 * transaction-level ones end with the transaction and stay allowed (F10). */
START_TEST(session_advisory_locks_are_refused_at_load)
{
	const char *bad[][2] = {
	    {"SELECT pg_advisory_lock(42)", "pg_advisory_lock"},
	    {"SELECT 1 FROM (SELECT PG_TRY_ADVISORY_LOCK(1, 2)) s", "pg_try_advisory_lock"},
	    {"select pg_catalog.\"pg_advisory_lock_shared\"(1)", "pg_advisory_lock_shared"},
	    {"SELECT count(*) FROM t WHERE pg_try_advisory_lock_shared (id)",
	     "pg_try_advisory_lock_shared"},
	};
	for (size_t i = 0; i < AC_ARRAY_LEN(bad); i++) {
		char *c = sql_check("q", bad[i][0], "{\">=\": 0}");
		char *json = sql_scenario(c);
		char *e = tu_load_error(json);
		char *want = tu_fmt("checks[0].query: %s takes a session-level lock that ROLLBACK "
				    "does not release",
				    bad[i][1]);
		ck_assert_msg(strstr(e, want), "%s: %s", bad[i][0], e);
		free(want);
		free(e);
		free(json);
		free(c);
	}
	const char *good[] = {"SELECT pg_advisory_xact_lock(42)", "SELECT 'pg_advisory_lock(1)'",
			      "SELECT 1 -- pg_advisory_lock(1)\n",
			      "SELECT 1 AS pg_advisory_lock_count",
			      "SELECT $$pg_try_advisory_lock(1)$$"};
	for (size_t i = 0; i < AC_ARRAY_LEN(good); i++) {
		char *c = sql_check("q", good[i], "{\">=\": 0}");
		char *json = sql_scenario(c);
		struct ac_plan *plan = tu_load(json);
		ac_plan_destroy(plan);
		free(json);
		free(c);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sql");
	TCase *tc = tcase_create("sql");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, sql_setup, sql_teardown);
	tcase_add_test(tc, the_method_sees_writes);
	tcase_add_test(tc, write_attempts_are_refused_and_nothing_moves);
	tcase_add_test(tc, values_rows_and_expectations);
	tcase_add_test(tc, unreachable_silent_and_wrong_password);
	sql_queue_tests(tc);
	tcase_add_test(tc, session_advisory_locks_are_refused_at_load);
	suite_add_tcase(s, tc);
	TCase *tt = tcase_create("sql_trust");
	tcase_set_timeout(tt, 90);
	tcase_add_checked_fixture(tt, sql_setup, sql_teardown);
	sql_trust_tests(tt);
	TCase *td = tcase_create("sql_down");
	tcase_set_timeout(td, 120);
	sql_fault_tests(tt, td);
	suite_add_tcase(s, tt);
	suite_add_tcase(s, td);
	return tu_main(s);
}
