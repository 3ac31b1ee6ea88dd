/*
 * test_metric.c: Prometheus parsing and counter arithmetic (pure), the
 * same sequences and PromQL through a real Prometheus server (Debian's
 * prometheus), and the suite. Metric checks against purpose-built /metrics
 * servers are in test_metric_scrape.c.
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
	ck_assert_str_eq(sc.s[0].key, "x_total{code=\"200\",path=\"/a\\\"b\"}");
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

static double inc(const struct ac_prom_scrape *x, const struct ac_prom_scrape *y, const char *name,
		  const struct ac_prom_matcher *m, size_t n, size_t *nseries)
{
	struct ac_prom_increase out;
	struct ac_error err = {0};
	ck_assert_msg(ac_prom_increase(x, y, name, m, n, &out, NULL, &err) == 0, "%s", err.msg);
	*nseries = out.nseries;
	return out.sum;
}

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
	/* 500 reset to 4 counts 4; 1500 does not match the anchored 5..; 502 is
	 * new since the last scrape: its 3 count from 0 */
	ck_assert_double_eq(inc(&x, &y, "r_total", &m, 1, &n), 4 + 3);
	ck_assert_int_eq(n, 2);
	ac_prom_matcher_release(&m);
	ck_assert_double_eq(inc(&x, &y, "r_total", NULL, 0, &n), 50 + 4 + 2 + 3);
	ck_assert_int_eq(ac_prom_matcher_init(&m, "code", "!~2..", &err), 0);
	ck_assert_double_eq(inc(&x, &y, "r_total", &m, 1, &n), 4 + 2 + 3);
	ac_prom_matcher_release(&m);
	ck_assert_int_eq(ac_prom_matcher_init(&m, "code", "=~(", &err), -1);
	ac_prom_matcher_release(&m);
	ac_prom_scrape_release(&x);
	ac_prom_scrape_release(&y);
}
END_TEST

