/*
 * test_release.c: the release map. Validation at load time (unknown checks
 * and globs, unknown and cyclic "before", owners, duplicates, warnings),
 * the map's order and the runbook `allclear map` prints, the copy into the
 * result tree, and "Next steps" in the terminal, Markdown and JSON reports
 * from a result tree built by hand. Pure: nothing is probed.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../report/report.h"
#include "release.h"
#include "testutil.h"
#include "util.h"

#define T0 1764000000000LL /* 2025-11-24T16:00:00Z */

/* Two targets; "flag is off", "search works" and "search ranks" run on
 * both, the others on the origin only. */
static char *scenario(const char *release)
{
	return tu_fmt(
	    "{\"targets\": {\"origin\": \"http://127.0.0.1:9\", \"edge\": \"http://127.0.0.1:8\"},"
	    " \"journeys\": ["
	    "  {\"name\": \"flag is off\", \"area\": \"flags\", \"owner\": \"o\","
	    "   \"steps\": [{\"url\": \"/flags\"}]},"
	    "  {\"name\": \"search works\", \"area\": \"data\", \"owner\": \"o\","
	    "   \"steps\": [{\"url\": \"/search\"}]},"
	    "  {\"name\": \"search ranks\", \"area\": \"data\", \"owner\": \"o\","
	    "   \"steps\": [{\"url\": \"/search?r=1\"}]},"
	    "  {\"name\": \"checkout\", \"area\": \"cache\", \"owner\": \"o\", \"targets\": "
	    "[\"origin\"], \"steps\": [{\"url\": \"/checkout\"}]},"
	    "  {\"name\": \"home\", \"area\": \"code\", \"owner\": \"o\", \"targets\": "
	    "[\"origin\"],"
	    "   \"steps\": [{\"url\": \"/\"}]}"
	    " ]%s%s}",
	    release ? ", \"release\": " : "", release ? release : "");
}

static struct ac_plan *load_map(const char *release)
{
	char *json = scenario(release);
	struct ac_plan *p = tu_load(json);
	free(json);
	return p;
}

static char *load_map_error(const char *release)
{
	char *json = scenario(release);
	char *e = tu_load_error(json);
	free(json);
	return e;
}

#define PART(name, area, before, checks)                                                           \
	"{\"name\": \"" name "\", \"area\": \"" area "\", \"undo\": \"undo " name                  \
	"\", \"owner\": \"own-" name "\", \"backup\": \"bak-" name "\", \"before\": " before       \
	", \"checks\": " checks "}"

/* The parts in file order: code-revert, cache-purge (after code-revert),
 * search, flags-off, session, search-rank. */
static const char *const ordered_map =
    "{\"version\": \"v42\", \"description\": \"the bad one\", \"parts\": ["
    "  " PART(
	"code-revert", "code", "[]",
	"[\"home\"]") ","
		      "  " PART(
			  "cache-purge", "cache", "[\"code-revert\"]",
			  "[\"checkout\"]") ","
					    "  " PART(
						"search", "data", "[]",
						"[\"search works\"]") ","
								      "  " PART(
									  "flags-off", "flags",
									  "[]",
									  "[\"flag is "
									  "off\"]") ","
										    " "
										    " " PART(
											"se"
											"ss"
											"io"
											"n",
											"co"
											"nf"
											"i"
											"g",
											"["
											"]",
											"["
											"\""
											"fl"
											"ag"
											" i"
											"s "
											"of"
											"f "
											"@ "
											"or"
											"ig"
											"in"
											"\""
											"]") ","
											     " "
											     " " PART(
												 "s"
												 "e"
												 "a"
												 "r"
												 "c"
												 "h"
												 "-"
												 "r"
												 "a"
												 "n"
												 "k",
												 "d"
												 "a"
												 "t"
												 "a",
												 "["
												 "]",
												 "["
												 "\"search r*\"]") "]}";

static char *map_text(const struct ac_plan *p, bool markdown)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	ck_assert_int_eq(ac_release_write_map(f, p, markdown), 0);
	fclose(f);
	return buf;
}

