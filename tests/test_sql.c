/*
 * test_sql.c: read-only SQL checks and PostgreSQL queue presets against a
 * real PostgreSQL server (tests/servers.sh): the read-only proof, faults,
 * and every preset on tables made from the job systems' published layouts.
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
#include "testutil.h"

static char dbname[64];

static PGconn *su(const char *db)
{
	char *dsn = tu_fmt("%s dbname=%s", tu_env("AC_TEST_PG_DSN"), db);
	PGconn *c = PQconnectdb(dsn);
	free(dsn);
	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "postgres: %s", PQerrorMessage(c));
	return c;
}

static void exec(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK,
		      "%s: %s", sql, PQresultErrorMessage(r));
	PQclear(r);
}

static void setup(void)
{
	snprintf(dbname, sizeof(dbname), "allclear_sql_%d", (int)getpid());
	PGconn *c = su("postgres");
	exec(c, "SET client_min_messages TO warning");
	char *sql = tu_fmt("DROP DATABASE IF EXISTS %s", dbname);
	exec(c, sql);
	free(sql);
	sql = tu_fmt("CREATE DATABASE %s", dbname);
	exec(c, sql);
	free(sql);
	PQfinish(c);
	c = su(dbname);
	exec(c, "CREATE TABLE t (id int, note text, email text);"
		"INSERT INTO t SELECT i, 'note ' || i, 'user' || i || '@example.com' FROM "
		"generate_series(1, 7) i;"
		"CREATE FUNCTION evil() RETURNS int LANGUAGE plpgsql AS $$ BEGIN INSERT INTO t "
		"VALUES (99); RETURN 1; END $$;"
		"GRANT EXECUTE ON FUNCTION evil() TO PUBLIC;");
	PQfinish(c);
	setenv("AC_TEST_RO_PW", tu_env("AC_TEST_PG_RO_PASSWORD"), 1);
}

static void teardown(void)
{
	PGconn *c = su("postgres");
	char *sql = tu_fmt("DROP DATABASE IF EXISTS %s WITH (FORCE)", dbname);
	PQclear(PQexec(c, sql));
	free(sql);
	PQfinish(c);
}

/* A scenario on the test database as the read-only role; db_extra adds keys
 * to the database entry (", \"max_rows\": 3"). */
static char *scenario_with(const char *db_extra, const char *checks)
{
	return tu_fmt("{\"settings\": {\"rounds\": 1, \"confirm\": 1},"
		      " \"databases\": {\"db\": {\"dsn\": \"host=127.0.0.1 port=%s dbname=%s "
		      "user=%s password=${env:AC_TEST_RO_PW}\","
		      "   \"connect_timeout\": \"2s\"%s%s}},"
		      " \"checks\": [%s]}",
		      tu_env("AC_TEST_PG_PORT"), dbname, tu_env("AC_TEST_PG_RO_USER"),
		      strstr(db_extra, "statement_timeout") ? ""
							    : ", \"statement_timeout\": \"1s\"",
		      db_extra, checks);
}

static char *scenario(const char *checks)
{
	return scenario_with("", checks);
}

/* One sql check on database "db", the query escaped for JSON. */
static char *sql_check(const char *name, const char *query, const char *expect)
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

#define SQL(name, q, e)                                                                            \
	"{\"kind\": \"sql\", \"name\": \"" name "\", \"area\": \"data\", \"owner\": \"dba\", "     \
	"\"database\": \"db\", \"query\": \"" q "\", \"expect\": " e "}"

