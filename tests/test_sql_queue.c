/*
 * test_sql_queue.c: the PostgreSQL queue presets of the sql suite, each on
 * tables made from the job system's published layout (and two with the
 * real libraries), their expectations and the figures they cannot give.
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
	char *json = sql_scenario(c);
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
	sql_exec_db(
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
	struct want w = {{3, 1, 2, 1, 1, 90, -1}};
	check_figures("oban", "mail", NULL, &w);
}
END_TEST

START_TEST(preset_good_job)
{
	sql_exec_db(
	    "CREATE TABLE good_jobs (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), queue_name "
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
	struct want w = {{2, 1, 1, 1, 1, 60, -1}};
	check_figures("good_job", "q", NULL, &w);
}
END_TEST

START_TEST(preset_solid_queue)
{
	sql_exec_db(
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
	struct want w = {{2, 1, -1, 2, 1, 30, 1}};
	check_figures("solid_queue", "default", NULL, &w);
}
END_TEST

START_TEST(preset_river)
{
	sql_exec_db(
	    "CREATE TYPE river_job_state AS ENUM "
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
	struct want w = {{1, 2, 1, 1, 2, 45, -1}};
	check_figures("river", "default", NULL, &w);
}
END_TEST

START_TEST(preset_que)
{
	sql_exec_db(
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
	/* depth 2 (one of them retrying), nothing locked, one expired, one later */
	struct want w = {{2, 0, 1, 1, 1, 20, 1}};
	check_figures("que", "default", NULL, &w);
}
END_TEST

START_TEST(preset_delayed_job)
{
	sql_exec_db(
	    "CREATE TABLE delayed_jobs (id bigserial PRIMARY KEY, priority int NOT NULL "
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
	struct want w = {{2, 1, 1, 1, 1, 120, -1}};
	check_figures("delayed_job", "mail", NULL, &w);
}
END_TEST

START_TEST(preset_pgmq)
{
	sql_exec_db(
	    "CREATE SCHEMA pgmq;"
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
	struct want w = {{2, 1, 1, -1, 1, 50, -1}};
	check_figures("pgmq", "orders", NULL, &w);
}
END_TEST

START_TEST(preset_pg_boss)
{
	sql_exec_db(
	    "CREATE SCHEMA pgboss;"
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
	/* ready: created+retry due now (2); scheduled: created/retry later (2) */
	struct want w = {{2, 1, 2, 1, 2, 75, -1}};
	check_figures("pg_boss", "email", NULL, &w);
}
END_TEST

START_TEST(preset_graphile_worker)
{
	sql_exec_db(
	    "CREATE SCHEMA graphile_worker;"
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
	struct want w = {{1, 1, 1, 1, 1, 30, -1}};
	check_figures("graphile_worker", "q", NULL, &w);
}
END_TEST

START_TEST(presets_pg_boss_and_graphile_worker_with_the_real_libraries)
{
	/* Both libraries create their own schemas in the database. */
	char *cmd = tu_fmt("NODE_PATH=%s node %s/tests/fixtures/pg_state.js %s/%s >/dev/null 2>&1",
			   tu_env("AC_TEST_NODE_MODULES"), tu_env("AC_SOURCE_ROOT"),
			   tu_env("AC_TEST_PG_SU_URL"), sql_dbname);
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
	sql_exec_db(
	    "CREATE TABLE delayed_jobs (id bigserial PRIMARY KEY, priority int NOT NULL "
	    "DEFAULT 0, attempts int NOT NULL DEFAULT 0, handler text NOT NULL,"
	    " last_error text, run_at timestamp, locked_at timestamp, failed_at timestamp, "
	    "locked_by text, queue text);"
	    "INSERT INTO delayed_jobs (handler, run_at, attempts, failed_at, queue) VALUES "
	    "('h', now() - interval '10 minutes', 0, NULL, 'q'), ('h', now(), 2, NULL, 'q')");
	char *json = sql_scenario(
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
	sql_exec_db(
	    "CREATE SCHEMA pgmq;"
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
	char *json = sql_scenario(
	    "{\"kind\": \"queue\", \"name\": \"q\", \"area\": \"jobs\", \"owner\": \"o\", "
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

void sql_queue_tests(TCase *tc)
{
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
}
