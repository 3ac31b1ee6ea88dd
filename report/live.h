/*
 * live.h: the live view of a run on stderr (see live.c).
 */
#ifndef AC_LIVE_H
#define AC_LIVE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "result.h"

struct ac_live {
	FILE *out;
	bool tty;   /* redraw a table; else one plain line per round */
	bool color; /* ANSI colours (off with NO_COLOR or --no-color) */
	bool utf8;  /* block-character sparklines */
	bool quiet; /* print nothing */
	int max_rows;
	int lines; /* lines drawn last time, to redraw over them */
};

/* Draw the state after a round. */
void ac_live_round(struct ac_live *lv, const struct ac_result *r, int64_t time_left_ms,
		   int64_t now_wall_ms);

/* The recent values of a history as a sparkline (states when no values). */
void ac_live_sparkline(const struct ac_history *h, char *out, size_t n, bool utf8);

#endif
