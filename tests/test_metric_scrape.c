/*
 * test_metric_scrape.c: metric checks of the metric suite against
 * purpose-built /metrics servers and a fake Prometheus API: ratios,
 * latencies and values, scrapes that lie (non-finite counters, new series,
 * resets), caps and staleness.
 */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hostile.h"
#include "prom.h"
#include "test_metric.h"
#include "testutil.h"
/* A /metrics server whose counters move with every scrape: 100 requests
 * and 10 errors per scrape, latency in the first bucket; /nan serves NaN,
 * /flat never moves, /cut serves OpenMetrics without # EOF, /500 fails. */
void metric_server(int fd, const struct hs_request *q, void *ud)
{
	(void)ud;
	int n = q->seq;
	char body[1024];
	if (strcmp(q->path, "/nan") == 0) {
		hs_reply(fd, 200, "", "g NaN\n");
	} else if (strcmp(q->path, "/flat") == 0) {
		hs_reply(fd, 200, "", "req_total{code=\"200\"} 5\nreq_total{code=\"500\"} 1\n");
	} else if (strcmp(q->path, "/cut") == 0) {
		hs_reply(fd, 200, "Content-Type: application/openmetrics-text; version=1.0.0\r\n",
			 "x_total 1\n");
	} else if (strcmp(q->path, "/500") == 0) {
		hs_reply(fd, 500, "", "oops");
	} else {
		snprintf(
		    body, sizeof(body),
		    "# TYPE req_total counter\nreq_total{code=\"200\",route=\"/a\"} %d\n"
		    "req_total{code=\"500\",route=\"/a\"} %d\n"
		    "# TYPE lat histogram\nlat_bucket{le=\"0.1\"} %d\nlat_bucket{le=\"1\"} %d\n"
		    "lat_bucket{le=\"+Inf\"} %d\nlat_sum 1\nlat_count "
		    "%d\nbuild_info{build=\"v41\"} 1\n",
		    n * 90, n * 10, n * 80, n * 100, n * 100, n * 100);
		hs_reply(fd, 200, "", body);
	}
}

START_TEST(scrapes_ratio_latency_value_and_failures)
{
	struct hs_server s;
	hs_start(&s, metric_server, NULL);
	char *json = tu_fmt(
	    "{\"settings\": {\"rounds\": 1, \"confirm\": 1, \"timeout\": \"3s\"}, "
	    "\"checks\": [" M(
		"ratio",
		"\"scrape\": \"http://127.0.0.1:%d/metrics\", \"gap\": \"200ms\","
		" \"errors\": {\"metric\": \"req_total\", \"match\": {\"code\": "
		"\"=~5..\"}},"
		" \"total\": {\"metric\": \"req_total\"}, \"expect\": {\"<=\": "
		"0.05}") "," M("p95",
			       "\"scrape\": "
			       "\"http://127.0.0.1:%d/metrics\", \"gap\": "
			       "\"200ms\", \"histogram\": \"lat\","
			       " \"quantile\": 0.95, \"expect\": {\"<=\": "
			       "1}") "," M("build",
					   "\"scrape\": "
					   "\"http://127.0.0.1:%d/"
					   "metrics\", \"metric\": "
					   "\"build_info\","
					   " \"match\": {\"build\": "
					   "\"v41\"}, \"expect\": {\"==\": "
					   "1}") "," M("quiet",
						       "\"scrape\": "
						       "\"http://"
						       "127.0.0.1:%d/"
						       "flat\", \"gap\": "
						       "\"200ms\","
						       " \"errors\": "
						       "{\"metric\": "
						       "\"req_total\", "
						       "\"match\": "
						       "{\"code\": "
						       "\"=~5..\"}},"
						       " \"total\": "
						       "{\"metric\": "
						       "\"req_total\"}, "
						       "\"expect\": "
						       "{\"<=\": 0.05}") "," M("nan",
									       "\"scrape\":"
									       " \"http://"
									       "127.0.0.1:%"
									       "d/nan\", "
									       "\"metric\":"
									       " \"g\", "
									       "\"expect\":"
									       " {\"<=\": "
									       "1}") "," M("cu"
											   "t",
											   "\"s"
											   "cra"
											   "p"
											   "e\""
											   ": "
											   "\"h"
											   "ttp"
											   ":"
											   "//"
											   "127"
											   ".0."
											   "0."
											   "1:%"
											   "d/"
											   "cut"
											   "\","
											   " "
											   "\"m"
											   "etr"
											   "i"
											   "c\""
											   ": "
											   "\"x"
											   "_"
											   "tot"
											   "al"
											   "\""
											   ", "
											   "\"e"
											   "xpe"
											   "c"
											   "t\""
											   ": "
											   "{\""
											   "<="
											   "\":"
											   " 1"
											   "}") "," M("down",
												      "\"scrape\": \"http://127.0.0.1:%d/500\", \"metric\": \"x\", \"expect\": {\"<=\": 1}") "]}",
	    s.port, s.port, s.port, s.port, s.port, s.port, s.port);
	struct ac_plan *p;
	struct ac_result *r = tu_run_scenario(json, 1, &p);
	const struct ac_check_result *ratio = tu_check(r, "ratio");
	ck_assert_int_eq(ratio->state, AC_STATE_FAIL);
	ck_assert_msg(strstr(ratio->reason, "error ratio 0.1, expected <= 0.05"), "%s",
		      ratio->reason);
	const struct ac_check_result *p95 = tu_check(r, "p95");
	ck_assert_msg(p95->state == AC_STATE_PASS && p95->last.value > 0.1 && p95->last.value <= 1,
		      "%s %g", p95->reason ? p95->reason : "", p95->last.value);
	ck_assert_int_eq(tu_check(r, "build")->state, AC_STATE_PASS);
	const struct ac_check_result *quiet = tu_check(r, "quiet");
	ck_assert_int_eq(quiet->state, AC_STATE_ERROR);
	ck_assert_msg(strstr(quiet->reason, "no traffic"), "%s", quiet->reason);
	ck_assert_int_eq(tu_check(r, "nan")->state, AC_STATE_ERROR);
	ck_assert_msg(strstr(tu_check(r, "cut")->reason, "# EOF"), "%s",
		      tu_check(r, "cut")->reason);
	ck_assert_msg(strstr(tu_check(r, "down")->reason, "HTTP 500"), "%s",
		      tu_check(r, "down")->reason);
	ac_result_destroy(r);
	ac_plan_destroy(p);
	free(json);
	hs_stop(&s);
}
END_TEST

