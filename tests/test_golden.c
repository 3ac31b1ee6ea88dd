/*
 * test_golden.c: every writer on fixed result trees, compared byte for
 * byte with the files under tests/golden/.
 *
 * Trees: healthy; failures in every area (with a release map, rates and a
 * sampled journey); errors; interrupted; secrets present (already masked,
 * as the engine leaves them); names with characters special to XML, HTML,
 * Markdown and JSON. Writers: terminal (no colour), json, junit, markdown,
 * html.
 *
 * After an intended change of a writer, regenerate and review:
 *   AC_GOLDEN_UPDATE=1 meson test -C build golden && git diff tests/golden
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../report/report.h"
#include "testutil.h"
#include "util.h"

#define T0 1764000000000LL /* 2025-11-24T16:00:00Z */

static struct ac_result *base(enum ac_verdict v, const char *reason)
{
	struct ac_result *r = ac_calloc(1, sizeof(*r));
	r->schema_version = AC_RESULT_SCHEMA_VERSION;
	r->scenario_path = ac_strdup("scenarios/shop.json");
	r->scenario_name = ac_strdup("Corner Shop after v42");
	r->mode = ac_strdup("watch");
	r->verdict = v;
	r->verdict_reason = ac_strdup(reason);
	r->started_wall_ms = T0;
	r->ended_wall_ms = T0 + 300000;
	r->rounds = 5;
	r->confirm = 3;
	r->interval_ms = 60000;
	r->window_ms = 300000;
	r->min_samples = 3;
	return r;
}

/* A check with five rounds given as P, F, E, - (no sample), values when
 * value_step is not 0. */
static struct ac_check_result *check(struct ac_result *r, const char *name, const char *target,
				     const char *kind, const char *area, int order,
				     const char *states, double value0, double value_step)
{
	r->checks = ac_realloc(r->checks, (r->nchecks + 1) * sizeof(*r->checks));
	struct ac_check_result *cr = &r->checks[r->nchecks++];
	memset(cr, 0, sizeof(*cr));
	cr->name = ac_strdup(name);
	cr->id = target ? tu_fmt("%s @ %s", name, target) : ac_strdup(name);
	cr->path = tu_fmt("checks[%zu]", r->nchecks - 1);
	cr->kind = ac_strdup(kind);
	cr->area = ac_strdup(area);
	cr->area_order = order;
	cr->owner = tu_fmt("%s-team", area);
	if (target) {
		cr->target.name = ac_strdup(target);
		cr->target.url = tu_fmt("https://%s.shop.example", target);
		cr->target.role = ac_strdup(strcmp(target, "origin") == 0 ? "origin" : "edge");
		cr->target.region = ac_strdup(strcmp(target, "origin") == 0 ? "" : "eu");
	}
	enum ac_state st = AC_STATE_PENDING;
	for (int k = 0; states[k]; k++) {
		if (states[k] == '-')
			continue;
		st = states[k] == 'P'	? AC_STATE_PASS
		     : states[k] == 'F' ? AC_STATE_FAIL
					: AC_STATE_ERROR;
		struct ac_point p = {.t_ms = k * 60000,
				     .wall_ms = T0 + (k + 1) * 60000,
				     .round = k + 1,
				     .value = value0 + value_step * k,
				     .has_value = value_step != 0,
				     .state = (unsigned char)st};
		ac_history_add(&cr->history, &p);
		struct ac_sample *s = &cr->last;
		ac_sample_release(s);
		memset(s, 0, sizeof(*s));
		s->round = k + 1;
		s->wall_ms = p.wall_ms;
		s->duration_ms = 120 + k;
		s->state = st;
		s->has_value = p.has_value;
		s->value = p.value;
		cr->has_last = true;
		if (st != AC_STATE_PASS) {
			ac_sample_release(&cr->last_bad);
			ac_sample_copy(&cr->last_bad, s);
			cr->has_last_bad = true;
		}
	}
	cr->state = st;
	if (st == AC_STATE_PASS)
		cr->green_since_wall = T0 + 60000;
	return cr;
}

