/*
 * redis.c: the "redis" probe kind: one read-only Redis command for systems
 * without a preset, and what its answer must be.
 *
 *   {"kind": "redis", "name": "payment retries", "area": "jobs",
 *    "owner": "payments", "redis": "main", "command": ["ZCARD", "retry"],
 *    "expect": {"<=": 10}}
 *
 * Commands off the read-only allowlist are a load error naming the
 * command. LLEN, ZCARD, SCARD, HLEN and XLEN of a missing key answer 0,
 * which would read as "drained": by default the key must exist (checked
 * in the same pipeline with EXISTS), else the check cannot measure.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "expect.h"
#include "json.h"
#include "probe.h"
#include "redis.h"

struct redis_config {
	const struct ac_redis_server *srv; /* the plan's */
	struct ac_redis_cmd cmd;
	char *args[AC_REDIS_MAX_ARGS];
	bool require_key;
	struct ac_expect expect;
};

struct redis_run {
	struct ac_probe_run *run;
	struct ac_redis_batch *batch;
};

static void redis_config_destroy(void *p)
{
	struct redis_config *c = p;
	if (!c)
		return;
	for (int i = 0; i < AC_REDIS_MAX_ARGS; i++)
		free(c->args[i]);
	ac_expect_release(&c->expect);
	free(c);
}

static bool is_count(const char *cmd)
{
	static const char *const counts[] = {"LLEN", "ZCARD", "SCARD", "HLEN", "XLEN", "ZCOUNT"};
	for (size_t i = 0; i < AC_ARRAY_LEN(counts); i++)
		if (strcasecmp(counts[i], cmd) == 0)
			return true;
	return false;
}

/* Commands whose integer answer is a count or a 0/1 flag: below zero is
 * impossible, so a broken server or proxy, not a measurement. */
static bool answers_count(const char *cmd)
{
	static const char *const counts[] = {"LLEN",   "ZCARD",	 "SCARD",  "HLEN",	"XLEN",
					     "ZCOUNT", "STRLEN", "EXISTS", "SISMEMBER", "HEXISTS"};
	for (size_t i = 0; i < AC_ARRAY_LEN(counts); i++)
		if (strcasecmp(counts[i], cmd) == 0)
			return true;
	return false;
}

/* "command": ["ZCARD", "queue:retry"]: a read command and its arguments. */
static void read_command(struct ac_cfg *cx, const struct ac_field *f, const cJSON *cmd,
			 const char *cp, void *dst)
{
	struct redis_config *c = dst;
	if (!cJSON_IsArray(cmd) || cJSON_GetArraySize(cmd) < 1 ||
	    cJSON_GetArraySize(cmd) > AC_REDIS_MAX_ARGS) {
		ac_cfg_error(cx, cp, "expected a list: the command and its arguments");
		return;
	}
	const cJSON *e;
	cJSON_ArrayForEach(e, cmd)
	{
		char *v = cJSON_IsString(e)   ? ac_cfg_expand(cx, cp, e->valuestring)
			  : cJSON_IsNumber(e) ? ac_json_to_text(e)
					      : NULL;
		if (!v) {
			ac_cfg_error(cx, cp, "arguments are strings or numbers");
			break;
		}
		if (strpbrk(v, "\r\n")) {
			ac_cfg_error(cx, cp, "line breaks are not allowed in arguments");
			free(v);
			break;
		}
		c->args[c->cmd.argc] = v;
		c->cmd.argv[c->cmd.argc] = v;
		c->cmd.argc++;
	}
	if (c->cmd.argc > 0 && !ac_redis_command_allowed(c->args[0]))
		ac_cfg_error(cx, cp, "%s is not allowed: allclear sends read commands only (%s)",
			     c->args[0], ac_redis_allowlist_text());
}

#define RC(member) offsetof(struct redis_config, member)
static const struct ac_field redis_fields[] = {
    {"redis", AC_FT_ENTRY, true, RC(srv), "a server under \"redis\"", .section = "redis"},
    {"command", AC_FT_CUSTOM, true, 0, "[\"ZCARD\", \"retry\"]", AC_SHAPE_STRINGS,
     .read = read_command},
    {"expect", AC_FT_COMPARISON, true, RC(expect), "{\"<=\": 10} or {\"between\": [a, b]}",
     .expect = AC_EXPECT_ONE},
    {"require_key", AC_FT_BOOL, false, RC(require_key), "the key must exist (default for counts)"},
};

