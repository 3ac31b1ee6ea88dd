/*
 * test_demo_merge.c: the demo scenario after the revert of v42, run whole
 * and as three shards in separate processes, merged: the same verdict and
 * the same failing checks; without one shard's report, INCONCLUSIVE naming
 * it. The stack is started as in test_demo.c.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "util.h"

static void teardown(void)
{
	tu_demo_down();
}

static void setup(void)
{
	tu_demo_up("merge");
}

/* The demo scenario's arguments against the stack, then extra (NULL-ended). */
static char **demo_args(const char *const *extra)
{
	long base = 0;
	ck_assert_int_eq(ac_parse_long(getenv("AC_DEMO_PORT_BASE"), &base), 0);
	char **a = ac_calloc(40, sizeof(char *));
	size_t n = 0;
	a[n++] = ac_strdup("check");
	a[n++] = tu_fmt("%s/scenarios/demo.json", tu_env("AC_SOURCE_ROOT"));
	const char *fixed[] = {"--rounds", "2", "--interval", "300ms"};
	for (size_t i = 0; i < 4; i++)
		a[n++] = ac_strdup(fixed[i]);
	char *vars[] = {
	    tu_fmt("origin=http://127.0.0.1:%ld", base + 1),
	    tu_fmt("edge_us=http://127.0.0.1:%ld", base + 2),
	    tu_fmt("edge_eu=http://127.0.0.1:%ld", base + 3),
	    tu_fmt("pg_port=%ld", base + 10),
	    tu_fmt("redis_port=%ld", base + 11),
	};
	for (size_t i = 0; i < 5; i++) {
		a[n++] = ac_strdup("--var");
		a[n++] = vars[i];
	}
	for (size_t i = 0; extra && extra[i] && n + 1 < 40; i++)
		a[n++] = ac_strdup(extra[i]);
	a[n] = NULL;
	return a;
}

static void free_args(char **a)
{
	for (size_t i = 0; a[i]; i++)
		free(a[i]);
	free(a);
}

static const char *const secrets[] = {"SHOP_PASSWORD=wonderland", "ALLCLEAR_DB_PASSWORD=ro-secret",
				      NULL};

/* The ids of the checks that did not pass, sorted, one per line. */
static char *failing(const char *json_text)
{
	cJSON *root = cJSON_Parse(json_text);
	ck_assert_ptr_nonnull(root);
	const cJSON *c;
	size_t n = 0;
	char *ids[256];
	cJSON_ArrayForEach(c, cJSON_GetObjectItem(root, "checks"))
	{
		if (strcmp(cJSON_GetObjectItem(c, "state")->valuestring, "PASS") != 0 && n < 256)
			ids[n++] = ac_strdup(cJSON_GetObjectItem(c, "id")->valuestring);
	}
	cJSON_Delete(root);
	for (size_t i = 1; i < n; i++)
		for (size_t k = i; k > 0 && strcmp(ids[k - 1], ids[k]) > 0; k--) {
			char *t = ids[k];
			ids[k] = ids[k - 1];
			ids[k - 1] = t;
		}
	struct ac_buf b;
	ac_buf_init(&b, 1 << 20);
	for (size_t i = 0; i < n; i++) {
		ac_buf_addf(&b, "%s\n", ids[i]);
		free(ids[i]);
	}
	return ac_buf_detach(&b);
}

/* The release map's parts and their status, in order, one per line. */
static char *parts_of(const char *json_text)
{
	cJSON *root = cJSON_Parse(json_text);
	ck_assert_ptr_nonnull(root);
	struct ac_buf b;
	ac_buf_init(&b, 1 << 20);
	const cJSON *p;
	cJSON_ArrayForEach(p, cJSON_GetObjectItem(cJSON_GetObjectItem(root, "release"), "parts"))
	{
		ac_buf_addf(&b, "%s %s %d\n", cJSON_GetObjectItem(p, "name")->valuestring,
			    cJSON_GetObjectItem(p, "status")->valuestring,
			    cJSON_GetArraySize(cJSON_GetObjectItem(p, "checks")));
	}
	cJSON_Delete(root);
	return ac_buf_detach(&b);
}

static char *verdict_of(const char *json_text)
{
	cJSON *root = cJSON_Parse(json_text);
	ck_assert_ptr_nonnull(root);
	char *v = ac_strdup(cJSON_GetObjectItem(root, "verdict")->valuestring);
	cJSON_Delete(root);
	return v;
}

