#include "analysis/early_exit.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "analysis/capture_pass.h"
#include "analysis/layer_run.h"
#include "analysis/losssep.h"
#include "analysis/registry.h"
#include "common/json_integer.h"
#include "common/error.h"
#include "model/model.h"
#include "stats/summary.h"

namespace ls {

namespace {

std::string layerList(int L) { return "1.." + std::to_string(L - 1); }

// Sum over the tail [i, N) of values taken in `order`: suffix[i] (size N + 1, suffix[N] = 0).
template <typename T, typename V>
std::vector<T> suffixSums(const std::vector<size_t>& order, const V& value) {
    std::vector<T> out(order.size() + 1, T(0));
    for (size_t i = order.size(); i-- > 0;) out[i] = out[i + 1] + static_cast<T>(value(order[i]));
    return out;
}

// The signals a token may exit on: the separation metrics an exit policy can compute (not
// correct_prob, which needs the answer), then cos-sim.
const std::vector<std::string>& exitSignals() {
    static const std::vector<std::string> signals = [] {
        std::vector<std::string> out;
        for (const MetricInfo& m : separationMetrics())
            if (std::string(m.name) != "correct_prob") out.push_back(m.name);
        out.push_back("cossim");
        return out;
    }();
    return signals;
}

// Throws ls::ParamError("signal", ...) for a signal an exit policy cannot use, naming those it can.
void checkExitSignal(const std::string& signal) {
    if (signal == "correct_prob")
        throw ParamError("signal", "correct_prob needs the answer, which an exit policy does not have");
    const std::vector<std::string>& all = exitSignals();
    if (std::find(all.begin(), all.end(), signal) == all.end()) {
        std::string names;
        for (const std::string& name : all) names += (names.empty() ? "" : ", ") + name;
        throw ParamError("signal", "unknown signal '" + signal + "' (available: " + names + ")");
    }
}

}  // namespace

ExitSimulator::ExitSimulator(const CaptureResult& c, std::string signal, std::vector<int> allowed)
    : signal_(std::move(signal)), allowed_(std::move(allowed)) {
    L_ = c.numLayers;
    N_ = c.tokens();
    if (c.metrics.empty() || c.lensTop1.empty())
        throw Error("early exit needs the logit-lens metrics and top-1 ids of every layer (run it with 'exit')");
    checkExitSignal(signal_);
    if (signal_ == "cossim") {
        if (c.cossim.empty()) throw ParamError("signal", "cossim needs the cos-sim values (run cossim in the same pass)");
        higherExits_ = true;
    } else {
        higherExits_ = metricHigherIsEasier(signal_);
    }
    if (allowed_.empty()) throw ParamError("layers", "an exit policy needs at least one allowed layer in " + layerList(L_));
    std::sort(allowed_.begin(), allowed_.end());
    allowed_.erase(std::unique(allowed_.begin(), allowed_.end()), allowed_.end());
    for (int l : allowed_)
        if (l < 1 || l >= L_)
            throw ParamError("layers", "layer " + std::to_string(l) + " is outside " + layerList(L_) +
                        " (tokens that pass nowhere run to layer " + std::to_string(L_) + " anyway)");

    const size_t N = static_cast<size_t>(N_), k = allowed_.size();
    const float sign = higherExits_ ? 1.f : -1.f;
    auto signalAt = [&](int l) {
        return signal_ == "cossim" ? c.cossim[l - 1] : metricValues(c.metrics[l - 1], signal_);
    };
    auto lossAt = [&](int l) {
        std::vector<float> v(c.metrics[l - 1].correctLogProb);
        for (float& x : v) x = -x;
        return v;
    };
    const std::vector<int32_t>& finalTop1 = c.lensTop1[L_];
    signalByToken_.resize(N * k);
    lossByToken_.resize(N * (k + 1));
    agreeByToken_.resize(N * (k + 1));
    min_ = INFINITY;
    max_ = -INFINITY;
    std::vector<float> prefixMax(N, -INFINITY);
    std::vector<std::vector<float>> losses;  // [j] at a_{j+1}, then L
    std::vector<std::vector<uint8_t>> agrees;
    for (size_t j = 0; j <= k; ++j) {
        const int l = j < k ? allowed_[j] : L_;
        losses.push_back(lossAt(l));
        std::vector<uint8_t> agree(N);
        for (size_t t = 0; t < N; ++t) agree[t] = c.lensTop1[l][t] == finalTop1[t];
        agrees.push_back(std::move(agree));
        for (size_t t = 0; t < N; ++t) {
            lossByToken_[t * (k + 1) + j] = losses[j][t];
            agreeByToken_[t * (k + 1) + j] = agrees[j][t];
        }
    }
    for (const float v : losses[k]) totalFinalLoss_ += v;
    for (size_t j = 0; j < k; ++j) {
        const std::vector<float> s = signalAt(allowed_[j]);
        for (size_t t = 0; t < N; ++t) {
            if (std::isfinite(s[t])) {
                min_ = std::min(min_, double(s[t]));
                max_ = std::max(max_, double(s[t]));
            }
            signalByToken_[t * k + j] = sign * s[t];
            prefixMax[t] = std::max(prefixMax[t], sign * s[t]);
        }
        std::vector<size_t> order(N);
        std::iota(order.begin(), order.end(), size_t(0));
        std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return prefixMax[a] < prefixMax[b]; });
        Level level;
        level.sortedMax.resize(N);
        for (size_t i = 0; i < N; ++i) level.sortedMax[i] = prefixMax[order[i]];
        level.lossHere = suffixSums<double>(order, [&](size_t t) { return losses[j][t]; });
        level.agreeHere = suffixSums<int64_t>(order, [&](size_t t) { return agrees[j][t]; });
        level.lossNext = suffixSums<double>(order, [&](size_t t) { return losses[j + 1][t]; });
        level.agreeNext = suffixSums<int64_t>(order, [&](size_t t) { return agrees[j + 1][t]; });
        levels_.push_back(std::move(level));
    }
    if (!(min_ <= max_)) min_ = max_ = 0;
}

