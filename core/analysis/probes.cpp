// Learned probes on hidden states (spec section 3, seed 002 "方法2: MLP" and "方法5").
// LibTorch on the CPU; the tensors stay in this file.
#include "common/fnv_hash.h"
#include "analysis/probes.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <sstream>

#include "analysis/layer_run.h"
#include "analysis/runners_internal.h"
#include "common/error.h"
#include "stats/correlation.h"

namespace ls {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int64_t kMinPartTokens = 10;
constexpr int64_t kEvalChunk = 8192;  // rows per forward pass when evaluating

const std::vector<std::string>& knownArchitectures() { return kProbeArchitectures; }

// A small fully connected network, D -> hidden... -> 1 (a loss, a logit or a metric), ReLU
// between layers. Plain tensors rather than torch::nn modules: nn::Linear initialises itself
// from torch's global generator, which other threads may be using and which callers may have
// seeded for their own purposes. Ours draw from a generator of their own.
struct Net {
    std::vector<torch::Tensor> weights;  // layer i: (out_i, in_i) float32
    std::vector<torch::Tensor> biases;   // layer i: (out_i) float32

    // (N, D) -> (N)
    torch::Tensor forward(const torch::Tensor& x) const {
        torch::Tensor a = x;
        for (size_t i = 0; i < weights.size(); ++i) {
            a = torch::addmm(biases[i], a, weights[i].t());
            if (i + 1 < weights.size()) a = torch::relu(a);
        }
        return a.reshape({-1});
    }
    std::vector<torch::Tensor> parameters() const {
        std::vector<torch::Tensor> p;
        for (size_t i = 0; i < weights.size(); ++i) {
            p.push_back(weights[i]);
            p.push_back(biases[i]);
        }
        return p;
    }
};

std::vector<int64_t> hiddenWidths(const std::string& arch) {
    if (arch == "linear") return {};
    if (arch == "mlp2_128") return {128};
    if (arch == "mlp3_128") return {128, 128};
    if (arch == "mlp2_256") return {256};
    throw Error("probes: unknown architecture '" + arch + "'");
}

// PyTorch's default nn.Linear initialisation: weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
Net makeNet(const std::string& arch, int64_t in, uint64_t seed) {
    std::vector<int64_t> widths = hiddenWidths(arch);
    widths.push_back(1);
    at::Generator generator = at::detail::createCPUGenerator(seed);
    torch::NoGradGuard noGrad;
    Net net;
    for (int64_t out : widths) {
        const double bound = 1.0 / std::sqrt(static_cast<double>(in));
        net.weights.push_back(torch::empty({out, in}).uniform_(-bound, bound, generator).requires_grad_(true));
        net.biases.push_back(torch::empty({out}).uniform_(-bound, bound, generator).requires_grad_(true));
        in = out;
    }
    return net;
}

// splitmix64: turns (seed, probe name) into independent, well-mixed seeds, so a probe's numbers
// do not depend on which other probes were requested.
uint64_t mix(uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}
uint64_t probeSeed(uint64_t seed, const std::string& name) {
    return mix(seed ^ mix(fnv1a(name)));
}

// Fisher-Yates with std::mt19937_64 (a fully specified engine): the same order on every
// platform, unlike std::shuffle. Documented in probes.h so that references can repeat it.
void shuffleIndices(std::vector<int64_t>& order, std::mt19937_64& rng) {
    for (size_t i = order.size(); i > 1; --i) {
        const size_t j = static_cast<size_t>(rng() % static_cast<uint64_t>(i));
        std::swap(order[i - 1], order[j]);
    }
}

double medianOf(std::vector<double> v) {  // numpy linear median; NaN when empty
    if (v.empty()) return kNaN;
    const size_t n = v.size(), mid = n / 2;
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid), v.end());
    const double upper = v[mid];
    if (n % 2 == 1) return upper;
    const double lower = *std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid));
    return lower + 0.5 * (upper - lower);
}

struct Separation {
    double easyPct = kNaN, easyLoss = kNaN, hardLoss = kNaN, lossDiff = kNaN;
};

