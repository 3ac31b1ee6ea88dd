/*
 * test_sql_faults.c: the sql suite against servers that go away, freeze
 * mid-query or will not speak TLS: a throwaway cluster of its own for the
 * "sql_down" test case, and the shared one for the rest ("sql_trust").
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
	sql_exec(c, "CREATE TABLE k (v int); INSERT INTO k VALUES (1)");
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
		sql_exec(c, "UPDATE k SET v = 5");
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
	sql_expect_check(r, "wide", AC_STATE_ERROR,
			 "postgres \"d\": result too large (over 16 MiB)");
	sql_expect_check(r, "big row", AC_STATE_PASS, NULL);
	sql_expect_check(r, "many", AC_STATE_PASS, NULL);
	sql_expect_check(r, "few", AC_STATE_PASS, NULL);
	sql_expect_check(r, "tls", AC_STATE_PASS, NULL);
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
	char *dsn = tu_fmt("%s dbname=%s", tu_env("AC_TEST_PG_DSN"), sql_dbname);
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
		   tu_env("AC_TEST_PG_PORT"), sql_dbname, tu_env("AC_TEST_PG_RO_USER"), c, quick);
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
	sql_expect_check(r, "quick", AC_STATE_PASS, NULL);
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
		    tu_env("AC_TEST_PG_PORT"), sql_dbname, tu_env("AC_TEST_PG_RO_USER"), mode);
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
	struct ac_result *r = sql_run_checks(", \"statement_timeout\": \"1h\"", checks, 1, &plan);
	ck_assert_int_eq(tu_check(r, "slow")->state, AC_STATE_ERROR);
	ac_result_destroy(r);
	ac_plan_destroy(plan);
	/* Give the server a moment past the check's deadline, well short of the
	 * six seconds the query would otherwise run. */
	while (tu_now_ms() - t0 < 2500)
		usleep(50 * 1000);
	PGconn *su_c = sql_su(sql_dbname);
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

void sql_fault_tests(TCase *trust, TCase *down)
{
	tcase_add_test(trust, backend_frozen_mid_query);
	tcase_add_test(trust, verify_full_against_a_server_without_tls);
	tcase_add_test(trust, statement_timeout_bounded_by_the_check_deadline);
	tcase_add_checked_fixture(down, down_setup, down_teardown);
	tcase_add_test(down, postgres_stopped_mid_window);
	tcase_add_test(down, caps_and_rows_over_tls);
}
