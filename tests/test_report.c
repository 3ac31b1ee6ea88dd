/*
 * test_report.c: the writers as pure functions of a result tree.
 *
 * Trees are built by hand (no plan, no engine, check pointers NULL) for a
 * RESTORED, a NOT RESTORED and an INCONCLUSIVE run, and every writer's
 * output is checked: terminal (plain, quiet, verbose), JSON (the fields
 * README documents), JUnit (failures vs errors), Markdown (table escaping)
 * and the live view. One test runs the engine and destroys the plan before
 * writing, to show the tree it builds stands on its own.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../report/live.h"
#include "../report/report.h"
#include "hostile.h"
#include "testutil.h"
#include "test_report.h"
#include "util.h"

static char *dup0(const char *s)
{
	return s ? ac_strdup(s) : NULL;
}

struct ac_result *tree(enum ac_verdict v, const char *reason)
{
	struct ac_result *r = ac_calloc(1, sizeof(*r));
	r->schema_version = AC_RESULT_SCHEMA_VERSION;
	r->scenario_path = ac_strdup("scenarios/shop.json");
	r->scenario_name = ac_strdup("shop after the revert");
	r->mode = ac_strdup("check");
	r->verdict = v;
	r->verdict_reason = ac_strdup(reason);
	r->started_wall_ms = T0;
	r->ended_wall_ms = T0 + 95000;
	r->rounds = 3;
	r->confirm = 3;
	r->interval_ms = 2000;
	r->min_samples = 3;
	return r;
}

/* A check with three rounds of history in state st (PENDING: none). */
struct ac_check_result *add_check(struct ac_result *r, const char *id, const char *kind,
				  const char *area, int order, const char *owner, enum ac_state st,
				  const char *reason)
{
	r->checks = ac_realloc(r->checks, (r->nchecks + 1) * sizeof(*r->checks));
	struct ac_check_result *cr = &r->checks[r->nchecks++];
	memset(cr, 0, sizeof(*cr));
	cr->id = ac_strdup(id);
	cr->name = ac_strdup(id);
	cr->kind = ac_strdup(kind);
	cr->area = ac_strdup(area);
	cr->area_order = order;
	cr->owner = dup0(owner);
	cr->state = st;
	cr->reason = dup0(reason);
	if (st == AC_STATE_PENDING)
		return cr;
	for (int k = 1; k <= 3; k++) {
		struct ac_point p = {.t_ms = k * 1000,
				     .round = k,
				     .value = 10.0 * k,
				     .has_value = true,
				     .state = (unsigned char)st};
		ac_history_add(&cr->history, &p);
	}
	cr->has_last = true;
	cr->last.round = 3;
	cr->last.wall_ms = T0 + 90000;
	cr->last.duration_ms = 250;
	cr->last.state = st;
	cr->last.reason = dup0(reason);
	cr->last.has_value = true;
	cr->last.value = 30;
	if (st != AC_STATE_PASS) {
		cr->has_last_bad = true;
		ac_sample_copy(&cr->last_bad, &cr->last);
	} else {
		cr->green_since_wall = T0;
	}
	return cr;
}

/* A failing journey step on the check's latest bad sample. */
void add_failed_step(struct ac_check_result *cr)
{
	struct ac_sample *s = &cr->last_bad;
	struct ac_step_result *st = ac_sample_add_step(s);
	st->name = ac_strdup("pay");
	st->method = ac_strdup("POST");
	st->url = ac_strdup("http://edge-eu.example/pay");
	st->state = AC_STATE_FAIL;
	st->status = 503;
	st->duration_ms = 120;
	st->tries = 1;
	st->write = true;
	st->reason = ac_strdup("status 503, expected 2xx");
	st->excerpt = ac_strdup("{\"error\":\"down\"}");
	st->served_by = ac_strdup("build v41, X-Cache-Status HIT");
	struct ac_assertion_result *a = ac_step_add_assert(st);
	a->what = ac_strdup("status");
	a->expected = ac_strdup("2xx");
	a->actual = ac_strdup("503");
	a->ok = false;
	struct ac_figure *f = ac_sample_add_figure(s, "queue depth");
	f->value = 42;
	f->has_value = true;
	f = ac_sample_add_figure(s, "oldest job age");
	f->note = ac_strdup("the queue keeps no timestamps");
}

