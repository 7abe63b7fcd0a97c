#pragma once
// The capture pass: one forward per window serves every analysis that asked for something
// (capture once, compute many). Per-token scalars are computed inside the pass and kept;
// hidden states never outlive their window, so memory grows only by these scalars
// (about 4 bytes x (2L + 3) per scored token with cos-sim and the lens requested).
//
// Tokens are the scored predictions of the evaluation windows (data/windows.h), in stream
// order; every quantity is taken at the predicting position p (target = token p + 1).
// Layers: h_0 = residual stream entering block 1 (embeddings), h_l = block l's output,
// a_l = h_{l-1} + attention_l (inside block l, after attention, before the MLP).
// Logit lens: z_l = W norm_f(h_l), W the output head, norm_f the final norm; with a tuned lens
// (CaptureRequest::tunedLens) z_l = W norm_f(A_l h_l + b_l).
#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/progress.h"
#include "data/windows.h"

namespace ls {

class CaptureObserver;
class Model;
class TunedLens;
struct Dataset;

// The logit lens as the lens-based analyses (saturation, lensdiv) ask for it.
struct LensParams {
    bool postAttention = false;    // also after attention, before the MLP (a_l)
    std::string method = "auto";   // how the top-1 is computed (CaptureRequest::lensMethod)
};

struct CaptureRequest {
    bool cossim = false;             // c_l(t) = cos(h_{l-1}(t), h_l(t)), l = 1..L
    bool finalNormLast = false;      // h_L taken as norm_f(h_L) for cos-sim and the probes' sample
    bool lens = false;               // top1_l(t) = argmax z_l(t), l = 0..L
    bool postAttentionLens = false;  // argmax W norm_f(a_l(t)), l = 1..L
    // How the lens top-1 is computed without metrics (lensMethods()): "auto" times the certified
    // methods and keeps the fastest; the others force one path (tests, reproducing a run).
    std::string lensMethod = "auto";
    // The model's content hash (RunInfo::modelHash): the certified lens's choice is cached under
    // it (common/cache_dir.h). Empty: no cache.
    std::string modelHash;
    // The lens every lens quantity reads through (the top-1s, metrics, low-rank detection, the
    // inspector, observers' own): null = the logit lens, else norm_f(A_l h + b_l) where the tuned
    // lens has a translator (analysis/tuned_lens.h). Not owned.
    const TunedLens* tunedLens = nullptr;
    std::vector<int> lowRankRanks;   // ranks r of the SVD head W_r; empty = no low-rank head
    int lowRankLayer = 0;            // the chosen layer l (1..L) for agreement and detection
    bool metrics = false;            // LayerMetrics at every layer 1..L (logit lens)
    std::vector<int> metricRanks;    // low-rank versions of the final-layer metrics (ranks of W_r)
    int probeLayer = 0;              // keep h_probeLayer (0..L) of a token sample for probes; -1 = none
    int64_t probeSampleSize = 0;     // at most this many tokens (seeded: probeSampleKey)
    uint64_t probeSeed = 0;
    bool inspect = false;            // the token inspector grid of one window
    int inspectWindow = 0;           // index into the window list
    int topK = 5;
    // Analyses with work of their own in the pass (analysis/runners_internal.h); not owned.
    std::vector<CaptureObserver*> observers;
};

// Low-rank head counts over all scored tokens for one rank r. x_l = norm_f(h_l).
struct LowRankCounts {
    int rank = 0;
    int64_t agreeFinal = 0;  // argmax W_r x_L == argmax W x_L
    int64_t agreeLayer = 0;  // argmax W_r x_l == argmax W x_l at the chosen layer
    // Saturation detection at the chosen layer: predicted = (argmax W_r x_l == argmax W_r x_L),
    // true = (top1_l == top1_L); counts of the saturated class.
    int64_t truePositive = 0, falsePositive = 0, falseNegative = 0, trueNegative = 0;
};

// Wall time of top-1 through the full head vs the factorised head (U_r S_r)(V_r^T x), on the
// same batch of final-layer normed states (median of several repetitions).
struct LowRankTiming {
    int rank = 0;
    int64_t tokens = 0;
    double fullSeconds = 0, factoredSeconds = 0;
};

// Logit-lens picture of one window: every position p and layer l = 0..L.
struct InspectGrid {
    int window = 0;          // index in the window list
    int64_t begin = 0;       // first token of the window in the stream
    int positions = 0;       // window length; 0 = no grid
    int layers = 0;          // L + 1
    int topK = 0;
    std::vector<int32_t> inputIds;       // (positions)
    std::vector<int32_t> targetIds;      // (positions), -1 at the last position
    std::vector<int32_t> topIds;         // (positions, layers, topK), by descending probability
    std::vector<float> topProbs;         // (positions, layers, topK), softmax(z_l)
    std::vector<float> finalTop1Prob;    // (positions, layers): softmax(z_l)[top1_L]
    std::map<int32_t, std::string> tokenText;  // display text of every id above (if a tokenizer was given)

