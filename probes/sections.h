/*
 * sections.h: top-level scenario sections owned by a probe module.
 *
 * "databases" (src/pg.c) and "redis" (src/redis.c) name the servers that
 * checks refer to. The loader parses each entry once, at load time, into
 * the module's own type, and keeps the table on the plan; a check holds a
 * pointer to its entry (ac_section_find) and never reads the section's
 * JSON again. Every problem in a section is reported once, by its entry.
 *
 * "personas" (probes/http_config.c) is a section too: a persona's login
 * steps and headers are read once; each journey that names it points to it
 * and runs its login steps before its own.
 */
#ifndef AC_SECTIONS_H
#define AC_SECTIONS_H

#include <cjson/cJSON.h>

#include "cfg.h"

struct ac_section {
	const char *key; /* top-level key; NULL ends the table */
	/* Parse one named entry (path "databases.main"); NULL after reporting
	 * its problems. The entry is owned by the plan from then on. */
	void *(*load_entry)(struct ac_cfg *cx, const cJSON *entry, const char *name,
			    const char *path);
	void (*destroy_entry)(void *entry);
	/* "database", "Redis server": for messages */
	const char *what;
	/* An entry's keys, for `allclear schema` (src/schema.c), and whether
	 * an entry may also be written as one string (a DSN, a URL). */
	const struct ac_field *(*fields)(size_t *n);
	enum ac_shape shape; /* AC_SHAPE_OBJECT or AC_SHAPE_STRING_OR */
};

extern const struct ac_section ac_sections[];

/* The entries of one loaded section, in file order. entries[i] is NULL for
 * an entry that had errors (already reported). */
struct ac_section_table {
	const struct ac_section *section;
	char **names;
	void **entries;
	size_t n;
};

/* Load every section of root into plan->sections (one table per row of
 * ac_sections, in order). */
void ac_sections_load(struct ac_cfg *cx, const cJSON *root);
void ac_sections_destroy(struct ac_plan *plan);

/* The entry a check names (name: the JSON value of its "database" or
 * "redis" key, at path). NULL when the name is not a string or not defined
 * (reported here, with a suggestion) or when the entry had errors
 * (reported once already, so not again). */
/* The table of a section (abort()s for a key no row declares: a bug). */
const struct ac_section_table *ac_section_table_of(const struct ac_plan *plan, const char *key);
/* Whether the section defines name (nothing reported). */
bool ac_section_has(const struct ac_plan *plan, const char *key, const char *name);

const void *ac_section_find(struct ac_cfg *cx, const char *key, const cJSON *name,
			    const char *path);

#endif
