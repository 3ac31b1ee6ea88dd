/*
 * cli.h: what the command line's files share: the parsed options
 * (src/main.c) and the commands that run, lint, map and merge
 * (src/commands.c).
 */
#ifndef AC_CLI_H
#define AC_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "scenario.h"
#include "util.h"

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

/* "allclear: MESSAGE (see allclear --help)" on stderr; returns exit 3. */
int bad_usage(const char *fmt, ...) AC_PRINTF(1, 2);

int cmd_lint(int argc, char **argv, const struct cli *cli);
int cmd_map(const char *path, const struct cli *cli);
/* check, watch, baseline save (save_to: the baseline file, or NULL). */
int cmd_run(const char *path, const struct cli *cli, enum ac_mode mode, const char *save_to);
int cmd_merge(int n, char **paths, const struct cli *cli);

#endif
