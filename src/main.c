/*
 * main.c: the allclear command line. It parses arguments, loads the
 * scenario, runs the engine and hands the result to the writers; nothing
 * else lives here.
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
#include "util.h"

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	stop_flag = sig; /* the engine names it in what it aborts */
}

static void usage(FILE *out)
{
	fputs(
	    "usage: allclear check SCENARIO [options]   a few rounds and a verdict\n"
	    "       allclear watch SCENARIO [options]   rounds for a whole window\n"
	    "       allclear lint SCENARIO...           validate without probing anything\n"
	    "       allclear map SCENARIO [--format markdown]   the release map as a runbook\n"
	    "       allclear baseline save SCENARIO -o FILE   record a healthy run's values\n"
	    "       allclear schema                     the scenario format as a JSON Schema\n"
	    "       allclear init [--from-demo] [-o FILE]   a starter scenario to fill in\n"
	    "       allclear merge REPORT.json...       one verdict from shards' and agents' "
	    "reports\n"
	    "       allclear --help | --version\n"
	    "\n"
	    "Is service restored? allclear runs the scenario's user journeys and checks\n"
	    "and answers RESTORED (exit 0), NOT RESTORED (exit 1) or INCONCLUSIVE (exit 2,\n"
	    "could not measure). Exit 3: bad invocation or scenario; nothing was probed.\n"
	    "\n"
	    "Options:\n"
	    "  --rounds N          rounds in check mode (default from the scenario, 3)\n"
	    "  --interval DUR      time between round starts (e.g. 2s, 15s)\n"
	    "  --window DUR        watch mode: how long to watch (e.g. 10m)\n"
	    "  --confirm K         consecutive green rounds required\n"
	    "  --until-restored    stop as soon as the verdict is RESTORED\n"
	    "  --deadline DUR      with --until-restored: give up after DUR (default 45m)\n"
	    "  --fail-fast         stop at the first critical check that fails\n"
	    "  --json FILE         write the full JSON report to FILE ('-' for stdout)\n"
	    "  --junit FILE        write JUnit XML (the verdict is a testcase of its own)\n"
	    "  --markdown FILE     write a Markdown summary for chat or a pull request\n"
	    "  --html FILE         write one self-contained HTML page with charts\n"
	    "  --format FORMAT     stdout report: terminal (default), json, junit, markdown, html\n"
	    "                      or nagios (one line; exit 0 OK, 2 CRITICAL, 3 UNKNOWN), "
	    "prometheus\n"
	    "  --prom FILE         write the Prometheus series to FILE atomically at the end\n"
	    "                      (node_exporter's textfile collector)\n"
	    "  --listen HOST:PORT  serve GET /metrics while the rounds go on (e.g. "
	    "127.0.0.1:9464)\n"
	    "  --quiet             print the verdict line only\n"
	    "  --verbose           list passing checks too\n"
	    "  --no-color          no colour (NO_COLOR in the environment does the same)\n"
	    "  --var NAME=VALUE    set a scenario variable (not for secrets)\n"
	    "  --baseline FILE     values saved by 'baseline save', for \"within_baseline\"\n"
	    "  --notify URL        post to this webhook when the verdict changes (repeatable)\n"
	    "  --notify-on WHEN    change, end or both (default: the scenario's, both)\n"
	    "  -o, --output FILE   baseline save, init: the file to write\n"
	    "  --from-demo         init: start from the demo shop's scenario\n"
	    "  --shard I/N         run shard I of N (1-based): a stable slice of the checks\n"
	    "  --agent NAME        where this run happens, for merge (default: the host name)\n"
	    "\n"
	    "Secrets come from ${env:NAME} and ${file:PATH} in the scenario, never from the\n"
	    "command line, and are masked in every output.\n",
	    out);
}

/* An http(s) URL with a host, by libcurl's parser. */
static bool http_url(const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL;
	bool ok = u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
		  curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
		  (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0) &&
		  curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && *host;
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return ok;
}