START_TEST(numbers_and_malformed_lines)
{
	static const struct {
		const char *text;
		double value; /* NAN: expect NaN */
	} good[] = {
	    {"x 1\n", 1},
	    {"x -2.5e3\n", -2500},
	    {"x +Inf\n", INFINITY},
	    {"x -Inf\n", -INFINITY},
	    {"x NaN\n", NAN},
	    {"x 1e999\n", INFINITY},
	    {"x -1e999\n", -INFINITY},
	    {"x .5\n", 0.5},
	    {"x 5.\n", 5},
	    {"x 1 1700000000000\n", 1},
	    {"x 1 -5\n", 1},
	    {"x 7 \n", 7},
	    {"x{a=\"\"} 3\n", 3},
	};
	struct ac_prom_scrape sc;
	struct ac_error err = {0};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ck_assert_msg(ac_prom_parse(good[i].text, strlen(good[i].text), false, &sc, &err) ==
				  0,
			      "%s: %s", good[i].text, err.msg);
		ck_assert_int_eq(sc.n, 1);
		if (isnan(good[i].value))
			ck_assert_msg(isnan(sc.s[0].value), "%s", good[i].text);
		else
			ck_assert_msg(sc.s[0].value == good[i].value, "%s: %g", good[i].text,
				      sc.s[0].value);
		ac_prom_scrape_release(&sc);
	}
	/* Never a number from these: the whole scrape is refused. */
	static const struct {
		const char *text, *why;
	} bad[] = {
	    {"x 0x10\n", "line 1 is not a valid sample: the value is not a number"},
	    {"x nan(1)\n", "the value is not a number"},
	    {"x 1e\n", "the value is not a number"},
	    {"x infinite\n", "the value is not a number"},
	    {"x -\n", "the value is not a number"},
	    {"x 1_000\n", "the value is not a number"},
	    {"x\n", "line 1 is not a valid sample"},
	    {"ok 1\nx 1 2 3\n", "line 2 is not a valid sample: text after the value"},
	    {"x 1 1.5\n", "the timestamp is not a number"},
	    {"x 1 NaN\n", "the timestamp is not a number"},
	    {"x 1 # {a=\"b\"} 1\n", "line 1 is not a valid sample: text after the value"},
	    {"x{a=\"1\",a=\"2\"} 1\n", "a label given twice"},
	    {"x{a=\"1\"} 1\nx{a=\"2\"} 2\n\nx{a=\"1\"} 3\n",
	     "x{a=\"1\"} appears twice (lines 1 and 4)"},
	    {"x{a=\"\"} 1\nx 2\n", "x{} appears twice (lines 1 and 2)"},
	    {"x{b=\"2\",a=\"1\"} 1\nx{a=\"1\",b=\"2\"} 2\n", "appears twice (lines 1 and 2)"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(ac_prom_parse(bad[i].text, strlen(bad[i].text), false, &sc, &err) ==
				  -1,
			      "accepted %s", bad[i].text);
		ck_assert_msg(strstr(err.msg, bad[i].why), "%s: %s", bad[i].text, err.msg);
	}
	/* OpenMetrics: float-second timestamps and exemplars; nothing after # EOF */
	const char *om = "x_total 5 1700000000.5 # {trace_id=\"a\"} 1.0\n# EOF\n";
	ck_assert_int_eq(ac_prom_parse(om, strlen(om), true, &sc, &err), 0);
	ck_assert(sc.s[0].has_ts);
	ck_assert_double_eq(sc.s[0].ts_ms, 1700000000500.0);
	ac_prom_scrape_release(&sc);
	const char *after = "x_total 5\n# EOF\nx_total 6\n";
	ck_assert_int_eq(ac_prom_parse(after, strlen(after), true, &sc, &err), -1);
	ck_assert_msg(strstr(err.msg, "line 3: text after \"# EOF\""), "%s", err.msg);
	/* Label values that look alike when unescaped are two series. */
	const char *esc = "c{a=\"x\\\",b=\\\"y\"} 5\nc{a=\"x\",b=\"y\"} 7\n";
	ck_assert_msg(ac_prom_parse(esc, strlen(esc), false, &sc, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(sc.n, 2);
	ac_prom_scrape_release(&sc);
	/* The API's number strings go through the same reader. */
	double v;
	ck_assert_int_eq(ac_prom_number("1e999", 5, &v), 0);
	ck_assert(isinf(v) && v > 0);
	ck_assert_int_eq(ac_prom_number(" 1", 2, &v), -1);
	ck_assert_int_eq(ac_prom_number("", 0, &v), -1);
	ck_assert_int_eq(ac_prom_number("0x1p3", 5, &v), -1);
}
END_TEST

/* Scrape sequences of one endpoint, 10 s apart, and the increase the probe
 * adds up round by round (each scrape against the one before), derived by
 * hand. `prom` is what increase() over the same samples in a real
 * Prometheus (2.42) answers, checked by increase_matches_prometheus: the
 * same number (SAME) wherever a series is present at both ends of the
 * window, since resets are counted alike; fewer where a series appears
 * inside the window, because Prometheus leaves out a new series' first
 * value (10 of 45, 3 of 9, 10 of 50), and fewer where only _created shows
 * a restart (2.42 does not read _created). The probe counts those. */
#define SAME (-1.0)
#define NOPROM (-2.0) /* error cases: not compared */
static const struct seq_case {
	const char *what;
	const char *scrapes[5];
	const char *match; /* code matcher, or NULL for all */
	double want;
	size_t nnew, nreset;
	const char *error; /* expected error instead */
	double prom;
} seq_cases[] = {
    /* clang-format off */
    {"steady", {"c_total 10", "c_total 15", "c_total 30"}, NULL, 20, 0, 0, NULL, SAME},
    {"appears after the baseline",
     {"c_total{code=\"200\"} 1", "c_total{code=\"200\"} 1\nc_total{code=\"500\"} 40",
      "c_total{code=\"200\"} 1\nc_total{code=\"500\"} 45"},
     "=~5..", 45, 1, 0, NULL, 10},
    {"in the baseline: history, not new",
     {"c_total{code=\"500\"} 1000", "c_total{code=\"500\"} 1000", "c_total{code=\"500\"} 1003"},
     "=~5..", 3, 0, 0, NULL, SAME},
    {"vanishes, comes back from 0", {"c_total 10", "other 1", "c_total 4", "c_total 6"}, NULL,
     6, 1, 0, NULL, SAME},
    {"resets twice", {"c_total 100", "c_total 130", "c_total 5", "c_total 25", "c_total 1"},
     NULL, 56, 0, 2, NULL, SAME},
    {"reset to zero", {"c_total 100", "c_total 0", "c_total 7"}, NULL, 7, 0, 1, NULL, SAME},
    /* a restart that grew past the old value cannot be seen without _created */
    {"reset hidden by growth", {"c_total 100", "c_total 150"}, NULL, 50, 0, 0, NULL, SAME},
    {"one resets, one new", {"a_total{x=\"1\"} 10", "a_total{x=\"1\"} 3\na_total{x=\"2\"} 6"},
     NULL, 9, 1, 1, NULL, 3},
    {"restart burst",
     {"c_total{code=\"200\"} 1000", "c_total{code=\"200\"} 10\nc_total{code=\"500\"} 40"},
     NULL, 50, 1, 1, NULL, 10},
    {"empty label is no label", {"c_total{code=\"\"} 5", "c_total 8"}, NULL, 3, 0, 0, NULL,
     SAME},
    {"label order", {"c{a=\"1\",b=\"2\"} 5", "c{b=\"2\",a=\"1\"} 9"}, NULL, 4, 0, 0, NULL, SAME},
    {"unmatched series ignored, even NaN",
     {"c_total{code=\"500\"} 1\nc_total{code=\"200\"} NaN",
      "c_total{code=\"500\"} 2\nc_total{code=\"200\"} NaN"},
     "=~5..", 1, 0, 0, NULL, SAME},
    {"restart told by _created", {"c_total 100\nc_created 1000", "c_total 150\nc_created 2000"},
     NULL, 150, 0, 1, NULL, 50},
    {"same _created: no reset", {"c_total 100\nc_created 1000", "c_total 150\nc_created 1000"},
     NULL, 50, 0, 0, NULL, SAME},
    {"repeated within one scrape", {"c_total 1", "c_total 2\nc_total 2"}, NULL, 0, 0, 0,
     "appears twice", NOPROM},
    {"NaN now", {"c_total 1", "c_total NaN"}, NULL, 0, 0, 0, "is NaN: c_total{} on line 1",
     NOPROM},
    {"NaN before", {"c_total NaN", "c_total 3"}, NULL, 0, 0, 0,
     "was NaN in the previous scrape: c_total{} on line 1", NOPROM},
    {"-Inf now", {"c_total 1", "x 1\nc_total -Inf"}, NULL, 0, 0, 0,
     "is -Inf: c_total{} on line 2", NOPROM},
    {"negative now", {"c_total 1", "c_total -3"}, NULL, 0, 0, 0,
     "is -3, below zero: c_total{} on line 1", NOPROM},
    {"overflow now", {"c_total 1", "c_total 1e999"}, NULL, 0, 0, 0,
     "is +Inf: c_total{} on line 1", NOPROM},
    /* clang-format on */
};

static const char *seq_name(const struct seq_case *c)
{
	return strncmp(c->scrapes[0], "a_", 2) == 0 ? "a_total"
	       : c->scrapes[0][1] == '{'	    ? "c"
						    : "c_total";
}

START_TEST(increase_over_scrape_sequences)
{
	const struct seq_case *cases = seq_cases;
	for (size_t i = 0; i < sizeof(seq_cases) / sizeof(seq_cases[0]); i++) {
		struct ac_prom_matcher m;
		struct ac_error err = {0};
		size_t nm = 0;
		if (cases[i].match) {
			ck_assert_int_eq(ac_prom_matcher_init(&m, "code", cases[i].match, &err), 0);
			nm = 1;
		}
		const char *name = seq_name(&cases[i]);
		struct ac_prom_scrape prev, cur;
		ck_assert_int_eq(ac_prom_parse(cases[i].scrapes[0], strlen(cases[i].scrapes[0]),
					       false, &prev, &err),
				 0);
		double sum = 0;
		size_t nnew = 0, nreset = 0;
		bool failed = false;
		for (size_t k = 1; k < 5 && cases[i].scrapes[k] && !failed; k++) {
			const char *t = cases[i].scrapes[k];
			struct ac_prom_increase out;
			if (ac_prom_parse(t, strlen(t), false, &cur, &err) < 0) {
				failed = true;
				break;
			}
			if (ac_prom_increase(&prev, &cur, name, nm ? &m : NULL, nm, &out, NULL,
					     &err) < 0)
				failed = true;
			sum += out.sum;
			nnew += out.nnew;
			nreset += out.nreset;
			ac_prom_scrape_release(&prev);
			prev = cur;
		}
		ac_prom_scrape_release(&prev);
		if (nm)
			ac_prom_matcher_release(&m);
		if (cases[i].error) {
			ck_assert_msg(failed && strstr(err.msg, cases[i].error), "%s: %s",
				      cases[i].what, failed ? err.msg : "no error");
			continue;
		}
		ck_assert_msg(!failed, "%s: %s", cases[i].what, err.msg);
		ck_assert_msg(
		    sum == cases[i].want && nnew == cases[i].nnew && nreset == cases[i].nreset,
		    "%s: increase %g new %zu reset %zu", cases[i].what, sum, nnew, nreset);
	}
	/* The evidence names what was new. */
	const char *a = "r_total{code=\"200\"} 1000\n",
		   *b = "r_total{code=\"200\"} 10\nr_total{code=\"500\"} 40\n";
	struct ac_prom_scrape x, y;
	struct ac_error err = {0};
	ck_assert_int_eq(ac_prom_parse(a, strlen(a), false, &x, &err), 0);
	ck_assert_int_eq(ac_prom_parse(b, strlen(b), false, &y, &err), 0);
	struct ac_buf notes = AC_BUF_INIT;
	struct ac_prom_increase out;
	ck_assert_int_eq(ac_prom_increase(&x, &y, "r_total", NULL, 0, &out, &notes, &err), 0);
	ck_assert_str_eq(notes.buf,
			 "reset since the last scrape, counted from 0: r_total{code=\"200\"} 10\n"
			 "new series since the last scrape, counted from 0: r_total{code=\"500\"} "
			 "40\n");
	ac_buf_release(&notes);
	ac_prom_scrape_release(&x);
	ac_prom_scrape_release(&y);
}
END_TEST

/* --- the sequences against a real Prometheus ------------------------------ */

struct om_point {
	char *series;
	char *value;
	long ts;
};

static int cmp_point(const void *a, const void *b)
{
	const struct om_point *x = a, *y = b;
	int c = strcmp(x->series, y->series);
	return c ? c : (x->ts > y->ts) - (x->ts < y->ts);
}

/* seq_cases as one OpenMetrics file: a case="i" label on every series,
 * scrape k at t0 + 10k s, series together and in time order. */
static void write_cases_om(const char *path, long t0)
{
	struct om_point *pt = NULL;
	size_t n = 0, alloc = 0;
	for (size_t i = 0; i < sizeof(seq_cases) / sizeof(seq_cases[0]); i++) {
		if (seq_cases[i].prom == NOPROM)
			continue;
		for (size_t k = 0; k < 5 && seq_cases[i].scrapes[k]; k++) {
			const char *l = seq_cases[i].scrapes[k];
			while (*l) {
				size_t len = strcspn(l, "\n"), name = strcspn(l, "{ ");
				const char *sp = memchr(l + name, ' ', len - name);
				ck_assert_ptr_nonnull(sp);
				AC_GROW(pt, n + 1, alloc);
				if (l[name] == '{')
					pt[n].series =
					    tu_fmt("%.*s{case=\"%zu\",%.*s", (int)name, l, i,
						   (int)(sp - l - name - 1), l + name + 1);
				else
					pt[n].series =
					    tu_fmt("%.*s{case=\"%zu\"}", (int)name, l, i);
				pt[n].value =
				    tu_fmt("%.*s", (int)(len - (size_t)(sp + 1 - l)), sp + 1);
				pt[n].ts = t0 + 10 * (long)k;
				n++;
				l += len;
				if (*l == '\n')
					l++;
			}
		}
	}
	qsort(pt, n, sizeof(*pt), cmp_point);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "%s %s %ld\n", pt[i].series, pt[i].value, pt[i].ts);
		free(pt[i].series);
		free(pt[i].value);
	}
	fputs("# EOF\n", f);
	fclose(f);
	free(pt);
}

