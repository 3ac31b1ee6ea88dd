/*
 * test_html.c: the HTML report (report/html.c).
 *
 * A tree with checks of every state, values, rounds without a value and
 * text special to HTML is written to a file, then: the file is well formed
 * (Python's HTML parser, every element closed in order), loads nothing
 * from anywhere (no src, href, url(), @import, link or script), escapes
 * what is markup, and renders in Debian's headless Chromium, whose DOM has
 * the verdict and one chart per valued check with one point per value.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../report/report.h"
#include "testutil.h"
#include "util.h"

static void add_points(struct ac_check_result *cr, const double *values, const bool *has,
		       const enum ac_state *states, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct ac_point p = {.t_ms = (int64_t)i * 1000,
				     .round = (int)i + 1,
				     .value = values ? values[i] : 0,
				     .has_value = has ? has[i] : false,
				     .state = (unsigned char)states[i]};
		ac_history_add(&cr->history, &p);
	}
}

/* Three checks: a queue with values (one round unmeasured), a journey
 * without values, a data count that passes; names with markup in them. */
static struct ac_result *tree(void)
{
	struct ac_result *r = ac_calloc(1, sizeof(*r));
	r->scenario_name = ac_strdup("shop <after> v42 & \"friends\"");
	r->mode = ac_strdup("watch");
	r->verdict = AC_NOT_RESTORED;
	r->verdict_reason = ac_strdup("2 of 3 checks not restored");
	r->rounds = 6;
	r->started_wall_ms = 1790000000000;
	r->ended_wall_ms = 1790000060000;
	r->nchecks = 3;
	r->checks = ac_calloc(3, sizeof(*r->checks));
	static const enum ac_state st6[] = {AC_STATE_FAIL, AC_STATE_FAIL, AC_STATE_ERROR,
					    AC_STATE_FAIL, AC_STATE_FAIL, AC_STATE_FAIL};
	static const double depth[] = {900, 700, 0, 410, 260, 120};
	static const bool has[] = {true, true, false, true, true, true};
	struct ac_check_result *q = &r->checks[0];
	q->id = ac_strdup("payments queue drains");
	q->kind = ac_strdup("queue");
	q->area = ac_strdup("jobs");
	q->area_order = 2;
	q->owner = ac_strdup("payments");
	q->state = AC_STATE_FAIL;
	q->reason = ac_strdup("depth 120, at most 20 </p><script>alert(1)</script>");
	snprintf(q->rate.text, sizeof(q->rate.text), "about 25 s to depth 20 at 4.0 jobs/s");
	add_points(q, depth, has, st6, 6);
	q->has_last = true;
	q->last.has_limit = true;
	q->last.limit = 20;
	struct ac_check_result *j = &r->checks[1];
	j->id = ac_strdup("checkout <classic> @ edge-eu");
	j->kind = ac_strdup("http");
	j->area = ac_strdup("cache");
	j->area_order = 4;
	j->owner = ac_strdup("web");
	j->persona = ac_strdup("visitor");
	j->target.name = ac_strdup("edge-eu");
	j->target.region = ac_strdup("eu");
	j->state = AC_STATE_FAIL;
	j->reason = ac_strdup("step \"open\": header X-Build: expected \"v41\", got v42");
	static const enum ac_state jst[] = {AC_STATE_FAIL, AC_STATE_PASS,  AC_STATE_FAIL,
					    AC_STATE_FAIL, AC_STATE_ERROR, AC_STATE_FAIL};
	add_points(j, NULL, NULL, jst, 6);
	/* round 2 passed only after a retry */
	((struct ac_point *)ac_history_at(&j->history, 1))->retried = true;
	j->has_last_bad = true;
	j->last_bad.round = 6;
	j->last_bad.evidence = ac_strdup("<html>new checkout</html>");
	struct ac_step_result *sr = ac_sample_add_step(&j->last_bad);
	sr->name = ac_strdup("open");
	sr->method = ac_strdup("GET");
	sr->url = ac_strdup("http://127.0.0.1:9/checkout?a=1&b=2");
	sr->state = AC_STATE_FAIL;
	sr->status = 200;
	struct ac_check_result *d = &r->checks[2];
	d->id = ac_strdup("orders without a total");
	d->kind = ac_strdup("sql");
	d->area = ac_strdup("data");
	d->area_order = 3;
	d->owner = ac_strdup("orders");
	d->state = AC_STATE_PASS;
	static const enum ac_state pst[] = {AC_STATE_PASS, AC_STATE_PASS, AC_STATE_PASS};
	static const double zero[] = {0, 0, 0};
	static const bool all[] = {true, true, true};
	add_points(d, zero, all, pst, 3);
	d->green_since_wall = 1790000010000;
	/* a release map: the queue's part to do, the data part done */
	r->release_version = ac_strdup("v42");
	r->nparts = 2;
	r->parts = ac_calloc(2, sizeof(*r->parts));
	struct ac_result_part *p = &r->parts[0];
	p->name = ac_strdup("payments-resume");
	p->area = ac_strdup("jobs");
	p->nundo = 1;
	p->undo = ac_calloc(1, sizeof(char *));
	p->undo[0] = ac_strdup("restart the payment workers <on v41>");
	p->owner = ac_strdup("Ana (payments)");
	p->backup = ac_strdup("Raj (payments)");
	p->nchecks = 1;
	p->checks = ac_calloc(1, sizeof(size_t));
	p->checks[0] = 0;
	p = &r->parts[1];
	p->name = ac_strdup("orders-repair");
	p->area = ac_strdup("data");
	p->owner = ac_strdup("Lee (orders)");
	p->nchecks = 1;
	p->checks = ac_calloc(1, sizeof(size_t));
	p->checks[0] = 2;
	return r;
}

