/*
 * merge.h: `allclear merge`: JSON reports of shards and agents read back
 * into one result tree, judged by the run's rules (README, "Shards,
 * agents and merge").
 */
#ifndef AC_MERGE_H
#define AC_MERGE_H

#include "result.h"
#include "util.h"

/* Record where a run happened (src/shard.h): a new run id, "I/N" when
 * count > 0, the agent (NULL: the host name) and the scenario fingerprint
 * (NULL or "": none). */
void ac_merge_stamp(struct ac_result *r, int index, int count, const char *agent, const char *hash);

/* Read the reports into one tree and judge it. A report that cannot be
 * read or is not of the schema, a shard missing from an agent's set, or a
 * shard given twice makes the verdict INCONCLUSIVE, naming it. NULL (with
 * err) when there is nothing to merge into one: reports of different
 * scenarios (their fingerprints differ). */
struct ac_result *ac_merge_reports(const char *const *paths, size_t n, struct ac_error *err);

#endif
