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
	int width; /* terminal columns (0: 80); the caller updates it on SIGWINCH */
	int lines; /* lines drawn last time, to redraw over them */
};

/* Draw the state after a round. */
void ac_live_round(struct ac_live *lv, const struct ac_result *r, int64_t time_left_ms,
		   int64_t now_wall_ms);

/* text (a check id, "checkout @ edge-eu") in at most cols columns: whole
 * when it fits, else cut in the middle of the name with "..." (or "\u2026"
 * with utf8), keeping the " @ target" end, so the checks of one journey
 * on several targets stay apart. The caller frees it. */
char *ac_live_fit(const char *text, size_t cols, bool utf8);

/* The recent values of a history as a sparkline (states when no values). */
void ac_live_sparkline(const struct ac_history *h, char *out, size_t n, bool utf8);

#endif
