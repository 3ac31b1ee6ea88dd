/*
 * testutil.c: helpers shared by the Check suites.
 */
#include "testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

int64_t tu_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *tu_env(const char *name)
{
	const char *v = getenv(name);
	ck_assert_msg(v && *v,
		      "environment variable %s is not set: run the suite through tests/run.sh "
		      "(which starts the servers)",
		      name);
	return v;
}

static void drain(int fd, struct ac_buf *b, bool *open)
{
	char chunk[8192];
	ssize_t n = read(fd, chunk, sizeof(chunk));
	if (n > 0)
		ac_buf_add(b, chunk, (size_t)n);
	else if (n == 0 || (errno != EINTR && errno != EAGAIN))
		*open = false;
}

void tu_exec_allclear(const char *const *args)
{
	size_t n = 0;
	while (args[n])
		n++;
	char **argv = calloc(n + 2, sizeof(char *));
	argv[0] = (char *)(uintptr_t)tu_env("AC_BIN");
	for (size_t i = 0; i < n; i++)
		argv[i + 1] = (char *)(uintptr_t)args[i];
	execv(argv[0], argv);
	_exit(127);
}

void tu_run(struct tu_proc *p, const char *const *args, const char *const *env, int timeout_s)
{
	memset(p, 0, sizeof(*p));
	int out[2], err[2];
	ck_assert_int_eq(pipe(out), 0);
	ck_assert_int_eq(pipe(err), 0);
	int64_t t0 = tu_now_ms();
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(out[1], 1);
		dup2(err[1], 2);
		close(out[0]);
		close(err[0]);
		for (size_t i = 0; env && env[i]; i++)
			putenv((char *)(uintptr_t)env[i]);
		setenv("NO_COLOR", "1", 1);
		tu_exec_allclear(args);
	}
	close(out[1]);
	close(err[1]);
	struct ac_buf bo = AC_BUF_INIT, be = AC_BUF_INIT;
	bool oo = true, eo = true;
	int64_t deadline = t0 + (int64_t)timeout_s * 1000;
	bool killed = false;
	while (oo || eo) {
		struct pollfd pf[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
		int64_t left = deadline - tu_now_ms();
		if (left <= 0) {
			kill(pid, SIGKILL);
			killed = true;
			break;
		}
		int rc = poll(pf, 2, (int)left);
		if (rc < 0 && errno == EINTR)
			continue;
		if (pf[0].revents && oo)
			drain(out[0], &bo, &oo);
		if (pf[1].revents && eo)
			drain(err[0], &be, &eo);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	close(out[0]);
	close(err[0]);
	p->elapsed_ms = tu_now_ms() - t0;
	p->exit_code = (!killed && WIFEXITED(status)) ? WEXITSTATUS(status) : -1;
	p->out = ac_buf_detach(&bo);
	p->err = ac_buf_detach(&be);
}

void tu_proc_release(struct tu_proc *p)
{
	free(p->out);
	free(p->err);
	memset(p, 0, sizeof(*p));
}

void tu_run_check(struct tu_proc *p, const char *path, const char *const *env)
{
	const char *args[] = {"check", path, NULL};
	tu_run(p, args, env, 60);
}

char *tu_run_check_json(struct tu_proc *p, const char *path, const char *const *env)
{
	char *json_out = tu_fmt("%s.report.json", path);
	const char *args[] = {"check", path, "--json", json_out, NULL};
	tu_run(p, args, env, 60);
	char *text = NULL;
	if (access(json_out, F_OK) == 0) {
		text = tu_read_file(json_out);
		unlink(json_out);
	}
	free(json_out);
	return text;
}

void tu_expect_check(const char *path, int rc, const char *want)
{
	struct tu_proc p;
	free(tu_run_check_json(&p, path, NULL));
	TU_EXPECT(p.exit_code == rc, &p, "exit %d, expected %d", p.exit_code, rc);
	TU_EXPECT(strstr(p.out, want), &p, "stdout lacks: %s", want);
	if (rc != 0)
		TU_EXPECT(!strstr(p.out, "VERDICT: RESTORED"), &p, "RESTORED with exit %d", rc);
	tu_proc_release(&p);
}

int tu_run_signalled(const char *const *args, int sig, int after_ms, char **out, int64_t *exit_ms)
{
	char *op = tu_write_temp("", ".stdout");
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (!freopen(op, "w", stdout) || !freopen("/dev/null", "w", stderr))
			_exit(127);
		setenv("NO_COLOR", "1", 1);
		tu_exec_allclear(args);
	}
	usleep((useconds_t)after_ms * 1000);
	kill(pid, sig);
	int64_t t0 = tu_now_ms();
	int status;
	waitpid(pid, &status, 0);
	*exit_ms = tu_now_ms() - t0;
	*out = tu_read_file(op);
	free(op);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

char *tu_http_scenario(const char *settings, const char *targets, const char *journeys)
{
	char *json =
	    tu_fmt("{\"settings\": {\"rounds\": 1, \"confirm\": 1, \"timeout\": \"3s\", "
		   "\"connect_timeout\": \"1s\"%s%s}, \"targets\": {%s}, \"journeys\": [%s]}",
		   *settings ? ", " : "", settings, targets, journeys);
	char *path = tu_write_temp(json, ".json");
	free(json);
	return path;
}

int tu_count(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static char **temp_files;
static size_t ntemp_files;

static void remove_temps(void)
{
	for (size_t i = 0; i < ntemp_files; i++) {
		unlink(temp_files[i]);
		free(temp_files[i]);
	}
	free(temp_files);
}

char *tu_write_temp(const char *text, const char *suffix)
{
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char *path = tu_fmt("%s/allclear-test-XXXXXX%s", dir, suffix ? suffix : "");
	int fd = mkstemps(path, suffix ? (int)strlen(suffix) : 0);
	ck_assert_msg(fd >= 0, "mkstemps: %s", strerror(errno));
	size_t len = strlen(text);
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
	if (!temp_files)
		atexit(remove_temps);
	temp_files = realloc(temp_files, (ntemp_files + 1) * sizeof(char *));
	temp_files[ntemp_files++] = ac_strdup(path);
	return path;
}

char *tu_read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot read %s", path);
	struct ac_buf b = AC_BUF_INIT;
	char chunk[8192];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		ac_buf_add(&b, chunk, n);
	fclose(f);
	return ac_buf_detach(&b);
}

struct ac_plan *tu_load(const char *json)
{
	struct ac_error err = {0};
	struct ac_plan *plan = ac_plan_load_text(json, strlen(json), "test.json", &err);
	ck_assert_msg(plan != NULL, "scenario did not load:\n%s", err.msg);
	return plan;
}

char *tu_load_error(const char *json)
{
	struct ac_error err = {0};
	struct ac_plan *plan = ac_plan_load_text(json, strlen(json), "test.json", &err);
	ck_assert_msg(plan == NULL, "scenario loaded but should not have");
	return ac_strdup(err.msg);
}

struct ac_result *tu_run_scenario(const char *json, int rounds, struct ac_plan **plan_out)
{
	struct ac_plan *plan = tu_load(json);
	plan->settings.rounds = rounds;
	plan->settings.interval_ms = 0;
	if (plan->settings.confirm > rounds)
		plan->settings.confirm = rounds;
	struct ac_run_opts ro = {.mode = AC_MODE_CHECK};
	struct ac_error err = {0};
	struct ac_result *r = ac_engine_run(plan, &ro, &err);
	ck_assert_msg(r != NULL, "engine: %s", err.msg);
	*plan_out = plan;
	return r;
}

const struct ac_check_result *tu_check(const struct ac_result *r, const char *id)
{
	for (size_t i = 0; i < r->nchecks; i++)
		if (strcmp(r->checks[i].id, id) == 0)
			return &r->checks[i];
	ck_abort_msg("no check \"%s\" in the result", id);
	return NULL;
}

const struct ac_check_result *tu_check_named(const struct ac_result *r, const char *name)
{
	for (size_t i = 0; i < r->nchecks; i++)
		if (strcmp(r->checks[i].check->name, name) == 0)
			return &r->checks[i];
	ck_abort_msg("no check named \"%s\"", name);
	return NULL;
}

void tu_expect_last(const struct ac_check_result *c, const char *what, enum ac_state st,
		    const char *reason)
{
	const char *got = c->last.reason ? c->last.reason : "(none)";
	ck_assert_msg(c->last.state == st, "%s: state %d, wanted %d: %s", what, c->last.state, st,
		      got);
	if (reason)
		ck_assert_msg(strstr(got, reason), "%s: reason \"%s\", wanted \"%s\"", what, got,
			      reason);
}

int tu_listen_at(const char *addr, int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
	ck_assert_int_eq(inet_pton(AF_INET, addr, &a.sin_addr), 1);
	ck_assert_msg(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0, "bind %s: %s", addr,
		      strerror(errno));
	ck_assert_int_eq(listen(fd, 64), 0);
	socklen_t l = sizeof(a);
	getsockname(fd, (struct sockaddr *)&a, &l);
	*port = ntohs(a.sin_port);
	return fd;
}

int tu_listen(int *port)
{
	return tu_listen_at("127.0.0.1", port);
}

int tu_main(Suite *s)
{
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}

char *tu_chromium_dom(const char *path, const char *png)
{
	const char *chromium = "/usr/bin/chromium";
	ck_assert_msg(access(chromium, X_OK) == 0,
		      "Debian's chromium is needed (.ci/deps.sh installs it)");
	/* As the machine allows: no sandbox as root, nothing fetched from the
	 * network at start, a fresh profile. */
	const char *flags = "--headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
			    "--disable-background-networking --disable-component-update "
			    "--disable-sync --hide-scrollbars";
	char *profile = tu_fmt("%s.profile", path);
	char *dom_file = tu_fmt("%s.dom", path);
	char *cmd = tu_fmt("timeout 60 %s %s --user-data-dir=%s --dump-dom file://%s >%s "
			   "2>/dev/null",
			   chromium, flags, profile, path, dom_file);
	ck_assert_msg(system(cmd) == 0, "chromium --dump-dom failed: %s", cmd);
	free(cmd);
	if (png) {
		cmd = tu_fmt("timeout 60 %s %s --user-data-dir=%s --window-size=900,1400 "
			     "--screenshot=%s file://%s >/dev/null 2>&1",
			     chromium, flags, profile, png, path);
		ck_assert_msg(system(cmd) == 0, "chromium --screenshot failed");
		free(cmd);
	}
	char *dom = tu_read_file(dom_file);
	cmd = tu_fmt("rm -rf '%s' '%s'", profile, dom_file);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	free(profile);
	free(dom_file);
	return dom;
}

void tu_demo_stack(const char *args)
{
	char *cmd = tu_fmt("bash %s/demo/stack.sh %s >/dev/null", tu_env("AC_SOURCE_ROOT"), args);
	int rc = system(cmd);
	ck_assert_msg(rc == 0, "demo/stack.sh %s failed", args);
	free(cmd);
}

void tu_demo_down(void)
{
	char *cmd = tu_fmt("bash %s/demo/stack.sh down", tu_env("AC_SOURCE_ROOT"));
	if (system(cmd) != 0)
		fprintf(stderr, "tests: demo/stack.sh down failed\n");
	free(cmd);
}

void tu_demo_up(const char *name)
{
	char *state = tu_fmt("%s/allclear-demo-%s-%d", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
			     name, (int)getpid());
	setenv("AC_DEMO_STATE", state, 1);
	free(state);
	/* The shop's random draws (the partial rollout) the same every run. */
	setenv("AC_DEMO_SHOP_SEED", "11", 1);
	setenv("AC_DEMO_PORT_BASE",
	       getenv("AC_TEST_DEMO_PORT_BASE") ? getenv("AC_TEST_DEMO_PORT_BASE") : "27500", 1);
	char *shop = tu_fmt("%s/demo/allclear-demo-shop", tu_env("AC_BUILD_ROOT"));
	setenv("AC_DEMO_SHOP", shop, 1);
	free(shop);
	char *cmd = tu_fmt("bash %s/demo/stack.sh down >/dev/null 2>&1; bash %s/demo/stack.sh up",
			   tu_env("AC_SOURCE_ROOT"), tu_env("AC_SOURCE_ROOT"));
	int rc = system(cmd);
	free(cmd);
	if (rc != 0) {
		fprintf(stderr, "tests: the demo stack did not come up\n");
		tu_demo_down();
		exit(1);
	}
}
