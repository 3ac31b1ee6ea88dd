/*
 * test_note.c: the incident note (the Markdown report's parts for people,
 * report/note.c) from result trees built here: the users' view by persona
 * from each check's "impact", the timeline with its times and turns, the
 * customer update for each verdict (never a fact the tree does not hold),
 * the support note's retry and affected-records lines, escaping of markup
 * in the scenario's texts; and GITHUB_STEP_SUMMARY through the binary.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../report/report.h"
#include "hostile.h"
#include "testutil.h"
#include "util.h"

#define T0 1764000000000LL /* 2025-11-24T16:00:00Z */

static struct ac_check_result *add(struct ac_result *r, const char *name, const char *persona,
				   const char *area, const char *states)
{
	r->checks = ac_realloc(r->checks, (r->nchecks + 1) * sizeof(*r->checks));
	struct ac_check_result *cr = &r->checks[r->nchecks++];
	memset(cr, 0, sizeof(*cr));
	cr->name = ac_strdup(name);
	cr->id = persona ? tu_fmt("%s @ origin", name) : ac_strdup(name);
	cr->persona = persona ? ac_strdup(persona) : NULL;
	cr->area = ac_strdup(area);
	cr->owner = ac_strdup("team");
	for (int k = 0; states[k]; k++) {
		enum ac_state st = states[k] == 'P'   ? AC_STATE_PASS
				   : states[k] == 'F' ? AC_STATE_FAIL
						      : AC_STATE_ERROR;
		struct ac_point p = {.t_ms = k * 1000,
				     .wall_ms = T0 + (k + 1) * 60000,
				     .round = k + 1,
				     .state = (unsigned char)st};
		ac_history_add(&cr->history, &p);
		if (st == AC_STATE_PASS && cr->state != AC_STATE_PASS && k > 0)
			cr->recovered_at_wall = p.wall_ms; /* as the judge does */
		cr->state = st;
	}
	if (cr->history.fails)
		cr->has_last_bad = true;
	return cr;
}

static struct ac_result *tree(enum ac_verdict v)
{
	struct ac_result *r = ac_calloc(1, sizeof(*r));
	r->scenario_name = ac_strdup("shop");
	r->mode = ac_strdup("watch");
	r->verdict = v;
	r->verdict_reason = ac_strdup("why");
	r->rounds = 4;
	r->started_wall_ms = T0;
	r->ended_wall_ms = T0 + 240000;
	r->customer_product = ac_strdup("Corner Shop");
	r->customer_next_update = ac_strdup("within 30 minutes");
	r->customer_contact = ac_strdup("help@corner.example");
	return r;
}

static char *note(const struct ac_result *r)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	struct ac_report_opts o = {0};
	ck_assert_int_eq(ac_writer_find("markdown")->write(f, r, &o), 0);
	fclose(f);
	return buf;
}

#define HAS(text, needle) ck_assert_msg(strstr(text, needle), "missing <%s> in:\n%s", needle, text)
#define HASNT(text, needle)                                                                        \
	ck_assert_msg(!strstr(text, needle), "unwanted <%s> in:\n%s", needle, text)

START_TEST(not_restored_note_speaks_from_the_scenario_texts)
{
	struct ac_result *r = tree(AC_NOT_RESTORED);
	struct ac_check_result *c = add(r, "checkout", "signed_in", "cache", "FFPF");
	c->impact = ac_strdup("signed-in customers cannot *pay* [see](http://x)");
	struct ac_step_result *st = ac_sample_add_step(&c->last_bad);
	st->write = true;
	st->state = AC_STATE_FAIL;
	add(r, "search", "searcher", "data", "FPPP");
	struct ac_check_result *d = add(r, "duplicate holds", NULL, "data", "FFFF");
	d->last_bad.evidence = ac_strdup("order_id=1041 count=2\norder_id=1077 count=3");
	add(r, "payments queue", NULL, "jobs", "EEEE");
	char *m = note(r);
	/* the users' view: the impact, escaped (no emphasis, no link) */
	HAS(m, "### What users may still see\n\n- **signed_in**: signed-in customers cannot "
	       "\\*pay\\* \\[see\\](http://x)\n");
	HAS(m, "### What works again\n\n- **searcher**: search (recovered at "
	       "2025-11-24T16:02:00Z)\n");
	/* the timeline: times, first states and turns, in time order */
	HAS(m, "- 2025-11-24T16:01:00Z, round 1: checkout @ origin fails\n");
	HAS(m, "- 2025-11-24T16:02:00Z, round 2: search @ origin went green\n");
	HAS(m, "- 2025-11-24T16:03:00Z, round 3: checkout @ origin went green\n"
	       "- 2025-11-24T16:04:00Z, round 4: checkout @ origin went red\n");
	HAS(m, "payments queue could not be measured\n");
	/* the customer update: still working, the impact, the next update */
	HAS(m, "> We are still working on a problem with Corner Shop. Some customers may see "
	       "this: signed-in customers cannot \\*pay\\* \\[see\\](http://x). Some records are "
	       "being checked and repaired.\n>\n"
	       "> We will post the next update within 30 minutes.\n>\n"
	       "> Questions: help@corner.example.\n");
	/* the support note: retry after a failed write, affected records */
	HAS(m, "> Customers may need to try again: checkout failed on a step that saves "
	       "something.\n");
	HAS(m, "> Affected records (duplicate holds): order_id=1041 count=2 order_id=1077 "
	       "count=3\n");
	HAS(m, "> Not confirmed yet (could not be checked): payments queue.\n");
	/* order of the note */
	const char *order[] = {"### What users may still see",
			       "### What works again",
			       "### Still wrong",
			       "### Timeline",
			       "**Customer update**",
			       "**Support note**"};
	for (size_t i = 1; i < AC_ARRAY_LEN(order); i++)
		ck_assert_msg(strstr(m, order[i - 1]) < strstr(m, order[i]), "%s before %s",
			      order[i - 1], order[i]);
	free(m);
	ac_result_destroy(r);
}
END_TEST

