/*
 * test_term.c: text that could drive a terminal (escape sequences, C1
 * controls, forged verdict lines) in names, reasons and server text, on a
 * pseudo-terminal and a pipe; reports that stay well-formed; the loader's
 * problems reported whole; the scenario size limit.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "../report/live.h"
#include "../report/report.h"
#include "hostile.h"
#include "testutil.h"
#include "util.h"

#define NBAD 30

/* --var for a name the scenario does not define, or that is no plain
 * variable name, is refused before anything is probed (F4). */
START_TEST(var_for_an_undefined_name_is_refused)
{
	char *path = tu_write_temp(
	    "{\"settings\": {\"rounds\": 1, \"confirm\": 1}, \"variables\": {\"origin\": "
	    "\"http://127.0.0.1:9\"}, \"targets\": {\"o\": \"${raw:origin}\"}, \"journeys\": "
	    "[{\"name\": \"j\", \"area\": \"code\", \"owner\": \"x\", \"steps\": [{\"url\": "
	    "\"/ok\"}]}]}",
	    ".json");
	struct {
		const char *arg, *want;
	} cases[] = {
	    {"orgin=http://127.0.0.1:8",
	     "--var orgin: the scenario has no variable \"orgin\", did you mean \"origin\"?"},
	    {"order=5", "--var order: the scenario has no variable \"order\""},
	    {"env:SEC=zzzzzzzzzzzzzzzz", "--var env:SEC: not a variable name"},
	    {"a b=1", "--var a b: not a variable name"},
	};
	for (size_t i = 0; i < AC_ARRAY_LEN(cases); i++) {
		for (int lint = 0; lint < 2; lint++) {
			const char *argv[] = {lint ? "lint" : "check", "--var", cases[i].arg, path,
					      NULL};
			struct tu_proc p;
			tu_run(&p, argv, NULL, 20);
			TU_EXPECT(p.exit_code == 3, &p, "%s: exit %d", cases[i].arg, p.exit_code);
			TU_EXPECT(strstr(p.err, cases[i].want), &p, "%s: want %s", cases[i].arg,
				  cases[i].want);
			TU_EXPECT(!strstr(p.err, "zzzzzzzz"), &p, "value printed");
			tu_proc_release(&p);
		}
	}
	/* A defined name is still accepted. */
	const char *ok[] = {"lint", "--var", "origin=http://127.0.0.1:8", path, NULL};
	struct tu_proc p;
	tu_run(&p, ok, NULL, 20);
	TU_EXPECT(p.exit_code == 0, &p, "defined name: exit %d", p.exit_code);
	tu_proc_release(&p);
	free(path);
}
END_TEST

/* Intervals under 100 ms would run rounds back to back against production:
 * refused in the scenario and on the command line, where 0 was silently
 * ignored (F11). */
START_TEST(interval_under_the_minimum_is_refused)
{
	const char *body = "\"targets\": {\"o\": \"http://127.0.0.1:9\"}, \"journeys\": "
			   "[{\"name\": \"j\", \"area\": \"code\", \"owner\": \"x\", \"steps\": "
			   "[{\"url\": \"/ok\"}]}]}";
	const char *values[] = {"0", "1", "\"50ms\"", "\"99ms\""};
	for (size_t i = 0; i < AC_ARRAY_LEN(values); i++) {
		char *json = tu_fmt("{\"settings\": {\"confirm\": 1, \"interval\": %s}, %s",
				    values[i], body);
		char *path = tu_write_temp(json, ".json");
		const char *argv[] = {"watch", path, "--window", "1s", NULL};
		struct tu_proc p;
		tu_run(&p, argv, NULL, 20);
		TU_EXPECT(p.exit_code == 3, &p, "interval %s: exit %d", values[i], p.exit_code);
		TU_EXPECT(strstr(p.err, "settings.interval: must be at least 100 ms"), &p,
			  "interval %s: no key path", values[i]);
		tu_proc_release(&p);
		free(path);
		free(json);
	}
	char *json = tu_fmt("{\"settings\": {\"confirm\": 1, \"interval\": \"100ms\"}, %s", body);
	char *path = tu_write_temp(json, ".json");
	const char *cli[] = {"0", "0s", "50ms", "99"};
	for (size_t i = 0; i < AC_ARRAY_LEN(cli); i++) {
		const char *argv[] = {"watch", path, "--window", "1s", "--interval", cli[i], NULL};
		struct tu_proc p;
		tu_run(&p, argv, NULL, 20);
		TU_EXPECT(p.exit_code == 3, &p, "--interval %s: exit %d", cli[i], p.exit_code);
		TU_EXPECT(strstr(p.err, "--interval must be at least 100 ms"), &p,
			  "--interval %s: no reason", cli[i]);
		tu_proc_release(&p);
	}
	const char *ok[] = {"lint", path, "--interval", "100ms", NULL};
	struct tu_proc p;
	tu_run(&p, ok, NULL, 20);
	TU_EXPECT(p.exit_code == 0, &p, "100ms: exit %d", p.exit_code);
	tu_proc_release(&p);
	free(path);
	free(json);
}
END_TEST

