/*
 * test_editors.c: what editors, CI and packagers get. The schemas in
 * schema/ (the scenario schema is exactly `allclear schema`; every
 * scenario of the tree and every JSON report the tests write validate),
 * lint without secrets, `allclear init`, the man page against --help, and
 * `meson install --destdir`. Validation uses python3-jsonschema (Debian).
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg.h"
#include "hostile.h"
#include "testutil.h"

/* Run a shell command; its output (stdout and stderr) and exit status. */
static int sh(const char *cmd, char **out)
{
	FILE *f = popen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	struct ac_buf b = AC_BUF_INIT;
	char line[1024];
	while (fgets(line, sizeof(line), f))
		ac_buf_adds(&b, line);
	int rc = pclose(f);
	*out = ac_buf_detach(&b);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static int schema_check(const char *schema, const char *mode, const char *files, char **out)
{
	const char *root = tu_env("AC_SOURCE_ROOT");
	char *cmd = tu_fmt("cd %s && python3 tests/schema_check.py %s %s %s 2>&1", root, schema,
			   mode, files);
	int rc = sh(cmd, out);
	free(cmd);
	return rc;
}

START_TEST(scenario_schema_file_is_what_allclear_schema_prints)
{
	const char *args[] = {"schema", NULL};
	struct tu_proc p;
	tu_run(&p, args, NULL, 30);
	TU_EXPECT(p.exit_code == 0, &p, "allclear schema: exit %d", p.exit_code);
	char *path = tu_fmt("%s/schema/scenario.schema.json", tu_env("AC_SOURCE_ROOT"));
	char *file = tu_read_file(path);
	ck_assert_msg(strcmp(file, p.out) == 0,
		      "%s differs from `allclear schema`: regenerate it with "
		      "`allclear schema > schema/scenario.schema.json`",
		      path);
	free(file);
	free(path);
	tu_proc_release(&p);
}
END_TEST

START_TEST(every_scenario_in_the_tree_validates)
{
	char *out;
	int rc = schema_check("schema/scenario.schema.json", "tree",
			      "scenarios examples bench tests/fixtures", &out);
	ck_assert_msg(rc == 0, "%s", out);
	ck_assert_msg(strstr(out, "scenarios/demo.json: valid") &&
			  strstr(out, "scenarios/starter.json: valid"),
		      "%s", out);
	free(out);
	/* Every scenario the repository ships names the schema for editors. */
	rc = sh("cd $AC_SOURCE_ROOT && grep -L '\"$schema\": \"../schema/scenario.schema.json\"' "
		"scenarios/*.json",
		&out);
	ck_assert_msg(*out == '\0', "scenarios without \"$schema\": %s", out);
	free(out);
}
END_TEST

/* "$schema" is accepted as a string, refused otherwise, with its path. */
START_TEST(loader_accepts_a_schema_key)
{
	struct ac_plan *plan =
	    tu_load("{\"$schema\": \"x.json\", \"checks\": [{\"kind\": \"redis\", "
		    "\"name\": \"r\", \"area\": \"jobs\", \"owner\": \"o\", "
		    "\"redis\": \"r\", \"command\": [\"EXISTS\", \"k\"], "
		    "\"expect\": {\"==\": 0}}], "
		    "\"redis\": {\"r\": \"redis://127.0.0.1:9/0\"}}");
	ac_plan_destroy(plan);
	char *err = tu_load_error("{\"$schema\": 5, \"checks\": []}");
	ck_assert_msg(strstr(err, "$schema: expected a string"), "%s", err);
	free(err);
}
END_TEST

/* A scenario of one journey against base, checked with --json; the report. */
static char *report_of(const char *base, const char *status, int want_rc)
{
	char *j = tu_fmt("{\"name\": \"j\", \"area\": \"code\", \"owner\": \"web\", \"steps\": "
			 "[{\"url\": \"/\", \"assert\": {\"status\": %s}}]}",
			 status);
	char *targets = tu_fmt("\"o\": \"%s\"", base);
	char *path = tu_http_scenario("", targets, j);
	struct tu_proc p;
	char *report = tu_run_check_json(&p, path, NULL);
	TU_EXPECT(p.exit_code == want_rc && report, &p, "exit %d, expected %d", p.exit_code,
		  want_rc);
	tu_proc_release(&p);
	char *copy = tu_write_temp(report, ".report.json");
	free(report);
	free(path);
	free(targets);
	free(j);
	return copy;
}

START_TEST(reports_validate_against_the_report_schema)
{
	struct hs_server s;
	hs_start(&s, hs_ok_any, NULL);
	char *base = tu_fmt("http://127.0.0.1:%d", s.port);
	int port;
	int fd = tu_listen(&port);
	close(fd); /* nothing listens there: could not measure */
	char *healthy = report_of(base, "200", 0);
	char *failing = report_of(base, "404", 1);
	/* A Redis server that is down: could not measure. */
	char *rscn = tu_fmt("{\"settings\": {\"rounds\": 1, \"connect_timeout\": \"1s\"}, "
			    "\"redis\": {\"r\": \"redis://127.0.0.1:%d/0\"}, \"checks\": "
			    "[{\"kind\": \"redis\", \"name\": \"r\", \"area\": \"jobs\", "
			    "\"owner\": \"o\", \"redis\": \"r\", \"command\": [\"EXISTS\", "
			    "\"k\"], \"expect\": {\"==\": 0}}]}",
			    port);
	char *rpath = tu_write_temp(rscn, ".json");
	struct tu_proc p;
	char *rreport = tu_run_check_json(&p, rpath, NULL);
	TU_EXPECT(p.exit_code == 2 && rreport, &p, "redis down: exit %d", p.exit_code);
	tu_proc_release(&p);
	char *inconclusive = tu_write_temp(rreport, ".report.json");
	free(rreport);
	free(rpath);
	free(rscn);
	hs_stop(&s);
	char *demo = tu_fmt("%s/demo-outputs/report.json", tu_env("AC_BUILD_ROOT"));
	char *files = tu_fmt("%s %s %s tests/golden/*.json %s", healthy, failing, inconclusive,
			     access(demo, R_OK) == 0 ? demo : "");
	char *out;
	int rc = schema_check("schema/report.schema.json", "valid", files, &out);
	ck_assert_msg(rc == 0, "%s", out);
	ck_assert_msg(strstr(out, "golden/mixed.json: valid"), "%s", out);
	free(out);
	/* The schema has teeth: a verdict with another's exit code, a
	 * report without checks and a check state outside the four are
	 * refused. */
	char *text = tu_read_file(healthy);
	cJSON *root = cJSON_Parse(text);
	cJSON_ReplaceItemInObject(root, "exit_code", cJSON_CreateNumber(1));
	char *t1 = cJSON_Print(root);
	cJSON_ReplaceItemInObject(root, "exit_code", cJSON_CreateNumber(0));
	cJSON_DeleteItemFromObject(root, "checks");
	char *t2 = cJSON_Print(root);
	cJSON_Delete(root);
	root = cJSON_Parse(text);
	cJSON *c0 = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "checks"), 0);
	cJSON_ReplaceItemInObject(c0, "state", cJSON_CreateString("OK"));
	char *t3 = cJSON_Print(root);
	cJSON_Delete(root);
	char *b1 = tu_write_temp(t1, ".json"), *b2 = tu_write_temp(t2, ".json"),
	     *b3 = tu_write_temp(t3, ".json");
	char *bad = tu_fmt("%s %s %s", b1, b2, b3);
	rc = schema_check("schema/report.schema.json", "invalid", bad, &out);
	ck_assert_msg(rc == 0, "%s", out);
	free(out);
	cJSON_free(t1);
	cJSON_free(t2);
	cJSON_free(t3);
	free(b1);
	free(b2);
	free(b3);
	free(bad);
	free(text);
	free(files);
	free(demo);
	free(healthy);
	free(failing);
	free(inconclusive);
	free(base);
}
END_TEST

