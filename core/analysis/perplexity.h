#pragma once
// Perplexity with sliding windows (see data/windows.h for which tokens are scored).
// Streams window by window: memory is the model plus one window's activations plus one
// float per scored token (the per-token losses the histogram needs).
#include <cstdint>
#include <functional>
#include <vector>

#include "common/progress.h"
#include "data/dataset.h"
#include "data/windows.h"

namespace ls {

class Model;

struct PerplexityParams {
    WindowParams windows;
    bool timeSplit = false;  // fill PerplexityResult::split (clock reads between the blocks' halves)
};

// Where the evaluation's time went, in seconds (timeSplit only; benchmarks print it).
struct EvalTimeSplit {
    double embedding = 0.0;  // token (+ position) embedding
    double attention = 0.0;  // every block's norm, q/k/v, attention and output projection
    double mlp = 0.0;        // every block's norm and MLP
    double headLoss = 0.0;   // final norm, the vocabulary projection and the loss
};

// One scored prediction: at `position` of window `window`, token `tokenId` predicts `targetId`.
struct TokenLoss {
    int64_t window = 0;
    int position = 0;
    int32_t tokenId = 0;
    int32_t targetId = 0;
    int64_t targetIndex = 0;  // index of the target token in the dataset's stream
    float loss = 0.f;  // -log softmax(logits)[target], nats
};

struct PerplexityResult {
    int64_t tokens = 0;            // scored predictions
    int64_t windows = 0;           // windows evaluated
    double meanLoss = 0.0;         // nats
    double ppl = 0.0;              // exp(meanLoss)
    double seconds = 0.0;
    double tokensPerSecond = 0.0;  // scored tokens / second
    std::vector<float> losses;     // (tokens,) in stream order
    EvalTimeSplit split;           // zeros unless params.timeSplit
};

// Calls perToken (if set) for each scored prediction in stream order, from the calling
// thread. Throws ls::Canceled if progress.isCanceled() between windows, ls::Error on
// bad input (seq_len beyond the model's context, ids outside the vocabulary, no tokens).
PerplexityResult runPerplexity(const Model& model, const Dataset& data,
                               const PerplexityParams& params, Progress& progress,
                               const std::function<void(const TokenLoss&)>& perToken = {});

}  // namespace ls