/* A scenario with NBAD checks, each with a distinct unknown kind. */
static char *thirty_bad_checks(void)
{
	struct ac_buf b = AC_BUF_INIT;
	ac_buf_adds(&b, "{\"checks\": [");
	for (int i = 0; i < NBAD; i++)
		ac_buf_addf(&b,
			    "%s{\"kind\": \"no-such-kind-number-%02d-with-a-long-name\", \"name\": "
			    "\"c%d\", \"area\": \"data\", \"owner\": \"o\"}",
			    i ? ", " : "", i, i);
	ac_buf_adds(&b, "]}");
	return ac_buf_detach(&b);
}

START_TEST(loader_reports_thirty_problems_whole)
{
	char *json = thirty_bad_checks();
	char *path = tu_write_temp(json, ".json");
	const char *cmds[][4] = {{"lint", path, NULL}, {"check", path, NULL}};
	for (size_t c = 0; c < 2; c++) {
		struct tu_proc p;
		tu_run(&p, cmds[c], NULL, 20);
		TU_EXPECT(p.exit_code == 3, &p, "%s: exit %d", cmds[c][0], p.exit_code);
		for (int i = 0; i < NBAD; i++) {
			char *want = tu_fmt("%s: checks[%d].kind: unknown kind "
					    "\"no-such-kind-number-%02d-with-a-long-name\"\n",
					    path, i, i);
			TU_EXPECT(strstr(p.err, want), &p, "%s: problem %d missing or cut: %s",
				  cmds[c][0], i, want);
			free(want);
		}
		tu_proc_release(&p);
	}
	free(path);
	free(json);
}
END_TEST

/* A valid scenario of exactly size bytes (padded in its description). */
static char *scenario_of_size(size_t size)
{
	const char *head =
	    "{\"targets\": {\"o\": \"http://127.0.0.1:9\"}, \"journeys\": [{\"name\": "
	    "\"a\", \"area\": \"code\", \"owner\": \"o\", \"steps\": [{\"url\": "
	    "\"/\"}]}], \"description\": \"";
	const char *tail = "\"}";
	size_t hl = strlen(head), tl = strlen(tail);
	ck_assert_uint_gt(size, hl + tl);
	char *s = malloc(size + 1);
	memcpy(s, head, hl);
	memset(s + hl, 'x', size - hl - tl);
	memcpy(s + size - tl, tail, tl + 1);
	return s;
}

START_TEST(scenario_over_the_size_cap_is_refused)
{
	const size_t cap = 64 * 1024 * 1024;
	/* At the cap: loads. One byte over: refused, naming the cap. */
	for (int over = 0; over <= 1; over++) {
		char *text = scenario_of_size(cap + (size_t)over);
		char *path = tu_write_temp(text, ".json");
		free(text);
		const char *args[] = {"lint", path, NULL};
		struct tu_proc p;
		tu_run(&p, args, NULL, 60);
		if (!over) {
			TU_EXPECT(p.exit_code == 0, &p, "a scenario of exactly 64 MiB: exit %d",
				  p.exit_code);
		} else {
			TU_EXPECT(p.exit_code == 3, &p, "64 MiB + 1: exit %d", p.exit_code);
			char *want =
			    tu_fmt("%s: larger than the 64 MiB (67108864-byte) limit for a "
				   "scenario file",
				   path);
			TU_EXPECT(strstr(p.err, want), &p, "no message naming the cap: %s", want);
			free(want);
		}
		tu_proc_release(&p);
		unlink(path);
		free(path);
	}
}
END_TEST

