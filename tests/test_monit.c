/*
 * test_monit.c: speaking the monitoring stack's language (src/monit.h):
 * the Nagios line and its exit codes, the Prometheus text (escaping of
 * hostile names, read back with the project's parser and promtool), the
 * --prom file written whole and only at the end, and watch --listen: the
 * endpoint mid-run, silent clients that must not hold a round, and a real
 * Prometheus (Debian's) scraping a watch and answering a query.
 *
 * Fixed ports are AC_TEST_PORT_BASE + 30 .. + 39.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../report/report.h"
#include "hostile.h"
#include "monit.h"
#include "prom.h"
#include "testutil.h"
#include "util.h"

#define T0 1764000000000LL /* 2025-11-24T16:00:00Z */

static int port_at(int n)
{
	long base = 27200;
	const char *b = getenv("AC_TEST_PORT_BASE");
	if (b && *b)
		ck_assert_int_eq(ac_parse_long(b, &base), 0);
	return (int)base + 30 + n;
}

/* --- hand-built trees ---------------------------------------------------- */

static struct ac_check_result *add(struct ac_result *r, const char *id, const char *area,
				   int area_order, enum ac_state st, const char *reason)
{
	r->checks = ac_realloc(r->checks, (r->nchecks + 1) * sizeof(*r->checks));
	struct ac_check_result *cr = &r->checks[r->nchecks++];
	memset(cr, 0, sizeof(*cr));
	cr->id = ac_strdup(id);
	cr->name = ac_strdup(id);
	cr->area = ac_strdup(area);
	cr->area_order = area_order;
	cr->owner = ac_strdup("web");
	cr->state = st;
	cr->reason = reason ? ac_strdup(reason) : NULL;
	return cr;
}

static struct ac_result *tree(enum ac_verdict v)
{
	struct ac_result *r = ac_calloc(1, sizeof(*r));
	r->scenario_name = ac_strdup("shop");
	r->mode = ac_strdup("check");
	r->verdict = v;
	r->rounds = 3;
	r->started_wall_ms = T0;
	r->ended_wall_ms = T0 + 12500;
	return r;
}

static char *render(const char *writer, const struct ac_result *r)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	struct ac_report_opts o = {0};
	ck_assert_int_eq(ac_writer_find(writer)->write(f, r, &o), 0);
	fclose(f);
	return text;
}

START_TEST(nagios_line_for_each_verdict)
{
	struct ac_result *r = tree(AC_NOT_RESTORED);
	add(r, "home @ edge-eu", "code", 5, AC_STATE_PASS, NULL);
	add(r, "checkout @ edge-eu", "code", 5, AC_STATE_FAIL, "status 503 | upstream");
	/* Recovery order: flags come before code, whatever the file order. */
	add(r, "new_checkout flag", "flags", 0, AC_STATE_FAIL, "new_checkout=true");
	struct ac_check_result *q = add(r, "jobs queue", "jobs", 2, AC_STATE_ERROR, "timed out");
	q->has_last = true;
	q->last.has_value = true;
	q->last.value = 1234.5;
	q->last.has_limit = true;
	q->last.limit = 100;
	char *line = render("nagios", r);
	ck_assert_str_eq(line, "ALLCLEAR CRITICAL - NOT RESTORED: 2 of 4 checks failed (first: "
			       "new_checkout flag: new_checkout=true) | checks=4;;;0 failed=2;;;0 "
			       "not_measured=1;;;0 passed=1;;;0 rounds=3;;;0 duration=12.5s;;;0 "
			       "'jobs queue'=1234.5;;100\n");
	free(line);

	r->verdict = AC_INCONCLUSIVE;
	r->checks[1].state = AC_STATE_PASS;
	r->checks[2].state = AC_STATE_PASS;
	line = render("nagios", r);
	ck_assert_msg(ac_starts_with(line, "ALLCLEAR UNKNOWN - INCONCLUSIVE: 1 of 4 checks not "
					   "measured (first: jobs queue: timed out) | checks=4"),
		      "%s", line);
	free(line);

	r->verdict = AC_RESTORED;
	r->checks[3].state = AC_STATE_PASS;
	line = render("nagios", r);
	ck_assert_msg(ac_starts_with(line, "ALLCLEAR OK - RESTORED: 4 of 4 checks passed | "
					   "checks=4;;;0 failed=0;;;0 not_measured=0;;;0 "
					   "passed=4;;;0"),
		      "%s", line);
	free(line);
	ac_result_destroy(r);
}
END_TEST