static long writes(void)
{
	PGconn *c = su(dbname);
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
	PGconn *c = su(dbname);
	exec(c, "BEGIN; INSERT INTO t VALUES (100); ROLLBACK");
	PQfinish(c);
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
		char *json = scenario(load_time[i]);
		char *e = tu_load_error(json);
		ck_assert_msg(strstr(e, "one statement only") || strstr(e, "must be a query"), "%s",
			      e);
		free(e);
		free(json);
	}
	/* Refused by the server inside the read-only transaction. */
	char *json = scenario(
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
	char *json = scenario(
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
	    port, closed_port, tu_env("AC_TEST_PG_PORT"), dbname, tu_env("AC_TEST_PG_RO_USER"),
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

/* --- queue presets ------------------------------------------------------------ */

struct want {
	double v[7]; /* depth, in_flight, retrying, dead, scheduled, oldest_age_s (>=), workers; -1
			= unavailable */
};

static void check_figures(const char *preset, const char *queue, const char *extra,
			  const struct want *w)
{
	char *c =
	    tu_fmt("{\"kind\": \"queue\", \"name\": \"q\", \"area\": \"jobs\", \"owner\": \"o\","
		   " \"preset\": \"%s\", \"queue\": \"%s\", \"database\": \"db\"%s}",
		   preset, queue, extra ? extra : "");
	char *json = scenario(c);
	struct ac_plan *plan;
	struct ac_result *r = tu_run_scenario(json, 1, &plan);
	const struct ac_check_result *cr = tu_check(r, "q");
	ck_assert_msg(cr->last.state == AC_STATE_PASS, "%s: %s", preset,
		      cr->last.reason ? cr->last.reason : "");
	ck_assert_int_eq(cr->last.nfigures, 7);
	for (int i = 0; i < 7; i++) {
		const struct ac_figure *f = &cr->last.figures[i];
		if (w->v[i] < 0) {
			ck_assert_msg(!f->has_value && f->note && *f->note,
				      "%s: %s should be unavailable with a reason", preset,
				      f->name);
		} else if (i == 5) {
			ck_assert_msg(
			    f->has_value && f->value >= w->v[i] && f->value < w->v[i] + 120,
			    "%s: oldest age %g, want about %g", preset, f->value, w->v[i]);
		} else {
			ck_assert_msg(f->has_value && f->value == w->v[i], "%s: %s = %g, want %g",
				      preset, f->name, f->has_value ? f->value : -1, w->v[i]);
		}
	}
	ac_result_destroy(r);
	ac_plan_destroy(plan);
	free(json);
	free(c);
}

START_TEST(preset_oban)
{
	PGconn *c = su(dbname);
	exec(c,
	     "CREATE TYPE oban_job_state AS ENUM "
	     "('available','suspended','scheduled','executing','retryable','completed','discarded',"
	     "'cancelled');"
	     "CREATE TABLE oban_jobs (id bigserial PRIMARY KEY, state oban_job_state NOT NULL "
	     "DEFAULT 'available', queue text NOT NULL DEFAULT 'default',"
	     " worker text NOT NULL, args jsonb NOT NULL DEFAULT '{}', attempt int NOT NULL "
	     "DEFAULT 0, max_attempts int NOT NULL DEFAULT 20,"
	     " inserted_at timestamp NOT NULL DEFAULT timezone('UTC', now()), scheduled_at "
	     "timestamptz NOT NULL DEFAULT now(), attempted_at timestamp, completed_at timestamp);"
	     "COMMENT ON TABLE oban_jobs IS '12';"
	     "INSERT INTO oban_jobs (state, queue, worker, scheduled_at) VALUES"
	     " ('available','mail','W', now() - interval '90 seconds'), ('available','mail','W', "
	     "now()), ('available','mail','W', now()),"
	     " ('executing','mail','W', now()), ('retryable','mail','W', now() + interval '1 "
	     "minute'), ('retryable','mail','W', now() + interval '1 minute'),"
	     " ('discarded','mail','W', now()), ('scheduled','mail','W', now() + interval '1 "
	     "hour'), ('completed','mail','W', now()), ('available','other','W', now() - interval "
	     "'1 day')");
	PQfinish(c);
	struct want w = {{3, 1, 2, 1, 1, 90, -1}};
	check_figures("oban", "mail", NULL, &w);
}
END_TEST

START_TEST(preset_good_job)
{
	PGconn *c = su(dbname);
	exec(c, "CREATE TABLE good_jobs (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), queue_name "
		"text, priority int, serialized_params jsonb,"
		" scheduled_at timestamptz, performed_at timestamptz, finished_at timestamptz, "
		"error text, created_at timestamptz NOT NULL DEFAULT now());"
		"INSERT INTO good_jobs (queue_name, serialized_params, scheduled_at, performed_at, "
		"finished_at, error) VALUES"
		" ('q', '{\"executions\": 0}', now() - interval '60 seconds', NULL, NULL, NULL),"
		" ('q', '{\"executions\": 0}', now(), NULL, NULL, NULL),"
		" ('q', '{\"executions\": 1}', now(), now(), NULL, NULL),"
		" ('q', '{\"executions\": 3}', now() + interval '5 minutes', NULL, NULL, 'boom'),"
		" ('q', '{\"executions\": 0}', now() + interval '1 hour', NULL, NULL, NULL),"
		" ('q', '{\"executions\": 1}', now(), now(), now(), 'dead'),"
		" ('q', '{\"executions\": 1}', now(), now(), now(), NULL)");
	PQfinish(c);
	struct want w = {{2, 1, 1, 1, 1, 60, -1}};
	check_figures("good_job", "q", NULL, &w);
}
END_TEST

START_TEST(preset_solid_queue)
{
	PGconn *c = su(dbname);
	exec(
	    c,
	    "CREATE TABLE solid_queue_jobs (id bigserial PRIMARY KEY, queue_name text NOT NULL, "
	    "class_name text NOT NULL DEFAULT 'J', arguments text,"
	    " priority int NOT NULL DEFAULT 0, scheduled_at timestamp, finished_at timestamp, "
	    "created_at timestamp NOT NULL DEFAULT now());"
	    "CREATE TABLE solid_queue_ready_executions (id bigserial PRIMARY KEY, job_id bigint "
	    "NOT NULL, queue_name text NOT NULL, priority int NOT NULL DEFAULT 0, created_at "
	    "timestamp NOT NULL DEFAULT now());"
	    "CREATE TABLE solid_queue_claimed_executions (id bigserial PRIMARY KEY, job_id bigint "
	    "NOT NULL, process_id bigint, created_at timestamp NOT NULL DEFAULT now());"
	    "CREATE TABLE solid_queue_failed_executions (id bigserial PRIMARY KEY, job_id bigint "
	    "NOT NULL, error text, created_at timestamp NOT NULL DEFAULT now());"
	    "CREATE TABLE solid_queue_scheduled_executions (id bigserial PRIMARY KEY, job_id "
	    "bigint NOT NULL, queue_name text NOT NULL, priority int NOT NULL DEFAULT 0, "
	    "scheduled_at timestamp NOT NULL, created_at timestamp NOT NULL DEFAULT now());"
	    "CREATE TABLE solid_queue_processes (id bigserial PRIMARY KEY, kind text NOT NULL, "
	    "last_heartbeat_at timestamp NOT NULL, pid int NOT NULL, hostname text, name text);"
	    "INSERT INTO solid_queue_jobs (queue_name) SELECT 'default' FROM generate_series(1, 6);"
	    "INSERT INTO solid_queue_ready_executions (job_id, queue_name, created_at) VALUES (1, "
	    "'default', now() - interval '30 seconds'), (2, 'default', now());"
	    "INSERT INTO solid_queue_claimed_executions (job_id) VALUES (3);"
	    "INSERT INTO solid_queue_failed_executions (job_id) VALUES (4), (5);"
	    "INSERT INTO solid_queue_scheduled_executions (job_id, queue_name, scheduled_at) "
	    "VALUES (6, 'default', now() + interval '1 hour');"
	    "INSERT INTO solid_queue_processes (kind, last_heartbeat_at, pid) VALUES ('Worker', "
	    "now(), 1), ('Worker', now() - interval '1 day', 2), ('Dispatcher', now(), 3)");
	PQfinish(c);
	struct want w = {{2, 1, -1, 2, 1, 30, 1}};
	check_figures("solid_queue", "default", NULL, &w);
}
END_TEST

START_TEST(preset_river)
{
	PGconn *c = su(dbname);
	exec(c, "CREATE TYPE river_job_state AS ENUM "
		"('available','cancelled','completed','discarded','pending','retryable','running','"
		"scheduled');"
		"CREATE TABLE river_job (id bigserial PRIMARY KEY, state river_job_state NOT NULL "
		"DEFAULT 'available', queue text NOT NULL DEFAULT 'default', kind text NOT NULL,"
		" attempt smallint NOT NULL DEFAULT 0, max_attempts smallint NOT NULL DEFAULT 25, "
		"created_at timestamptz NOT NULL DEFAULT now(), scheduled_at timestamptz NOT NULL "
		"DEFAULT now());"
		"INSERT INTO river_job (state, kind, scheduled_at) VALUES ('available','k', now() "
		"- interval '45 seconds'), ('running','k', now()), ('running','k', now()),"
		" ('retryable','k', now() + interval '10 seconds'), ('discarded','k', now()), "
		"('scheduled','k', now() + interval '1 hour'), ('pending','k', now()), "
		"('completed','k', now())");
	PQfinish(c);
	struct want w = {{1, 2, 1, 1, 2, 45, -1}};
	check_figures("river", "default", NULL, &w);
}
END_TEST

START_TEST(preset_que)
{
	PGconn *c = su(dbname);
	exec(c,
	     "CREATE TABLE que_jobs (priority smallint NOT NULL DEFAULT 100, run_at timestamptz "
	     "NOT NULL DEFAULT now(), id bigserial PRIMARY KEY,"
	     " job_class text NOT NULL, error_count int NOT NULL DEFAULT 0, last_error_message "
	     "text, queue text NOT NULL DEFAULT 'default',"
	     " last_error_backtrace text, finished_at timestamptz, expired_at timestamptz, args "
	     "jsonb NOT NULL DEFAULT '[]', data jsonb NOT NULL DEFAULT '{}',"
	     " job_schema_version int DEFAULT 1, kwargs jsonb NOT NULL DEFAULT '{}');"
	     "COMMENT ON TABLE que_jobs IS '7';"
	     "CREATE UNLOGGED TABLE que_lockers (pid int PRIMARY KEY, worker_count int NOT NULL, "
	     "worker_priorities int[] NOT NULL, ruby_pid int NOT NULL,"
	     " ruby_hostname text NOT NULL, queues text[] NOT NULL, listening boolean NOT NULL, "
	     "job_schema_version int DEFAULT 1);"
	     "INSERT INTO que_jobs (job_class, run_at, error_count, finished_at, expired_at) VALUES"
	     " ('J', now() - interval '20 seconds', 0, NULL, NULL), ('J', now(), 2, NULL, NULL),"
	     " ('J', now() + interval '1 hour', 0, NULL, NULL), ('J', now(), 15, NULL, now()), "
	     "('J', now(), 0, now(), NULL);"
	     "INSERT INTO que_lockers VALUES (1, 4, '{}', 10, 'h', '{default}', true, 1)");
	PQfinish(c);
	/* depth 2 (one of them retrying), nothing locked, one expired, one later */
	struct want w = {{2, 0, 1, 1, 1, 20, 1}};
	check_figures("que", "default", NULL, &w);
}
END_TEST

START_TEST(preset_delayed_job)
{
	PGconn *c = su(dbname);
	exec(c, "CREATE TABLE delayed_jobs (id bigserial PRIMARY KEY, priority int NOT NULL "
		"DEFAULT 0, attempts int NOT NULL DEFAULT 0, handler text NOT NULL,"
		" last_error text, run_at timestamp, locked_at timestamp, failed_at timestamp, "
		"locked_by text, queue text, created_at timestamp, updated_at timestamp);"
		"INSERT INTO delayed_jobs (handler, run_at, attempts, locked_at, failed_at, queue) "
		"VALUES"
		" ('h', now() - interval '2 minutes', 0, NULL, NULL, 'mail'), ('h', now(), 3, "
		"NULL, NULL, 'mail'),"
		" ('h', now(), 1, now(), NULL, 'mail'), ('h', now(), 25, NULL, now(), 'mail'), "
		"('h', now() + interval '1 hour', 0, NULL, NULL, 'mail'),"
		" ('h', now(), 0, NULL, NULL, NULL)");
	PQfinish(c);
	struct want w = {{2, 1, 1, 1, 1, 120, -1}};
	check_figures("delayed_job", "mail", NULL, &w);
}
END_TEST

START_TEST(preset_pgmq)
{
	PGconn *c = su(dbname);
	exec(c, "CREATE SCHEMA pgmq;"
		"CREATE TABLE pgmq.meta (queue_name varchar UNIQUE NOT NULL, is_partitioned "
		"boolean NOT NULL, is_unlogged boolean NOT NULL, created_at timestamptz NOT NULL "
		"DEFAULT now());"
		"CREATE TABLE pgmq.q_orders (msg_id bigint PRIMARY KEY GENERATED ALWAYS AS "
		"IDENTITY, read_ct int NOT NULL DEFAULT 0,"
		" enqueued_at timestamptz NOT NULL DEFAULT now(), vt timestamptz NOT NULL, message "
		"jsonb, headers jsonb);"
		"INSERT INTO pgmq.meta VALUES ('orders', false, false);"
		"INSERT INTO pgmq.q_orders (read_ct, enqueued_at, vt) VALUES (0, now() - interval "
		"'50 seconds', now() - interval '50 seconds'),"
		" (2, now(), now() - interval '1 second'), (1, now(), now() + interval '30 "
		"seconds'), (0, now(), now() + interval '10 minutes')");
	PQfinish(c);
	struct want w = {{2, 1, 1, -1, 1, 50, -1}};
	check_figures("pgmq", "orders", NULL, &w);
}
END_TEST

START_TEST(preset_pg_boss)
{
	PGconn *c = su(dbname);
	exec(c, "CREATE SCHEMA pgboss;"
		"CREATE TYPE pgboss.job_state AS ENUM "
		"('created','retry','active','completed','cancelled','failed');"
		"CREATE TABLE pgboss.job (id uuid NOT NULL DEFAULT gen_random_uuid(), name text "
		"NOT NULL, priority int NOT NULL DEFAULT 0, data jsonb,"
		" state pgboss.job_state NOT NULL DEFAULT 'created', retry_limit int NOT NULL "
		"DEFAULT 2, retry_count int NOT NULL DEFAULT 0,"
		" start_after timestamptz NOT NULL DEFAULT now(), started_on timestamptz, "
		"created_on timestamptz NOT NULL DEFAULT now(), completed_on timestamptz);"
		"INSERT INTO pgboss.job (name, state, start_after) VALUES ('email', 'created', "
		"now() - interval '75 seconds'), ('email', 'retry', now() - interval '1 second'),"
		" ('email', 'retry', now() + interval '1 minute'), ('email', 'active', now()), "
		"('email', 'failed', now()), ('email', 'created', now() + interval '1 hour'),"
		" ('email', 'completed', now()), ('sms', 'created', now())");
	PQfinish(c);
	/* ready: created+retry due now (2); scheduled: created/retry later (2) */
	struct want w = {{2, 1, 2, 1, 2, 75, -1}};
	check_figures("pg_boss", "email", NULL, &w);
}
END_TEST

START_TEST(preset_graphile_worker)
{
	PGconn *c = su(dbname);
	exec(c, "CREATE SCHEMA graphile_worker;"
		"CREATE TABLE graphile_worker.jobs (id bigserial PRIMARY KEY, queue_name text, "
		"task_identifier text NOT NULL, payload json DEFAULT '{}',"
		" priority int NOT NULL DEFAULT 0, run_at timestamptz NOT NULL DEFAULT now(), "
		"attempts int NOT NULL DEFAULT 0, max_attempts int NOT NULL DEFAULT 25,"
		" last_error text, created_at timestamptz NOT NULL DEFAULT now(), locked_at "
		"timestamptz, locked_by text);"
		"INSERT INTO graphile_worker.jobs (queue_name, task_identifier, run_at, attempts, "
		"max_attempts, locked_at) VALUES"
		" ('q', 't', now() - interval '30 seconds', 0, 25, NULL), ('q', 't', now() + "
		"interval '1 minute', 2, 25, NULL),"
		" ('q', 't', now(), 1, 25, now()), ('q', 't', now(), 25, 25, NULL), ('q', 't', "
		"now() + interval '1 hour', 0, 25, NULL)");
	PQfinish(c);
	struct want w = {{1, 1, 1, 1, 1, 30, -1}};
	check_figures("graphile_worker", "q", NULL, &w);
}
END_TEST

START_TEST(presets_pg_boss_and_graphile_worker_with_the_real_libraries)
{
	/* Both libraries create their own schemas in the database. */
	char *cmd = tu_fmt("NODE_PATH=%s node %s/tests/fixtures/pg_state.js %s/%s >/dev/null 2>&1",
			   tu_env("AC_TEST_NODE_MODULES"), tu_env("AC_SOURCE_ROOT"),
			   tu_env("AC_TEST_PG_SU_URL"), dbname);
	ck_assert_msg(system(cmd) == 0, "fixture failed: %s", cmd);
	free(cmd);
	struct want boss = {{2, 1, 1, 1, 3, 0, -1}};
	check_figures("pg_boss", "email", NULL, &boss);
	struct want gw = {{3, 0, 1, 1, 2, 0, -1}};
	check_figures("graphile_worker", "q", NULL, &gw);
}
END_TEST

START_TEST(queue_expectations_and_unavailable_figures)
{
	PGconn *c = su(dbname);
	exec(c, "CREATE TABLE delayed_jobs (id bigserial PRIMARY KEY, priority int NOT NULL "
		"DEFAULT 0, attempts int NOT NULL DEFAULT 0, handler text NOT NULL,"
		" last_error text, run_at timestamp, locked_at timestamp, failed_at timestamp, "
		"locked_by text, queue text);"
		"INSERT INTO delayed_jobs (handler, run_at, attempts, failed_at, queue) VALUES "
		"('h', now() - interval '10 minutes', 0, NULL, 'q'), ('h', now(), 2, NULL, 'q')");
	PQfinish(c);
	char *json = scenario(
	    "{\"kind\": \"queue\", \"name\": \"limits\", \"area\": \"jobs\", \"owner\": \"o\", "
	    "\"preset\": \"delayed_job\", \"queue\": \"q\", \"database\": \"db\","
	    " \"expect\": {\"max_depth\": 1, \"max_oldest_age\": \"5m\", \"max_retrying\": 5}},"
	    "{\"kind\": \"queue\", \"name\": \"workers\", \"area\": \"jobs\", \"owner\": \"o\", "
	    "\"preset\": \"delayed_job\", \"queue\": \"q\", \"database\": \"db\","
	    " \"expect\": {\"min_workers\": 1}}");
	struct ac_plan *plan;
	struct ac_result *r = tu_run_scenario(json, 1, &plan);
	const struct ac_check_result *l = tu_check(r, "limits");
	ck_assert_int_eq(l->state, AC_STATE_FAIL);
	ck_assert_msg(strstr(l->reason, "depth 2, at most 1") && strstr(l->reason, "oldest_age_s"),
		      "%s", l->reason);
	const struct ac_check_result *w = tu_check(r, "workers");
	ck_assert_int_eq(w->state, AC_STATE_ERROR);
	ck_assert_msg(
	    strstr(w->reason, "workers unavailable: delayed_job keeps no worker registry"), "%s",
	    w->reason);
	ac_result_destroy(r);
	ac_plan_destroy(plan);
	free(json);
	char *e =
	    tu_load_error("{\"databases\": {\"db\": \"host=x\"}, \"checks\": [{\"kind\": "
			  "\"queue\", \"name\": \"q\", \"area\": \"jobs\","
			  " \"owner\": \"o\", \"preset\": \"obaan\", \"database\": \"db\"}]}");
	ck_assert_msg(strstr(e, "unknown preset \"obaan\", did you mean \"oban\"?"), "%s", e);
	free(e);
}
END_TEST

/* A PostgreSQL preset's oldest job stamped hours ahead gives no age (F5). */
START_TEST(future_enqueue_time_is_no_age_in_postgres)
{
	PGconn *c = su(dbname);
	exec(c, "CREATE SCHEMA pgmq;"
		"CREATE TABLE pgmq.meta (queue_name varchar UNIQUE NOT NULL, is_partitioned "
		"boolean NOT NULL, is_unlogged boolean NOT NULL, created_at timestamptz NOT NULL "
		"DEFAULT now());"
		"CREATE TABLE pgmq.q_orders (msg_id bigint PRIMARY KEY GENERATED ALWAYS AS "
		"IDENTITY, read_ct int NOT NULL DEFAULT 0,"
		" enqueued_at timestamptz NOT NULL DEFAULT now(), vt timestamptz NOT NULL, message "
		"jsonb, headers jsonb);"
		"INSERT INTO pgmq.meta VALUES ('orders', false, false);"
		"INSERT INTO pgmq.q_orders (read_ct, enqueued_at, vt) VALUES (0, now() + interval "
		"'3 hours', now() - interval '1 second')");
	PQfinish(c);
	char *json =
	    scenario("{\"kind\": \"queue\", \"name\": \"q\", \"area\": \"jobs\", \"owner\": \"o\", "
		     "\"preset\": \"pgmq\", \"queue\": \"orders\", \"database\": \"db\","
		     " \"expect\": {\"max_oldest_age\": \"2m\"}}");
	struct ac_plan *plan;
	struct ac_result *r = tu_run_scenario(json, 1, &plan);
	const struct ac_check_result *q = tu_check(r, "q");
	ck_assert_msg(q->state == AC_STATE_ERROR, "state %d: %s", q->state,
		      q->reason ? q->reason : "");
	ck_assert_msg(strstr(q->reason, "oldest_age_s unavailable: oldest job's enqueued_at is 3 "
					"h in the future: clocks disagree?"),
		      "%s", q->reason);
	ac_result_destroy(r);
	ac_plan_destroy(plan);
	free(json);
}
END_TEST

/* A first cell from a secret column is not quoted in "is not a number" (F8). */
START_TEST(secret_first_cell_not_quoted_as_not_a_number)
{
	char *json = scenario(
	    "{\"kind\": \"sql\", \"name\": \"g\", \"area\": \"data\", \"owner\": \"o\", "
	    "\"database\": \"db\", \"query\": \"SELECT 'tok3nSecretXYZ' AS token, 5 AS n\", "
	    "\"secret_columns\": [\"token\"], \"expect\": {\"<=\": 100}},"
	    "{\"kind\": \"sql\", \"name\": \"plain\", \"area\": \"data\", \"owner\": \"o\", "
	    "\"database\": \"db\", \"query\": \"SELECT '0x10' AS h\", \"expect\": {\"<=\": 100}}");
	struct ac_plan *plan;
	struct ac_result *r = tu_run_scenario(json, 1, &plan);
	const struct ac_check_result *g = tu_check(r, "g");
	ck_assert_int_eq(g->state, AC_STATE_ERROR);
	ck_assert_str_eq(
	    g->reason, "no measurement: the first cell (secret column \"token\") is not a number");
	ck_assert_ptr_null(strstr(g->last.evidence ? g->last.evidence : "", "tok3n"));
	const struct ac_check_result *h = tu_check(r, "plain");
	ck_assert_int_eq(h->state, AC_STATE_ERROR);
	ck_assert_str_eq(h->reason, "no measurement: \"0x10\" is not a number");
	ac_result_destroy(r);
	ac_plan_destroy(plan);
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
		char *json = scenario(c);
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
		char *json = scenario(c);
		struct ac_plan *plan = tu_load(json);
		ac_plan_destroy(plan);
		free(json);
		free(c);
	}
}
END_TEST

/* --- result caps, edges of the expectations, the statement splitter -------------- */

static long status_kb(const char *key)
{
	FILE *f = fopen("/proc/self/status", "r");
	ck_assert_ptr_nonnull(f);
	char line[256];
	long v = -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, strlen(key)) == 0)
			v = strtol(line + strlen(key), NULL, 10);
	fclose(f);
	ck_assert_int_ge(v, 0);
	return v;
}

