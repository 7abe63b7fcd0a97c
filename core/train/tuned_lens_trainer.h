#pragma once
// Trains a tuned lens (analysis/tuned_lens.h) for a loaded model on a dataset's windows and
// saves it as a lens folder. Plain C++ interface; LibTorch stays in tuned_lens_trainer.cpp.
//
// Every translator h -> A_l h + b_l starts at (identity, zero) and minimises the mean over tokens
// of KL(p_L || softmax(W norm_f(A_l h_l + b_l))), p_L the model's output distribution; the
// translators are independent, so each layer is trained on its own loss (one backward each).
// Optimiser: SGD with Nesterov momentum 0.9, the learning rate warmed up linearly over the first
// tenth of the steps and decayed linearly to zero (as the tuned-lens package).
//
// Held out: the last max(1, ceil(W / 10)) of the W windows, never trained on. They are scored
// before the first step (the logit lens) and every evalEvery steps; each translator keeps the
// state with its lowest held-out KL so far, and the folder is rewritten (atomically) whenever
// one improves, so a cancel leaves the best lens so far.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "analysis/tuned_lens.h"
#include "common/progress.h"
#include "data/windows.h"
#include "train/trainer.h"

namespace ls {

class Model;
struct Dataset;

struct LensTrainParams {
    WindowParams windows;        // the windows trained on and held out (no shards)
    bool postAttention = false;  // also translators after attention (a_l, l = 1..L)
    int64_t steps = 200;
    double learningRate = 1.0;
    int64_t batchTokens = 2048;  // scored tokens per step: whole windows, at least one
    uint64_t seed = 0;           // the order of the training windows
    int64_t evalEvery = 0;       // held-out scoring every N steps; 0 = ten times over the run
};

// Throws ls::ParamError naming the option (steps, lr, batch-tokens).
void validateLensTrainParams(const LensTrainParams& params);

struct LensTrainResult {
    TunedLensInfo info;               // as saved (tuned_lens.json)
    std::vector<TrainPoint> history;  // trainLoss / valLoss: mean KL over the translators (nats)
    int64_t steps = 0;                // taken (fewer than asked when canceled)
    bool canceled = false;
    bool saved = false;               // the folder holds a lens
    double modelSeconds = 0;          // the model's forwards (training steps)
    double translatorSeconds = 0;     // the translators' forward and backward passes, all layers
    int translators = 0;              // (stage, layer) pairs trained
    // The translators' time per layer and step (0 before a step).
    double secondsPerLayerStep() const {
        return steps > 0 && translators > 0 ? translatorSeconds / static_cast<double>(steps) / translators : 0.0;
    }
    std::filesystem::path outputDir;
};

// Throws ls::Error if outDir cannot take a lens (it is a model folder or a file), and
// ls::ParamError("overwrite") if it holds a lens and overwrite is false.
void checkLensOutputFolder(const std::filesystem::path& outDir, bool overwrite);

// modelHash / dataHash (RunInfo's) are written into tuned_lens.json. Throws ls::Error (too few
// windows, ...). Cancel through progress: the result has canceled = true. onPoint runs on the
// calling thread after each held-out scoring and every few steps.
LensTrainResult trainTunedLens(const Model& model, const Dataset& data, const std::string& modelHash,
                               const std::string& dataHash, const LensTrainParams& params,
                               const std::filesystem::path& outDir, bool overwrite, Progress& progress,
                               const std::function<void(const TrainPoint&)>& onPoint = {});

}  // namespace ls
