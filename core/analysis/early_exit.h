#pragma once
// Early-exit simulation (spec section 6): a policy exits token t at the first allowed layer
// whose signal passes its threshold; a token that passes nowhere runs to the last layer L.
// Exiting at layer l means blocks 1..l were computed (the lens's own head projection is not
// counted). Quality: top-1 agreement of the exit layer's lens prediction with the final one,
// and the perplexity of the exit layer's logits on the true next tokens.
//
// Signals (per token and layer, from a capture pass): "cossim" (c_l, exit iff c_l >= threshold),
// and the metrics of losssep.h: confidence, max_z, max_minus_mean, margin (exit iff >= threshold),
// entropy (exit iff <= threshold). Plain C++; a threshold is evaluated from sorted arrays and
// prefix sums built once, so sliders never touch the model.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "analysis/analysis_result.h"
#include "io/table.h"

namespace ls {

struct CaptureResult;

struct ExitOutcome {
    std::vector<int64_t> exits;  // [l-1] tokens exiting at layer l, l = 1..L
    int64_t tokens = 0;
    double exitFraction = 0;     // share of tokens exiting before layer L
    double meanLayers = 0;       // mean blocks computed
    double computeSaved = 0;     // 1 - meanLayers / L
    double top1Agreement = 0;    // share with top1_exit == top1_L
    double ppl = 0;              // exp(mean -log p_exit(y))
};

struct SweepPoint {
    double threshold = 0;
    ExitOutcome outcome;
    bool pareto = false;  // no other point has both more compute saved and higher agreement
};

class ExitSimulator {
public:
    // Throws ls::Error for an unknown signal, a signal the capture lacks, an empty allowed-layer
    // list, or a layer outside 1..L-1 (layer L is where every remaining token ends anyway).
    ExitSimulator(const CaptureResult& capture, std::string signal, std::vector<int> allowedLayers);

    const std::string& signal() const { return signal_; }
    const std::vector<int>& allowedLayers() const { return allowed_; }
    int numLayers() const { return L_; }
    bool higherExits() const { return higherExits_; }
    // Range of the signal over the allowed layers (slider bounds).
    double minSignal() const { return min_; }
    double maxSignal() const { return max_; }

    // One threshold for every allowed layer: O(L log N).
    ExitOutcome evaluate(double threshold) const;
    // One threshold per allowed layer (same order as allowedLayers()): O(N L) worst case.
    ExitOutcome evaluate(const std::vector<double>& perLayer) const;
    // Evaluates each threshold and marks the Pareto front (compute saved vs top-1 agreement).
    std::vector<SweepPoint> sweep(const std::vector<double>& thresholds) const;
    // `count` thresholds at evenly spaced quantiles of the signal over the allowed layers.
    std::vector<double> defaultThresholds(int count = 41) const;

private:
    std::string signal_;
    std::vector<int> allowed_;  // a_1 < ... < a_k, all < L
    int L_ = 0;
    int64_t N_ = 0;
    bool higherExits_ = true;
    double min_ = 0, max_ = 0;
    // Internally s = signal (negated when lower exits) so that a token exits iff s >= th.
    // P_j(t) = max(s at a_1..a_j): a token exits at a_j iff P_j >= th > P_{j-1}. Sums over
    // {t : P_j(t) >= th} are suffix sums along the order that sorts P_j.
    struct Level {
        std::vector<float> sortedMax;        // (N) P_j ascending
        std::vector<double> lossHere;        // (N + 1) suffix sums of the loss at a_j, order of P_j
        std::vector<int64_t> agreeHere;      // (N + 1) suffix counts of top1_{a_j} == top1_L, order of P_j
        std::vector<double> lossNext;        // (N + 1) suffix sums of the loss at a_{j+1} (or L), order of P_j
        std::vector<int64_t> agreeNext;      // (N + 1) the same for agreement at a_{j+1} (or L)
    };
    std::vector<Level> levels_;              // [j-1] for j = 1..k
    double totalFinalLoss_ = 0;
    // token-major copies for per-layer thresholds: (N, k) signal, (N, k + 1) loss and agreement
    // at a_1..a_k and L
    std::vector<float> signalByToken_, lossByToken_;
    std::vector<uint8_t> agreeByToken_;

    ExitOutcome finish(std::vector<int64_t> exits, double lossSum, int64_t agreeCount) const;
};

struct ExitParams {
    std::string signal = "confidence";
    std::vector<int> layers;               // allowed exit layers; empty = 1..L-1
    std::vector<double> thresholds;        // the sweep; empty = sweepPoints quantiles of the signal
    int sweepPoints = 41;                  // quantiles 0, 1/(n-1), ..., 1 of the pooled signal
    double threshold = std::nan("");       // the policy for the histogram; NaN = the median
    std::vector<double> layerThresholds;   // optional: one per allowed layer (overrides threshold)
};

struct ExitResult : AnalysisResult {
    ExitParams params;        // resolved
    int numLayers = 0;
    ExitOutcome policy;       // at params.threshold / params.layerThresholds
    std::vector<SweepPoint> sweep;
};

ExitResult analyseEarlyExit(const CaptureResult& capture, ExitParams params);

// exit_sweep (threshold,exit_fraction,mean_layers,compute_saved,top1_agreement,ppl),
// exit_pareto (the same columns, the front only), exit_policy (layer,tokens,fraction).
std::vector<Table> exitTables(const ExitResult& result);

}  // namespace ls
