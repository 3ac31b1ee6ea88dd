/*
 * test_merge.c: --shard slices and `allclear merge` of hand-written JSON
 * reports: complete sets judged like a run, missing or unreadable reports
 * INCONCLUSIVE naming them, other scenarios refused, agents that disagree.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shard.h"
#include "testutil.h"

/* One check of a report: state, observation, area. */
static char *check_json(const char *name, const char *target, const char *state,
			const char *observed, const char *area)
{
	char *id = target ? tu_fmt("%s @ %s", name, target) : tu_fmt("%s", name);
	char *tgt = target ? tu_fmt("\"%s\"", target) : tu_fmt("null");
	char *obs = observed ? tu_fmt("\"%s\"", observed) : tu_fmt("null");
	bool pass = strcmp(state, "PASS") == 0;
	char *j = tu_fmt(
	    "{\"id\": \"%s\", \"name\": \"%s\", \"kind\": \"http\", \"area\": \"%s\", "
	    "\"owner\": \"release-eng\", \"description\": null, \"critical\": true, "
	    "\"target\": %s, \"persona\": \"visitor\", \"agree\": true, \"agree_group\": null, "
	    "\"state\": \"%s\", \"reason\": %s, \"note\": null, \"part\": null, "
	    "\"strength\": null, \"samples\": 2, \"passes\": %d, \"fails\": %d, \"errors\": 0, "
	    "\"passed_after_retry\": 0, \"flaps\": 0, \"green_since\": null, "
	    "\"recovered_at\": null, \"rate\": null, "
	    "\"last\": {\"round\": 2, \"at\": \"2026-11-26T11:00:02Z\", \"state\": \"%s\", "
	    "\"reason\": null, \"value\": null, \"observed\": %s, \"duration_ms\": 3, "
	    "\"passed_after_retry\": false, \"evidence\": null, \"steps\": [], \"figures\": []}, "
	    "\"last_failure\": null, "
	    "\"history\": [{\"round\": 1, \"state\": \"%s\", \"value\": null}, "
	    "{\"round\": 2, \"state\": \"%s\", \"value\": null}]}",
	    id, name, area, tgt, state, pass ? "null" : "\"status: expected 200, got 503\"",
	    pass ? 2 : 0, pass ? 0 : 2, state, obs, state, state);
	free(id);
	free(tgt);
	free(obs);
	return j;
}

/* A report file (the path: free it) of the scenario with fingerprint hash. */
static char *report(const char *hash, const char *run_id, const char *shard, const char *agent,
		    const char *checks)
{
	char *sh = shard ? tu_fmt("\"%s\"", shard) : tu_fmt("null");
	char *j =
	    tu_fmt("{\"version\": 1, \"allclear\": \"0.1.0\", "
		   "\"scenario\": {\"path\": \"shop.json\", \"name\": \"Corner Shop\", "
		   "\"hash\": \"%s\"}, \"run_id\": \"%s\", \"shard\": %s, \"agent\": \"%s\", "
		   "\"mode\": \"check\", \"verdict\": \"RESTORED\", \"exit_code\": 0, "
		   "\"reason\": null, \"started_at\": \"2026-11-26T11:00:00Z\", "
		   "\"ended_at\": \"2026-11-26T11:00:02Z\", \"rounds\": 2, \"slow_rounds\": 0, "
		   "\"confirm\": 2, \"interrupted\": false, \"stopped_early\": false, "
		   "\"insecure_tls\": false, \"release\": null, \"checks\": [%s]}",
		   hash, run_id, sh, agent, checks);
	char *path = tu_write_temp(j, ".json");
	free(sh);
	free(j);
	return path;
}

static void merge(struct tu_proc *p, const char *const *reports)
{
	const char *args[16] = {"merge", "--no-color"};
	size_t n = 2;
	for (size_t i = 0; reports[i] && n + 1 < 16; i++)
		args[n++] = reports[i];
	args[n] = NULL;
	tu_run(p, args, NULL, 30);
}