Separation separate(const std::vector<double>& loss, const std::vector<char>& easy) {
    Separation s;
    double sumEasy = 0, sumHard = 0;
    int64_t nEasy = 0, nHard = 0;
    for (size_t i = 0; i < loss.size(); ++i) {
        if (easy[i]) {
            sumEasy += loss[i];
            ++nEasy;
        } else {
            sumHard += loss[i];
            ++nHard;
        }
    }
    if (loss.empty()) return s;
    s.easyPct = 100.0 * static_cast<double>(nEasy) / static_cast<double>(loss.size());
    if (nEasy > 0) s.easyLoss = sumEasy / static_cast<double>(nEasy);
    if (nHard > 0) s.hardLoss = sumHard / static_cast<double>(nHard);
    s.lossDiff = s.hardLoss - s.easyLoss;  // NaN if either side is empty
    return s;
}

void setSeparation(ProbeRow& row, const Separation& s, double oracleDiff) {
    row.easyPct = s.easyPct;
    row.easyLoss = s.easyLoss;
    row.hardLoss = s.hardLoss;
    row.lossDiff = s.lossDiff;
    row.oracleRatio = (std::isfinite(oracleDiff) && oracleDiff != 0) ? s.lossDiff / oracleDiff : kNaN;
}

// F1 of one class: 2 TP / (2 TP + FP + FN); NaN when the class is neither present nor predicted.
double f1Score(int64_t tp, int64_t fp, int64_t fn) {
    const int64_t den = 2 * tp + fp + fn;
    return den > 0 ? 2.0 * static_cast<double>(tp) / static_cast<double>(den) : kNaN;
}

// (N, D) -> (N) outputs, in chunks, without autograd.
std::vector<float> predict(const Net& net, const torch::Tensor& x) {
    torch::NoGradGuard noGrad;
    std::vector<float> out(static_cast<size_t>(x.size(0)));
    for (int64_t b = 0; b < x.size(0); b += kEvalChunk) {
        const int64_t n = std::min(kEvalChunk, x.size(0) - b);
        torch::Tensor y = net.forward(x.narrow(0, b, n)).reshape({n}).contiguous();
        std::copy(y.data_ptr<float>(), y.data_ptr<float>() + n, out.begin() + b);
    }
    return out;
}

double meanLoss(const Net& net, const torch::Tensor& x, const torch::Tensor& y, bool bce) {
    torch::NoGradGuard noGrad;
    double sum = 0;
    for (int64_t b = 0; b < x.size(0); b += kEvalChunk) {
        const int64_t n = std::min(kEvalChunk, x.size(0) - b);
        torch::Tensor out = net.forward(x.narrow(0, b, n)).reshape({n});
        torch::Tensor t = y.narrow(0, b, n);
        torch::Tensor l = bce ? torch::binary_cross_entropy_with_logits(out, t, {}, {}, at::Reduction::Sum)
                              : (out - t).square().sum();
        sum += l.item<double>();
    }
    return sum / static_cast<double>(x.size(0));
}

// The data of the three parts, inputs standardised with the training part's statistics.
struct Parts {
    torch::Tensor xTrain, xVal, xTest;  // (n, D) float32
    std::vector<int64_t> train, val, test;  // token indices
};

struct TrainContext {
    const ProbeParams& params;
    const Parts& parts;
    Progress& progress;
    const std::function<void(const ProbeEpoch&)>& onEpoch;
    int probeIndex = 0, probeCount = 1;
};