enum opt_id {
	OPT_ROUNDS = 256,
	OPT_INTERVAL,
	OPT_WINDOW,
	OPT_CONFIRM,
	OPT_UNTIL,
	OPT_DEADLINE,
	OPT_FAILFAST,
	OPT_JSON,
	OPT_FORMAT,
	OPT_NOCOLOR,
	OPT_BASELINE,
	OPT_VAR,
	OPT_NOTIFY,
	OPT_NOTIFY_ON,
	OPT_JUNIT,
	OPT_MARKDOWN,
	OPT_HTML,
	OPT_FROM_DEMO,
	OPT_PROM,
	OPT_LISTEN,
	OPT_SHARD,
	OPT_AGENT,
};

struct cli {
	const char *cmd;
	int rounds;
	int64_t interval_ms, window_ms, deadline_ms;
	int confirm;
	bool until_restored, fail_fast, quiet, verbose, no_color;
	bool from_demo; /* init */
	const char *json_path;
	const char *junit_path;
	const char *markdown_path;
	const char *html_path;
	const char *prom_path, *listen; /* src/monit.h */
	const char *format;
	const char *baseline_path;
	const char *output;
	struct ac_var vars[64];
	size_t nvars;
	const char *notify[16];
	size_t nnotify;
	int notify_on;		      /* 0: the scenario's; else enum ac_notify_on */
	int shard_index, shard_count; /* --shard I/N; 0: the whole scenario */
	const char *agent;
};

static int bad_usage(const char *fmt, ...) AC_PRINTF(1, 2);
static int bad_usage(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = ac_vasprintf(fmt, ap);
	va_end(ap);
	/* Messages quote arguments: show their control characters escaped. */
	char *safe = ac_text_escape(msg);
	fprintf(stderr, "allclear: %s\n(see allclear --help)\n", safe);
	free(safe);
	free(msg);
	return AC_EXIT_USAGE;
}