ExitOutcome ExitSimulator::finish(std::vector<int64_t> exits, double lossSum, int64_t agreeCount) const {
    ExitOutcome o;
    o.tokens = N_;
    double layerSum = 0;
    for (int l = 1; l <= L_; ++l) layerSum += static_cast<double>(l) * static_cast<double>(exits[l - 1]);
    const double n = static_cast<double>(N_);
    o.exitFraction = n > 0 ? 1.0 - static_cast<double>(exits[L_ - 1]) / n : 0;
    o.meanLayers = n > 0 ? layerSum / n : 0;
    o.computeSaved = 1.0 - o.meanLayers / L_;
    o.top1Agreement = n > 0 ? static_cast<double>(agreeCount) / n : 0;
    o.ppl = std::exp(n > 0 ? lossSum / n : 0);
    o.exits = std::move(exits);
    return o;
}

ExitOutcome ExitSimulator::evaluate(double threshold) const {
    const double th = higherExits_ ? threshold : -threshold;
    std::vector<int64_t> exits(static_cast<size_t>(L_), 0);
    double lossSum = 0;
    int64_t agree = 0;
    // above[j] = tokens with P_j >= th: they exited at a_1..a_j.
    int64_t exitedBefore = 0;
    for (size_t j = 0; j < levels_.size(); ++j) {
        const Level& lv = levels_[j];
        const size_t i = static_cast<size_t>(std::lower_bound(lv.sortedMax.begin(), lv.sortedMax.end(), th,
                                                              [](float v, double t) { return double(v) < t; }) -
                                             lv.sortedMax.begin());
        const int64_t above = N_ - static_cast<int64_t>(i);
        exits[static_cast<size_t>(allowed_[j] - 1)] = above - exitedBefore;
        exitedBefore = above;
        // Exiting here = (P_j >= th) minus (P_{j-1} >= th); values at a_j.
        lossSum += lv.lossHere[i];
        agree += lv.agreeHere[i];
        if (j > 0) {
            const Level& prev = levels_[j - 1];
            const size_t ip = static_cast<size_t>(std::lower_bound(prev.sortedMax.begin(), prev.sortedMax.end(), th,
                                                                   [](float v, double t) { return double(v) < t; }) -
                                                  prev.sortedMax.begin());
            lossSum -= prev.lossNext[ip];
            agree -= prev.agreeNext[ip];
        }
    }
    // The rest run to L: everything minus those with P_k >= th (values at L).
    const Level& last = levels_.back();
    const size_t ik = static_cast<size_t>(N_ - exitedBefore);
    exits[static_cast<size_t>(L_ - 1)] += N_ - exitedBefore;
    lossSum += totalFinalLoss_ - last.lossNext[ik];
    agree += (last.agreeNext[0] - last.agreeNext[ik]);
    return finish(std::move(exits), lossSum, agree);
}

