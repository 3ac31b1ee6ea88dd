/*
 * test_http_trust.c: the "trust" test case of the http suite: what a
 * journey sends is what the scenario says (every body node expanded, URL
 * values percent-encoded, no header injected by a captured value, no cookie
 * carried to another origin), a signal is never a measured failure, a
 * resolver that never answers stalls only its own target, and every failure
 * reason names its cause and limit.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hostile.h"
#include "testutil.h"
#include "util.h"

TCase *http_trust_tcase(void);
int http_trust_helper(int argc, char **argv);

/* --- helpers ------------------------------------------------------------ */

static char *scenario(const char *settings, const char *targets, const char *journeys)
{
	char *json =
	    tu_fmt("{\"settings\": {\"rounds\": 1, \"confirm\": 1, \"timeout\": \"3s\", "
		   "\"connect_timeout\": \"1s\"%s%s}, \"targets\": {%s}, \"journeys\": [%s]}",
		   *settings ? ", " : "", settings, targets, journeys);
	char *path = tu_write_temp(json, ".json");
	free(json);
	return path;
}

static void run_check(struct tu_proc *p, const char *path)
{
	const char *args[] = {"check", path, NULL};
	tu_run(p, args, NULL, 60);
}

#define J(name, body) "{\"name\": \"" name "\", \"area\": \"code\", \"owner\": \"web\", " body "}"

static void stop_free(struct hs_server *s, char *a, char *b)
{
	hs_stop(s);
	free(a);
	free(b);
}

/* --- 3: every node of a JSON body is expanded --------------------------- */

static size_t count_of(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static void token_server(int fd, const struct hs_request *q, void *ud)
{
	(void)ud;
	if (strcmp(q->path, "/token") == 0) {
		hs_reply(fd, 200, "X-Token: tk-81726354\r\n", "{}");
		return;
	}
	/* The body must hold the token 300 times and no template left. */
	size_t n = count_of(q->body, "\"tk-81726354\"");
	if (n == 300 && !strstr(q->body, "${"))
		hs_reply(fd, 200, "", "{\"ok\":true}");
	else
		hs_reply(fd, 400, "", "not expanded");
}

START_TEST(json_body_expands_every_node)
{
	struct hs_server s;
	hs_start(&s, token_server, NULL);
	struct ac_buf arr = AC_BUF_INIT;
	for (int i = 0; i < 300; i++)
		ac_buf_addf(&arr, "%s\"${tok}\"", i ? ", " : "");
	char *steps =
	    tu_fmt("\"steps\": [{\"url\": \"/token\", \"capture\": {\"tok\": {\"header\": "
		   "\"X-Token\"}}}, {\"method\": \"POST\", \"write\": false, \"url\": "
		   "\"/bulk\", \"json\": {\"items\": [%s]}}]",
		   arr.buf);
	char *j = tu_fmt(J("bulk", "%s"), steps);
	char *t = tu_fmt("\"origin\": \"http://127.0.0.1:%d\"", s.port);
	char *path = scenario("", t, j);
	struct tu_proc p;
	run_check(&p, path);
	char *log = hs_log(&s);
	const char *post = strstr(log, "POST /bulk");
	ck_assert_ptr_nonnull(post);
	/* Checked on the server side: all 300 arrived expanded. */
	ck_assert_uint_eq(count_of(post, "\"tk-81726354\""), 300);
	ck_assert_ptr_null(strstr(post, "${tok}"));
	TU_EXPECT(p.exit_code == 0, &p, "exit %d", p.exit_code);
	free(log);
	tu_proc_release(&p);
	ac_buf_release(&arr);
	free(steps);
	free(j);
	stop_free(&s, t, path);
}
END_TEST

/* --- the test case -------------------------------------------------------- */

int http_trust_helper(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return -1;
}

TCase *http_trust_tcase(void)
{
	TCase *tc = tcase_create("trust");
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, json_body_expands_every_node);
	return tc;
}