/* Three shards of one agent; shard 2 holds a failing check when fail. */
static char *shards[3];
static void make_shards(bool fail)
{
	char *a = check_json("flags", "origin", "PASS", "new_checkout=false", "flags");
	char *b = check_json("checkout", "edge-eu", fail ? "FAIL" : "PASS", NULL, "code");
	char *c = check_json("queue", NULL, "PASS", NULL, "jobs");
	shards[0] = report("00aa", "run1", "1/3", "fra", a);
	shards[1] = report("00aa", "run2", "2/3", "fra", b);
	shards[2] = report("00aa", "run3", "3/3", "fra", c);
	free(a);
	free(b);
	free(c);
}

static void free_shards(void)
{
	for (int i = 0; i < 3; i++) {
		free(shards[i]);
		shards[i] = NULL;
	}
}

START_TEST(complete_shards_merge_like_a_run)
{
	make_shards(false);
	struct tu_proc p;
	const char *all[] = {shards[2], shards[0], shards[1], NULL};
	merge(&p, all);
	TU_EXPECT(p.exit_code == 0, &p, "all passed: exit %d", p.exit_code);
	TU_EXPECT(strstr(p.out, "VERDICT: RESTORED  all 3 checks passed in the last 2 rounds"), &p,
		  "restored");
	TU_EXPECT(tu_count(p.out, "\nmerged ") == 3 &&
		      strstr(p.out, ": agent fra, shard 2/3, run run2\n"),
		  &p, "lists what it merged");
	tu_proc_release(&p);
	free_shards();

	make_shards(true);
	const char *all2[] = {shards[0], shards[1], shards[2], NULL};
	merge(&p, all2);
	TU_EXPECT(p.exit_code == 1, &p, "one failed: exit %d", p.exit_code);
	TU_EXPECT(strstr(p.out, "VERDICT: NOT RESTORED  1 of 3 checks failed; first to fix: "
				"checkout @ edge-eu (code, owner release-eng)"),
		  &p, "not restored naming the check");
	tu_proc_release(&p);
	/* Every format a run writes, from the merged tree. */
	char *dir = tu_write_temp("", ".out");
	char *js = tu_fmt("%s.json", dir), *ju = tu_fmt("%s.xml", dir), *md = tu_fmt("%s.md", dir),
	     *ht = tu_fmt("%s.html", dir);
	const char *args[] = {"merge",	shards[0], shards[1],  shards[2],    "--json",
			      js,	"--junit", ju,	       "--markdown", md,
			      "--html", ht,	   "--format", "json",	     NULL};
	tu_run(&p, args, NULL, 30);
	TU_EXPECT(p.exit_code == 1, &p, "formats: exit %d", p.exit_code);
	cJSON *root = cJSON_Parse(p.out);
	ck_assert_ptr_nonnull(root);
	ck_assert_str_eq(cJSON_GetObjectItem(root, "verdict")->valuestring, "NOT RESTORED");
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(root, "checks")), 3);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(root, "merged_from")), 3);
	cJSON_Delete(root);
	const char *files[] = {js, ju, md, ht};
	for (size_t i = 0; i < 4; i++) {
		char *t = tu_read_file(files[i]);
		ck_assert_msg(t && strstr(t, "checkout @ edge-eu"), "%s names the check", files[i]);
		free(t);
		remove(files[i]);
	}
	free(js);
	free(ju);
	free(md);
	free(ht);
	free(dir);
	tu_proc_release(&p);
	free_shards();
}
END_TEST

