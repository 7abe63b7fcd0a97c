#pragma once
// Loss separation (spec section 3, seed 002): how well a per-token score tells easy tokens
// (low loss) from hard ones. Plain C++ over the per-token scalars of a capture pass.
//
// A predictor is a score s(t) with a direction: for "higher is easier" scores (confidence,
// max_z, max_minus_mean, margin, correct_prob) a token is easy iff s(t) >= median(s); for
// "lower is easier" scores (entropy, loss itself) easy iff s(t) <= median(s). Ties at the
// median go to the easy side (Easy % shows any imbalance). The Oracle splits on the loss
// itself. Loss Diff = mean loss(hard) - mean loss(easy); Oracle ratio = Loss Diff(s) / Loss
// Diff(Oracle); Pearson r is of the raw score with the loss (numpy corrcoef).
// Cohen's d = Loss Diff / pooled std, pooled std = sqrt(((n_e - 1) s_e^2 + (n_h - 1) s_h^2) /
// (n_e + n_h - 2)) with sample stds (ddof 1).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "analysis/analysis_result.h"
#include "analysis/probes.h"
#include "io/table.h"
#include "stats/histogram.h"
#include "stats/summary.h"

namespace ls {

struct CaptureResult;
struct LayerMetrics;

// The inference-time metrics in table order, and the answer-dependent one.
// name, higher-is-easier
struct MetricInfo {
    const char* name;
    bool higherIsEasier;
};
const std::vector<MetricInfo>& separationMetrics();  // correct_prob, confidence, max_z, max_minus_mean, margin, entropy
// The values of a metric at one layer (correct_prob = exp(correctLogProb)); throws for an unknown name.
std::vector<float> metricValues(const LayerMetrics& metrics, const std::string& name);
bool metricHigherIsEasier(const std::string& name);

struct SplitStats {
    int64_t easy = 0, hard = 0;
    double easyPct = 0, hardPct = 0;  // percent of the tokens
    double easyLoss = 0, hardLoss = 0, lossDiff = 0;
    double oracleRatio = 0;           // lossDiff / the Oracle's lossDiff
};

// easy iff score >= threshold (higherIsEasier) or score <= threshold (otherwise).
SplitStats splitByThreshold(const std::vector<float>& score, const std::vector<float>& loss, double threshold,
                            bool higherIsEasier, double oracleLossDiff);
// The same at the score's median (numpy linear).
SplitStats splitAtMedian(const std::vector<float>& score, const std::vector<float>& loss, bool higherIsEasier,
                         double oracleLossDiff);

struct LossSepParams {
    int layer = 0;                                      // unused by the grid (every layer); kept for labels
    std::vector<double> confidenceThresholds{0.01, 0.02, 0.05};  // + the median
    std::vector<double> subsetConfidences{0.3, 0.5, 0.6, 0.7, 0.8, 0.9};
    int bins = 60;                      // the run's bins
    bool probes = true;                 // train the probes
    int probeLayer = -1;                // hidden states of this layer (0..L); -1 = L (the last block)
    int64_t probeSampleSize = 65536;    // reservoir sample of tokens kept for the probes
    ProbeParams probe;
    std::vector<int> metricRanks;       // low-rank versions of the metrics; empty = none
};

struct LossDistribution {
    Summary summary;          // mean, std (ddof 0), min, quartiles, max
    Histogram histogram;
    SplitStats oracle;        // easy iff loss <= median
    double median = 0;
    double cohensD = 0;
};

struct PredictorRow {
    std::string method;  // a metric name, "oracle", or "probe_<architecture>_<task>"
    int layer = 0;       // the lens layer (L = the final logits)
    double pearson = 0;
    SplitStats split;    // at the median
};

struct ThresholdRow {
    std::string method;  // "correct_prob" or "confidence"
    std::string rule;    // "0.01", ..., "median"
    double threshold = 0;
    SplitStats split;
};

struct SubsetRow {
    double minConfidence = 0;  // tokens with max softmax >= this
    int64_t tokens = 0;
    double pct = 0;
    double meanLoss = 0;
    std::vector<double> pearson;  // per metric of separationMetrics() except correct_prob: corr with loss
    // The other side: tokens with max softmax < minConfidence (the notes' low-confidence group).
    int64_t lowTokens = 0;
    double lowPct = 0, lowMeanLoss = 0;
};

struct LowRankMetricRow {
    int rank = 0;
    std::string method;       // confidence, max_z, max_minus_mean, margin, entropy
    double corrWithExact = 0; // Pearson r of the rank-r metric with the exact one
    double pearson = 0;       // with the loss
    SplitStats split;
    // The rank-r head itself (seed 002, Exp 1; the same on every method's row of a rank):
    double logitCorr = 0, logitMse = 0;  // its logits against the full ones (LowRankMetrics)
    double headRelError = 0;             // ||W - W_r||_F / ||W||_F = sqrt(sum_{i>r} s_i^2 / sum s_i^2)
    double usPerToken = 0;               // microseconds to compute a token's rank-r logits (NaN: not timed)
};

struct LossSepResult : AnalysisResult {
    int numLayers = 0;
    LossDistribution distribution;
    std::vector<PredictorRow> predictors;  // every metric at every layer 1..L, then oracle, then probes
    std::vector<ThresholdRow> thresholds;
    std::vector<SubsetRow> subsets;
    std::vector<LowRankMetricRow> lowRank;
    std::optional<ProbeResult> probes;
    LossSepParams params;
};

// Throws ls::Error when the capture holds no metrics.
LossSepResult analyseLossSeparation(const CaptureResult& capture, const LossSepParams& params,
                                    const std::optional<ProbeResult>& probes = std::nullopt);

// loss_summary, loss_histogram, predictors, thresholds, confidence_subsets, lowrank_metrics
// and probes (when present).
std::vector<Table> lossSepTables(const LossSepResult& result);

}  // namespace ls