/* RESTORED: two checks passed, one with a note. */
struct ac_result *restored(void)
{
	struct ac_result *r = tree(AC_RESTORED, "all 2 checks passed in the last 3 rounds");
	add_check(r, "flag new_checkout", "redis", "flags", 0, "growth", AC_STATE_PASS, NULL);
	struct ac_check_result *c =
	    add_check(r, "home @ origin", "http", "code", 5, "web", AC_STATE_PASS, NULL);
	c->note = ac_strdup("recovered at 2025-11-24T16:00:30Z");
	c->persona = ac_strdup("visitor");
	return r;
}

/* NOT RESTORED: two failures (flags, code: listed flags first although
 * given last), one pass, one check that could not measure. */
struct ac_result *not_restored(void)
{
	struct ac_result *r =
	    tree(AC_NOT_RESTORED, "2 checks failing; first in recovery order: flag new_checkout");
	struct ac_check_result *c =
	    add_check(r, "checkout @ edge-eu", "http", "code", 5, "web-team", AC_STATE_FAIL,
		      "step \"pay\": status 503 | expected 2xx");
	c->persona = ac_strdup("guest");
	c->critical = true;
	c->description = ac_strdup("the classic checkout");
	c->target.name = ac_strdup("edge-eu");
	c->target.url = ac_strdup("http://edge-eu.example");
	c->target.role = ac_strdup("edge");
	c->target.region = ac_strdup("eu");
	c->note = ac_strdup("origin restored, edge-eu stale");
	c->flaps = 1;
	add_failed_step(c);
	add_check(r, "orders backlog", "sql", "data", 3, "db-team", AC_STATE_ERROR,
		  "connection refused");
	add_check(r, "home @ origin", "http", "code", 5, "web", AC_STATE_PASS, NULL);
	add_check(r, "flag new_checkout", "redis", "flags", 0, "", AC_STATE_FAIL,
		  "new_checkout is false, expected true");
	return r;
}

/* INCONCLUSIVE, TLS verification off: a pass, an error, a check never
 * sampled. */
struct ac_result *inconclusive(void)
{
	struct ac_result *r =
	    tree(AC_INCONCLUSIVE, "2 of 3 checks could not be measured (first: jobs queue)");
	r->insecure_tls = true;
	r->interrupted = true;
	add_check(r, "home @ origin", "http", "code", 5, "web", AC_STATE_PASS, NULL);
	add_check(r, "jobs queue", "queue", "jobs", 2, "ops", AC_STATE_ERROR,
		  "timed out after 5000 ms");
	add_check(r, "stock sync", "metric", "data", 3, "inventory", AC_STATE_PENDING,
		  "no valid sample");
	return r;
}

char *write_with(const char *format, const struct ac_result *r, const struct ac_report_opts *o)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	ck_assert_ptr_nonnull(f);
	const struct ac_writer *w = ac_writer_find(format);
	ck_assert_msg(w != NULL, "no writer %s", format);
	int rc = w->write(f, r, o);
	fclose(f);
	ck_assert_msg(rc == 0, "%s writer returned %d", format, rc);
	return buf;
}

char *write_plain(const char *format, const struct ac_result *r)
{
	struct ac_report_opts o = {0};
	return write_with(format, r, &o);
}

/* want appears before later in text (both present). */
void before(const char *text, const char *want, const char *later)
{
	const char *a = strstr(text, want), *b = strstr(text, later);
	ck_assert_msg(a && b && a < b, "\"%s\" should come before \"%s\" in:\n%s", want, later,
		      text);
}

