#pragma once
// run --plan: what a run will cost on this machine before it runs: wall time, peak memory and
// run-file size, whole and in N shards. A short calibration runs the same analyses with the
// same parameters on the run's first window batches (the real code, timed and measured); the
// plan scales its per-token costs to the run's tokens and adds the fixed ones (hashing the
// inputs, the head's factors, the lens method's choice) and the probes (whose sample is capped,
// so they scale with the sample, not the data). docs/sharding.md reports how close it comes.
#include <cstdint>
#include <string>
#include <vector>

#include "analysis/layer_run.h"

namespace ls {

class Model;
class Progress;
struct Dataset;

struct ShardPlan {
    int count = 0;           // N
    int64_t tokens = 0;      // the largest shard's scored tokens
    double seconds = 0;      // its wall time
    int64_t peakBytes = 0;   // its peak resident memory
    int64_t fileBytes = 0;   // its run file
};

struct RunPlan {
    std::string analyses;                      // "cossim,saturation"
    int64_t windows = 0, tokens = 0, batches = 0;
    int64_t calibrationWindows = 0, calibrationTokens = 0;
    double calibrationSeconds = 0;             // the plan's own work
    // The estimate's parts (seconds): fixed, per scored token (passes and summaries), the probes,
    // and per token of the mean-ablation pass that every shard runs over all of the data.
    double setupSeconds = 0, secondsPerToken = 0, probeSeconds = 0, meanPassSecondsPerToken = 0;
    double seconds = 0;                        // the whole run on this machine
    int64_t residentBeforeBytes = 0;           // the process with the model loaded, before the run
    int64_t bytesPerToken = 0;                 // what the run keeps per scored token
    int64_t peakBytes = 0;                     // the run's peak resident memory
    int64_t fileBytes = 0;                     // its run file (--out)
    double mergeSeconds = 0;                   // merging shards (reading them, the probes)
    std::vector<ShardPlan> shards;             // N = 2, 4, 8, ... up to the batches, and the asked N
    std::string shardRefusal;                  // why these analyses cannot run in shards (then no rows)
};

// params as for runLayerAnalyses (resolved here); askedShards: an N to include (0: none).
// Throws what the run would throw for bad parameters or input, ls::Canceled.
RunPlan planLayerRun(const Model& model, const Dataset& data, LayerRunParams params, int askedShards,
                     Progress& progress);

// The plan as text for a terminal (and the GUI), and as JSON.
std::string planText(const RunPlan& plan);
std::string planJson(const RunPlan& plan);

// "1 h 05 min", "3 min 12 s", "8.4 s".
std::string formatDuration(double seconds);

}  // namespace ls