START_TEST(missing_shard_is_inconclusive_naming_it)
{
	make_shards(false);
	struct tu_proc p;
	const char *some[] = {shards[0], shards[2], NULL};
	merge(&p, some);
	TU_EXPECT(p.exit_code == 2, &p, "missing shard: exit %d", p.exit_code);
	TU_EXPECT(strstr(p.out, "VERDICT: INCONCLUSIVE  the reports are not a complete set: agent "
				"fra: shard 2/3 is missing"),
		  &p, "names the missing shard");
	tu_proc_release(&p);
	/* Even when what was reported failed: the set is incomplete. */
	free_shards();
	make_shards(true);
	const char *fails[] = {shards[1], shards[2], NULL};
	merge(&p, fails);
	TU_EXPECT(p.exit_code == 2, &p, "missing shard with a failure: exit %d", p.exit_code);
	TU_EXPECT(strstr(p.out, "shard 1/3 is missing; of the 2 checks reported, 1 failed"), &p,
		  "says what failed too");
	tu_proc_release(&p);
	/* Shards that forgot --agent: each pod's host name is an agent. */
	char *c1 = check_json("flags", "origin", "PASS", NULL, "flags");
	char *pa = report("00aa", "runa", "1/2", "pod-a", c1);
	char *pb = report("00aa", "runb", "2/2", "pod-b", c1);
	const char *pods[] = {pa, pb, NULL};
	merge(&p, pods);
	TU_EXPECT(p.exit_code == 2, &p, "pods: exit %d", p.exit_code);
	TU_EXPECT(strstr(p.out, "agent pod-a: shard 2/2 is missing; agent pod-b: shard 1/2 is "
				"missing (the shards of one set need one --agent"),
		  &p, "hints at --agent");
	tu_proc_release(&p);
	free(c1);
	free(pa);
	free(pb);
	/* The same shard twice is not the set either. */
	const char *twice[] = {shards[0], shards[0], shards[1], shards[2], NULL};
	merge(&p, twice);
	TU_EXPECT(p.exit_code == 2, &p, "twice: exit %d", p.exit_code);
	TU_EXPECT(strstr(p.out, "agent fra: shard 1/3 given twice (runs run1 and run1)"), &p,
		  "names the duplicate");
	tu_proc_release(&p);
	free_shards();
}
END_TEST

START_TEST(a_report_that_is_not_of_the_schema_is_inconclusive)
{
	make_shards(false);
	char *bad = tu_write_temp("{\"version\": 1, \"checks\": [", ".json");
	struct tu_proc p;
	const char *all[] = {shards[0], shards[1], shards[2], bad, NULL};
	merge(&p, all);
	TU_EXPECT(p.exit_code == 2, &p, "bad JSON: exit %d", p.exit_code);
	TU_EXPECT(strstr(p.out, "is not valid JSON"), &p, "says it is not JSON");
	TU_EXPECT(strstr(p.out, bad), &p, "names the file");
	tu_proc_release(&p);
	free(bad);
	/* Valid JSON, but not a report: no run id. */
	bad = tu_write_temp("{\"version\": 1, \"scenario\": {\"hash\": \"00aa\"}, \"agent\": "
			    "\"fra\", \"shard\": null, \"verdict\": \"RESTORED\", \"checks\": []}",
			    ".json");
	const char *all2[] = {shards[0], shards[1], shards[2], bad, NULL};
	merge(&p, all2);
	TU_EXPECT(p.exit_code == 2, &p, "not of the schema: exit %d", p.exit_code);
	TU_EXPECT(strstr(p.out, "is not an allclear JSON report of the schema: no \"run_id\""), &p,
		  "says what is missing");
	tu_proc_release(&p);
	free(bad);
	/* A check with a state the schema does not know. */
	char *c = check_json("flags", "origin", "PASS", NULL, "flags");
	char *odd = strstr(c, "\"state\": \"PASS\"");
	memcpy(odd, "\"state\": \"PAZZ\"", 15);
	bad = report("00aa", "run9", NULL, "iad", c);
	free(c);
	const char *all3[] = {shards[0], shards[1], shards[2], bad, NULL};
	merge(&p, all3);
	TU_EXPECT(p.exit_code == 2, &p, "bad state: exit %d", p.exit_code);
	TU_EXPECT(strstr(p.out, "a check without an id or a known state"), &p, "bad state named");
	tu_proc_release(&p);
	free(bad);
	/* No report that could be read at all. */
	const char *none[] = {"/nonexistent/report.json", NULL};
	merge(&p, none);
	TU_EXPECT(p.exit_code == 2, &p, "nothing: exit %d", p.exit_code);
	TU_EXPECT(strstr(p.out, "report /nonexistent/report.json cannot be read"), &p, "unread");
	tu_proc_release(&p);
	free_shards();
}
END_TEST

