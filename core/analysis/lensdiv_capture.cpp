// Lens divergence inside the capture pass (the model half of analysis/lensdiv.h).
// Shapes: M scored tokens of a batch, C <= 256 of them at a time, D hidden, V vocabulary.
#include <algorithm>

#include "analysis/layer_run.h"
#include "analysis/lensdiv.h"
#include "analysis/runners_internal.h"
#include "analysis/tuned_lens_internal.h"
#include "model/transformer_internal.h"

namespace ls {

namespace {

// Rows of (C, V) logits at a time: the batch's (M, V) would be M x V floats per layer.
constexpr int64_t kChunk = 256;

class LensDivObserver : public CaptureObserver {
public:
    LensDivObserver(const Model::Impl& model, const TunedLens* tuned, bool postAttention)
        : m_(model), lens_(model, tuned), postAttention_(postAttention) {
        const int L = m_.config.numLayers;
        auto addRow = [this](int layer, const char* stage) {
            LensDivRow row;
            row.layer = layer;
            row.stage = stage;
            rows_.push_back(std::move(row));
        };
        for (int l = 0; l <= L; ++l) addRow(l, "block");
        if (postAttention_)
            for (int l = 1; l <= L; ++l) addRow(l, "attention");
        sums_.assign(rows_.size(), {});
        normed_.resize(rows_.size());
    }

    bool wantsPostAttention() const override { return postAttention_; }
    void residual(int layer, const torch::Tensor& h) override { normed_[layer] = lens_.normed(LensStage::Block, layer, h); }
    void postAttention(int layer, const torch::Tensor& a) override {
        normed_[m_.config.numLayers + layer] = lens_.normed(LensStage::Attention, layer, a);
    }

    void endBatch(const torch::Tensor& targets) override {
        const int L = m_.config.numLayers;
        const int64_t M = targets.size(0);
        for (int64_t from = 0; from < M; from += kChunk) {
            const int64_t C = std::min(kChunk, M - from);
            const torch::Tensor target = targets.narrow(0, from, C).unsqueeze(-1);  // (C, 1)
            const torch::Tensor finalZ = m_.headLogits(normed_[L].narrow(0, from, C));  // (C, V)
            const torch::Tensor finalLogp = torch::log_softmax(finalZ, -1);
            const torch::Tensor finalP = finalLogp.exp();
            for (size_t i = 0; i < rows_.size(); ++i) {
                // Block L's row is the model's output itself (its KL is 0 by construction).
                const bool isFinal = i == static_cast<size_t>(L);
                const torch::Tensor z = isFinal ? finalZ : m_.headLogits(normed_[i].narrow(0, from, C));
                const torch::Tensor logp = isFinal ? finalLogp : torch::log_softmax(z, -1);
                const torch::Tensor kl = (finalP * (finalLogp - logp)).sum(-1);  // (C)
                const torch::Tensor ce = -logp.gather(-1, target).squeeze(-1);
                const torch::Tensor entropy = -(logp.exp() * logp).sum(-1);
                const torch::Tensor correct = z.argmax(-1).eq(target.squeeze(-1));
                const torch::Tensor klc = kl.contiguous();
                rows_[i].tokenKl.insert(rows_[i].tokenKl.end(), klc.data_ptr<float>(), klc.data_ptr<float>() + C);
                Sums& s = sums_[i];
                s.kl += kl.sum(torch::kFloat64).item<double>();
                s.crossEntropy += ce.sum(torch::kFloat64).item<double>();
                s.entropy += entropy.sum(torch::kFloat64).item<double>();
                s.correct += correct.sum().item<int64_t>();
            }
        }
        tokens_ += M;
        for (torch::Tensor& t : normed_) t = torch::Tensor();
    }

    std::shared_ptr<const AnalysisResult> finish() override {
        auto r = std::make_shared<LensDivResult>();
        r->numLayers = m_.config.numLayers;
        r->tokens = tokens_;
        const double n = static_cast<double>(std::max<int64_t>(tokens_, 1));
        for (size_t i = 0; i < rows_.size(); ++i) {
            LensDivRow& row = rows_[i];
            row.klToFinal = sums_[i].kl / n;
            row.crossEntropy = sums_[i].crossEntropy / n;
            row.entropy = sums_[i].entropy / n;
            row.top1Accuracy = static_cast<double>(sums_[i].correct) / n;
            r->rows.push_back(std::move(row));
        }
        return r;
    }

private:
    struct Sums {
        double kl = 0, crossEntropy = 0, entropy = 0;
        int64_t correct = 0;
    };
    const Model::Impl& m_;
    LensReader lens_;  // the run's lens (logit or tuned)
    bool postAttention_;
    int64_t tokens_ = 0;
    std::vector<LensDivRow> rows_;      // block 0..L, then attention 1..L
    std::vector<Sums> sums_;            // per row, over the batches so far
    std::vector<torch::Tensor> normed_; // per row: what the head reads of the batch's states (the lens), (M, D) float32
};

}  // namespace

AnalysisRunner lensDivRunner() {
    AnalysisRunner runner;
    runner.name = "lensdiv";
    runner.observe = [](const Model& model, const LayerRunParams& params) -> std::unique_ptr<CaptureObserver> {
        return std::make_unique<LensDivObserver>(model.impl(), params.tunedLens.get(), params.lens.postAttention);
    };
    // One projection onto the vocabulary and a log-softmax per row and token, like the lens's
    // metrics.
    runner.cost = [](const Model&, const LayerRunParams& params) { return params.lens.postAttention ? 6.0 : 3.0; };
    return runner;
}

}  // namespace ls
