#pragma once
// Learned probes on hidden states (spec section 3, seed 002): small networks trained on
// h_layer of a bounded token sample to predict the per-token loss (regression), whether a
// token is easy (classification: easy iff loss <= easyLossThreshold), or an inference-time
// metric. Trained with LibTorch on the CPU; seeded and reproducible.
//
// Split: the sample is shuffled with the seed; the last testFraction is the test set; of the
// rest, the last validationFraction is the validation part used for early stopping (stop after
// `patience` epochs without a better validation loss, keep the best weights). Every number
// reported is on the test set. Inputs are standardised with the training part's mean and std.
//
// Exactly (so that an independent reference can repeat it):
//   nTest = llround(M * testFraction), nVal = llround((M - nTest) * validationFraction),
//   nTrain = M - nTest - nVal;
//   order = 0..M-1, shuffled by Fisher-Yates with std::mt19937_64 rng(seed):
//     for i = M down to 2: swap(order[i - 1], order[rng() % i]);
//   training = order[0, nTrain), validation = order[nTrain, nTrain + nVal), test = the rest.
// Each probe draws its initial weights (PyTorch's default nn.Linear distribution) from a
// generator of its own and shuffles its minibatches with std::mt19937_64, both seeded from
// (seed, "<architecture> <task>"): its numbers do not depend on which other probes run, and
// torch's global generator is left alone. Same inputs and thread count, same numbers.
// Regression and metric targets are standardised with the training part's mean and std
// (population, ddof 0); predictions are mapped back before mse / pearson / r2 (original units).
// Rows: regression for every architecture, then classification for every architecture, then
// the metric probes in params.metricProbes order. Columns that do not apply to a row's task
// are NaN (classification: mse, pearson, r2; regression and metrics: accuracy, f1; metrics:
// the separation columns); so is any value that is undefined (an empty easy or hard side, F1
// of a class neither present nor predicted).
// Runs with autograd on even when the caller holds a c10::InferenceMode guard.
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "analysis/analysis_result.h"
#include "common/progress.h"
#include "io/table.h"

namespace ls {

// The probe networks: "linear", "mlp2_128" (D -> 128 -> out, ReLU), "mlp3_128" (D -> 128 ->
// 128 -> out), "mlp2_256" (D -> 256 -> out).
inline const std::vector<std::string> kProbeArchitectures{"linear", "mlp2_128", "mlp3_128", "mlp2_256"};

struct ProbeParams {
    std::vector<std::string> architectures = kProbeArchitectures;  // of kProbeArchitectures
    bool regression = true;        // predict the loss (MSE)
    bool classification = true;    // predict easy iff loss <= easyLossThreshold (BCE)
    double easyLossThreshold = 3.0;
    // Metric probes: "mlp2_128" predicting each metric named here from h (MSE)
    std::vector<std::string> metricProbes{"confidence", "max_z", "max_minus_mean", "margin", "entropy"};
    double testFraction = 0.2;
    double validationFraction = 0.1;  // of the training part
    int maxEpochs = 100;
    int patience = 3;
    int batchSize = 256;
    double learningRate = 1e-3;       // Adam
    uint64_t seed = 0;
};

// How many probes trainProbes trains with these parameters.
inline int probeCount(const ProbeParams& p) {
    return static_cast<int>(p.architectures.size()) * (int(p.regression) + int(p.classification)) +
           static_cast<int>(p.metricProbes.size());
}

// One trained probe, evaluated on the test tokens.
struct ProbeRow {
    std::string architecture;  // "linear", ...
    std::string task;          // "regression", "classification", or the metric's name
    int64_t trainTokens = 0, validationTokens = 0, testTokens = 0;
    int epochs = 0;            // epochs run (best weights kept)
    // regression (on loss) and metric probes
    double mse = 0, pearson = 0, r2 = 0;  // pearson: corr(prediction, actual)
    // classification
    double accuracy = 0, f1Easy = 0, f1Hard = 0;
    // separation on the test tokens: regression splits at the median of the predicted loss
    // (lower = easy), classification at p(easy) >= 0.5; oracle ratio against the Oracle split
    // (median of the actual loss) of the same test tokens. NaN for metric probes.
    double easyPct = 0, easyLoss = 0, hardLoss = 0, lossDiff = 0, oracleRatio = 0;
};

struct ProbeEpoch : LiveReport {  // for live training curves
    ProbeEpoch(std::string probeName, int epochNumber, double train, double validation)
        : probe(std::move(probeName)), epoch(epochNumber), trainLoss(train), validationLoss(validation) {}
    std::string probe;  // "mlp2_128 regression"
    int epoch = 0;
    double trainLoss = 0, validationLoss = 0;
};

struct ProbeResult {
    int layer = 0;             // hidden states of this layer (0 = embeddings, l = block l's output)
    int64_t sampleTokens = 0;  // tokens in the sample
    std::vector<ProbeRow> rows;
};

// hidden (M, D) row-major float32; loss (M); metrics: name -> (M) values for the names in
// params.metricProbes (missing names are skipped). Throws ls::Error when M is too small for the
// split (fewer than 10 tokens in any part) or arguments disagree; ls::Canceled between epochs.
ProbeResult trainProbes(const std::vector<float>& hidden, int64_t M, int D, const std::vector<float>& loss,
                        const std::vector<std::pair<std::string, std::vector<float>>>& metrics,
                        const ProbeParams& params, Progress& progress,
                        const std::function<void(const ProbeEpoch&)>& onEpoch = {});

// probes: architecture,task,train_tokens,validation_tokens,test_tokens,epochs,mse,pearson_r,r2,
// accuracy,f1_easy,f1_hard,easy_pct,easy_loss,hard_loss,loss_diff,oracle_ratio (layer in the title).
Table probeTable(const ProbeResult& result);
// The inverse (for run files). Throws ls::Error on missing columns.
ProbeResult probeResultFromTable(const Table& table, int layer, int64_t sampleTokens);

}  // namespace ls