START_TEST(reports_of_another_scenario_are_refused)
{
	make_shards(false);
	char *c = check_json("flags", "origin", "PASS", NULL, "flags");
	char *other = report("00bb", "run7", "2/3", "fra", c);
	free(c);
	struct tu_proc p;
	const char *all[] = {shards[0], other, shards[2], NULL};
	merge(&p, all);
	TU_EXPECT(p.exit_code == 3, &p, "other scenario: exit %d", p.exit_code);
	TU_EXPECT(strstr(p.err, "are reports of different scenarios (fingerprints 00aa and 00bb)"),
		  &p, "says why");
	TU_EXPECT(!strstr(p.out, "VERDICT"), &p, "no verdict");
	tu_proc_release(&p);
	free(other);
	free_shards();
}
END_TEST

START_TEST(agents_that_disagree_are_not_restored)
{
	char *fc = check_json("flags", "edge-eu", "PASS", "new_checkout=false", "flags");
	char *ic = check_json("flags", "edge-eu", "PASS", "new_checkout=true", "flags");
	char *fra = report("00aa", "runf", NULL, "fra", fc);
	char *iad = report("00aa", "runi", NULL, "iad", ic);
	struct tu_proc p;
	const char *all[] = {iad, fra, NULL};
	merge(&p, all);
	TU_EXPECT(p.exit_code == 1, &p, "disagree: exit %d", p.exit_code);
	TU_EXPECT(strstr(p.out,
			 "VERDICT: NOT RESTORED  2 of 2 checks failed; first to fix: flags @ "
			 "edge-eu [fra]"),
		  &p, "one row per agent");
	TU_EXPECT(strstr(p.out, "edge-eu in agent fra disagrees with agent iad: fra says "
				"\"new_checkout=false\", iad says \"new_checkout=true\""),
		  &p, "fra names iad");
	TU_EXPECT(strstr(p.out, "edge-eu in agent iad disagrees with agent fra"), &p,
		  "iad names fra");
	tu_proc_release(&p);
	free(iad);
	/* Agents that agree: two rows, RESTORED. */
	iad = report("00aa", "runi", NULL, "iad", fc);
	const char *agree[] = {iad, fra, NULL};
	const char *args[] = {"merge", iad, fra, "--format", "json", NULL};
	merge(&p, agree);
	TU_EXPECT(p.exit_code == 0, &p, "agree: exit %d", p.exit_code);
	tu_proc_release(&p);
	tu_run(&p, args, NULL, 30);
	cJSON *root = cJSON_Parse(p.out);
	ck_assert_ptr_nonnull(root);
	cJSON *checks = cJSON_GetObjectItem(root, "checks");
	ck_assert_int_eq(cJSON_GetArraySize(checks), 2);
	ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(checks, 0), "id")->valuestring,
			 "flags @ edge-eu [fra]");
	ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(checks, 1), "agent")->valuestring,
			 "iad");
	cJSON_Delete(root);
	tu_proc_release(&p);
	/* Three agents: the odd one out fails, the majority passes. */
	char *sc = check_json("flags", "edge-eu", "PASS", "new_checkout=true", "flags");
	char *syd = report("00aa", "runs", NULL, "syd", sc);
	const char *three[] = {iad, fra, syd, NULL};
	merge(&p, three);
	TU_EXPECT(p.exit_code == 1, &p, "three: exit %d", p.exit_code);
	TU_EXPECT(strstr(p.out, "1 of 3 checks failed; first to fix: flags @ edge-eu [syd]"), &p,
		  "the odd agent");
	tu_proc_release(&p);
	free(sc);
	free(syd);
	free(fc);
	free(ic);
	free(fra);
	free(iad);
}
END_TEST

