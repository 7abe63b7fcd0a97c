#include "analysis/losssep.h"

#include <algorithm>
#include <cmath>

#include "analysis/capture_pass.h"
#include "analysis/layer_run.h"
#include "analysis/registry.h"
#include "io/hdf5_file.h"
#include "common/json_integer.h"
#include "common/error.h"
#include "common/number_text.h"
#include "model/model.h"
#include "stats/correlation.h"

namespace ls {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double mean(double sum, int64_t n) { return n > 0 ? sum / static_cast<double>(n) : kNaN; }

// Mean loss of each side; easy[t] says which side token t is on.
template <typename IsEasy>
SplitStats split(const std::vector<float>& loss, double oracleLossDiff, IsEasy isEasy) {
    SplitStats s;
    double easySum = 0, hardSum = 0;
    for (size_t t = 0; t < loss.size(); ++t) {
        if (isEasy(t)) {
            ++s.easy;
            easySum += loss[t];
        } else {
            ++s.hard;
            hardSum += loss[t];
        }
    }
    const double n = static_cast<double>(loss.size());
    s.easyPct = n > 0 ? 100.0 * static_cast<double>(s.easy) / n : kNaN;
    s.hardPct = n > 0 ? 100.0 * static_cast<double>(s.hard) / n : kNaN;
    s.easyLoss = mean(easySum, s.easy);
    s.hardLoss = mean(hardSum, s.hard);
    s.lossDiff = s.hardLoss - s.easyLoss;
    s.oracleRatio = s.lossDiff / oracleLossDiff;
    return s;
}

double medianOf(const std::vector<float>& v) { return quantile(v, 0.5); }

// Sample variance (ddof 1) of the losses on one side.
double sampleVariance(const std::vector<float>& loss, const std::vector<bool>& easy, bool side) {
    double sum = 0, sumSq = 0;
    int64_t n = 0;
    for (size_t t = 0; t < loss.size(); ++t) {
        if (easy[t] != side) continue;
        sum += loss[t];
        ++n;
    }
    const double m = mean(sum, n);
    for (size_t t = 0; t < loss.size(); ++t)
        if (easy[t] == side) sumSq += (loss[t] - m) * (loss[t] - m);
    return n > 1 ? sumSq / static_cast<double>(n - 1) : kNaN;
}

// The easy/hard split columns that end the predictor, threshold and low-rank tables.
void addSplitColumns(Table& t) {
    for (const char* name : {"easy_pct", "hard_pct", "easy_loss", "hard_loss", "loss_diff", "oracle_ratio"})
        t.add(name, Column::Kind::Real);
}

// row's cells, the split's, then after's.
void addSplitRow(Table& t, std::vector<Cell> row, const SplitStats& s, const std::vector<Cell>& after = {}) {
    for (double v : {s.easyPct, s.hardPct, s.easyLoss, s.hardLoss, s.lossDiff, s.oracleRatio}) row.push_back(v);
    row.insert(row.end(), after.begin(), after.end());
    addRow(t, row);
}

}  // namespace

const std::vector<MetricInfo>& separationMetrics() {
    static const std::vector<MetricInfo> list = {{"correct_prob", true}, {"confidence", true},
                                                 {"max_z", true},        {"max_minus_mean", true},
                                                 {"margin", true},       {"entropy", false}};
    return list;
}

bool metricHigherIsEasier(const std::string& name) {
    for (const MetricInfo& m : separationMetrics())
        if (name == m.name) return m.higherIsEasier;
    throw Error("unknown metric '" + name +
                "' (available: correct_prob, confidence, max_z, max_minus_mean, margin, entropy)");
}

std::vector<float> metricValues(const LayerMetrics& m, const std::string& name) {
    if (name == "confidence") return m.confidence;
    if (name == "max_z") return m.maxLogit;
    if (name == "max_minus_mean") return m.maxMinusMean;
    if (name == "margin") return m.margin;
    if (name == "entropy") return m.entropy;
    if (name == "correct_prob") {
        std::vector<float> p(m.correctLogProb.size());
        std::transform(m.correctLogProb.begin(), m.correctLogProb.end(), p.begin(), [](float v) { return std::exp(v); });
        return p;
    }
    metricHigherIsEasier(name);  // throws for an unknown name
    return {};
}