// Trains net on (xTrain, yTrain) with early stopping on (xVal, yVal); restores the best
// weights; returns the number of epochs run.
int train(const Net& net, const torch::Tensor& yTrain, const torch::Tensor& yVal, bool bce,
          const std::string& label, uint64_t seed, const TrainContext& ctx) {
    const ProbeParams& p = ctx.params;
    const torch::Tensor& xTrain = ctx.parts.xTrain;
    const int64_t n = xTrain.size(0);
    std::vector<torch::Tensor> parameters = net.parameters();
    torch::optim::Adam optimizer(parameters, torch::optim::AdamOptions(p.learningRate));
    std::mt19937_64 rng(seed);
    std::vector<int64_t> order(static_cast<size_t>(n));

    double best = std::numeric_limits<double>::infinity();
    std::vector<torch::Tensor> bestWeights;
    int sinceImprovement = 0, epochs = 0;
    for (int epoch = 1; epoch <= p.maxEpochs; ++epoch) {
        if (ctx.progress.isCanceled()) throw Canceled();
        std::iota(order.begin(), order.end(), int64_t{0});
        shuffleIndices(order, rng);
        double trainSum = 0;
        for (int64_t b = 0; b < n; b += p.batchSize) {
            const int64_t m = std::min<int64_t>(p.batchSize, n - b);
            torch::Tensor index = torch::from_blob(order.data() + b, {m}, torch::kInt64);
            torch::Tensor out = net.forward(xTrain.index_select(0, index)).reshape({m});
            torch::Tensor target = yTrain.index_select(0, index);
            torch::Tensor loss = bce ? torch::binary_cross_entropy_with_logits(out, target)
                                     : torch::mse_loss(out, target);
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
            trainSum += loss.item<double>() * static_cast<double>(m);
        }
        const double valLoss = meanLoss(net, ctx.parts.xVal, yVal, bce);
        epochs = epoch;
        if (valLoss < best) {
            best = valLoss;
            sinceImprovement = 0;
            torch::NoGradGuard noGrad;
            bestWeights.clear();
            for (const torch::Tensor& t : parameters) bestWeights.push_back(t.detach().clone());
        } else {
            ++sinceImprovement;
        }
        ctx.progress.setFraction((ctx.probeIndex + static_cast<double>(epoch) / p.maxEpochs) / ctx.probeCount);
        if (ctx.onEpoch) ctx.onEpoch(ProbeEpoch{label, epoch, trainSum / static_cast<double>(n), valLoss});
        if (ctx.progress.isCanceled()) throw Canceled();
        if (sinceImprovement >= p.patience) break;
    }
    if (!bestWeights.empty()) {
        torch::NoGradGuard noGrad;
        for (size_t i = 0; i < parameters.size(); ++i) parameters[i].copy_(bestWeights[i]);
    }
    return epochs;
}

std::string describeSplit(int64_t M, int64_t train, int64_t val, int64_t test, const ProbeParams& p) {
    std::ostringstream s;
    s << M << " tokens split into " << train << " training, " << val << " validation and " << test
      << " test tokens (test fraction " << p.testFraction << ", validation fraction " << p.validationFraction
      << "); every part needs at least " << kMinPartTokens;
    return s.str();
}

void validate(const std::vector<float>& hidden, int64_t M, int D, const std::vector<float>& loss,
              const std::vector<std::pair<std::string, std::vector<float>>>& metrics, const ProbeParams& p) {
    auto fail = [](const std::string& problem) { throw Error("probes: " + problem); };
    if (D < 1) fail("the hidden size must be positive, got " + std::to_string(D));
    if (M < 0) fail("the token count must not be negative, got " + std::to_string(M));
    if (static_cast<int64_t>(hidden.size()) != M * D)
        fail("the hidden states hold " + std::to_string(hidden.size()) + " values, expected " + std::to_string(M) +
             " tokens x " + std::to_string(D) + " = " + std::to_string(M * D));
    if (static_cast<int64_t>(loss.size()) != M)
        fail("the loss has " + std::to_string(loss.size()) + " values for " + std::to_string(M) + " tokens");
    for (const auto& [name, values] : metrics)
        if (static_cast<int64_t>(values.size()) != M)
            fail("metric '" + name + "' has " + std::to_string(values.size()) + " values for " + std::to_string(M) +
                 " tokens");
    for (const std::string& a : p.architectures)
        if (std::find(knownArchitectures().begin(), knownArchitectures().end(), a) == knownArchitectures().end())
            fail("unknown architecture '" + a + "' (known: linear, mlp2_128, mlp3_128, mlp2_256)");
    if (!(p.testFraction > 0 && p.testFraction < 1))
        fail("the test fraction must be between 0 and 1, got " + std::to_string(p.testFraction));
    if (!(p.validationFraction > 0 && p.validationFraction < 1))
        fail("the validation fraction must be between 0 and 1, got " + std::to_string(p.validationFraction));
    if (p.maxEpochs < 1) fail("the maximum number of epochs must be at least 1, got " + std::to_string(p.maxEpochs));
    if (p.patience < 1) fail("the patience must be at least 1, got " + std::to_string(p.patience));
    if (p.batchSize < 1) fail("the batch size must be at least 1, got " + std::to_string(p.batchSize));
    if (!(p.learningRate > 0) || !std::isfinite(p.learningRate))
        fail("the learning rate must be a positive number, got " + std::to_string(p.learningRate));
    for (int64_t i = 0; i < M; ++i)
        if (!std::isfinite(loss[static_cast<size_t>(i)]))
            fail("the loss of token " + std::to_string(i) + " is not finite");
}

std::vector<float> gather(const std::vector<float>& v, const std::vector<int64_t>& index) {
    std::vector<float> out(index.size());
    for (size_t i = 0; i < index.size(); ++i) out[i] = v[static_cast<size_t>(index[i])];
    return out;
}

