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
#include "cli.h"
#include "util.h"

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

int bad_usage(const char *fmt, ...)
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
