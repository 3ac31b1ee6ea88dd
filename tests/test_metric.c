/*
 * test_metric.c: Prometheus parsing and counter arithmetic (pure), metric
 * checks against purpose-built /metrics servers, and PromQL through a real
 * Prometheus server (Debian's prometheus) scraping one of them.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hostile.h"
#include "prom.h"
#include "testutil.h"

START_TEST(parse_text_and_openmetrics)
{
	const char *t = "# HELP x_total Requests.\n# TYPE x_total counter\n"
			"x_total{code=\"200\",path=\"/a\\\"b\",} 10 1700000000000\n"
			"x_total{code=\"503\"} 2\n  \ny_gauge NaN\nz +Inf\n";
	struct ac_prom_scrape sc;
	struct ac_error err = {0};
	ck_assert_int_eq(ac_prom_parse(t, strlen(t), false, &sc, &err), 0);
	ck_assert_int_eq(sc.n, 4);
	ck_assert_str_eq(ac_prom_label(&sc.s[0], "path"), "/a\"b");
	ck_assert_str_eq(sc.s[0].key, "x_total{code=\"200\",path=\"/a\"b\"}");
	ac_prom_scrape_release(&sc);
	const char *om =
	    "# TYPE x counter\nx_total 5 # {trace_id=\"a\"} 1.0\nx_created 1.7e9\n# EOF\n";
	ck_assert_int_eq(ac_prom_parse(om, strlen(om), true, &sc, &err), 0);
	ck_assert_int_eq(sc.n, 2);
	ac_prom_scrape_release(&sc);
	const char *cut = "# TYPE x counter\nx_total 5\n";
	ck_assert_int_eq(ac_prom_parse(cut, strlen(cut), true, &sc, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "# EOF"));
	const char *bad[] = {"x{a=\"1} 1\n", "x{a=1} 1\n", "x 1x\n", "x{a=\"\\q\"} 1\n", "{} 1\n"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(ac_prom_parse(bad[i], strlen(bad[i]), false, &sc, &err) == -1, "%s",
			      bad[i]);
	/* Truncations of a valid scrape never crash. */
	const char *ok = "x_total{code=\"200\",path=\"/a\"} 10\nh_bucket{le=\"+Inf\"} 3\n";
	for (size_t n = 0; n <= strlen(ok); n++) {
		if (ac_prom_parse(ok, n, false, &sc, &err) == 0)
			ac_prom_scrape_release(&sc);
	}
}
END_TEST

START_TEST(matchers_are_anchored_and_counters_reset)
{
	const char *a =
	    "r_total{code=\"200\"} 100\nr_total{code=\"500\"} 10\nr_total{code=\"1500\"} 7\n";
	const char *b = "r_total{code=\"200\"} 150\nr_total{code=\"500\"} "
			"4\nr_total{code=\"1500\"} 9\nr_total{code=\"502\"} 3\n";
	struct ac_prom_scrape x, y;
	struct ac_error err = {0};
	ck_assert_int_eq(ac_prom_parse(a, strlen(a), false, &x, &err), 0);
	ck_assert_int_eq(ac_prom_parse(b, strlen(b), false, &y, &err), 0);
	struct ac_prom_matcher m;
	ck_assert_int_eq(ac_prom_matcher_init(&m, "code", "=~5..", &err), 0);
	size_t n;
	/* 500 reset to 4 counts 4; 1500 does not match the anchored 5..; 502 is new: skipped */
	ck_assert_double_eq(ac_prom_increase(&x, &y, "r_total", &m, 1, &n), 4);
	ck_assert_int_eq(n, 1);
	ac_prom_matcher_release(&m);
	ck_assert_double_eq(ac_prom_increase(&x, &y, "r_total", NULL, 0, &n), 50 + 4 + 2);
	ck_assert_int_eq(ac_prom_matcher_init(&m, "code", "!~2..", &err), 0);
	ck_assert_double_eq(ac_prom_increase(&x, &y, "r_total", &m, 1, &n), 6);
	ac_prom_matcher_release(&m);
	ck_assert_int_eq(ac_prom_matcher_init(&m, "code", "=~(", &err), -1);
	ac_prom_matcher_release(&m);
	ac_prom_scrape_release(&x);
	ac_prom_scrape_release(&y);
}
END_TEST