/* Run checks (a JSON list body) on "db" with db_extra; the caller destroys. */
static struct ac_result *run_checks(const char *db_extra, const char *const *checks, size_t n,
				    struct ac_plan **plan)
{
	struct ac_buf b = AC_BUF_INIT;
	for (size_t i = 0; i < n; i++)
		ac_buf_addf(&b, "%s%s", i ? "," : "", checks[i]);
	char *json = scenario_with(db_extra, b.buf);
	ac_buf_release(&b);
	struct ac_result *r = tu_run_scenario(json, 1, plan);
	free(json);
	return r;
}

static void expect_check(const struct ac_result *r, const char *id, enum ac_state st,
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

/* ASan keeps freed memory in quarantine, and the pool (4 connections)
 * reads up to 4 of these results at once: about 90 MB with a pool of 1,
 * 175 MB with 4 under ASan; 17 MB without it. */
#if defined(__SANITIZE_ADDRESS__)
#define PEAK_BOUND_KB (256 * 1024)
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PEAK_BOUND_KB (256 * 1024)
#endif
#endif
#ifndef PEAK_BOUND_KB
#define PEAK_BOUND_KB (32 * 1024)
#endif

START_TEST(result_caps_bound_memory)
{
	/* libpq reserves a buffer the size of a row it is told is coming; only
	 * the pages it fills count. meson's MALLOC_PERTURB_ would fill them
	 * all, which allclear's users do not do. */
	mallopt(M_PERTURB, 0);
	/* Reset the peak so that VmHWM is this test's peak. */
	FILE *f = fopen("/proc/self/clear_refs", "w");
	ck_assert_ptr_nonnull(f);
	fputs("5", f);
	fclose(f);
	long rss0 = status_kb("VmRSS:");
	char *c[] = {
	    sql_check("wide", "SELECT repeat('x', 300*1024*1024)", "{\"==\": 0}"),
	    sql_check("wide rows", "SELECT repeat('x', 100000) FROM generate_series(1, 3000)",
		      "{\"min_rows\": 1000}"),
	    sql_check("many none", "SELECT repeat('x', 1000) FROM generate_series(1, 2000000)",
		      "{\"no_rows\": true}"),
	    sql_check("many min", "SELECT repeat('x', 1000) FROM generate_series(1, 2000000)",
		      "{\"min_rows\": 10000}"),
	    sql_check("many value", "SELECT 1 FROM generate_series(1, 2000000)", "{\"==\": 1}"),
	    sql_check("after", "SELECT 1", "{\"==\": 1}"),
	};
	struct ac_plan *plan;
	int64_t t0 = tu_now_ms();
	struct ac_result *r =
	    run_checks(", \"statement_timeout\": \"20s\"", (const char *const *)c, 6, &plan);
	int64_t took = tu_now_ms() - t0;
	long peak = status_kb("VmHWM:");
	fprintf(stderr, "result caps: RSS before %ld kB, peak %ld kB, growth %ld kB, %lld ms\n",
		rss0, peak, peak - rss0, (long long)took);
	expect_check(r, "wide", AC_STATE_ERROR, "postgres \"db\": result too large (over 16 MiB)");
	expect_check(r, "wide rows", AC_STATE_ERROR,
		     "postgres \"db\": result too large (over 16 MiB)");
	expect_check(r, "many none", AC_STATE_FAIL, "more than 5 rows, expected none");
	ck_assert_ptr_nonnull(strstr(tu_check(r, "many none")->last.evidence, "xxxx"));
	expect_check(r, "many min", AC_STATE_PASS, NULL);
	expect_check(r, "many value", AC_STATE_PASS, NULL);
	expect_check(r, "after", AC_STATE_PASS, NULL);
	/* Without the caps: 3 GB. ASan keeps freed memory in quarantine. */
	ck_assert_int_lt(peak - rss0, PEAK_BOUND_KB);
	ac_result_destroy(r);
	ac_plan_destroy(plan);
	for (size_t i = 0; i < 6; i++)
		free(c[i]);
}
END_TEST

START_TEST(result_caps_are_settable)
{
	char *c[] = {
	    sql_check("rows ok", "SELECT 1 FROM generate_series(1, 50)", "{\"min_rows\": 3}"),
	    sql_check("value", "SELECT 7 FROM generate_series(1, 50)", "{\"==\": 7}"),
	    /* The server sends 8 KiB (a row and a half), then sleeps. */
	    sql_check("bytes",
		      "SELECT repeat('x', 5000) FROM generate_series(1, 3) UNION ALL SELECT "
		      "pg_sleep(0.5)::text",
		      "{\"min_rows\": 2}"),
	    sql_check("small", "SELECT repeat('x', 100)", "{\"min_rows\": 1}"),
	};
	struct ac_plan *plan;
	struct ac_result *r = run_checks(", \"max_rows\": 3, \"max_result_size\": \"4KiB\"",
					 (const char *const *)c, 4, &plan);
	expect_check(r, "rows ok", AC_STATE_PASS, NULL);
	expect_check(r, "value", AC_STATE_PASS, NULL);
	expect_check(r, "bytes", AC_STATE_ERROR, "postgres \"db\": result too large (over 4 KiB)");
	expect_check(r, "small", AC_STATE_PASS, NULL);
	ac_result_destroy(r);
	ac_plan_destroy(plan);
	/* min_rows above the cap cannot be decided: refused at load. */
	char *bad = sql_check("too many", "SELECT 1", "{\"min_rows\": 4}");
	char *json = scenario_with(", \"max_rows\": 3", bad);
	char *e = tu_load_error(json);
	ck_assert_msg(strstr(e, "checks[0].expect.min_rows: 4 is over the database's max_rows (3)"),
		      "%s", e);
	free(e);
	free(json);
	free(bad);
	for (size_t i = 0; i < 4; i++)
		free(c[i]);
}
END_TEST

/* A secret in a cell is masked before the cell is cut to 40 characters:
 * one that straddles the cut shows none of itself. */
START_TEST(secret_straddling_the_cell_cut_is_masked_whole)
{
	setenv("AC_T_CUT_SECRET", "sekrit-value-123", 1);
	char *c[] = {
	    sql_check("cut", "SELECT repeat('a', 35) || '${env:AC_T_CUT_SECRET}'", "{\"<=\": 1}"),
	};
	struct ac_plan *plan;
	struct ac_result *r = run_checks("", (const char *const *)c, 1, &plan);
	const struct ac_check_result *cr = tu_check(r, "cut");
	ck_assert_int_eq(cr->state, AC_STATE_ERROR);
	ck_assert_msg(strstr(cr->reason, "is not a number") && strstr(cr->reason, "***") &&
			  !strstr(cr->reason, "sekri"),
		      "%s", cr->reason);
	ac_result_destroy(r);
	ac_plan_destroy(plan);
	free(c[0]);
}
END_TEST

START_TEST(empty_null_and_min_rows_edges)
{
	char *c[] = {
	    sql_check("empty ne", "SELECT 1 WHERE false", "{\"!=\": 5}"),
	    sql_check("empty le", "SELECT 1 WHERE false", "{\"<=\": 0}"),
	    sql_check("empty between", "SELECT 1 WHERE false", "{\"between\": [-1, 1]}"),
	    sql_check("no columns", "SELECT FROM generate_series(1, 2)", "{\"==\": 0}"),
	    sql_check("null lt", "SELECT NULL::int", "{\"<\": 1}"),
	    sql_check("null between", "SELECT NULL::int, 0", "{\"between\": [-1, 1]}"),
	    sql_check("null later", "SELECT NULL::int UNION ALL SELECT 0", "{\"==\": 0}"),
	    sql_check("exactly n", "SELECT 1 FROM generate_series(1, 3)", "{\"min_rows\": 3}"),
	    sql_check("n minus 1", "SELECT 1 FROM generate_series(1, 2)", "{\"min_rows\": 3}"),
	    sql_check("n of one", "SELECT 1", "{\"min_rows\": 1}"),
	    sql_check("none of one", "SELECT 1 WHERE false", "{\"min_rows\": 1}"),
	    sql_check("one row", "SELECT 1", "{\"no_rows\": true}"),
	    sql_check("no rows", "SELECT 1 WHERE false", "{\"no_rows\": true}"),
	};
	size_t n = sizeof(c) / sizeof(c[0]);
	struct ac_plan *plan;
	struct ac_result *r = run_checks("", (const char *const *)c, n, &plan);
	const char *none = "no measurement: the query returned no rows";
	const char *null = "no measurement: the first cell is NULL";
	expect_check(r, "empty ne", AC_STATE_ERROR, none);
	expect_check(r, "empty le", AC_STATE_ERROR, none);
	expect_check(r, "empty between", AC_STATE_ERROR, none);
	ck_assert(!tu_check(r, "empty ne")->last.has_value);
	expect_check(r, "no columns", AC_STATE_ERROR,
		     "no measurement: the query returned no columns");
	expect_check(r, "null lt", AC_STATE_ERROR, null);
	expect_check(r, "null between", AC_STATE_ERROR, null);
	ck_assert(!tu_check(r, "null lt")->last.has_value);
	expect_check(r, "null later", AC_STATE_ERROR, null);
	expect_check(r, "exactly n", AC_STATE_PASS, NULL);
	expect_check(r, "n minus 1", AC_STATE_FAIL, "2 rows, expected at least 3");
	expect_check(r, "n of one", AC_STATE_PASS, NULL);
	expect_check(r, "none of one", AC_STATE_FAIL, "0 rows, expected at least 1");
	expect_check(r, "one row", AC_STATE_FAIL, "1 row, expected none");
	expect_check(r, "no rows", AC_STATE_PASS, NULL);
	ck_assert_int_eq(r->verdict, AC_NOT_RESTORED);
	ac_result_destroy(r);
	ac_plan_destroy(plan);
	for (size_t i = 0; i < n; i++)
		free(c[i]);
}
END_TEST

START_TEST(splitter_follows_the_postgres_lexer)
{
	/* One statement each, as PostgreSQL reads them. */
	static const char *const one[] = {
	    "SELECT length(E'\\';')",
	    "SELECT length(e'\\\\\\';')",
	    "SELECT 1 /* /* */ ; */",
	    "/* a /* b /* c */ ; */ ; */ SELECT 1",
	    "SELECT length($$;$$)",
	    "SELECT length($x$ $$ ; $$ $x$)",
	    "SELECT 'it''s;'",
	    "SELECT 1 AS \"a;\"\"b\"",
	    "SELECT 1 -- ; DELETE FROM t",
	    "SELECT 1;",
	    "SELECT 1; -- trailing comment",
	    "SELECT 1; /* trailing */ ",
	};
	for (size_t i = 0; i < sizeof(one) / sizeof(one[0]); i++)
		ck_assert_msg(ac_pg_single_statement(one[i]), "refused: %s", one[i]);
	/* Several statements: still refused. */
	static const char *const several[] = {
	    "SELECT 1; DELETE FROM t",
	    "SELECT E'\\\\'; DELETE FROM t",
	    "SELECT 'a\\'; DELETE FROM t",
	    "SELECT ae'x'; DELETE FROM t",
	    "/* /* */ ; */ SELECT 1; DELETE FROM t",
	    "SELECT $a$ x $a$; DELETE FROM t",
	    "SELECT 1 AS x$a$; DELETE FROM t -- $a$",
	    "SELECT 1; /* x */ DELETE FROM t",
	};
	for (size_t i = 0; i < sizeof(several) / sizeof(several[0]); i++)
		ck_assert_msg(!ac_pg_single_statement(several[i]), "accepted: %s", several[i]);
	/* And the server agrees: these run as one statement. */
	char *c[] = {
	    sql_check("e string", "SELECT length(E'\\';')", "{\"==\": 2}"),
	    sql_check("nested", "/* /* */ ; */ SELECT 3 /* /* */ ; */", "{\"==\": 3}"),
	    sql_check("backslash", "SELECT length(E'\\\\') + length('\\')", "{\"==\": 2}"),
	};
	struct ac_plan *plan;
	struct ac_result *r = run_checks("", (const char *const *)c, 3, &plan);
	expect_check(r, "e string", AC_STATE_PASS, NULL);
	expect_check(r, "nested", AC_STATE_PASS, NULL);
	expect_check(r, "backslash", AC_STATE_PASS, NULL);
	ac_result_destroy(r);
	ac_plan_destroy(plan);
	for (size_t i = 0; i < 3; i++)
		free(c[i]);
	/* Refused at load, with the reason. */
	char *bad = sql_check("b", "SELECT E'\\\\'; DELETE FROM t", "{\"==\": 0}");
	char *json = scenario(bad);
	char *e = tu_load_error(json);
	ck_assert_msg(strstr(e, "one statement only"), "%s", e);
	free(e);
	free(json);
	free(bad);
}
END_TEST

START_TEST(role_without_select_and_role_that_can_write)
{
	/* Roles are the cluster's: named after this process, dropped at the end. */
	int pid = (int)getpid();
	PGconn *c = su(dbname);
	char *sql = tu_fmt("SET client_min_messages TO warning;"
			   "DROP ROLE IF EXISTS ac_np_%d; DROP ROLE IF EXISTS ac_wr_%d;"
			   "CREATE ROLE ac_np_%d LOGIN PASSWORD 'np-pw';"
			   "CREATE ROLE ac_wr_%d LOGIN PASSWORD 'wr-pw';"
			   "GRANT SELECT, INSERT ON t TO ac_wr_%d",
			   pid, pid, pid, pid, pid);
	exec(c, sql);
	free(sql);
	PQfinish(c);
	const char *port = tu_env("AC_TEST_PG_PORT");
	char *json = tu_fmt(
	    "{\"settings\": {\"rounds\": 1, \"confirm\": 1}, \"databases\": {"
	    " \"np\": \"host=127.0.0.1 port=%s dbname=%s user=ac_np_%d password=np-pw\","
	    " \"wr\": \"host=127.0.0.1 port=%s dbname=%s user=ac_wr_%d password=wr-pw\","
	    " \"su\": \"host=127.0.0.1 port=%s dbname=%s user=postgres password=su-secret\","
	    " \"ro\": \"host=127.0.0.1 port=%s dbname=%s user=%s password=${env:AC_TEST_RO_PW}\"},"
	    " \"checks\": ["
	    "{\"kind\": \"sql\", \"name\": \"np\", \"area\": \"data\", \"owner\": \"o\", "
	    "\"database\": \"np\", \"query\": \"SELECT count(*) FROM t\", \"expect\": {\"==\": 7}},"
	    "{\"kind\": \"sql\", \"name\": \"wr\", \"area\": \"data\", \"owner\": \"o\", "
	    "\"database\": \"wr\", \"query\": \"SELECT count(*) FROM t\", \"expect\": {\"==\": 7}},"
	    "{\"kind\": \"sql\", \"name\": \"wr fail\", \"area\": \"data\", \"owner\": \"o\", "
	    "\"database\": \"wr\", \"query\": \"SELECT count(*) FROM t\", \"expect\": {\"==\": 1}},"
	    "{\"kind\": \"sql\", \"name\": \"su\", \"area\": \"data\", \"owner\": \"o\", "
	    "\"database\": \"su\", \"query\": \"SELECT count(*) FROM t\", \"expect\": {\"==\": 7}},"
	    "{\"kind\": \"sql\", \"name\": \"ro\", \"area\": \"data\", \"owner\": \"o\", "
	    "\"database\": \"ro\", \"query\": \"SELECT count(*) FROM t\", \"expect\": {\"==\": 7}}"
	    "]}",
	    port, dbname, pid, port, dbname, pid, port, dbname, port, dbname,
	    tu_env("AC_TEST_PG_RO_USER"));
	struct ac_plan *plan;
	struct ac_result *r = tu_run_scenario(json, 1, &plan);
	const struct ac_check_result *np = tu_check(r, "np");
	ck_assert_int_eq(np->last.state, AC_STATE_ERROR);
	ck_assert_msg(strstr(np->last.reason, "permission denied for table t"), "%s",
		      np->last.reason);
	/* Write grants: a warning in the evidence, never a failure. */
	const struct ac_check_result *wr = tu_check(r, "wr");
	ck_assert_int_eq(wr->last.state, AC_STATE_PASS);
	ck_assert_msg(wr->last.evidence &&
			  strcmp(wr->last.evidence, "warning: the role can write (INSERT on t): "
						    "give allclear a read-only role\n") == 0,
		      "%s", wr->last.evidence ? wr->last.evidence : "(none)");
	const struct ac_check_result *wf = tu_check(r, "wr fail");
	ck_assert_int_eq(wf->last.state, AC_STATE_FAIL);
	ck_assert_msg(strncmp(wf->last.evidence, "warning: the role can write (INSERT on t)", 41) ==
			      0 &&
			  strstr(wf->last.evidence, "count=7"),
		      "%s", wf->last.evidence);
	const struct ac_check_result *sup = tu_check(r, "su");
	ck_assert_int_eq(sup->last.state, AC_STATE_PASS);
	ck_assert_msg(
	    sup->last.evidence &&
		strncmp(sup->last.evidence, "warning: the role can write (is a superuser", 43) == 0,
	    "%s", sup->last.evidence ? sup->last.evidence : "(none)");
	const struct ac_check_result *ro = tu_check(r, "ro");
	ck_assert_int_eq(ro->last.state, AC_STATE_PASS);
	ck_assert_msg(!ro->last.evidence, "%s", ro->last.evidence);
	ck_assert_int_eq(r->verdict, AC_NOT_RESTORED);
	ac_result_destroy(r);
	ac_plan_destroy(plan);
	free(json);
	c = su(dbname);
	sql =
	    tu_fmt("DROP OWNED BY ac_wr_%d; DROP ROLE ac_np_%d; DROP ROLE ac_wr_%d", pid, pid, pid);
	exec(c, sql);
	free(sql);
	PQfinish(c);
}
END_TEST

START_TEST(server_notices_are_not_printed)
{
	PGconn *c = su(dbname);
	exec(c, "CREATE FUNCTION noisy() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RAISE WARNING "
		"'canary-notice-7731'; RETURN 1; END $$");
	PQfinish(c);
	char *chk = sql_check("noisy", "SELECT noisy()", "{\"==\": 1}");
	char *json = scenario(chk);
	char *path = tu_write_temp(json, ".json");
	const char *args[] = {"check", path, NULL};
	const char *env[] = {"AC_TEST_RO_PW=ro-secret", NULL};
	struct tu_proc pr;
	tu_run(&pr, args, env, 30);
	TU_EXPECT(pr.exit_code == 0, &pr, "exit %d", pr.exit_code);
	TU_EXPECT(!strstr(pr.out, "canary-notice") && !strstr(pr.err, "canary-notice"), &pr,
		  "a server notice was printed");
	tu_proc_release(&pr);
	free(path);
	free(json);
	free(chk);
}
END_TEST

/* --- a pool of connections per database ------------------------------------------- */

/* After its sleep, each query counts the allclear backends running one of
 * these queries (itself included), as the server sees them. */
#define POOL_QUERY                                                                                 \
	"SELECT (SELECT count(*) FROM pg_stat_activity WHERE application_name = 'allclear' AND "   \
	"state = 'active' AND query LIKE '%ac-pool%') FROM pg_sleep(0.35) /* ac-pool */"

struct pool_round {
	double most_at_once;  /* the largest count a query saw */
	int64_t longest_ms;   /* the longest sample */
	int64_t longest_wait; /* the longest wait the evidence tells of */
	int waits;	      /* samples whose evidence tells of a wait */
};

/* Five slow queries in one round on "db" with db_extra. */
static struct pool_round run_pool_round(const char *db_extra, int pool_size)
{
	char *c[5];
	for (int i = 0; i < 5; i++) {
		char name[16];
		snprintf(name, sizeof(name), "slow%d", i);
		c[i] = sql_check(name, POOL_QUERY, "{\">=\": 1}");
	}
	struct ac_plan *plan;
	struct ac_result *r = run_checks(db_extra, (const char *const *)c, 5, &plan);
	struct pool_round pr = {0};
	char *note = tu_fmt("for a free connection (pool of %d)", pool_size);
	for (int i = 0; i < 5; i++) {
		char id[16];
		snprintf(id, sizeof(id), "slow%d", i);
		const struct ac_sample *s = &tu_check(r, id)->last;
		ck_assert_msg(s->state == AC_STATE_PASS && s->has_value, "%s: %s (%s)", id,
			      ac_state_name(s->state), s->reason ? s->reason : "");
		fprintf(stderr, "pool of %d: %s: %lld ms, saw %g at once%s%s", pool_size, id,
			(long long)s->duration_ms, s->value, s->evidence ? ", " : "\n",
			s->evidence ? s->evidence : "");
		if (s->value > pr.most_at_once)
			pr.most_at_once = s->value;
		if (s->duration_ms > pr.longest_ms)
			pr.longest_ms = s->duration_ms;
		long long waited;
		if (s->evidence && strstr(s->evidence, note) &&
		    sscanf(s->evidence, "waited %lld ms for a free connection", &waited) == 1) {
			pr.waits++;
			if (waited > pr.longest_wait)
				pr.longest_wait = waited;
		}
	}
	free(note);
	ac_result_destroy(r);
	ac_plan_destroy(plan);
	for (int i = 0; i < 5; i++)
		free(c[i]);
	return pr;
}

START_TEST(slow_queries_run_side_by_side)
{
	/* The default pool (4): the queries overlap on the server, and the one
	 * that waited for a connection says so; no sample counts the wait as its
	 * own time (one at a time they took 0.35, 0.7, 1.05, 1.4, 1.75 s). */
	struct pool_round p4 = run_pool_round("", 4);
	ck_assert_msg(p4.most_at_once >= 2, "never two queries at once");
	ck_assert_int_lt(p4.longest_ms, 700);
	ck_assert_int_eq(p4.waits, 1);
	ck_assert_int_ge(p4.longest_wait, 340);
	/* A pool of one: one query at a time, yet each sample is its query's
	 * own time; the last one waited for the four before it. */
	struct pool_round p1 = run_pool_round(", \"pool_size\": 1", 1);
	ck_assert_msg(p1.most_at_once == 1, "%g at once in a pool of 1", p1.most_at_once);
	ck_assert_int_lt(p1.longest_ms, 700);
	ck_assert_int_eq(p1.waits, 4);
	ck_assert_int_ge(p1.longest_wait, 4 * 350);
}
END_TEST

START_TEST(a_check_that_never_gets_a_connection_says_so)
{
	/* Pool of 1: "hog" holds the connection for 1.5 s; "starved" is due
	 * after 1 s, still waiting. */
	char *hog = sql_check("hog", "SELECT 1 FROM pg_sleep(1.5)", "{\"==\": 1}");
	char *st = sql_check("starved", "SELECT 1", "{\"==\": 1}");
	char *starved = tu_fmt("{\"timeout\": \"1s\", %s", st + 1);
	const char *c[] = {hog, starved};
	struct ac_plan *plan;
	struct ac_result *r =
	    run_checks(", \"pool_size\": 1, \"statement_timeout\": \"5s\"", c, 2, &plan);
	expect_check(r, "hog", AC_STATE_PASS, NULL);
	expect_check(r, "starved", AC_STATE_ERROR,
		     "no free connection to the database before the deadline");
	const char *ev = tu_check(r, "starved")->last.evidence;
	ck_assert_msg(ev && ac_starts_with(ev, "waited ") &&
			  strstr(ev, " ms for a free connection (pool of 1)"),
		      "%s", ev ? ev : "(no evidence)");
	ac_result_destroy(r);
	ac_plan_destroy(plan);
	free(hog);
	free(st);
	free(starved);
}
END_TEST

START_TEST(pool_size_is_checked_at_load)
{
	const char *bad[] = {"0", "33", "-1", "2.5", "\"4\""};
	for (size_t i = 0; i < AC_ARRAY_LEN(bad); i++) {
		char *extra = tu_fmt(", \"pool_size\": %s", bad[i]);
		char *c = sql_check("one", "SELECT 1", "{\"==\": 1}");
		char *json = scenario_with(extra, c);
		char *e = tu_load_error(json);
		const char *want =
		    i < 3 ? "databases.db.pool_size: expected a whole number from 1 to 32"
			  : "databases.db.pool_size: expected a whole number";
		ck_assert_msg(strstr(e, want), "%s: %s", bad[i], e);
		free(e);
		free(json);
		free(c);
		free(extra);
	}
}
END_TEST

/* --- faults: the server goes away, freezes, or will not speak TLS ---------------- */

/* A throwaway cluster of our own (the shared one stays up). */
static char down_dir[512];
static int down_port;

static void as_postgres(const char *cmd)
{
	char *full = getuid() == 0
			 ? tu_fmt("runuser -u postgres -- sh -c '%s' >/dev/null 2>&1", cmd)
			 : tu_fmt("sh -c '%s' >/dev/null 2>&1", cmd);
	int rc = system(full);
	ck_assert_msg(rc == 0, "failed: %s", full);
	free(full);
}

static const char *pg_bin(void)
{
	static char bin[256];
	const char *e = getenv("PGBIN");
	if (e)
		return e;
	glob_t g;
	ck_assert_int_eq(glob("/usr/lib/postgresql/*/bin", 0, NULL, &g), 0);
	snprintf(bin, sizeof(bin), "%s", g.gl_pathv[g.gl_pathc - 1]);
	globfree(&g);
	return bin;
}

static void down_ctl(const char *what)
{
	char *cmd;
	if (strcmp(what, "start") == 0)
		cmd = tu_fmt(
		    "%s/pg_ctl -D %s/data -l %s/log -w -t 30 -o \"-p %d -c "
		    "listen_addresses=127.0.0.1 -c unix_socket_directories=%s -c fsync=off -c "
		    "ssl=on -c ssl_cert_file=%s/server.crt -c ssl_key_file=%s/server.key\" "
		    "start",
		    pg_bin(), down_dir, down_dir, down_port, down_dir, down_dir, down_dir);
	else
		cmd = tu_fmt("%s/pg_ctl -D %s/data -m immediate -w -t 30 stop", pg_bin(), down_dir);
	as_postgres(cmd);
	free(cmd);
}

static PGconn *down_su(void)
{
	char *dsn = tu_fmt("host=127.0.0.1 port=%d user=postgres dbname=postgres", down_port);
	PGconn *c = PQconnectdb(dsn);
	free(dsn);
	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "postgres: %s", PQerrorMessage(c));
	return c;
}