START_TEST(nagios_text_and_labels_cannot_break_the_line)
{
	struct ac_result *r = tree(AC_NOT_RESTORED);
	struct ac_check_result *c =
	    add(r, "it's = x", "code", 5, AC_STATE_FAIL, "line one\nline two | \x1b[31mred");
	c->has_last = true;
	c->last.has_value = true;
	c->last.value = -0.25;
	char *line = render("nagios", r);
	/* One line; the only pipe is the one before the perfdata. */
	ck_assert_int_eq(tu_count(line, "\n"), 1);
	ck_assert_int_eq(tu_count(line, "|"), 1);
	ck_assert_ptr_null(strchr(line, '\x1b'));
	ck_assert_msg(strstr(line, " 'it''s _ x'=-0.25\n"), "%s", line);
	free(line);
	ac_result_destroy(r);
	ck_assert_int_eq(ac_nagios_exit_code(AC_EXIT_RESTORED), 0);
	ck_assert_int_eq(ac_nagios_exit_code(AC_EXIT_NOT_RESTORED), 2);
	ck_assert_int_eq(ac_nagios_exit_code(AC_EXIT_INCONCLUSIVE), 3);
	ck_assert_int_eq(ac_nagios_exit_code(AC_EXIT_USAGE), 3);
}
END_TEST

/* --- the Prometheus text -------------------------------------------------- */

static const struct ac_prom_sample *find(const struct ac_prom_scrape *s, const char *name,
					 const char *lname, const char *lvalue)
{
	for (size_t i = 0; i < s->n; i++) {
		if (strcmp(s->s[i].name, name) != 0)
			continue;
		if (!lname)
			return &s->s[i];
		for (size_t k = 0; k < s->s[i].nlabels; k++)
			if (strcmp(s->s[i].lnames[k], lname) == 0 &&
			    strcmp(s->s[i].lvalues[k], lvalue) == 0)
				return &s->s[i];
	}
	return NULL;
}

static const char *label_of(const struct ac_prom_sample *s, const char *name)
{
	for (size_t k = 0; k < s->nlabels; k++)
		if (strcmp(s->lnames[k], name) == 0)
			return s->lvalues[k];
	return NULL;
}