    size_t index(int p, int l, int k = 0) const { return (size_t(p) * layers + l) * topK + k; }
};

// Inference-time metrics of the logit-lens logits z = z_l(t) of one layer, per token (N each):
//   confidence = max softmax(z), maxLogit = max z, maxMinusMean = max z - mean z,
//   margin = z_(1) - z_(2) (the two largest logits), entropy = -sum p log p (nats),
//   correctLogProb = log softmax(z)[y] (the answer's log-probability; -loss at layer L).
struct LayerMetrics {
    std::vector<float> confidence, maxLogit, maxMinusMean, margin, entropy, correctLogProb;
};

// Sums over (token, vocab) entries of the full logits x and the rank-r logits y, in float64:
// what the agreement below is computed from, and what shards of a run add up.
struct LogitMoments {
    double n = 0, sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0, sse = 0;  // sse = sum (x - y)^2
    void add(const LogitMoments& o);
};

// The same metrics from the rank-r head W_r at the final layer (no correctLogProb), and how
// its logits z_r = W_r norm_f(h_L) compare with the full z over every (token, vocab) entry.
struct LowRankMetrics {
    int rank = 0;
    LayerMetrics metrics;
    LogitMoments moments;             // logitCorr and logitMse come from these (setLogitAgreement)
    double logitCorr = std::nan("");  // Pearson r of z_r with z
    double logitMse = std::nan("");   // mean (z_r - z)^2
    double seconds = 0;               // computing z_r (the factored product), all tokens
    int64_t tokens = 0;               // the tokens timed
};

// logitCorr and logitMse from k.moments (NaN without entries).
void setLogitAgreement(LowRankMetrics& k);

struct CaptureResult {
    int numLayers = 0;
    int hiddenSize = 0;
    int64_t windows = 0;
    double seconds = 0;                          // wall time of the pass
    double setupSeconds = 0;                     // of which one-off set-up: the head's SVD, the certified lens
    // The certified lens top-1 (when the lens ran without metrics): how its method was chosen
    // and exact dot products per token and lens layer. Not stored in run files.
    std::string lensMethodChoice;
    double lensCandidatesPerToken = 0;
    std::vector<int64_t> targetIndex;            // (N) index of each target in the stream
    std::vector<int32_t> targetId;               // (N)
    std::vector<float> loss;                     // (N) nats, -log softmax(z_L)[target]
    std::vector<std::vector<float>> cossim;      // L x (N): [l-1] = c_l          (if asked)
    std::vector<std::vector<int32_t>> lensTop1;  // L+1 x (N): [l] = top1_l       (if asked)
    std::vector<std::vector<int32_t>> postAttentionTop1;  // L x (N): [l-1] = a_l's top-1
    std::vector<double> singularValues;          // the head's, descending (if low-rank asked)
    std::vector<LowRankCounts> lowRank;
    std::vector<LowRankTiming> lowRankTiming;
    std::vector<LayerMetrics> metrics;           // [l-1] for l = 1..L               (if asked)
    std::vector<LowRankMetrics> lowRankMetrics;  // final layer, per requested rank  (if asked)
    int probeLayer = -1;
    std::vector<int64_t> probeTokens;            // (M) indices into the per-token arrays, ascending
    std::vector<float> probeHidden;              // (M, D) h_probeLayer of those tokens, row-major
    InspectGrid inspect;

    int64_t tokens() const { return static_cast<int64_t>(loss.size()); }
};

// The probes' token sample (CaptureRequest::probeLayer) keeps the probeSampleSize tokens with
// the smallest keys, a seeded hash of the target's index in the token stream: a uniform sample
// that is the same however the windows are split into shards.
uint64_t probeSampleKey(uint64_t seed, int64_t streamIndex);

// Throws ls::Error on bad input (a layer or rank out of range, seq_len beyond the context,
// ids outside the vocabulary, no tokens, inspect window beyond the list) and ls::Canceled
// when progress is canceled between windows.
CaptureResult runCapturePass(const Model& model, const Dataset& data, const WindowParams& windows,
                             const CaptureRequest& request, Progress& progress);

}  // namespace ls
