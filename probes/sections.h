/*
 * sections.h: top-level scenario sections owned by a probe module.
 *
 * "databases" (src/pg.c) and "redis" (src/redis.c) name the servers that
 * checks refer to. The loader validates each section once through this
 * table; checks look entries up by name while they are configured.
 */
#ifndef AC_SECTIONS_H
#define AC_SECTIONS_H

#include <cjson/cJSON.h>

#include "cfg.h"

struct ac_section {
	const char *key; /* top-level key; NULL ends the table */
	/* Report every problem in the section (an object of named entries). */
	void (*validate)(struct ac_cfg *cx, const cJSON *section, const char *path);
};

extern const struct ac_section ac_sections[];

#endif