static int parse_args(int argc, char **argv, struct cli *cli)
{
	static const struct option opts[] = {
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"rounds", required_argument, NULL, OPT_ROUNDS},
	    {"interval", required_argument, NULL, OPT_INTERVAL},
	    {"window", required_argument, NULL, OPT_WINDOW},
	    {"confirm", required_argument, NULL, OPT_CONFIRM},
	    {"until-restored", no_argument, NULL, OPT_UNTIL},
	    {"deadline", required_argument, NULL, OPT_DEADLINE},
	    {"fail-fast", no_argument, NULL, OPT_FAILFAST},
	    {"json", required_argument, NULL, OPT_JSON},
	    {"format", required_argument, NULL, OPT_FORMAT},
	    {"no-color", no_argument, NULL, OPT_NOCOLOR},
	    {"baseline", required_argument, NULL, OPT_BASELINE},
	    {"output", required_argument, NULL, 'o'},
	    {"var", required_argument, NULL, OPT_VAR},
	    {"notify", required_argument, NULL, OPT_NOTIFY},
	    {"notify-on", required_argument, NULL, OPT_NOTIFY_ON},
	    {"junit", required_argument, NULL, OPT_JUNIT},
	    {"markdown", required_argument, NULL, OPT_MARKDOWN},
	    {"html", required_argument, NULL, OPT_HTML},
	    {"from-demo", no_argument, NULL, OPT_FROM_DEMO},
	    {"prom", required_argument, NULL, OPT_PROM},
	    {"listen", required_argument, NULL, OPT_LISTEN},
	    {"shard", required_argument, NULL, OPT_SHARD},
	    {"agent", required_argument, NULL, OPT_AGENT},
	    {NULL, 0, NULL, 0},
	};
	int c;
	long n;
	while ((c = getopt_long(argc, argv, "hVqvo:", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("allclear %s\n", AC_VERSION);
			exit(0);
		case 'q':
			cli->quiet = true;
			break;
		case 'v':
			cli->verbose = true;
			break;
		case OPT_ROUNDS:
			if (ac_parse_long(optarg, &n) < 0 || n < 1 || n > 100000)
				return bad_usage("--rounds takes a whole number from 1, not '%s'",
						 optarg);
			cli->rounds = (int)n;
			break;
		case OPT_CONFIRM:
			if (ac_parse_long(optarg, &n) < 0 || n < 1 || n > 10000)
				return bad_usage("--confirm takes a whole number from 1, not '%s'",
						 optarg);
			cli->confirm = (int)n;
			break;
		case OPT_INTERVAL:
			if (ac_parse_duration_ms(optarg, &cli->interval_ms) < 0)
				return bad_usage(
				    "--interval takes a duration such as 15s, not '%s'", optarg);
			if (cli->interval_ms < AC_INTERVAL_MIN_MS)
				return bad_usage("--interval must be at least %d ms, not '%s'",
						 AC_INTERVAL_MIN_MS, optarg);
			break;
		case OPT_WINDOW:
			if (ac_parse_duration_ms(optarg, &cli->window_ms) < 0 || cli->window_ms < 1)
				return bad_usage("--window takes a duration such as 10m, not '%s'",
						 optarg);
			break;
		case OPT_DEADLINE:
			if (ac_parse_duration_ms(optarg, &cli->deadline_ms) < 0 ||
			    cli->deadline_ms < 1)
				return bad_usage(
				    "--deadline takes a duration such as 45m, not '%s'", optarg);
			break;
		case OPT_UNTIL:
			cli->until_restored = true;
			break;
		case OPT_FAILFAST:
			cli->fail_fast = true;
			break;
		case OPT_JSON:
			cli->json_path = optarg;
			break;
		case OPT_JUNIT:
			cli->junit_path = optarg;
			break;
		case OPT_MARKDOWN:
			cli->markdown_path = optarg;
			break;
		case OPT_HTML:
			cli->html_path = optarg;
			break;
		case OPT_PROM:
			cli->prom_path = optarg;
			break;
		case OPT_LISTEN:
			cli->listen = optarg;
			break;
		case OPT_FORMAT:
			if (!ac_writer_find(optarg))
				return bad_usage(
				    "--format: unknown format '%s' (terminal, json, junit, "
				    "markdown, html, nagios, prometheus)",
				    optarg);
			cli->format = optarg;
			break;
		case OPT_FROM_DEMO:
			cli->from_demo = true;
			break;
		case OPT_NOCOLOR:
			cli->no_color = true;
			break;
		case OPT_BASELINE:
			cli->baseline_path = optarg;
			break;
		case 'o':
			cli->output = optarg;
			break;
		case OPT_VAR: {
			char *eq = strchr(optarg, '=');
			if (!eq || eq == optarg || cli->nvars >= AC_ARRAY_LEN(cli->vars))
				return bad_usage("--var takes NAME=VALUE, not '%s'", optarg);
			*eq = '\0';
			cli->vars[cli->nvars++] = (struct ac_var){optarg, eq + 1, false};
			break;
		}
		case OPT_NOTIFY:
			if (cli->nnotify >= AC_ARRAY_LEN(cli->notify))
				return bad_usage("--notify: at most %zu webhooks",
						 AC_ARRAY_LEN(cli->notify));
			if (!http_url(optarg))
				return bad_usage("%s", "--notify takes an http:// or https:// URL");
			cli->notify[cli->nnotify++] = optarg;
			break;
		case OPT_NOTIFY_ON:
			if (strcmp(optarg, "change") == 0)
				cli->notify_on = AC_NOTIFY_CHANGE;
			else if (strcmp(optarg, "end") == 0)
				cli->notify_on = AC_NOTIFY_END;
			else if (strcmp(optarg, "both") == 0)
				cli->notify_on = AC_NOTIFY_BOTH;
			else
				return bad_usage("--notify-on: change, end or both, not '%s'",
						 optarg);
			break;
		case OPT_SHARD:
			if (ac_shard_parse(optarg, &cli->shard_index, &cli->shard_count) < 0)
				return bad_usage(
				    "--shard takes I/N with 1 <= I <= N <= %d, not '%s'",
				    AC_SHARD_MAX, optarg);
			break;
		case OPT_AGENT:
			if (!*optarg || strlen(optarg) > 64)
				return bad_usage("%s",
						 "--agent takes a name of 1 to 64 characters");
			cli->agent = optarg;
			break;
		default:
			return bad_usage("%s", "bad option");
		}
	}
	return -1;
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
static int cmd_map(const char *path, const struct cli *cli)
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

static int cmd_lint(int argc, char **argv, const struct cli *cli)
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
static int cmd_run(const char *path, const struct cli *cli, enum ac_mode mode, const char *save_to)
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
static int cmd_merge(int n, char **paths, const struct cli *cli)
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

int main(int argc, char **argv)
{
	/* Secrets are read from the environment and files as the scenario
	 * loads. A crash must not leave them in a core file, and no other
	 * process of the same user may read this one's memory or environment
	 * (/proc/PID/mem, /proc/PID/environ, ptrace): both before anything is
	 * loaded, and refusing to run if either cannot be done. */
	struct rlimit nocore = {0, 0};
	if (setrlimit(RLIMIT_CORE, &nocore) != 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
		fprintf(stderr, "allclear: cannot turn core dumps off: %s\n", strerror(errno));
		return AC_EXIT_USAGE;
	}
	/* libcurl runs with NOSIGNAL and hiredis writes with write(): a closed
	 * peer must give an error, not kill the process. */
	signal(SIGPIPE, SIG_IGN);

	struct cli cli = {0};
	int rc = parse_args(argc, argv, &cli);
	if (rc >= 0)
		return rc;
	if (optind >= argc) {
		usage(stderr);
		return AC_EXIT_USAGE;
	}
	/* GNU getopt moved the operands to the end: options may come anywhere. */
	const char *cmd = argv[optind++];
	int nargs = argc - optind;
	if (strcmp(cmd, "lint") == 0) {
		if (nargs < 1)
			return bad_usage("%s", "lint needs at least one scenario file");
		return cmd_lint(nargs, argv + optind, &cli);
	}
	if (strcmp(cmd, "check") == 0 || strcmp(cmd, "watch") == 0) {
		if (nargs != 1)
			return bad_usage("%s needs exactly one scenario file", cmd);
		if (strcmp(cmd, "check") == 0 && cli.window_ms)
			return bad_usage("%s", "--window belongs to watch mode");
		return cmd_run(argv[optind], &cli,
			       strcmp(cmd, "watch") == 0 ? AC_MODE_WATCH : AC_MODE_CHECK, NULL);
	}
	if (strcmp(cmd, "merge") == 0) {
		if (nargs < 1)
			return bad_usage("%s", "merge needs at least one JSON report");
		return cmd_merge(nargs, argv + optind, &cli);
	}
	if (strcmp(cmd, "map") == 0) {
		if (nargs != 1)
			return bad_usage("%s", "map needs exactly one scenario file");
		return cmd_map(argv[optind], &cli);
	}
	if (strcmp(cmd, "schema") == 0) {
		if (nargs != 0)
			return bad_usage("%s", "schema takes no arguments");
		char *text = ac_schema_text();
		int ok = puts(text) >= 0 && fflush(stdout) == 0;
		free(text);
		return ok ? 0 : AC_EXIT_USAGE;
	}
	if (strcmp(cmd, "init") == 0) {
		if (nargs != 0)
			return bad_usage("%s", "usage: allclear init [--from-demo] [-o FILE]");
		return ac_init_run(cli.from_demo, cli.output, stderr);
	}
	if (strcmp(cmd, "baseline") == 0) {
		if (nargs != 2 || strcmp(argv[optind], "save") != 0)
			return bad_usage("%s", "usage: allclear baseline save SCENARIO -o FILE");
		if (!cli.output)
			return bad_usage("%s", "baseline save needs -o FILE");
		return cmd_run(argv[optind + 1], &cli, AC_MODE_CHECK, cli.output);
	}
	return bad_usage(
	    "unknown command '%s' (check, watch, lint, map, baseline, schema, init, merge)", cmd);
}