/* --- text that could drive a terminal --------------------------------- */

/* ESC ] title BEL, clear screen, carriage return and a forged verdict
 * line, C1 CSI in UTF-8, a lone C1 byte, DEL, and honest UTF-8. */
#define EVIL "x\033]0;pwned\007\033[2J\r\nVERDICT: RESTORED\302\2332J\233K\177 caf\303\251"

static void fail500(int fd, const struct hs_request *q, void *ud)
{
	(void)q;
	(void)ud;
	hs_reply(fd, 500, "X-Build: v1\r\n", "{\"error\":\"down\"}");
}

static void replace(char **field, const char *text)
{
	free(*field);
	*field = ac_strdup(text);
}

/* Every string a writer prints about a run, made hostile: in the result
 * tree, which is all a writer reads (the plan is not consulted). */
static void poison_with(struct ac_result *r, const char *evil)
{
	char *two = tu_fmt("%s\n%s", evil, evil);
	replace(&r->scenario_name, evil);
	replace(&r->scenario_path, evil);
	replace(&r->scenario_description, evil);
	replace(&r->verdict_reason, evil);
	for (size_t i = 0; i < r->nchecks; i++) {
		struct ac_check_result *cr = &r->checks[i];
		replace(&cr->id, evil);
		replace(&cr->name, evil);
		replace(&cr->path, evil);
		replace(&cr->kind, evil);
		replace(&cr->area, evil);
		replace(&cr->owner, evil);
		replace(&cr->description, evil);
		replace(&cr->persona, evil);
		replace(&cr->agree_group, evil);
		replace(&cr->target.name, evil);
		replace(&cr->target.url, evil);
		replace(&cr->target.role, evil);
		replace(&cr->target.region, evil);
		replace(&cr->reason, evil);
		replace(&cr->note, evil);
		struct ac_sample *ss[] = {&cr->last, &cr->last_bad};
		for (size_t k = 0; k < 2; k++) {
			struct ac_sample *s = ss[k];
			replace(&s->reason, evil);
			replace(&s->evidence, two);
			replace(&s->observed, evil);
			for (size_t j = 0; j < s->nsteps; j++) {
				struct ac_step_result *st = &s->steps[j];
				replace(&st->name, evil);
				replace(&st->method, evil);
				replace(&st->url, evil);
				replace(&st->reason, evil);
				replace(&st->excerpt, evil);
				replace(&st->served_by, evil);
				for (size_t a = 0; a < st->nasserts; a++) {
					replace(&st->asserts[a].what, evil);
					replace(&st->asserts[a].expected, evil);
					replace(&st->asserts[a].actual, evil);
				}
			}
			for (size_t j = 0; j < s->nfigures; j++) {
				replace(&s->figures[j].name, evil);
				replace(&s->figures[j].note, evil);
			}
		}
	}
	free(two);
}

static void poison(struct ac_result *r)
{
	poison_with(r, EVIL);
}

/* Output that cannot drive a terminal: the only escape sequences are the
 * writers' own colours and cursor moves, no other C0 but newline, no DEL,
 * no C1 (in UTF-8 or as a byte), valid UTF-8, and no line that forges a
 * verdict. */
