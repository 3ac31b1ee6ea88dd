/*
 * commands.c: the commands behind the command line: lint, map, a run
 * (check, watch, baseline save) with its live view, report files,
 * monitoring outputs and webhooks, and merge.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>
#include "cfg.h"
#include "engine.h"
#include "init.h"
#include "json.h"
#include "live.h"
#include "loop.h"
#include "mask.h"
#include "monit.h"
#include "notify.h"
#include "release.h"
#include "report.h"
#include "result.h"
#include "scenario.h"
#include "schema.h"
#include "shard.h"
#include "merge.h"
#include "cli.h"
#include "util.h"

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	stop_flag = sig; /* the engine names it in what it aborts */
}

/* The release map's part of lint: its size, and its warnings (a check no
 * part covers, a part no check proves) on stderr like the errors, which do
 * not fail the lint. */
static void lint_release(const struct ac_plan *plan)
{
	const struct ac_release *rel = plan->release;
	if (!rel)
		return;
	printf("%s: release map: %zu part%s, %zu warning%s\n", plan->path, rel->nparts,
	       rel->nparts == 1 ? "" : "s", rel->nwarnings, rel->nwarnings == 1 ? "" : "s");
	if (rel->warnings.len)
		fputs(rel->warnings.buf, stderr);
}

/* allclear map SCENARIO: the release map as a runbook (plain or Markdown). */
int cmd_map(const char *path, const struct cli *cli)
{
	bool md = false;
	if (cli->format && strcmp(cli->format, "markdown") == 0)
		md = true;
	else if (cli->format && strcmp(cli->format, "terminal") != 0)
		return bad_usage("map: --format terminal or markdown, not '%s'", cli->format);
	char *problems = NULL;
	struct ac_plan *plan = ac_plan_load_all(path, cli->vars, cli->nvars, NULL, &problems);
	if (!plan) {
		fprintf(stderr, "%s\n", problems);
		free(problems);
		return AC_EXIT_USAGE;
	}
	int rc = 0;
	if (!plan->release) {
		char *p = ac_text_escape(path);
		fprintf(stderr,
			"allclear: no release map in %s (add a \"release\" section: see README, "
			"\"Release map\")\n",
			p);
		free(p);
		rc = AC_EXIT_USAGE;
	} else if (ac_release_write_map(stdout, plan, md) < 0 || fflush(stdout) != 0) {
		rc = AC_EXIT_USAGE;
	} else if (plan->release->warnings.len) {
		fputs(plan->release->warnings.buf, stderr);
	}
	ac_plan_destroy(plan);
	return rc;
}

/* The secrets a run will need that are not there now: names only. */
static void lint_secrets(const char *path, const struct ac_names *secrets)
{
	if (!secrets->n)
		return;
	printf("%s: needs %zu secret%s to run, not available now:", path, secrets->n,
	       secrets->n == 1 ? "" : "s");
	for (size_t i = 0; i < secrets->n; i++) {
		char *n = ac_text_escape(secrets->v[i]);
		printf(" ${%s}", n);
		free(n);
	}
	printf("\n");
}

int cmd_lint(int argc, char **argv, const struct cli *cli)
{
	int rc = 0;
	for (int i = 0; i < argc; i++) {
		char *problems = NULL;
		/* Without secrets (a pull request's CI): an unset ${env:} or an
		 * unreadable ${file:} is listed, not an error. */
		struct ac_names secrets = {0};
		struct ac_plan *plan =
		    ac_plan_load_lint(argv[i], cli->vars, cli->nvars, &secrets, &problems);
		if (!plan) {
			fprintf(stderr, "%s\n", problems);
			free(problems);
			ac_names_release(&secrets);
			rc = AC_EXIT_USAGE;
			continue;
		}
		size_t journeys = 0;
		for (size_t k = 0; k < plan->nchecks; k++)
			journeys += plan->checks[k].target != NULL;
		printf("%s: ok: %zu checks (%zu journey runs across %zu targets)%s\n", argv[i],
		       plan->nchecks, journeys, plan->ntargets,
		       plan->settings.insecure || plan->tls_unverified ? ", TLS verification OFF"
								       : "");
		lint_release(plan);
		lint_secrets(argv[i], &secrets);
		ac_names_release(&secrets);
		ac_plan_destroy(plan);
	}
	return rc;
}

