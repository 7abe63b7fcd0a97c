#pragma once
// Cos-sim per layer (spec section 1, seed 001): c_l(t) = cos(h_{l-1}(t), h_l(t)), block l's
// input residual stream against its output, l = 1..L (layer 1 = the first block).
// Plain C++: summaries of the per-token values a capture pass kept.
#include <string>
#include <vector>

#include "analysis/analysis_result.h"
#include "io/table.h"
#include "stats/histogram.h"
#include "stats/summary.h"

namespace ls {

struct CaptureResult;

// Which residual streams layer l compares, for every label in the GUI, CLI and files:
// finalNormLast says whether layer L's output is taken with the final norm (LayerRunParams).
std::string cossimCompared(bool finalNormLast);

struct CossimParams {
    int layer = 0;                                  // exit layer for thresholds, 1..L (the run's layer)
    std::vector<double> hardRatios{0.3, 0.5, 0.7};  // each in (0, 1)
    int bins = 60;                                  // histogram bins over the common range (the run's bins)
    double specialDrop = 0.1;                       // see CossimLayer::special
    bool finalNormLast = false;                     // c_L = cos(h_{L-1}, norm_f(h_L)) (the run's)
};

struct CossimLayer {
    int layer = 0;  // 1..L
    Summary summary;         // mean, std (ddof 0), min, p10, p25, p50, p75, p90, max
    double fracNegative = 0;  // fraction with c < 0
    double fracBelowHalf = 0; // fraction with c < 0.5
    // Special-layer rule: the median of the means of layers l-2, l-1, l+1, l+2 (those that
    // exist) minus this layer's mean is the drop; the layer is special iff drop > specialDrop.
    double neighbourMedian = 0;
    bool special = false;
};

// Tokens with c_l < threshold are hard (keep computing); the rest exit.
struct CossimThreshold {
    int layer = 0;
    double hardRatio = 0;     // r
    double threshold = 0;     // the r-quantile of c_l (numpy linear)
    double exitFraction = 0;  // fraction of tokens with c_l >= threshold
};

struct CossimResult : AnalysisResult {
    std::vector<CossimLayer> layers;         // l = 1..L
    std::vector<Histogram> histograms;       // [l-1], all over the same range (global min..max)
    std::vector<std::vector<float>> sorted;  // [l-1]: c_l ascending, for sliders (no recompute)
    CossimParams params;                     // with the layer resolved
    std::vector<CossimThreshold> thresholds; // at params.layer, one per hard ratio

    int numLayers() const { return static_cast<int>(layers.size()); }
};

// Throws ls::Error for a layer outside 1..L or a hard ratio outside (0, 1).
CossimResult analyseCossim(const CaptureResult& capture, const CossimParams& params);

// Threshold and exit fraction for any layer and hard ratio, from the sorted values
// (O(log N): what the sliders call).
CossimThreshold cossimThreshold(const CossimResult& result, int layer, double hardRatio);

// cossim_layers, cossim_thresholds, cossim_histograms, cossim_special.
std::vector<Table> cossimTables(const CossimResult& result);

}  // namespace ls