ExitOutcome ExitSimulator::evaluate(const std::vector<double>& perLayer) const {
    const size_t k = allowed_.size();
    if (perLayer.size() != k)
        throw ParamError("layer-thresholds", "give one threshold per allowed layer (" + std::to_string(k) + "), got " +
                    std::to_string(perLayer.size()));
    std::vector<float> th(k);
    for (size_t j = 0; j < k; ++j) th[j] = static_cast<float>(higherExits_ ? perLayer[j] : -perLayer[j]);
    std::vector<int64_t> exits(static_cast<size_t>(L_), 0);
    double lossSum = 0;
    int64_t agree = 0;
    for (size_t t = 0; t < static_cast<size_t>(N_); ++t) {
        const float* s = &signalByToken_[t * k];
        size_t j = 0;
        while (j < k && !(s[j] >= th[j])) ++j;
        ++exits[static_cast<size_t>((j < k ? allowed_[j] : L_) - 1)];
        lossSum += lossByToken_[t * (k + 1) + j];
        agree += agreeByToken_[t * (k + 1) + j];
    }
    return finish(std::move(exits), lossSum, agree);
}

std::vector<SweepPoint> ExitSimulator::sweep(const std::vector<double>& thresholds) const {
    std::vector<SweepPoint> points;
    for (double th : thresholds) points.push_back({th, evaluate(th), false});
    for (SweepPoint& p : points) {
        p.pareto = std::none_of(points.begin(), points.end(), [&](const SweepPoint& q) {
            const ExitOutcome &a = p.outcome, &b = q.outcome;
            return b.computeSaved >= a.computeSaved && b.top1Agreement >= a.top1Agreement &&
                   (b.computeSaved > a.computeSaved || b.top1Agreement > a.top1Agreement);
        });
    }
    return points;
}

std::vector<double> ExitSimulator::defaultThresholds(int count) const {
    // Back in the signal's own units; NaNs (which never exit) left out.
    std::vector<float> pooled;
    pooled.reserve(signalByToken_.size());
    for (float v : signalByToken_)
        if (!std::isnan(v)) pooled.push_back(higherExits_ ? v : -v);
    std::sort(pooled.begin(), pooled.end());
    std::vector<double> out;
    for (int i = 0; i < count; ++i) out.push_back(quantileSorted(pooled, count > 1 ? double(i) / (count - 1) : 0.5));
    return out;
}

ExitResult analyseEarlyExit(const CaptureResult& capture, ExitParams params) {
    if (params.layers.empty())
        for (int l = 1; l < capture.numLayers; ++l) params.layers.push_back(l);
    if (params.layers.empty())
        throw Error("early exit needs a model with at least 2 layers (layer L is where every token ends)");
    const ExitSimulator sim(capture, params.signal, params.layers);
    params.layers = sim.allowedLayers();
    if (params.thresholds.empty()) params.thresholds = sim.defaultThresholds(params.sweepPoints);
    for (double th : params.thresholds)
        if (!std::isfinite(th)) throw ParamError("thresholds", "every threshold must be a finite number");
    if (std::isnan(params.threshold)) {
        const std::vector<double> median = sim.defaultThresholds(3);
        params.threshold = median[1];
    }
    ExitResult r;
    r.numLayers = capture.numLayers;
    r.policy = params.layerThresholds.empty() ? sim.evaluate(params.threshold) : sim.evaluate(params.layerThresholds);
    r.sweep = sim.sweep(params.thresholds);
    r.params = std::move(params);
    return r;
}