/* --- scripted scrapes: false RESTORED paths --------------------------- */

/* Each path serves its bodies in turn, the last one from then on. */
struct script {
	const char *path;
	const char *bodies[4];
};

static const struct script scripts[] = {
    /* a 5xx counter that is not a number in the second scrape */
    {"/err-nan",
     {"r_total{code=\"200\"} 100\nr_total{code=\"500\"} 0\n",
      "r_total{code=\"200\"} 200\nr_total{code=\"500\"} NaN\n"}},
    {"/err-inf",
     {"r_total{code=\"200\"} 100\nr_total{code=\"500\"} 0\n",
      "r_total{code=\"200\"} 200\nr_total{code=\"500\"} +Inf\n"}},
    {"/err-big",
     {"r_total{code=\"200\"} 100\nr_total{code=\"500\"} 0\n",
      "r_total{code=\"200\"} 200\nr_total{code=\"500\"} 1e999\n"}},
    /* NaN in the baseline scrape: no increase can be computed from it */
    {"/err-nan-before",
     {"r_total{code=\"200\"} 100\nr_total{code=\"500\"} NaN\n",
      "r_total{code=\"200\"} 200\nr_total{code=\"500\"} 3\n"}},
    /* a restart: 200 reset, and the 5xx series is created by its first error */
    {"/restart-burst",
     {"r_total{code=\"200\"} 1000\n", "r_total{code=\"200\"} 10\nr_total{code=\"500\"} 40\n"}},
    /* the baseline holds old errors: they are history, not new errors */
    {"/baseline",
     {"r_total{code=\"200\"} 5000\nr_total{code=\"500\"} 1000\n",
      "r_total{code=\"200\"} 5100\nr_total{code=\"500\"} 1000\n"}},
    /* 5 errors in 100: exactly at a 0.05 limit */
    {"/at-limit",
     {"r_total{code=\"200\"} 0\nr_total{code=\"500\"} 0\n",
      "r_total{code=\"200\"} 95\nr_total{code=\"500\"} 5\n"}},
    /* the 5xx counter reset (100 -> 40): 40 errors, 60 good requests */
    {"/reset",
     {"r_total{code=\"200\"} 1000\nr_total{code=\"500\"} 100\n",
      "r_total{code=\"200\"} 1060\nr_total{code=\"500\"} 40\n"}},
    /* the same series twice in one scrape */
    {"/dup",
     {"r_total{code=\"200\"} 1\nr_total{code=\"500\"} 0\n",
      "r_total{code=\"200\"} 9\n# c\nr_total{code=\"500\"} 0\nr_total{code=\"500\"} 0\n"}},
    {"/dup-gauge", {"g{i=\"a\"} 1\ng{i=\"a\"} 1\n"}},
    /* a gauge check reads a NaN series among good ones */
    {"/value-nan", {"g{i=\"a\"} 1\ng{i=\"b\"} NaN\n"}},
    /* every request slower than the highest finite bucket */
    {"/slow",
     {"h_bucket{le=\"0.5\"} 0\nh_bucket{le=\"1\"} 0\nh_bucket{le=\"+Inf\"} 0\n",
      "h_bucket{le=\"0.5\"} 0\nh_bucket{le=\"1\"} 0\nh_bucket{le=\"+Inf\"} 100\n"}},
    {"/hist-nan",
     {"h_bucket{le=\"1\"} 0\nh_bucket{le=\"+Inf\"} 0\n",
      "h_bucket{le=\"1\"} NaN\nh_bucket{le=\"+Inf\"} 100\n"}},
    /* a new route's histogram appears with 10 slow requests */
    {"/hist-new",
     {"h_bucket{route=\"/a\",le=\"1\"} 100\nh_bucket{route=\"/a\",le=\"+Inf\"} 100\n",
      "h_bucket{route=\"/a\",le=\"1\"} 100\nh_bucket{route=\"/a\",le=\"+Inf\"} 100\n"
      "h_bucket{route=\"/b\",le=\"1\"} 0\nh_bucket{route=\"/b\",le=\"+Inf\"} 10\n"}},
    /* a 5xx counter below zero: not -40 errors */
    {"/err-negative",
     {"r_total{code=\"200\"} 100\nr_total{code=\"500\"} 0\n",
      "r_total{code=\"200\"} 200\nr_total{code=\"500\"} -40\n"}},
    /* a restart that grew past the old values, told by _created */
    {"/created-restart",
     {"r_total{code=\"200\"} 100\nr_created{code=\"200\"} 1000\nr_total{code=\"500\"} 10\n"
      "r_created{code=\"500\"} 1000\n",
      "r_total{code=\"200\"} 150\nr_created{code=\"200\"} 2000\nr_total{code=\"500\"} 11\n"
      "r_created{code=\"500\"} 2000\n"}},
    /* three observations, all fast */
    {"/fast",
     {"h_bucket{le=\"0.1\"} 0\nh_bucket{le=\"1\"} 0\nh_bucket{le=\"+Inf\"} 0\n",
      "h_bucket{le=\"0.1\"} 3\nh_bucket{le=\"1\"} 3\nh_bucket{le=\"+Inf\"} 3\n"}},
    /* buckets whose increases are not cumulative (a bucket series reset alone) */
    {"/hist-broken",
     {"h_bucket{le=\"0.1\"} 500\nh_bucket{le=\"1\"} 500\nh_bucket{le=\"+Inf\"} 500\n",
      "h_bucket{le=\"0.1\"} 90\nh_bucket{le=\"1\"} 510\nh_bucket{le=\"+Inf\"} 600\n"}},
    /* no 5xx series at all: 0 errors, said in the evidence */
    {"/no-errors", {"r_total{code=\"200\"} 100\n", "r_total{code=\"200\"} 200\n"}},
    /* trailing junk after the value */
    {"/junk", {"r_total{code=\"200\"} 1 2 3\n"}},
};

