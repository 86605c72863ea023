/* SPDX-License-Identifier: Apache-2.0 */
/* np_metrics: the operational telemetry of the guide's "Data Collection"
 * chapter (runtime, system, service health, workflow) and the threshold
 * alerts built on it. Infrastructure only: nothing here may identify a
 * patient or a host beyond the agent's own UUID. */
#ifndef NP_METRICS_H
#define NP_METRICS_H

#include <jansson.h>

struct np_err;
struct np_db;
struct np_config;

/* Collect one snapshot as a JSON object:
 *   {"agent_id","runtime","version","ts",
 *    "system":{"cpu_count","cpu_load_1m","cpu_percent","memory_total","memory_available",
 *              "memory_used_percent","swap_total","swap_free","swap_used_percent",
 *              "disk_total","disk_free","disk_free_percent","disk_read_bytes","disk_written_bytes"},
 *    "services":{NAME:{"up":bool,"seconds":N}}, "queues":{STATE:N}}
 * Sizes in bytes. Takes about 200 ms (CPU utilisation is sampled).
 * New reference or NULL with err. */
json_t *np_metrics_collect(const char *home, const struct np_config *cfg, struct np_db *db, struct np_err *err);

/* Store the snapshot's numeric values in the metrics table (name, value,
 * labels) for the UI and /metrics. */
int np_metrics_store(struct np_db *db, json_t *snapshot, struct np_err *err);

/* Compare the snapshot with notifications.thresholds and raise each alert
 * (high_cpu, high_memory, high_swap, low_disk) once when crossed, and
 * metric_recovered once when back under the threshold by a 5-point margin
 * (hysteresis). Alert state lives in the kv table. Events go to the events
 * table for np-notify. Returns the number of events raised, or -1. */
int np_metrics_alerts(struct np_db *db, const struct np_config *cfg, json_t *snapshot, struct np_err *err);

/* The agent's UUID (kv "agent_id"), created on first use. malloc'd. */
char *np_metrics_agent_id(struct np_db *db, struct np_err *err);

#endif