static void down_setup(void)
{
	down_port = (int)strtol(tu_env("AC_TEST_PG_PORT"), NULL, 10) + 5;
	snprintf(down_dir, sizeof(down_dir), "%s/down-%d", tu_env("AC_TEST_STATE"), (int)getpid());
	ck_assert_int_eq(mkdir(down_dir, 0755), 0);
	if (getuid() == 0) {
		struct passwd *pw = getpwnam("postgres");
		ck_assert_ptr_nonnull(pw);
		ck_assert_int_eq(chown(down_dir, pw->pw_uid, pw->pw_gid), 0);
	}
	char *cmd = tu_fmt("%s/initdb -D %s/data -U postgres --auth=trust --no-sync -E UTF8",
			   pg_bin(), down_dir);
	as_postgres(cmd);
	free(cmd);
	/* TLS on this one, with a throwaway self-signed certificate. */
	cmd = tu_fmt("openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 1 "
		     "-keyout %s/server.key -out %s/server.crt && chmod 600 %s/server.key",
		     down_dir, down_dir, down_dir);
	as_postgres(cmd);
	free(cmd);
	down_ctl("start");
	PGconn *c = down_su();
	exec(c, "CREATE TABLE k (v int); INSERT INTO k VALUES (1)");
	PQfinish(c);
}

