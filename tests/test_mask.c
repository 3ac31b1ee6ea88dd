/*
 * test_mask.c: what the allclear binary lets out. Secrets in every
 * encoding against every output, text that could forge the terminal,
 * the loader's error reporting and caps, and no core files.
 */
#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "../report/live.h"
#include "../report/report.h"
#include "hostile.h"
#include "testutil.h"
#include "util.h"

#define NBAD 30

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

START_TEST(scenario_over_four_mib_is_refused)
{
	const size_t cap = 4 * 1024 * 1024;
	/* At the cap: loads. One byte over: refused, naming the cap. */
	for (int over = 0; over <= 1; over++) {
		char *text = scenario_of_size(cap + (size_t)over);
		char *path = tu_write_temp(text, ".json");
		free(text);
		const char *args[] = {"lint", path, NULL};
		struct tu_proc p;
		tu_run(&p, args, NULL, 60);
		if (!over) {
			TU_EXPECT(p.exit_code == 0, &p, "a scenario of exactly 4 MiB: exit %d",
				  p.exit_code);
		} else {
			TU_EXPECT(p.exit_code == 3, &p, "4 MiB + 1: exit %d", p.exit_code);
			char *want = tu_fmt("%s: larger than the 4 MiB (4194304-byte) limit for a "
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

/* Every string a writer prints about a run, made hostile. */
static void poison_with(struct ac_result *r, struct ac_plan *plan, const char *evil)
{
	char *two = tu_fmt("%s\n%s", evil, evil);
	replace(&r->scenario_name, evil);
	replace(&r->scenario_path, evil);
	replace(&r->verdict_reason, evil);
	for (size_t i = 0; i < plan->nchecks; i++) {
		replace(&plan->checks[i].id, evil);
		replace(&plan->checks[i].name, evil);
		replace(&plan->checks[i].owner, evil);
		replace(&plan->checks[i].persona, evil);
	}
	for (size_t i = 0; i < plan->ntargets; i++)
		replace(&plan->targets[i].name, evil);
	for (size_t i = 0; i < r->nchecks; i++) {
		struct ac_check_result *cr = &r->checks[i];
		replace(&cr->reason, evil);
		replace(&cr->note, evil);
		struct ac_sample *ss[] = {&cr->last, &cr->last_bad};
		for (size_t k = 0; k < 2; k++) {
			struct ac_sample *s = ss[k];
			replace(&s->reason, evil);
			replace(&s->evidence, two);
			for (size_t j = 0; j < s->nsteps; j++) {
				struct ac_step_result *st = &s->steps[j];
				replace(&st->name, evil);
				replace(&st->reason, evil);
				replace(&st->excerpt, evil);
				replace(&st->served_by, evil);
				for (size_t a = 0; a < st->nasserts; a++) {
					replace(&st->asserts[a].what, evil);
					replace(&st->asserts[a].expected, evil);
					replace(&st->asserts[a].actual, evil);
				}
			}
		}
	}
	free(two);
}

static void poison(struct ac_result *r, struct ac_plan *plan)
{
	poison_with(r, plan, EVIL);
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
	poison(r, plan);
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
	poison_with(r, plan, EVIL_MARKUP);
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
	if (pid == 0) {
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

/* --- secrets in every encoding ------------------------------------------ */

/* Encoders written here, not taken from the masking code under test. */
enum enc {
	ENC_RAW,
	ENC_PCT_UPPER,
	ENC_PCT_LOWER,
	ENC_PCT_MIXED, /* upper and lower case hex in turn */
	ENC_FORM_UPPER,
	ENC_FORM_LOWER,
	ENC_B64_STD,
	ENC_B64_STD_NOPAD,
	ENC_B64_URL,
	ENC_B64_URL_NOPAD,
	ENC_JSON,
	ENC_COUNT
};
static const char *const enc_names[ENC_COUNT] = {"raw",		  "percent upper",
						 "percent lower", "percent mixed",
						 "form upper",	  "form lower",
						 "base64 std",	  "base64 std no padding",
						 "base64 url",	  "base64 url no padding",
						 "JSON"};

static char *encode(const char *secret, enum enc e)
{
	struct ac_buf b = AC_BUF_INIT;
	const unsigned char *s = (const unsigned char *)secret;
	size_t n = strlen(secret);
	static const char up[] = "0123456789ABCDEF", lo[] = "0123456789abcdef";
	switch (e) {
	case ENC_RAW:
		ac_buf_adds(&b, secret);
		break;
	case ENC_PCT_UPPER:
	case ENC_PCT_LOWER:
	case ENC_PCT_MIXED:
	case ENC_FORM_UPPER:
	case ENC_FORM_LOWER:
		for (size_t i = 0; i < n; i++) {
			unsigned char c = s[i];
			bool form = e == ENC_FORM_UPPER || e == ENC_FORM_LOWER;
			const char *hex = e == ENC_PCT_UPPER || e == ENC_FORM_UPPER ? up
					  : e == ENC_PCT_MIXED ? (i % 2 ? up : lo)
							       : lo;
			if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
			    c == '~') {
				ac_buf_addc(&b, (char)c);
			} else if (form && c == ' ') {
				ac_buf_addc(&b, '+');
			} else {
				char q[3] = {'%', hex[c >> 4], hex[c & 15]};
				ac_buf_add(&b, q, 3);
			}
		}
		break;
	case ENC_B64_STD:
	case ENC_B64_STD_NOPAD:
	case ENC_B64_URL:
	case ENC_B64_URL_NOPAD: {
		bool url = e == ENC_B64_URL || e == ENC_B64_URL_NOPAD;
		bool pad = e == ENC_B64_STD || e == ENC_B64_URL;
		const char *t =
		    url ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
			: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
		for (size_t i = 0; i < n; i += 3) {
			unsigned v = (unsigned)s[i] << 16;
			if (i + 1 < n)
				v |= (unsigned)s[i + 1] << 8;
			if (i + 2 < n)
				v |= s[i + 2];
			ac_buf_addc(&b, t[v >> 18]);
			ac_buf_addc(&b, t[(v >> 12) & 63]);
			if (i + 1 < n)
				ac_buf_addc(&b, t[(v >> 6) & 63]);
			else if (pad)
				ac_buf_addc(&b, '=');
			if (i + 2 < n)
				ac_buf_addc(&b, t[v & 63]);
			else if (pad)
				ac_buf_addc(&b, '=');
		}
		break;
	}
	case ENC_JSON:
		/* The escaping a JSON writer may choose: \/, \", and \uXXXX for
		 * every character outside ASCII. */
		for (size_t i = 0; i < n; i++) {
			unsigned c = s[i];
			if (c == '"' || c == '\\' || c == '/') {
				ac_buf_addc(&b, '\\');
				ac_buf_addc(&b, (char)c);
			} else if (c < 0x20) {
				ac_buf_addf(&b, "\\u%04x", c);
			} else if (c >= 0xc0 && c < 0xe0 && i + 1 < n) {
				ac_buf_addf(&b, "\\u%04x", (c & 0x1f) << 6 | (s[i + 1] & 0x3f));
				i++;
			} else {
				ac_buf_addc(&b, (char)c);
			}
		}
		break;
	case ENC_COUNT:
		break;
	}
	return ac_buf_detach(&b);
}

/* Secrets with every character URL-encoding changes, and UTF-8 é. */
#define CANARY_ENV "pw/+&= %c\303\251-env-77"
#define CANARY_FILE "f\303\251le /&=+%-file-31\""
static const char *const canaries[] = {CANARY_ENV, CANARY_FILE};

struct echo_ctx {
	const struct hs_server *self;
};

/* GET /echo?s=I&e=K&m=redirect|body: send canary I back in encoding K,
 * in a cross-origin redirect's Location, or in headers and a body. */
static void echo(int fd, const struct hs_request *q, void *ud)
{
	const struct echo_ctx *c = ud;
	int si = -1, ei = -1;
	char mode[16] = "";
	if (sscanf(q->path, "/echo?s=%d&e=%d&m=%15s", &si, &ei, mode) != 3 || si < 0 || si > 1 ||
	    ei < 0 || ei >= ENC_COUNT) {
		hs_reply(fd, 404, "", "no");
		return;
	}
	char *v = encode(canaries[si], (enum enc)ei);
	if (strcmp(mode, "redirect") == 0) {
		char *h = tu_fmt("Location: http://localhost:%d/next?pw=%s\r\n", c->self->port, v);
		hs_reply(fd, 302, h, "");
		free(h);
	} else {
		char *h =
		    tu_fmt("X-Build: %s\r\nX-Echo: %s\r\nContent-Type: application/json\r\n", v, v);
		char *body = tu_fmt("{\"echo\": \"%s\", \"again\": \"%s\"}", v, v);
		hs_reply(fd, 500, h, body);
		free(body);
		free(h);
	}
	free(v);
}

static void assert_no_encoding(const char *where, const char *text)
{
	for (size_t c = 0; c < 2; c++) {
		for (int e = 0; e < ENC_COUNT; e++) {
			char *v = encode(canaries[c], (enum enc)e);
			const char *hit = strstr(text, v);
			if (hit) {
				size_t off = (size_t)(hit - text);
				fprintf(stderr, "--- %s:\n%s\n", where, text);
				ck_abort_msg("%s leaks canary %zu %s at byte %zu", where, c,
					     enc_names[e], off);
			}
			free(v);
		}
	}
}

START_TEST(canary_secrets_in_every_encoding_reach_no_output)
{
	struct hs_server s;
	struct echo_ctx ctx = {&s};
	hs_start(&s, echo, &ctx);
	char *secret_file = tu_write_temp(CANARY_FILE "\n", ".secret");
	struct ac_buf j = AC_BUF_INIT;
	for (int c = 0; c < 2; c++)
		for (int e = 0; e < ENC_COUNT; e++)
			for (int m = 0; m < 2; m++)
				ac_buf_addf(
				    &j,
				    "%s{\"name\": \"s%d e%d %s\", \"area\": \"code\", \"owner\": "
				    "\"web\", \"steps\": [{\"url\": \"/echo?s=%d&e=%d&m=%s\", "
				    "\"name\": \"echo\", \"follow_redirects\": 1, \"headers\": "
				    "{\"X-Token\": \"${pw}\", \"X-File\": \"${fpw}\"}, \"assert\": "
				    "{\"status\": 200, \"headers\": {\"X-Echo\": {\"contains\": "
				    "\"never\"}}, \"json\": {\"$.echo\": \"never\"}}}]}",
				    j.len ? ", " : "", c, e, m ? "body" : "redirect", c, e,
				    m ? "body" : "redirect");
	char *json = tu_fmt(
	    "{\"settings\": {\"rounds\": 1, \"confirm\": 1, \"concurrency\": 8},"
	    " \"targets\": {\"origin\": \"http://127.0.0.1:%d\"},"
	    " \"variables\": {\"pw\": \"${env:AC_TEST_CANARY_PW}\", \"fpw\": \"${file:%s}\"},"
	    " \"journeys\": [%s]}",
	    s.port, secret_file, j.buf);
	ac_buf_release(&j);
	char *path = tu_write_temp(json, ".json");
	char *junit = tu_fmt("%s.xml", path), *md = tu_fmt("%s.md", path),
	     *jrep = tu_fmt("%s.report.json", path);
	const char *env[] = {"AC_TEST_CANARY_PW=" CANARY_ENV, NULL};
	const char *args[] = {"check", path,	     "--json", jrep, "--junit",
			      junit,   "--markdown", md,       "-v", NULL};
	struct tu_proc p;
	tu_run(&p, args, env, 90);
	TU_EXPECT(p.exit_code == 1, &p, "exit %d", p.exit_code);
	/* The server got the secrets and sent every encoding back: the test
	 * proves masking, not absence. */
	char *log = hs_log(&s);
	ck_assert_msg(strstr(log, CANARY_ENV) && strstr(log, CANARY_FILE), "server log:\n%s", log);
	ck_assert_int_eq(hs_requests(&s), 2 * ENC_COUNT * 2);
	free(log);
	/* ...and what it sent reached the reports, masked. */
	TU_EXPECT(strstr(p.out, "cross-origin redirect to") && strstr(p.out, "body: ") &&
		      strstr(p.out, "***"),
		  &p, "the echoes are not in the report");
	char *outs[3] = {tu_read_file(jrep), tu_read_file(junit), tu_read_file(md)};
	const char *names[3] = {"JSON report", "JUnit report", "Markdown report"};
	assert_no_encoding("stdout", p.out);
	assert_no_encoding("stderr", p.err);
	for (size_t o = 0; o < 3; o++) {
		assert_no_encoding(names[o], outs[o]);
		free(outs[o]);
	}
	/* The same run with each writer on stdout. */
	const char *formats[] = {"json", "junit", "markdown"};
	for (size_t f = 0; f < 3; f++) {
		struct tu_proc q;
		const char *a2[] = {"check", path, "--format", formats[f], NULL};
		tu_run(&q, a2, env, 90);
		TU_EXPECT(q.exit_code == 1, &q, "--format %s: exit %d", formats[f], q.exit_code);
		assert_no_encoding(formats[f], q.out);
		assert_no_encoding("stderr", q.err);
		tu_proc_release(&q);
	}
	unlink(jrep);
	unlink(junit);
	unlink(md);
	tu_proc_release(&p);
	hs_stop(&s);
	free(jrep);
	free(junit);
	free(md);
	free(path);
	free(json);
	free(secret_file);
}
END_TEST

/* --- excerpts: cut and whitespace-folded after masking, not before ------ */

#define CUT_SECRET "cutcanary-0123456789-abcdef"
#define TAB_SECRET "tab\tcanary  9988"

static void cut_echo(int fd, const struct hs_request *q, void *ud)
{
	(void)q;
	(void)ud;
	/* Each secret straddles where its excerpt is cut: the body's (240
	 * bytes), a header assertion's (120) and served-by's (60). */
	char body[512], echo[256], build[128];
	memset(body, 'x', 230);
	snprintf(body + 230, sizeof(body) - 230, "%s and %s", CUT_SECRET, TAB_SECRET);
	memset(echo, 'z', 110);
	snprintf(echo + 110, sizeof(echo) - 110, "%s", CUT_SECRET);
	memset(build, 'y', 50);
	snprintf(build + 50, sizeof(build) - 50, "%s", CUT_SECRET);
	char *h = tu_fmt("X-Build: %s\r\nX-Echo: %s\r\n", build, echo);
	hs_reply(fd, 500, h, body);
	free(h);
}

/* Any 6 bytes of the secret, as it is or with its whitespace folded the
 * way an excerpt folds it. */
static void assert_no_piece(const char *where, const char *text, const char *secret)
{
	char *folded = ac_excerpt(secret, strlen(secret), 1000);
	const char *forms[] = {secret, folded};
	for (size_t f = 0; f < 2; f++) {
		size_t n = strlen(forms[f]);
		for (size_t i = 0; i + 6 <= n; i++) {
			char piece[8];
			memcpy(piece, forms[f] + i, 6);
			piece[6] = '\0';
			if (strstr(text, piece)) {
				fprintf(stderr, "--- %s:\n%s\n", where, text);
				ck_abort_msg("%s shows '%s' of a secret", where, piece);
			}
		}
	}
	free(folded);
}

START_TEST(excerpts_are_cut_after_masking)
{
	struct hs_server s;
	hs_start(&s, cut_echo, NULL);
	char *json = tu_fmt(
	    "{\"settings\": {\"rounds\": 1, \"confirm\": 1}, \"targets\": {\"origin\": "
	    "\"http://127.0.0.1:%d\"}, \"variables\": {\"a\": \"${env:AC_TEST_CUT}\", \"b\": "
	    "\"${env:AC_TEST_TAB}\"}, \"journeys\": [{\"name\": \"cut\", \"area\": \"code\", "
	    "\"owner\": \"web\", \"steps\": [{\"url\": \"/\", \"headers\": {\"X-A\": \"${a}\", "
	    "\"X-B\": \"${b}\"}, \"assert\": {\"status\": 200, \"headers\": {\"X-Echo\": "
	    "{\"contains\": \"never\"}}}}]}]}",
	    s.port);
	char *path = tu_write_temp(json, ".json");
	char *rep = tu_fmt("%s.report.json", path);
	const char *env[] = {"AC_TEST_CUT=" CUT_SECRET, "AC_TEST_TAB=" TAB_SECRET, NULL};
	const char *args[] = {"check", path, "--json", rep, NULL};
	struct tu_proc p;
	tu_run(&p, args, env, 30);
	TU_EXPECT(p.exit_code == 1, &p, "exit %d", p.exit_code);
	TU_EXPECT(strstr(p.out, "body: xxxx") && strstr(p.out, "zzzz"), &p, "no excerpts");
	char *r = tu_read_file(rep);
	const char *secrets[] = {CUT_SECRET, TAB_SECRET};
	for (size_t i = 0; i < 2; i++) {
		assert_no_piece("stdout", p.out, secrets[i]);
		assert_no_piece("JSON report", r, secrets[i]);
	}
	free(r);
	unlink(rep);
	free(rep);
	tu_proc_release(&p);
	hs_stop(&s);
	free(path);
	free(json);
}
END_TEST

/* --- secrets stay out of argv, core files and other processes ----------- */

static void slow(int fd, const struct hs_request *q, void *ud)
{
	(void)fd;
	(void)q;
	(void)ud;
	sleep(30);
}

/* The "Max core file size" soft and hard limits in /proc/PID/limits. */
static bool core_limits(pid_t pid, char *soft, char *hard)
{
	char *path = tu_fmt("/proc/%d/limits", (int)pid);
	FILE *f = fopen(path, "r");
	free(path);
	if (!f)
		return false;
	char line[256];
	bool found = false;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "Max core file size", 18) == 0 &&
		    sscanf(line + 18, "%31s %31s", soft, hard) == 2)
			found = true;
	fclose(f);
	return found;
}

START_TEST(no_core_file_and_not_dumpable_while_secrets_are_loaded)
{
	/* Let the child inherit core dumps on, so that allclear has to turn
	 * them off itself. */
	struct rlimit rl;
	ck_assert_int_eq(getrlimit(RLIMIT_CORE, &rl), 0);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_CORE, &rl);
	ck_assert_int_eq(getrlimit(RLIMIT_CORE, &rl), 0);
	ck_assert_msg(rl.rlim_cur > 0,
		      "cannot allow core files here: the test would prove nothing");
	struct hs_server s;
	hs_start(&s, slow, NULL);
	char *json = tu_fmt(
	    "{\"targets\": {\"origin\": \"http://127.0.0.1:%d\"}, \"variables\": {\"pw\": "
	    "\"${env:AC_TEST_CORE_PW}\"}, \"journeys\": [{\"name\": \"slow\", \"area\": \"code\", "
	    "\"owner\": \"web\", \"timeout\": \"25s\", \"steps\": [{\"url\": \"/\", \"timeout\": "
	    "\"25s\", \"headers\": {\"X-Token\": \"${pw}\"}}]}]}",
	    s.port);
	char *path = tu_write_temp(json, ".json");
	chmod(path, 0644);
	/* Run it as an ordinary user: a process that is not dumpable has its
	 * /proc files owned by root, one that is by its own user. */
	uid_t uid = getuid() == 0 ? 65534 : getuid();
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (getuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
			_exit(126);
		int null = open("/dev/null", O_RDWR);
		dup2(null, 1);
		dup2(null, 2);
		setenv("AC_TEST_CORE_PW", "core-canary-4242", 1);
		execl(tu_env("AC_BIN"), "allclear", "watch", path, "--window", "30s", (char *)NULL);
		_exit(127);
	}
	/* Probing has begun once the server sees the request: the scenario and
	 * its secret are loaded. */
	int64_t deadline = tu_now_ms() + 10000;
	while (hs_requests(&s) < 1 && tu_now_ms() < deadline)
		usleep(20000);
	int requests = hs_requests(&s);
	char soft[32] = "", hard[32] = "";
	bool have = core_limits(pid, soft, hard);
	struct stat st;
	char *env_path = tu_fmt("/proc/%d/environ", (int)pid);
	int srt = stat(env_path, &st);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	hs_stop(&s);
	ck_assert_msg(requests >= 1, "allclear never probed");
	ck_assert_msg(have, "no core limit in /proc/%d/limits", (int)pid);
	ck_assert_msg(strcmp(soft, "0") == 0 && strcmp(hard, "0") == 0,
		      "core file size is %s (soft) %s (hard), not 0", soft, hard);
	ck_assert_int_eq(srt, 0);
	ck_assert_msg(st.st_uid == 0 && uid != 0,
		      "/proc/PID/environ is owned by uid %d: the process is dumpable (runs as %d)",
		      (int)st.st_uid, (int)uid);
	free(env_path);
	free(path);
	free(json);
}
END_TEST

START_TEST(no_secret_on_the_command_line)
{
	const char *json =
	    "{\"targets\": {\"o\": \"http://127.0.0.1:9\"}, \"variables\": {"
	    "\"pw\": \"${env:AC_TEST_ARGV_PW}\", \"tok\": {\"value\": \"tok-1234\", "
	    "\"secret\": true}, \"password\": \"not-a-secret\"},"
	    " \"journeys\": [{\"name\": \"a\", \"area\": \"code\", \"owner\": \"o\", "
	    "\"steps\": [{\"url\": \"/?p=${pw}&t=${tok}&x=${password}\"}]}]}";
	char *path = tu_write_temp(json, ".json");
	const char *env[] = {"AC_TEST_ARGV_PW=argv-canary-5151", NULL};
	/* There is no option that takes a secret. */
	const char *flags[] = {"--password", "--secret", "--token", "--env", "--secret-file"};
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		const char *args[] = {"lint", path, flags[i], "x-12345", NULL};
		struct tu_proc p;
		tu_run(&p, args, env, 10);
		TU_EXPECT(p.exit_code == 3, &p, "%s accepted", flags[i]);
		tu_proc_release(&p);
	}
	/* --var cannot replace a secret: it would sit in ps and in every
	 * output unmasked. */
	const char *secret_vars[][2] = {{"pw=argv-value-1", "variables.pw"},
					{"tok=argv-value-2", "variables.tok"}};
	for (size_t i = 0; i < 2; i++) {
		const char *args[] = {"lint", path, "--var", secret_vars[i][0], NULL};
		struct tu_proc p;
		tu_run(&p, args, env, 10);
		TU_EXPECT(p.exit_code == 3, &p, "--var %s accepted", secret_vars[i][0]);
		char *want = tu_fmt("%s: a secret cannot be set with --var", secret_vars[i][1]);
		TU_EXPECT(strstr(p.err, want), &p, "no '%s'", want);
		TU_EXPECT(!strstr(p.err, "argv-value") && !strstr(p.err, "argv-canary"), &p,
			  "the value is echoed");
		free(want);
		tu_proc_release(&p);
	}
	/* A --var whose name looks secret is an ordinary variable: no guessing. */
	const char *args[] = {"lint", path, "--var", "password=plain-value", NULL};
	struct tu_proc p;
	tu_run(&p, args, env, 10);
	TU_EXPECT(p.exit_code == 0, &p, "--var password=...: exit %d", p.exit_code);
	tu_proc_release(&p);
	free(path);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mask");
	TCase *tc = tcase_create("mask");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, loader_reports_thirty_problems_whole);
	tcase_add_test(tc, scenario_over_four_mib_is_refused);
	tcase_add_test(tc, terminal_writers_escape_control_characters);
	tcase_add_test(tc, loader_errors_on_a_terminal_are_inert);
	tcase_add_test(tc, reports_stay_well_formed_with_hostile_text);
	tcase_add_test(tc, canary_secrets_in_every_encoding_reach_no_output);
	tcase_add_test(tc, no_core_file_and_not_dumpable_while_secrets_are_loaded);
	tcase_add_test(tc, no_secret_on_the_command_line);
	tcase_add_test(tc, excerpts_are_cut_after_masking);
	suite_add_tcase(s, tc);
	return tu_main(s);
}