/* Each needle appears, after the one before it. */
static void assert_in_order(const char *text, const char *const *needles)
{
	const char *at = text;
	for (size_t i = 0; needles[i]; i++) {
		const char *hit = strstr(at, needles[i]);
		ck_assert_msg(hit, "\"%s\" not found (in order) in:\n%s", needles[i], text);
		at = hit + strlen(needles[i]);
	}
}

START_TEST(map_order_is_before_then_area_then_file)
{
	struct ac_plan *p = load_map(ordered_map);
	const struct ac_release *rel = p->release;
	ck_assert_ptr_nonnull(rel);
	ck_assert_uint_eq(rel->nparts, 6);
	const char *want[] = {"flags-off",   "session",	    "search",
			      "search-rank", "code-revert", "cache-purge"};
	for (size_t i = 0; i < 6; i++)
		ck_assert_str_eq(rel->parts[rel->order[i]].name, want[i]);
	/* Globs and ids resolve: "search r*" is the ranks journey on both
	 * targets, "flag is off @ origin" one check, "flag is off" both. */
	ck_assert_uint_eq(rel->parts[5].ncheck_idx, 2);
	ck_assert_uint_eq(rel->parts[4].ncheck_idx, 1);
	ck_assert_str_eq(p->checks[rel->parts[4].check_idx[0]].id, "flag is off @ origin");
	ck_assert_uint_eq(rel->parts[3].ncheck_idx, 2);
	/* Every check is covered: no warnings. */
	ck_assert_uint_eq(rel->nwarnings, 0);

	char *text = map_text(p, false);
	const char *lines[] = {
	    "Release map: v42 (test.json)\n",
	    "the bad one\n",
	    "6 parts in recovery order",
	    " 1. flags-off  [flags]\n",
	    "    undo:      undo flags-off\n",
	    "    owner:     own-flags-off, backup: bak-flags-off\n",
	    "    proven by: flag is off (2 checks)\n",
	    " 2. session  [config]\n",
	    "    proven by: flag is off\n",
	    " 3. search  [data]\n",
	    " 4. search-rank  [data]\n",
	    "    proven by: search ranks (2 checks)\n",
	    " 5. code-revert  [code]\n",
	    " 6. cache-purge  [cache]\n",
	    "    after:     5. code-revert\n",
	    "    proven by: checkout\n",
	    NULL,
	};
	assert_in_order(text, lines);
	free(text);
	text = map_text(p, true);
	const char *md[] = {
	    "## Release map: v42\n",
	    "### 1. flags-off (flags)\n",
	    "- **undo:** undo flags-off\n",
	    "- **owner:** own-flags-off, backup: bak-flags-off\n",
	    "### 6. cache-purge (cache)\n",
	    "- **after:** 5. code-revert\n",
	    NULL,
	};
	assert_in_order(text, md);
	free(text);
	ac_plan_destroy(p);
}
END_TEST