START_TEST(histogram_quantile_interpolates)
{
	const char *a = "h_bucket{le=\"0.1\"} 0\nh_bucket{le=\"0.5\"} 0\nh_bucket{le=\"1\"} "
			"0\nh_bucket{le=\"+Inf\"} 0\n";
	const char *b = "h_bucket{le=\"0.1\"} 50\nh_bucket{le=\"0.5\"} 90\nh_bucket{le=\"1\"} "
			"100\nh_bucket{le=\"+Inf\"} 100\n";
	struct ac_prom_scrape x, y;
	struct ac_error err = {0};
	ac_prom_parse(a, strlen(a), false, &x, &err);
	ac_prom_parse(b, strlen(b), false, &y, &err);
	double v = 0, c = 0;
	const char *why = NULL;
	ck_assert_int_eq(ac_prom_quantile(&x, &y, "h", NULL, 0, 0.5, &v, &c, &why), 0);
	ck_assert_double_eq_tol(v, 0.1, 1e-9);
	ck_assert_int_eq(ac_prom_quantile(&x, &y, "h", NULL, 0, 0.95, &v, &c, &why), 0);
	ck_assert_double_eq_tol(v, 0.75, 1e-9);
	ck_assert_double_eq(c, 100);
	/* no observations in between: no traffic, not a zero latency */
	ck_assert_int_eq(ac_prom_quantile(&y, &y, "h", NULL, 0, 0.95, &v, &c, &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "no traffic"));
	ac_prom_scrape_release(&x);
	ac_prom_scrape_release(&y);
}
END_TEST

/* A /metrics server whose counters move with every scrape: 100 requests
 * and 10 errors per scrape, latency in the first bucket; /nan serves NaN,
 * /flat never moves, /cut serves OpenMetrics without # EOF, /500 fails. */
static void metrics(int fd, const struct hs_request *q, void *ud)
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

#define M(name, body)                                                                              \
	"{\"kind\": \"metric\", \"name\": \"" name                                                 \
	"\", \"area\": \"code\", \"owner\": \"web\", " body "}"