static char *write_html(const struct ac_result *r)
{
	char *path = tu_write_temp("", ".html");
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	struct ac_report_opts o = {0};
	ck_assert_int_eq(ac_writer_find("html")->write(f, r, &o), 0);
	ck_assert_int_eq(fclose(f), 0);
	return path;
}

/* Python's HTML parser: every element but the void ones closed, in order. */
static const char well_formed_py[] =
    "import sys\n"
    "from html.parser import HTMLParser\n"
    "VOID = {'meta','br','img','hr','input','link','circle','rect','line','polyline'}\n"
    "class P(HTMLParser):\n"
    "    def __init__(self):\n"
    "        super().__init__(); self.stack = []\n"
    "    def handle_starttag(self, t, a):\n"
    "        if t not in VOID: self.stack.append(t)\n"
    "    def handle_startendtag(self, t, a): pass\n"
    "    def handle_endtag(self, t):\n"
    "        if t in VOID: return\n"
    "        if not self.stack or self.stack[-1] != t:\n"
    "            sys.exit('unbalanced </%s> with open %s' % (t, self.stack))\n"
    "        self.stack.pop()\n"
    "p = P(); p.feed(open(sys.argv[1], encoding='utf-8').read()); p.close()\n"
    "if p.stack: sys.exit('unclosed %s' % p.stack)\n";

