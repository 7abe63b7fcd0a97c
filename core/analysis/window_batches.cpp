#include "analysis/window_batches_internal.h"

#include "common/error.h"
#include "model/transformer_internal.h"

namespace ls {

std::vector<Window> prepareWindows(const ModelConfig& c, const Dataset& data, const WindowParams& wp) {
    if (wp.seqLen > c.maxPositions)
        throw ParamError("seq-len", std::to_string(wp.seqLen) + " exceeds the model's context of " +
                    std::to_string(c.maxPositions) + " tokens");
    const std::vector<int32_t>& tokens = data.tokens;
    if (tokens.empty()) throw Error(data.path, "the dataset has no tokens");
    const int64_t n = wp.maxTokens > 0 ? std::min<int64_t>(wp.maxTokens, tokens.size()) : tokens.size();
    checkTokenIds(c, tokens.data(), n);
    std::vector<Window> windows = makeWindows(static_cast<int64_t>(tokens.size()), data.documentStarts, wp);
    if (windows.empty())
        throw Error(data.path, "too few tokens to score (" + std::to_string(n) + " tokens" +
                                   (wp.respectDocuments ? ", no document has 2" : "") + ")");
    return windows;
}

ShardWindows prepareShardWindows(const ModelConfig& c, const Dataset& data, const WindowParams& wp) {
    ShardWindows w;
    w.all = prepareWindows(c, data, wp);
    const auto [first, end] = shardWindowRange(w.all, wp.shard);
    w.first = first;
    w.mine.assign(w.all.begin() + static_cast<std::ptrdiff_t>(first), w.all.begin() + static_cast<std::ptrdiff_t>(end));
    return w;
}

void forEachWindowBatch(const std::vector<Window>& windows, const std::vector<int32_t>& tokens, Progress& progress,
                        const std::function<void(const WindowBatch&)>& fn) {
    for (const auto& [i, j] : windowBatchRanges(windows)) {
        if (progress.isCanceled()) throw Canceled();
        WindowBatch batch;
        batch.first = i;
        batch.size = static_cast<int64_t>(j - i);
        batch.length = windows[i].length;
        batch.firstScored = windows[i].firstScored;
        batch.ids = torch::empty({batch.size, batch.length}, torch::kInt64);  // (B, T)
        auto acc = batch.ids.accessor<int64_t, 2>();
        for (int64_t b = 0; b < batch.size; ++b)
            for (int64_t t = 0; t < batch.length; ++t) acc[b][t] = tokens[windows[i + b].begin + t];
        fn(batch);
    }
}

torch::Tensor tokenLosses(const torch::Tensor& logits, const torch::Tensor& targets) {
    // log_softmax is one fused pass over the logits; logsumexp takes ~25% longer.
    return -torch::log_softmax(logits, -1).gather(-1, targets.unsqueeze(-1)).squeeze(-1).contiguous();
}

ForwardOptions scoredLogits(const WindowBatch& batch) {
    ForwardOptions o;
    o.logitsFrom = batch.firstScored - 1;
    o.logitsTo = batch.length - 1;
    return o;
}

double lossSum(const torch::Tensor& logits, const WindowBatch& batch) {
    return tokenLosses(logits, scoredTargets(batch)).to(torch::kFloat64).sum().item<double>();
}

}  // namespace ls