static void unset_demo_secrets(void)
{
	unsetenv("SHOP_PASSWORD");
	unsetenv("ALLCLEAR_DB_PASSWORD");
}

START_TEST(lint_without_secrets_lists_them_and_passes)
{
	unset_demo_secrets();
	char *scn = tu_fmt("%s/scenarios/demo.json", tu_env("AC_SOURCE_ROOT"));
	const char *args[] = {"lint", scn, NULL};
	struct tu_proc p;
	tu_run(&p, args, NULL, 30);
	TU_EXPECT(p.exit_code == 0, &p, "lint without secrets: exit %d", p.exit_code);
	TU_EXPECT(strstr(p.out, "needs 2 secrets to run, not available now: "
				"${env:SHOP_PASSWORD} ${env:ALLCLEAR_DB_PASSWORD}\n"),
		  &p, "the secrets, by name");
	TU_EXPECT(!strstr(p.out, AC_LINT_PLACEHOLDER) && !strstr(p.err, AC_LINT_PLACEHOLDER), &p,
		  "the placeholder shown");
	tu_proc_release(&p);
	/* check and watch still refuse, naming what is missing, probing nothing. */
	const char *check[] = {"check", scn, NULL};
	tu_run(&p, check, NULL, 30);
	TU_EXPECT(p.exit_code == 3, &p, "check without secrets: exit %d", p.exit_code);
	TU_EXPECT(strstr(p.err, "environment variable SHOP_PASSWORD is not set") &&
		      strstr(p.err, "nothing was probed"),
		  &p, "check's refusal");
	tu_proc_release(&p);
	const char *watch[] = {"watch", scn, "--window", "1s", NULL};
	tu_run(&p, watch, NULL, 30);
	TU_EXPECT(p.exit_code == 3, &p, "watch without secrets: exit %d", p.exit_code);
	tu_proc_release(&p);
	/* With the secrets there, lint lists none and never prints a value. */
	const char *env[] = {"SHOP_PASSWORD=wonderland-pw", "ALLCLEAR_DB_PASSWORD=ro-secret-pw",
			     NULL};
	tu_run(&p, args, env, 30);
	TU_EXPECT(p.exit_code == 0 && !strstr(p.out, "needs"), &p, "with secrets");
	TU_EXPECT(!strstr(p.out, "wonderland") && !strstr(p.err, "ro-secret"), &p, "a secret");
	tu_proc_release(&p);
	free(scn);
}
END_TEST

