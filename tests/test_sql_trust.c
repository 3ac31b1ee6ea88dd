/*
 * test_sql_trust.c: the "sql_trust" test case of the sql suite: result caps
 * that bound memory, the edges of the expectations, the statement
 * splitter, roles that cannot read or can write, server notices, and the
 * pool of connections per database.
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

/* A first cell from a secret column is not quoted in "is not a number" (F8). */
START_TEST(secret_first_cell_not_quoted_as_not_a_number)
{
	char *json = sql_scenario(
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
	    sql_run_checks(", \"statement_timeout\": \"20s\"", (const char *const *)c, 6, &plan);
	int64_t took = tu_now_ms() - t0;
	long peak = status_kb("VmHWM:");
	fprintf(stderr, "result caps: RSS before %ld kB, peak %ld kB, growth %ld kB, %lld ms\n",
		rss0, peak, peak - rss0, (long long)took);
	sql_expect_check(r, "wide", AC_STATE_ERROR,
			 "postgres \"db\": result too large (over 16 MiB)");
	sql_expect_check(r, "wide rows", AC_STATE_ERROR,
			 "postgres \"db\": result too large (over 16 MiB)");
	sql_expect_check(r, "many none", AC_STATE_FAIL, "more than 5 rows, expected none");
	ck_assert_ptr_nonnull(strstr(tu_check(r, "many none")->last.evidence, "xxxx"));
	sql_expect_check(r, "many min", AC_STATE_PASS, NULL);
	sql_expect_check(r, "many value", AC_STATE_PASS, NULL);
	sql_expect_check(r, "after", AC_STATE_PASS, NULL);
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
	struct ac_result *r = sql_run_checks(", \"max_rows\": 3, \"max_result_size\": \"4KiB\"",
					     (const char *const *)c, 4, &plan);
	sql_expect_check(r, "rows ok", AC_STATE_PASS, NULL);
	sql_expect_check(r, "value", AC_STATE_PASS, NULL);
	sql_expect_check(r, "bytes", AC_STATE_ERROR,
			 "postgres \"db\": result too large (over 4 KiB)");
	sql_expect_check(r, "small", AC_STATE_PASS, NULL);
	ac_result_destroy(r);
	ac_plan_destroy(plan);
	/* min_rows above the cap cannot be decided: refused at load. */
	char *bad = sql_check("too many", "SELECT 1", "{\"min_rows\": 4}");
	char *json = sql_scenario_with(", \"max_rows\": 3", bad);
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
	struct ac_result *r = sql_run_checks("", (const char *const *)c, 1, &plan);
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
	struct ac_result *r = sql_run_checks("", (const char *const *)c, n, &plan);
	const char *none = "no measurement: the query returned no rows";
	const char *null = "no measurement: the first cell is NULL";
	sql_expect_check(r, "empty ne", AC_STATE_ERROR, none);
	sql_expect_check(r, "empty le", AC_STATE_ERROR, none);
	sql_expect_check(r, "empty between", AC_STATE_ERROR, none);
	ck_assert(!tu_check(r, "empty ne")->last.has_value);
	sql_expect_check(r, "no columns", AC_STATE_ERROR,
			 "no measurement: the query returned no columns");
	sql_expect_check(r, "null lt", AC_STATE_ERROR, null);
	sql_expect_check(r, "null between", AC_STATE_ERROR, null);
	ck_assert(!tu_check(r, "null lt")->last.has_value);
	sql_expect_check(r, "null later", AC_STATE_ERROR, null);
	sql_expect_check(r, "exactly n", AC_STATE_PASS, NULL);
	sql_expect_check(r, "n minus 1", AC_STATE_FAIL, "2 rows, expected at least 3");
	sql_expect_check(r, "n of one", AC_STATE_PASS, NULL);
	sql_expect_check(r, "none of one", AC_STATE_FAIL, "0 rows, expected at least 1");
	sql_expect_check(r, "one row", AC_STATE_FAIL, "1 row, expected none");
	sql_expect_check(r, "no rows", AC_STATE_PASS, NULL);
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
	struct ac_result *r = sql_run_checks("", (const char *const *)c, 3, &plan);
	sql_expect_check(r, "e string", AC_STATE_PASS, NULL);
	sql_expect_check(r, "nested", AC_STATE_PASS, NULL);
	sql_expect_check(r, "backslash", AC_STATE_PASS, NULL);
	ac_result_destroy(r);
	ac_plan_destroy(plan);
	for (size_t i = 0; i < 3; i++)
		free(c[i]);
	/* Refused at load, with the reason. */
	char *bad = sql_check("b", "SELECT E'\\\\'; DELETE FROM t", "{\"==\": 0}");
	char *json = sql_scenario(bad);
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
	PGconn *c = sql_su(sql_dbname);
	char *sql = tu_fmt("SET client_min_messages TO warning;"
			   "DROP ROLE IF EXISTS ac_np_%d; DROP ROLE IF EXISTS ac_wr_%d;"
			   "CREATE ROLE ac_np_%d LOGIN PASSWORD 'np-pw';"
			   "CREATE ROLE ac_wr_%d LOGIN PASSWORD 'wr-pw';"
			   "GRANT SELECT, INSERT ON t TO ac_wr_%d",
			   pid, pid, pid, pid, pid);
	sql_exec(c, sql);
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
	    port, sql_dbname, pid, port, sql_dbname, pid, port, sql_dbname, port, sql_dbname,
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
	c = sql_su(sql_dbname);
	sql =
	    tu_fmt("DROP OWNED BY ac_wr_%d; DROP ROLE ac_np_%d; DROP ROLE ac_wr_%d", pid, pid, pid);
	sql_exec(c, sql);
	free(sql);
	PQfinish(c);
}
END_TEST

START_TEST(server_notices_are_not_printed)
{
	sql_exec_db(
	    "CREATE FUNCTION noisy() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RAISE WARNING "
	    "'canary-notice-7731'; RETURN 1; END $$");
	char *chk = sql_check("noisy", "SELECT noisy()", "{\"==\": 1}");
	char *json = sql_scenario(chk);
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
	struct ac_result *r = sql_run_checks(db_extra, (const char *const *)c, 5, &plan);
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
	    sql_run_checks(", \"pool_size\": 1, \"statement_timeout\": \"5s\"", c, 2, &plan);
	sql_expect_check(r, "hog", AC_STATE_PASS, NULL);
	sql_expect_check(r, "starved", AC_STATE_ERROR,
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
		char *json = sql_scenario_with(extra, c);
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

void sql_trust_tests(TCase *tc)
{
	tcase_add_test(tc, secret_first_cell_not_quoted_as_not_a_number);
	tcase_add_test(tc, result_caps_bound_memory);
	tcase_add_test(tc, result_caps_are_settable);
	tcase_add_test(tc, secret_straddling_the_cell_cut_is_masked_whole);
	tcase_add_test(tc, empty_null_and_min_rows_edges);
	tcase_add_test(tc, splitter_follows_the_postgres_lexer);
	tcase_add_test(tc, role_without_select_and_role_that_can_write);
	tcase_add_test(tc, server_notices_are_not_printed);
	tcase_add_test(tc, slow_queries_run_side_by_side);
	tcase_add_test(tc, a_check_that_never_gets_a_connection_says_so);
	tcase_add_test(tc, pool_size_is_checked_at_load);
}
