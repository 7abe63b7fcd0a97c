#pragma once
// Trains a small decoder-only transformer on a token stream and saves it as a normal
// Hugging Face model folder (GPT-2 or Llama layout), so every analysis and other tools
// can load it. Plain C++ interface; LibTorch stays in trainer.cpp.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "common/progress.h"

namespace ls {

struct TrainParams {
    std::string layout = "gpt2";  // "gpt2" or "llama"
    int dim = 64;
    int numHeads = 4;
    int ffnDim = 256;
    int numLayers = 2;
    int seqLen = 128;             // training window; also the saved model's context
    int64_t numSamples = 0;       // windows of seqLen + 1 tokens to use (0 = all the data gives)
    double learningRate = 1e-3;
    double weightDecay = 0.01;
    int batchSize = 16;
    int maxEpochs = 20;
    int patience = 3;             // stop after this many validations without improvement
    int evalEvery = 0;            // validate every N steps; 0 = once per epoch
    double validationFraction = 0.1;  // the last part of the samples, never trained on
    uint64_t seed = 0;
};

// Throws ls::Error naming the option for options that cannot work
// (heads not dividing dim, seq_len 0, too little data, ...).
void validateTrainParams(const TrainParams& params, int vocabSize, int64_t numTokens);

struct TrainPoint {
    int64_t step = 0;        // optimizer steps so far
    double epoch = 0;        // fractional epoch
    double trainLoss = 0;    // mean loss of the steps since the previous point (nats)
    double valLoss = -1;     // < 0 when this point has no validation
    bool improved = false;   // validation improved and the checkpoint was saved
};

struct TrainResult {
    std::vector<TrainPoint> history;
    int64_t steps = 0;
    double bestValLoss = -1;     // < 0 if no validation finished
    int64_t bestStep = 0;
    bool canceled = false;       // the best checkpoint so far (if any) is in the folder
    bool stoppedEarly = false;   // patience ran out
    bool saved = false;          // a checkpoint exists in outputDir
    int64_t trainSamples = 0, validationSamples = 0;
    double seconds = 0;
    std::filesystem::path outputDir;
};

// Trains and writes config.json + model.safetensors into outputDir every time the
// validation loss improves (atomically), so a cancel keeps the best model so far.
// The caller puts a tokenizer into the folder. onPoint (optional) is called from the
// calling thread at every logging point; progress.isCanceled() is polled every step.
TrainResult trainModel(const std::vector<int32_t>& tokens, int vocabSize, const TrainParams& params,
                       const std::filesystem::path& outputDir, Progress& progress,
                       const std::function<void(const TrainPoint&)>& onPoint = {});

}  // namespace ls
