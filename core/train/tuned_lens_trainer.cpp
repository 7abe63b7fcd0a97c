// Tuned-lens training (train/tuned_lens_trainer.h). Shapes: M scored tokens of a window batch,
// C <= kChunk of them at a time, D hidden, V vocabulary, L blocks.
#include "train/tuned_lens_trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>

#include "analysis/tuned_lens_internal.h"
#include "analysis/window_batches_internal.h"
#include "common/error.h"
#include "common/file_io.h"
#include "model/safetensors.h"

namespace ls {

namespace fs = std::filesystem;

namespace {

// Rows of (C, V) logits at a time per translator: a batch's (M, V) would be M x V per product.
constexpr int64_t kChunk = 512;

struct Translator {
    LensStage stage = LensStage::Block;
    int layer = 0;
    torch::Tensor delta, bias;          // (D, D) A - I and (D): trained
    torch::Tensor bestDelta, bestBias;  // the state with the lowest held-out KL so far
    double bestKl = std::numeric_limits<double>::infinity();
    double logitKl = 0;                 // held-out KL at (identity, zero): the logit lens
};

// One window batch's states at the scored positions: block[l] = h_l and attention[l] = a_l
// (M, D), the model's p_L (M, V) and sum_v p_L log p_L per token (M). No gradients.
struct BatchStates {
    std::vector<torch::Tensor> block, attention;
    torch::Tensor finalP, finalSelf;
};

BatchStates runBatch(const Model::Impl& m, const torch::Tensor& head, const WindowBatch& batch, bool postAttention) {
    torch::NoGradGuard noGrad;
    const int L = m.config.numLayers;
    const int64_t S = batch.scoredPerWindow(), from = batch.firstScored - 1;
    auto scored = [&](const torch::Tensor& h) { return h.narrow(1, from, S).reshape({-1, h.size(-1)}); };
    BatchStates s;
    s.block.resize(L + 1);
    s.attention.resize(L + 1);
    ForwardOptions options;
    options.computeLogits = false;
    options.observeResidual = [&](int l, const torch::Tensor& h) { s.block[l] = scored(h); };
    if (postAttention) options.observePostAttention = [&](int l, const torch::Tensor& a) { s.attention[l] = scored(a); };
    m.forward(batch.ids, options);
    const torch::Tensor finalLogp = torch::log_softmax(at::linear(m.normFinal(s.block[L]), head), -1);
    s.finalP = finalLogp.exp();
    s.finalSelf = (s.finalP * finalLogp).sum(-1);
    return s;
}

// KL(p_L || p_l) = sum_v p_L log p_L - sum_v p_L log p_l per token, p_l through the translator:
// h (C, D), finalP (C, V), finalSelf (C) -> (C). No gradients.
torch::Tensor klToFinal(const Model::Impl& m, const torch::Tensor& head, const torch::Tensor& h, const Translator& t,
                        const torch::Tensor& finalP, const torch::Tensor& finalSelf) {
    const torch::Tensor logp = torch::log_softmax(at::linear(m.normFinal(translate(h, t.delta, t.bias)), head), -1);
    return finalSelf - (finalP * logp).sum(-1);
}

// One chunk's share of a training step for one translator: the gradient of sum_t KL_t / stepTokens
// reaches the head's input as (softmax(z) - p_L) W / stepTokens, computed here without autograd
// (three times faster than through the (C, V) graph), then goes back through norm_f and the
// translator by autograd. h (C, D), finalP (C, V). Returns sum_t sum_v p_L log p_l, for the KL.
double trainChunk(const Model::Impl& m, const torch::Tensor& head, const torch::Tensor& h, const Translator& t,
                  const torch::Tensor& finalP, int64_t stepTokens) {
    const torch::Tensor normed = m.normFinal(translate(h, t.delta, t.bias));  // (C, D), in the graph
    torch::Tensor gradNormed;
    double cross = 0;
    {
        torch::NoGradGuard noGrad;
        torch::Tensor logp = torch::log_softmax(at::linear(normed, head), -1);  // (C, V)
        cross = at::dot(finalP.reshape(-1), logp.reshape(-1)).item<double>();
        gradNormed = logp.exp_().sub_(finalP).mm(head).div_(static_cast<double>(stepTokens));  // (C, D)
    }
    normed.backward(gradNormed);
    return cross;
}

const torch::Tensor& stateOf(const BatchStates& s, const Translator& t) {
    return t.stage == LensStage::Block ? s.block[t.layer] : s.attention[t.layer];
}

// Mean held-out KL of every translator in its current state.
std::vector<double> heldOutKl(const Model::Impl& m, const torch::Tensor& head, std::vector<Translator>& translators,
                              const std::vector<Window>& windows, const Dataset& data, bool postAttention,
                              int64_t tokens, Progress& progress) {
    torch::NoGradGuard noGrad;
    std::vector<double> sums(translators.size(), 0.0);
    forEachWindowBatch(windows, data.tokens, progress, [&](const WindowBatch& batch) {
        const BatchStates s = runBatch(m, head, batch, postAttention);
        const int64_t M = s.finalP.size(0);
        for (size_t i = 0; i < translators.size(); ++i)
            for (int64_t from = 0; from < M; from += kChunk) {
                const int64_t C = std::min(kChunk, M - from);
                sums[i] += klToFinal(m, head, stateOf(s, translators[i]).narrow(0, from, C), translators[i],
                                     s.finalP.narrow(0, from, C), s.finalSelf.narrow(0, from, C))
                               .sum(torch::kFloat64)
                               .item<double>();
            }
    });
    for (double& v : sums) v /= static_cast<double>(std::max<int64_t>(tokens, 1));
    return sums;
}

void saveLens(const fs::path& dir, const std::vector<Translator>& translators, const TunedLensInfo& info, int D) {
    std::vector<torch::Tensor> keep;  // alive until written
    std::vector<StTensorToWrite> tensors;
    for (const Translator& t : translators) {
        const std::string suffix = std::string(lensStageName(t.stage)) + "." + std::to_string(t.layer);
        const torch::Tensor A = (t.bestDelta + torch::eye(D, torch::kFloat32)).contiguous();  // (D, D)
        const torch::Tensor b = t.bestBias.contiguous();                                       // (D)
        keep.push_back(A);
        keep.push_back(b);
        tensors.push_back({"A." + suffix, "F32", {D, D}, A.data_ptr<float>(), static_cast<uint64_t>(A.numel()) * 4});
        tensors.push_back({"b." + suffix, "F32", {D}, b.data_ptr<float>(), static_cast<uint64_t>(b.numel()) * 4});
    }
    fs::create_directories(dir);
    writeSafetensors(dir / kTunedLensWeightsFile, tensors, {{"format", "pt"}, {"model_hash", info.modelHash}});
    writeFileAtomically(dir / kTunedLensInfoFile, tunedLensInfoJson(info).dump(2) + "\n");
}

// Linear warm-up over the first tenth of the steps, then linear decay to zero.
double scheduledRate(double peak, int64_t step, int64_t steps) {
    const int64_t warmup = std::max<int64_t>(1, steps / 10);
    if (step <= warmup) return peak * static_cast<double>(step) / static_cast<double>(warmup);
    return peak * static_cast<double>(steps - step + 1) / static_cast<double>(steps - warmup + 1);
}

}  // namespace

void validateLensTrainParams(const LensTrainParams& p) {
    if (p.steps < 0) throw ParamError("steps", "must be at least 0, got " + std::to_string(p.steps));
    if (!(p.learningRate > 0) || !std::isfinite(p.learningRate))
        throw ParamError("lr", "must be a positive number, got " + std::to_string(p.learningRate));
    if (p.batchTokens < 1) throw ParamError("batch-tokens", "must be at least 1, got " + std::to_string(p.batchTokens));
    if (p.evalEvery < 0) throw ParamError("eval-every", "must be at least 0, got " + std::to_string(p.evalEvery));
    if (p.windows.shard.sharded()) throw ParamError("shard", "a lens is trained in one process: no shards");
}

void checkLensOutputFolder(const fs::path& outDir, bool overwrite) {
    if (outDir.empty()) throw Error("choose an output folder for the tuned lens");
    if (fs::exists(outDir) && !fs::is_directory(outDir)) throw Error(outDir, "is a file, not a folder");
    if (fs::exists(outDir / "config.json"))
        throw Error(outDir, "is a model folder; choose another output folder for the tuned lens");
    if (!overwrite && (fs::exists(outDir / kTunedLensInfoFile) || fs::exists(outDir / kTunedLensWeightsFile)))
        throw ParamError("overwrite", outDir.string() + " already holds a tuned lens; allow overwriting to replace it");
}

LensTrainResult trainTunedLens(const Model& model, const Dataset& data, const std::string& modelHash,
                               const std::string& dataHash, const LensTrainParams& params, const fs::path& outDir,
                               bool overwrite, Progress& progress,
                               const std::function<void(const TrainPoint&)>& onPoint) {
    const auto start = std::chrono::steady_clock::now();
    auto since = [](std::chrono::steady_clock::time_point t) {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
    };
    validateLensTrainParams(params);
    checkLensOutputFolder(outDir, overwrite);
    const Model::Impl& m = model.impl();
    const int L = m.config.numLayers, D = m.config.hiddenSize;
    const std::vector<Window> windows = prepareWindows(m.config, data, params.windows);
    if (windows.size() < 2)
        throw Error(data.path, "gives " + std::to_string(windows.size()) +
                                   " window; a tuned lens needs at least 2 (one trained on, one held out): more data or a "
                                   "shorter --seq-len");
    // Held out: the last tenth of the windows (at least one).
    const size_t heldOutCount = std::max<size_t>(1, (windows.size() + 9) / 10);
    const std::vector<Window> train(windows.begin(), windows.end() - static_cast<std::ptrdiff_t>(heldOutCount));
    const std::vector<Window> heldOut(windows.end() - static_cast<std::ptrdiff_t>(heldOutCount), windows.end());
    int64_t trainTokens = 0, heldOutTokens = 0;
    for (const Window& w : train) trainTokens += w.scoredCount();
    for (const Window& w : heldOut) heldOutTokens += w.scoredCount();

    // The caller may hold an InferenceMode guard; training needs autograd.
    c10::InferenceMode inferenceOff(false);
    const torch::Tensor head = m.headFloat32();  // (V, D) float32, no gradient
    std::vector<Translator> translators;
    auto addTranslator = [&](LensStage stage, int layer) {
        Translator t;
        t.stage = stage;
        t.layer = layer;
        translators.push_back(std::move(t));
    };
    for (int l = 0; l < L; ++l) addTranslator(LensStage::Block, l);
    if (params.postAttention)
        for (int l = 1; l <= L; ++l) addTranslator(LensStage::Attention, l);
    std::vector<torch::Tensor> parameters;
    for (Translator& t : translators) {
        t.delta = torch::zeros({D, D}, torch::kFloat32).requires_grad_(true);
        t.bias = torch::zeros({D}, torch::kFloat32).requires_grad_(true);
        parameters.push_back(t.delta);
        parameters.push_back(t.bias);
    }
    torch::optim::SGD optimizer(parameters, torch::optim::SGDOptions(params.learningRate).momentum(0.9).nesterov(true));

    LensTrainResult result;
    result.outputDir = outDir;
    result.translators = static_cast<int>(translators.size());
    TunedLensInfo& info = result.info;
    info.modelHash = modelHash;
    info.modelPath = model.directory().string();
    info.dataHash = dataHash;
    info.dataPath = data.path.string();
    info.layers = L;
    info.hiddenSize = D;
    info.stages = {"block"};
    if (params.postAttention) info.stages.push_back("attention");
    info.seqLen = params.windows.seqLen;
    info.learningRate = params.learningRate;
    info.batchTokens = params.batchTokens;
    info.seed = params.seed;
    info.trainWindows = static_cast<int64_t>(train.size());
    info.heldOutWindows = static_cast<int64_t>(heldOut.size());
    info.heldOutTokens = heldOutTokens;

    const int64_t evalEvery = params.evalEvery > 0 ? params.evalEvery : std::max<int64_t>(1, params.steps / 10);
    // Scores the held-out windows; keeps each translator's best state; saves when one improved.
    auto score = [&](int64_t step) {
        progress.setStage("Scoring the held-out windows");
        const std::vector<double> kl = heldOutKl(m, head, translators, heldOut, data, params.postAttention, heldOutTokens, progress);
        bool improved = false;
        double mean = 0;
        for (size_t i = 0; i < translators.size(); ++i) {
            Translator& t = translators[i];
            if (step == 0) t.logitKl = kl[i];
            mean += kl[i] / static_cast<double>(translators.size());
            if (kl[i] < t.bestKl) {
                t.bestKl = kl[i];
                t.bestDelta = t.delta.detach().clone();
                t.bestBias = t.bias.detach().clone();
                improved = true;
            }
        }
        if (improved) {
            info.steps = step;
            info.bestStep = step;
            info.seconds = since(start);
            info.heldOutKl.clear();
            for (const Translator& t : translators)
                info.heldOutKl.push_back({lensStageName(t.stage), t.layer, t.logitKl, t.bestKl});
            saveLens(outDir, translators, info, D);
            result.saved = true;
        }
        progress.setStage("Training the tuned lens");
        return std::make_pair(mean, improved);
    };

    try {
        const auto [initialKl, saved] = score(0);
        TrainPoint first;
        first.valLoss = initialKl;
        first.improved = saved;
        result.history.push_back(first);
        if (onPoint) onPoint(first);

        std::vector<size_t> order;
        size_t next = 0;
        std::mt19937_64 rng(params.seed);
        double klSum = 0;   // training KL summed over translators and tokens since the last point
        int64_t klTokens = 0, seenTokens = 0;
        for (int64_t step = 1; step <= params.steps; ++step) {
            // Whole training windows, in a seeded order (reshuffled each epoch), up to batchTokens.
            std::vector<Window> batch;
            int64_t stepTokens = 0;
            while (stepTokens < params.batchTokens) {
                if (next == order.size()) {
                    order.resize(train.size());
                    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
                    std::shuffle(order.begin(), order.end(), rng);
                    next = 0;
                }
                batch.push_back(train[order[next++]]);
                stepTokens += batch.back().scoredCount();
            }
            const double rate = scheduledRate(params.learningRate, step, params.steps);
            for (auto& group : optimizer.param_groups()) static_cast<torch::optim::SGDOptions&>(group.options()).lr(rate);
            optimizer.zero_grad();
            forEachWindowBatch(batch, data.tokens, progress, [&](const WindowBatch& b) {
                const auto t0 = std::chrono::steady_clock::now();
                const BatchStates s = runBatch(m, head, b, params.postAttention);
                result.modelSeconds += since(t0);
                const auto t1 = std::chrono::steady_clock::now();
                const int64_t M = s.finalP.size(0);
                const double self = s.finalSelf.sum(torch::kFloat64).item<double>();
                for (const Translator& t : translators) {
                    double cross = 0;
                    for (int64_t from = 0; from < M; from += kChunk) {
                        const int64_t C = std::min(kChunk, M - from);
                        cross += trainChunk(m, head, stateOf(s, t).narrow(0, from, C), t, s.finalP.narrow(0, from, C), stepTokens);
                    }
                    klSum += self - cross;
                }
                result.translatorSeconds += since(t1);
            });
            optimizer.step();
            klTokens += stepTokens;
            seenTokens += stepTokens;
            result.steps = step;
            progress.setFraction(static_cast<double>(step) / static_cast<double>(params.steps));

            if (step % evalEvery == 0 || step == params.steps) {
                TrainPoint point;
                point.step = step;
                point.epoch = static_cast<double>(seenTokens) / static_cast<double>(std::max<int64_t>(trainTokens, 1));
                point.trainLoss = klSum / static_cast<double>(klTokens) / static_cast<double>(translators.size());
                std::tie(point.valLoss, point.improved) = score(step);
                klSum = 0;
                klTokens = 0;
                result.history.push_back(point);
                if (onPoint) onPoint(point);
            }
        }
    } catch (const Canceled&) {
        result.canceled = true;
    }
    // The steps taken, whichever scoring the kept states come from (best_step: the last that improved one).
    if (result.saved && info.steps != result.steps) {
        info.steps = result.steps;
        info.seconds = since(start);
        writeFileAtomically(outDir / kTunedLensInfoFile, tunedLensInfoJson(info).dump(2) + "\n");
    }
    return result;
}

}  // namespace ls