START_TEST(map_errors_name_the_part_and_key)
{
	char *e = load_map_error(
	    "{\"parts\": ["
	    "  " PART(
		"a", "flags", "[]",
		"[\"chekout\"]") ","
				 "  " PART(
				     "b", "config", "[\"nope\"]",
				     "[\"search x*\"]") ","
							"  {\"name\": \"c\", \"area\": \"jobs\", "
							"\"undo\": [\"one\", \"two\"], "
							"   \"checks\": [\"home\"]},"
							"  " PART(
							    "a", "cache", "[]",
							    "[\"home\"]") ","
									  "  " PART(
									      "d", "cach", "[]",
									      "[\"home\"]") ","
											    "  "
											    "{\"nam"
											    "e\": "
											    "\"e\","
											    " \"are"
											    "a\": "
											    "\"code"
											    "\", "
											    "\"owne"
											    "r\": "
											    "\"x\","
											    " \"che"
											    "cks\":"
											    " ["
											    "\"home"
											    "\"]}"
											    "]}");
	const char *want[] = {
	    "test.json: release.parts[0].checks[0]: no check is named \"chekout\", did you mean "
	    "\"checkout\"?",
	    "test.json: release.parts[1].before[0]: no part is named \"nope\"",
	    "test.json: release.parts[1].checks[0]: the pattern \"search x*\" matches no check",
	    "test.json: release.parts[2]: part \"c\" has no owner",
	    "test.json: release.parts[3].name: another part is named \"a\" (parts[0])",
	    "test.json: release.parts[4].area: unknown area \"cach\", did you mean \"cache\"?",
	    "test.json: release.parts[5]: missing required key \"undo\"",
	    NULL,
	};
	for (size_t i = 0; want[i]; i++)
		ck_assert_msg(strstr(e, want[i]), "expected \"%s\" in:\n%s", want[i], e);
	free(e);
	/* The section's own shape. */
	e = load_map_error("{\"parts\": [], \"verison\": \"v1\"}");
	ck_assert_msg(strstr(e, "release.verison: unknown key, did you mean \"version\"?"), "%s",
		      e);
	ck_assert_msg(strstr(e, "release.parts: expected a non-empty list of parts"), "%s", e);
	free(e);
	e = load_map_error("[1]");
	ck_assert_msg(strstr(e, "release: expected an object"), "%s", e);
	free(e);
}
END_TEST

START_TEST(map_cycles_are_named)
{
	char *e = load_map_error(
	    "{\"parts\": ["
	    "  " PART("x", "code", "[\"a\"]",
		      "[\"home\"]") ","
				    "  " PART(
					"a", "flags", "[\"b\"]",
					"[\"home\"]") ","
						      "  " PART(
							  "b", "flags", "[\"c\"]",
							  "[\"home\"]") ","
									"  " PART(
									    "c", "flags", "[\"a\"]",
									    "[\"home\"]") "]}");
	ck_assert_msg(strstr(e, "test.json: release.parts: cycle in \"before\": a waits for b, "
				"which waits for c, which waits for a"),
		      "%s", e);
	free(e);
	e = load_map_error("{\"parts\": [" PART("a", "flags", "[\"a\"]", "[\"home\"]") "]}");
	ck_assert_msg(strstr(e, "cycle in \"before\": a waits for itself"), "%s", e);
	free(e);
	/* Two parts that wait for each other. */
	e = load_map_error("{\"parts\": [" PART("a", "flags", "[\"b\"]", "[\"home\"]") ", " PART(
	    "b", "code", "[\"a\"]", "[\"home\"]") "]}");
	ck_assert_msg(strstr(e, "cycle in \"before\": a waits for b, which waits for a"), "%s", e);
	free(e);
}
END_TEST

START_TEST(map_warnings_do_not_fail)
{
	/* "home" is in no part; "flag is off @ edge" neither (its origin twin
	 * is); "messages" lists no checks. */
	struct ac_plan *p = load_map(
	    "{\"parts\": ["
	    "  " PART(
		"flags", "flags", "[]",
		"[\"flag is off @ origin\"]") ","
					      "  " PART(
						  "rest", "data", "[]",
						  "[\"search *\", \"checkout\"]") ","
										  "  {\"name\": "
										  "\"messages\", "
										  "\"area\": "
										  "\"config\", "
										  "\"undo\": "
										  "\"tell "
										  "support\","
										  "   \"owner\": "
										  "\"sam\"}]}");
	const struct ac_release *rel = p->release;
	const char *w = rel->warnings.buf;
	ck_assert_uint_eq(rel->nwarnings, 3);
	ck_assert_msg(strstr(w, "test.json: release.parts[2]: warning: part \"messages\": nothing "
				"proves this part restored (it lists no checks)\n"),
		      "%s", w);
	ck_assert_msg(strstr(w, "warning: check \"flag is off @ edge\" is in no part of the "
				"release map\n"),
		      "%s", w);
	ck_assert_msg(strstr(w, "warning: check \"home\" is in no part of the release map\n"), "%s",
		      w);
	/* The glob took both search journeys on both targets. */
	ck_assert_uint_eq(rel->parts[1].ncheck_idx, 5);
	char *text = map_text(p, false);
	ck_assert_msg(strstr(text, "    proven by: nothing proves this part restored\n"), "%s",
		      text);
	free(text);
	ac_plan_destroy(p);
}
END_TEST