struct progress {
	struct ac_live live;
	const struct ac_clock *clock;
	struct ac_listener *listener; /* --listen, or NULL */
	/* The live table is drawn again at once when the terminal is resized:
	 * SIGWINCH writes to a pipe the engine's loop watches. */
	struct ac_loop *loop;
	const struct ac_result *last; /* the tree of the last round (the engine's) */
	int64_t last_left;
};

static int winch_pipe[2] = {-1, -1};

static void on_winch_signal(int sig)
{
	(void)sig;
	int saved = errno;
	if (winch_pipe[1] >= 0 && write(winch_pipe[1], "w", 1) < 0) {
		/* the pipe is full: a redraw is already due */
	}
	errno = saved;
}

static void measure_width(struct progress *p)
{
	struct winsize ws;
	if (p->live.tty && ioctl(fileno(p->live.out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		p->live.width = ws.ws_col;
}

static void on_winch(void *ud, int fd, unsigned revents)
{
	(void)revents;
	struct progress *p = ud;
	char buf[64];
	while (read(fd, buf, sizeof(buf)) > 0) {
	}
	measure_width(p);
	if (p->last)
		ac_live_round(&p->live, p->last, p->last_left, p->clock->wall_ms(p->clock));
}

static void on_start(struct ac_loop *loop, void *ud)
{
	struct progress *p = ud;
	ac_listener_attach(p->listener, loop);
	if (!p->live.tty || p->live.quiet || pipe2(winch_pipe, O_NONBLOCK | O_CLOEXEC) != 0)
		return;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_winch_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGWINCH, &sa, NULL);
	p->loop = loop;
	ac_loop_watch(loop, winch_pipe[0], AC_LOOP_READ, on_winch, p);
}

static void on_end(struct ac_loop *loop, void *ud)
{
	struct progress *p = ud;
	ac_listener_detach(p->listener);
	if (p->loop && winch_pipe[0] >= 0) {
		signal(SIGWINCH, SIG_DFL);
		ac_loop_unwatch(loop, winch_pipe[0]);
		close(winch_pipe[0]);
		close(winch_pipe[1]);
		winch_pipe[0] = winch_pipe[1] = -1;
		p->loop = NULL;
	}
	p->last = NULL;
}

static void on_round(const struct ac_result *r, int64_t time_left_ms, void *ud)
{
	struct progress *p = ud;
	/* The table fits the terminal as it is now (and is drawn again at
	 * once on a resize: on_winch). */
	measure_width(p);
	p->last = r;
	p->last_left = time_left_ms;
	ac_live_round(&p->live, r, time_left_ms, p->clock->wall_ms(p->clock));
	if (p->listener) {
		char *text = ac_prom_text(r);
		ac_listener_set(p->listener, text);
		free(text);
	}
}

/* Read a saved baseline into the plan's checks. */
static int load_baseline(struct ac_plan *plan, const char *path)
{
	struct ac_buf b;
	struct ac_error err = {0};
	if (ac_read_file(path, 16 * 1024 * 1024, &b, &err) < 0) {
		fprintf(stderr, "allclear: baseline %s: %s\n", path, err.msg);
		return -1;
	}
	cJSON *root = ac_json_parse_strict(b.buf, b.len, path, AC_JSON_MAX_DEPTH, &err);
	ac_buf_release(&b);
	const cJSON *values = ac_json_get(root, "values");
	const cJSON *ver = ac_json_get(root, "version");
	if (!root || !cJSON_IsObject(values) || !cJSON_IsNumber(ver) || ver->valuedouble != 1) {
		fprintf(stderr, "allclear: %s: %s\n", path,
			root ? "not an allclear baseline (version 1 with \"values\")" : err.msg);
		cJSON_Delete(root);
		return -1;
	}
	/* A baseline of another scenario would judge these checks against
	 * values that never described them. */
	const cJSON *sn = ac_json_get(root, "scenario");
	char *mine = ac_mask_apply(plan->mask, plan->name ? plan->name : "");
	if (!cJSON_IsString(sn) || strcmp(sn->valuestring, mine) != 0) {
		char *theirs = cJSON_IsString(sn) ? ac_text_escape(sn->valuestring) : NULL;
		char *ours = ac_text_escape(mine);
		fprintf(stderr,
			"allclear: %s: a baseline of scenario \"%s\", not of \"%s\"; save one "
			"from this scenario (allclear baseline save)\n",
			path, theirs ? theirs : "(none)", ours);
		free(theirs);
		free(ours);
		free(mine);
		cJSON_Delete(root);
		return -1;
	}
	free(mine);
	for (size_t i = 0; i < plan->nchecks; i++) {
		const cJSON *v = ac_json_get(values, plan->checks[i].id);
		if (cJSON_IsNumber(v)) {
			plan->checks[i].baseline = v->valuedouble;
			plan->checks[i].has_baseline = true;
		}
	}
	cJSON_Delete(root);
	return 0;
}

/* Write the values of a healthy run as a baseline. */
static int save_baseline(const struct ac_result *r, const char *path)
{
	cJSON *root = cJSON_CreateObject();
	cJSON_AddNumberToObject(root, "version", 1);
	cJSON_AddStringToObject(root, "scenario", r->scenario_name);
	char ts[32];
	ac_format_utc(ts, sizeof(ts), r->ended_wall_ms);
	cJSON_AddStringToObject(root, "saved_at", ts);
	cJSON *values = cJSON_AddObjectToObject(root, "values");
	size_t n = 0;
	for (size_t i = 0; i < r->nchecks; i++) {
		const struct ac_check_result *cr = &r->checks[i];
		if (cr->has_last && cr->last.has_value) {
			cJSON_AddNumberToObject(values, cr->check->id, cr->last.value);
			n++;
		}
	}
	char *text = cJSON_Print(root);
	cJSON_Delete(root);
	FILE *f = fopen(path, "w");
	int rc = -1;
	if (f && text) {
		rc = fputs(text, f) < 0 || fputc('\n', f) == EOF ? -1 : 0;
		if (fclose(f) != 0)
			rc = -1;
	} else if (f) {
		fclose(f);
	}
	cJSON_free(text);
	if (rc < 0)
		fprintf(stderr, "allclear: cannot write baseline %s\n", path);
	else
		fprintf(stderr, "allclear: baseline of %zu values saved to %s\n", n, path);
	return rc;
}

/* The report files, opened before anything is probed: a path that cannot
 * be written is found before the run, not after it. */
struct outputs {
	FILE *json, *junit, *markdown, *html;
	FILE *summary; /* $GITHUB_STEP_SUMMARY, appended to */
};

static FILE *open_output(const char *path)
{
	if (!path)
		return NULL;
	if (strcmp(path, "-") == 0)
		return stdout; /* "--json -": after the standard output report */
	FILE *f = fopen(path, "w");
	if (!f)
		fprintf(stderr, "allclear: cannot write %s: %s; nothing was probed\n", path,
			strerror(errno));
	return f;
}

static void outputs_close(struct outputs *o)
{
	FILE *fs[] = {o->json, o->junit, o->markdown, o->html, o->summary};
	for (size_t i = 0; i < AC_ARRAY_LEN(fs); i++)
		if (fs[i] && fs[i] != stdout)
			fclose(fs[i]);
	memset(o, 0, sizeof(*o));
}

static int outputs_open(struct outputs *o, const struct cli *cli)
{
	memset(o, 0, sizeof(*o));
	/* One file for two formats would keep only the last one written. */
	const char *paths[] = {cli->json_path, cli->junit_path, cli->markdown_path, cli->html_path};
	for (size_t i = 0; i < AC_ARRAY_LEN(paths); i++)
		for (size_t k = i + 1; k < AC_ARRAY_LEN(paths); k++)
			if (paths[i] && paths[k] && strcmp(paths[i], paths[k]) == 0) {
				fprintf(stderr,
					"allclear: %s is named for two reports; give each its own "
					"file; nothing was probed\n",
					paths[i]);
				return -1;
			}
	if ((cli->json_path && !(o->json = open_output(cli->json_path))) ||
	    (cli->junit_path && !(o->junit = open_output(cli->junit_path))) ||
	    (cli->markdown_path && !(o->markdown = open_output(cli->markdown_path))) ||
	    (cli->html_path && !(o->html = open_output(cli->html_path)))) {
		outputs_close(o);
		return -1;
	}
	/* In a GitHub Actions job the incident note goes to the job's summary
	 * page too (appended, as GitHub asks). */
	const char *summary = getenv("GITHUB_STEP_SUMMARY");
	if (summary && *summary && !(o->summary = fopen(summary, "a"))) {
		fprintf(stderr,
			"allclear: cannot write GITHUB_STEP_SUMMARY %s: %s; nothing was probed\n",
			summary, strerror(errno));
		outputs_close(o);
		return -1;
	}
	return 0;
}

/* --prom and --listen (src/monit.h), set up before anything is probed. */
static int monit_open(const struct cli *cli, struct ac_promfile **pf, struct ac_listener **l)
{
	struct ac_error err = {0};
	if (cli->prom_path && !(*pf = ac_promfile_open(cli->prom_path, &err))) {
		fprintf(stderr, "allclear: %s; nothing was probed\n", err.msg);
		return -1;
	}
	if (!cli->listen)
		return 0;
	bool loopback = true;
	if (!(*l = ac_listener_open(cli->listen, &loopback, &err))) {
		fprintf(stderr, "allclear: %s; nothing was probed\n", err.msg);
		ac_promfile_destroy(*pf);
		*pf = NULL;
		return -1;
	}
	fprintf(stderr, "allclear: serving http://%s/metrics\n", ac_listener_address(*l));
	if (!loopback)
		fprintf(stderr,
			"allclear: warning: %s is not a loopback address: anyone who can "
			"reach it reads the check names, owners and targets\n",
			ac_listener_address(*l));
	return 0;
}

/* Write a report to f (closed here unless it is stdout); a failed write,
 * flush or close is an error: a report cut short must not pass for one. */
static int write_report(FILE *f, const char *path, const char *format, const struct ac_result *r,
			const struct ac_report_opts *o)
{
	if (!f)
		return 0;
	const struct ac_writer *w = ac_writer_find(format);
	int rc = w->write(f, r, o);
	if (fflush(f) != 0 || ferror(f))
		rc = -1;
	if (f != stdout && fclose(f) != 0)
		rc = -1;
	if (rc < 0)
		fprintf(stderr, "allclear: writing %s failed\n", path);
	return rc;
}

static bool stdout_report_written; /* --format nagios: a line was printed */

static int run_scenario(const char *path, const struct cli *cli, enum ac_mode mode,
			const char *save_to)
{
	struct ac_error err = {0};
	char *problems = NULL;
	struct ac_plan *plan = ac_plan_load_all(path, cli->vars, cli->nvars, NULL, &problems);
	if (!plan) {
		fprintf(stderr, "%s\n", problems);
		free(problems);
		fprintf(stderr, "allclear: the scenario has errors; nothing was probed\n");
		return AC_EXIT_USAGE;
	}
	struct ac_settings *st = &plan->settings;
	if (cli->rounds)
		st->rounds = cli->rounds;
	if (cli->interval_ms)
		st->interval_ms = cli->interval_ms;
	if (cli->window_ms)
		st->window_ms = cli->window_ms;
	if (cli->deadline_ms)
		st->deadline_ms = cli->deadline_ms;
	if (cli->confirm)
		st->confirm = cli->confirm;
	char hash[17] = "";
	if (ac_file_fingerprint(path, hash) < 0)
		hash[0] = '\0';
	if (cli->shard_count)
		ac_plan_shard(plan, cli->shard_index, cli->shard_count);

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	if (cli->baseline_path && load_baseline(plan, cli->baseline_path) < 0) {
		ac_plan_destroy(plan);
		return AC_EXIT_USAGE;
	}
	struct outputs out;
	if (outputs_open(&out, cli) < 0) {
		ac_plan_destroy(plan);
		return AC_EXIT_USAGE;
	}
	struct ac_promfile *promfile = NULL;
	struct ac_listener *listener = NULL;
	if (monit_open(cli, &promfile, &listener) < 0) {
		outputs_close(&out);
		ac_plan_destroy(plan);
		return AC_EXIT_USAGE;
	}
	if (save_to) {
		/* A baseline is taken from a healthy run, not judged against one. */
		for (size_t i = 0; i < plan->nchecks; i++)
			plan->checks[i].trend.has_baseline_pct = false;
	}
	const char *nc = getenv("NO_COLOR");
	bool color_ok = !cli->no_color && !(nc && *nc);
	const char *lang = getenv("LANG");
	struct progress prog = {
	    .live =
		{
		    .out = stderr,
		    .tty = isatty(STDERR_FILENO),
		    .color = color_ok,
		    .utf8 = lang && strstr(lang, "UTF-8"),
		    .quiet = cli->quiet,
		    .max_rows = 40,
		},
	    .clock = ac_clock_system(),
	    .listener = listener,
	};
	/* Webhooks: the scenario's and the command line's. A webhook's URL
	 * is a secret (Slack's path is its key): masked everywhere. */
	const char **urls = ac_calloc(plan->notify.urls.n + cli->nnotify + 1, sizeof(char *));
	size_t nurls = 0;
	for (size_t i = 0; i < plan->notify.urls.n; i++)
		urls[nurls++] = plan->notify.urls.v[i];
	for (size_t i = 0; i < cli->nnotify; i++) {
		urls[nurls++] = cli->notify[i];
		ac_mask_add(plan->mask, cli->notify[i]);
	}
	static const enum ac_notify_on ons[] = {AC_NOTIFY_CHANGE, AC_NOTIFY_END, AC_NOTIFY_BOTH};
	struct ac_notify_opts no = {
	    .urls = urls,
	    .nurls = nurls,
	    .on = cli->notify_on ? (enum ac_notify_on)cli->notify_on : ons[plan->notify.on],
	    .headers = &plan->notify.headers,
	};
	struct ac_run_opts ro = {
	    .mode = mode,
	    .notify = &no,
	    .until_restored = cli->until_restored,
	    .fail_fast = cli->fail_fast,
	    .stop = &stop_flag,
	    .on_round = on_round,
	    .on_start = on_start,
	    .on_end = on_end,
	    .ud = &prog,
	};
	struct ac_result *r = ac_engine_run(plan, &ro, &err);
	free(urls);
	ac_listener_destroy(listener);
	if (!r) {
		fprintf(stderr, "allclear: %s\n", err.msg);
		ac_promfile_destroy(promfile);
		outputs_close(&out);
		ac_plan_destroy(plan);
		return AC_EXIT_USAGE;
	}
	ac_release_fill_result(plan, r);
	ac_merge_stamp(r, cli->shard_index, cli->shard_count, cli->agent, hash);
	struct ac_report_opts o = {
	    .color = color_ok && isatty(STDOUT_FILENO),
	    .quiet = cli->quiet,
	    .verbose = cli->verbose,
	};
	int rc = ac_verdict_exit_code(r->verdict);
	if (write_report(stdout, "standard output", cli->format ? cli->format : "terminal", r, &o) <
	    0)
		rc = AC_EXIT_USAGE;
	stdout_report_written = true;
	if (promfile && ac_promfile_commit(promfile, r, &err) < 0) {
		fprintf(stderr, "allclear: %s\n", err.msg);
		rc = AC_EXIT_USAGE;
	}
	ac_promfile_destroy(promfile);
	struct ac_report_opts fo = {0};
	if (write_report(out.json, cli->json_path, "json", r, &fo) < 0)
		rc = AC_EXIT_USAGE;
	if (write_report(out.junit, cli->junit_path, "junit", r, &fo) < 0)
		rc = AC_EXIT_USAGE;
	if (write_report(out.markdown, cli->markdown_path, "markdown", r, &fo) < 0)
		rc = AC_EXIT_USAGE;
	if (write_report(out.html, cli->html_path, "html", r, &fo) < 0)
		rc = AC_EXIT_USAGE;
	if (write_report(out.summary, "GITHUB_STEP_SUMMARY", "markdown", r, &fo) < 0)
		rc = AC_EXIT_USAGE;
	if (save_to) {
		if (r->verdict != AC_RESTORED) {
			fprintf(stderr, "allclear: not saving a baseline from a run that is not "
					"RESTORED\n");
		} else if (save_baseline(r, save_to) < 0) {
			rc = AC_EXIT_USAGE;
		}
	}
	ac_result_destroy(r);
	ac_plan_destroy(plan);
	return rc;
}

/* A run; with --format nagios, the exit code is the plugin's and a run
 * that judged nothing still prints its one line. */
int cmd_run(const char *path, const struct cli *cli, enum ac_mode mode, const char *save_to)
{
	int rc = run_scenario(path, cli, mode, save_to);
	if (!cli->format || strcmp(cli->format, "nagios") != 0)
		return rc;
	if (!stdout_report_written)
		printf("ALLCLEAR UNKNOWN - nothing was judged: bad input or an output that cannot "
		       "be written (see standard error)\n");
	return ac_nagios_exit_code(rc);
}

/* allclear merge REPORT.json...: one tree from the reports, written like a
 * run's. */
int cmd_merge(int n, char **paths, const struct cli *cli)
{
	if (cli->shard_count || cli->agent)
		return bad_usage("%s", "merge takes no --shard or --agent: the reports say theirs");
	struct ac_error err = {0};
	struct ac_result *r = ac_merge_reports((const char *const *)paths, (size_t)n, &err);
	if (!r) {
		fprintf(stderr, "allclear: merge: %s\n", err.msg);
		return AC_EXIT_USAGE;
	}
	struct outputs out;
	if (outputs_open(&out, cli) < 0) {
		ac_result_destroy(r);
		return AC_EXIT_USAGE;
	}
	const char *nc = getenv("NO_COLOR");
	struct ac_report_opts o = {
	    .color = !cli->no_color && !(nc && *nc) && isatty(STDOUT_FILENO),
	    .quiet = cli->quiet,
	    .verbose = cli->verbose,
	};
	int rc = ac_verdict_exit_code(r->verdict);
	struct ac_report_opts fo = {0};
	/* Each writer closes its file: all of them run, whichever fails. */
	int bad =
	    write_report(stdout, "standard output", cli->format ? cli->format : "terminal", r, &o);
	bad |= write_report(out.json, cli->json_path, "json", r, &fo);
	bad |= write_report(out.junit, cli->junit_path, "junit", r, &fo);
	bad |= write_report(out.markdown, cli->markdown_path, "markdown", r, &fo);
	bad |= write_report(out.html, cli->html_path, "html", r, &fo);
	bad |= write_report(out.summary, "GITHUB_STEP_SUMMARY", "markdown", r, &fo);
	if (bad)
		rc = AC_EXIT_USAGE;
	ac_result_destroy(r);
	return rc;
}