std::vector<Table> exitTables(const ExitResult& r) {
    using K = Column::Kind;
    auto outcomeTable = [&](const std::string& name, const std::string& title, bool paretoOnly) {
        Table t{name, title, {}};
        addColumns(t, {{"threshold", K::Real}, {"exit_fraction", K::Real}, {"mean_layers", K::Real},
                       {"compute_saved", K::Real}, {"top1_agreement", K::Real}, {"ppl", K::Real}});
        for (const SweepPoint& p : r.sweep) {
            if (paretoOnly && !p.pareto) continue;
            const ExitOutcome& o = p.outcome;
            addRow(t, {p.threshold, o.exitFraction, o.meanLayers, o.computeSaved, o.top1Agreement, o.ppl});
        }
        return t;
    };
    const std::string policy = "signal " + r.params.signal + (r.params.signal == "entropy" ? " <= " : " >= ") + "threshold";
    Table hist{"exit_policy", "Exit histogram of the policy (" + policy + ")", {}};
    addColumns(hist, {{"layer", K::Integer}, {"tokens", K::Integer}, {"fraction", K::Real}});
    for (int l = 1; l <= r.numLayers; ++l) {
        const int64_t n = r.policy.exits[static_cast<size_t>(l - 1)];
        addRow(hist, {l, static_cast<double>(n),
                      r.policy.tokens ? static_cast<double>(n) / static_cast<double>(r.policy.tokens) : 0.0});
    }
    return {outcomeTable("exit_sweep", "Early-exit sweep (" + policy + ")", false),
            outcomeTable("exit_pareto", "Pareto front: compute saved vs top-1 agreement", true), hist};
}

namespace {

// Its own parameters against the model: the allowed layers, the signal, the thresholds. An
// exit on cos-sim needs that analysis.
void resolveExitParams(LayerRunParams& p, const ModelConfig& c) {
    const int L = c.numLayers;
    if (L < 2) throw Error("early exit needs a model with at least 2 layers");
    if (p.exit.signal == "cossim" && !p.wants("cossim")) p.analyses.push_back("cossim");
    for (int l : p.exit.layers)
        if (l < 1 || l >= L)
            throw ParamError("layers", "layer " + std::to_string(l) + " is outside 1.." + std::to_string(L - 1) +
                        " (tokens that pass nowhere run to layer " + std::to_string(L) + " anyway)");
    checkExitSignal(p.exit.signal);
    if (p.exit.sweepPoints < 2) throw ParamError("sweep-points", "must be at least 2");
    for (const auto* list : {&p.exit.thresholds, &p.exit.layerThresholds})
        for (double th : *list)
            if (!std::isfinite(th)) throw ParamError("thresholds", "every threshold must be a finite number");
    if (!std::isnan(p.exit.threshold) && !std::isfinite(p.exit.threshold))
        throw ParamError("threshold", "must be a finite number");
    if (!p.exit.layerThresholds.empty()) {
        const size_t allowed = p.exit.layers.empty() ? size_t(L - 1) : p.exit.layers.size();
        if (p.exit.layerThresholds.size() != allowed)
            throw ParamError("layer-thresholds", "give one threshold per allowed layer (" + std::to_string(allowed) +
                        "), got " + std::to_string(p.exit.layerThresholds.size()));
    }
}

}  // namespace