static void down_teardown(void)
{
	char *cmd = tu_fmt("%s/pg_ctl -D %s/data -m immediate -w -t 30 stop; rm -rf %s", pg_bin(),
			   down_dir, down_dir);
	if (getuid() == 0) {
		char *full = tu_fmt("runuser -u postgres -- sh -c '%s' >/dev/null 2>&1", cmd);
		(void)!system(full);
		free(full);
	} else {
		(void)!system(cmd);
	}
	free(cmd);
	char *rm = tu_fmt("rm -rf %s", down_dir);
	(void)!system(rm);
	free(rm);
}

struct down_script {
	int nrounds;
	enum ac_state state[8];
	char *reason[8];
	double value[8];
	bool has_value[8];
	const char *action[8]; /* after round i: "stop", "start5" (start, then v = 5) */
};

static void on_down_round(const struct ac_result *res, int64_t left, void *ud)
{
	struct down_script *ds = ud;
	(void)left;
	int i = ds->nrounds++;
	ck_assert_int_lt(i, 8);
	const struct ac_sample *s = &res->checks[0].last;
	ds->state[i] = s->state;
	ds->reason[i] = s->reason ? ac_strdup(s->reason) : NULL;
	ds->value[i] = s->value;
	ds->has_value[i] = s->has_value;
	const char *a = ds->action[i];
	if (a && strcmp(a, "stop") == 0) {
		down_ctl("stop");
	} else if (a && strcmp(a, "start5") == 0) {
		down_ctl("start");
		PGconn *c = down_su();
		exec(c, "UPDATE k SET v = 5");
		PQfinish(c);
	}
}

