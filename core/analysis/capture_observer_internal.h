#pragma once
// An analysis's own work inside the capture pass (core .cpp files only: LibTorch types).
// The pass makes one forward per batch of windows and shows every observer the residual
// stream at the scored positions of each layer; the observer keeps per-token scalars, never
// the states past its batch. Shapes: M = scored tokens of the batch, D = hidden size.
// Layers: h_0 = embeddings, h_l = block l's output, a_l = h_{l-1} + attention_l (before the MLP).
#include <torch/torch.h>

#include <memory>

#include "analysis/analysis_result.h"

namespace ls {

class CaptureObserver {
public:
    virtual ~CaptureObserver() = default;
    // Asks the pass for a_l as well (a forward hook that costs a little).
    virtual bool wantsPostAttention() const { return false; }
    // h_l (M, D) float32, l = 0..L in order; a view of the forward's buffer: copy what is kept.
    virtual void residual(int layer, const torch::Tensor& h) = 0;
    // a_l (M, D) float32, l = 1..L, only when wantsPostAttention().
    virtual void postAttention(int layer, const torch::Tensor& a) {}
    // After the batch's last layer: the targets (M) int64 of its scored tokens.
    virtual void endBatch(const torch::Tensor& targets) = 0;
    // The result, once every batch was seen.
    virtual std::shared_ptr<const AnalysisResult> finish() = 0;
};

}  // namespace ls