/* A Prometheus on 127.0.0.1:*port (a free port) with the configuration
 * conf, written to dir/prometheus.yml, and its data in dir/data. */
static pid_t start_prometheus(const char *dir, const char *conf, int *port)
{
	char *cpath = tu_fmt("%s/prometheus.yml", dir);
	FILE *f = fopen(cpath, "w");
	ck_assert_ptr_nonnull(f);
	fputs(conf, f);
	fclose(f);
	close(tu_listen(port));
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char *cfg = tu_fmt("--config.file=%s", cpath),
		     *db = tu_fmt("--storage.tsdb.path=%s/data", dir);
		char *listen = tu_fmt("--web.listen-address=127.0.0.1:%d", *port);
		if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr))
			_exit(127);
		execlp("prometheus", "prometheus", cfg, db, listen, (char *)NULL);
		_exit(127);
	}
	free(cpath);
	return pid;
}

START_TEST(increase_matches_prometheus)
{
	char *dir = tu_fmt("%s/allclear-promseq-%d", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
			   (int)getpid());
	char *mk = tu_fmt("rm -rf %s && mkdir -p %s", dir, dir);
	ck_assert_int_eq(system(mk), 0);
	long t0 = ((long)time(NULL) - 1800) / 10 * 10;
	char *om = tu_fmt("%s/cases.om", dir);
	write_cases_om(om, t0);
	char *imp = tu_fmt("promtool tsdb create-blocks-from openmetrics %s %s/data >%s/import.log "
			   "2>&1",
			   om, dir, dir);
	ck_assert_msg(system(imp) == 0, "promtool could not import %s", om);
	int pport;
	pid_t pid = start_prometheus(dir, "global:\n  scrape_interval: 1h\n", &pport);
	char *wait = tu_fmt("for i in $(seq 100); do curl -sf http://127.0.0.1:%d/-/ready "
			    ">/dev/null && exit 0; sleep 0.2; done; exit 1",
			    pport);
	bool up = system(wait) == 0;
	for (size_t i = 0; up && i < sizeof(seq_cases) / sizeof(seq_cases[0]); i++) {
		const struct seq_case *c = &seq_cases[i];
		if (c->prom == NOPROM)
			continue;
		size_t ns = 0;
		while (ns < 5 && c->scrapes[ns])
			ns++;
		long range = 10 * (long)(ns - 1), at = t0 + range;
		char *q = tu_fmt("sum(increase(%s{case=\"%zu\"%s%s%s}[%lds]))", seq_name(c), i,
				 c->match ? ",code=~\"" : "", c->match ? c->match + 2 : "",
				 c->match ? "\"" : "", range);
		char *cmd = tu_fmt("curl -sf --max-time 10 --get --data-urlencode 'query=%s' "
				   "--data-urlencode 'time=%ld' http://127.0.0.1:%d/api/v1/query",
				   q, at, pport);
		FILE *pp = popen(cmd, "r");
		struct ac_buf body = AC_BUF_INIT;
		char chunk[4096];
		size_t got;
		while (pp && (got = fread(chunk, 1, sizeof(chunk), pp)) > 0)
			ac_buf_add(&body, chunk, got);
		if (pp)
			pclose(pp);
		double v = NAN;
		size_t nseries = 0;
		struct ac_error err = {0};
		int rc = ac_prom_api_read(body.buf, body.len, 200, AC_PROM_SUM, at * 1000, 60000,
					  &v, &nseries, &err);
		double want = c->prom == SAME ? c->want : c->prom;
		bool ok = rc == 0 && fabs(v - want) < 1e-9;
		if (!ok)
			fprintf(stderr, "%s: %s -> %s\n", c->what, q, body.buf);
		ac_buf_release(&body);
		free(cmd);
		free(q);
		if (!ok) {
			kill(pid, SIGTERM);
			waitpid(pid, NULL, 0);
		}
		ck_assert_msg(ok, "%s: Prometheus says %g (%s), the table %g", c->what, v,
			      rc ? err.msg : "ok", want);
	}
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	ck_assert_msg(up, "prometheus did not come up on the imported blocks");
	char *rm = tu_fmt("rm -rf %s", dir);
	ck_assert_int_eq(system(rm), 0);
	free(rm);
	free(wait);
	free(imp);
	free(om);
	free(mk);
	free(dir);
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
	struct ac_prom_quantile pq;
	ck_assert_int_eq(ac_prom_quantile(&x, &y, "h", NULL, 0, 0.5, &pq, &err), 0);
	ck_assert_double_eq_tol(pq.value, 0.1, 1e-9);
	ck_assert_int_eq(ac_prom_quantile(&x, &y, "h", NULL, 0, 0.95, &pq, &err), 0);
	ck_assert_double_eq_tol(pq.value, 0.75, 1e-9);
	ck_assert_double_eq(pq.count, 100);
	ck_assert(!pq.above);
	/* no observations in between: no traffic, not a zero latency */
	ck_assert_int_eq(ac_prom_quantile(&y, &y, "h", NULL, 0, 0.95, &pq, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "no traffic"));
	/* the top 5% above the highest finite bucket: only a lower bound */
	const char *c = "h_bucket{le=\"0.1\"} 50\nh_bucket{le=\"0.5\"} 90\nh_bucket{le=\"1\"} "
			"94\nh_bucket{le=\"+Inf\"} 100\n";
	struct ac_prom_scrape z;
	ck_assert_int_eq(ac_prom_parse(c, strlen(c), false, &z, &err), 0);
	ck_assert_int_eq(ac_prom_quantile(&x, &z, "h", NULL, 0, 0.95, &pq, &err), 0);
	ck_assert(pq.above);
	ck_assert_double_eq(pq.value, 1);
	ac_prom_scrape_release(&z);
	/* a bucket without a numeric le, or NaN, is refused */
	const char *d = "h_bucket{le=\"x\"} 5\nh_bucket{le=\"+Inf\"} 100\n";
	ck_assert_int_eq(ac_prom_parse(d, strlen(d), false, &z, &err), 0);
	ck_assert_int_eq(ac_prom_quantile(&x, &z, "h", NULL, 0, 0.95, &pq, &err), -1);
	ck_assert_msg(strstr(err.msg, "without a numeric le: h_bucket{le=\"x\"} on line 1"), "%s",
		      err.msg);
	ac_prom_scrape_release(&z);
	ac_prom_scrape_release(&x);
	ac_prom_scrape_release(&y);
}
END_TEST

START_TEST(promql_through_a_real_prometheus)
{
	struct hs_server s;
	hs_start(&s, metric_server, NULL);
	char *dir = tu_fmt("%s/allclear-prom-%d", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
			   (int)getpid());
	char *mk = tu_fmt("rm -rf %s && mkdir -p %s", dir, dir);
	ck_assert_int_eq(system(mk), 0);
	char *conf = tu_fmt("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: shop\n"
			    "    static_configs:\n      - targets: ['127.0.0.1:%d']\n",
			    s.port);
	int pport;
	pid_t pid = start_prometheus(dir, conf, &pport);
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
	tcase_add_test(tc, numbers_and_malformed_lines);
	tcase_add_test(tc, increase_over_scrape_sequences);
	tcase_add_test(tc, increase_matches_prometheus);
	tcase_add_test(tc, histogram_quantile_interpolates);
	tcase_add_test(tc, promql_through_a_real_prometheus);
	metric_scrape_tests(tc);
	metric_window_tests(tc);
	suite_add_tcase(s, tc);
	return tu_main(s);
}