static void fail_step(struct ac_check_result *cr, const char *name, const char *url, long status,
		      const char *reason, const char *excerpt)
{
	free(cr->reason);
	cr->reason = tu_fmt("step \"%s\": %s", name, reason);
	free(cr->last_bad.reason);
	cr->last_bad.reason = ac_strdup(cr->reason);
	struct ac_step_result *st = ac_sample_add_step(&cr->last_bad);
	st->name = ac_strdup(name);
	st->method = ac_strdup("GET");
	st->url = ac_strdup(url);
	st->state = AC_STATE_FAIL;
	st->status = status;
	st->duration_ms = 87;
	st->tries = 1;
	st->reason = ac_strdup(reason);
	st->excerpt = excerpt ? ac_strdup(excerpt) : NULL;
	st->served_by = ac_strdup("build v42, X-Cache-Status HIT, Age 540 s");
	struct ac_assertion_result *a = ac_step_add_assert(st);
	a->what = ac_strdup("status");
	a->expected = ac_strdup("2xx");
	a->actual = tu_fmt("%ld", status);
	a->ok = status < 400;
}

static void reason(struct ac_check_result *cr, const char *why)
{
	free(cr->reason);
	cr->reason = ac_strdup(why);
	if (cr->has_last_bad) {
		free(cr->last_bad.reason);
		cr->last_bad.reason = ac_strdup(why);
	}
}

static struct ac_result *healthy(void)
{
	struct ac_result *r = base(AC_RESTORED, "all 3 checks passed in the last 3 rounds");
	struct ac_check_result *c =
	    check(r, "checkout", "origin", "http", "cache", 4, "FPPPP", 0, 0);
	c->persona = ac_strdup("visitor");
	c->recovered_at_wall = T0 + 120000;
	c->green_since_wall = T0 + 120000;
	c->impact = ac_strdup("customers cannot pay");
	check(r, "orders without a total", NULL, "sql", "data", 3, "PPPPP", 0, 0);
	struct ac_check_result *q =
	    check(r, "payments queue", NULL, "queue", "jobs", 2, "PPPPP", 40, -8);
	snprintf(q->rate.text, sizeof(q->rate.text), "draining at 8.0 jobs/s");
	r->customer_product = ac_strdup("Corner Shop");
	return r;
}

static struct ac_result *mixed(void)
{
	struct ac_result *r = base(AC_NOT_RESTORED, "6 checks failing; first in recovery order: "
						    "new_checkout is off @ edge-eu");
	struct ac_check_result *c;
	c = check(r, "new_checkout is off", "edge-eu", "http", "flags", 0, "FFFFF", 0, 0);
	c->persona = ac_strdup("visitor");
	c->part = ac_strdup("flags-off");
	fail_step(c, "read flags", "https://edge-eu.shop.example/flags", 200,
		  "json $.new_checkout: expected == false, got true", "{\"new_checkout\":true}");
	c = check(r, "session format", NULL, "redis", "config", 1, "PFFFF", 0, 0);
	reason(c, "GET shop:config:session_format = v2, expected == v1");
	c = check(r, "payments queue", NULL, "queue", "jobs", 2, "FFFFF", 160, -20);
	reason(c, "depth 80, at most 20");
	snprintf(c->rate.text, sizeof(c->rate.text), "about 3 min 0 s to depth 20 at 0.33 jobs/s");
	struct ac_figure *f = ac_sample_add_figure(&c->last_bad, "depth");
	f->value = 80;
	f->has_value = true;
	f = ac_sample_add_figure(&c->last_bad, "workers");
	f->note = ac_strdup("bee-queue keeps no worker registry");
	c = check(r, "duplicate discount holds", NULL, "sql", "data", 3, "FFFFF", 3, 0.5);
	reason(c, "5 rows, expected none");
	c->last_bad.evidence = ac_strdup("order_id | code\n1041 | SPRING\n1077 | SPRING");
	c->impact = ac_strdup("some orders show a discount twice");
	c = check(r, "checkout is classic", "origin", "http", "cache", 4, "PPFPF", 0, 0);
	c->persona = ac_strdup("signed_in");
	c->impact = ac_strdup("signed-in customers see the new checkout");
	c->note = ac_strdup("differs on a fresh fetch from the origin: a region-specific flag");
	c->strength.text = ac_strdup("7 of 45 runs, 16%, on origin");
	fail_step(c, "open checkout", "https://origin.shop.example/checkout", 200,
		  "body contains \"classic-checkout\": not found", "<html>new-checkout</html>");
	c = check(r, "home serves v41", "edge-us", "http", "code", 5, "FFFFF", 0, 0);
	c->persona = ac_strdup("visitor");
	c->critical = true;
	fail_step(c, "open home", "https://edge-us.shop.example/", 200,
		  "header X-Build: expected equals \"v41\", got v42", NULL);
	c = check(r, "search finds the new range", "origin", "http", "data", 3, "PPPPP", 0, 0);
	c->persona = ac_strdup("searcher");
	c->strength.text = ac_strdup(
	    "0 of 60 runs took the bad path: a share above 4.9% would have been seen with 95% "
	    "probability");
	r->release_version = ac_strdup("v42");
	r->nparts = 2;
	r->parts = ac_calloc(2, sizeof(*r->parts));
	struct ac_result_part *p = &r->parts[0];
	p->name = ac_strdup("flags-off");
	p->area = ac_strdup("flags");
	p->changed = ac_strdup("new_checkout on in every region");
	p->nundo = 1;
	p->undo = ac_calloc(1, sizeof(char *));
	p->undo[0] = ac_strdup("Set new_checkout to off in every region");
	p->owner = ac_strdup("Maya Chen");
	p->backup = ac_strdup("Tom Ruiz");
	p->nchecks = 1;
	p->checks = ac_calloc(1, sizeof(size_t));
	p->checks[0] = 0;
	p = &r->parts[1];
	p->name = ac_strdup("search-index");
	p->area = ac_strdup("data");
	p->nundo = 1;
	p->undo = ac_calloc(1, sizeof(char *));
	p->undo[0] = ac_strdup("Rebuild the search index");
	p->owner = ac_strdup("Ana Lima");
	p->nchecks = 1;
	p->checks = ac_calloc(1, sizeof(size_t));
	p->checks[0] = 6;
	r->customer_product = ac_strdup("Corner Shop");
	r->customer_next_update = ac_strdup("within 30 minutes");
	r->notify_sent = 3;
	r->notify_failed = 1;
	r->notify_error =
	    ac_strdup("notification to hooks.example.com failed: status 500 after 3 tries");
	return r;
}