START_TEST(prom_text_escapes_hostile_names)
{
	struct ac_result *r = tree(AC_NOT_RESTORED);
	free(r->scenario_name);
	r->scenario_name = ac_strdup("shop \"prod\"");
	struct ac_check_result *c =
	    add(r, "a\\b \"q\"\nnext} x=\"1\"", "code", 5, AC_STATE_FAIL, "no");
	free(c->owner);
	c->owner = ac_strdup("esc\x1b[2J \xff owner");
	c->target.name = ac_strdup("edge,eu");
	c->has_last = true;
	c->last.has_value = true;
	c->last.value = NAN;
	struct ac_check_result *d = add(r, "depth", "jobs", 2, AC_STATE_PASS, NULL);
	d->has_last = true;
	d->last.has_value = true;
	d->last.value = 0.1;
	d->last.has_limit = true;
	d->last.limit = 20;
	char *text = render("prometheus", r);
	ck_assert_msg(strstr(text, "check=\"a\\\\b \\\"q\\\"\\nnext} x=\\\"1\\\"\""), "%s", text);
	ck_assert_ptr_null(strchr(text, '\x1b'));

	/* Read back with the project's parser: every label value is what the
	 * tree held (the escape and the bad byte shown as \xNN). */
	struct ac_prom_scrape s = {0};
	struct ac_error err = {0};
	ck_assert_msg(ac_prom_parse(text, strlen(text), false, &s, &err) == 0, "%s\n%s", err.msg,
		      text);
	const struct ac_prom_sample *fail =
	    find(&s, "allclear_check_state", "check", "a\\b \"q\"\nnext} x=\"1\"");
	ck_assert_ptr_nonnull(fail);
	ck_assert_str_eq(label_of(fail, "owner"), "esc\\x1b[2J \\xff owner");
	ck_assert_str_eq(label_of(fail, "target"), "edge,eu");
	ck_assert_str_eq(label_of(fail, "scenario"), "shop \"prod\"");
	/* One-hot: the check's four states, 1 for fail only. */
	int ones = 0, rows = 0;
	for (size_t i = 0; i < s.n; i++) {
		const struct ac_prom_sample *x = &s.s[i];
		if (strcmp(x->name, "allclear_check_state") != 0 ||
		    strcmp(label_of(x, "check"), "depth") == 0)
			continue;
		rows++;
		ones += x->value == 1;
		if (x->value == 1)
			ck_assert_str_eq(label_of(x, "state"), "fail");
	}
	ck_assert_int_eq(rows, 4);
	ck_assert_int_eq(ones, 1);
	const struct ac_prom_sample *v = find(&s, "allclear_verdict", "state", "not_restored");
	ck_assert_ptr_nonnull(v);
	ck_assert(v->value == 1);
	v = find(&s, "allclear_verdict", "state", "restored");
	ck_assert(v && v->value == 0);
	v = find(&s, "allclear_check_value", "check", "depth");
	ck_assert(v && v->value == 0.1);
	v = find(&s, "allclear_check_limit", "check", "depth");
	ck_assert(v && v->value == 20);
	ck_assert(isnan(find(&s, "allclear_check_value", "check", label_of(fail, "check"))->value));
	ck_assert(find(&s, "allclear_rounds_total", NULL, NULL)->value == 3);
	ck_assert(find(&s, "allclear_last_round_timestamp_seconds", NULL, NULL)->value ==
		  (T0 + 12500) / 1000.0);
	ck_assert(find(&s, "allclear_running", NULL, NULL)->value == 0);
	ac_prom_scrape_release(&s);

	/* And Prometheus' own tool accepts it. */
	char *path = tu_write_temp(text, ".prom");
	char *cmd = tu_fmt("promtool check metrics < %s >/dev/null 2>&1", path);
	ck_assert_msg(system(cmd) == 0, "promtool refused:\n%s", text);
	free(cmd);
	free(path);
	free(text);
	ac_result_destroy(r);
}
END_TEST

/* --- through the binary --------------------------------------------------- */

/* 200 for /ok, 503 for anything else. */
static void ok_or_down(int fd, const struct hs_request *req, void *ud)
{
	if (strcmp(req->path, "/ok") == 0)
		hs_reply(fd, 200, "", "ok");
	else
		hs_reply(fd, 503, "", "down");
}