/* Everything else is still checked; a ${file:} that cannot be read is
 * listed by its path; a secret that is set but too short is an error. */
START_TEST(lint_without_secrets_still_checks_the_rest)
{
	unset_demo_secrets();
	const char *scn =
	    "{\"variables\": {\"k\": \"${file:/nonexistent/allclear-key}\"}, \"targets\": "
	    "{\"o\": \"http://127.0.0.1:9\"}, \"personas\": {\"p\": {\"headers\": "
	    "{\"Authorization\": \"Bearer ${k}\"}}}, \"journeys\": [{\"name\": \"j\", "
	    "\"area\": \"code\", \"owner\": \"o\", \"persona\": \"p\", \"steps\": [{\"url\": "
	    "\"/?pw=${env:SHOP_PASSWORD}\"}]}]}";
	char *path = tu_write_temp(scn, ".json");
	const char *args[] = {"lint", path, NULL};
	struct tu_proc p;
	tu_run(&p, args, NULL, 30);
	TU_EXPECT(p.exit_code == 0, &p, "exit %d", p.exit_code);
	TU_EXPECT(strstr(p.out, "needs 2 secrets to run, not available now: "
				"${file:/nonexistent/allclear-key} ${env:SHOP_PASSWORD}\n"),
		  &p, "file and env secrets by name");
	tu_proc_release(&p);
	/* A typo elsewhere is still an error, and the secrets do not hide it. */
	char *typo = ac_strdup(scn);
	memcpy(strstr(typo, "\"area\""), "\"aera\"", 6);
	char *tpath = tu_write_temp(typo, ".json");
	const char *targs[] = {"lint", tpath, NULL};
	tu_run(&p, targs, NULL, 30);
	TU_EXPECT(p.exit_code == 3 && strstr(p.err, "journeys[0].aera: unknown key"), &p,
		  "typo: exit %d", p.exit_code);
	tu_proc_release(&p);
	const char *shortenv[] = {"SHOP_PASSWORD=ab", NULL};
	tu_run(&p, args, shortenv, 30);
	TU_EXPECT(p.exit_code == 3 && strstr(p.err, "under the 4-byte minimum"), &p,
		  "short secret: exit %d", p.exit_code);
	tu_proc_release(&p);
	free(tpath);
	free(typo);
	free(path);
	/* A whole URL or DSN from the environment (DATABASE_URL, REDIS_URL):
	 * its syntax cannot be checked without it, and that is no error. */
	const char *whole =
	    "{\"databases\": {\"d\": {\"dsn\": \"${env:AC_T_DATABASE_URL}\"}}, \"redis\": "
	    "{\"r\": \"${env:AC_T_REDIS_URL}\"}, \"targets\": {\"o\": \"${env:AC_T_ORIGIN}\"}, "
	    "\"journeys\": [{\"name\": \"j\", \"area\": \"code\", \"owner\": \"o\", "
	    "\"steps\": [{\"url\": \"/a\"}]}], \"checks\": [{\"kind\": \"sql\", \"name\": "
	    "\"s\", \"area\": \"data\", \"owner\": \"o\", \"database\": \"d\", \"query\": "
	    "\"SELECT 1\", \"expect\": {\"==\": 1}}, {\"kind\": \"redis\", \"name\": \"r\", "
	    "\"area\": \"jobs\", \"owner\": \"o\", \"redis\": \"r\", \"command\": "
	    "[\"EXISTS\", \"k\"], \"expect\": {\"==\": 0}}, {\"kind\": \"metric\", \"name\": "
	    "\"m\", \"area\": \"code\", \"owner\": \"o\", \"scrape\": "
	    "\"${env:AC_T_SCRAPE}\", \"metric\": \"up\", \"expect\": {\">=\": 1}}]}";
	char *wpath = tu_write_temp(whole, ".json");
	const char *wargs[] = {"lint", wpath, NULL};
	tu_run(&p, wargs, NULL, 30);
	TU_EXPECT(p.exit_code == 0 && strstr(p.out, "needs 4 secrets to run, not available now: "
						    "${env:AC_T_ORIGIN} ${env:AC_T_DATABASE_URL} "
						    "${env:AC_T_REDIS_URL} ${env:AC_T_SCRAPE}\n"),
		  &p, "whole URLs from the environment: exit %d", p.exit_code);
	tu_proc_release(&p);
	/* With them set, their syntax is checked as always. */
	const char *badenv[] = {"AC_T_DATABASE_URL=host='x", "AC_T_REDIS_URL=http://x",
				"AC_T_ORIGIN=ftp://x", "AC_T_SCRAPE=http://127.0.0.1:9/m", NULL};
	tu_run(&p, wargs, badenv, 30);
	TU_EXPECT(p.exit_code == 3 && strstr(p.err, "cannot parse the DSN") &&
		      strstr(p.err, "expected a redis://") && strstr(p.err, "targets.o"),
		  &p, "bad values: exit %d", p.exit_code);
	tu_proc_release(&p);
	free(wpath);
}
END_TEST