START_TEST(without_a_map_nothing_changes)
{
	struct ac_plan *p = load_map(NULL);
	ck_assert_ptr_null(p->release);
	ac_plan_destroy(p);
}
END_TEST

START_TEST(cli_map_lint_and_no_map)
{
	char *json = scenario(
	    "{\"version\": \"v7\", \"parts\": ["
	    "  " PART(
		"flags", "flags", "[]",
		"[\"flag is off\", \"search *\", \"checkout\"]") ","
								 "  {\"name\": \"messages\", "
								 "\"area\": \"config\", \"undo\": "
								 "\"tell support\","
								 "   \"owner\": \"sam\", "
								 "\"before\": [\"flags\"]}]}");
	char *path = tu_write_temp(json, ".json");
	struct tu_proc pr;
	const char *lint[] = {"lint", path, NULL};
	tu_run(&pr, lint, NULL, 30);
	TU_EXPECT(pr.exit_code == 0, &pr, "lint exit %d", pr.exit_code);
	TU_EXPECT(strstr(pr.out, "release map: 2 parts, 2 warnings"), &pr, "lint summary");
	TU_EXPECT(strstr(pr.err, ": release.parts[1]: warning: part \"messages\": nothing proves "
				 "this part restored"),
		  &pr, "lint warning");
	TU_EXPECT(strstr(pr.err, ": journeys[4]: warning: check \"home\" is in no part"), &pr,
		  "uncovered warning");
	tu_proc_release(&pr);
	const char *map[] = {"map", path, NULL};
	tu_run(&pr, map, NULL, 30);
	TU_EXPECT(pr.exit_code == 0, &pr, "map exit %d", pr.exit_code);
	const char *want[] = {"Release map: v7", " 1. flags  [flags]", " 2. messages  [config]",
			      "    after:     1. flags", NULL};
	assert_in_order(pr.out, want);
	tu_proc_release(&pr);
	const char *mapmd[] = {"map", path, "--format", "markdown", NULL};
	tu_run(&pr, mapmd, NULL, 30);
	TU_EXPECT(pr.exit_code == 0 && strstr(pr.out, "### 2. messages (config)"), &pr, "md");
	tu_proc_release(&pr);
	const char *mapjson[] = {"map", path, "--format", "json", NULL};
	tu_run(&pr, mapjson, NULL, 30);
	TU_EXPECT(pr.exit_code == 3 && strstr(pr.err, "terminal or markdown"), &pr, "json");
	tu_proc_release(&pr);
	free(path);
	free(json);

	json = scenario(NULL);
	path = tu_write_temp(json, ".json");
	const char *nomap[] = {"map", path, NULL};
	tu_run(&pr, nomap, NULL, 30);
	TU_EXPECT(pr.exit_code == 3, &pr, "no map: exit %d", pr.exit_code);
	TU_EXPECT(strstr(pr.err, "allclear: no release map in ") && !*pr.out, &pr, "no map msg");
	tu_proc_release(&pr);
	const char *lint2[] = {"lint", path, NULL};
	tu_run(&pr, lint2, NULL, 30);
	TU_EXPECT(pr.exit_code == 0 && !strstr(pr.out, "release map") && !*pr.err, &pr, "lint");
	tu_proc_release(&pr);
	free(path);
	free(json);
}
END_TEST

/* --- the result tree ----------------------------------------------------- */

static struct ac_check_result *add_check(struct ac_result *r, const char *id, enum ac_state st,
					 const char *reason, int64_t green)
{
	r->checks = ac_realloc(r->checks, (r->nchecks + 1) * sizeof(*r->checks));
	struct ac_check_result *cr = &r->checks[r->nchecks++];
	memset(cr, 0, sizeof(*cr));
	cr->id = ac_strdup(id);
	cr->name = ac_strdup(id);
	cr->kind = ac_strdup("http");
	cr->area = ac_strdup("flags");
	cr->owner = ac_strdup("team");
	cr->state = st;
	cr->reason = reason ? ac_strdup(reason) : NULL;
	cr->green_since_wall = green;
	return cr;
}

