/*
 * schema.h: the scenario format as a JSON Schema, made from the loader's
 * own field tables (src/scenario.c, each probe kind's table, the named
 * sections), so an editor's schema and the loader cannot drift apart.
 *
 *   allclear schema > allclear.schema.json
 *
 * What a table knows the schema says: keys (unknown keys are refused),
 * required keys, types, durations and sizes, enumerations, nested objects,
 * comparisons. Rules across fields (a step has one of json, form, body)
 * are the loader's alone: a scenario the schema accepts can still be
 * refused by `allclear lint`, never the other way round.
 */
#ifndef AC_SCHEMA_H
#define AC_SCHEMA_H

/* The schema as indented JSON text (draft 2020-12). The caller frees it. */
char *ac_schema_text(void);

#endif