SplitStats splitByThreshold(const std::vector<float>& score, const std::vector<float>& loss, double threshold,
                            bool higherIsEasier, double oracleLossDiff) {
    if (score.size() != loss.size()) throw Error("split: score and loss have different lengths");
    return split(loss, oracleLossDiff, [&](size_t t) {
        return higherIsEasier ? score[t] >= threshold : score[t] <= threshold;
    });
}

SplitStats splitAtMedian(const std::vector<float>& score, const std::vector<float>& loss, bool higherIsEasier,
                         double oracleLossDiff) {
    return splitByThreshold(score, loss, medianOf(score), higherIsEasier, oracleLossDiff);
}

LossSepResult analyseLossSeparation(const CaptureResult& capture, const LossSepParams& params,
                                    const std::optional<ProbeResult>& probes) {
    if (capture.metrics.empty()) throw Error("the run holds no logit-lens metrics (the capture pass did not compute them)");
    const std::vector<float>& loss = capture.loss;
    const int L = static_cast<int>(capture.metrics.size());
    LossSepResult r;
    r.numLayers = L;
    r.params = params;
    r.probes = probes;

    // Distribution and the Oracle (easy iff loss <= median).
    LossDistribution& d = r.distribution;
    d.summary = summarize(loss);
    d.histogram = histogram(loss, params.bins);
    d.median = medianOf(loss);
    d.oracle = splitByThreshold(loss, loss, d.median, /*higherIsEasier=*/false, /*oracleLossDiff=*/1.0);
    d.oracle.oracleRatio = 1.0;
    const double oracleDiff = d.oracle.lossDiff;
    std::vector<bool> easy(loss.size());
    for (size_t t = 0; t < loss.size(); ++t) easy[t] = loss[t] <= d.median;
    const double ne = static_cast<double>(d.oracle.easy), nh = static_cast<double>(d.oracle.hard);
    const double pooled = std::sqrt(((ne - 1) * sampleVariance(loss, easy, true) + (nh - 1) * sampleVariance(loss, easy, false)) /
                                    (ne + nh - 2));
    d.cohensD = oracleDiff / pooled;

    // Every metric at every layer (the early-exit grid); layer L is the final prediction.
    for (int l = 1; l <= L; ++l) {
        for (const MetricInfo& m : separationMetrics()) {
            const std::vector<float> s = metricValues(capture.metrics[l - 1], m.name);
            r.predictors.push_back({m.name, l, pearson(s, loss), splitAtMedian(s, loss, m.higherIsEasier, oracleDiff)});
        }
    }
    r.predictors.push_back({"oracle", L, 1.0, d.oracle});
    if (probes) {
        for (const ProbeRow& p : probes->rows) {
            if (p.task != "regression" && p.task != "classification") continue;
            SplitStats s;
            s.easyPct = p.easyPct;
            s.hardPct = 100.0 - p.easyPct;
            s.easyLoss = p.easyLoss;
            s.hardLoss = p.hardLoss;
            s.lossDiff = p.lossDiff;
            s.oracleRatio = p.oracleRatio;
            r.predictors.push_back({"probe_" + p.architecture + "_" + p.task, probes->layer,
                                    p.task == "regression" ? p.pearson : kNaN, s});
        }
    }

    // Threshold table at the final layer.
    const LayerMetrics& final = capture.metrics[L - 1];
    for (const char* method : {"correct_prob", "confidence"}) {
        const std::vector<float> s = metricValues(final, method);
        for (double th : params.confidenceThresholds) {
            char rule[32];
            std::snprintf(rule, sizeof rule, "%g", th);
            r.thresholds.push_back({method, rule, th, splitByThreshold(s, loss, th, true, oracleDiff)});
        }
        r.thresholds.push_back({method, "median", medianOf(s), splitAtMedian(s, loss, true, oracleDiff)});
    }

    // High-confidence subsets: correlations of each metric with the loss inside the subset.
    for (double c : params.subsetConfidences) {
        SubsetRow row;
        row.minConfidence = c;
        std::vector<size_t> members;
        for (size_t t = 0; t < loss.size(); ++t)
            if (final.confidence[t] >= c) members.push_back(t);
        row.tokens = static_cast<int64_t>(members.size());
        row.pct = loss.empty() ? kNaN : 100.0 * static_cast<double>(members.size()) / static_cast<double>(loss.size());
        double sum = 0, total = 0;
        std::vector<float> subLoss;
        for (size_t t : members) {
            sum += loss[t];
            subLoss.push_back(loss[t]);
        }
        for (float l : loss) total += l;
        row.meanLoss = mean(sum, row.tokens);
        row.lowTokens = static_cast<int64_t>(loss.size()) - row.tokens;
        row.lowPct = loss.empty() ? kNaN : 100.0 - row.pct;
        row.lowMeanLoss = mean(total - sum, row.lowTokens);
        for (const MetricInfo& m : separationMetrics()) {
            if (std::string(m.name) == "correct_prob") continue;
            const std::vector<float> all = metricValues(final, m.name);
            std::vector<float> sub;
            for (size_t t : members) sub.push_back(all[t]);
            row.pearson.push_back(pearson(sub, subLoss));
        }
        r.subsets.push_back(row);
    }

    // Low-rank versions of the final-layer metrics.
    double energy = 0;
    for (double s : capture.singularValues) energy += s * s;
    for (const LowRankMetrics& k : capture.lowRankMetrics) {
        double kept = 0;
        for (size_t i = 0; i < capture.singularValues.size() && i < size_t(k.rank); ++i)
            kept += capture.singularValues[i] * capture.singularValues[i];
        const double headError = energy > 0 ? std::sqrt(std::max(0.0, energy - kept) / energy) : kNaN;
        const double usPerToken = k.tokens > 0 ? 1e6 * k.seconds / static_cast<double>(k.tokens) : kNaN;
        for (const MetricInfo& m : separationMetrics()) {
            if (std::string(m.name) == "correct_prob") continue;
            const std::vector<float> approx = metricValues(k.metrics, m.name);
            const std::vector<float> exact = metricValues(final, m.name);
            r.lowRank.push_back({k.rank, m.name, pearson(approx, exact), pearson(approx, loss),
                                 splitAtMedian(approx, loss, m.higherIsEasier, oracleDiff), k.logitCorr, k.logitMse,
                                 headError, usPerToken});
        }
    }
    return r;
}

