#include "analysis/perplexity.h"

#include <chrono>
#include <cmath>

#include "common/error.h"
#include "model/transformer_internal.h"

namespace ls {

namespace {

// Windows of equal shape run as one batch of up to this many tokens: small windows
// (seq_len 128) would otherwise leave BLAS with skinny matrices.
constexpr int64_t kBatchTokens = 1024;

}  // namespace

PerplexityResult runPerplexity(const Model& model, const Dataset& data,
                               const PerplexityParams& params, Progress& progress,
                               const std::function<void(const TokenLoss&)>& perToken) {
    const ModelConfig& c = model.config();
    const auto start = std::chrono::steady_clock::now();
    WindowParams wp = params.windows;
    if (wp.seqLen > c.maxPositions)
        throw Error("--seq-len " + std::to_string(wp.seqLen) + " exceeds the model's context of " +
                    std::to_string(c.maxPositions) + " tokens");
    const std::vector<int32_t>& tokens = data.tokens;
    if (tokens.empty()) throw Error(data.path, "the dataset has no tokens");
    const int64_t n = wp.maxTokens > 0 ? std::min<int64_t>(wp.maxTokens, tokens.size()) : tokens.size();
    checkTokenIds(c, tokens.data(), n);
    const std::vector<Window> windows = makeWindows(static_cast<int64_t>(tokens.size()), data.documentStarts, wp);
    if (windows.empty())
        throw Error(data.path, "too few tokens to score (" + std::to_string(n) + " tokens" +
                                   (wp.respectDocuments ? ", no document has 2" : "") + ")");

    int64_t totalScored = 0;
    for (const auto& w : windows) totalScored += w.scoredCount();

    PerplexityResult result;
    result.losses.reserve(static_cast<size_t>(totalScored));
    double lossSum = 0.0;
    progress.setStage("Evaluating " + std::to_string(windows.size()) + " windows");
    progress.setFraction(0.0);

    torch::InferenceMode guard;
    size_t i = 0;
    while (i < windows.size()) {
        if (progress.isCanceled()) throw Canceled();
        // Batch consecutive windows with the same length and scored range.
        const Window& first = windows[i];
        size_t j = i + 1;
        const size_t maxBatch = static_cast<size_t>(std::max<int64_t>(1, kBatchTokens / first.length));
        while (j < windows.size() && j - i < maxBatch && windows[j].length == first.length &&
               windows[j].firstScored == first.firstScored)
            ++j;
        const int64_t B = static_cast<int64_t>(j - i), T = first.length;
        torch::Tensor ids = torch::empty({B, T}, torch::kInt64);  // (B, T)
        auto idsAcc = ids.accessor<int64_t, 2>();
        for (int64_t b = 0; b < B; ++b)
            for (int64_t t = 0; t < T; ++t) idsAcc[b][t] = tokens[windows[i + b].begin + t];

        // Positions p in [from, T-1) predict token p+1.
        ForwardOptions options;
        options.logitsFrom = first.firstScored - 1;
        options.logitsTo = T - 1;
        torch::Tensor logits = model.impl().forward(ids, options);  // (B, S, V), S = scored per window
        torch::Tensor targets = ids.narrow(1, first.firstScored, T - first.firstScored);  // (B, S)
        // log_softmax is one fused pass over the (B, S, V) logits; logsumexp takes ~25% longer.
        torch::Tensor losses =
            -torch::log_softmax(logits, -1).gather(-1, targets.unsqueeze(-1)).squeeze(-1).contiguous();  // (B, S) nats
        const int64_t S = losses.size(1);
        const float* lossData = losses.data_ptr<float>();
        for (int64_t b = 0; b < B; ++b) {
            const Window& w = windows[i + b];
            for (int64_t s = 0; s < S; ++s) {
                const float loss = lossData[b * S + s];
                lossSum += loss;
                result.losses.push_back(loss);
                if (perToken) {
                    TokenLoss tl;
                    tl.window = static_cast<int64_t>(i + b);
                    tl.position = static_cast<int>(first.firstScored - 1 + s);
                    tl.tokenId = tokens[w.begin + tl.position];
                    tl.targetIndex = w.begin + tl.position + 1;
                    tl.targetId = tokens[tl.targetIndex];
                    tl.loss = loss;
                    perToken(tl);
                }
            }
        }
        i = j;
        progress.setFraction(static_cast<double>(result.losses.size()) / static_cast<double>(totalScored));
    }

    result.tokens = static_cast<int64_t>(result.losses.size());
    result.windows = static_cast<int64_t>(windows.size());
    result.meanLoss = lossSum / static_cast<double>(result.tokens);
    result.ppl = std::exp(result.meanLoss);
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    result.tokensPerSecond = result.seconds > 0 ? result.tokens / result.seconds : 0.0;
    return result;
}

}  // namespace ls