static struct ac_result *errors(void)
{
	struct ac_result *r =
	    base(AC_INCONCLUSIVE, "2 of 3 checks could not be measured (first: payments queue)");
	check(r, "home", "origin", "http", "code", 5, "PPPPP", 0, 0)->persona =
	    ac_strdup("visitor");
	reason(check(r, "payments queue", NULL, "queue", "jobs", 2, "EEEEE", 0, 0),
	       "redis 127.0.0.1:6379: connection refused");
	reason(check(r, "error ratio", NULL, "metric", "code", 5, "-----", 0, 0),
	       "no valid sample");
	return r;
}

static struct ac_result *interrupted(void)
{
	struct ac_result *r = base(AC_INCONCLUSIVE, "interrupted (SIGTERM) after round 2");
	r->interrupted = true;
	r->rounds = 2;
	r->ended_wall_ms = T0 + 130000;
	r->insecure_tls = true;
	check(r, "home", "origin", "http", "code", 5, "PP", 0, 0)->persona = ac_strdup("visitor");
	reason(check(r, "checkout", "origin", "http", "code", 5, "PE", 0, 0),
	       "interrupted (SIGTERM) during step \"pay\"");
	return r;
}

/* The engine masks every string before the tree is built: what is left
 * of a secret is the mask. */
static struct ac_result *secrets(void)
{
	struct ac_result *r = base(AC_NOT_RESTORED, "1 check failing: login @ origin");
	struct ac_check_result *c = check(r, "login", "origin", "http", "config", 1, "FFFFF", 0, 0);
	c->persona = ac_strdup("signed_in");
	fail_step(c, "sign in", "https://origin.shop.example/login?token=***", 401,
		  "status 401, expected 2xx", "{\"error\":\"bad password ***\"}");
	free(c->last_bad.steps[0].served_by);
	c->last_bad.steps[0].served_by = NULL;
	free(c->target.url);
	c->target.url = ac_strdup("https://user:***@origin.shop.example");
	return r;
}

static struct ac_result *special(void)
{
	struct ac_result *r =
	    base(AC_NOT_RESTORED, "1 check failing: <b>\"cart\" & 'total'</b> | `x` *y* [z](w)");
	free(r->scenario_name);
	r->scenario_name = ac_strdup("shop <&> \"quotes\" 'apos' | pipes ]]> \\ back");
	struct ac_check_result *c =
	    check(r, "cart <total> & \"sum\"", "edge-ü", "http", "data", 3, "FFFFF", 1, 1);
	c->persona = ac_strdup("guest & <friends>");
	c->impact = ac_strdup("totals show <NaN> & \"undefined\" | *bold* _under_ [link](x)");
	fail_step(c, "cart </step>", "https://edge.example/cart?a=1&b=<2>", 500,
		  "body: ]]> </failure> & \"quote\" \\ backslash", "<script>alert('x')</script>");
	c->owner[0] = 'D';
	return r;
}