static struct ac_result *run_down(struct down_script *ds, int rounds, struct ac_plan **plan)
{
	char *json = tu_fmt(
	    "{\"settings\": {\"rounds\": %d, \"confirm\": 1, \"interval\": \"100ms\"},"
	    " \"databases\": {\"d\": {\"dsn\": \"host=127.0.0.1 port=%d user=postgres "
	    "dbname=postgres\", \"connect_timeout\": \"2s\"}},"
	    " \"checks\": [{\"kind\": \"sql\", \"name\": \"v\", \"area\": \"data\", \"owner\": "
	    "\"o\", \"database\": \"d\", \"query\": \"SELECT v FROM k\", \"expect\": {\"==\": "
	    "1}}]}",
	    rounds, down_port);
	*plan = tu_load(json);
	free(json);
	struct ac_run_opts ro = {.mode = AC_MODE_CHECK, .on_round = on_down_round, .ud = ds};
	struct ac_error err = {0};
	struct ac_result *r = ac_engine_run(*plan, &ro, &err);
	ck_assert_msg(r != NULL, "engine: %s", err.msg);
	ck_assert_int_eq(ds->nrounds, rounds);
	return r;
}

static bool lost_or_refused(const char *why)
{
	return why && strncmp(why, "postgres \"d\": ", 14) == 0 &&
	       (strstr(why, "connection lost") || strstr(why, "Connection refused") ||
		strstr(why, "terminating connection") ||
		strstr(why, "server closed the connection"));
}