/* Counted per path, query string included: /at-limit?a and /at-limit?b
 * each play the script from the start. */
static void scripted(int fd, const struct hs_request *q, void *ud)
{
	(void)ud;
	static char seen[64][1024];
	static int served[64];
	size_t plen = strcspn(q->path, "?");
	size_t slot = 0;
	while (slot < 63 && seen[slot][0] && strcmp(seen[slot], q->path) != 0)
		slot++;
	memcpy(seen[slot], q->path, sizeof(seen[slot]));
	for (size_t i = 0; i < sizeof(scripts) / sizeof(scripts[0]); i++) {
		if (strlen(scripts[i].path) != plen || strncmp(q->path, scripts[i].path, plen) != 0)
			continue;
		int k = served[slot]++;
		if (k > 3)
			k = 3;
		while (k > 0 && !scripts[i].bodies[k])
			k--;
		hs_reply(fd, 200, "", scripts[i].bodies[k]);
		return;
	}
	/* samples stamped 10 minutes ago (a federation that lost its source) */
	if (strncmp(q->path, "/old-ts", 7) == 0) {
		char body[256];
		long long ms = (long long)time(NULL) * 1000 - 600000 + served[slot]++;
		snprintf(body, sizeof(body), "r_total{code=\"200\"} %d %lld\ng 1 %lld\n",
			 100 * served[slot], ms, ms);
		hs_reply(fd, 200, "", body);
		return;
	}
	hs_reply(fd, 404, "", "no such script\n");
}

/* A scenario of metric checks: names[i] with the fields bodies[i]. */
static struct ac_result *run_checks(int rounds, struct ac_plan **p, const char *const *names,
				    char **bodies, size_t n)
{
	struct ac_buf b = AC_BUF_INIT;
	ac_buf_adds(&b, "{\"settings\": {\"rounds\": 1, \"confirm\": 1, \"timeout\": \"3s\"}, "
			"\"checks\": [");
	for (size_t i = 0; i < n; i++)
		ac_buf_addf(&b,
			    "%s{\"kind\": \"metric\", \"name\": \"%s\", \"area\": \"code\", "
			    "\"owner\": \"web\", %s}",
			    i ? ", " : "", names[i], bodies[i]);
	ac_buf_adds(&b, "]}");
	struct ac_result *r = tu_run_scenario(b.buf, rounds, p);
	ac_buf_release(&b);
	return r;
}