/* A plan loaded for lint holds placeholders: the engine never runs it. */
START_TEST(a_lint_plan_never_probes)
{
	unset_demo_secrets();
	struct hs_server s;
	hs_start(&s, hs_ok_any, NULL);
	char *scn = tu_fmt("{\"targets\": {\"o\": \"http://127.0.0.1:%d\"}, \"journeys\": "
			   "[{\"name\": \"j\", \"area\": \"code\", \"owner\": \"o\", \"steps\": "
			   "[{\"url\": \"/?k=${env:SHOP_PASSWORD}\"}]}]}",
			   s.port);
	char *path = tu_write_temp(scn, ".json");
	struct ac_names secrets = {0};
	char *problems = NULL;
	struct ac_plan *plan = ac_plan_load_lint(path, NULL, 0, &secrets, &problems);
	ck_assert_msg(plan, "%s", problems ? problems : "");
	ck_assert(plan->lint_only);
	ck_assert_uint_eq(secrets.n, 1);
	ck_assert_str_eq(secrets.v[0], "env:SHOP_PASSWORD");
	struct ac_run_opts ro = {.mode = AC_MODE_CHECK};
	struct ac_error err = {0};
	struct ac_result *r = ac_engine_run(plan, &ro, &err);
	ck_assert_ptr_null(r);
	ck_assert_str_eq(err.msg, "a scenario loaded for lint is never run");
	ck_assert_int_eq(hs_requests(&s), 0);
	ac_plan_destroy(plan);
	ac_names_release(&secrets);
	/* The ordinary loader still refuses. */
	struct ac_plan *normal = ac_plan_load_all(path, NULL, 0, NULL, &problems);
	ck_assert_ptr_null(normal);
	ck_assert_msg(strstr(problems, "environment variable SHOP_PASSWORD is not set"), "%s",
		      problems);
	free(problems);
	hs_stop(&s);
	free(path);
	free(scn);
}
END_TEST