START_TEST(postgres_stopped_mid_window)
{
	/* Up, then stopped between rounds: every later round is ERROR, and the
	 * run is INCONCLUSIVE, never RESTORED on the first round's answer. */
	struct down_script a = {.action = {"stop"}};
	struct ac_plan *plan;
	struct ac_result *r = run_down(&a, 3, &plan);
	ck_assert_int_eq(a.state[0], AC_STATE_PASS);
	for (int i = 1; i < 3; i++) {
		ck_assert_msg(a.state[i] == AC_STATE_ERROR && lost_or_refused(a.reason[i]) &&
				  !a.has_value[i],
			      "round %d: %s (%s)", i + 1, ac_state_name(a.state[i]),
			      a.reason[i] ? a.reason[i] : "");
	}
	fprintf(stderr, "stopped mid-window: round 2: %s; round 3: %s\n", a.reason[1], a.reason[2]);
	ck_assert_int_eq(r->verdict, AC_INCONCLUSIVE);
	ac_result_destroy(r);
	ac_plan_destroy(plan);
	for (int i = 0; i < a.nrounds; i++)
		free(a.reason[i]);
	/* Back up with other data: the reconnect reads it afresh. */
	down_ctl("start");
	struct down_script b = {.action = {"stop", "start5"}};
	r = run_down(&b, 3, &plan);
	ck_assert_int_eq(b.state[0], AC_STATE_PASS);
	ck_assert_msg(b.state[1] == AC_STATE_ERROR && lost_or_refused(b.reason[1]), "%s",
		      b.reason[1] ? b.reason[1] : "");
	ck_assert_msg(b.state[2] == AC_STATE_FAIL && b.has_value[2] && b.value[2] == 5, "%s %g",
		      ac_state_name(b.state[2]), b.value[2]);
	ck_assert_int_ne(r->verdict, AC_RESTORED);
	ac_result_destroy(r);
	ac_plan_destroy(plan);
	for (int i = 0; i < b.nrounds; i++)
		free(b.reason[i]);
}
END_TEST

START_TEST(caps_and_rows_over_tls)
{
	/* The gate moves TLS records, not rows: the same answers over TLS. */
	const char *qs[][3] = {
	    {"wide", "SELECT repeat('x', 300*1024*1024)", "{\"==\": 0}"},
	    {"big row", "SELECT 1, repeat('x', 3*1024*1024)", "{\"==\": 1}"},
	    {"many", "SELECT repeat('x', 1000) FROM generate_series(1, 200000)",
	     "{\"min_rows\": 5000}"},
	    {"few", "SELECT 1 FROM generate_series(1, 3)", "{\"min_rows\": 3}"},
	    {"tls", "SELECT ssl::int FROM pg_stat_ssl WHERE pid = pg_backend_pid()", "{\"==\": 1}"},
	};
	struct ac_buf b = AC_BUF_INIT;
	for (size_t i = 0; i < 5; i++) {
		cJSON *js = cJSON_CreateString(qs[i][1]);
		char *q = cJSON_PrintUnformatted(js);
		cJSON_Delete(js);
		ac_buf_addf(
		    &b,
		    "%s{\"kind\": \"sql\", \"name\": \"%s\", \"area\": \"data\", \"owner\": "
		    "\"o\", \"database\": \"d\", \"query\": %s, \"expect\": %s}",
		    i ? "," : "", qs[i][0], q, qs[i][2]);
		cJSON_free(q);
	}
	char *json =
	    tu_fmt("{\"settings\": {\"rounds\": 1, \"confirm\": 1}, \"databases\": {\"d\": "
		   "{\"dsn\": \"host=127.0.0.1 port=%d user=postgres dbname=postgres "
		   "sslmode=require\", \"statement_timeout\": \"20s\"}}, \"checks\": [%s]}",
		   down_port, b.buf);
	ac_buf_release(&b);
	struct ac_plan *plan;
	struct ac_result *r = tu_run_scenario(json, 1, &plan);
	expect_check(r, "wide", AC_STATE_ERROR, "postgres \"d\": result too large (over 16 MiB)");
	expect_check(r, "big row", AC_STATE_PASS, NULL);
	expect_check(r, "many", AC_STATE_PASS, NULL);
	expect_check(r, "few", AC_STATE_PASS, NULL);
	expect_check(r, "tls", AC_STATE_PASS, NULL);
	ac_result_destroy(r);
	ac_plan_destroy(plan);
	free(json);
}
END_TEST

/* In a child: find the allclear backend running the marked query, SIGSTOP
 * it, and SIGCONT it when the parent closes the pipe (or after 20 s). */