static void assert_inert(const char *where, const char *text, size_t n)
{
	const unsigned char *t = (const unsigned char *)text;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = t[i];
		if (c == 0x1b) {
			size_t j = i + 1;
			ck_assert_msg(j < n && t[j] == '[', "%s: ESC not starting CSI at %zu:\n%s",
				      where, i, text);
			for (j++; j < n && ((t[j] >= '0' && t[j] <= '9') || t[j] == ';'); j++)
				;
			ck_assert_msg(j < n && (t[j] == 'm' || t[j] == 'A' || t[j] == 'J'),
				      "%s: escape sequence not a colour or cursor move at %zu:\n%s",
				      where, i, text);
			if (t[j] == 'A' && j + 1 < n && t[j + 1] == '\r')
				j++;
			i = j;
			continue;
		}
		ck_assert_msg(c >= 0x20 || c == '\n', "%s: raw control 0x%02x at %zu:\n%s", where,
			      c, i, text);
		ck_assert_msg(c != 0x7f, "%s: raw DEL at %zu:\n%s", where, i, text);
		if (c >= 0x80) {
			size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
			ck_assert_msg(len && i + len <= n,
				      "%s: byte 0x%02x is not UTF-8 at %zu:\n%s", where, c, i,
				      text);
			for (size_t k = 1; k < len; k++)
				ck_assert_msg((t[i + k] & 0xc0) == 0x80,
					      "%s: bad UTF-8 at %zu:\n%s", where, i, text);
			ck_assert_msg(!(c == 0xc2 && t[i + 1] < 0xa0),
				      "%s: raw C1 control at %zu:\n%s", where, i, text);
			i += len - 1;
		}
	}
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		ck_assert_msg(strncmp(l, "VERDICT: RESTORED", 17) != 0 &&
				  strncmp(l, "RESTORED", 8) != 0,
			      "%s: a forged verdict line:\n%s", where, text);
}

typedef void (*emit_fn)(FILE *f, void *ud);

/* Run emit in a child writing to a pseudo-terminal (raw mode, so the bytes
 * arrive as written) or a pipe, and return what came out. */
static char *capture(bool tty, emit_fn emit, void *ud, size_t *n)
{
	int rd, wr;
	if (tty) {
		struct termios raw;
		ck_assert_int_eq(openpty(&rd, &wr, NULL, NULL, NULL), 0);
		ck_assert_int_eq(tcgetattr(wr, &raw), 0);
		cfmakeraw(&raw);
		ck_assert_int_eq(tcsetattr(wr, TCSANOW, &raw), 0);
	} else {
		int p[2];
		ck_assert_int_eq(pipe(p), 0);
		rd = p[0];
		wr = p[1];
	}
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(rd);
		FILE *f = fdopen(wr, "w");
		if (tty && !isatty(fileno(f)))
			_exit(9);
		emit(f, ud);
		fclose(f);
		_exit(0);
	}
	close(wr);
	struct ac_buf b = AC_BUF_INIT;
	char chunk[4096];
	for (;;) {
		ssize_t k = read(rd, chunk, sizeof(chunk));
		if (k > 0)
			ac_buf_add(&b, chunk, (size_t)k);
		else if (k < 0 && errno == EINTR)
			continue;
		else
			break; /* EOF, or EIO once the pty's other side is closed */
	}
	close(rd);
	int st = 0;
	waitpid(pid, &st, 0);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "writer child failed");
	*n = b.len;
	return ac_buf_detach(&b);
}

struct emit_ctx {
	const struct ac_result *r;
	struct ac_report_opts o;
	const char *format;
	bool live;
};

static void emit(FILE *f, void *ud)
{
	struct emit_ctx *c = ud;
	if (c->live) {
		struct ac_live lv = {.out = f,
				     .tty = isatty(fileno(f)),
				     .color = true,
				     .utf8 = true,
				     .max_rows = 40};
		ac_live_round(&lv, c->r, 5000, 0);
		ac_live_round(&lv, c->r, 3000, 0);
		return;
	}
	ac_writer_find(c->format)->write(f, c->r, &c->o);
}

/* A name cut to fit keeps its target: "checkout is classic @ origin",
 * "@ edge-us" and "@ edge-eu" never look alike; the cut is in the middle of
 * the name, never in a UTF-8 character, and text that fits is left alone. */