START_TEST(scrapes_ratio_latency_value_and_failures)
{
	struct hs_server s;
	hs_start(&s, metrics, NULL);
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

START_TEST(promql_through_a_real_prometheus)
{
	struct hs_server s;
	hs_start(&s, metrics, NULL);
	int pport;
	close(tu_listen(&pport));
	char *dir = tu_fmt("%s/allclear-prom-%d", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
			   (int)getpid());
	char *mk = tu_fmt("rm -rf %s && mkdir -p %s", dir, dir);
	ck_assert_int_eq(system(mk), 0);
	char *conf = tu_fmt("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: shop\n"
			    "    static_configs:\n      - targets: ['127.0.0.1:%d']\n",
			    s.port);
	char *cpath = tu_fmt("%s/prometheus.yml", dir);
	FILE *f = fopen(cpath, "w");
	fputs(conf, f);
	fclose(f);
	pid_t pid = fork();
	if (pid == 0) {
		char *cfg = tu_fmt("--config.file=%s", cpath),
		     *db = tu_fmt("--storage.tsdb.path=%s/data", dir);
		char *listen = tu_fmt("--web.listen-address=127.0.0.1:%d", pport);
		if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr))
			_exit(127);
		execlp("prometheus", "prometheus", cfg, db, listen, (char *)NULL);
		_exit(127);
	}
	/* Wait until it has a rate to give (two scrapes), at most 30 s. */
	char *wait =
	    tu_fmt("for i in $(seq 150); do curl -sf "
		   "'http://127.0.0.1:%d/api/v1/query?query=count(rate(req_total%%5B5s%%5D)%%3E0)' "
		   "| grep -q '\"value\":\\[[0-9.]*,\"2\"\\]' && exit 0; sleep 0.2; done; exit 1",
		   pport);
	ck_assert_msg(system(wait) == 0, "prometheus did not come up with data");
	/* clang-format off */
	/* clang-format off */
	char *json = tu_fmt(
	    "{\"settings\": {\"rounds\": 1, \"confirm\": 1, \"timeout\": \"3s\"}, \"checks\": "
	    "[" M("ratio",
		  "\"prometheus\": \"http://127.0.0.1:%d\","
		  " \"query\": \"sum(rate(req_total{code=~\\\"5..\\\"}[5s])) / "
		  "sum(rate(req_total[5s]))\","
		  " \"expect\": {\"<=\": 0.05}") "," M("empty",
						       "\"prometheus\": "
						       "\"http://127.0.0.1:%d\", \"query\": "
						       "\"nothing_here_total\", \"expect\": "
						       "{\"<=\": 1}") "," M("bad",
									    "\"prometheu"
									    "s\": "
									    "\"http://"
									    "127.0.0.1:%"
									    "d\", "
									    "\"query\": "
									    "\"sum(\", "
									    "\"expect\":"
									    " {\"<=\": "
									    "1}") "," M("nan",
											"\"promethe"
											"us\": "
											"\"http://"
											"127.0.0.1:"
											"%d\", "
											"\"query\":"
											" \"0/0\", "
											"\"expect\""
											": "
											"{\"<=\": "
											"1}") "]}",
	    pport, pport, pport, pport);
	/* clang-format on */
	/* clang-format on */
	struct ac_plan *p;
	struct ac_result *r = tu_run_scenario(json, 1, &p);
	const struct ac_check_result *ratio = tu_check(r, "ratio");
	ck_assert_msg(ratio->state == AC_STATE_FAIL && ratio->last.value > 0.09 &&
			  ratio->last.value < 0.11,
		      "%s %g", ratio->reason ? ratio->reason : "", ratio->last.value);
	ck_assert_msg(strstr(tu_check(r, "empty")->reason, "no data"), "%s",
		      tu_check(r, "empty")->reason);
	ck_assert_msg(strstr(tu_check(r, "bad")->reason, "bad_data"), "%s",
		      tu_check(r, "bad")->reason);
	ck_assert_int_eq(tu_check(r, "nan")->state, AC_STATE_ERROR);
	ac_result_destroy(r);
	ac_plan_destroy(p);
	/* Prometheus down: the checks could not measure; never a pass. */
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	r = tu_run_scenario(json, 1, &p);
	for (size_t i = 0; i < r->nchecks; i++)
		ck_assert_int_eq(r->checks[i].state, AC_STATE_ERROR);
	ck_assert_int_eq(r->verdict, AC_INCONCLUSIVE);
	ac_result_destroy(r);
	ac_plan_destroy(p);
	char *rm = tu_fmt("rm -rf %s", dir);
	ck_assert_int_eq(system(rm), 0);
	free(rm);
	free(json);
	free(wait);
	free(cpath);
	free(conf);
	free(mk);
	free(dir);
	hs_stop(&s);
}
END_TEST

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	Suite *s = suite_create("metric");
	TCase *tc = tcase_create("metric");
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, parse_text_and_openmetrics);
	tcase_add_test(tc, matchers_are_anchored_and_counters_reset);
	tcase_add_test(tc, histogram_quantile_interpolates);
	tcase_add_test(tc, scrapes_ratio_latency_value_and_failures);
	tcase_add_test(tc, promql_through_a_real_prometheus);
	suite_add_tcase(s, tc);
	return tu_main(s);
}