/* How many times needle occurs in text. */
int count(const char *text, const char *needle)
{
	int n = 0;
	for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* The text of the JUnit testcase named name, up to its end tag. */
static char *testcase(const char *xml, const char *name)
{
	char *open = tu_fmt("name=\"%s\"", name);
	const char *a = strstr(xml, open);
	free(open);
	ck_assert_msg(a != NULL, "no testcase %s in:\n%s", name, xml);
	const char *b = strstr(a, "</testcase>");
	ck_assert_ptr_nonnull(b);
	return strndup(a, (size_t)(b - a));
}

/* --- terminal ------------------------------------------------------------ */

START_TEST(terminal_restored)
{
	struct ac_result *r = restored();
	char *t = write_plain("terminal", r);
	STARTS(t, "VERDICT: RESTORED  all 2 checks passed in the last 3 rounds\n"
		  "scenario shop after the revert");
	HAS(t, "scenario shop after the revert (scenarios/shop.json), check mode, 3 rounds, "
	       "2025-11-24T16:00:00Z .. 2025-11-24T16:01:35Z\n");
	HAS(t, "\n2 checks passed (notes below)\n  home @ origin: recovered at "
	       "2025-11-24T16:00:30Z\n");
	HAS(t, "journey runs by persona: visitor 0 of 3 failed (0%)\n");
	HASNT(t, "WARNING");
	HASNT(t, "Failing");
	HASNT(t, "Could not measure");
	size_t n = strlen(t);
	const char *last = "\nRESTORED: 2 passed, 0 failed, 0 not measured\n";
	ck_assert_msg(n > strlen(last) && strcmp(t + n - strlen(last), last) == 0, "%s", t);
	free(t);
	/* Verbose: passing checks with owner and kind. */
	struct ac_report_opts o = {.verbose = true};
	t = write_with("terminal", r, &o);
	HAS(t, "\nPassing:\n  PASS  [flags] flag new_checkout\n      owner: growth, kind: redis\n");
	HAS(t, "  PASS  [code] home @ origin\n      owner: web, kind: http, persona: visitor\n"
	       "      note: recovered at 2025-11-24T16:00:30Z\n");
	free(t);
	ac_result_destroy(r);
}
END_TEST

START_TEST(terminal_not_restored)
{
	struct ac_result *r = not_restored();
	char *t = write_plain("terminal", r);
	STARTS(t, "VERDICT: NOT RESTORED  2 checks failing; first in recovery order: "
		  "flag new_checkout\nscenario ");
	HAS(t, "\nFailing, in recovery order (flags, config, jobs, data, cache, code):\n"
	       "  FAIL  [flags] flag new_checkout\n"
	       "      owner: unassigned, kind: redis\n"
	       "      why: new_checkout is false, expected true\n");
	HAS(t, "  FAIL  [code] checkout @ edge-eu\n"
	       "      owner: web-team, kind: http, persona: guest, target: edge-eu, critical\n"
	       "      why: step \"pay\": status 503 | expected 2xx\n"
	       "      note: origin restored, edge-eu stale\n"
	       "      step \"pay\" -> 503\n"
	       "        status: expected 2xx, got 503\n"
	       "        served by: build v41, X-Cache-Status HIT\n"
	       "        body: {\"error\":\"down\"}\n"
	       "      figures: queue depth 42, oldest job age n/a\n");
	before(t, "[flags] flag new_checkout", "[code] checkout @ edge-eu");
	HAS(t, "\nCould not measure (never counted as a pass):\n"
	       "  ERROR [data] orders backlog\n"
	       "      owner: db-team, kind: sql\n"
	       "      why: connection refused\n");
	before(t, "[code] checkout @ edge-eu", "Could not measure");
	/* Each check listed once, in its own section. */
	ck_assert_int_eq(count(t, "] orders backlog\n"), 1);
	before(t, "Could not measure", "] orders backlog\n");
	ck_assert_int_eq(count(t, "] checkout @ edge-eu\n"), 1);
	ck_assert_int_eq(count(t, "] flag new_checkout\n"), 1);
	ck_assert_int_eq(count(t, "home @ origin"), 0);
	HAS(t, "\n1 check passed (--verbose lists them)\n");
	HAS(t, "journey runs by persona: guest 3 of 3 failed (100%)\n");
	HAS(t, "\nNOT RESTORED: 1 passed, 2 failed, 1 not measured\n");
	HASNT(t, "WARNING");
	HASNT(t, "\033[");
	free(t);
	/* Colour only when asked. */
	struct ac_report_opts o = {.color = true};
	t = write_with("terminal", r, &o);
	HAS(t, "\033[1;31mVERDICT: NOT RESTORED\033[0m");
	free(t);
	ac_result_destroy(r);
}
END_TEST

START_TEST(terminal_inconclusive_and_insecure)
{
	struct ac_result *r = inconclusive();
	char *t = write_plain("terminal", r);
	STARTS(t, "VERDICT: INCONCLUSIVE  2 of 3 checks could not be measured (first: "
		  "jobs queue)\n"
		  "WARNING: TLS verification is OFF for this scenario (\"insecure\": "
		  "true)\nscenario ");
	HAS(t, ", 3 rounds, INTERRUPTED, ");
	HAS(t, "  ERROR [jobs] jobs queue\n      owner: ops, kind: queue\n"
	       "      why: timed out after 5000 ms\n");
	HAS(t, "  PENDING [data] stock sync\n      owner: inventory, kind: metric\n"
	       "      why: no valid sample\n");
	before(t, "[jobs] jobs queue", "[data] stock sync");
	HASNT(t, "Failing");
	HAS(t, "\nINCONCLUSIVE: 1 passed, 0 failed, 2 not measured\n");
	free(t);
	/* Quiet: the verdict and the warning, nothing else. */
	struct ac_report_opts o = {.quiet = true};
	t = write_with("terminal", r, &o);
	ck_assert_str_eq(t, "VERDICT: INCONCLUSIVE  2 of 3 checks could not be measured (first: "
			    "jobs queue)\n"
			    "WARNING: TLS verification is OFF for this scenario (\"insecure\": "
			    "true)\n");
	free(t);
	ac_result_destroy(r);
}
END_TEST

/* --- JSON ---------------------------------------------------------------- */

const cJSON *get(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	ck_assert_msg(v != NULL, "JSON: no field \"%s\"", k);
	return v;
}

static void has_fields(const cJSON *o, const char *what, const char *const *keys)
{
	for (size_t i = 0; keys[i]; i++)
		ck_assert_msg(cJSON_GetObjectItemCaseSensitive(o, keys[i]) != NULL,
			      "JSON %s: no field \"%s\"", what, keys[i]);
}

const char *str(const cJSON *o, const char *k)
{
	const cJSON *v = get(o, k);
	ck_assert_msg(cJSON_IsString(v), "JSON: \"%s\" is not a string", k);
	return v->valuestring;
}

double num(const cJSON *o, const char *k)
{
	const cJSON *v = get(o, k);
	ck_assert_msg(cJSON_IsNumber(v), "JSON: \"%s\" is not a number", k);
	return v->valuedouble;
}

cJSON *json_of(const struct ac_result *r)
{
	char *t = write_plain("json", r);
	cJSON *j = cJSON_Parse(t);
	ck_assert_msg(j != NULL, "not JSON:\n%s", t);
	free(t);
	return j;
}

/* The fields of README's "The JSON report" table. */
static const char *const root_keys[] = {
    "version",	   "allclear", "scenario",    "mode",	       "verdict",
    "exit_code",   "reason",   "started_at",  "ended_at",      "rounds",
    "slow_rounds", "confirm",  "interrupted", "stopped_early", "insecure_tls",
    "counts",	   "personas", "areas",	      "checks",	       "restore_estimate",
    NULL};
static const char *const check_keys[] = {
    "id",	   "name",	   "kind",	   "area",    "owner",
    "description", "critical",	   "target",	   "persona", "state",
    "reason",	   "note",	   "samples",	   "passes",  "fails",
    "errors",	   "flaps",	   "last",	   "history", "passed_after_retry",
    "green_since", "recovered_at", "last_failure", "rate",    NULL};
static const char *const sample_keys[] = {
    "round",	"at",	    "state",	   "reason",
    "value",	"observed", "duration_ms", "passed_after_retry",
    "evidence", "steps",    "figures",	   NULL};
static const char *const step_keys[] = {
    "name",    "method", "url",	   "state",	"status",  "duration_ms", "tries", "waited_ms",
    "cleanup", "write",	 "reason", "served_by", "excerpt", "assertions",  NULL};

START_TEST(json_not_restored)
{
	struct ac_result *r = not_restored();
	cJSON *j = json_of(r);
	has_fields(j, "root", root_keys);
	ck_assert_int_eq((int)num(j, "version"), 1);
	ck_assert_str_eq(str(j, "verdict"), "NOT RESTORED");
	ck_assert_int_eq((int)num(j, "exit_code"), 1);
	ck_assert_str_eq(str(j, "reason"),
			 "2 checks failing; first in recovery order: flag new_checkout");
	ck_assert_str_eq(str(j, "mode"), "check");
	ck_assert_str_eq(str(j, "started_at"), "2025-11-24T16:00:00Z");
	ck_assert_str_eq(str(j, "ended_at"), "2025-11-24T16:01:35Z");
	ck_assert_str_eq(str(get(j, "scenario"), "name"), "shop after the revert");
	ck_assert_str_eq(str(get(j, "scenario"), "path"), "scenarios/shop.json");
	ck_assert(cJSON_IsFalse(get(j, "insecure_tls")));
	const cJSON *counts = get(j, "counts");
	ck_assert_int_eq((int)num(counts, "pass"), 1);
	ck_assert_int_eq((int)num(counts, "fail"), 2);
	ck_assert_int_eq((int)num(counts, "error"), 1);
	/* Areas in recovery order, each with its worst state and its ids. */
	const cJSON *areas = get(j, "areas");
	ck_assert_int_eq(cJSON_GetArraySize(areas), 3);
	const char *want[][3] = {{"flags", "FAIL", "flag new_checkout"},
				 {"data", "ERROR", "orders backlog"},
				 {"code", "FAIL", "checkout @ edge-eu"}};
	for (int i = 0; i < 3; i++) {
		const cJSON *a = cJSON_GetArrayItem(areas, i);
		ck_assert_str_eq(str(a, "area"), want[i][0]);
		ck_assert_str_eq(str(a, "state"), want[i][1]);
		ck_assert_str_eq(cJSON_GetArrayItem(get(a, "checks"), 0)->valuestring, want[i][2]);
	}
	ck_assert_int_eq(cJSON_GetArraySize(get(cJSON_GetArrayItem(areas, 2), "checks")), 2);
	/* The failing journey, whole. */
	const cJSON *checks = get(j, "checks");
	ck_assert_int_eq(cJSON_GetArraySize(checks), 4);
	const cJSON *c = cJSON_GetArrayItem(checks, 0);
	has_fields(c, "check", check_keys);
	ck_assert_str_eq(str(c, "id"), "checkout @ edge-eu");
	ck_assert_str_eq(str(c, "kind"), "http");
	ck_assert_str_eq(str(c, "area"), "code");
	ck_assert_str_eq(str(c, "owner"), "web-team");
	ck_assert_str_eq(str(c, "description"), "the classic checkout");
	ck_assert_str_eq(str(c, "target"), "edge-eu");
	ck_assert_str_eq(str(c, "persona"), "guest");
	ck_assert(cJSON_IsTrue(get(c, "critical")));
	ck_assert_str_eq(str(c, "state"), "FAIL");
	ck_assert_str_eq(str(c, "reason"), "step \"pay\": status 503 | expected 2xx");
	ck_assert_str_eq(str(c, "note"), "origin restored, edge-eu stale");
	ck_assert_int_eq((int)num(c, "samples"), 3);
	ck_assert_int_eq((int)num(c, "fails"), 3);
	ck_assert_int_eq((int)num(c, "passes"), 0);
	ck_assert_int_eq((int)num(c, "flaps"), 1);
	ck_assert_int_eq(cJSON_GetArraySize(get(c, "history")), 3);
	const cJSON *h = cJSON_GetArrayItem(get(c, "history"), 2);
	ck_assert_int_eq((int)num(h, "round"), 3);
	ck_assert_str_eq(str(h, "state"), "FAIL");
	ck_assert_int_eq((int)num(h, "value"), 30);
	const cJSON *lf = get(c, "last_failure");
	has_fields(lf, "last_failure", sample_keys);
	has_fields(get(c, "last"), "last", sample_keys);
	ck_assert_str_eq(str(lf, "at"), "2025-11-24T16:01:30Z");
	const cJSON *st = cJSON_GetArrayItem(get(lf, "steps"), 0);
	has_fields(st, "step", step_keys);
	ck_assert_str_eq(str(st, "method"), "POST");
	ck_assert_int_eq((int)num(st, "status"), 503);
	ck_assert(cJSON_IsTrue(get(st, "write")));
	ck_assert_str_eq(str(st, "served_by"), "build v41, X-Cache-Status HIT");
	const cJSON *as = cJSON_GetArrayItem(get(st, "assertions"), 0);
	ck_assert_str_eq(str(as, "what"), "status");
	ck_assert_str_eq(str(as, "expected"), "2xx");
	ck_assert_str_eq(str(as, "actual"), "503");
	ck_assert(cJSON_IsFalse(get(as, "ok")));
	const cJSON *figs = get(lf, "figures");
	ck_assert_int_eq(cJSON_GetArraySize(figs), 2);
	ck_assert_int_eq((int)num(cJSON_GetArrayItem(figs, 0), "value"), 42);
	const cJSON *f1 = cJSON_GetArrayItem(figs, 1);
	ck_assert(cJSON_IsNull(get(f1, "value")));
	ck_assert_str_eq(str(f1, "unavailable"), "the queue keeps no timestamps");
	/* The unassigned owner is "" in JSON (not "unassigned"), as before. */
	ck_assert_str_eq(str(cJSON_GetArrayItem(checks, 3), "owner"), "");
	ck_assert_str_eq(str(cJSON_GetArrayItem(checks, 1), "owner"), "db-team");
	ck_assert(cJSON_IsNull(get(cJSON_GetArrayItem(checks, 1), "target")));
	/* Personas: the journey's runs. */
	const cJSON *p = cJSON_GetArrayItem(get(j, "personas"), 0);
	ck_assert_str_eq(str(p, "persona"), "guest");
	ck_assert_int_eq((int)num(p, "runs"), 3);
	ck_assert_int_eq((int)num(p, "failed"), 3);
	ck_assert_double_eq(num(p, "error_rate"), 1.0);
	cJSON_Delete(j);
	ac_result_destroy(r);
}
END_TEST

START_TEST(json_restored_and_inconclusive)
{
	struct ac_result *r = restored();
	cJSON *j = json_of(r);
	ck_assert_str_eq(str(j, "verdict"), "RESTORED");
	ck_assert_int_eq((int)num(j, "exit_code"), 0);
	ck_assert_int_eq((int)num(get(j, "counts"), "pass"), 2);
	ck_assert_int_eq((int)num(get(j, "counts"), "error"), 0);
	const cJSON *c = cJSON_GetArrayItem(get(j, "checks"), 0);
	ck_assert(cJSON_IsNull(get(c, "last_failure")));
	ck_assert(cJSON_IsNull(get(c, "reason")));
	ck_assert_str_eq(str(c, "green_since"), "2025-11-24T16:00:00Z");
	cJSON_Delete(j);
	ac_result_destroy(r);

	r = inconclusive();
	j = json_of(r);
	ck_assert_str_eq(str(j, "verdict"), "INCONCLUSIVE");
	ck_assert_int_eq((int)num(j, "exit_code"), 2);
	ck_assert(cJSON_IsTrue(get(j, "insecure_tls")));
	ck_assert(cJSON_IsTrue(get(j, "interrupted")));
	/* A check never sampled counts as an error, not a pass. */
	ck_assert_int_eq((int)num(get(j, "counts"), "pass"), 1);
	ck_assert_int_eq((int)num(get(j, "counts"), "fail"), 0);
	ck_assert_int_eq((int)num(get(j, "counts"), "error"), 2);
	const cJSON *c2 = cJSON_GetArrayItem(get(j, "checks"), 2);
	ck_assert_str_eq(str(c2, "state"), "PENDING");
	ck_assert(cJSON_IsNull(get(c2, "last")));
	ck_assert_int_eq((int)num(c2, "samples"), 0);
	cJSON_Delete(j);
	ac_result_destroy(r);
}
END_TEST

/* --- JUnit --------------------------------------------------------------- */

START_TEST(junit_failures_and_errors)
{
	struct ac_result *r = not_restored();
	char *x = write_plain("junit", r);
	/* Two failing checks and the verdict are failures; the check that
	 * could not measure is an error, never a failure. */
	HAS(x, "<testsuites name=\"allclear\" tests=\"5\" failures=\"3\" errors=\"1\" "
	       "time=\"95.000\">\n");
	HAS(x, "<testsuite name=\"shop after the revert\" tests=\"5\" failures=\"3\" "
	       "errors=\"1\" time=\"95.000\" timestamp=\"2025-11-24T16:00:00Z\">\n");
	HAS(x, "<property name=\"insecure_tls\" value=\"false\"/>");
	char *v = testcase(x, "verdict");
	HAS(v, "<failure message=\"NOT RESTORED\" type=\"NOT RESTORED\">2 checks failing; first "
	       "in recovery order: flag new_checkout</failure>");
	free(v);
	char *c = testcase(x, "checkout @ edge-eu");
	HAS(x, "<testcase classname=\"allclear.code\" name=\"checkout @ edge-eu\" "
	       "time=\"0.250\">\n");
	HAS(c, "<failure message=\"step &quot;pay&quot;: status 503 | expected 2xx\" "
	       "type=\"FAIL\">area: code\nowner: web-team\ntarget: edge-eu\npersona: guest\n"
	       "note: origin restored, edge-eu stale\nstep: pay\n  status: expected 2xx, got "
	       "503\n  body: {&quot;error&quot;:&quot;down&quot;}\n</failure>");
	free(c);
	c = testcase(x, "flag new_checkout");
	HAS(c, "<failure message=\"new_checkout is false, expected true\" type=\"FAIL\">area: "
	       "flags\nowner: unassigned\n</failure>");
	free(c);
	c = testcase(x, "orders backlog");
	HAS(c, "<error message=\"connection refused\" type=\"ERROR\">area: data\nowner: "
	       "db-team\n</error>");
	HASNT(c, "<failure");
	free(c);
	c = testcase(x, "home @ origin");
	HASNT(c, "<failure");
	HASNT(c, "<error");
	free(c);
	free(x);
	ac_result_destroy(r);
}
END_TEST

START_TEST(junit_restored_and_inconclusive)
{
	struct ac_result *r = restored();
	char *x = write_plain("junit", r);
	HAS(x, "tests=\"3\" failures=\"0\" errors=\"0\"");
	HASNT(x, "<failure");
	HASNT(x, "<error");
	HAS(x, "<testcase classname=\"allclear.code\" name=\"home @ origin\" time=\"0.250\">\n"
	       "      <system-out>recovered at 2025-11-24T16:00:30Z</system-out>\n");
	free(x);
	ac_result_destroy(r);

	/* INCONCLUSIVE: no failure at all, so a gate that counts failures only
	 * would pass it; the verdict testcase is an error, as are the checks
	 * that were not measured (PENDING included). */
	r = inconclusive();
	x = write_plain("junit", r);
	HAS(x, "<testsuites name=\"allclear\" tests=\"4\" failures=\"0\" errors=\"3\" ");
	HASNT(x, "<failure");
	HAS(x, "<property name=\"verdict\" value=\"INCONCLUSIVE\"/>");
	HAS(x, "<property name=\"insecure_tls\" value=\"true\"/>");
	char *v = testcase(x, "verdict");
	HAS(v, "<error message=\"INCONCLUSIVE\" type=\"INCONCLUSIVE\">2 of 3 checks could not be "
	       "measured (first: jobs queue)</error>");
	free(v);
	char *c = testcase(x, "stock sync");
	HAS(c, "<error message=\"no valid sample\" type=\"PENDING\">area: data\nowner: "
	       "inventory\n</error>");
	free(c);
	free(x);
	ac_result_destroy(r);
}
END_TEST

/* --- Markdown ------------------------------------------------------------ */

START_TEST(markdown_not_restored)
{
	struct ac_result *r = not_restored();
	char *m = write_plain("markdown", r);
	/* The incident note: verdict and why, the users' view by persona,
	 * what is still wrong in recovery order, the timeline, two drafts. */
	ck_assert_str_eq(
	    m,
	    "## allclear: NOT RESTORED\n\n"
	    "2 checks failing; first in recovery order: flag new_checkout\n\n"
	    "Scenario *shop after the revert*, check mode, 3 rounds from 2025-11-24T16:00:00Z.\n\n"
	    "### What users may still see\n\n"
	    "- **guest**: the classic checkout\n\n"
	    "### What works again\n\n"
	    "No user journey passes yet.\n\n"
	    "### Still wrong, in recovery order\n\n"
	    "| state | area | check | owner | why |\n|---|---|---|---|---|\n"
	    "| FAIL | flags | flag new_checkout | unassigned | new_checkout is false, expected "
	    "true |\n"
	    "| ERROR | data | orders backlog | db-team | connection refused |\n"
	    "| FAIL | code | checkout @ edge-eu | web-team | step \"pay\": status 503 \\| "
	    "expected 2xx (origin restored, edge-eu stale) |\n\n"
	    "### Timeline\n\n"
	    "- round 1: checkout @ edge-eu fails\n"
	    "- round 1: orders backlog could not be measured\n"
	    "- round 1: home @ origin passes\n"
	    "- round 1: flag new_checkout fails\n\n"
	    "### Drafts for people to edit\n\n"
	    "**Customer update** (draft: check every sentence before it goes out)\n\n"
	    "> We are still working on a problem with our service. Some customers may see this: "
	    "the classic checkout.\n\n"
	    "**Support note** (draft)\n\n"
	    "> Verdict: NOT RESTORED.\n>\n"
	    "> Still broken: the classic checkout; flag new_checkout.\n>\n"
	    "> Not confirmed yet (could not be checked): orders backlog.\n>\n"
	    "> Customers may need to try again: checkout @ edge-eu failed on a step that saves "
	    "something.\n\n"
	    "1 of 4 checks passed.\n");
	free(m);
	ac_result_destroy(r);
}
END_TEST

START_TEST(markdown_restored_and_inconclusive)
{
	struct ac_result *r = restored();
	char *m = write_plain("markdown", r);
	ck_assert_str_eq(m,
			 "## allclear: RESTORED\n\n"
			 "all 2 checks passed in the last 3 rounds\n\n"
			 "Scenario *shop after the revert*, check mode, 3 rounds from "
			 "2025-11-24T16:00:00Z.\n\n"
			 "### What users may still see\n\n"
			 "Nothing that the journeys check: every one passed.\n\n"
			 "### What works again\n\n"
			 "- **visitor**: home @ origin\n\n"
			 "### Timeline\n\n"
			 "- round 1: flag new_checkout passes\n"
			 "- round 1: home @ origin passes\n\n"
			 "### Drafts for people to edit\n\n"
			 "**Customer update** (draft: check every sentence before it goes out)\n\n"
			 "> Our service is working normally again (checked until "
			 "2025-11-24T16:01:35Z).\n>\n"
			 "> There is nothing you need to do.\n\n"
			 "**Support note** (draft)\n\n"
			 "> Verdict: RESTORED.\n>\n"
			 "> Works now: home @ origin.\n>\n"
			 "> No failed step that saves something was seen: no retry is known to be "
			 "needed.\n\n"
			 "2 of 2 checks passed.\n");
	free(m);
	ac_result_destroy(r);

	r = inconclusive();
	/* Pipes, backticks and angle brackets in any cell are escaped. */
	free(r->checks[1].owner);
	r->checks[1].owner = ac_strdup("ops|<night> `shift`");
	m = write_plain("markdown", r);
	HAS(m, "\n\n**Warning: TLS verification was off for this run (\"insecure\": true).**\n\n");
	HAS(m, ", 3 rounds from 2025-11-24T16:00:00Z, interrupted.\n");
	HAS(m, "| ERROR | jobs | jobs queue | ops\\|\\<night\\> \\`shift\\` | timed out after 5000 "
	       "ms |\n");
	HAS(m, "| PENDING | data | stock sync | inventory | no valid sample |\n");
	before(m, "jobs queue", "stock sync");
	HAS(m, "1 of 3 checks passed.\n");
	free(m);
	ac_result_destroy(r);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("report");
	TCase *t = tcase_create("terminal");
	tcase_add_test(t, terminal_restored);
	tcase_add_test(t, terminal_not_restored);
	tcase_add_test(t, terminal_inconclusive_and_insecure);
	suite_add_tcase(s, t);
	t = tcase_create("json");
	tcase_add_test(t, json_not_restored);
	tcase_add_test(t, json_restored_and_inconclusive);
	suite_add_tcase(s, t);
	t = tcase_create("junit");
	tcase_add_test(t, junit_failures_and_errors);
	tcase_add_test(t, junit_restored_and_inconclusive);
	suite_add_tcase(s, t);
	t = tcase_create("markdown");
	tcase_add_test(t, markdown_not_restored);
	tcase_add_test(t, markdown_restored_and_inconclusive);
	suite_add_tcase(s, t);
	report_more_tcases(s);
	return s;
}

int main(void)
{
	return tu_main(suite());
}
