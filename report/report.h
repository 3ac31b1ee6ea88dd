/*
 * report.h: writers turn a const result tree into text.
 *
 * One file per format under report/, one row in the writer table
 * (report/writers.c). Writers never change the tree and mask again by
 * header name, so no writer can leak what a probe captured.
 */
#ifndef AC_REPORT_H
#define AC_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "../src/result.h"

struct ac_report_opts {
	bool color;   /* ANSI colour (terminal writer) */
	bool quiet;   /* the verdict line alone */
	bool verbose; /* passing checks in detail too */
};

struct ac_writer {
	const char *name; /* "terminal", "json", "junit", "markdown" */
	const char *summary;
	int (*write)(FILE *out, const struct ac_result *r, const struct ac_report_opts *o);
};

extern const struct ac_writer *const ac_writers[];
extern const size_t ac_nwriters;
const struct ac_writer *ac_writer_find(const char *name);

/* Shared helpers for writers. */
const char *ac_report_area_name(const struct ac_check_result *cr);

/* Journey error rate per persona over the window: the share of journey
 * runs (samples of checks with a persona) that did not pass. */
struct ac_persona_stat {
	const char *persona;
	size_t runs, failed, unmeasured;
};
/* Fill up to max entries; returns how many personas there are. */
size_t ac_report_persona_stats(const struct ac_result *r, struct ac_persona_stat *out, size_t max);

#endif
