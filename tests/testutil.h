/*
 * testutil.h: helpers shared by the Check suites.
 *
 * - running the allclear binary (AC_BIN) with a bound, capturing its
 *   output and exit code;
 * - writing temporary scenario files;
 * - loading and running a scenario in-process with the engine;
 * - reading the environment the harness (tests/run.sh) sets up, failing
 *   the test loudly when it is missing: a suite that quietly skips its
 *   servers proves nothing.
 */
#ifndef AC_TESTUTIL_H
#define AC_TESTUTIL_H

#include <check.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine.h"
#include "result.h"
#include "scenario.h"
#include "util.h"

struct tu_proc {
	int exit_code; /* -1 when killed by a signal or the time bound */
	char *out;
	char *err;
	int64_t elapsed_ms;
};

/* Run $AC_BIN with argv (NULL-terminated, without argv[0]) and extra
 * environment entries ("NAME=value", NULL-terminated, may be NULL), killing
 * it after timeout_s. */
void tu_run(struct tu_proc *p, const char *const *args, const char *const *env, int timeout_s);
void tu_proc_release(struct tu_proc *p);

/* In a forked child: exec $AC_BIN with args (as tu_run takes them); never
 * returns (exit 127 when the exec fails). */
void tu_exec_allclear(const char *const *args) __attribute__((noreturn));

/* `allclear check PATH`, bounded at 60 s, with extra environment entries
 * env (may be NULL). */
void tu_run_check(struct tu_proc *p, const char *path, const char *const *env);
/* The same with --json PATH.report.json: returns the report it wrote (NULL
 * when it wrote none; the caller frees it) and removes the file. */
char *tu_run_check_json(struct tu_proc *p, const char *path, const char *const *env);

/* tu_run_check_json, then fail the test unless the exit code is rc and
 * stdout holds want (and, when rc is not 0, no "VERDICT: RESTORED"). */
void tu_expect_check(const char *path, int rc, const char *want);

/* Start $AC_BIN with args (stdout to a file, stderr to /dev/null,
 * NO_COLOR=1), send it sig after after_ms and wait for it to exit. Returns
 * its exit code (-1 when a signal ended it); *out is its stdout (free it),
 * *exit_ms the time it took to exit after the signal. */
int tu_run_signalled(const char *const *args, int sig, int after_ms, char **out, int64_t *exit_ms);

/* A temporary file holding text; the caller frees the path (the file is
 * removed when the process exits). */
char *tu_write_temp(const char *text, const char *suffix);
char *tu_read_file(const char *path);

/* A temporary scenario file of HTTP journeys (the caller frees the path):
 * one round, confirm 1, timeout 3s, connect_timeout 1s, then the settings
 * given ("" for none: e.g. "\"max_redirects\": 3"), the targets object's
 * members and the journeys array's elements. */
char *tu_http_scenario(const char *settings, const char *targets, const char *journeys);

/* A journey object owned by "web" in area "code"; body holds its other
 * members (at least "steps"). */
#define TU_JOURNEY(name, body)                                                                     \
	"{\"name\": \"" name "\", \"area\": \"code\", \"owner\": \"web\", " body "}"

/* How many times needle occurs in hay, not overlapping. */
int tu_count(const char *hay, const char *needle);

/* getenv that fails the test when the variable is missing. */
const char *tu_env(const char *name);

/* printf into a new string (the project's ac_asprintf). */
#define tu_fmt ac_asprintf

/* Load a scenario from text; fails the test with the loader's errors. */
struct ac_plan *tu_load(const char *json);
/* Load expecting failure; returns the error text (free it). */
char *tu_load_error(const char *json);
/* Load and run in check mode with the given rounds (interval 0). */
struct ac_result *tu_run_scenario(const char *json, int rounds, struct ac_plan **plan_out);

/* The result of the check with this id, or fail the test. */
const struct ac_check_result *tu_check(const struct ac_result *r, const char *id);
/* The result of the check with this name, or fail the test. */
const struct ac_check_result *tu_check_named(const struct ac_result *r, const char *name);
/* Fail the test unless c's last sample has state st and, with reason
 * non-NULL, a reason containing it; what names the check in messages. */
void tu_expect_last(const struct ac_check_result *c, const char *what, enum ac_state st,
		    const char *reason);

/* Milliseconds on the monotonic clock. */
int64_t tu_now_ms(void);

/* Start a TCP listener on 127.0.0.1 (or the IPv4 address addr) with an
 * OS-chosen port; returns fd. */
int tu_listen(int *port);
int tu_listen_at(const char *addr, int *port);

/* Check's failure messages are short: print the whole output of a run to
 * stderr, then fail with a short message. */
#define TU_EXPECT(cond, p, ...)                                                                    \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "--- stdout:\n%s\n--- stderr:\n%s\n", (p)->out, (p)->err); \
			ck_abort_msg(__VA_ARGS__);                                                 \
		}                                                                                  \
	} while (0)

/* Run a Check suite and return the process exit status. */
int tu_main(Suite *s);

/* Debian's headless Chromium renders the file at path: its DOM is
 * returned (the caller frees it); with png, a screenshot is written there
 * too. Fails the test when chromium is missing (.ci/deps.sh installs it). */
char *tu_chromium_dom(const char *path, const char *png);

/* The demo stack (demo/stack.sh) for the suites that use it: up in a
 * state directory of its own (name: "demo", "merge"), on
 * AC_TEST_DEMO_PORT_BASE (default 27500), with the shop's random draws
 * seeded; down again; a stack.sh command ("release v42", "revert") that must
 * succeed. tu_demo_up exits the process when the stack does not come up. */
void tu_demo_up(const char *name);
void tu_demo_down(void);
void tu_demo_stack(const char *args);

#endif