START_TEST(restored_and_inconclusive_updates)
{
	struct ac_result *r = tree(AC_RESTORED);
	struct ac_check_result *c = add(r, "checkout", "visitor", "code", "FPPP");
	c->description = ac_strdup("the classic checkout");
	add(r, "orders total", NULL, "data", "PPPP");
	char *m = note(r);
	/* all clear: what some saw earlier, data safe (a data check passed) */
	HAS(m, "> Corner Shop is working normally again (checked until 2025-11-24T16:04:00Z). "
	       "Earlier, some customers may have seen this: the classic checkout. Our checks of "
	       "the stored data found no damaged records.\n>\n"
	       "> There is nothing you need to do.\n");
	HASNT(m, "next update");
	HAS(m, "> Broken earlier in the window, fixed now: the classic checkout.\n");
	free(m);
	ac_result_destroy(r);

	r = tree(AC_INCONCLUSIVE);
	add(r, "checkout", "visitor", "code", "PPPP");
	add(r, "payments queue", NULL, "jobs", "EEEE");
	m = note(r);
	HAS(m, "> We have made changes to fix a problem with Corner Shop and are confirming that "
	       "everything works. We could not yet confirm these parts: jobs.\n");
	/* no data check: nothing said about data */
	HASNT(m, "stored data");
	free(m);
	ac_result_destroy(r);
}
END_TEST

/* Every persona is counted and shown, however many there are (the
 * writers kept 32 or 64 and dropped the rest without a word). */
START_TEST(every_persona_is_shown)
{
	struct ac_result *r = tree(AC_NOT_RESTORED);
	for (int i = 0; i < 70; i++) {
		char *name = tu_fmt("journey %d", i), *persona = tu_fmt("persona-%d", i);
		add(r, name, persona, "code", "FF");
		free(name);
		free(persona);
	}
	char *m = note(r);
	HAS(m, "- **persona-69**: journey 69\n");
	free(m);
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	struct ac_report_opts o = {0};
	ck_assert_int_eq(ac_writer_find("terminal")->write(f, r, &o), 0);
	fclose(f);
	HAS(buf, "persona-69 ");
	free(buf);
	buf = NULL;
	f = open_memstream(&buf, &n);
	ck_assert_int_eq(ac_writer_find("json")->write(f, r, &o), 0);
	fclose(f);
	HAS(buf, "\"persona\":\t\"persona-69\"");
	free(buf);
	ac_result_destroy(r);
}
END_TEST

/* Under GitHub Actions the note is appended to the job summary. */
START_TEST(github_step_summary_gets_the_note)
{
	struct hs_server s;
	hs_start(&s, hs_ok_any, NULL);
	char *t = tu_fmt("\"origin\": \"http://127.0.0.1:%d\"", s.port);
	char *path = tu_http_scenario("", t, TU_JOURNEY("home", "\"steps\": [{\"url\": \"/\"}]"));
	char *summary = tu_write_temp("earlier step\n", ".md");
	char *env_summary = tu_fmt("GITHUB_STEP_SUMMARY=%s", summary);
	const char *env[] = {env_summary, NULL};
	struct tu_proc p;
	const char *args[] = {"check", path, NULL};
	tu_run(&p, args, env, 30);
	TU_EXPECT(p.exit_code == 0, &p, "exit %d", p.exit_code);
	tu_proc_release(&p);
	char *text = tu_read_file(summary);
	ck_assert_msg(strncmp(text, "earlier step\n## allclear: RESTORED\n", 35) == 0, "%s", text);
	HAS(text, "### Drafts for people to edit");
	free(text);
	/* a summary that cannot be written is found before probing */
	free(env_summary);
	env_summary = ac_strdup("GITHUB_STEP_SUMMARY=/nonexistent-dir/summary.md");
	env[0] = env_summary;
	int before = hs_requests(&s);
	tu_run(&p, args, env, 30);
	TU_EXPECT(p.exit_code == 3 && strstr(p.err, "nothing was probed"), &p, "exit %d",
		  p.exit_code);
	ck_assert_int_eq(hs_requests(&s), before);
	tu_proc_release(&p);
	free(env_summary);
	unlink(summary);
	free(summary);
	free(path);
	free(t);
	hs_stop(&s);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("note");
	TCase *tc = tcase_create("note");
	tcase_add_test(tc, not_restored_note_speaks_from_the_scenario_texts);
	tcase_add_test(tc, restored_and_inconclusive_updates);
	tcase_add_test(tc, every_persona_is_shown);
	tcase_add_test(tc, github_step_summary_gets_the_note);
	suite_add_tcase(s, tc);
	return tu_main(s);
}