/* Agents and shards together: each agent's set is checked on its own. */
START_TEST(sharded_agents_merge_per_agent)
{
	char *a = check_json("flags", "edge-eu", "PASS", "new_checkout=false", "flags");
	char *b = check_json("home", "edge-eu", "PASS", NULL, "code");
	char *both = tu_fmt("%s, %s", a, b);
	char *f1 = report("00aa", "f1", "1/2", "fra", a);
	char *f2 = report("00aa", "f2", "2/2", "fra", b);
	char *iad = report("00aa", "i", NULL, "iad", both);
	struct tu_proc p;
	const char *all[] = {f2, iad, f1, NULL};
	merge(&p, all);
	TU_EXPECT(p.exit_code == 0, &p, "agents with shards: exit %d", p.exit_code);
	TU_EXPECT(strstr(p.out, "all 4 checks passed"), &p, "one row per agent and check");
	tu_proc_release(&p);
	const char *some[] = {iad, f1, NULL};
	merge(&p, some);
	TU_EXPECT(p.exit_code == 2, &p, "fra incomplete: exit %d", p.exit_code);
	TU_EXPECT(strstr(p.out, "agent fra: shard 2/2 is missing"), &p, "names fra's shard");
	tu_proc_release(&p);
	/* Shards of one agent from sets of different sizes. */
	char *f3 = report("00aa", "f3", "2/3", "fra", b);
	const char *mixed[] = {f1, f3, NULL};
	merge(&p, mixed);
	TU_EXPECT(p.exit_code == 2, &p, "mixed counts: exit %d", p.exit_code);
	TU_EXPECT(strstr(p.out, "agent fra: reports of different shard counts"), &p, "mixed");
	tu_proc_release(&p);
	free(a);
	free(b);
	free(both);
	free(f1);
	free(f2);
	free(f3);
	free(iad);
}
END_TEST

START_TEST(bad_shard_arguments_exit_3)
{
	const char *bad[] = {"0/3", "4/3", "3", "/3", "1/", "a/b", "1/0", "1/1001", "-1/3", NULL};
	for (size_t i = 0; bad[i]; i++) {
		struct tu_proc p;
		const char *args[] = {"check", "/nonexistent.json", "--shard", bad[i], NULL};
		tu_run(&p, args, NULL, 10);
		TU_EXPECT(p.exit_code == 3, &p, "--shard %s: exit %d", bad[i], p.exit_code);
		TU_EXPECT(strstr(p.err, "--shard takes I/N"), &p, "--shard %s message", bad[i]);
		tu_proc_release(&p);
	}
	int i, n;
	ck_assert_int_eq(ac_shard_parse("3/3", &i, &n), 0);
	ck_assert_int_eq(i, 3);
	ck_assert_int_eq(n, 3);
}
END_TEST

#define J(name) TU_JOURNEY(name, "\"steps\": [{\"url\": \"/\"}]")