START_TEST(html_is_well_formed_self_contained_and_escaped)
{
	struct ac_result *r = tree();
	char *path = write_html(r);
	char *py = tu_write_temp(well_formed_py, ".py");
	char *cmd = tu_fmt("python3 %s %s", py, path);
	ck_assert_msg(system(cmd) == 0, "not well formed: %s", path);
	free(cmd);
	char *html = tu_read_file(path);
	static const char *const never[] = {"src=",    "href=",	  "url(", "@import", "<link",
					    "<script", "<iframe", "<img", "<object", "<a href"};
	for (size_t i = 0; i < AC_ARRAY_LEN(never); i++)
		ck_assert_msg(!strstr(html, never[i]), "found %s", never[i]);
	/* markup in the data is text */
	ck_assert_ptr_nonnull(strstr(html, "checkout &lt;classic&gt; @ edge-eu"));
	ck_assert_ptr_nonnull(strstr(html, "&lt;/p&gt;&lt;script&gt;alert(1)&lt;/script&gt;"));
	ck_assert_ptr_nonnull(strstr(html, "shop &lt;after&gt; v42 &amp; &quot;friends&quot;"));
	ck_assert_ptr_nonnull(strstr(html, "?a=1&amp;b=2"));
	/* next steps from the release map, before the checks */
	const char *ns = strstr(html, "<h2>Next steps</h2>");
	ck_assert_ptr_nonnull(ns);
	ck_assert_ptr_nonnull(strstr(ns, "payments-resume"));
	ck_assert_ptr_nonnull(strstr(ns, "undo: restart the payment workers &lt;on v41&gt;"));
	ck_assert_ptr_nonnull(strstr(ns, "owner: Ana (payments), backup: Raj (payments)"));
	ck_assert_ptr_nonnull(strstr(ns, "depth 120, at most 20"));
	ck_assert_ptr_nonnull(strstr(ns, "orders-repair</strong> [data]: green since "));
	ck_assert_msg(ns < strstr(html, "<h2>jobs</h2>"), "next steps come first");
	/* recovery order: jobs, then data, then cache */
	const char *jobs = strstr(html, "<h2>jobs</h2>"), *data = strstr(html, "<h2>data</h2>"),
		   *cache = strstr(html, "<h2>cache</h2>");
	ck_assert_msg(jobs && data && cache && jobs < data && data < cache, "area order");
	/* the queue's chart: five points with values, one round without */
	ck_assert_ptr_nonnull(strstr(html, "<svg class=\"chart\" data-points=\"5\""));
	ck_assert_int_eq(tu_count(html, "<circle class=\"v "), 5 + 3);
	ck_assert_int_eq(tu_count(html, "<rect class=\"nv "), 1);
	ck_assert_ptr_nonnull(strstr(html, "<svg class=\"strip\" data-rounds=\"6\""));
	ck_assert_ptr_nonnull(strstr(html, "0 of 6 rounds passed"));
	/* the queue's limit as a dashed line, its value in the range */
	ck_assert_ptr_nonnull(strstr(html, "<line class=\"limit\""));
	ck_assert_ptr_nonnull(strstr(html, "<title>limit 20</title>"));
	/* a pass after a retry is marked in the strip */
	ck_assert_int_eq(tu_count(html, "<rect class=\"pass retried\""), 1);
	ck_assert_ptr_nonnull(strstr(html, "rate: about 25 s to depth 20 at 4.0 jobs/s"));
	ck_assert_ptr_nonnull(strstr(html, "3 of 3 rounds passed"));
	free(html);
	unlink(path);
	free(path);
	free(py);
	ac_result_destroy(r);
}
END_TEST

/* Headless Chromium renders the page: its DOM has the verdict and one
 * chart per valued check, each with one circle per value; a screenshot is
 * kept under the build folder. */
START_TEST(html_renders_in_headless_chromium)
{
	struct ac_result *r = tree();
	char *path = write_html(r);
	char *out = tu_fmt("%s/html-report.png", tu_env("AC_BUILD_ROOT"));
	char *dom = tu_chromium_dom(path, out);

	ck_assert_msg(strstr(dom, "<h1 id=\"verdict\">NOT RESTORED</h1>"), "%.2000s", dom);
	ck_assert_int_eq(tu_count(dom, "<svg class=\"chart\""), 2);
	ck_assert_ptr_nonnull(strstr(dom, "data-points=\"5\""));
	ck_assert_ptr_nonnull(strstr(dom, "data-points=\"3\""));
	ck_assert_int_eq(tu_count(dom, "<circle class=\"v "), 8);
	/* the script in a reason stayed text */
	ck_assert_ptr_null(strstr(dom, "<script>"));
	struct stat st;
	ck_assert_msg(stat(out, &st) == 0 && st.st_size > 1000, "no screenshot at %s", out);
	free(dom);
	free(out);
	unlink(path);
	free(path);
	ac_result_destroy(r);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("html");
	TCase *tc = tcase_create("html");
	tcase_add_test(tc, html_is_well_formed_self_contained_and_escaped);
	tcase_add_test(tc, html_renders_in_headless_chromium);
	tcase_set_timeout(tc, 180);
	suite_add_tcase(s, tc);
	return tu_main(s);
}