static char *scenario(int port, const char *settings, const char *paths)
{
	char *targets = tu_fmt("\"web\": {\"url\": \"http://127.0.0.1:%d\"}", port);
	struct ac_buf j = AC_BUF_INIT;
	char *list = ac_strdup(paths), *save = NULL;
	int k = 0;
	for (char *p = strtok_r(list, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		k++;
		ac_buf_addf(&j,
			    "%s{\"name\": \"j%d\", \"area\": \"code\", \"owner\": \"web\", "
			    "\"steps\": [{\"url\": \"%s\"}]}",
			    k > 1 ? ", " : "", k, p);
	}
	char *path = tu_http_scenario(settings, targets, j.buf);
	ac_buf_release(&j);
	free(list);
	free(targets);
	return path;
}

START_TEST(nagios_exit_codes_through_the_binary)
{
	struct hs_server s;
	hs_start(&s, ok_or_down, NULL);
	char *good = scenario(s.port, "", "/ok,/ok");
	char *bad = scenario(s.port, "", "/ok,/down");
	/* TLS to a server that closes at once: the check could not measure. */
	struct hs_server closer;
	hs_start_counting(&closer);
	char *tls = tu_fmt("\"web\": {\"url\": \"https://127.0.0.1:%d\"}", closer.port);
	char *gone = tu_http_scenario("", tls, TU_JOURNEY("j1", "\"steps\": [{\"url\": \"/ok\"}]"));
	free(tls);
	struct {
		const char *path;
		int rc;
		const char *line;
	} cases[] = {
	    {good, 0, "ALLCLEAR OK - RESTORED: 2 of 2 checks passed | checks=2;;;0"},
	    {bad, 2, "ALLCLEAR CRITICAL - NOT RESTORED: 1 of 2 checks failed (first: j2 @ web: "},
	    {gone, 3,
	     "ALLCLEAR UNKNOWN - INCONCLUSIVE: 1 of 1 checks not measured (first: j1 @ "
	     "web: "},
	};
	for (size_t i = 0; i < AC_ARRAY_LEN(cases); i++) {
		struct tu_proc p;
		const char *args[] = {"check", cases[i].path, "--format", "nagios", NULL};
		tu_run(&p, args, NULL, 30);
		TU_EXPECT(p.exit_code == cases[i].rc, &p, "case %zu: exit %d, not %d", i,
			  p.exit_code, cases[i].rc);
		TU_EXPECT(ac_starts_with(p.out, cases[i].line) && tu_count(p.out, "\n") == 1, &p,
			  "case %zu: line", i);
		tu_proc_release(&p);
	}
	/* Without --format nagios the codes stay allclear's own. */
	struct tu_proc p;
	const char *plain[] = {"check", bad, NULL};
	tu_run(&p, plain, NULL, 30);
	TU_EXPECT(p.exit_code == 1, &p, "plain exit %d", p.exit_code);
	tu_proc_release(&p);
	/* Bad input: UNKNOWN, exit 3, a line all the same, nothing probed. */
	int before = hs_requests(&s);
	char *broken = tu_write_temp("{\"checks\": [{\"kind\": \"nope\"}]}", ".json");
	const char *args[] = {"check", broken, "--format", "nagios", NULL};
	tu_run(&p, args, NULL, 30);
	TU_EXPECT(p.exit_code == 3 &&
		      ac_starts_with(p.out, "ALLCLEAR UNKNOWN - nothing was judged"),
		  &p, "bad scenario");
	tu_proc_release(&p);
	const char *unwritable[] = {
	    "check", good, "--format", "nagios", "--json", "/nonexistent/dir/r.json", NULL};
	tu_run(&p, unwritable, NULL, 30);
	TU_EXPECT(p.exit_code == 3 && ac_starts_with(p.out, "ALLCLEAR UNKNOWN"), &p,
		  "unwritable output");
	tu_proc_release(&p);
	ck_assert_int_eq(hs_requests(&s), before);
	hs_stop(&s);
	hs_stop(&closer);
	free(broken);
	free(good);
	free(bad);
	free(gone);
}
END_TEST

/* A secret in a failing step's URL: masked in the Nagios line, the series
 * on stdout, the --prom file and what --listen serves. */
#define SECRET "monit-canary-5f3a9e"
START_TEST(secrets_never_reach_the_monitoring_outputs)
{
	struct hs_server s;
	hs_start(&s, ok_or_down, NULL);
	char *targets = tu_fmt("\"web\": {\"url\": \"http://127.0.0.1:%d\"}", s.port);
	char *sc = tu_http_scenario(
	    "", targets,
	    TU_JOURNEY("leak", "\"steps\": [{\"url\": \"/down?t=${env:AC_MONIT_PW}\"}]"));
	const char *env[] = {"AC_MONIT_PW=" SECRET, NULL};
	char *prom = tu_fmt("%s.prom", sc);
	int port = port_at(6);
	char *addr = tu_fmt("127.0.0.1:%d", port);
	const char *formats[] = {"nagios", "prometheus"};
	for (size_t i = 0; i < AC_ARRAY_LEN(formats); i++) {
		struct tu_proc p;
		const char *args[] = {"check", sc,	   "--format", formats[i], "--prom",
				      prom,    "--listen", addr,       NULL};
		tu_run(&p, args, env, 30);
		TU_EXPECT(p.exit_code == (i == 0 ? 2 : 1), &p, "%s: exit %d", formats[i],
			  p.exit_code);
		TU_EXPECT(!strstr(p.out, SECRET) && !strstr(p.err, SECRET), &p, "%s leaked",
			  formats[i]);
		char *file = tu_read_file(prom);
		ck_assert_ptr_null(strstr(file, SECRET));
		free(file);
		if (i == 0)
			TU_EXPECT(strstr(p.out, "t=***"), &p, "the masked URL is in the reason");
		tu_proc_release(&p);
	}
	unlink(prom);
	hs_stop(&s);
	free(addr);
	free(prom);
	free(sc);
	free(targets);
}
END_TEST

/* Fork $AC_BIN with args, stdout to /dev/null and stderr to errpath. */
static pid_t spawn(const char *const *args, const char *errpath)
{
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (!freopen("/dev/null", "w", stdout) || !freopen(errpath, "w", stderr))
			_exit(127);
		setenv("NO_COLOR", "1", 1);
		tu_exec_allclear(args);
	}
	return pid;
}

