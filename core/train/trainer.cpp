#include "train/trainer.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <numeric>
#include <random>

#include "common/error.h"
#include "model/transformer_internal.h"

namespace ls {

namespace {

ModelConfig configFor(const TrainParams& p, int vocabSize) {
    ModelConfig c;
    c.modelType = p.layout;
    c.numLayers = p.numLayers;
    c.numHeads = p.numHeads;
    c.numKvHeads = p.numHeads;
    c.hiddenSize = p.dim;
    c.headDim = p.dim / p.numHeads;
    c.intermediateSize = p.ffnDim;
    c.vocabSize = vocabSize;
    c.maxPositions = p.seqLen;
    c.tiedEmbeddings = true;
    if (p.layout == "gpt2") {
        c.activation = "gelu_new";
        c.normEps = 1e-5;
        c.attentionBias = c.mlpBias = true;
    } else {
        c.activation = "silu";
        c.normEps = 1e-6;
        c.ropeTheta = 10000.0;
    }
    return c;
}

// How the token stream is cut: non-overlapping windows of seqLen + 1 tokens (input plus
// shifted target); the last validationFraction of them (at least one) are for validation.
struct SampleSplit {
    int64_t samples = 0, train = 0, validation = 0;
};

SampleSplit splitSamples(const TrainParams& p, int64_t numTokens) {
    SampleSplit s;
    s.samples = numTokens / (p.seqLen + 1);
    if (p.numSamples > 0) s.samples = std::min(s.samples, p.numSamples);
    s.validation = std::max<int64_t>(1, static_cast<int64_t>(std::llround(s.samples * p.validationFraction)));
    s.train = s.samples - s.validation;
    return s;
}

}  // namespace

void validateTrainParams(const TrainParams& p, int vocabSize, int64_t numTokens) {
    auto fail = [](const std::string& key, const std::string& problem) { throw ParamError(key, problem); };
    if (p.layout != "gpt2" && p.layout != "llama") fail("layout", "must be gpt2 or llama, got '" + p.layout + "'");
    if (p.dim < 1) fail("dim", "must be positive");
    if (p.numHeads < 1) fail("heads", "must be positive");
    if (p.dim % p.numHeads != 0)
        fail("heads", std::to_string(p.numHeads) + " does not divide dim " + std::to_string(p.dim));
    if (p.layout == "llama" && (p.dim / p.numHeads) % 2 != 0)
        fail("heads", "gives an odd head dimension (" + std::to_string(p.dim / p.numHeads) + "), which RoPE cannot use");
    if (p.ffnDim < 1) fail("ffn-dim", "must be positive");
    if (p.numLayers < 1) fail("layers", "must be at least 1");
    if (p.seqLen < 2) fail("seq-len", "must be at least 2, got " + std::to_string(p.seqLen));
    if (p.numSamples < 0) fail("samples", "must not be negative");
    if (!(p.learningRate > 0) || !std::isfinite(p.learningRate)) fail("lr", "must be a positive number");
    if (p.weightDecay < 0) fail("weight-decay", "must not be negative");
    if (p.batchSize < 1) fail("batch-size", "must be at least 1");
    if (p.maxEpochs < 1) fail("epochs", "must be at least 1");
    if (p.patience < 1) fail("patience", "must be at least 1");
    if (p.evalEvery < 0) fail("eval-every", "must not be negative");
    if (!(p.validationFraction > 0 && p.validationFraction < 1)) fail("val-fraction", "must be between 0 and 1");
    if (vocabSize < 2) throw Error("the vocabulary has fewer than 2 tokens");
    if (numTokens / (p.seqLen + 1) < 2)
        throw ParamError("seq-len", "the training data has " + std::to_string(numTokens) + " tokens, too few for two windows of " +
                                        std::to_string(p.seqLen) + " + 1 tokens");
    const SampleSplit split = splitSamples(p, numTokens);
    if (split.train < 1)
        // The cap on samples, when one was given, is what left too few; else the validation share.
        throw ParamError(p.numSamples > 0 ? "samples" : "val-fraction",
                         "leaves no training windows: " + std::to_string(split.samples) + " windows of seq-len + 1 tokens, " +
                             std::to_string(split.validation) + " of them for validation");
}

TrainResult trainModel(const std::vector<int32_t>& tokens, int vocabSize, const TrainParams& p,
                       const std::filesystem::path& outputDir, Progress& progress,
                       const std::function<void(const TrainPoint&)>& onPoint) {
    validateTrainParams(p, vocabSize, static_cast<int64_t>(tokens.size()));
    for (size_t i = 0; i < tokens.size(); ++i)
        if (tokens[i] < 0 || tokens[i] >= vocabSize)
            throw Error("token id " + std::to_string(tokens[i]) + " at index " + std::to_string(i) +
                        " is outside the vocabulary of " + std::to_string(vocabSize));
    const auto start = std::chrono::steady_clock::now();

    const int64_t window = p.seqLen + 1;
    const SampleSplit split = splitSamples(p, static_cast<int64_t>(tokens.size()));
    const int64_t samples = split.samples, valSamples = split.validation, trainSamples = split.train;
    auto data = torch::tensor(std::vector<int64_t>(tokens.begin(), tokens.begin() + samples * window), torch::kInt64)
                    .view({samples, window});  // (samples, seqLen + 1)
    torch::Tensor trainData = data.narrow(0, 0, trainSamples), valData = data.narrow(0, trainSamples, valSamples);

    Model::Impl model;
    model.config = configFor(p, vocabSize);
    model.weights = initializeWeights(model.config, p.seed);
    std::vector<torch::Tensor> parameters = parameterList(model.weights);
    for (auto& t : parameters) t.set_requires_grad(true);
    torch::optim::AdamW optimizer(parameters,
                                  torch::optim::AdamWOptions(p.learningRate).weight_decay(p.weightDecay));

    // (B, seqLen + 1) -> mean next-token cross-entropy over all positions
    auto batchLoss = [&](const torch::Tensor& batch) {
        torch::Tensor input = batch.narrow(1, 0, p.seqLen), target = batch.narrow(1, 1, p.seqLen);
        torch::Tensor logits = model.forward(input);  // (B, T, V)
        return torch::nn::functional::cross_entropy(logits.reshape({-1, vocabSize}), target.reshape({-1}));
    };
    auto validationLoss = [&]() {
        torch::NoGradGuard noGrad;
        double sum = 0;
        for (int64_t b = 0; b < valSamples; b += p.batchSize) {
            if (progress.isCanceled()) throw Canceled();
            const int64_t n = std::min<int64_t>(p.batchSize, valSamples - b);
            sum += batchLoss(valData.narrow(0, b, n)).item<double>() * n;
        }
        return sum / valSamples;
    };

    TrainResult result;
    result.outputDir = outputDir;
    result.trainSamples = trainSamples;
    result.validationSamples = valSamples;
    const int64_t stepsPerEpoch = (trainSamples + p.batchSize - 1) / p.batchSize;
    const int64_t evalEvery = p.evalEvery > 0 ? p.evalEvery : stepsPerEpoch;
    const int64_t totalSteps = stepsPerEpoch * p.maxEpochs;
    const int64_t logEvery = std::max<int64_t>(1, std::min<int64_t>(evalEvery, 10));
    int64_t sinceImprovement = 0;
    double lossSinceLog = 0;
    int64_t stepsSinceLog = 0;
    std::mt19937_64 rng(p.seed);
    std::vector<int64_t> order(static_cast<size_t>(trainSamples));
    progress.setStage("Training");

    int64_t lastValidatedStep = 0;
    // Records a point (train loss since the last one; validation, checkpoint and patience
    // when validate) and reports it.
    auto logPoint = [&](bool validate) {
        TrainPoint point;
        point.step = result.steps;
        point.epoch = static_cast<double>(result.steps) / stepsPerEpoch;
        point.trainLoss = stepsSinceLog > 0 ? lossSinceLog / stepsSinceLog
                                          : (result.history.empty() ? 0.0 : result.history.back().trainLoss);
        lossSinceLog = 0;
        stepsSinceLog = 0;
        if (validate) {
            progress.setStage("Validating");
            point.valLoss = validationLoss();
            progress.setStage("Training");
            lastValidatedStep = result.steps;
            if (result.bestValLoss < 0 || point.valLoss < result.bestValLoss) {
                result.bestValLoss = point.valLoss;
                result.bestStep = result.steps;
                point.improved = true;
                sinceImprovement = 0;
                saveModelFolder(outputDir, model.config, model.weights);
                result.saved = true;
            } else if (++sinceImprovement >= p.patience) {
                result.stoppedEarly = true;
            }
        }
        result.history.push_back(point);
        if (onPoint) onPoint(point);
    };

    try {
        for (int epoch = 0; epoch < p.maxEpochs && !result.stoppedEarly; ++epoch) {
            std::iota(order.begin(), order.end(), 0);
            std::shuffle(order.begin(), order.end(), rng);
            for (int64_t s = 0; s < stepsPerEpoch && !result.stoppedEarly; ++s) {
                if (progress.isCanceled()) throw Canceled();
                const int64_t first = s * p.batchSize, n = std::min<int64_t>(p.batchSize, trainSamples - first);
                auto index = torch::from_blob(order.data() + first, {n}, torch::kInt64);
                torch::Tensor loss = batchLoss(trainData.index_select(0, index));
                optimizer.zero_grad();
                loss.backward();
                torch::nn::utils::clip_grad_norm_(parameters, 1.0);
                optimizer.step();
                ++result.steps;
                lossSinceLog += loss.item<double>();
                ++stepsSinceLog;
                progress.setFraction(static_cast<double>(result.steps) / totalSteps);

                const bool validate = result.steps % evalEvery == 0;
                if (validate || result.steps % logEvery == 0) logPoint(validate);
            }
        }
        // The steps after the last validation must not be lost: validate them once more.
        if (!result.stoppedEarly && lastValidatedStep != result.steps) logPoint(true);
    } catch (const Canceled&) {
        result.canceled = true;
    } catch (const c10::Error& e) {
        throw Error(std::string("training failed: ") + e.what_without_backtrace());
    }
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return result;
}

}  // namespace ls