std::vector<Table> lossSepTables(const LossSepResult& r) {
    using K = Column::Kind;
    std::vector<Table> out;
    const LossDistribution& d = r.distribution;
    Table summary{"loss_summary", "Per-token loss (nats) and the Oracle split at the median", {}};
    const std::vector<std::pair<const char*, double>> values = {
        {"mean", d.summary.mean},          {"std", d.summary.std},           {"min", d.summary.min},
        {"p25", d.summary.p25},            {"p50", d.summary.p50},           {"p75", d.summary.p75},
        {"max", d.summary.max},            {"oracle_easy_loss", d.oracle.easyLoss},
        {"oracle_hard_loss", d.oracle.hardLoss}, {"oracle_loss_diff", d.oracle.lossDiff}, {"cohens_d", d.cohensD}};
    summary.add("count", K::Integer).numbers.push_back(static_cast<double>(d.summary.count));
    for (const auto& [name, v] : values) summary.add(name, K::Real).numbers.push_back(v);
    out.push_back(summary);

    Table hist{"loss_histogram", "Per-token loss histogram", {}};
    addColumns(hist, {{"bin", K::Integer}, {"bin_lo", K::Real}, {"bin_hi", K::Real}, {"count", K::Integer}});
    for (size_t b = 0; b < d.histogram.counts.size(); ++b)
        addRow(hist, {static_cast<double>(b), d.histogram.edge(static_cast<int>(b)), d.histogram.edge(static_cast<int>(b + 1)),
                      static_cast<double>(d.histogram.counts[b])});
    out.push_back(hist);

    Table pred{"predictors", "Easy/hard split at each predictor's median (layer L = the final prediction)", {}};
    addColumns(pred, {{"method", K::Text}, {"layer", K::Integer}, {"pearson_r", K::Real}});
    addSplitColumns(pred);
    for (const PredictorRow& p : r.predictors) addSplitRow(pred, {p.method, p.layer, p.pearson}, p.split);
    out.push_back(pred);

    Table th{"thresholds", "Threshold table at the final layer (easy iff score >= threshold)", {}};
    addColumns(th, {{"method", K::Text}, {"rule", K::Text}, {"threshold", K::Real}});
    addSplitColumns(th);
    for (const ThresholdRow& row : r.thresholds) addSplitRow(th, {row.method, row.rule, row.threshold}, row.split);
    out.push_back(th);

    Table sub{"confidence_subsets",
              "High-confidence subsets: correlation of each metric with the loss inside; low_*: the tokens below", {}};
    addColumns(sub, {{"min_confidence", K::Real}, {"tokens", K::Integer}, {"pct", K::Real}, {"mean_loss", K::Real}});
    for (const MetricInfo& m : separationMetrics())
        if (std::string(m.name) != "correct_prob") sub.add(std::string("r_") + m.name, K::Real);
    addColumns(sub, {{"low_tokens", K::Integer}, {"low_pct", K::Real}, {"low_mean_loss", K::Real}});
    for (const SubsetRow& row : r.subsets) {
        std::vector<Cell> cells{row.minConfidence, static_cast<double>(row.tokens), row.pct, row.meanLoss};
        for (double r : row.pearson) cells.push_back(r);
        cells.insert(cells.end(), {static_cast<double>(row.lowTokens), row.lowPct, row.lowMeanLoss});
        addRow(sub, cells);
    }
    out.push_back(sub);

    if (!r.lowRank.empty()) {
        Table low{"lowrank_metrics",
                  "Metrics from the rank-r head at the final layer; logit_*, head_rel_error and us_per_token describe the "
                  "rank-r head itself",
                  {}};
        addColumns(low, {{"rank", K::Integer}, {"method", K::Text}, {"corr_with_exact", K::Real}, {"pearson_r", K::Real}});
        addSplitColumns(low);
        addColumns(low, {{"logit_corr", K::Real}, {"logit_mse", K::Real}, {"head_rel_error", K::Real}, {"us_per_token", K::Real}});
        for (const LowRankMetricRow& row : r.lowRank)
            addSplitRow(low, {row.rank, row.method, row.corrWithExact, row.pearson}, row.split,
                        {row.logitCorr, row.logitMse, row.headRelError, row.usPerToken});
        out.push_back(low);
    }
    if (r.probes) out.push_back(probeTable(*r.probes));
    return out;
}

