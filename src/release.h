/*
 * release.h: the release map, the scenario's optional "release" section.
 *
 * For every part a release touched: what changed, how to undo it, who does
 * it (one owner, one backup), what must be done first ("before"), what has
 * to be restarted or purged after the undo, and which checks prove the part
 * restored. It is read once as the scenario loads (after the checks, so
 * check names and globs are resolved against them) and validated: unknown
 * checks, patterns that match nothing, unknown or cyclic "before", parts
 * without an owner and duplicate names are errors; a check no part covers
 * and a part no check proves are warnings (`allclear lint` prints them).
 *
 * The map's order is the recovery order: dependencies first ("before"),
 * ties broken by area (flags, config, jobs, data, cache, code), then by the
 * order in the file. `allclear map` prints it as a runbook; at the end of a
 * run the parts are copied into the result tree (ac_release_fill_result),
 * where the writers turn them into "Next steps".
 */
#ifndef AC_RELEASE_H
#define AC_RELEASE_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "cfg.h"
#include "scenario.h"

struct ac_result;

struct ac_release_part {
	char *name;
	int area; /* enum ac_area */
	char *changed;
	struct ac_strings undo; /* one or more steps */
	char *owner;
	char *backup;
	struct ac_strings before; /* names of parts to be done first */
	char *restart;
	struct ac_strings checks; /* names, ids or globs */
	/* Resolved at load time: */
	size_t *check_idx; /* indices into plan->checks, in plan order */
	size_t ncheck_idx;
	size_t *before_idx; /* indices into release->parts */
	size_t nbefore_idx;
};

struct ac_release {
	char *version;
	char *description;
	struct ac_release_part *parts;
	size_t nparts;
	size_t *order;	    /* the map's order: indices into parts */
	size_t *name_first; /* per plan check: the first check of its name */
	/* Warnings found while loading, one per line ("file: path: warning:
	 * message"), and how many. */
	struct ac_buf warnings;
	size_t nwarnings;
};

/* The fields of the "release" section and of one of its parts, for the
 * top-level table (src/scenario.c) and `allclear schema`. */
#define AC_RELEASE_NFIELDS 3
extern const struct ac_field ac_release_fields[AC_RELEASE_NFIELDS];

/* Read and validate obj (the "release" section, may be NULL) onto
 * cx->plan->release, after the plan's checks are loaded. */
void ac_release_load(struct ac_cfg *cx, const cJSON *obj);
void ac_release_destroy(struct ac_release *rel);

/* Print the plan's map as a one-page runbook, in the map's order: plain
 * text, or Markdown for a wiki page. Text is masked and escaped. Returns 0,
 * or -1 when writing failed. */
int ac_release_write_map(FILE *out, const struct ac_plan *plan, bool markdown);

/* Copy the map into a result the engine made from plan: the parts in the
 * map's order (r->parts) and each check's part (cr->part), masked. Does
 * nothing when the plan has no map. */
void ac_release_fill_result(const struct ac_plan *plan, struct ac_result *r);

#endif