START_TEST(sharded_runs_merge_to_the_unsharded_verdict)
{
	tu_demo_stack("release v42");
	tu_demo_stack("revert");
	char *dir = tu_fmt("%s/demo-shards", tu_env("AC_BUILD_ROOT"));
	char *cmd = tu_fmt("rm -rf %s && mkdir -p %s", dir, dir);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);

	/* The whole scenario in one run. */
	char *whole = tu_fmt("%s/whole.json", dir);
	const char *wx[] = {"--json", whole, "--quiet", NULL};
	char **wa = demo_args(wx);
	struct tu_proc p;
	tu_run(&p, (const char *const *)wa, secrets, 120);
	TU_EXPECT(p.exit_code == 1, &p, "unsharded: exit %d", p.exit_code);
	tu_proc_release(&p);
	free_args(wa);

	/* Three shards, three processes at once, as three pods would. */
	char *paths[3];
	pid_t pids[3];
	for (int i = 0; i < 3; i++) {
		paths[i] = tu_fmt("%s/shard-%d.json", dir, i + 1);
		char *sh = tu_fmt("%d/3", i + 1);
		const char *x[] = {"--shard", sh,	"--agent", "ci",
				   "--json",  paths[i], "--quiet", NULL};
		char **a = demo_args(x);
		pids[i] = fork();
		ck_assert_int_ge(pids[i], 0);
		if (pids[i] == 0) {
			for (size_t k = 0; secrets[k]; k++)
				putenv((char *)secrets[k]);
			if (!freopen("/dev/null", "w", stdout) ||
			    !freopen("/dev/null", "w", stderr))
				_exit(127);
			tu_exec_allclear((const char *const *)a);
		}
		free_args(a);
		free(sh);
	}
	for (int i = 0; i < 3; i++) {
		int st = 0;
		ck_assert_int_eq(waitpid(pids[i], &st, 0), pids[i]);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) <= 2, "shard %d: status %d", i + 1,
			      st);
	}

	char *merged = tu_fmt("%s/merged.json", dir);
	const char *margs[] = {"merge",	 paths[0], paths[1],	 paths[2],
			       "--json", merged,   "--no-color", NULL};
	tu_run(&p, margs, NULL, 60);
	TU_EXPECT(p.exit_code == 1, &p, "merged: exit %d", p.exit_code);
	fputs(p.out, stderr); /* the merged report, for the log */
	char *wt = tu_read_file(whole), *mt = tu_read_file(merged);
	char *wv = verdict_of(wt), *mv = verdict_of(mt);
	char *wf = failing(wt), *mf = failing(mt);
	ck_assert_str_eq(mv, wv);
	ck_assert_str_eq(mf, wf);
	ck_assert_int_ge(tu_count(wf, "\n"), 5);
	/* And the release map's next steps, part by part. */
	char *wp = parts_of(wt), *mp = parts_of(mt);
	ck_assert_str_eq(mp, wp);
	ck_assert_int_ge(tu_count(wp, "\n"), 5);
	free(wp);
	free(mp);
	/* The first check to fix is the same as well. */
	TU_EXPECT(strstr(p.out, "VERDICT: NOT RESTORED  ") &&
		      strstr(p.out, "first to fix: feature flag new_checkout is off @ origin"),
		  &p, "merged verdict line");
	tu_proc_release(&p);
	free(wv);
	free(mv);
	free(wf);
	free(mf);
	free(wt);
	free(mt);

	/* Without shard 2's report: INCONCLUSIVE, naming it. */
	const char *some[] = {"merge", paths[0], paths[2], "--no-color", NULL};
	tu_run(&p, some, NULL, 60);
	TU_EXPECT(p.exit_code == 2, &p, "without shard 2: exit %d", p.exit_code);
	TU_EXPECT(strstr(p.out, "VERDICT: INCONCLUSIVE  the reports are not a complete set: agent "
				"ci: shard 2/3 is missing"),
		  &p, "names the missing shard");
	tu_proc_release(&p);
	for (int i = 0; i < 3; i++)
		free(paths[i]);
	free(merged);
	free(whole);
	free(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("demo_merge");
	TCase *tc = tcase_create("demo_merge");
	tcase_set_timeout(tc, 180);
	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_add_test(tc, sharded_runs_merge_to_the_unsharded_verdict);
	suite_add_tcase(s, tc);
	return tu_main(s);
}