char *ratio_check_x(int port, const char *path, const char *expect, const char *extra)
{
	return tu_fmt("\"scrape\": \"http://127.0.0.1:%d%s\", \"gap\": \"100ms\", "
		      "\"errors\": {\"metric\": \"r_total\", \"match\": {\"code\": \"=~5..\"}}, "
		      "\"total\": {\"metric\": \"r_total\"}, \"expect\": %s%s",
		      port, path, expect, extra);
}

char *ratio_check(int port, const char *path, const char *expect)
{
	return ratio_check_x(port, path, expect, "");
}

static void expect_sample(const struct ac_result *r, const char *name, enum ac_state st,
			  const char *reason)
{
	tu_expect_last(tu_check(r, name), name, st, reason);
}

START_TEST(non_finite_counters_are_errors)
{
	struct hs_server s;
	hs_start(&s, scripted, NULL);
	const char *names[] = {
	    "nan",	    "inf",	    "big",	  "nan-before", "value-nan",
	    "hist-nan",	    "junk",	    "negative",	  "created",	"few-observations",
	    "old-ts-ratio", "old-ts-value", "hist-broken"};
	char *bodies[] = {
	    ratio_check(s.port, "/err-nan", "{\"<=\": 0.05}"),
	    ratio_check(s.port, "/err-inf", "{\"<=\": 0.05}"),
	    ratio_check(s.port, "/err-big", "{\"<=\": 0.05}"),
	    ratio_check(s.port, "/err-nan-before", "{\"<=\": 0.05}"),
	    tu_fmt("\"scrape\": \"http://127.0.0.1:%d/value-nan\", \"metric\": \"g\", "
		   "\"aggregate\": \"max\", \"expect\": {\"<=\": 1}",
		   s.port),
	    tu_fmt("\"scrape\": \"http://127.0.0.1:%d/hist-nan\", \"gap\": \"100ms\", "
		   "\"histogram\": \"h\", \"quantile\": 0.5, \"expect\": {\"<=\": 1}",
		   s.port),
	    ratio_check(s.port, "/junk", "{\"<=\": 0.05}"),
	    ratio_check(s.port, "/err-negative", "{\"<=\": 0.05}"),
	    ratio_check(s.port, "/created-restart", "{\"<=\": 0.05}"),
	    tu_fmt("\"scrape\": \"http://127.0.0.1:%d/fast\", \"gap\": \"100ms\", "
		   "\"histogram\": \"h\", \"quantile\": 0.5, \"min_requests\": 10, "
		   "\"expect\": {\"<=\": 1}",
		   s.port),
	    tu_fmt("\"scrape\": \"http://127.0.0.1:%d/old-ts?r\", \"gap\": \"100ms\", "
		   "\"errors\": {\"metric\": \"r_total\", \"match\": {\"code\": \"=~5..\"}}, "
		   "\"total\": {\"metric\": \"r_total\"}, \"expect\": {\"<=\": 0.05}",
		   s.port),
	    tu_fmt("\"scrape\": \"http://127.0.0.1:%d/old-ts?v\", \"metric\": \"g\", "
		   "\"max_age\": \"5m\", \"expect\": {\"==\": 1}",
		   s.port),
	    tu_fmt("\"scrape\": \"http://127.0.0.1:%d/hist-broken\", \"gap\": \"100ms\", "
		   "\"histogram\": \"h\", \"quantile\": 0.5, \"expect\": {\"<=\": 1}",
		   s.port),
	};
	size_t n = sizeof(names) / sizeof(names[0]);
	struct ac_plan *p;
	struct ac_result *r = run_checks(1, &p, names, bodies, n);
	expect_sample(r, "nan", AC_STATE_ERROR,
		      "errors counter is NaN: r_total{code=\"500\"} on line 2");
	expect_sample(r, "inf", AC_STATE_ERROR,
		      "errors counter is +Inf: r_total{code=\"500\"} on line 2");
	expect_sample(r, "big", AC_STATE_ERROR,
		      "errors counter is +Inf: r_total{code=\"500\"} on line 2");
	expect_sample(r, "nan-before", AC_STATE_ERROR,
		      "errors counter was NaN in the previous scrape: r_total{code=\"500\"}");
	expect_sample(r, "value-nan", AC_STATE_ERROR, "g is NaN: g{i=\"b\"} on line 2");
	expect_sample(r, "hist-nan", AC_STATE_ERROR, "is NaN: h_bucket{le=\"1\"} on line 1");
	expect_sample(r, "junk", AC_STATE_ERROR, "line 1");
	expect_sample(r, "negative", AC_STATE_ERROR,
		      "errors counter is -40, below zero: r_total{code=\"500\"} on line 2");
	/* 11 errors in 161 requests since the restart, not 1 in 51 */
	expect_sample(r, "created", AC_STATE_FAIL, "error ratio 0.068323, expected <= 0.05");
	expect_sample(r, "old-ts-ratio", AC_STATE_ERROR,
		      "stale sample: r_total{code=\"200\"} is 60");
	expect_sample(r, "old-ts-value", AC_STATE_ERROR, "(max_age 300 s)");
	expect_sample(r, "hist-broken", AC_STATE_ERROR,
		      "the buckets are not cumulative: le=\"0.1\" gained 90, le=\"1\" 10");
	expect_sample(r, "few-observations", AC_STATE_ERROR,
		      "no traffic: 3 observations since the last scrape (at least 10 needed");
	ac_result_destroy(r);
	ac_plan_destroy(p);
	for (size_t i = 0; i < n; i++)
		free(bodies[i]);
	hs_stop(&s);
}
END_TEST

