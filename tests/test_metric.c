/*
 * test_metric.c: Prometheus parsing and counter arithmetic (pure), metric
 * checks against purpose-built /metrics servers, and PromQL through a real
 * Prometheus server (Debian's prometheus) scraping one of them.
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
	char *cpath = tu_fmt("%s/prometheus.yml", dir);
	FILE *f = fopen(cpath, "w");
	fputs("global:\n  scrape_interval: 1h\n", f);
	fclose(f);
	int pport;
	close(tu_listen(&pport));
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
	free(cpath);
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

static char *ratio_check_x(int port, const char *path, const char *expect, const char *extra)
{
	return tu_fmt("\"scrape\": \"http://127.0.0.1:%d%s\", \"gap\": \"100ms\", "
		      "\"errors\": {\"metric\": \"r_total\", \"match\": {\"code\": \"=~5..\"}}, "
		      "\"total\": {\"metric\": \"r_total\"}, \"expect\": %s%s",
		      port, path, expect, extra);
}

static char *ratio_check(int port, const char *path, const char *expect)
{
	return ratio_check_x(port, path, expect, "");
}

static void expect_sample(const struct ac_result *r, const char *name, enum ac_state st,
			  const char *reason)
{
	const struct ac_check_result *c = tu_check(r, name);
	const char *got = c->last.reason ? c->last.reason : "(none)";
	ck_assert_msg(c->last.state == st, "%s: state %d, wanted %d: %s", name, c->last.state, st,
		      got);
	if (reason)
		ck_assert_msg(strstr(got, reason), "%s: reason \"%s\", wanted \"%s\"", name, got,
			      reason);
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

/* Cumulative counters per scrape: request 0 is round 1's baseline, request
 * k round k. {ok, errors}; ok < 0: HTTP 500. */
static const struct {
	const char *path;
	int c[6][2];
} windowed_scripts[] = {
    /* a spike of 40 errors in round 2 among 200 requests a round */
    {"/win-spike", {{1000, 10}, {1200, 10}, {1360, 50}, {1560, 50}, {1760, 50}, {1960, 50}}},
    /* 4 requests a round, 1 error in round 2; min_requests 10 */
    {"/win-few", {{100, 0}, {104, 0}, {107, 1}, {111, 1}, {115, 1}, {119, 1}}},
    /* 50% errors, then a restart in round 3 and none */
    {"/win-reset", {{1000, 0}, {1100, 100}, {1200, 200}, {200, 0}, {400, 0}, {600, 0}}},
    /* round 2's scrape fails: round 3's increase covers both */
    {"/win-gap", {{1000, 0}, {1200, 0}, {-1, 0}, {1560, 40}, {1760, 40}, {1960, 40}}},
};

static void windowed(int fd, const struct hs_request *q, void *ud)
{
	(void)ud;
	static int served[8];
	for (size_t i = 0; i < sizeof(windowed_scripts) / sizeof(windowed_scripts[0]); i++) {
		if (strcmp(q->path, windowed_scripts[i].path) != 0)
			continue;
		int k = served[i]++;
		if (k > 5)
			k = 5;
		const int *c = windowed_scripts[i].c[k];
		if (c[0] < 0) {
			hs_reply(fd, 500, "", "down\n");
			return;
		}
		char body[128];
		snprintf(body, sizeof(body), "r_total{code=\"200\"} %d\nr_total{code=\"500\"} %d\n",
			 c[0], c[1]);
		hs_reply(fd, 200, "", body);
		return;
	}
	hs_reply(fd, 404, "", "no such script\n");
}

/* The state and value of round k of a check's history. */
static const struct ac_point *round_of(const struct ac_check_result *cr, int k)
{
	for (size_t i = 0; i < cr->history.len; i++) {
		const struct ac_point *p = ac_history_at(&cr->history, i);
		if (p->round == k)
			return p;
	}
	ck_abort_msg("%s: no round %d", cr->id, k);
	return NULL;
}

static void expect_rounds(const struct ac_check_result *cr, const char *states)
{
	for (int k = 1; states[k - 1]; k++) {
		const struct ac_point *p = round_of(cr, k);
		char want = states[k - 1];
		char got = p->state == AC_STATE_PASS ? 'P' : p->state == AC_STATE_FAIL ? 'F' : 'E';
		ck_assert_msg(got == want, "%s round %d: %c, wanted %c (rounds %s)", cr->id, k, got,
			      want, states);
	}
}

/* Error ratios are judged over the confirm window: the increases of the
 * last `confirm` rounds summed, min_requests applied to that sum, the
 * counts shown; each round's own ratio stays in the history. */