// (n) float32 tensor owning a copy of v
torch::Tensor toTensor(const std::vector<float>& v) {
    return torch::from_blob(const_cast<float*>(v.data()), {static_cast<int64_t>(v.size())}, torch::kFloat32).clone();
}

struct Standardiser {
    double mean = 0, std = 1;
    explicit Standardiser(const std::vector<float>& trainValues) {
        double sum = 0;
        for (float v : trainValues) sum += v;
        mean = trainValues.empty() ? 0.0 : sum / static_cast<double>(trainValues.size());
        double ss = 0;
        for (float v : trainValues) ss += (v - mean) * (v - mean);
        std = trainValues.empty() ? 1.0 : std::sqrt(ss / static_cast<double>(trainValues.size()));
        if (!(std > 1e-12)) std = 1.0;  // a constant target: predict its mean
    }
    torch::Tensor apply(const std::vector<float>& v) const {
        std::vector<float> out(v.size());
        for (size_t i = 0; i < v.size(); ++i) out[i] = static_cast<float>((v[i] - mean) / std);
        return toTensor(out);
    }
    std::vector<double> invert(const std::vector<float>& v) const {
        std::vector<double> out(v.size());
        for (size_t i = 0; i < v.size(); ++i) out[i] = v[i] * std + mean;
        return out;
    }
};

// MSE, Pearson r and R^2 = 1 - SSE / SST of predictions against the actual values (test set).
void setFit(ProbeRow& row, const std::vector<double>& pred, const std::vector<float>& actual) {
    const size_t n = actual.size();
    std::vector<double> y(actual.begin(), actual.end());
    double sse = 0, mean = 0;
    for (size_t i = 0; i < n; ++i) {
        sse += (pred[i] - y[i]) * (pred[i] - y[i]);
        mean += y[i];
    }
    mean /= static_cast<double>(n);
    double sst = 0;
    for (double v : y) sst += (v - mean) * (v - mean);
    row.mse = sse / static_cast<double>(n);
    row.pearson = pearson(pred, y);
    row.r2 = sst > 0 ? 1.0 - sse / sst : kNaN;
}

}  // namespace