START_TEST(new_series_resets_limits_and_repeats)
{
	struct hs_server s;
	hs_start(&s, scripted, NULL);
	const char *names[] = {"burst",	     "baseline",   "at-limit", "over-limit",
			       "below-only", "reset",	   "dup",      "dup-gauge",
			       "slow",	     "slow-loose", "hist-new", "min-exact",
			       "min-over",   "no-errors",  "typo",     "absent-ok"};
	char *bodies[] = {
	    ratio_check(s.port, "/restart-burst", "{\"<=\": 0.05}"),
	    ratio_check(s.port, "/baseline", "{\"<=\": 0.05}"),
	    ratio_check(s.port, "/at-limit", "{\"<=\": 0.05}"),
	    ratio_check(s.port, "/at-limit?ge", "{\">=\": 0.05}"),
	    ratio_check(s.port, "/at-limit?lt", "{\"<\": 0.05}"),
	    ratio_check(s.port, "/reset", "{\"<=\": 0.05}"),
	    ratio_check(s.port, "/dup", "{\"<=\": 0.05}"),
	    tu_fmt("\"scrape\": \"http://127.0.0.1:%d/dup-gauge\", \"metric\": \"g\", "
		   "\"expect\": {\"==\": 1}",
		   s.port),
	    tu_fmt("\"scrape\": \"http://127.0.0.1:%d/slow\", \"gap\": \"100ms\", "
		   "\"histogram\": \"h\", \"quantile\": 0.95, \"expect\": {\"<=\": 1}",
		   s.port),
	    tu_fmt("\"scrape\": \"http://127.0.0.1:%d/slow?loose\", \"gap\": \"100ms\", "
		   "\"histogram\": \"h\", \"quantile\": 0.95, \"expect\": {\"<=\": 5}",
		   s.port),
	    tu_fmt("\"scrape\": \"http://127.0.0.1:%d/hist-new\", \"gap\": \"100ms\", "
		   "\"histogram\": \"h\", \"quantile\": 0.99, \"expect\": {\"<=\": 1}",
		   s.port),
	    /* exactly min_requests (100) is enough for a rate; one short is not */
	    ratio_check_x(s.port, "/at-limit?m1", "{\"<=\": 0.05}", ", \"min_requests\": 100"),
	    ratio_check_x(s.port, "/at-limit?m2", "{\"<=\": 0.05}", ", \"min_requests\": 101"),
	    /* no 5xx series yet, but the metric is there: 0 errors */
	    tu_fmt("\"scrape\": \"http://127.0.0.1:%d/no-errors\", \"gap\": \"100ms\", "
		   "\"errors\": {\"metric\": \"r_total\", \"match\": {\"code\": \"=~5..\"}}, "
		   "\"total\": {\"metric\": \"r_total\"}, \"expect\": {\"<=\": 0.05}",
		   s.port),
	    /* no metric of that name at all: a typo would pass for ever */
	    tu_fmt("\"scrape\": \"http://127.0.0.1:%d/no-errors?t\", \"gap\": \"100ms\", "
		   "\"errors\": {\"metric\": \"r_totl\", \"match\": {\"code\": \"=~5..\"}}, "
		   "\"total\": {\"metric\": \"r_total\"}, \"expect\": {\"<=\": 0.05}",
		   s.port),
	    /* unless the scenario says the counter appears with its first error */
	    tu_fmt("\"scrape\": \"http://127.0.0.1:%d/no-errors?a\", \"gap\": \"100ms\", "
		   "\"errors\": {\"metric\": \"r_errors_total\", \"absent_is_zero\": true}, "
		   "\"total\": {\"metric\": \"r_total\"}, \"expect\": {\"<=\": 0.05}",
		   s.port),
	};
	size_t n = sizeof(names) / sizeof(names[0]);
	struct ac_plan *p;
	struct ac_result *r = run_checks(1, &p, names, bodies, n);
	/* 40 of 50 requests failed after the restart */
	expect_sample(r, "burst", AC_STATE_FAIL, "error ratio 0.8, expected <= 0.05");
	const struct ac_check_result *burst = tu_check(r, "burst");
	ck_assert_msg(burst->last.evidence &&
			  strstr(burst->last.evidence,
				 "new series since the last scrape, counted from 0: "
				 "r_total{code=\"500\"} 40"),
		      "%s", burst->last.evidence ? burst->last.evidence : "(no evidence)");
	/* the first scrape is a baseline, not 1000 new errors */
	expect_sample(r, "baseline", AC_STATE_PASS, NULL);
	ck_assert_double_eq(tu_check(r, "baseline")->last.value, 0);
	expect_sample(r, "at-limit", AC_STATE_PASS, NULL);
	ck_assert_double_eq(tu_check(r, "at-limit")->last.value, 0.05);
	expect_sample(r, "over-limit", AC_STATE_PASS, NULL);
	expect_sample(r, "below-only", AC_STATE_FAIL, "error ratio 0.05, expected < 0.05");
	/* 40 errors after the reset, 60 good: not zero errors */
	expect_sample(r, "reset", AC_STATE_FAIL, "error ratio 0.4, expected <= 0.05");
	expect_sample(r, "dup", AC_STATE_ERROR,
		      "r_total{code=\"500\"} appears twice (lines 3 and 4)");
	expect_sample(r, "dup-gauge", AC_STATE_ERROR, "g{i=\"a\"} appears twice (lines 1 and 2)");
	/* p95 is somewhere above 1 s: not "1", and surely not <= 1 */
	expect_sample(r, "slow", AC_STATE_FAIL, "p95 above 1, the highest finite bucket");
	expect_sample(r, "slow-loose", AC_STATE_ERROR, "p95 above 1, the highest finite bucket");
	expect_sample(r, "min-exact", AC_STATE_PASS, NULL);
	expect_sample(r, "no-errors", AC_STATE_PASS, NULL);
	const struct ac_check_result *ne = tu_check(r, "no-errors");
	ck_assert_msg(ne->last.evidence &&
			  strstr(ne->last.evidence,
				 "no series of r_total matched the errors selector: "
				 "0 errors counted"),
		      "%s", ne->last.evidence ? ne->last.evidence : "(no evidence)");
	expect_sample(r, "typo", AC_STATE_ERROR,
		      "no metric named r_totl in the scrape, so no errors can be counted");
	expect_sample(r, "absent-ok", AC_STATE_PASS, NULL);
	ck_assert_double_eq(tu_check(r, "absent-ok")->last.value, 0);
	expect_sample(r, "min-over", AC_STATE_ERROR,
		      "no traffic: 100 requests over the last 1 round (at least 101 needed");
	/* /b's 10 slow requests count: 10 of 110 above 1 s, so p99 > 1 */
	expect_sample(r, "hist-new", AC_STATE_FAIL, "p99 above 1");
	ac_result_destroy(r);
	ac_plan_destroy(p);
	for (size_t i = 0; i < n; i++)
		free(bodies[i]);
	hs_stop(&s);
}
END_TEST