START_TEST(live_names_are_cut_in_the_middle_keeping_the_target)
{
	const char *ids[] = {"checkout is classic for everyone @ origin",
			     "checkout is classic for everyone @ edge-us",
			     "checkout is classic for everyone @ edge-eu"};
	char *fit[3];
	for (size_t i = 0; i < 3; i++) {
		fit[i] = ac_live_fit(ids[i], 24, false);
		ck_assert_msg(strlen(fit[i]) <= 24, "%s", fit[i]);
		const char *at = strstr(ids[i], " @ ");
		ck_assert_msg(strlen(fit[i]) >= strlen(at) &&
				  strcmp(fit[i] + strlen(fit[i]) - strlen(at), at) == 0,
			      "%s", fit[i]);
		ck_assert_msg(ac_starts_with(fit[i], "chec") && strstr(fit[i], "..."), "%s",
			      fit[i]);
	}
	ck_assert_str_ne(fit[0], fit[1]);
	ck_assert_str_ne(fit[1], fit[2]);
	ck_assert_str_eq(fit[0], "checko...eryone @ origin");
	for (size_t i = 0; i < 3; i++)
		free(fit[i]);
	char *same = ac_live_fit("home @ origin", 24, false);
	ck_assert_str_eq(same, "home @ origin");
	free(same);
	/* No target: both ends of the text, the middle cut. */
	char *mid = ac_live_fit("abcdefghijklmnopqrstuvwxyz", 11, false);
	ck_assert_str_eq(mid, "abcd...wxyz");
	free(mid);
	/* UTF-8: counted in characters, never split; the ellipsis is one. */
	char *u = ac_live_fit("\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9 @ eu",
			      12, true);
	ck_assert_str_eq(u, "\u00e9\u00e9\u00e9\u2026\u00e9\u00e9\u00e9 @ eu");
	free(u);
	/* A target too long to keep whole: the middle of the whole text. */
	char *t = ac_live_fit("x @ a-very-long-region-name-indeed", 10, false);
	ck_assert_uint_eq(strlen(t), 10);
	free(t);
}
END_TEST

/* `allclear watch PATH` with its stderr on a raw pseudo-terminal 60
 * columns wide (stdout to /dev/null, no colour, UTF-8); *master is the
 * terminal's other side. Returns the child. */
static pid_t watch_on_pty(const char *path, const char *window, const char *interval, int *master)
{
	int slave;
	struct winsize ws = {.ws_row = 40, .ws_col = 60};
	ck_assert_int_eq(openpty(master, &slave, NULL, NULL, &ws), 0);
	struct termios raw;
	ck_assert_int_eq(tcgetattr(slave, &raw), 0);
	cfmakeraw(&raw);
	ck_assert_int_eq(tcsetattr(slave, TCSANOW, &raw), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(*master);
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		dup2(slave, 2);
		setenv("NO_COLOR", "1", 1);
		setenv("LANG", "C.UTF-8", 1);
		const char *args[] = {"watch",	    path,     "--window", window,
				      "--interval", interval, NULL};
		tu_exec_allclear(args);
	}
	close(slave);
	return pid;
}

/* The live view on a real pseudo-terminal 60 columns wide: allclear
 * reads the width itself (TIOCGWINSZ), no line is wider than the
 * terminal, and the three targets of one journey stay apart. */
START_TEST(live_view_fits_the_terminal_width)
{
	char *path = tu_http_scenario(
	    "",
	    "\"origin\": \"http://127.0.0.1:9\", \"edge-us\": \"http://127.0.0.1:9\","
	    " \"edge-eu\": \"http://127.0.0.1:9\"",
	    TU_JOURNEY("checkout is classic for every visitor", "\"steps\": [{\"url\": \"/\"}]"));
	int master;
	pid_t pid = watch_on_pty(path, "1s", "300ms", &master);
	struct ac_buf b = AC_BUF_INIT;
	char chunk[4096];
	for (;;) {
		ssize_t k = read(master, chunk, sizeof(chunk));
		if (k > 0)
			ac_buf_add(&b, chunk, (size_t)k);
		else if (k < 0 && errno == EINTR)
			continue;
		else
			break;
	}
	close(master);
	int st;
	waitpid(pid, &st, 0);
	ck_assert_msg(b.len > 0, "no live view");
	/* Drop the cursor movements, then look at each line. */
	struct ac_buf plain = AC_BUF_INIT;
	for (size_t i = 0; i < b.len; i++) {
		if (b.buf[i] == '\033') {
			i++;
			if (i < b.len && b.buf[i] == '[')
				while (i + 1 < b.len &&
				       !(b.buf[i + 1] >= '@' && b.buf[i + 1] <= '~'))
					i++;
			i++;
			continue;
		}
		if (b.buf[i] != '\r')
			ac_buf_addc(&plain, b.buf[i]);
	}
	bool seen[3] = {false, false, false};
	const char *targets[] = {"@ origin", "@ edge-us", "@ edge-eu"};
	for (char *l = plain.buf; l && *l;) {
		char *nl = strchr(l, '\n');
		size_t len = nl ? (size_t)(nl - l) : strlen(l);
		size_t cols = 0;
		for (size_t i = 0; i < len; i++)
			cols += ((unsigned char)l[i] & 0xc0) != 0x80;
		ck_assert_msg(cols <= 60, "%zu columns: %.*s", cols, (int)len, l);
		for (size_t t = 0; t < 3; t++)
			if (memmem(l, len, targets[t], strlen(targets[t])) &&
			    memmem(l, len, "checko", 6))
				seen[t] = true;
		l = nl ? nl + 1 : NULL;
	}
	for (size_t t = 0; t < 3; t++)
		ck_assert_msg(seen[t], "no line for %s in:\n%s", targets[t], plain.buf);
	ac_buf_release(&plain);
	ac_buf_release(&b);
	free(path);
}
END_TEST