ProbeResult trainProbes(const std::vector<float>& hidden, int64_t M, int D, const std::vector<float>& loss,
                        const std::vector<std::pair<std::string, std::vector<float>>>& metrics,
                        const ProbeParams& params, Progress& progress,
                        const std::function<void(const ProbeEpoch&)>& onEpoch) {
    validate(hidden, M, D, loss, metrics, params);
    const ProbeParams& p = params;

    // Split (see probes.h): shuffled order; the last nTest are the test set, the nVal before
    // them the validation part, the rest the training part.
    const int64_t nTest = std::llround(static_cast<double>(M) * p.testFraction);
    const int64_t nVal = std::llround(static_cast<double>(M - nTest) * p.validationFraction);
    const int64_t nTrain = M - nTest - nVal;
    if (nTrain < kMinPartTokens || nVal < kMinPartTokens || nTest < kMinPartTokens)
        throw Error("probes: " + describeSplit(M, nTrain, nVal, nTest, p));

    // The caller may hold an InferenceMode guard (analyses run the model under one); training
    // needs autograd, and every tensor below is created inside this scope.
    c10::InferenceMode inferenceOff(false);
    try {
        std::vector<int64_t> order(static_cast<size_t>(M));
        std::iota(order.begin(), order.end(), int64_t{0});
        std::mt19937_64 splitRng(p.seed);
        shuffleIndices(order, splitRng);
        Parts parts;
        parts.train.assign(order.begin(), order.begin() + nTrain);
        parts.val.assign(order.begin() + nTrain, order.begin() + nTrain + nVal);
        parts.test.assign(order.begin() + nTrain + nVal, order.end());

        // (M, D) view of the caller's buffer; index_select copies the parts.
        torch::Tensor all = torch::from_blob(const_cast<float*>(hidden.data()), {M, D}, torch::kFloat32);
        auto rows = [&](const std::vector<int64_t>& index) {
            return all.index_select(
                0, torch::from_blob(const_cast<int64_t*>(index.data()), {static_cast<int64_t>(index.size())},
                                    torch::kInt64));
        };
        parts.xTrain = rows(parts.train);
        parts.xVal = rows(parts.val);
        parts.xTest = rows(parts.test);
        all = torch::Tensor();
        if (!torch::isfinite(parts.xTrain).all().item<bool>() || !torch::isfinite(parts.xVal).all().item<bool>() ||
            !torch::isfinite(parts.xTest).all().item<bool>())
            throw Error("probes: the hidden states hold non-finite values (NaN or infinity)");
        {
            torch::NoGradGuard noGrad;
            // Population statistics (ddof 0) of the training part; the variance of the centred
            // values, so float32 sums stay accurate.
            torch::Tensor mean = parts.xTrain.mean(0, /*keepdim=*/true);                     // (1, D)
            torch::Tensor stdev = (parts.xTrain - mean).square().mean(0, true).sqrt().clamp_min(1e-6);  // (1, D)
            for (torch::Tensor* x : {&parts.xTrain, &parts.xVal, &parts.xTest}) x->sub_(mean).div_(stdev);
        }

        // Test-set loss and the Oracle split (easy iff loss <= median of the test losses).
        const std::vector<float> testLossF = gather(loss, parts.test);
        const std::vector<double> testLoss(testLossF.begin(), testLossF.end());
        const double lossMedian = medianOf(testLoss);
        std::vector<char> oracleEasy(testLoss.size());
        for (size_t i = 0; i < testLoss.size(); ++i) oracleEasy[i] = testLoss[i] <= lossMedian;
        const double oracleDiff = separate(testLoss, oracleEasy).lossDiff;

        // The metric probes that have data.
        std::vector<const std::pair<std::string, std::vector<float>>*> metricData;
        for (const std::string& name : p.metricProbes)
            for (const auto& m : metrics)
                if (m.first == name) {
                    metricData.push_back(&m);
                    break;
                }
        for (const auto* m : metricData)
            for (int64_t i = 0; i < M; ++i)
                if (!std::isfinite(m->second[static_cast<size_t>(i)]))
                    throw Error("probes: metric '" + m->first + "' of token " + std::to_string(i) + " is not finite");

        TrainContext ctx{p, parts, progress, onEpoch};
        ctx.probeCount = static_cast<int>(p.architectures.size()) * ((p.regression ? 1 : 0) + (p.classification ? 1 : 0)) +
                         static_cast<int>(metricData.size());
        if (ctx.probeCount == 0) ctx.probeCount = 1;

        ProbeResult result;
        result.sampleTokens = M;
        auto newRow = [&](const std::string& arch, const std::string& task) {
            ProbeRow row;
            row.architecture = arch;
            row.task = task;
            row.trainTokens = nTrain;
            row.validationTokens = nVal;
            row.testTokens = nTest;
            row.mse = row.pearson = row.r2 = kNaN;
            row.accuracy = row.f1Easy = row.f1Hard = kNaN;
            row.easyPct = row.easyLoss = row.hardLoss = row.lossDiff = row.oracleRatio = kNaN;
            return row;
        };
        // Regression on a target (the loss or a metric), standardised with the training part.
        auto regress = [&](const std::string& arch, const std::string& task, const std::vector<float>& target) {
            const std::string label = arch + " " + task;
            progress.setStage("Training probe " + label);
            const uint64_t seed = probeSeed(p.seed, label);
            const Net net = makeNet(arch, D, seed);
            const Standardiser z(gather(target, parts.train));
            ProbeRow row = newRow(arch, task);
            row.epochs = train(net, z.apply(gather(target, parts.train)), z.apply(gather(target, parts.val)), false,
                               label, seed, ctx);
            const std::vector<double> pred = z.invert(predict(net, parts.xTest));
            setFit(row, pred, gather(target, parts.test));
            ++ctx.probeIndex;
            progress.setFraction(static_cast<double>(ctx.probeIndex) / ctx.probeCount);
            return std::make_pair(row, pred);
        };

        if (p.regression)
            for (const std::string& arch : p.architectures) {
                auto [row, pred] = regress(arch, "regression", loss);
                const double predMedian = medianOf(pred);
                std::vector<char> easy(pred.size());
                for (size_t i = 0; i < pred.size(); ++i) easy[i] = pred[i] <= predMedian;
                setSeparation(row, separate(testLoss, easy), oracleDiff);
                result.rows.push_back(row);
            }

        if (p.classification) {
            auto labels = [&](const std::vector<int64_t>& index) {
                std::vector<float> y(index.size());
                for (size_t i = 0; i < index.size(); ++i)
                    y[i] = loss[static_cast<size_t>(index[i])] <= p.easyLossThreshold ? 1.0f : 0.0f;
                return y;
            };
            const torch::Tensor yTrain = toTensor(labels(parts.train)), yVal = toTensor(labels(parts.val));
            const std::vector<float> yTest = labels(parts.test);
            for (const std::string& arch : p.architectures) {
                const std::string label = arch + " classification";
                progress.setStage("Training probe " + label);
                const uint64_t seed = probeSeed(p.seed, label);
                const Net net = makeNet(arch, D, seed);
                ProbeRow row = newRow(arch, "classification");
                row.epochs = train(net, yTrain, yVal, true, label, seed, ctx);
                const std::vector<float> logits = predict(net, parts.xTest);
                std::vector<char> easy(logits.size());
                int64_t correct = 0, tp = 0, fp = 0, fn = 0, tn = 0;  // positive = easy
                for (size_t i = 0; i < logits.size(); ++i) {
                    // p(easy) >= 0.5 iff logit >= 0
                    easy[i] = logits[i] >= 0.0f;
                    const bool actual = yTest[i] > 0.5f;
                    correct += easy[i] == actual;
                    tp += easy[i] && actual;
                    fp += easy[i] && !actual;
                    fn += !easy[i] && actual;
                    tn += !easy[i] && !actual;
                }
                row.accuracy = static_cast<double>(correct) / static_cast<double>(logits.size());
                row.f1Easy = f1Score(tp, fp, fn);
                row.f1Hard = f1Score(tn, fn, fp);
                setSeparation(row, separate(testLoss, easy), oracleDiff);
                result.rows.push_back(row);
                ++ctx.probeIndex;
                progress.setFraction(static_cast<double>(ctx.probeIndex) / ctx.probeCount);
            }
        }

        for (const auto* m : metricData) result.rows.push_back(regress("mlp2_128", m->first, m->second).first);

        progress.setFraction(1.0);
        return result;
    } catch (const c10::Error& e) {
        throw Error(std::string("probes: training failed: ") + e.what_without_backtrace());
    }
}