/* A fake Prometheus API: /api/v1/query?query=NAME answers by NAME, with
 * timestamps relative to now. */
static void fake_api(int fd, const struct hs_request *q, void *ud)
{
	(void)ud;
	double now = (double)time(NULL);
	const char *qs = strstr(q->path, "query=");
	const char *name = qs ? qs + 6 : "";
	struct ac_buf b = AC_BUF_INIT;
	ac_buf_adds(&b, "{\"status\": \"success\", \"data\": {\"resultType\": \"vector\", "
			"\"result\": [");
	if (strcmp(name, "hundred") == 0) {
		for (int i = 0; i < 100; i++)
			ac_buf_addf(&b, "%s{\"metric\": {\"i\": \"%d\"}, \"value\": [%.3f, \"1\"]}",
				    i ? ", " : "", i, now);
	} else if (strcmp(name, "seventy_max") == 0) {
		for (int i = 0; i < 70; i++)
			ac_buf_addf(&b,
				    "%s{\"metric\": {\"i\": \"%d\"}, \"value\": [%.3f, \"%d\"]}",
				    i ? ", " : "", i, now, i == 69 ? 50 : 1);
	} else if (strcmp(name, "warned") == 0) {
		ac_buf_reset(&b);
		ac_buf_addf(
		    &b,
		    "{\"status\": \"success\", \"warnings\": [\"partial response: store "
		    "eu-2 unreachable\"], \"data\": {\"resultType\": \"vector\", \"result\": "
		    "[{\"metric\": {}, \"value\": [%.3f, \"0\"]}",
		    now);
	} else {
		static const struct {
			const char *name, *ts, *v;
			double age;
		} one[] = {
		    {"nan", NULL, "\"NaN\"", 0},     {"inf", NULL, "\"+Inf\"", 0},
		    {"big", NULL, "\"1e999\"", 0},   {"word", NULL, "\"abc\"", 0},
		    {"hex", NULL, "\"0x10\"", 0},    {"num", NULL, "1", 0},
		    {"stale", NULL, "\"1\"", 400},   {"stale90", NULL, "\"1\"", 90},
		    {"fresh", NULL, "\"1\"", 20},    {"future", NULL, "\"1\"", -3600},
		    {"ts_inf", "1e999", "\"1\"", 0}, {"ts_str", "\"1\"", "\"1\"", 0},
		};
		for (size_t i = 0; i < sizeof(one) / sizeof(one[0]); i++) {
			if (strcmp(name, one[i].name) != 0)
				continue;
			char ts[64];
			snprintf(ts, sizeof(ts), "%.3f", now - one[i].age);
			ac_buf_addf(&b,
				    "{\"metric\": {\"__name__\": \"x\", \"job\": \"shop\"}, "
				    "\"value\": [%s, %s]}",
				    one[i].ts ? one[i].ts : ts, one[i].v);
		}
	}
	ac_buf_adds(&b, "]}}");
	hs_reply(fd, 200, "Content-Type: application/json\r\n", b.buf);
	ac_buf_release(&b);
}