START_TEST(error_ratio_over_the_confirm_window)
{
	struct hs_server s;
	hs_start(&s, windowed, NULL);
	char *c[4] = {ratio_check(s.port, "/win-spike", "{\"<=\": 0.05}"),
		      ratio_check_x(s.port, "/win-few", "{\"<=\": 0.1}", ", \"min_requests\": 10"),
		      ratio_check(s.port, "/win-reset", "{\"<=\": 0.05}"),
		      ratio_check(s.port, "/win-gap", "{\"<=\": 0.05}")};
	char *json = tu_fmt(
	    "{\"settings\": {\"rounds\": 5, \"confirm\": 3, \"coverage\": 0.6, \"timeout\": "
	    "\"3s\"}, \"checks\": ["
	    "{\"kind\": \"metric\", \"name\": \"spike\", \"area\": \"code\", \"owner\": \"web\", "
	    "%s},"
	    "{\"kind\": \"metric\", \"name\": \"few\", \"area\": \"code\", \"owner\": \"web\", %s},"
	    "{\"kind\": \"metric\", \"name\": \"reset\", \"area\": \"code\", \"owner\": \"web\", "
	    "%s},"
	    "{\"kind\": \"metric\", \"name\": \"gap\", \"area\": \"code\", \"owner\": \"web\", "
	    "%s}]}",
	    c[0], c[1], c[2], c[3]);
	struct ac_plan *p;
	struct ac_result *r = tu_run_scenario(json, 5, &p);

	/* The spike: 40 of 200 in round 2 fails that round and the two after
	 * (40 of 600 over 3 rounds), then leaves the window. */
	const struct ac_check_result *spike = tu_check(r, "spike");
	expect_rounds(spike, "PFFFP");
	ck_assert_double_eq_tol(round_of(spike, 2)->value, 0.2, 1e-12);
	ck_assert_double_eq(round_of(spike, 3)->value, 0);
	ck_assert_msg(strstr(spike->last_bad.reason,
			     "error ratio 0.0666667, expected <= 0.05 (40 of 600 requests, 6.7%, "
			     "over the last 3 rounds)"),
		      "%s", spike->last_bad.reason);
	ck_assert_msg(strstr(spike->last.evidence, "0 of 600 requests, 0%, over the last 3 rounds "
						   "(this round: 0 of 200, 0%)"),
		      "%s", spike->last.evidence);
	ck_assert_int_eq(spike->state, AC_STATE_FAIL); /* round 4 is within the last 3 */

	/* A few requests a round: no rate from one round, one from three. */
	const struct ac_check_result *few = tu_check(r, "few");
	expect_rounds(few, "EEPPP");
	ck_assert_msg(strstr(few->last_bad.reason,
			     "no traffic: 8 requests over the last 2 rounds (at least 10 needed"),
		      "%s", few->last_bad.reason);
	ck_assert_int_eq(few->state, AC_STATE_PASS);

	/* A restart: the reset round counts from 0 (0 of 200 on its own) and
	 * the errors before it stay in the window. */
	const struct ac_check_result *reset = tu_check(r, "reset");
	expect_rounds(reset, "FFFFP");
	ck_assert_double_eq(round_of(reset, 3)->value, 0);
	ck_assert_msg(strstr(reset->last_bad.evidence, "counters reset in round 3, counted from 0"),
		      "%s", reset->last_bad.evidence);
	ck_assert_msg(strstr(reset->last_bad.reason, "(100 of 600 requests, 17%, over the last 3 "
						     "rounds)"),
		      "%s", reset->last_bad.reason);

	/* A failed scrape: the next increase covers it, nothing is lost. */
	const struct ac_check_result *gap = tu_check(r, "gap");
	expect_rounds(gap, "PEFPP");
	const struct ac_sample *bad = &gap->last_bad;
	ck_assert_int_eq(bad->round, 3);
	ck_assert_msg(strstr(bad->reason, "(40 of 600 requests, 6.7%, over the last 2 rounds)"),
		      "%s", bad->reason);
	ac_result_destroy(r);
	ac_plan_destroy(p);
	free(json);
	for (int i = 0; i < 4; i++)
		free(c[i]);
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
	tcase_add_test(tc, scrapes_ratio_latency_value_and_failures);
	tcase_add_test(tc, promql_through_a_real_prometheus);
	tcase_add_test(tc, non_finite_counters_are_errors);
	tcase_add_test(tc, new_series_resets_limits_and_repeats);
	tcase_add_test(tc, error_ratio_over_the_confirm_window);
	tcase_add_test(tc, api_values_caps_and_staleness);
	tcase_add_test(tc, scrape_url_with_an_ipv6_literal);
	tcase_add_test(tc, scrape_caps_are_errors);
	suite_add_tcase(s, tc);
	return tu_main(s);
}