START_TEST(init_writes_a_starter_that_lints)
{
	unsetenv("APP_PASSWORD");
	unsetenv("ALLCLEAR_DB_PASSWORD");
	char *dir = tu_fmt("%s/editors-init", tu_env("AC_BUILD_ROOT"));
	char *cmd = tu_fmt("rm -rf %s && mkdir -p %s", dir, dir);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	char *file = tu_fmt("%s/starter.json", dir);
	const char *args[] = {"init", "-o", file, NULL};
	struct tu_proc p;
	tu_run(&p, args, NULL, 30);
	TU_EXPECT(p.exit_code == 0, &p, "init: exit %d", p.exit_code);
	TU_EXPECT(strstr(p.err, "what to fill in") && strstr(p.err, "${env:APP_PASSWORD}"), &p,
		  "the notes");
	tu_proc_release(&p);
	/* Never over an existing file. */
	tu_run(&p, args, NULL, 30);
	TU_EXPECT(p.exit_code == 3 && strstr(p.err, "init never overwrites a file"), &p,
		  "overwrite: exit %d", p.exit_code);
	tu_proc_release(&p);
	char *text = tu_read_file(file);
	cJSON *root = cJSON_Parse(text);
	ck_assert_ptr_nonnull(root);
	const cJSON *sch = cJSON_GetObjectItem(root, "$schema");
	ck_assert_msg(cJSON_IsString(sch) &&
			  strstr(sch->valuestring, "share/allclear/schema/scenario.schema.json"),
		      "$schema");
	/* one check of each kind, and the three personas */
	const char *kinds[] = {"sql", "queue", "redis", "metric"};
	for (size_t k = 0; k < 4; k++) {
		bool seen = false;
		const cJSON *c;
		cJSON_ArrayForEach(c, cJSON_GetObjectItem(root, "checks")) seen =
		    seen || strcmp(cJSON_GetObjectItem(c, "kind")->valuestring, kinds[k]) == 0;
		ck_assert_msg(seen, "no %s check", kinds[k]);
	}
	const char *personas[] = {"visitor", "signed_in", "searcher"};
	for (size_t k = 0; k < 3; k++) {
		bool seen = false;
		const cJSON *j;
		cJSON_ArrayForEach(j, cJSON_GetObjectItem(root, "journeys")) seen =
		    seen ||
		    strcmp(cJSON_GetObjectItem(j, "persona")->valuestring, personas[k]) == 0;
		ck_assert_msg(seen, "no journey as %s", personas[k]);
	}
	ck_assert_ptr_nonnull(cJSON_GetObjectItem(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(root, "personas"), "signed_in"), "login"));
	ck_assert_ptr_nonnull(cJSON_GetObjectItem(root, "release"));
	ck_assert_ptr_nonnull(cJSON_GetObjectItem(root, "customer"));
	cJSON_Delete(root);
	const char *lint[] = {"lint", file, NULL};
	tu_run(&p, lint, NULL, 30);
	TU_EXPECT(p.exit_code == 0, &p, "the starter lints: exit %d", p.exit_code);
	TU_EXPECT(strstr(p.out, "ok: 7 checks") && strstr(p.out, "release map: 5 parts, 0 warn") &&
		      strstr(p.out, "${env:APP_PASSWORD} ${env:ALLCLEAR_DB_PASSWORD}"),
		  &p, "lint's summary");
	tu_proc_release(&p);
	/* --from-demo on stdout: the demo's scenario but for "$schema". */
	const char *demo[] = {"init", "--from-demo", NULL};
	tu_run(&p, demo, NULL, 30);
	TU_EXPECT(p.exit_code == 0, &p, "init --from-demo: exit %d", p.exit_code);
	char *src = tu_fmt("%s/scenarios/demo.json", tu_env("AC_SOURCE_ROOT"));
	char *want = tu_read_file(src);
	const char *a = strstr(p.out, "\"allclear\": 1"), *b = strstr(want, "\"allclear\": 1");
	ck_assert_msg(a && b && strcmp(a, b) == 0, "--from-demo differs from scenarios/demo.json");
	tu_proc_release(&p);
	free(want);
	free(src);
	free(text);
	free(file);
	free(dir);
}
END_TEST