START_TEST(api_values_caps_and_staleness)
{
	struct hs_server s;
	hs_start(&s, fake_api, NULL);
	static const struct {
		const char *query, *extra, *expect;
		enum ac_state st;
		const char *reason;
	} cases[] = {
	    /* every series is summed: 100, not the first 64 */
	    {"hundred", "", "{\"<=\": 64}", AC_STATE_FAIL, "value 100, expected <= 64"},
	    {"seventy_max", ", \"aggregate\": \"max\"", "{\"<=\": 10}", AC_STATE_FAIL,
	     "value 50, expected <= 10"},
	    {"nan", "", "{\"<=\": 1}", AC_STATE_ERROR, "no measurement: x{job=\"shop\"} is NaN"},
	    {"inf", "", "{\"<=\": 1}", AC_STATE_ERROR, "no measurement: x{job=\"shop\"} is +Inf"},
	    {"big", "", "{\"<=\": 1}", AC_STATE_ERROR, "no measurement: x{job=\"shop\"} is +Inf"},
	    {"word", "", "{\"<=\": 1}", AC_STATE_ERROR,
	     "no measurement: x{job=\"shop\"} has the value \"abc\", not a number"},
	    {"hex", "", "{\"<=\": 100}", AC_STATE_ERROR, "not a number"},
	    {"num", "", "{\"<=\": 1}", AC_STATE_ERROR, "not a string"},
	    {"stale", "", "{\"<=\": 1}", AC_STATE_ERROR, "stale sample: x{job=\"shop\"} is 40"},
	    /* default max_age is 60 s (twice the interval, at least 60 s) */
	    {"stale90", "", "{\"<=\": 1}", AC_STATE_ERROR, "stale sample"},
	    {"fresh", "", "{\"<=\": 1}", AC_STATE_PASS, NULL},
	    {"fresh", ", \"max_age\": \"10s\"", "{\"<=\": 1}", AC_STATE_ERROR, "(max_age 10 s)"},
	    {"future", "", "{\"<=\": 1}", AC_STATE_ERROR, "in the future"},
	    {"ts_inf", "", "{\"<=\": 1}", AC_STATE_ERROR, NULL},
	    {"ts_str", "", "{\"<=\": 1}", AC_STATE_ERROR, "timestamp"},
	    {"empty", "", "{\"<=\": 1}", AC_STATE_ERROR, "no data"},
	    /* a partial answer (a store down) is no measurement */
	    {"warned", "", "{\"<=\": 1}", AC_STATE_ERROR,
	     "prometheus warned: partial response: store eu-2 unreachable"},
	};
	size_t n = sizeof(cases) / sizeof(cases[0]);
	const char *names[32];
	char *bodies[32];
	for (size_t i = 0; i < n; i++) {
		names[i] = tu_fmt("c%zu", i);
		bodies[i] = tu_fmt("\"prometheus\": \"http://127.0.0.1:%d\", \"query\": \"%s\", "
				   "\"expect\": %s%s",
				   s.port, cases[i].query, cases[i].expect, cases[i].extra);
	}
	struct ac_plan *p;
	struct ac_result *r = run_checks(1, &p, names, bodies, n);
	for (size_t i = 0; i < n; i++)
		expect_sample(r, names[i], cases[i].st, cases[i].reason);
	ck_assert_double_eq(tu_check(r, "c0")->last.value, 100);
	ac_result_destroy(r);
	ac_plan_destroy(p);
	for (size_t i = 0; i < n; i++) {
		free((char *)names[i]);
		free(bodies[i]);
	}
	hs_stop(&s);
}
END_TEST

/* A scrape URL with an IPv6 literal reaches a server listening on ::1
 * (python3's http.server, bound to ::1 only). */
