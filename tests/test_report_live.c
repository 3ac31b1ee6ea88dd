/*
 * test_report_live.c: the live view, each check's rate and drain time in
 * every writer, and a tree the engine built that outlives its plan.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../report/live.h"
#include "hostile.h"
#include "test_report.h"
#include "testutil.h"
#include "util.h"

/* --- the live view --------------------------------------------------------- */

static char *live(const struct ac_result *r, bool tty, int max_rows, int64_t left)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	struct ac_live lv = {.out = f, .tty = tty, .max_rows = max_rows};
	ac_live_round(&lv, r, left, T0 + 120000);
	fclose(f);
	return buf;
}

START_TEST(live_view_lines)
{
	struct ac_result *r = restored();
	char *l = live(r, false, 40, 5000);
	ck_assert_str_eq(l, "allclear: round 3: 2 pass, 0 fail, 0 not measured; so far: RESTORED "
			    "(5.0 s left)\n");
	free(l);
	ac_result_destroy(r);

	r = not_restored();
	l = live(r, false, 40, 0);
	ck_assert_str_eq(
	    l, "allclear: round 3: 1 pass, 2 fail, 1 not measured; so far: NOT RESTORED\n");
	free(l);
	/* On a terminal: one row per check, cut at max_rows. */
	l = live(r, true, 3, 65000);
	HAS(l, "round 3, 1 m 5 s left   so far: NOT RESTORED\n");
	/* On 80 columns (the default without a terminal size): state, the
	 * name in what is left (26), value in 10, sparkline, green for. */
	HAS(l, "  FAIL  checkout @ edge-eu                 30  xxx\n");
	HAS(l, "  ERROR orders backlog                     30  ???\n");
	HAS(l, "  PASS  home @ origin                      30  ...              green 2 m 0 s\n");
	HASNT(l, "flag new_checkout");
	HAS(l, "  ... 1 more\n");
	free(l);
	ac_result_destroy(r);

	r = inconclusive();
	l = live(r, false, 40, 0);
	/* The check never sampled is not measured, not a pass. */
	ck_assert_str_eq(
	    l, "allclear: round 3: 1 pass, 0 fail, 2 not measured; so far: INCONCLUSIVE\n");
	free(l);
	ac_result_destroy(r);
}
END_TEST

/* --- rates and drain times ------------------------------------------------ */

/* A draining queue with its rate and ETA, as the judge leaves them. */
static struct ac_result *draining(void)
{
	struct ac_result *r = tree(AC_NOT_RESTORED, "1 of 2 checks failed; first to fix: payments");
	r->mode = (free(r->mode), ac_strdup("watch"));
	struct ac_check_result *q = add_check(r, "payments", "queue", "jobs", 2, "pay-team",
					      AC_STATE_FAIL, "not drained: 482, floor 20");
	struct ac_rate_view *v = &q->rate;
	v->has_rate = true;
	v->per_s = -4.2;
	snprintf(v->unit, sizeof(v->unit), "jobs");
	v->points = 5;
	v->span_s = 20;
	v->has_target = true;
	v->target = 20;
	snprintf(v->target_name, sizeof(v->target_name), "depth");
	v->has_eta = true;
	v->eta_s = 110;
	v->has_restore_eta = true;
	v->restore_eta_s = 110;
	snprintf(v->text, sizeof(v->text),
		 "about 1 min 50 s to depth 20 at 4.2 jobs/s (rate over 5 values in 20 s)");
	struct ac_check_result *g =
	    add_check(r, "orphans", "sql", "data", 3, "db", AC_STATE_PASS, NULL);
	g->rate.has_rate = true;
	g->rate.flat = true;
	snprintf(g->rate.unit, sizeof(g->rate.unit), "rows");
	snprintf(g->rate.text, sizeof(g->rate.text), "flat (rate over 5 values in 20 s)");
	r->has_restore_eta = true;
	r->restore_eta_s = 110;
	snprintf(r->restore_text, sizeof(r->restore_text),
		 "RESTORED at the earliest in about 1 min 50 s, if payments keeps draining at "
		 "4.2 jobs/s and nothing else fails");
	return r;
}