static char **strs(const char *a, const char *b, size_t *n)
{
	char **v = ac_calloc(2, sizeof(*v));
	*n = 0;
	if (a)
		v[(*n)++] = ac_strdup(a);
	if (b)
		v[(*n)++] = ac_strdup(b);
	return v;
}

static void add_part(struct ac_result *r, const char *name, const char *area, const char *undo1,
		     const char *undo2, const char *backup, const char *restart, size_t c1,
		     size_t c2)
{
	r->parts = ac_realloc(r->parts, (r->nparts + 1) * sizeof(*r->parts));
	struct ac_result_part *p = &r->parts[r->nparts++];
	memset(p, 0, sizeof(*p));
	p->name = ac_strdup(name);
	p->area = ac_strdup(area);
	p->undo = strs(undo1, undo2, &p->nundo);
	p->owner = tu_fmt("owner of %s", name);
	p->backup = backup ? ac_strdup(backup) : NULL;
	p->restart = restart ? ac_strdup(restart) : NULL;
	p->before = ac_calloc(1, sizeof(*p->before));
	p->checks = ac_calloc(2, sizeof(*p->checks));
	if (c1 != SIZE_MAX)
		p->checks[p->nchecks++] = c1;
	if (c2 != SIZE_MAX)
		p->checks[p->nchecks++] = c2;
	for (size_t k = 0; k < p->nchecks; k++) {
		struct ac_check_result *cr = &r->checks[p->checks[k]];
		free(cr->part);
		cr->part = ac_strdup(name);
	}
}

/* flags-off: one target fails (to do); session: passed, green since the
 * later of its checks; payments: could not measure (never done);
 * messages: no checks; code: passed. */
static struct ac_result *tree(void)
{
	struct ac_result *r = ac_calloc(1, sizeof(*r));
	r->schema_version = AC_RESULT_SCHEMA_VERSION;
	r->scenario_path = ac_strdup("shop.json");
	r->scenario_name = ac_strdup("shop");
	r->mode = ac_strdup("check");
	r->verdict = AC_NOT_RESTORED;
	r->verdict_reason = ac_strdup("1 check failed");
	r->started_wall_ms = T0;
	r->ended_wall_ms = T0 + 60000;
	r->rounds = 3;
	add_check(r, "flag @ edge", AC_STATE_FAIL,
		  "json $.new_checkout: expected == false, got true", 0);
	add_check(r, "flag @ origin", AC_STATE_PASS, NULL, T0 + 1000);
	add_check(r, "account", AC_STATE_PASS, NULL, T0 + 5000);
	add_check(r, "cart", AC_STATE_PASS, NULL, T0 + 2000)->recovered_at_wall = T0 + 7000;
	add_check(r, "queue", AC_STATE_ERROR, "cannot connect to redis", 0);
	add_check(r, "home", AC_STATE_PASS, NULL, T0 + 3000);
	r->release_version = ac_strdup("v42");
	add_part(r, "flags-off", "flags", "set new_checkout=0", NULL, "Tom", NULL, 0, 1);
	add_part(r, "session", "config", "format v1", "drop v2 sessions", "Sam", NULL, 2, 3);
	add_part(r, "payments", "jobs", "pause the worker", "mode v41", NULL, "the worker", 4,
		 SIZE_MAX);
	add_part(r, "messages", "config", "tell support", NULL, "Ann", NULL, SIZE_MAX, SIZE_MAX);
	add_part(r, "code", "code", "redeploy v41", NULL, "Tom", "app servers", 5, SIZE_MAX);
	return r;
}

static char *write_with(const char *format, const struct ac_result *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct ac_report_opts o = {0};
	ck_assert_int_eq(ac_writer_find(format)->write(f, r, &o), 0);
	fclose(f);
	return buf;
}

