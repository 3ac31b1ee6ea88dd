/*
 * test_report.h: what the files of the report suite share: hand-built
 * result trees, writing a tree with a writer, and text checks.
 */
#ifndef AC_TEST_REPORT_H
#define AC_TEST_REPORT_H

#include <check.h>
#include <cjson/cJSON.h>
#include <string.h>

#include "../report/report.h"
#include "result.h"

#define T0 1764000000000LL /* 2025-11-24T16:00:00Z */

#define HAS(text, want)                                                                            \
	ck_assert_msg(strstr((text), (want)) != NULL, "missing %s in:\n%s", (want), (text))
#define HASNT(text, bad)                                                                           \
	ck_assert_msg(strstr((text), (bad)) == NULL, "unexpected %s in:\n%s", (bad), (text))
/* text starts with want. */
#define STARTS(text, want)                                                                         \
	ck_assert_msg(strncmp((text), (want), strlen(want)) == 0, "does not start with %s:\n%s",   \
		      (want), (text))

/* A tree of verdict v; a check with three rounds in state st (PENDING:
 * none); a failing journey step on a check's latest bad sample. */
struct ac_result *tree(enum ac_verdict v, const char *reason);
struct ac_check_result *add_check(struct ac_result *r, const char *id, const char *kind,
				  const char *area, int order, const char *owner, enum ac_state st,
				  const char *reason);
void add_failed_step(struct ac_check_result *cr);
/* RESTORED (two passes), NOT RESTORED (two failures, a pass, an error),
 * INCONCLUSIVE (TLS off, interrupted). */
struct ac_result *restored(void);
struct ac_result *not_restored(void);
struct ac_result *inconclusive(void);

/* A writer's text for r (the caller frees it). */
char *write_with(const char *format, const struct ac_result *r, const struct ac_report_opts *o);
char *write_plain(const char *format, const struct ac_result *r);
/* want appears before later in text (both present). */
void before(const char *text, const char *want, const char *later);
int count(const char *text, const char *needle);

/* The JSON writer's output, parsed, and its members. */
cJSON *json_of(const struct ac_result *r);
const cJSON *get(const cJSON *o, const char *k);
const char *str(const cJSON *o, const char *k);
double num(const cJSON *o, const char *k);

/* The live view, rates and the engine's own tree (test_report_live.c). */
void report_more_tcases(Suite *s);

#endif