/* Options as "--name" (and "-x") found in text; joined by spaces. */
static void options_in(const char *text, bool roff, struct ac_names *out)
{
	struct ac_buf t = AC_BUF_INIT;
	/* roff writes a dash as "\-". */
	for (const char *p = text; *p; p++) {
		if (roff && p[0] == '\\' && p[1] == '-')
			continue;
		ac_buf_addc(&t, *p);
	}
	for (const char *p = t.buf; (p = strstr(p, "--")); p += 2) {
		if (p > t.buf && (p[-1] == '-' || p[-1] == '\\'))
			continue;
		size_t n = 2;
		while (p[n] && (strchr("abcdefghijklmnopqrstuvwxyz-", p[n])))
			n++;
		if (n > 3) {
			char *o = ac_strndup(p, n);
			ac_names_add(out, o);
			free(o);
		}
	}
	ac_buf_release(&t);
}

START_TEST(man_page_and_help_list_the_same_options)
{
	const char *args[] = {"--help", NULL};
	struct tu_proc p;
	tu_run(&p, args, NULL, 30);
	ck_assert_int_eq(p.exit_code, 0);
	char *path = tu_fmt("%s/doc/allclear.1", tu_env("AC_SOURCE_ROOT"));
	char *man = tu_read_file(path);
	struct ac_names help = {0}, inman = {0};
	options_in(p.out, false, &help);
	options_in(man, true, &inman);
	ck_assert_uint_gt(help.n, 20);
	for (size_t i = 0; i < help.n; i++)
		ck_assert_msg(ac_names_has(&inman, help.v[i]),
			      "%s is in allclear --help, not in doc/allclear.1", help.v[i]);
	for (size_t i = 0; i < inman.n; i++)
		ck_assert_msg(ac_names_has(&help, inman.v[i]),
			      "%s is in doc/allclear.1, not in allclear --help", inman.v[i]);
	/* Every subcommand too. */
	const char *cmds[] = {"check", "watch", "lint", "map", "baseline save", "schema", "init"};
	for (size_t i = 0; i < AC_ARRAY_LEN(cmds); i++) {
		char *a = tu_fmt("allclear %s", cmds[i]), *b = tu_fmt(".B allclear %s", cmds[i]);
		ck_assert_msg(strstr(p.out, a) && strstr(man, b), "command %s", cmds[i]);
		free(a);
		free(b);
	}
	ac_names_release(&help);
	ac_names_release(&inman);
	free(man);
	free(path);
	tu_proc_release(&p);
}
END_TEST

