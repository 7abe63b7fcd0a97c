#pragma once
// The window loop every model-running analysis shares (core .cpp files only: LibTorch).
#include <torch/torch.h>

#include <functional>
#include <vector>

#include "common/progress.h"
#include "data/dataset.h"
#include "data/windows.h"
#include "model/model.h"
#include "model/transformer_internal.h"

namespace ls {

// Checks the windows against the model (seq_len within the context, ids inside the
// vocabulary, something to score) and makes them. Throws ls::Error naming the problem.
// Every window of the run (a shard's are a range of them: shardWindowRange).
std::vector<Window> prepareWindows(const ModelConfig& config, const Dataset& data, const WindowParams& params);
// The windows this run computes: params.shard's range of prepareWindows (all when unsharded),
// and the index of the first in the run's list.
struct ShardWindows {
    std::vector<Window> all, mine;
    size_t first = 0;
};
ShardWindows prepareShardWindows(const ModelConfig& config, const Dataset& data, const WindowParams& params);

// Consecutive windows with the same length and scored range, run as one batch.
struct WindowBatch {
    size_t first = 0;        // index of the batch's first window
    int64_t size = 0;        // B windows
    int64_t length = 0;      // T tokens per window
    int64_t firstScored = 1; // positions [firstScored - 1, T - 1) predict tokens [firstScored, T)
    torch::Tensor ids;       // (B, T) int64
    int64_t scoredPerWindow() const { return length - firstScored; }  // S
};

// Calls fn for every batch in window order (windowBatchRanges in data/windows.h). Throws ls::Canceled between batches
// when progress is canceled.
void forEachWindowBatch(const std::vector<Window>& windows, const std::vector<int32_t>& tokens, Progress& progress,
                        const std::function<void(const WindowBatch&)>& fn);

// Forward options that compute logits only for the batch's scored positions (B, S, V).
ForwardOptions scoredLogits(const WindowBatch& batch);
// The batch's targets: (B, S) int64.
inline torch::Tensor scoredTargets(const WindowBatch& batch) {
    return batch.ids.narrow(1, batch.firstScored, batch.scoredPerWindow());
}

// Per-token loss -log softmax(logits)[target]: logits (..., V), targets (...) int64 -> (...) float32.
torch::Tensor tokenLosses(const torch::Tensor& logits, const torch::Tensor& targets);

// Sum over the batch of -log p(target) in float64: logits (B, S, V) from scoredLogits.
double lossSum(const torch::Tensor& logits, const WindowBatch& batch);

// Every head's mean output (before the output projection) over exactly the windows' scored
// positions, unmodified model: (L, H, hd) float32 (ablation_scan.cpp). Reports 0..1.
torch::Tensor meanHeadOutputs(const Model::Impl& m, const std::vector<Window>& windows, const Dataset& data, Progress& progress);

}  // namespace ls