static pid_t freezer(int *pipe_w)
{
	int fds[2];
	ck_assert_int_eq(pipe(fds), 0);
	pid_t child = fork();
	ck_assert_int_ge(child, 0);
	if (child > 0) {
		close(fds[0]);
		*pipe_w = fds[1];
		return child;
	}
	close(fds[1]);
	char *dsn = tu_fmt("%s dbname=%s", tu_env("AC_TEST_PG_DSN"), dbname);
	PGconn *c = PQconnectdb(dsn);
	free(dsn);
	int backend = 0;
	for (int i = 0; i < 500 && !backend && PQstatus(c) == CONNECTION_OK; i++) {
		PGresult *r =
		    PQexec(c, "SELECT pid FROM pg_stat_activity WHERE application_name = "
			      "'allclear' AND state = 'active' AND query LIKE '%ac-freeze%'");
		if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
			backend = (int)strtol(PQgetvalue(r, 0, 0), NULL, 10);
		PQclear(r);
		if (!backend)
			usleep(10000);
	}
	PQfinish(c);
	if (!backend || kill(backend, SIGSTOP) != 0)
		_exit(1);
	struct pollfd p = {.fd = fds[0], .events = POLLIN};
	poll(&p, 1, 20000);
	kill(backend, SIGCONT);
	_exit(0);
}

START_TEST(backend_frozen_mid_query)
{
	int pipe_w;
	pid_t child = freezer(&pipe_w);
	char *c = sql_check("frozen", "SELECT 1 FROM pg_sleep(1.5) /* ac-freeze */", "{\"==\": 1}");
	/* The check's own deadline: 3 s. */
	char *c3 = tu_fmt("{\"timeout\": \"3s\", %s", c + 1);
	free(c);
	c = c3;
	/* Started with it, due before it: the frozen connection is the only
	 * one it takes down; the others go on. */
	char *quick = sql_check("quick", "SELECT 1 FROM pg_sleep(0.2)", "{\"==\": 1}");
	char *q2 = tu_fmt("{\"timeout\": \"2s\", %s", quick + 1);
	free(quick);
	quick = q2;
	char *json =
	    tu_fmt("{\"settings\": {\"rounds\": 1, \"confirm\": 1},"
		   " \"databases\": {\"db\": {\"dsn\": \"host=127.0.0.1 port=%s dbname=%s "
		   "user=%s password=${env:AC_TEST_RO_PW}\", \"statement_timeout\": "
		   "\"30s\"}}, \"checks\": [%s, %s]}",
		   tu_env("AC_TEST_PG_PORT"), dbname, tu_env("AC_TEST_PG_RO_USER"), c, quick);
	int64_t t0 = tu_now_ms();
	struct ac_plan *plan;
	struct ac_result *r = tu_run_scenario(json, 1, &plan);
	int64_t took = tu_now_ms() - t0;
	close(pipe_w);
	int st;
	ck_assert_int_eq(waitpid(child, &st, 0), child);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "the backend was not found and frozen");
	const struct ac_check_result *cr = tu_check(r, "frozen");
	fprintf(stderr, "frozen backend: %s after %lld ms\n", cr->last.reason, (long long)took);
	ck_assert_int_eq(cr->last.state, AC_STATE_ERROR);
	ck_assert_msg(strstr(cr->last.reason, "before the deadline"), "%s", cr->last.reason);
	ck_assert_int_ge(took, 2900);
	ck_assert_int_lt(took, 5000);
	expect_check(r, "quick", AC_STATE_PASS, NULL);
	ck_assert_int_eq(r->verdict, AC_INCONCLUSIVE);
	ac_result_destroy(r);
	ac_plan_destroy(plan);
	free(json);
	free(c);
	free(quick);
}
END_TEST

START_TEST(verify_full_against_a_server_without_tls)
{
	for (int i = 0; i < 2; i++) {
		const char *mode = i ? "require" : "verify-full";
		char *json = tu_fmt(
		    "{\"settings\": {\"rounds\": 1, \"confirm\": 1}, \"databases\": {\"db\": "
		    "\"host=127.0.0.1 port=%s dbname=%s user=%s password=${env:AC_TEST_RO_PW} "
		    "sslmode=%s\"}, \"checks\": [{\"kind\": \"sql\", \"name\": \"tls\", \"area\": "
		    "\"data\", \"owner\": \"o\", \"database\": \"db\", \"query\": \"SELECT 1\", "
		    "\"expect\": {\"==\": 1}}]}",
		    tu_env("AC_TEST_PG_PORT"), dbname, tu_env("AC_TEST_PG_RO_USER"), mode);
		struct ac_plan *plan;
		struct ac_result *r = tu_run_scenario(json, 1, &plan);
		const struct ac_check_result *cr = tu_check(r, "tls");
		/* A plaintext fallback would have passed. */
		ck_assert_int_eq(cr->last.state, AC_STATE_ERROR);
		ck_assert_msg(
		    strstr(cr->last.reason, "server does not support SSL, but SSL was required"),
		    "%s: %s", mode, cr->last.reason);
		ck_assert_int_eq(r->verdict, AC_INCONCLUSIVE);
		ac_result_destroy(r);
		ac_plan_destroy(plan);
		free(json);
	}
}
END_TEST

/* A database statement_timeout longer than the check's own timeout: the
 * query is bounded by the time left to the check, so no backend keeps
 * running after allclear gave up on it (F15). */
START_TEST(statement_timeout_bounded_by_the_check_deadline)
{
	char *c = tu_fmt("{\"kind\": \"sql\", \"name\": \"slow\", \"area\": \"data\", \"owner\": "
			 "\"o\", \"database\": \"db\", \"timeout\": \"1s\", \"query\": \"SELECT 1 "
			 "FROM pg_sleep(6) /* f15-pile */\", \"expect\": {\">=\": 0}}");
	const char *checks[] = {c};
	struct ac_plan *plan;
	int64_t t0 = tu_now_ms();
	struct ac_result *r = run_checks(", \"statement_timeout\": \"1h\"", checks, 1, &plan);
	ck_assert_int_eq(tu_check(r, "slow")->state, AC_STATE_ERROR);
	ac_result_destroy(r);
	ac_plan_destroy(plan);
	/* Give the server a moment past the check's deadline, well short of the
	 * six seconds the query would otherwise run. */
	while (tu_now_ms() - t0 < 2500)
		usleep(50 * 1000);
	PGconn *su_c = su(dbname);
	PGresult *res =
	    PQexec(su_c, "SELECT count(*) FROM pg_stat_activity WHERE query LIKE "
			 "'%f15-pile%' AND pid <> pg_backend_pid() AND state = 'active'");
	ck_assert_int_eq(PQresultStatus(res), PGRES_TUPLES_OK);
	ck_assert_msg(strcmp(PQgetvalue(res, 0, 0), "0") == 0,
		      "%s backend(s) still running the query after the check ended",
		      PQgetvalue(res, 0, 0));
	PQclear(res);
	PQfinish(su_c);
	free(c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sql");
	TCase *tc = tcase_create("sql");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, the_method_sees_writes);
	tcase_add_test(tc, write_attempts_are_refused_and_nothing_moves);
	tcase_add_test(tc, values_rows_and_expectations);
	tcase_add_test(tc, unreachable_silent_and_wrong_password);
	tcase_add_test(tc, preset_oban);
	tcase_add_test(tc, preset_good_job);
	tcase_add_test(tc, preset_solid_queue);
	tcase_add_test(tc, preset_river);
	tcase_add_test(tc, preset_que);
	tcase_add_test(tc, preset_delayed_job);
	tcase_add_test(tc, preset_pgmq);
	tcase_add_test(tc, preset_pg_boss);
	tcase_add_test(tc, preset_graphile_worker);
	tcase_add_test(tc, presets_pg_boss_and_graphile_worker_with_the_real_libraries);
	tcase_add_test(tc, queue_expectations_and_unavailable_figures);
	tcase_add_test(tc, future_enqueue_time_is_no_age_in_postgres);
	tcase_add_test(tc, session_advisory_locks_are_refused_at_load);
	suite_add_tcase(s, tc);
	TCase *tt = tcase_create("sql_trust");
	tcase_set_timeout(tt, 90);
	tcase_add_checked_fixture(tt, setup, teardown);
	tcase_add_test(tt, result_caps_bound_memory);
	tcase_add_test(tt, result_caps_are_settable);
	tcase_add_test(tt, empty_null_and_min_rows_edges);
	tcase_add_test(tt, secret_straddling_the_cell_cut_is_masked_whole);
	tcase_add_test(tt, splitter_follows_the_postgres_lexer);
	tcase_add_test(tt, role_without_select_and_role_that_can_write);
	tcase_add_test(tt, backend_frozen_mid_query);
	tcase_add_test(tt, verify_full_against_a_server_without_tls);
	tcase_add_test(tt, server_notices_are_not_printed);
	tcase_add_test(tt, slow_queries_run_side_by_side);
	tcase_add_test(tt, pool_size_is_checked_at_load);
	tcase_add_test(tt, a_check_that_never_gets_a_connection_says_so);
	tcase_add_test(tt, secret_first_cell_not_quoted_as_not_a_number);
	tcase_add_test(tt, statement_timeout_bounded_by_the_check_deadline);
	suite_add_tcase(s, tt);
	TCase *td = tcase_create("sql_down");
	tcase_set_timeout(td, 120);
	tcase_add_checked_fixture(td, down_setup, down_teardown);
	tcase_add_test(td, postgres_stopped_mid_window);
	tcase_add_test(td, caps_and_rows_over_tls);
	suite_add_tcase(s, td);
	return tu_main(s);
}