START_TEST(scrape_url_with_an_ipv6_literal)
{
	int lfd, port;
	lfd = tu_listen(&port); /* a free port number for the IPv6 server */
	close(lfd);
	char *dir = tu_fmt("%s/allclear-v6-%d", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
			   (int)getpid());
	char *cmd =
	    tu_fmt("mkdir -p %s && printf 'r_total{code=\"200\"} 5\\n' > %s/metrics", dir, dir);
	ck_assert_int_eq(system(cmd), 0);
	char *ports = tu_fmt("%d", port);
	pid_t pid = fork();
	if (pid == 0) {
		if (chdir(dir) != 0 || !freopen("/dev/null", "w", stderr))
			_exit(127);
		execlp("python3", "python3", "-c",
		       "import http.server,socket,sys\n"
		       "class S(http.server.ThreadingHTTPServer): address_family=socket.AF_INET6\n"
		       "S(('::1',int(sys.argv[1])),http.server.SimpleHTTPRequestHandler)"
		       ".serve_forever()",
		       ports, (char *)NULL);
		_exit(127);
	}
	char *wait = tu_fmt("for i in $(seq 50); do curl -sf -g http://[::1]:%d/metrics >/dev/null "
			    "&& exit 0; sleep 0.1; done; exit 1",
			    port);
	ck_assert_int_eq(system(wait), 0);
	char *json =
	    tu_fmt("{\"settings\": {\"rounds\": 1, \"confirm\": 1}, \"checks\": "
		   "[{\"kind\": \"metric\", \"name\": \"v6\", \"area\": \"code\", "
		   "\"owner\": \"o\", \"scrape\": \"http://[::1]:%d/metrics\", \"metric\": "
		   "\"r_total\", \"expect\": {\"==\": 5}}]}",
		   port);
	struct ac_plan *p;
	struct ac_result *r = tu_run_scenario(json, 1, &p);
	const struct ac_check_result *cr = tu_check(r, "v6");
	ck_assert_msg(cr->state == AC_STATE_PASS, "%s", cr->reason ? cr->reason : "");
	ac_result_destroy(r);
	ac_plan_destroy(p);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	char *rm = tu_fmt("rm -rf %s", dir);
	ck_assert_int_eq(system(rm), 0);
	free(rm);
	free(json);
	free(wait);
	free(ports);
	free(cmd);
	free(dir);
}
END_TEST

static void huge_metrics(int fd, const struct hs_request *q, void *ud)
{
	(void)q;
	(void)ud;
	size_t n = 17 * 1024 * 1024;
	char *body = malloc(n + 1);
	memset(body, '#', n);
	body[n] = '\0';
	hs_reply(fd, 200, "Content-Type: text/plain\r\n", body);
	free(body);
}

/* The scrape's caps are errors naming them, never a cut: labels per series,
 * series per scrape, and the body. */
START_TEST(scrape_caps_are_errors)
{
	struct ac_buf b = AC_BUF_INIT;
	ac_buf_adds(&b, "m{");
	for (int i = 0; i < 33; i++)
		ac_buf_addf(&b, "%sl%d=\"v\"", i ? "," : "", i);
	ac_buf_adds(&b, "} 1\n");
	struct ac_prom_scrape sc;
	struct ac_error err = {0};
	ck_assert_int_eq(ac_prom_parse(b.buf, b.len, false, &sc, &err), -1);
	ck_assert_msg(strstr(err.msg, "more than 32 labels"), "%s", err.msg);
	ac_buf_release(&b);
	for (int i = 0; i <= 200000; i++)
		ac_buf_addf(&b, "m{i=\"%d\"} 1\n", i);
	ck_assert_int_eq(ac_prom_parse(b.buf, b.len, false, &sc, &err), -1);
	ck_assert_msg(strstr(err.msg, "more than 200000 series"), "%s", err.msg);
	ac_buf_release(&b);
	struct hs_server s;
	hs_start(&s, huge_metrics, NULL);
	char *json =
	    tu_fmt("{\"settings\": {\"rounds\": 1, \"confirm\": 1, \"timeout\": \"10s\"}, "
		   "\"checks\": [{\"kind\": \"metric\", \"name\": \"big\", \"area\": "
		   "\"code\", \"owner\": \"o\", \"scrape\": \"http://127.0.0.1:%d/metrics\", "
		   "\"metric\": \"m\", \"expect\": {\">=\": 0}}]}",
		   s.port);
	struct ac_plan *p;
	struct ac_result *r = tu_run_scenario(json, 1, &p);
	const struct ac_check_result *cr = tu_check(r, "big");
	ck_assert_int_eq(cr->state, AC_STATE_ERROR);
	ck_assert_msg(strstr(cr->reason, "scrape: body over 16 MiB"), "%s", cr->reason);
	ac_result_destroy(r);
	ac_plan_destroy(p);
	free(json);
	hs_stop(&s);
}
END_TEST

void metric_scrape_tests(TCase *tc)
{
	tcase_add_test(tc, scrapes_ratio_latency_value_and_failures);
	tcase_add_test(tc, non_finite_counters_are_errors);
	tcase_add_test(tc, new_series_resets_limits_and_repeats);
	tcase_add_test(tc, api_values_caps_and_staleness);
	tcase_add_test(tc, scrape_url_with_an_ipv6_literal);
	tcase_add_test(tc, scrape_caps_are_errors);
}
