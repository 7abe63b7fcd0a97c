#include "analysis/lowrank.h"

#include <cmath>

#include "analysis/capture_pass.h"
#include "analysis/layer_run.h"
#include "analysis/registry.h"
#include "common/json_integer.h"
#include "common/error.h"
#include "model/model.h"

namespace ls {

namespace {
double ratio(double a, double b) { return b > 0 ? a / b : std::nan(""); }
}  // namespace

LowRankResult analyseLowRank(const CaptureResult& capture, int layer) {
    if (capture.singularValues.empty() || capture.lowRank.empty())
        throw Error("the run holds no low-rank head data (the capture pass did not compute it)");
    LowRankResult r;
    r.layer = layer;
    r.singularValues = capture.singularValues;
    double sum = 0, sumSq = 0;
    for (double s : r.singularValues) {
        sum += s;
        sumSq += s * s;
    }
    double run = 0, runSq = 0;
    for (double s : r.singularValues) {
        run += s;
        runSq += s * s;
        r.coverage.push_back(ratio(run, sum));
        r.energyCoverage.push_back(ratio(runSq, sumSq));
    }
    const double n = static_cast<double>(capture.tokens());
    for (const LowRankCounts& k : capture.lowRank) {
        LowRankRow row;
        row.rank = k.rank;
        row.coverage = r.coverage.at(static_cast<size_t>(k.rank - 1));
        row.energyCoverage = r.energyCoverage.at(static_cast<size_t>(k.rank - 1));
        row.agreementFinal = ratio(static_cast<double>(k.agreeFinal), n);
        row.agreementLayer = ratio(static_cast<double>(k.agreeLayer), n);
        row.precision = ratio(static_cast<double>(k.truePositive), static_cast<double>(k.truePositive + k.falsePositive));
        row.recall = ratio(static_cast<double>(k.truePositive), static_cast<double>(k.truePositive + k.falseNegative));
        row.f1 = ratio(2 * row.precision * row.recall, row.precision + row.recall);
        r.rows.push_back(row);
    }
    for (const LowRankTiming& t : capture.lowRankTiming)
        r.speed.push_back(LowRankSpeed{t.rank, t.tokens, 1e3 * t.fullSeconds, 1e3 * t.factoredSeconds,
                                       ratio(t.fullSeconds, t.factoredSeconds)});
    return r;
}

std::vector<Table> lowRankTables(const LowRankResult& r) {
    using K = Column::Kind;
    Table rows{"lowrank", "Low-rank head W_r: coverage, top-1 agreement, saturation detection at layer " +
                              std::to_string(r.layer), {}};
    addColumns(rows, {{"rank", K::Integer}, {"coverage", K::Real}, {"energy_coverage", K::Real},
                      {"top1_agreement_final", K::Real}, {"top1_agreement_layer", K::Real}, {"precision", K::Real},
                      {"recall", K::Real}, {"f1", K::Real}});
    for (const LowRankRow& row : r.rows)
        addRow(rows, {row.rank, row.coverage, row.energyCoverage, row.agreementFinal, row.agreementLayer, row.precision,
                      row.recall, row.f1});
    Table speed{"lowrank_speed", "Top-1 through the full head vs the factorised head (U_r S_r)(V_r^T x)", {}};
    addColumns(speed, {{"rank", K::Integer}, {"tokens", K::Integer}, {"full_ms", K::Real}, {"factored_ms", K::Real},
                       {"speedup", K::Real}});
    for (const LowRankSpeed& s : r.speed)
        addRow(speed, {s.rank, static_cast<double>(s.tokens), s.fullMs, s.factoredMs, s.speedup});
    Table sv{"lowrank_singular_values", "Singular values of the output head", {}};
    addColumns(sv, {{"index", K::Integer}, {"singular_value", K::Real}});
    for (size_t i = 0; i < r.singularValues.size(); ++i) addRow(sv, {static_cast<double>(i + 1), r.singularValues[i]});
    return {rows, speed, sv};
}

AnalysisSpec lowRankAnalysis() {
    using K = ParamSpec::Kind;
    AnalysisSpec spec = analysisEntry("lowrank", "Low-rank output head",
        "SVD of the head: coverage, top-1 agreement and saturation detection per rank, measured speed-up", kCheckedByDefault);
    spec.params = {
        ParamSpec{"ranks", K::IntegerList, "8,16,32", "Ranks",
            "Ranks r of the low-rank head W_r, each in 1..the hidden size (default 8, 16, 32, ... below the hidden "
            "size, and the hidden size)."}.withPlaceholder("automatic: 8, 16, …, dim"),
    };
    spec.apply = [](const ParamValues& v, const ModelConfig&, LayerRunParams& p) {
        if (v.has("ranks")) p.lowRank.ranks = v.integers("ranks");
    };
    spec.values = [](const LayerRunParams& p, ParamValues& v) {
        if (!p.lowRank.ranks.empty()) v.set("ranks", p.lowRank.ranks);
    };
    spec.request = [](const LayerRunParams& p, CaptureRequest& r) {
        r.lowRankRanks = p.lowRank.ranks;
        r.lowRankLayer = p.layer;
    };
    spec.summarise = [](LayerRun& run) { run.setResult("lowrank", analyseLowRank(run.capture, run.params.layer)); };
    spec.tables = [](const LayerRun& run, bool, std::vector<Table>& out) {
        if (const auto r = run.result<LowRankResult>("lowrank")) appendTables(out, lowRankTables(*r));
    };
    spec.terminalReport = [](const LayerRun&, const std::vector<Table>& tables) {
        return tablesAsText(tables, {"lowrank_singular_values"});
    };
    spec.settings = [](const LayerRun& run) -> std::vector<std::pair<std::string, std::string>> {
        return {{"Ranks", listText(run.params.lowRank.ranks)}};
    };
    spec.resolve = [](LayerRunParams& p, const ModelConfig& c) {
        const int maxRank = std::min(c.hiddenSize, c.vocabSize);
        if (p.lowRank.ranks.empty()) {  // 8, 16, 32, ... below the head's rank, and its rank
            for (int r = 8; r < maxRank; r *= 2) p.lowRank.ranks.push_back(r);
            p.lowRank.ranks.push_back(maxRank);
        }
        for (int r : p.lowRank.ranks)
            if (r < 1 || r > maxRank)
                throw ParamError("ranks", "rank " + std::to_string(r) + " is outside 1.." + std::to_string(maxRank) +
                                              " (the hidden size" +
                                              (c.vocabSize < c.hiddenSize ? std::string(" or vocabulary") : "") + ")");
    };
    spec.paramsToJson = [](const LayerRunParams& p, nlohmann::json& j) { j["ranks"] = p.lowRank.ranks; };
    spec.paramsFromJson = [](const nlohmann::json& j, LayerRunParams& p) { p.lowRank.ranks = jsonIntegers(j, "ranks"); };
    return spec;
}

}  // namespace ls
