// The statistics document in the Prometheus text exposition format
// (version 0.0.4): the cache's counters as *_total counters, entries and
// bytes as gauges, the latency histograms as histograms, each sample
// labelled with the backend and the tier it belongs to ("cache" for the
// handle as a whole, "1", "2", ... for the tiers of a tiered cache, "2.1"
// for a tier of a nested tiered cache, "fallback").
#pragma once

#include <string>

struct cJSON;

namespace unicache {

// doc: the statistics document built with StatsPart details on (the
// latency parts carry their buckets).
std::string prometheus_text(const cJSON *doc);

} // namespace unicache
