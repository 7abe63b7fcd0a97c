#pragma once
// A run computed in shards (`run --shard K/N` on N machines, then `merge`): each shard runs its
// contiguous range of the run's window batches (data/windows.h: shardWindowRange) and writes a
// normal run file whose parameters say "shard K/N". Merging checks that the files are the N
// shards of one run and builds the run a single machine makes: the per-token scalars
// concatenated in window order, counts and loss sums added, every table, histogram, ranking
// and correlation recomputed from the merged data, the probes trained on the merged sample.
#include <filesystem>
#include <vector>

#include "analysis/layer_run.h"

namespace ls {

class Progress;

struct ShardFile {
    std::filesystem::path path;
    LayerRun run;  // as readRunFile gives it
};

// Throws ls::Error naming the file and the problem when the files are not the N shards of one
// run: not a shard, interrupted (partial), another model, dataset or parameters, a shard twice
// or missing. Nothing is written here: the caller writes the result.
LayerRun mergeShardRuns(std::vector<ShardFile> shards, Progress& progress);

}  // namespace ls
