#pragma once
// Saturation through the logit lens (spec section 2, seed 000). top1_l = argmax W norm_f(h_l).
// Plain C++: summaries of the per-token top-1 ids a capture pass kept.
#include <cstdint>
#include <string>
#include <vector>

#include "analysis/analysis_result.h"
#include "io/table.h"

namespace ls {

struct CaptureResult;

struct SaturationLayer {
    int layer = 0;
    int64_t saturated = 0;  // tokens with top1_l == top1_L
    double rate = 0;        // saturated / tokens
    double satLoss = 0;     // mean loss of the saturated tokens (NaN if none)
    double unsatLoss = 0;   // mean loss of the others (NaN if none)
};

struct SaturationResult : AnalysisResult {
    int numLayers = 0;
    int64_t tokens = 0;
    std::vector<SaturationLayer> layers;         // l = 0..L (0 = the embeddings' lens)
    std::vector<SaturationLayer> postAttention;  // l = 1..L, lens on a_l (empty unless captured)
    // A token's saturation layer: the smallest l in 1..L with top1_k == top1_L for all k >= l.
    std::vector<int32_t> saturationLayer;        // (N)
    std::vector<int64_t> histogram;              // [l-1] = tokens whose saturation layer is l
};

// Throws ls::Error if the capture holds no lens top-1 ids.
SaturationResult analyseSaturation(const CaptureResult& capture);

// saturation_layers, saturation_histogram, and saturation_post_attention when captured;
// with perToken also saturation_tokens (target_index, target_id, loss, saturation_layer,
// final_top1).
std::vector<Table> saturationTables(const SaturationResult& result, const CaptureResult& capture,
                                    bool perToken = false);

// The lens top-1's method, from its name: "auto", "full" (the float32 projection), "int8" or
// "lowrank:R" (the certified exact top-1 by that approximation; R in 1..hiddenSize). Throws
// ls::Error for another name or a rank out of range. (The capture pass refuses int8 on a CPU
// without VNNI.)
struct LensMethod {
    enum class Kind { Auto, Full, Int8, LowRank } kind = Kind::Auto;
    int rank = 0;  // LowRank only
};
LensMethod parseLensMethod(const std::string& name, int hiddenSize);

}  // namespace ls