START_TEST(next_steps_terminal)
{
	struct ac_result *r = tree();
	char *t = write_with("terminal", r);
	const char *want[] = {
	    "      why: json $.new_checkout: expected == false, got true [part: flags-off]\n",
	    "\nNext steps, in the release map's order (release v42):\n",
	    "   1. TO DO    flags-off [flags]\n",
	    "        undo: set new_checkout=0\n",
	    "        owner: owner of flags-off, backup: Tom\n",
	    "        evidence:\n",
	    "          FAIL flag @ edge: json $.new_checkout: expected == false, got true\n",
	    "   2. done     session [config]: green since 2025-11-24T16:00:07Z\n",
	    "   3. UNKNOWN  payments [jobs]\n",
	    "        undo 1/2: pause the worker\n",
	    "        undo 2/2: mode v41\n",
	    "        owner: owner of payments, backup: none named\n",
	    "        then restart: the worker\n",
	    "          ERROR queue: cannot connect to redis\n",
	    "   4. UNPROVEN messages [config]: nothing proves this part restored (no checks)\n",
	    "   5. done     code [code]: green since 2025-11-24T16:00:03Z\n",
	    "\nNOT RESTORED: ",
	    NULL,
	};
	assert_in_order(t, want);
	/* A passing check's part is not shown as evidence. */
	ck_assert_ptr_null(strstr(t, "PASS flag @ origin"));
	free(t);
	ac_result_destroy(r);
}
END_TEST

START_TEST(next_steps_group_a_journey_failing_alike_on_targets)
{
	struct ac_result *r = tree();
	const char *tg[] = {"origin", "edge-us", "edge-eu"};
	const char *why[] = {"body: expected contains \"classic\", got not found",
			     "header X-Build: expected v41, got v42",
			     "header X-Build: expected v41, got v42"};
	for (size_t i = 0; i < 3; i++) {
		char *id = tu_fmt("checkout @ %s", tg[i]);
		struct ac_check_result *cr = add_check(r, id, AC_STATE_FAIL, why[i], 0);
		free(cr->name);
		cr->name = ac_strdup("checkout");
		cr->target.name = ac_strdup(tg[i]);
		free(id);
	}
	add_part(r, "edge-cache", "cache", "purge", NULL, "Ben", NULL, 6, 7);
	struct ac_result_part *p = &r->parts[r->nparts - 1];
	p->checks = ac_realloc(p->checks, 3 * sizeof(*p->checks));
	p->checks[p->nchecks++] = 8;
	char *t = write_with("terminal", r);
	const char *want[] = {
	    "   6. TO DO    edge-cache [cache]\n",
	    "          FAIL checkout @ origin: body: expected contains \"classic\", got not "
	    "found\n",
	    "          FAIL checkout @ edge-us, edge-eu: header X-Build: expected v41, got v42\n",
	    NULL,
	};
	assert_in_order(t, want);
	ck_assert_ptr_null(strstr(t, "FAIL checkout @ edge-eu:"));
	free(t);
	t = write_with("markdown", r);
	ck_assert_msg(
	    strstr(t, "   - evidence: FAIL checkout @ edge-us, edge-eu: header X-Build: expected "
		      "v41, got v42\n"),
	    "%s", t);
	free(t);
	ac_result_destroy(r);
}
END_TEST

START_TEST(next_steps_markdown)
{
	struct ac_result *r = tree();
	char *t = write_with("markdown", r);
	const char *want[] = {
	    "| FAIL | flags | flag @ edge | team | json $.new_checkout: expected == false, got "
	    "true "
	    "[part: flags-off] |",
	    "### Next steps (release v42)\n",
	    "1. **flags-off** (flags): **to do**\n",
	    "   - undo: set new\\_checkout=0\n",
	    "   - owner: owner of flags-off, backup: Tom\n",
	    "   - evidence: FAIL flag @ edge: json $.new\\_checkout: expected == false, got true\n",
	    "2. ~~session~~ (config): done, green since 2025-11-24T16:00:07Z\n",
	    "3. **payments** (jobs): not measured\n",
	    "   - undo step: pause the worker\n",
	    "   - undo step: mode v41\n",
	    "   - then restart: the worker\n",
	    "   - evidence: ERROR queue: cannot connect to redis\n",
	    "4. **messages** (config): nothing proves this part restored\n",
	    "5. ~~code~~ (code): done",
	    NULL,
	};
	assert_in_order(t, want);
	free(t);
	ac_result_destroy(r);
}
END_TEST

