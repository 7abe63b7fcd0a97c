#pragma once
// Lens divergence: how far the logit lens at each layer is from the model's own output, the
// standard per-layer plot of logit-lens and tuned-lens papers.
// For every scored token and layer l = 0..L (0 = embeddings, l = block l's output), the lens
// of `saturation`: p_l = softmax(W norm_f(h_l)); p_L is the model's output distribution.
// Per layer, means over scored tokens of
//   KL(p_L || p_l)   = sum_v p_L(v) (log p_L(v) - log p_l(v))   [nats]
//   cross-entropy    = -log p_l(target)                           [nats]
//   entropy          = -sum_v p_l(v) log p_l(v)                   [nats]
//   top-1 accuracy   = fraction with argmax p_l == target
// Stage "attention" (with --post-attention): the same on a_l = h_{l-1} + attention_l, l = 1..L,
// still against p_L. At layer L, stage block, the KL is 0 and the cross-entropy is the model's
// mean loss. The per-token KL of every row is kept (float32) for its distribution.
#include <cstdint>
#include <string>
#include <vector>

#include "analysis/analysis_result.h"
#include "io/table.h"

namespace ls {

struct LensDivRow {
    int layer = 0;
    std::string stage;  // "block" (h_l) or "attention" (a_l)
    double klToFinal = 0, crossEntropy = 0, entropy = 0, top1Accuracy = 0;
    std::vector<float> tokenKl;  // (N) KL(p_L || p_l) per scored token, nats
};

struct LensDivResult : AnalysisResult {
    int numLayers = 0;
    int64_t tokens = 0;
    std::vector<LensDivRow> rows;  // block l = 0..L, then attention l = 1..L when asked
};

// lensdiv_layers: layer,stage,kl_to_final,cross_entropy,entropy,top1_accuracy.
Table lensDivTable(const LensDivResult& result);

}  // namespace ls