AnalysisSpec lossSepAnalysis() {
    using K = ParamSpec::Kind;
    AnalysisSpec spec = analysisEntry("losssep", "Loss separation",
        "easy/hard tokens: Oracle split, confidence metrics at every layer, thresholds, subsets, probes");
    spec.params = {
        ParamSpec{"probe-layer", K::Integer, "L", "Probe layer", "The probes read h_l, 0..L (default L, the last block).", 0}
            .withPlaceholder("L (last block)")
            .layerBounded(),
        {"probe-sample", K::Integer, "N", "Probe sample", "Tokens sampled for the probes (default 65536).", 1},
        {"no-probes", K::Flag, "", "Skip the probes", "Train no probes."},
        {"seed", K::Integer, "S", "Probe seed", "The probes' seed: their split, weights and batches (default 0).", 0},
        ParamSpec{"probe-architectures", K::Text, "linear,mlp2_128", "Probe networks",
            "The probes' networks, of linear, mlp2_128 (D-128-1), mlp3_128 (D-128-128-1), mlp2_256 (D-256-1) "
            "(default all four)."}
            .withPlaceholder("linear, mlp2_128, mlp3_128, mlp2_256"),
        {"probe-test-fraction", K::Real, "F", "Probe test share",
            "Share of the probe sample held out for testing; every reported number is on it (default 0.2: 80/20 as "
            "in the research notes)."},
        {"probe-validation-fraction", K::Real, "F", "Probe validation share",
            "Share of the training part used for early stopping (default 0.1)."},
        {"probe-easy-threshold", K::Real, "NATS", "Easy below (nats)",
            "The classification probes learn easy iff loss <= this (default 3.0)."},
        {"probe-epochs", K::Integer, "N", "Probe epochs", "At most this many epochs per probe (default 100).", 1},
        {"probe-patience", K::Integer, "N", "Probe patience",
            "Stop after this many epochs without a better validation loss, keeping the best weights (default 3).", 1},
        {"probe-batch", K::Integer, "N", "Probe batch size", "Minibatch size of the probes' Adam (default 256).", 1},
        {"probe-lr", K::Real, "LR", "Probe learning rate", "Adam's learning rate for the probes (default 0.001)."},
        ParamSpec{"metric-ranks", K::IntegerList, "8,16", "Metric ranks", "Low-rank versions of the metrics at these ranks."}
            .withPlaceholder("none, e.g. 8, 16, 32"),
        {"confidence-thresholds", K::RealList, "0.01,0.02,0.05", "Confidence thresholds",
            "Confidence thresholds of the threshold table (default 0.01, 0.02, 0.05; the median is added)."},
        {"subset-confidences", K::RealList, "0.3,0.5,0.9", "Subset confidences",
            "Minimum confidences of the high-confidence subsets (default 0.3, 0.5, 0.6, 0.7, 0.8, 0.9)."},
    };
    spec.apply = [](const ParamValues& v, const ModelConfig&, LayerRunParams& p) {
        if (v.has("probe-layer")) p.lossSep.probeLayer = static_cast<int>(v.integer("probe-layer"));
        if (v.has("probe-sample")) p.lossSep.probeSampleSize = v.integer("probe-sample");
        if (v.has("no-probes")) p.lossSep.probes = !v.flag("no-probes");
        if (v.has("seed")) p.lossSep.probe.seed = static_cast<uint64_t>(v.integer("seed"));
        if (v.has("probe-architectures")) p.lossSep.probe.architectures = splitNames(v.text("probe-architectures"));
        if (v.has("probe-test-fraction")) p.lossSep.probe.testFraction = v.real("probe-test-fraction");
        if (v.has("probe-validation-fraction")) p.lossSep.probe.validationFraction = v.real("probe-validation-fraction");
        if (v.has("probe-easy-threshold")) p.lossSep.probe.easyLossThreshold = v.real("probe-easy-threshold");
        if (v.has("probe-epochs")) p.lossSep.probe.maxEpochs = static_cast<int>(v.integer("probe-epochs"));
        if (v.has("probe-patience")) p.lossSep.probe.patience = static_cast<int>(v.integer("probe-patience"));
        if (v.has("probe-batch")) p.lossSep.probe.batchSize = static_cast<int>(v.integer("probe-batch"));
        if (v.has("probe-lr")) p.lossSep.probe.learningRate = v.real("probe-lr");
        if (v.has("metric-ranks")) p.lossSep.metricRanks = v.integers("metric-ranks");
        if (v.has("confidence-thresholds")) p.lossSep.confidenceThresholds = v.reals("confidence-thresholds");
        if (v.has("subset-confidences")) p.lossSep.subsetConfidences = v.reals("subset-confidences");
    };
    spec.values = [](const LayerRunParams& p, ParamValues& v) {
        if (p.lossSep.probeLayer >= 0) v.set("probe-layer", int64_t(p.lossSep.probeLayer));
        v.set("probe-sample", p.lossSep.probeSampleSize);
        v.set("no-probes", !p.lossSep.probes);
        v.set("seed", int64_t(p.lossSep.probe.seed));
        std::string architectures;
        for (const std::string& a : p.lossSep.probe.architectures) architectures += (architectures.empty() ? "" : ",") + a;
        v.set("probe-architectures", architectures);
        v.set("probe-test-fraction", p.lossSep.probe.testFraction);
        v.set("probe-validation-fraction", p.lossSep.probe.validationFraction);
        v.set("probe-easy-threshold", p.lossSep.probe.easyLossThreshold);
        v.set("probe-epochs", int64_t(p.lossSep.probe.maxEpochs));
        v.set("probe-patience", int64_t(p.lossSep.probe.patience));
        v.set("probe-batch", int64_t(p.lossSep.probe.batchSize));
        v.set("probe-lr", p.lossSep.probe.learningRate);
        if (!p.lossSep.metricRanks.empty()) v.set("metric-ranks", p.lossSep.metricRanks);
        v.set("confidence-thresholds", p.lossSep.confidenceThresholds);
        v.set("subset-confidences", p.lossSep.subsetConfidences);
    };
    spec.request = [](const LayerRunParams& p, CaptureRequest& r) {
        r.metrics = true;
        r.metricRanks = p.lossSep.metricRanks;
        if (p.lossSep.probes) {
            r.probeLayer = p.lossSep.probeLayer;
            r.probeSampleSize = p.lossSep.probeSampleSize;
            r.probeSeed = p.lossSep.probe.seed;
        }
    };
    spec.summarise = [](LayerRun& run) {  // the probes' pass left its result here, if it ran
        const auto probed = run.result<LossSepResult>("losssep");
        run.setResult("losssep", analyseLossSeparation(run.capture, run.params.lossSep,
                                                       probed ? probed->probes : std::nullopt));
    };
    spec.tables = [](const LayerRun& run, bool, std::vector<Table>& out) {
        if (const auto r = run.result<LossSepResult>("losssep")) appendTables(out, lossSepTables(*r));
    };
    // Every method's Oracle ratio at every layer, then its best over the layers (at that layer).
    spec.layerQuantities = [](const LayerRun& run, std::vector<LayerQuantity>& out) {
        const auto r = run.result<LossSepResult>("losssep");
        if (!r) return;
        std::vector<LayerQuantity> best;
        for (const PredictorRow& row : r->predictors) {
            if (row.method == "oracle") continue;  // 1 by definition
            const std::string metric = "oracle_ratio:" + row.method;
            out.push_back({metric, row.layer, "block", row.split.oracleRatio});
            auto it = std::find_if(best.begin(), best.end(), [&](const LayerQuantity& q) { return q.metric == metric; });
            if (it == best.end())
                best.push_back({metric, row.layer, "best", row.split.oracleRatio});
            else if (row.split.oracleRatio > it->value)
                *it = {metric, row.layer, "best", row.split.oracleRatio};
        }
        out.insert(out.end(), best.begin(), best.end());
    };
    spec.settings = [](const LayerRun& run) -> std::vector<std::pair<std::string, std::string>> {
        const auto r = run.result<LossSepResult>("losssep");
        // --final-norm-last: probes at layer L learned on norm_f(h_L).
        const bool normed = r && r->probes && run.params.finalNormLast && r->probes->layer == run.capture.numLayers;
        const std::string probes = r && r->probes ? "on " + std::string(normed ? "norm_f(h_" : "h_") +
                                                        std::to_string(r->probes->layer) + (normed ? ")" : "") + ", " +
                                                        countText(r->probes->sampleTokens) + " sampled tokens"
                                   : run.params.lossSep.probes ? "not in this run"
                                                       : "off";
        return {{"Probes", probes}, {"Metric ranks", listText(run.params.lossSep.metricRanks)}};
    };
    // The seed's final comparison: every method at the final layer, the Oracle, the probes.
    spec.terminalReport = [](const LayerRun& run, const std::vector<Table>& tables) {
        std::string text = tablesAsText(tables, {"loss_histogram", "predictors"});
        const Table* predictors = findTable(tables, "predictors");
        const auto r = run.result<LossSepResult>("losssep");
        if (!predictors || !r) return text;
        std::vector<size_t> rows;
        for (size_t i = 0; i < predictors->rows(); ++i)
            if (predictors->column("layer").numbers[i] == r->numLayers ||
                predictors->column("method").texts[i].rfind("probe_", 0) == 0)
                rows.push_back(i);
        Table comparison = selectRows(*predictors, rows);
        comparison.title = "Final comparison of methods (predictors.csv has every layer)";
        return text + toText(comparison) + "\n";
    };
    spec.resolve = [](LayerRunParams& p, const ModelConfig& c) {
        const int L = c.numLayers, maxRank = std::min(c.hiddenSize, c.vocabSize);
        if (p.lossSep.probeLayer < 0) p.lossSep.probeLayer = L;
        if (p.lossSep.probeLayer > L)
            throw ParamError("probe-layer", std::to_string(p.lossSep.probeLayer) + " is out of range: the model has layers 0.." +
                                                std::to_string(L));
        for (int r : p.lossSep.metricRanks)
            if (r < 1 || r > maxRank)
                throw ParamError("metric-ranks", "rank " + std::to_string(r) + " is outside 1.." + std::to_string(maxRank));
        const ProbeParams& probe = p.lossSep.probe;
        if (probe.architectures.empty()) throw ParamError("probe-architectures", "name at least one network");
        for (const std::string& a : probe.architectures)
            if (std::find(kProbeArchitectures.begin(), kProbeArchitectures.end(), a) == kProbeArchitectures.end())
                throw ParamError("probe-architectures", "unknown network '" + a + "' (known: linear, mlp2_128, mlp3_128, mlp2_256)");
        for (const auto& [key, share] : {std::pair{"probe-test-fraction", probe.testFraction},
                                         std::pair{"probe-validation-fraction", probe.validationFraction}})
            if (!(share > 0 && share < 1)) throw ParamError(key, "must be between 0 and 1 (exclusive)");
        if (!std::isfinite(probe.easyLossThreshold)) throw ParamError("probe-easy-threshold", "must be a finite number");
        if (!(probe.learningRate > 0) || !std::isfinite(probe.learningRate))
            throw ParamError("probe-lr", "must be a positive number");
    };
    spec.paramsToJson = [](const LayerRunParams& p, nlohmann::json& j) {
        j["confidence_thresholds"] = p.lossSep.confidenceThresholds;
        j["subset_confidences"] = p.lossSep.subsetConfidences;
        j["probes"] = p.lossSep.probes;
        j["probe_layer"] = p.lossSep.probeLayer;
        j["probe_sample_size"] = p.lossSep.probeSampleSize;
        j["probe_architectures"] = p.lossSep.probe.architectures;
        j["probe_metrics"] = p.lossSep.probe.metricProbes;
        j["probe_easy_loss_threshold"] = p.lossSep.probe.easyLossThreshold;
        j["probe_seed"] = p.lossSep.probe.seed;
        j["probe_max_epochs"] = p.lossSep.probe.maxEpochs;
        j["probe_patience"] = p.lossSep.probe.patience;
        j["probe_test_fraction"] = p.lossSep.probe.testFraction;
        j["probe_validation_fraction"] = p.lossSep.probe.validationFraction;
        j["probe_batch_size"] = p.lossSep.probe.batchSize;
        j["probe_learning_rate"] = p.lossSep.probe.learningRate;
        j["metric_ranks"] = p.lossSep.metricRanks;
    };
    spec.paramsFromJson = [](const nlohmann::json& j, LayerRunParams& p) {
        p.lossSep.confidenceThresholds = j.at("confidence_thresholds").get<std::vector<double>>();
        p.lossSep.subsetConfidences = j.at("subset_confidences").get<std::vector<double>>();
        p.lossSep.probes = j.at("probes").get<bool>();
        p.lossSep.probeLayer = jsonInteger<int>(j, "probe_layer");
        p.lossSep.probeSampleSize = jsonInteger<int64_t>(j, "probe_sample_size");
        p.lossSep.probe.architectures = j.at("probe_architectures").get<std::vector<std::string>>();
        p.lossSep.probe.metricProbes = j.at("probe_metrics").get<std::vector<std::string>>();
        p.lossSep.probe.easyLossThreshold = j.at("probe_easy_loss_threshold").get<double>();
        p.lossSep.probe.seed = jsonInteger<uint64_t>(j, "probe_seed");
        p.lossSep.probe.maxEpochs = jsonInteger<int>(j, "probe_max_epochs");
        p.lossSep.probe.patience = jsonInteger<int>(j, "probe_patience");
        // Runs from before these were settings: the values they were fixed at.
        p.lossSep.probe.testFraction = j.value("probe_test_fraction", 0.2);
        p.lossSep.probe.validationFraction = j.value("probe_validation_fraction", 0.1);
        p.lossSep.probe.batchSize = j.value("probe_batch_size", 256);
        p.lossSep.probe.learningRate = j.value("probe_learning_rate", 1e-3);
        p.lossSep.metricRanks = jsonIntegers(j, "metric_ranks");
    };
    // The trained probes cannot be recomputed from the capture: their table, layer and sample.
    spec.write = [](const LayerRun& run, H5Writer& file, const std::string& group) {
        const auto r = run.result<LossSepResult>("losssep");
        if (!r || !r->probes) return;
        file.attribute(group, "probe_layer", static_cast<int64_t>(r->probes->layer));
        file.attribute(group, "probe_sample_tokens", r->probes->sampleTokens);
        file.table(group + "/probes", probeTable(*r->probes));
    };
    spec.read = [](const H5Reader& file, const std::string& group, int version, LayerRun& run) {
        // Format 1: the table with every table, its layer and sample in /probes.
        const std::string table = version == 1 ? "tables/probes" : group + "/probes";
        const std::string attributes = version == 1 ? "probes" : group;
        const std::string prefix = version == 1 ? "" : "probe_";
        if (!file.has(table)) return;
        LossSepResult probed;  // the rest comes from the capture when the run is summarised
        probed.probes = probeResultFromTable(file.table(table),
                                             static_cast<int>(file.integerAttribute(attributes, prefix + "layer")),
                                             file.integerAttribute(attributes, prefix + "sample_tokens"));
        run.setResult("losssep", std::move(probed));
    };
    return spec;
}

}  // namespace ls