START_TEST(rates_and_drain_times_in_every_writer)
{
	struct ac_result *r = draining();
	char *t = write_plain("terminal", r);
	before(t, "VERDICT: NOT RESTORED",
	       "RESTORED at the earliest in about 1 min 50 s, if "
	       "payments keeps draining at 4.2 jobs/s");
	HAS(t, "      rate: about 1 min 50 s to depth 20 at 4.2 jobs/s (rate over 5 values in "
	       "20 s)\n");
	free(t);
	struct ac_report_opts verbose = {.verbose = true};
	t = write_with("terminal", r, &verbose);
	HAS(t, "      rate: flat (rate over 5 values in 20 s)\n");
	free(t);

	char *m = write_plain("markdown", r);
	HAS(m, "\n\nRESTORED at the earliest in about 1 min 50 s, if payments keeps draining at "
	       "4.2 jobs/s and nothing else fails\n\n");
	HAS(m,
	    "| FAIL | jobs | payments | pay-team | not drained: 482, floor 20; rate: about 1 min "
	    "50 s to depth 20 at 4.2 jobs/s (rate over 5 values in 20 s) |\n");
	free(m);

	cJSON *j = json_of(r);
	const cJSON *re = get(j, "restore_estimate");
	ck_assert(num(re, "eta_s") == 110);
	HAS(str(re, "text"), "RESTORED at the earliest in about 1 min 50 s");
	const cJSON *checks = get(j, "checks");
	const cJSON *rate = get(cJSON_GetArrayItem(checks, 0), "rate");
	ck_assert(num(rate, "per_s") == -4.2);
	ck_assert_str_eq(str(rate, "unit"), "jobs");
	ck_assert(num(rate, "eta_s") == 110);
	ck_assert(num(rate, "restore_eta_s") == 110);
	ck_assert(num(rate, "target") == 20);
	ck_assert_str_eq(str(rate, "target_name"), "depth");
	ck_assert(num(rate, "points") == 5);
	ck_assert(cJSON_IsFalse(get(rate, "flat")));
	rate = get(cJSON_GetArrayItem(checks, 1), "rate");
	ck_assert(num(rate, "per_s") == 0);
	ck_assert(cJSON_IsTrue(get(rate, "flat")));
	ck_assert(cJSON_IsNull(get(rate, "eta_s")));
	cJSON_Delete(j);

	char *l = live(r, false, 40, 0);
	ck_assert_str_eq(l, "allclear: round 3: 1 pass, 1 fail, 0 not measured; so far: NOT "
			    "RESTORED; RESTORED at the earliest in about 1 min 50 s, if payments "
			    "keeps draining at 4.2 jobs/s and nothing else fails\n");
	free(l);
	ac_result_destroy(r);

	/* No rate: "rate": null, and no estimate line. */
	r = not_restored();
	j = json_of(r);
	ck_assert(cJSON_IsNull(get(cJSON_GetArrayItem(get(j, "checks"), 0), "rate")));
	ck_assert(cJSON_IsNull(get(j, "restore_estimate")));
	cJSON_Delete(j);
	t = write_plain("terminal", r);
	HASNT(t, "rate:");
	HASNT(t, "at the earliest");
	free(t);
	ac_result_destroy(r);
}
END_TEST

/* --- a tree the engine built stands on its own ---------------------------- */

static void fail503(int fd, const struct hs_request *q, void *ud)
{
	(void)q;
	(void)ud;
	hs_reply(fd, 503, "X-Build: v41\r\n", "{\"error\":\"down\"}");
}

START_TEST(engine_tree_outlives_the_plan)
{
	struct hs_server s;
	hs_start(&s, fail503, NULL);
	char *json = tu_fmt(
	    "{\"name\": \"shop\", \"description\": \"via https://ops:pw-2718281@jump.internal/\","
	    " \"targets\": {\"edge-eu\": {\"url\": \"http://127.0.0.1:%d\","
	    " \"role\": \"edge\", \"region\": \"eu\"}}, \"settings\": {\"confirm\": 1},"
	    " \"journeys\": [{\"name\": \"home\", \"area\": \"cache\", \"owner\": \"web\","
	    " \"critical\": true, \"persona\": \"searcher\","
	    " \"description\": \"see postgres://app:pw-2718281@db.internal/shop\","
	    " \"steps\": [{\"url\": \"/\", \"name\": \"front page\", \"assert\": {\"status\": "
	    "200}}]}]}",
	    s.port);
	struct ac_plan *plan = NULL;
	struct ac_result *r = tu_run_scenario(json, 1, &plan);
	ac_plan_destroy(plan);
	ck_assert_int_eq(r->verdict, AC_NOT_RESTORED);
	ck_assert_str_eq(r->scenario_name, "shop");
	ck_assert_uint_eq(r->nchecks, 1);
	const struct ac_check_result *cr = &r->checks[0];
	ck_assert_str_eq(cr->id, "home @ edge-eu");
	ck_assert_str_eq(cr->name, "home");
	ck_assert_str_eq(cr->kind, "http");
	ck_assert_str_eq(cr->area, "cache");
	ck_assert_int_eq(cr->area_order, 4);
	ck_assert_str_eq(cr->owner, "web");
	ck_assert_str_eq(cr->persona, "searcher");
	ck_assert(cr->critical);
	ck_assert_str_eq(cr->target.name, "edge-eu");
	ck_assert_str_eq(cr->target.role, "edge");
	ck_assert_str_eq(cr->target.region, "eu");
	char *url = tu_fmt("http://127.0.0.1:%d", s.port);
	ck_assert_str_eq(cr->target.url, url);
	free(url);
	/* Plan text is masked on its way into the tree. */
	ck_assert_msg(strstr(cr->description, "pw-2718281") == NULL, "%s", cr->description);
	HAS(cr->description, "postgres://app:***@db.internal/shop");
	ck_assert_msg(strstr(r->scenario_description, "pw-2718281") == NULL, "%s",
		      r->scenario_description);
	/* Every writer works from the tree alone (the plan is gone: ASan
	 * would see a read of it). */
	const char *formats[] = {"terminal", "json", "junit", "markdown"};
	for (size_t i = 0; i < 4; i++) {
		struct ac_report_opts o = {.verbose = true};
		char *t = write_with(formats[i], r, &o);
		HAS(t, "home @ edge-eu");
		HASNT(t, "pw-2718281");
		free(t);
	}
	char *t = write_plain("terminal", r);
	HAS(t, "  FAIL  [cache] home @ edge-eu\n      owner: web, kind: http, persona: searcher, "
	       "target: edge-eu, critical\n");
	free(t);
	ac_result_destroy(r);
	hs_stop(&s);
	free(json);
}
END_TEST

void report_more_tcases(Suite *s)
{
	TCase *t = tcase_create("live");
	tcase_add_test(t, live_view_lines);
	suite_add_tcase(s, t);
	t = tcase_create("rates");
	tcase_add_test(t, rates_and_drain_times_in_every_writer);
	suite_add_tcase(s, t);
	t = tcase_create("engine");
	tcase_add_test(t, engine_tree_outlives_the_plan);
	suite_add_tcase(s, t);
}