/* A resize redraws the table at once, not at the next round: the window
 * grows from 60 to 110 columns between two rounds 3 s apart, SIGWINCH
 * arrives, and the names are shown whole within a second. */
START_TEST(live_view_redraws_on_resize)
{
	char *path = tu_http_scenario(
	    "", "\"origin\": \"http://127.0.0.1:9\"",
	    TU_JOURNEY("checkout is classic for every visitor", "\"steps\": [{\"url\": \"/\"}]"));
	int master;
	pid_t pid = watch_on_pty(path, "4s", "3s", &master);
	struct ac_buf b = AC_BUF_INIT;
	char chunk[4096];
	int64_t start = tu_now_ms(), resized = 0;
	const char *whole = "checkout is classic for every visitor @ origin";
	bool seen_whole = false;
	while (tu_now_ms() - start < 10000 && !seen_whole) {
		struct pollfd pf = {.fd = master, .events = POLLIN};
		if (poll(&pf, 1, 100) > 0) {
			ssize_t k = read(master, chunk, sizeof(chunk));
			if (k <= 0)
				break;
			ac_buf_add(&b, chunk, (size_t)k);
		}
		if (!resized && b.len && strstr(b.buf, "@ origin")) {
			/* the first table is drawn at 60 columns: the name is cut */
			ck_assert_ptr_null(strstr(b.buf, whole));
			struct winsize wide = {.ws_row = 40, .ws_col = 110};
			ck_assert_int_eq(ioctl(master, TIOCSWINSZ, &wide), 0);
			kill(pid, SIGWINCH);
			resized = tu_now_ms();
		}
		seen_whole = b.len && strstr(b.buf, whole);
	}
	ck_assert_msg(resized, "no first table");
	ck_assert_msg(seen_whole, "no redraw at 110 columns after SIGWINCH:\n%s", b.buf);
	int64_t took = tu_now_ms() - resized;
	ck_assert_msg(took < 1500, "redrawn %lld ms after the resize (the next round is 3 s away)",
		      (long long)took);
	kill(pid, SIGTERM);
	int st;
	waitpid(pid, &st, 0);
	close(master);
	ac_buf_release(&b);
	free(path);
}
END_TEST

START_TEST(terminal_writers_escape_control_characters)
{
	struct hs_server s;
	hs_start(&s, fail500, NULL);
	char *json = tu_fmt(
	    "{\"targets\": {\"origin\": \"http://127.0.0.1:%d\"}, \"settings\": {\"confirm\": 1},"
	    " \"journeys\": [{\"name\": \"home\", \"area\": \"code\", \"owner\": \"web\","
	    " \"steps\": [{\"url\": \"/\", \"name\": \"front page\", \"assert\": {\"status\": "
	    "200}}]}]}",
	    s.port);
	struct ac_plan *plan = NULL;
	struct ac_result *r = tu_run_scenario(json, 1, &plan);
	ck_assert_int_eq(r->verdict, AC_NOT_RESTORED);
	poison(r);
	struct emit_ctx cases[] = {
	    {r, {.color = true, .verbose = true}, "terminal", false},
	    {r, {.color = false, .verbose = true}, "terminal", false},
	    {r, {.color = true, .quiet = true}, "terminal", false},
	    {r, {0}, "markdown", false},
	    {r, {0}, "terminal", true},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (int tty = 1; tty >= 0; tty--) {
			size_t n;
			char *out = capture(tty, emit, &cases[i], &n);
			char *where = tu_fmt(
			    "case %zu (%s%s) on a %s", i, cases[i].live ? "live" : cases[i].format,
			    cases[i].o.quiet ? ", quiet" : "", tty ? "pty" : "pipe");
			assert_inert(where, out, n);
			/* The text is shown escaped, not dropped. */
			ck_assert_msg(cases[i].live && !tty ? true : strstr(out, "\\x1b") != NULL,
				      "%s: escaped text missing:\n%s", where, out);
			if (cases[i].o.quiet)
				ck_assert_msg(
				    strncmp(out, "VERDICT: NOT RESTORED", 21) == 0 ||
					strncmp(out, "\033[1;31mVERDICT: NOT RESTORED", 28) == 0,
				    "%s: %s", where, out);
			free(where);
			free(out);
		}
	}
	ac_result_destroy(r);
	ac_plan_destroy(plan);
	hs_stop(&s);
	free(json);
}
END_TEST

