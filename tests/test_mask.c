/*
 * test_mask.c: secrets against the allclear binary: every encoding of a
 * secret echoed back by a server and searched for in every output (the
 * encodings computed here, not by the masking code under test), excerpts
 * cut after masking, no secret on the command line, no core file and no
 * dumpable process while secrets are loaded.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hostile.h"
#include "mask.h"
#include "testutil.h"
#include "util.h"

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
	     *jrep = tu_fmt("%s.report.json", path), *html = tu_fmt("%s.html", path);
	const char *env[] = {"AC_TEST_CANARY_PW=" CANARY_ENV, NULL};
	const char *args[] = {"check",	    path, "--json", jrep, "--junit", junit,
			      "--markdown", md,	  "--html", html, "-v",	     NULL};
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
	char *outs[4] = {tu_read_file(jrep), tu_read_file(junit), tu_read_file(md),
			 tu_read_file(html)};
	const char *names[4] = {"JSON report", "JUnit report", "Markdown report", "HTML report"};
	assert_no_encoding("stdout", p.out);
	assert_no_encoding("stderr", p.err);
	for (size_t o = 0; o < 4; o++) {
		assert_no_encoding(names[o], outs[o]);
		free(outs[o]);
	}
	/* The same run with each writer on stdout. */
	const char *formats[] = {"json", "junit", "markdown", "html"};
	for (size_t f = 0; f < AC_ARRAY_LEN(formats); f++) {
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
	unlink(html);
	free(html);
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

START_TEST(short_secret_exits_3_naming_its_source)
{
	const char *json =
	    "{\"variables\": {\"password\": \"${env:SECRET}\"}, \"targets\": {\"o\": "
	    "\"http://127.0.0.1:9\"}, \"journeys\": [{\"name\": \"a\", \"area\": "
	    "\"code\", \"owner\": \"o\", \"steps\": [{\"url\": \"/\"}]}]}";
	char *path = tu_write_temp(json, ".json");
	const char *env[] = {"SECRET=a", NULL};
	const char *args[] = {"check", path, NULL};
	struct tu_proc p;
	tu_run(&p, args, env, 20);
	TU_EXPECT(p.exit_code == 3, &p, "exit %d", p.exit_code);
	char *want = tu_fmt("%s: variables.password from ${env:SECRET}: secret is 1 byte, under "
			    "the 4-byte minimum\n",
			    path);
	TU_EXPECT(strstr(p.err, want), &p, "no '%s'", want);
	free(want);
	tu_proc_release(&p);
	free(path);
}
END_TEST

/* Bug caught (review F6): an HTML-escaped echo of a secret (a form
 * re-rendered, a debug page) was not masked. Every character reference
 * form, numeric in both bases, and a mix with the other escapes. */
START_TEST(html_escaped_secrets_are_masked)
{
	static const char secret[] = "Sup3r'S&cr<t>Zq9\"";
	struct ac_mask *m = ac_mask_create();
	ac_mask_add(m, secret);
	struct ac_buf dec = AC_BUF_INIT, hexl = AC_BUF_INIT, hexu = AC_BUF_INIT;
	for (const char *c = secret; *c; c++) {
		ac_buf_addf(&dec, "&#%d;", *c);
		ac_buf_addf(&hexl, "&#x%x;", *c);
		ac_buf_addf(&hexu, "&#X%02X;", *c);
	}
	const char *forms[] = {
	    "Sup3r&#x27;S&amp;cr&lt;t&gt;Zq9&quot;", /* Python html.escape */
	    "Sup3r&#39;S&amp;cr&lt;t&gt;Zq9&#34;",
	    "Sup3r&apos;S&AMP;cr&LT;t&GT;Zq9&QUOT;",
	    "Sup3r&#0039;S&#38;cr\\u003ct%3EZq9\\\"", /* mixed with other escapes */
	    dec.buf,
	    hexl.buf,
	    hexu.buf,
	};
	for (size_t i = 0; i < AC_ARRAY_LEN(forms); i++) {
		char *t = tu_fmt("<p>value=%s</p>", forms[i]);
		char *out = ac_mask_apply(m, t);
		ck_assert_msg(strcmp(out, "<p>value=***</p>") == 0, "form %zu: %s -> %s", i, t,
			      out);
		free(out);
		free(t);
	}
	/* controls: a near miss and text that only looks like a reference */
	const char *keep[] = {"Sup3r&#x27;S&amp;cr&lt;t&gt;Zq8&quot;", "a &amp b &#; &#x; &nope;",
			      "Sup3r&#x27;S&amp;cr&lt;t&gt;Zq9&quo"};
	for (size_t i = 0; i < AC_ARRAY_LEN(keep); i++) {
		char *out = ac_mask_apply(m, keep[i]);
		ck_assert_msg(strcmp(out, keep[i]) == 0, "kept %zu: %s", i, out);
		free(out);
	}
	ac_buf_release(&dec);
	ac_buf_release(&hexl);
	ac_buf_release(&hexu);
	ac_mask_destroy(m);
}
END_TEST

/* ac_mask_inplace (the engine's last pass over a sample) copies only what
 * masking changes, and changes exactly what ac_mask_apply does: a secret of
 * the run's own mask or of its parent's, in any of the forms, a URL
 * password and a password= parameter with no secret known at all; text
 * with nothing to hide keeps its pointer. */
START_TEST(inplace_masks_what_apply_masks_and_copies_nothing_else)
{
	struct ac_mask *plan = ac_mask_create();
	ac_mask_add(plan, "plan-secret-7Qx");
	struct ac_mask *run = ac_mask_create_scoped(plan);
	ac_mask_add(run, "run-cookie-9Zk");
	struct ac_mask *empty = ac_mask_create();
	const struct {
		const struct ac_mask *m;
		const char *in;
		bool changes;
	} cases[] = {
	    {run, "GET /search?q=teapot", false},
	    {run, "token run-cookie-9Zk here", true},
	    {run, "echo plan%2Dsecret%2D7Qx", true},
	    {run, "cnVuLWNvb2tpZS05Wms=", true}, /* base64 of the run's cookie */
	    {run, "https://u:pw@host/", true},
	    {empty, "password=hunter22&x=1", true},
	    {empty, "a plain line: nothing p to hide", false},
	    {NULL, "https://u:pw@host/", true},
	    {run, "", false},
	    /* the credential forms, at their edges */
	    {empty, "PassWord=x", true},
	    {empty, "a;password='s p'", true},
	    {empty, "mypassword=abc", false}, /* inside a word */
	    {empty, "x password=", false},    /* nothing after it */
	    {empty, "password", false},
	    {empty, "http://host:80/p?q=1", false}, /* no userinfo */
	    {empty, "a:b@c ftp://u@h", false},	    /* no "//" before, no password after */
	    {empty, "x postgres://u:p@h/db", true},
	    {empty, "http://h/?password=1", true},
	};
	for (size_t i = 0; i < AC_ARRAY_LEN(cases); i++) {
		char *want = ac_mask_apply(cases[i].m, cases[i].in);
		char *t = ac_strdup(cases[i].in);
		char *before = t;
		ac_mask_inplace(cases[i].m, &t);
		ck_assert_msg(strcmp(t, want) == 0, "case %zu: %s -> %s, apply gives %s", i,
			      cases[i].in, t, want);
		ck_assert_msg((strcmp(want, cases[i].in) != 0) == cases[i].changes,
			      "case %zu: %s -> %s", i, cases[i].in, want);
		if (!cases[i].changes)
			ck_assert_msg(t == before, "case %zu copied", i);
		free(t);
		free(want);
	}
	/* an excerpt of text with nothing to hide: as of its copy, cut at a NUL */
	static const char body[] = "{\"a\":  1,\n \"b\": \"x\"}\0run-cookie-9Zk";
	char *ex = ac_mask_excerpt(run, body, sizeof(body) - 1, 12);
	char *want = ac_excerpt(body, strlen(body), 12);
	ck_assert_str_eq(ex, want);
	free(ex);
	free(want);
	char *null_text = NULL;
	ac_mask_inplace(run, &null_text);
	ck_assert_ptr_null(null_text);
	ac_mask_destroy(run);
	ac_mask_destroy(plan);
	ac_mask_destroy(empty);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mask");
	TCase *tc = tcase_create("mask");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, canary_secrets_in_every_encoding_reach_no_output);
	tcase_add_test(tc, no_core_file_and_not_dumpable_while_secrets_are_loaded);
	tcase_add_test(tc, no_secret_on_the_command_line);
	tcase_add_test(tc, excerpts_are_cut_after_masking);
	tcase_add_test(tc, short_secret_exits_3_naming_its_source);
	tcase_add_test(tc, html_escaped_secrets_are_masked);
	tcase_add_test(tc, inplace_masks_what_apply_masks_and_copies_nothing_else);
	suite_add_tcase(s, tc);
	return tu_main(s);
}
