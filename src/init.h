/*
 * init.h: `allclear init`, a starter scenario to fill in.
 */
#ifndef AC_INIT_H
#define AC_INIT_H

#include <stdbool.h>
#include <stdio.h>

/* Write the starter scenario (or, with from_demo, the demo's) to out_path,
 * which must not exist yet, or to stdout when out_path is NULL; what to
 * fill in goes to notes (JSON has no comments). Returns an exit code: 0,
 * or 3 after saying why on stderr. */
int ac_init_run(bool from_demo, const char *out_path, FILE *notes);

/* The notes on what to fill in, as printed. */
extern const char ac_init_notes[];

#endif