/* Markup in names and reasons, a byte that is not UTF-8, controls. */
#define EVIL_MARKUP EVIL "\377</failure>]]>&amp;<!-- \"'| `x` |\t|"

static bool write_report(const char *format, const struct ac_result *r, const char *path)
{
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	struct ac_report_opts o = {0};
	int rc = ac_writer_find(format)->write(f, r, &o);
	return fclose(f) == 0 && rc == 0;
}

START_TEST(reports_stay_well_formed_with_hostile_text)
{
	struct hs_server s;
	hs_start(&s, fail500, NULL);
	char *json = tu_fmt(
	    "{\"targets\": {\"origin\": \"http://127.0.0.1:%d\"}, \"settings\": {\"confirm\": 1},"
	    " \"journeys\": [{\"name\": \"home\", \"area\": \"code\", \"owner\": \"web\","
	    " \"steps\": [{\"url\": \"/\", \"name\": \"front page\", \"assert\": {\"status\": "
	    "200}}]}]}",
	    s.port);
	struct ac_plan *plan = NULL;
	struct ac_result *r = tu_run_scenario(json, 1, &plan);
	poison_with(r, EVIL_MARKUP);
	char *base = tu_write_temp("", ".out");
	char *xml = tu_fmt("%s.xml", base), *js = tu_fmt("%s.json", base),
	     *md = tu_fmt("%s.md", base);
	ck_assert(write_report("junit", r, xml));
	ck_assert(write_report("json", r, js));
	ck_assert(write_report("markdown", r, md));
	/* Parsed by strict parsers (python3 is a test dependency, .ci/deps.sh). */
	char *cmd =
	    tu_fmt("python3 -c 'import sys, json, xml.dom.minidom as m\n"
		   "d = m.parse(sys.argv[1])\n"
		   "assert len(d.getElementsByTagName(\"testcase\")) == 2, \"testcases\"\n"
		   "j = json.load(open(sys.argv[2], encoding=\"utf-8\", errors=\"strict\"))\n"
		   "assert j[\"checks\"][0][\"id\"].startswith(\"x\"), j[\"checks\"][0][\"id\"]\n"
		   "open(sys.argv[3], encoding=\"utf-8\", errors=\"strict\").read()\n' %s %s %s",
		   xml, js, md);
	int rc = system(cmd);
	if (rc != 0) {
		char *t = tu_read_file(xml);
		fprintf(stderr, "--- junit:\n%s\n", t);
		free(t);
	}
	ck_assert_msg(rc == 0, "a report is not well-formed (exit %d)", rc);
	/* Markdown: every table row keeps its five cells. */
	char *text = tu_read_file(md);
	assert_inert("markdown", text, strlen(text));
	for (char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (*l != '|')
			continue;
		int pipes = 0;
		for (char *p = l; *p && *p != '\n'; p++)
			pipes += *p == '|' && (p == l || p[-1] != '\\');
		ck_assert_msg(pipes == 6, "table row with %d cells:\n%s", pipes - 1, text);
	}
	free(text);
	free(cmd);
	unlink(xml);
	unlink(js);
	unlink(md);
	free(xml);
	free(js);
	free(md);
	free(base);
	ac_result_destroy(r);
	ac_plan_destroy(plan);
	hs_stop(&s);
	free(json);
}
END_TEST