static const struct {
	const char *name;
	struct ac_result *(*make)(void);
} trees[] = {
    {"healthy", healthy},	  {"mixed", mixed},	{"errors", errors},
    {"interrupted", interrupted}, {"secrets", secrets}, {"special", special},
};

static const struct {
	const char *writer, *ext;
} writers[] = {
    {"terminal", "txt"}, {"json", "json"}, {"junit", "xml"}, {"markdown", "md"}, {"html", "html"},
};

static char *render(const char *writer, const struct ac_result *r, size_t *n)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, n);
	struct ac_report_opts o = {.verbose = true};
	ck_assert_int_eq(ac_writer_find(writer)->write(f, r, &o), 0);
	fclose(f);
	return buf;
}

/* The first line where a and b differ, for the failure message. */
static char *first_difference(const char *a, size_t na, const char *b, size_t nb)
{
	size_t i = 0, line = 1, start = 0;
	while (i < na && i < nb && a[i] == b[i]) {
		if (a[i] == '\n') {
			line++;
			start = i + 1;
		}
		i++;
	}
	size_t ea = start, eb = start;
	while (ea < na && a[ea] != '\n')
		ea++;
	while (eb < nb && b[eb] != '\n')
		eb++;
	return tu_fmt("line %zu\n  want: %.*s\n  got:  %.*s", line, (int)(eb - start), b + start,
		      (int)(ea - start), a + start);
}

START_TEST(writers_match_their_golden_files)
{
	const char *root = tu_env("AC_SOURCE_ROOT");
	bool update = getenv("AC_GOLDEN_UPDATE") && strcmp(getenv("AC_GOLDEN_UPDATE"), "1") == 0;
	size_t compared = 0;
	for (size_t t = 0; t < AC_ARRAY_LEN(trees); t++) {
		struct ac_result *r = trees[t].make();
		for (size_t w = 0; w < AC_ARRAY_LEN(writers); w++) {
			size_t n;
			char *got = render(writers[w].writer, r, &n);
			char *path =
			    tu_fmt("%s/tests/golden/%s.%s", root, trees[t].name, writers[w].ext);
			if (update) {
				FILE *f = fopen(path, "w");
				ck_assert_msg(f, "cannot write %s", path);
				ck_assert_uint_eq(fwrite(got, 1, n, f), n);
				ck_assert_int_eq(fclose(f), 0);
			}
			struct ac_buf want;
			struct ac_error err = {0};
			ck_assert_msg(ac_read_file(path, 16 * 1024 * 1024, &want, &err) == 0,
				      "%s: %s (regenerate: AC_GOLDEN_UPDATE=1 meson test -C build "
				      "golden)",
				      path, err.msg);
			if (want.len != n || memcmp(want.buf, got, n) != 0) {
				char *d = first_difference(got, n, want.buf, want.len);
				ck_abort_msg(
				    "%s differs from %s at %s\n(after an intended change: "
				    "AC_GOLDEN_UPDATE=1 meson test -C build golden, then review "
				    "git diff tests/golden)",
				    writers[w].writer, path, d);
			}
			/* The secrets tree holds only masks: the formats that print
			 * evidence (URLs, excerpts) show them as they are. */
			if (strcmp(trees[t].name, "secrets") == 0 &&
			    strcmp(writers[w].writer, "markdown") != 0 &&
			    strcmp(writers[w].writer, "junit") != 0)
				ck_assert_msg(strstr(got, "***"), "%s: the mask is gone", path);
			compared++;
			ac_buf_release(&want);
			free(path);
			free(got);
		}
		ac_result_destroy(r);
	}
	ck_assert_uint_eq(compared, AC_ARRAY_LEN(trees) * AC_ARRAY_LEN(writers));
	/* No golden file without a case: a stale one would hide nothing but
	 * mislead whoever reads it. */
	char *dir = tu_fmt("%s/tests/golden", root);
	DIR *d = opendir(dir);
	ck_assert_ptr_nonnull(d);
	size_t files = 0;
	for (struct dirent *e; (e = readdir(d));)
		files += e->d_name[0] != '.';
	closedir(d);
	ck_assert_msg(files == compared, "%zu files in %s, %zu cases", files, dir, compared);
	free(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("golden");
	TCase *tc = tcase_create("golden");
	tcase_add_test(tc, writers_match_their_golden_files);
	suite_add_tcase(s, tc);
	return tu_main(s);
}