AnalysisSpec exitAnalysis() {
    using K = ParamSpec::Kind;
    AnalysisSpec spec = analysisEntry("exit", "Early exit",
        "exit policies on a signal per layer: exits, compute saved, top-1 agreement, PPL");
    spec.params = {
        ParamSpec{"signal", K::Text, "confidence|max_z|max_minus_mean|margin|entropy|cossim", "Exit signal",
            "The exit signal (default confidence)."}
            .withChoices(exitSignals()),
        ParamSpec{"layers", K::IntegerList, "1,2,3", "Exit layers", "Layers where a token may exit, 1..L-1 (default all)."}
            .withPlaceholder("all: 1..L-1"),
        ParamSpec{"thresholds", K::RealList, "a,b,c", "Thresholds",
            "The threshold sweep (default --sweep-points quantiles of the signal)."}
            .withPlaceholder("quantiles of the signal"),
        {"sweep-points", K::Integer, "N", "Sweep points",
            "Without --thresholds: the sweep's thresholds are N evenly spaced quantiles of the pooled signal, from its "
            "minimum to its maximum (default 41).", 2},
        ParamSpec{"threshold", K::Real, "x", "Threshold", "The policy's threshold (default the median)."}
            .withPlaceholder("the median"),
        ParamSpec{"layer-thresholds", K::RealList, "t1,t2,...", "Layer thresholds", "One threshold per allowed layer."}
            .withPlaceholder("none: one threshold for all"),
    };
    spec.apply = [](const ParamValues& v, const ModelConfig&, LayerRunParams& p) {
        if (v.has("signal")) p.exit.signal = v.text("signal");
        if (v.has("layers")) p.exit.layers = v.integers("layers");
        if (v.has("thresholds")) p.exit.thresholds = v.reals("thresholds");
        if (v.has("sweep-points")) p.exit.sweepPoints = static_cast<int>(v.integer("sweep-points"));
        if (v.has("threshold")) p.exit.threshold = v.real("threshold");
        if (v.has("layer-thresholds")) p.exit.layerThresholds = v.reals("layer-thresholds");
    };
    spec.values = [](const LayerRunParams& p, ParamValues& v) {
        v.set("signal", p.exit.signal);
        if (!p.exit.layers.empty()) v.set("layers", p.exit.layers);
        if (!p.exit.thresholds.empty()) v.set("thresholds", p.exit.thresholds);
        v.set("sweep-points", int64_t(p.exit.sweepPoints));
        if (std::isfinite(p.exit.threshold)) v.set("threshold", p.exit.threshold);
        if (!p.exit.layerThresholds.empty()) v.set("layer-thresholds", p.exit.layerThresholds);
    };
    spec.request = [](const LayerRunParams&, CaptureRequest& r) {
        r.lens = true;
        r.metrics = true;
    };
    spec.summarise = [](LayerRun& run) { run.setResult("exit", analyseEarlyExit(run.capture, run.params.exit)); };
    spec.tables = [](const LayerRun& run, bool, std::vector<Table>& out) {
        if (const auto r = run.result<ExitResult>("exit")) appendTables(out, exitTables(*r));
    };
    spec.fronts = [](const LayerRun& run, std::vector<FrontPoint>& out) {
        const auto r = run.result<ExitResult>("exit");
        if (!r) return;
        std::vector<FrontPoint> front;
        for (const SweepPoint& p : r->sweep)
            if (p.pareto) front.push_back({"exit_pareto", p.outcome.computeSaved, p.outcome.top1Agreement});
        std::sort(front.begin(), front.end(), [](const FrontPoint& a, const FrontPoint& b) { return a.x < b.x; });
        out.insert(out.end(), front.begin(), front.end());
    };
    spec.resolve = resolveExitParams;
    spec.settings = [](const LayerRun& run) -> std::vector<std::pair<std::string, std::string>> {
        const auto r = run.result<ExitResult>("exit");
        if (!r) return {};
        return {{"Exit signal", r->params.signal}, {"Exit layers", listText(r->params.layers)}};
    };
    spec.terminalReport = [](const LayerRun&, const std::vector<Table>& tables) {
        return tablesAsText(tables, {"exit_sweep"});
    };
    spec.paramsToJson = [](const LayerRunParams& p, nlohmann::json& j) {
        j["exit_signal"] = p.exit.signal;
        j["exit_layers"] = p.exit.layers;
        j["exit_thresholds"] = p.exit.thresholds;
        j["exit_sweep_points"] = p.exit.sweepPoints;
        j["exit_threshold"] = std::isnan(p.exit.threshold) ? nlohmann::json(nullptr) : nlohmann::json(p.exit.threshold);
        j["exit_layer_thresholds"] = p.exit.layerThresholds;
    };
    spec.paramsFromJson = [](const nlohmann::json& j, LayerRunParams& p) {
        p.exit.signal = j.at("exit_signal").get<std::string>();
        p.exit.layers = jsonIntegers(j, "exit_layers");
        p.exit.thresholds = j.at("exit_thresholds").get<std::vector<double>>();
        p.exit.sweepPoints = j.value("exit_sweep_points", 41);  // older runs: the fixed 41
        p.exit.threshold = j.at("exit_threshold").is_null() ? std::nan("") : j.at("exit_threshold").get<double>();
        p.exit.layerThresholds = j.at("exit_layer_thresholds").get<std::vector<double>>();
    };
    return spec;
}

}  // namespace ls