/* Run the binary on a pseudo-terminal; returns its exit code. */
static int run_on_pty(const char *const *args, char **out)
{
	struct termios raw;
	memset(&raw, 0, sizeof(raw));
	cfmakeraw(&raw);
	int master;
	pid_t pid = forkpty(&master, NULL, &raw, NULL);
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		tu_exec_allclear(args);
	struct ac_buf b = AC_BUF_INIT;
	char chunk[4096];
	int64_t deadline = tu_now_ms() + 30000;
	for (;;) {
		ssize_t k = read(master, chunk, sizeof(chunk));
		if (k > 0)
			ac_buf_add(&b, chunk, (size_t)k);
		else if (k < 0 && errno == EINTR && tu_now_ms() < deadline)
			continue;
		else
			break;
	}
	close(master);
	int st = 0;
	waitpid(pid, &st, 0);
	*out = ac_buf_detach(&b);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

START_TEST(loader_errors_on_a_terminal_are_inert)
{
	/* A crafted name is refused; the refusal itself must not carry it raw. */
	const char *json =
	    "{\"name\": \"x\\u001b]0;pwned\\u0007\\u001b[2J\","
	    " \"targets\": {\"o\": \"http://127.0.0.1:9\"}, \"journeys\": [{\"name\": "
	    "\"a\\r\\nVERDICT: RESTORED\\u009b2J\", \"area\": \"co\\u001bde\", \"owner\": "
	    "\"o\\u0007\", \"steps\": [{\"url\": \"/\", \"name\": \"s\\u007f\"}]}]}";
	char *path = tu_write_temp(json, ".json");
	const char *modes[][5] = {{"check", path, "--quiet", NULL},
				  {"watch", path, "--window", "1s", NULL},
				  {"lint", path, NULL}};
	for (size_t m = 0; m < 3; m++) {
		char *out = NULL;
		int rc = run_on_pty(modes[m], &out);
		char *where = tu_fmt("%s on a pty", modes[m][0]);
		ck_assert_msg(rc == 3, "%s: exit %d\n%s", where, rc, out);
		assert_inert(where, out, strlen(out));
		ck_assert_msg(strstr(out, "journeys[0].name: control character"), "%s", out);
		ck_assert_msg(strstr(out, "journeys[0].steps[0].name: control character"), "%s",
			      out);
		free(where);
		free(out);
		struct tu_proc p;
		tu_run(&p, modes[m], NULL, 30);
		TU_EXPECT(p.exit_code == 3, &p, "%s on a pipe: exit %d", modes[m][0], p.exit_code);
		assert_inert("stderr on a pipe", p.err, strlen(p.err));
		assert_inert("stdout on a pipe", p.out, strlen(p.out));
		tu_proc_release(&p);
	}
	/* Arguments quoted back in usage errors. */
	const char *bad[] = {"check", path, "--rounds", "1\033]0;pwned\007\033[2J\r\nRESTORED",
			     NULL};
	char *out = NULL;
	int rc = run_on_pty(bad, &out);
	ck_assert_msg(rc == 3, "bad --rounds: exit %d\n%s", rc, out);
	assert_inert("usage error on a pty", out, strlen(out));
	ck_assert_msg(strstr(out, "not '1\\x1b]0;pwned"), "%s", out);
	free(out);
	free(path);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("term");
	TCase *tc = tcase_create("term");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, loader_reports_thirty_problems_whole);
	tcase_add_test(tc, scenario_over_the_size_cap_is_refused);
	tcase_add_test(tc, terminal_writers_escape_control_characters);
	tcase_add_test(tc, live_names_are_cut_in_the_middle_keeping_the_target);
	tcase_add_test(tc, live_view_fits_the_terminal_width);
	tcase_add_test(tc, live_view_redraws_on_resize);
	tcase_add_test(tc, reports_stay_well_formed_with_hostile_text);
	tcase_add_test(tc, loader_errors_on_a_terminal_are_inert);
	tcase_add_test(tc, var_for_an_undefined_name_is_refused);
	tcase_add_test(tc, interval_under_the_minimum_is_refused);
	suite_add_tcase(s, tc);
	return tu_main(s);
}
