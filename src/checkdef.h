/*
 * checkdef.h: the check definitions of a scenario ("journeys" and
 * "checks") into the plan's checks. Internal to the loader: scenario.c
 * calls it once the variables, settings, targets and sections are loaded.
 */
#ifndef AC_CHECKDEF_H
#define AC_CHECKDEF_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "cfg.h"
#include "scenario.h"

/* Every definition under "journeys", then under "checks", of root: its
 * kind, the fields every check has, the kind's configuration (kept in
 * plan->configs), one check per target for journeys. Then names unique
 * across definitions and no agree group with a single member. Problems go
 * to cx. */
void ac_checkdefs_load(struct ac_cfg *cx, const cJSON *root);

/* Free the plan's checks and the kinds' configurations (before the
 * sections they point into). */
void ac_checkdefs_release(struct ac_plan *plan);

/* The keys every check has, whatever its kind ("check" in `allclear
 * schema`). */
const struct ac_field *ac_checkdef_fields(size_t *n);

#endif