namespace {

// The probes, trained once on the capture pass's token sample: its hidden states, losses and
// final-layer metrics. The sample's hidden states are dropped after (not part of the run).
void trainProbesOnSample(LayerRun& run, Progress& progress, const LayerRunCallbacks& callbacks) {
    if (!run.params.lossSep.probes) return;
    CaptureResult& capture = run.capture;
    progress.setStage("Training probes on layer " + std::to_string(capture.probeLayer));
    const int64_t M = static_cast<int64_t>(capture.probeTokens.size());
    std::vector<float> loss;
    for (int64_t t : capture.probeTokens) loss.push_back(capture.loss[static_cast<size_t>(t)]);
    std::vector<std::pair<std::string, std::vector<float>>> metrics;
    for (const std::string& name : run.params.lossSep.probe.metricProbes) {
        const std::vector<float> all = metricValues(capture.metrics.back(), name);
        std::vector<float> sample;
        for (int64_t t : capture.probeTokens) sample.push_back(all[static_cast<size_t>(t)]);
        metrics.emplace_back(name, std::move(sample));
    }
    LossSepResult probed;  // the rest comes from the capture when the run is summarised
    probed.probes = trainProbes(capture.probeHidden, M, capture.hiddenSize, loss, metrics, run.params.lossSep.probe,
                                progress, [&callbacks](const ProbeEpoch& epoch) {
                                    callbacks.report("losssep", std::make_shared<const ProbeEpoch>(epoch));
                                });
    probed.probes->layer = capture.probeLayer;
    probed.probes->sampleTokens = M;
    run.setResult("losssep", std::move(probed));
    std::vector<float>().swap(capture.probeHidden);
}

}  // namespace

AnalysisRunner lossSepRunner() {
    AnalysisRunner runner;
    runner.name = "losssep";
    // A shard keeps its sample in its run file instead: the probes learn from the whole run's
    // sample when the shards are merged (afterMerge).
    runner.runPass = [](const Model&, const Dataset&, LayerRun& run, Progress& progress,
                        const LayerRunCallbacks& callbacks) {
        if (!run.params.windows.shard.sharded()) trainProbesOnSample(run, progress, callbacks);
    };
    runner.afterMerge = [](LayerRun& run, Progress& progress) { trainProbesOnSample(run, progress, {}); };
    runner.cost = [](const Model&, const LayerRunParams& p) {
        return p.lossSep.probes && !p.windows.shard.sharded() ? 1.0 : 0.0;
    };
    return runner;
}

}  // namespace ls
