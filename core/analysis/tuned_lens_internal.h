#pragma once
// The lens as the model-running code applies it (core .cpp files only: LibTorch).
#include <torch/torch.h>

#include <vector>

#include "analysis/tuned_lens.h"
#include "model/transformer_internal.h"

namespace ls {

enum class LensStage { Block = 0, Attention = 1 };
const char* lensStageName(LensStage stage);  // "block", "attention"

// The translators as A - I and b, so that an untrained translator adds exact zeros: at
// (identity, zero) the tuned lens is the logit lens bit for bit.
struct TunedLens::Translators {
    // [stage][layer]: (D, D) float32 A_l - I, or undefined where there is no translator
    // (block layer L; attention layer 0; a stage not trained).
    std::vector<torch::Tensor> delta[2];
    std::vector<torch::Tensor> bias[2];  // (D) float32

    bool has(LensStage stage, int layer) const {
        const auto& d = delta[static_cast<int>(stage)];
        return layer >= 0 && layer < static_cast<int>(d.size()) && d[layer].defined();
    }
};

// What the head reads at a layer: norm_f(h) (logit lens), or norm_f(h + (A - I) h + b) where a
// translator exists (tuned lens). (M, D) float32 -> (M, D) float32.
class LensReader {
public:
    LensReader(const Model::Impl& model, const TunedLens* tuned) : m_(model), tuned_(tuned) {}
    torch::Tensor normed(LensStage stage, int layer, const torch::Tensor& h) const;
    torch::Tensor logits(LensStage stage, int layer, const torch::Tensor& h) const {  // (M, V)
        return m_.headLogits(normed(stage, layer, h));
    }

private:
    const Model::Impl& m_;
    const TunedLens* tuned_;  // null: the logit lens
};

// The translated state h + (A - I) h + b: (M, D), delta (D, D), bias (D).
inline torch::Tensor translate(const torch::Tensor& h, const torch::Tensor& delta, const torch::Tensor& bias) {
    return h + at::linear(h, delta, bias);
}

}  // namespace ls