static void *redis_configure(struct ac_cfg *cx, const cJSON *obj, const char *path)
{
	struct redis_config *c = ac_calloc(1, sizeof(*c));
	size_t before = cx->nerrors;
	ac_cfg_read(cx, obj, path, redis_fields, AC_ARRAY_LEN(redis_fields), c);
	/* A count of a key that does not exist is 0: for counts, by default,
	 * the key must exist (a typo in its name is not an empty queue). */
	if (!ac_json_get(obj, "require_key"))
		c->require_key = c->cmd.argc > 1 && is_count(c->args[0]);
	c->require_key = c->require_key && c->cmd.argc > 1;
	if (cx->nerrors != before || !c->srv) {
		redis_config_destroy(c);
		return NULL;
	}
	return c;
}

static void on_replies(void *ud, redisReply **replies, size_t n, const char *error)
{
	struct redis_run *rr = ud;
	struct ac_probe_run *run = rr->run;
	const struct redis_config *c = run->check->config;
	struct ac_sample *s = &run->sample;
	run->state = NULL;
	free(rr);
	if (error) {
		ac_sample_set(s, AC_STATE_ERROR, "%s", error);
		ac_probe_finish(run);
		return;
	}
	const redisReply *v = replies[n - 1];
	if (c->require_key && replies[0]->type == REDIS_REPLY_INTEGER && replies[0]->integer == 0) {
		ac_sample_set(s, AC_STATE_ERROR,
			      "key \"%s\" absent: %s would answer 0, which is not a measurement "
			      "(wrong key, prefix or database?)",
			      c->args[1], c->args[0]);
		ac_probe_finish(run);
		return;
	}
	double d = NAN;
	if (v->type == REDIS_REPLY_INTEGER)
		d = (double)v->integer;
	else if ((v->type == REDIS_REPLY_STRING || v->type == REDIS_REPLY_STATUS) &&
		 ac_parse_double(v->str, &d) < 0)
		d = NAN;
	if (v->type == REDIS_REPLY_ERROR) {
		char *ex = ac_mask_excerpt(run->mask, v->str, v->len, 200);
		ac_sample_set(s, AC_STATE_ERROR, "redis answered an error: %s", ex);
		free(ex);
	} else if (v->type == REDIS_REPLY_NIL) {
		ac_sample_set(s, AC_STATE_ERROR, "no measurement: %s answered nil", c->args[0]);
	} else if (!isfinite(d)) {
		ac_sample_set(s, AC_STATE_ERROR, "no measurement: %s did not answer a number",
			      c->args[0]);
	} else if (d < 0 && answers_count(c->args[0])) {
		ac_sample_set(s, AC_STATE_ERROR,
			      "no measurement: %s answered %.15g, and a count is never below zero",
			      c->args[0], d);
	} else {
		s->has_value = true;
		s->value = d;
		if (ac_expect_holds(&c->expect, d)) {
			ac_sample_set(s, AC_STATE_PASS, NULL);
		} else {
			char *what = c->cmd.argc > 1 ? ac_asprintf("%s %s:", c->args[0], c->args[1])
						     : ac_asprintf("%s:", c->args[0]);
			char *got = ac_expect_num_text(d);
			char *why = ac_expect_fail_text(what, got, &c->expect, "");
			ac_sample_set(s, AC_STATE_FAIL, "%s", why);
			free(why);
			free(got);
			free(what);
		}
	}
	ac_probe_finish(run);
}

static void redis_start(struct ac_probe_run *run)
{
	const struct redis_config *c = run->check->config;
	struct redis_run *rr = ac_calloc(1, sizeof(*rr));
	rr->run = run;
	run->state = rr;
	struct ac_redis_cmd cmds[2];
	size_t n = 0;
	if (c->require_key) {
		cmds[n].argc = 2;
		cmds[n].argv[0] = "EXISTS";
		cmds[n].argv[1] = c->args[1];
		n++;
	}
	cmds[n++] = c->cmd;
	rr->batch =
	    ac_redis_batch_start(run->services, c->srv, cmds, n, run->deadline_ms, on_replies, rr);
}

static void redis_abort(struct ac_probe_run *run)
{
	struct redis_run *rr = run->state;
	if (!rr)
		return;
	ac_redis_batch_cancel(run->services, rr->batch);
	run->state = NULL;
	free(rr);
	ac_sample_set(&run->sample, AC_STATE_ERROR, "redis: %s",
		      run->interrupted ? run->interrupted : "no answer before the deadline");
	ac_probe_finish(run);
}

const struct ac_probe_kind ac_probe_redis = {
    .name = "redis",
    .summary = "one read-only Redis command and what its answer must be",
    .section = "checks",
    .per_target = false,
    .fields = redis_fields,
    .nfields = AC_ARRAY_LEN(redis_fields),
    .configure = redis_configure,
    .config_destroy = redis_config_destroy,
    .start = redis_start,
    .abort = redis_abort,
};
