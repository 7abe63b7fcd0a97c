#include "analysis/perplexity.h"

#include <chrono>
#include <cmath>

#include "common/error.h"
#include "analysis/window_batches_internal.h"
#include "model/transformer_internal.h"

namespace ls {

PerplexityResult runPerplexity(const Model& model, const Dataset& data,
                               const PerplexityParams& params, Progress& progress,
                               const std::function<void(const TokenLoss&)>& perToken) {
    const auto start = std::chrono::steady_clock::now();
    const std::vector<Window> windows = prepareWindows(model.config(), data, params.windows);
    const std::vector<int32_t>& tokens = data.tokens;
    int64_t totalScored = 0;
    for (const auto& w : windows) totalScored += w.scoredCount();

    PerplexityResult result;
    result.losses.reserve(static_cast<size_t>(totalScored));
    double lossSum = 0.0;
    progress.setStage("Evaluating " + std::to_string(windows.size()) + " windows");
    progress.setFraction(0.0);

    torch::InferenceMode guard;
    forEachWindowBatch(windows, tokens, progress, [&](const WindowBatch& batch) {
        const int64_t S = batch.scoredPerWindow();
        ForwardOptions options = scoredLogits(batch);
        // The time split reads the clock at the forward's observation points: the residual
        // after the embedding and after each block, the stream after each attention.
        using Clock = std::chrono::steady_clock;
        Clock::time_point mark = Clock::now();
        auto lap = [&mark](double& into) {
            const Clock::time_point now = Clock::now();
            into += std::chrono::duration<double>(now - mark).count();
            mark = now;
        };
        if (params.timeSplit) {
            options.observeResidual = [&](int layer, const torch::Tensor&) {
                lap(layer == 0 ? result.split.embedding : result.split.mlp);
            };
            options.observePostAttention = [&](int, const torch::Tensor&) { lap(result.split.attention); };
        }
        torch::Tensor logits = model.impl().forward(batch.ids, options);     // (B, S, V)
        torch::Tensor losses = tokenLosses(logits, scoredTargets(batch));  // (B, S) nats
        if (params.timeSplit) lap(result.split.headLoss);
        const float* lossData = losses.data_ptr<float>();
        for (int64_t b = 0; b < batch.size; ++b) {
            const Window& w = windows[batch.first + b];
            for (int64_t s = 0; s < S; ++s) {
                const float loss = lossData[b * S + s];
                lossSum += loss;
                result.losses.push_back(loss);
                if (perToken) {
                    TokenLoss tl;
                    tl.window = static_cast<int64_t>(batch.first + b);
                    tl.position = static_cast<int>(batch.firstScored - 1 + s);
                    tl.tokenId = tokens[w.begin + tl.position];
                    tl.targetIndex = w.begin + tl.position + 1;
                    tl.targetId = tokens[tl.targetIndex];
                    tl.loss = loss;
                    perToken(tl);
                }
            }
        }
        progress.setFraction(static_cast<double>(result.losses.size()) / static_cast<double>(totalScored));
    });

    result.tokens = static_cast<int64_t>(result.losses.size());
    result.windows = static_cast<int64_t>(windows.size());
    result.meanLoss = lossSum / static_cast<double>(result.tokens);
    result.ppl = std::exp(result.meanLoss);
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    result.tokensPerSecond = result.seconds > 0 ? result.tokens / result.seconds : 0.0;
    return result;
}

}  // namespace ls