START_TEST(next_steps_json)
{
	struct ac_result *r = tree();
	char *t = write_with("json", r);
	cJSON *root = cJSON_Parse(t);
	ck_assert_ptr_nonnull(root);
	const cJSON *rel = cJSON_GetObjectItemCaseSensitive(root, "release");
	ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(rel, "version")->valuestring, "v42");
	const cJSON *parts = cJSON_GetObjectItemCaseSensitive(rel, "parts");
	ck_assert_int_eq(cJSON_GetArraySize(parts), 5);
	const char *names[] = {"flags-off", "session", "payments", "messages", "code"};
	const char *status[] = {"todo", "done", "not measured", "unproven", "done"};
	for (int i = 0; i < 5; i++) {
		const cJSON *p = cJSON_GetArrayItem(parts, i);
		ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(p, "step")->valueint, i + 1);
		ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(p, "name")->valuestring,
				 names[i]);
		ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(p, "status")->valuestring,
				 status[i]);
	}
	const cJSON *p0 = cJSON_GetArrayItem(parts, 0);
	ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(p0, "backup")->valuestring, "Tom");
	ck_assert_str_eq(
	    cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(p0, "undo"), 0)->valuestring,
	    "set new_checkout=0");
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(p0, "checks")), 2);
	const cJSON *ev = cJSON_GetObjectItemCaseSensitive(p0, "evidence");
	ck_assert_int_eq(cJSON_GetArraySize(ev), 1);
	ck_assert_str_eq(
	    cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(ev, 0), "check")->valuestring,
	    "flag @ edge");
	ck_assert_str_eq(
	    cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(ev, 0), "reason")->valuestring,
	    "json $.new_checkout: expected == false, got true");
	ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(p0, "green_since")));
	const cJSON *p1 = cJSON_GetArrayItem(parts, 1);
	ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(p1, "green_since")->valuestring,
			 "2025-11-24T16:00:07Z");
	const cJSON *p2 = cJSON_GetArrayItem(parts, 2);
	ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(p2, "backup")));
	ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(p2, "green_since")));
	const cJSON *c0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(root, "checks"), 0);
	ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(c0, "part")->valuestring, "flags-off");
	cJSON_Delete(root);
	free(t);
	ac_result_destroy(r);
}
END_TEST

START_TEST(junit_failures_name_their_part)
{
	struct ac_result *r = tree();
	char *t = write_with("junit", r);
	ck_assert_msg(strstr(t, "message=\"json $.new_checkout: expected == false, got true [part: "
				"flags-off]\" type=\"FAIL\""),
		      "%s", t);
	ck_assert_msg(strstr(t, "message=\"cannot connect to redis [part: payments]\""), "%s", t);
	free(t);
	ac_result_destroy(r);
}
END_TEST

START_TEST(next_steps_absent_without_a_map)
{
	struct ac_result *r = tree();
	for (size_t i = 0; i < r->nparts; i++)
		ac_result_part_release(&r->parts[i]);
	free(r->parts);
	r->parts = NULL;
	r->nparts = 0;
	for (size_t i = 0; i < r->nchecks; i++) {
		free(r->checks[i].part);
		r->checks[i].part = NULL;
	}
	char *t = write_with("terminal", r);
	ck_assert_ptr_null(strstr(t, "Next steps"));
	ck_assert_ptr_null(strstr(t, "[part:"));
	free(t);
	t = write_with("markdown", r);
	ck_assert_ptr_null(strstr(t, "Next steps"));
	free(t);
	t = write_with("json", r);
	ck_assert_ptr_nonnull(strstr(t, "\"release\":\tnull"));
	free(t);
	ac_result_destroy(r);
}
END_TEST

