/*
 * report.h: writers turn a const result tree into text.
 *
 * One file per format under report/, one row in the writer table
 * (report/writers.c). A writer is a pure function of a const tree: it
 * reads only the result (result.h), never the plan, and never changes it.
 * Everything in the tree was masked before it got there (the engine masks
 * samples, plan text and the judge's reasons); writers escape, per format,
 * what could drive a terminal or break the document.
 */
#ifndef AC_REPORT_H
#define AC_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "result.h"

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
/* The check's area, "?" when the tree has none. */
const char *ac_report_area_name(const struct ac_check_result *cr);
/* The check's owner, "unassigned" when it has none. */
const char *ac_report_owner(const struct ac_check_result *cr);
/* One more than the highest area_order of the checks: writers walk
 * areas 0 .. n-1 to list checks in recovery order. */
int ac_report_area_count(const struct ac_result *r);

/* Journey error rate per persona over the window: the share of journey
 * runs (samples of checks with a persona) that did not pass. */
struct ac_persona_stat {
	const char *persona;
	size_t runs, failed, unmeasured;
};
/* One entry a persona, in check order (*np of them); the caller frees it. */
struct ac_persona_stat *ac_report_persona_stats(const struct ac_result *r, size_t *np);

/* Text for XML and HTML (JUnit, the HTML page): control characters and
 * bytes that are not UTF-8 escaped visibly, then & < > " ' as entities;
 * with lines, newlines and tabs are kept (report/writers.c). */
void ac_report_markup(FILE *out, const char *s, bool lines);

/* Markdown text, escaped: no markup, no line breaks, control characters
 * and bytes that are not UTF-8 shown escaped (report/markdown.c). */
void ac_report_md(FILE *out, const char *s);

/* The incident note's parts for people (report/note.c): what users may
 * still see and what works again, by persona; the timeline; the customer
 * and support drafts. */
void ac_report_note_users(FILE *out, const struct ac_result *r);
void ac_report_note_timeline(FILE *out, const struct ac_result *r);
void ac_report_note_drafts(FILE *out, const struct ac_result *r);

/* Next steps from the release map (report/nextsteps.c). A part is to do
 * when one of its checks fails, not measured when none fails but one could
 * not measure (never done), done when every check passes (green_since:
 * when the last of them went green), unproven when it has no checks. */
enum ac_part_status { AC_PART_TODO, AC_PART_UNMEASURED, AC_PART_DONE, AC_PART_UNPROVEN };
enum ac_part_status ac_report_part_status(const struct ac_result *r, const struct ac_result_part *p,
					  int64_t *green_since);
/* The evidence of a part: each check that did not pass, one line each
 * ("FAIL id: reason", after indent); a journey failing alike on several
 * targets is one line ("FAIL name @ edge-us, edge-eu: reason"). */
char *ac_report_part_evidence(const struct ac_result *r, const struct ac_result_part *p,
			      const char *indent);
/* "todo", "not measured", "done", "unproven" */
const char *ac_report_part_status_name(enum ac_part_status s);
/* The "Next steps" section, in the map's order; nothing without a map. */
void ac_report_next_steps_terminal(FILE *out, const struct ac_result *r, bool color);
void ac_report_next_steps_markdown(FILE *out, const struct ac_result *r);

#endif