START_TEST(meson_install_puts_everything_in_place)
{
	char *dest = tu_fmt("%s/editors-destdir", tu_env("AC_BUILD_ROOT"));
	char *cmd = tu_fmt("rm -rf %s && meson install -C %s --no-rebuild --destdir %s 2>&1", dest,
			   tu_env("AC_BUILD_ROOT"), dest);
	char *out;
	int rc = sh(cmd, &out);
	ck_assert_msg(rc == 0, "meson install: %s", out);
	free(out);
	free(cmd);
	const char *want[] = {"bin/allclear", "share/man/man1/allclear.1",
			      "share/allclear/schema/scenario.schema.json",
			      "share/allclear/schema/report.schema.json"};
	for (size_t i = 0; i < AC_ARRAY_LEN(want); i++) {
		cmd = tu_fmt("find %s -path '*/%s' | head -1", dest, want[i]);
		sh(cmd, &out);
		ck_assert_msg(*out, "meson install did not put %s in place", want[i]);
		struct stat st;
		out[strcspn(out, "\n")] = '\0';
		ck_assert_int_eq(stat(out, &st), 0);
		ck_assert_msg(st.st_size > 0, "%s is empty", out);
		if (i == 0)
			ck_assert_msg(st.st_mode & S_IXUSR, "%s is not executable", out);
		free(out);
		free(cmd);
	}
	/* The installed schema is the one `allclear schema` prints. */
	cmd = tu_fmt("cmp $(find %s -name scenario.schema.json) %s/schema/scenario.schema.json",
		     dest, tu_env("AC_SOURCE_ROOT"));
	rc = sh(cmd, &out);
	ck_assert_msg(rc == 0, "%s", out);
	free(out);
	free(cmd);
	char *examples = tu_fmt("%s/examples", tu_env("AC_SOURCE_ROOT"));
	if (access(examples, F_OK) == 0) {
		cmd = tu_fmt("find %s -path '*/share/allclear/examples/*' | head -1", dest);
		sh(cmd, &out);
		ck_assert_msg(*out, "examples/ exists but was not installed");
		free(out);
		free(cmd);
	}
	free(examples);
	cmd = tu_fmt("rm -rf %s", dest);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	free(dest);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("editors");
	TCase *tc = tcase_create("schemas");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, scenario_schema_file_is_what_allclear_schema_prints);
	tcase_add_test(tc, every_scenario_in_the_tree_validates);
	tcase_add_test(tc, loader_accepts_a_schema_key);
	tcase_add_test(tc, reports_validate_against_the_report_schema);
	suite_add_tcase(s, tc);
	tc = tcase_create("lint");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, lint_without_secrets_lists_them_and_passes);
	tcase_add_test(tc, lint_without_secrets_still_checks_the_rest);
	tcase_add_test(tc, a_lint_plan_never_probes);
	suite_add_tcase(s, tc);
	tc = tcase_create("init");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, init_writes_a_starter_that_lints);
	suite_add_tcase(s, tc);
	tc = tcase_create("install");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, man_page_and_help_list_the_same_options);
	tcase_add_test(tc, meson_install_puts_everything_in_place);
	suite_add_tcase(s, tc);
	return tu_main(s);
}