/* Every check in exactly one shard, the same one whatever the order. */
START_TEST(shards_are_a_stable_partition)
{
	const char *t = "\"targets\": {\"a\": \"http://127.0.0.1:1\", \"b\": "
			"\"http://127.0.0.1:1\", \"c\": \"http://127.0.0.1:1\"}";
	char *fwd = tu_fmt("{%s, \"journeys\": [%s, %s, %s, %s, %s]}", t, J("one"), J("two"),
			   J("three"), J("four"), J("five"));
	char *rev = tu_fmt("{%s, \"journeys\": [%s, %s, %s, %s, %s]}", t, J("five"), J("four"),
			   J("three"), J("two"), J("one"));
	struct ac_plan *a = tu_load(fwd), *b = tu_load(rev);
	ck_assert_int_eq((int)a->nchecks, 15);
	int per[4] = {0};
	for (size_t i = 0; i < a->nchecks; i++) {
		int s = ac_shard_of(&a->checks[i], 3);
		ck_assert_int_ge(s, 1);
		ck_assert_int_le(s, 3);
		per[s]++;
		for (size_t k = 0; k < b->nchecks; k++)
			if (strcmp(a->checks[i].id, b->checks[k].id) == 0)
				ck_assert_int_eq(s, ac_shard_of(&b->checks[k], 3));
	}
	/* Expanded per target, then sliced: no shard holds all of them. */
	ck_assert_msg(per[1] < 15 && per[2] < 15 && per[3] < 15, "spread %d %d %d", per[1], per[2],
		      per[3]);
	size_t total = 0;
	for (int s = 1; s <= 3; s++) {
		struct ac_plan *p = tu_load(rev);
		ac_plan_shard(p, s, 3);
		ck_assert_int_eq((int)p->nchecks, per[s]);
		for (size_t i = 0; i < p->nchecks; i++)
			ck_assert_int_eq(ac_shard_of(&p->checks[i], 3), s);
		total += p->nchecks;
		ac_plan_destroy(p);
	}
	ck_assert_int_eq((int)total, 15);
	ac_plan_destroy(a);
	ac_plan_destroy(b);
	free(fwd);
	free(rev);
}
END_TEST

/* Checks that must agree stay together: their agreement is judged in one run. */
START_TEST(agree_groups_stay_in_one_shard)
{
	const char *t = "\"targets\": {\"a\": \"http://127.0.0.1:1\", \"b\": "
			"\"http://127.0.0.1:1\", \"c\": \"http://127.0.0.1:1\", \"d\": "
			"\"http://127.0.0.1:1\"}";
	char *js = tu_fmt("{%s, \"journeys\": [%s]}", t,
			  TU_JOURNEY("flag", "\"agree\": true, \"observe\": \"build\", "
					     "\"steps\": [{\"url\": \"/\"}]"));
	struct ac_plan *p = tu_load(js);
	ck_assert_int_eq((int)p->nchecks, 4);
	for (size_t i = 1; i < p->nchecks; i++)
		ck_assert_int_eq(ac_shard_of(&p->checks[i], 7), ac_shard_of(&p->checks[0], 7));
	ac_plan_destroy(p);
	free(js);
}
END_TEST

/* The Kubernetes, CronJob, CI and regions examples: parsed and checked by
 * tests/examples_check.py (python3-yaml), their shell run with a stand-in allclear that records its
 * arguments. */
START_TEST(examples_are_valid)
{
	char *cmd = tu_fmt("python3 %s/tests/examples_check.py %s %s 2>&1",
			   tu_env("AC_SOURCE_ROOT"), tu_env("AC_SOURCE_ROOT"), tu_env("AC_BIN"));
	FILE *f = popen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	char out[8192];
	size_t n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	int rc = pclose(f);
	ck_assert_msg(rc == 0, "examples_check.py: %s", out);
	ck_assert_msg(strstr(out, "examples ok: 3 shards, 3 regions"), "%s", out);
	free(cmd);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("merge");
	TCase *tc = tcase_create("merge");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, complete_shards_merge_like_a_run);
	tcase_add_test(tc, missing_shard_is_inconclusive_naming_it);
	tcase_add_test(tc, a_report_that_is_not_of_the_schema_is_inconclusive);
	tcase_add_test(tc, reports_of_another_scenario_are_refused);
	tcase_add_test(tc, agents_that_disagree_are_not_restored);
	tcase_add_test(tc, sharded_agents_merge_per_agent);
	tcase_add_test(tc, bad_shard_arguments_exit_3);
	tcase_add_test(tc, shards_are_a_stable_partition);
	tcase_add_test(tc, agree_groups_stay_in_one_shard);
	tcase_add_test(tc, examples_are_valid);
	suite_add_tcase(s, tc);
	return tu_main(s);
}