START_TEST(fill_result_copies_the_map_masked)
{
	setenv("AC_TEST_RELMAP_SECRET", "relmap-canary-5150", 1);
	struct ac_plan *p = load_map(
	    "{\"version\": \"v9\", \"parts\": ["
	    "  " PART("code-revert", "code", "[]",
		      "[\"home\", \"search *\"]") ","
						  "  {\"name\": \"flags-off\", \"area\": "
						  "\"flags\", \"owner\": \"o\","
						  "   \"undo\": [\"log in with "
						  "${env:AC_TEST_RELMAP_SECRET}\", \"flip\"],"
						  "   \"checks\": [\"flag is off\", \"checkout\", "
						  "\"search works @ edge\"]}]}");
	/* The runbook is masked too. */
	char *text = map_text(p, false);
	ck_assert_ptr_null(strstr(text, "relmap-canary"));
	free(text);
	struct ac_result *r = ac_calloc(1, sizeof(*r));
	r->nchecks = p->nchecks;
	r->checks = ac_calloc(p->nchecks, sizeof(*r->checks));
	for (size_t i = 0; i < p->nchecks; i++) {
		r->checks[i].check = &p->checks[i];
		r->checks[i].id = ac_strdup(p->checks[i].id);
	}
	ac_release_fill_result(p, r);
	ck_assert_str_eq(r->release_version, "v9");
	ck_assert_uint_eq(r->nparts, 2);
	ck_assert_str_eq(r->parts[0].name, "flags-off");
	ck_assert_str_eq(r->parts[1].name, "code-revert");
	ck_assert_uint_eq(r->parts[0].nundo, 2);
	ck_assert_ptr_null(strstr(r->parts[0].undo[0], "relmap-canary"));
	ck_assert_ptr_null(r->parts[0].backup);
	ck_assert_str_eq(r->parts[1].backup, "bak-code-revert");
	/* flag is off on 2 targets, checkout, search works @ edge */
	ck_assert_uint_eq(r->parts[0].nchecks, 4);
	for (size_t k = 0; k < r->parts[0].nchecks; k++)
		ck_assert_ptr_nonnull(r->checks[r->parts[0].checks[k]].part);
	/* A check two parts list names both, in the map's order. */
	for (size_t i = 0; i < r->nchecks; i++) {
		if (strcmp(r->checks[i].id, "search works @ edge") == 0)
			ck_assert_str_eq(r->checks[i].part, "flags-off, code-revert");
		else if (strcmp(r->checks[i].id, "home @ origin") == 0 ||
			 strcmp(r->checks[i].id, "home") == 0)
			ck_assert_str_eq(r->checks[i].part, "code-revert");
	}
	ac_result_destroy(r);
	ac_plan_destroy(p);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("release");
	TCase *tc = tcase_create("map");
	tcase_add_test(tc, map_order_is_before_then_area_then_file);
	tcase_add_test(tc, map_errors_name_the_part_and_key);
	tcase_add_test(tc, map_cycles_are_named);
	tcase_add_test(tc, map_warnings_do_not_fail);
	tcase_add_test(tc, without_a_map_nothing_changes);
	tcase_add_test(tc, cli_map_lint_and_no_map);
	suite_add_tcase(s, tc);
	tc = tcase_create("next_steps");
	tcase_add_test(tc, next_steps_terminal);
	tcase_add_test(tc, next_steps_group_a_journey_failing_alike_on_targets);
	tcase_add_test(tc, next_steps_markdown);
	tcase_add_test(tc, next_steps_json);
	tcase_add_test(tc, junit_failures_name_their_part);
	tcase_add_test(tc, next_steps_absent_without_a_map);
	tcase_add_test(tc, fill_result_copies_the_map_masked);
	suite_add_tcase(s, tc);
	return tu_main(s);
}