static int reap(pid_t pid)
{
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* curl -s URL, at most 3 s; NULL when it failed. */
static char *fetch(const char *url)
{
	char *cmd = tu_fmt("curl -sf -m 3 '%s'", url);
	FILE *f = popen(cmd, "r");
	free(cmd);
	struct ac_buf b = AC_BUF_INIT;
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		ac_buf_add(&b, chunk, n);
	int rc = pclose(f);
	if (rc != 0) {
		ac_buf_release(&b);
		return NULL;
	}
	return ac_buf_detach(&b);
}

static double series(const char *text, const char *prefix)
{
	const char *p = strstr(text, prefix);
	ck_assert_msg(p, "no %s in:\n%s", prefix, text);
	const char *sp = strchr(p, ' ');
	return strtod(sp + 1, NULL);
}

static int files_in(const char *dir)
{
	DIR *d = opendir(dir);
	int n = 0;
	for (struct dirent *e; (e = readdir(d));)
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

START_TEST(prom_file_appears_whole_at_the_end)
{
	struct hs_server s;
	hs_start(&s, ok_or_down, NULL);
	char *sc = scenario(s.port, "", "/ok,/down");
	char *dir = tu_fmt("%s/ac-monit-prom-%d", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
			   (int)getpid());
	char *mk = tu_fmt("rm -rf %s && mkdir -p %s", dir, dir);
	ck_assert_int_eq(system(mk), 0);
	char *path = tu_fmt("%s/allclear.prom", dir);
	FILE *old = fopen(path, "w");
	fputs("allclear_up 1\n# the previous run\n", old);
	fclose(old);
	char *err = tu_fmt("%s/err.txt", dir);
	const char *args[] = {"watch", sc,	 "--window", "3s",	"--interval",
			      "500ms", "--prom", path,	     "--quiet", NULL};
	pid_t pid = spawn(args, err);
	/* Mid-run the collector still reads the previous file, whole. */
	usleep(1500 * 1000);
	char *mid = tu_read_file(path);
	ck_assert_str_eq(mid, "allclear_up 1\n# the previous run\n");
	ck_assert_int_eq(reap(pid), 1);
	char *text = tu_read_file(path);
	ck_assert_msg(strstr(text, ",state=\"not_restored\"} 1\n"), "%s", text);
	ck_assert_msg(strstr(text, "state=\"fail\"} 1\n") && strstr(text, "allclear_running{"),
		      "%s", text);
	ck_assert_msg(series(text, "allclear_rounds_total{") >= 5, "%s", text);
	ck_assert(series(text, "allclear_running{") == 0);
	/* Nothing left beside it: the temporary file was renamed. */
	ck_assert_int_eq(files_in(dir), 2); /* allclear.prom, err.txt */
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0644);
	hs_stop(&s);
	free(mid);
	free(text);
	free(err);
	free(path);
	free(mk);
	free(dir);
	free(sc);
}
END_TEST

START_TEST(prom_file_unwritable_is_exit_3_before_probing)
{
	struct hs_server s;
	hs_start(&s, ok_or_down, NULL);
	char *sc = scenario(s.port, "", "/ok");
	const char *paths[] = {"/nonexistent/dir/allclear.prom", "/tmp"};
	for (size_t i = 0; i < AC_ARRAY_LEN(paths); i++) {
		struct tu_proc p;
		const char *args[] = {"check", sc, "--prom", paths[i], NULL};
		tu_run(&p, args, NULL, 30);
		TU_EXPECT(p.exit_code == 3 && strstr(p.err, "nothing was probed"), &p, "%s",
			  paths[i]);
		tu_proc_release(&p);
	}
	ck_assert_int_eq(hs_requests(&s), 0);
	hs_stop(&s);
	free(sc);
}
END_TEST

/* --- watch --listen -------------------------------------------------------- */

START_TEST(listen_serves_metrics_during_a_watch)
{
	struct hs_server s;
	hs_start(&s, ok_or_down, NULL);
	char *sc = scenario(s.port, "", "/ok,/down");
	char *addr = tu_fmt("127.0.0.1:%d", port_at(0));
	char *err = tu_write_temp("", ".err");
	const char *args[] = {"watch", sc,	   "--window", "4s", "--interval",
			      "500ms", "--listen", addr,       NULL};
	pid_t pid = spawn(args, err);
	char *url = tu_fmt("http://%s/metrics", addr);
	usleep(1200 * 1000);
	char *a = fetch(url);
	ck_assert_msg(a, "no answer from %s", url);
	usleep(1200 * 1000);
	char *b = fetch(url);
	ck_assert_ptr_nonnull(b);
	ck_assert_msg(strstr(a, "state=\"not_restored\"} 1\n"), "%s", a);
	ck_assert(series(a, "allclear_running{") == 1);
	ck_assert_msg(series(b, "allclear_rounds_total{") > series(a, "allclear_rounds_total{"),
		      "rounds did not move:\n%s\n%s", a, b);
	char *nf = tu_fmt(
	    "curl -s -o /dev/null -w '%%{http_code}' -m 3 http://%s/nope | grep -qx 404", addr);
	ck_assert_int_eq(system(nf), 0);
	ck_assert_int_eq(reap(pid), 1);
	char *e = tu_read_file(err);
	ck_assert_msg(strstr(e, "serving http://127.0.0.1:") && !strstr(e, "warning"), "%s", e);
	/* The run is over: nobody listens any more. */
	ck_assert_ptr_null(fetch(url));
	hs_stop(&s);
	free(e);
	free(nf);
	free(a);
	free(b);
	free(url);
	free(err);
	free(addr);
	free(sc);
}
END_TEST

static int connect_silent(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

START_TEST(silent_clients_never_delay_rounds)
{
	struct hs_server s;
	hs_start(&s, ok_or_down, NULL);
	char *sc = scenario(s.port, "", "/ok");
	int port = port_at(1);
	char *addr = tu_fmt("127.0.0.1:%d", port);
	char *err = tu_write_temp("", ".err");
	char *json = tu_fmt("%s.json", err);
	const char *args[] = {"watch",	  sc,	"--window", "3s", "--interval", "250ms",
			      "--listen", addr, "--json",   json, NULL};
	int64_t t0 = tu_now_ms();
	pid_t pid = spawn(args, err);
	usleep(400 * 1000);
	/* One connects and sends nothing; then more than the listener takes
	 * at once; then one sends half a request and stalls. */
	int fds[40];
	for (size_t i = 0; i < AC_ARRAY_LEN(fds); i++)
		fds[i] = connect_silent(port);
	ck_assert_int_eq(send(fds[39], "GET /metr", 9, 0), 9);
	/* The scraper still gets in: idle connections make room. */
	char *url = tu_fmt("http://%s/metrics", addr);
	char *m = fetch(url);
	ck_assert_msg(m && strstr(m, "allclear_verdict{"), "no /metrics past idle clients");
	free(m);
	free(url);
	ck_assert_int_eq(reap(pid), 0);
	int64_t took = tu_now_ms() - t0;
	for (size_t i = 0; i < AC_ARRAY_LEN(fds); i++)
		close(fds[i]);
	/* 3 s of rounds every 250 ms: the run ended on time with every round. */
	ck_assert_msg(took < 4500, "the watch took %lld ms", (long long)took);
	char *report = tu_read_file(json);
	ck_assert_msg(strstr(report, "\"slow_rounds\":\t0,") && strstr(report, "\"rounds\":\t12,"),
		      "%s", report);
	ck_assert_int_ge(hs_requests(&s), 11);
	hs_stop(&s);
	unlink(json);
	free(report);
	free(json);
	free(err);
	free(addr);
	free(sc);
}
END_TEST

START_TEST(listen_address_checks)
{
	struct hs_server s;
	hs_start(&s, ok_or_down, NULL);
	char *sc = scenario(s.port, "", "/ok");
	/* Taken, or not an address: exit 3 before probing. */
	int busy;
	int lfd = tu_listen(&busy);
	char *taken = tu_fmt("127.0.0.1:%d", busy);
	const char *bad[] = {taken, "127.0.0.1:99999", "nohost:x", "[::1", NULL};
	for (size_t i = 0; bad[i]; i++) {
		struct tu_proc p;
		const char *args[] = {"check", sc, "--listen", bad[i], NULL};
		tu_run(&p, args, NULL, 30);
		TU_EXPECT(p.exit_code == 3 && strstr(p.err, "nothing was probed"), &p, "%s",
			  bad[i]);
		tu_proc_release(&p);
	}
	close(lfd);
	ck_assert_int_eq(hs_requests(&s), 0);
	/* Every address: served, with a warning. A port alone: loopback. */
	char *any = tu_fmt("0.0.0.0:%d", port_at(2));
	char *bare = tu_fmt("%d", port_at(3));
	struct tu_proc p;
	const char *args[] = {"check", sc, "--listen", any, NULL};
	tu_run(&p, args, NULL, 30);
	TU_EXPECT(p.exit_code == 0 && strstr(p.err, "warning: 0.0.0.0:") &&
		      strstr(p.err, "is not a loopback address"),
		  &p, "0.0.0.0");
	tu_proc_release(&p);
	const char *args2[] = {"check", sc, "--listen", bare, NULL};
	tu_run(&p, args2, NULL, 30);
	char *want = tu_fmt("serving http://127.0.0.1:%d/metrics", port_at(3));
	TU_EXPECT(p.exit_code == 0 && strstr(p.err, want) && !strstr(p.err, "warning"), &p,
		  "bare port");
	tu_proc_release(&p);
	hs_stop(&s);
	free(want);
	free(any);
	free(bare);
	free(taken);
	free(sc);
}
END_TEST

START_TEST(a_real_prometheus_scrapes_a_watch)
{
	struct hs_server s;
	hs_start(&s, ok_or_down, NULL);
	char *sc = scenario(s.port, "", "/ok,/down");
	int lport = port_at(4), pport = port_at(5);
	char *dir = tu_fmt("%s/ac-monit-prom-%d", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
			   (int)getpid());
	char *mk = tu_fmt("rm -rf %s && mkdir -p %s", dir, dir);
	ck_assert_int_eq(system(mk), 0);
	char *cpath = tu_fmt("%s/prometheus.yml", dir);
	FILE *f = fopen(cpath, "w");
	fprintf(f,
		"global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n"
		"  - job_name: allclear\n    static_configs:\n"
		"      - targets: ['127.0.0.1:%d']\n",
		lport);
	fclose(f);
	pid_t prom = fork();
	ck_assert_int_ge(prom, 0);
	if (prom == 0) {
		char *cfg = tu_fmt("--config.file=%s", cpath),
		     *db = tu_fmt("--storage.tsdb.path=%s/data", dir),
		     *listen = tu_fmt("--web.listen-address=127.0.0.1:%d", pport);
		if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr))
			_exit(127);
		execlp("prometheus", "prometheus", cfg, db, listen, (char *)NULL);
		_exit(127);
	}
	char *ready = tu_fmt("for i in $(seq 150); do curl -sf http://127.0.0.1:%d/-/ready "
			     ">/dev/null && exit 0; sleep 0.2; done; exit 1",
			     pport);
	ck_assert_msg(system(ready) == 0, "prometheus did not come up");
	char *addr = tu_fmt("127.0.0.1:%d", lport);
	char *err = tu_fmt("%s/allclear.err", dir);
	const char *args[] = {"watch", sc,	   "--window", "20s", "--interval",
			      "500ms", "--listen", addr,       NULL};
	pid_t pid = spawn(args, err);
	/* The verdict series as Prometheus stored it from its scrapes. */
	char *q = tu_fmt("http://127.0.0.1:%d/api/v1/query?query=allclear_verdict", pport);
	char *got = NULL;
	for (int i = 0; i < 60 && !got; i++) {
		char *a = fetch(q);
		if (a && strstr(a, "\"state\":\"not_restored\"") && strstr(a, "\"1\"]"))
			got = a;
		else
			free(a);
		if (!got)
			usleep(250 * 1000);
	}
	kill(pid, SIGTERM);
	reap(pid);
	kill(prom, SIGTERM);
	waitpid(prom, NULL, 0);
	ck_assert_msg(got, "Prometheus never returned allclear_verdict");
	ck_assert_msg(strstr(got, "\"job\":\"allclear\"") &&
			  strstr(got, "\"state\":\"restored\"") &&
			  strstr(got, "\"state\":\"inconclusive\""),
		      "%s", got);
	fprintf(stderr, "prometheus answered: %s\n", got);
	char *rm = tu_fmt("rm -rf %s", dir);
	ck_assert_int_eq(system(rm), 0);
	hs_stop(&s);
	free(rm);
	free(got);
	free(q);
	free(err);
	free(addr);
	free(ready);
	free(cpath);
	free(mk);
	free(dir);
	free(sc);
}
END_TEST

static Suite *monit_suite(void)
{
	Suite *s = suite_create("monit");
	TCase *tc = tcase_create("nagios");
	tcase_add_test(tc, nagios_line_for_each_verdict);
	tcase_add_test(tc, nagios_text_and_labels_cannot_break_the_line);
	tcase_add_test(tc, nagios_exit_codes_through_the_binary);
	suite_add_tcase(s, tc);
	tc = tcase_create("prom");
	tcase_add_test(tc, prom_text_escapes_hostile_names);
	tcase_add_test(tc, prom_file_appears_whole_at_the_end);
	tcase_add_test(tc, prom_file_unwritable_is_exit_3_before_probing);
	tcase_add_test(tc, secrets_never_reach_the_monitoring_outputs);
	suite_add_tcase(s, tc);
	tc = tcase_create("listen");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, listen_serves_metrics_during_a_watch);
	tcase_add_test(tc, silent_clients_never_delay_rounds);
	tcase_add_test(tc, listen_address_checks);
	tcase_add_test(tc, a_real_prometheus_scrapes_a_watch);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_main(monit_suite());
}
