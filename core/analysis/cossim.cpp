#include "analysis/cossim.h"

#include <algorithm>
#include <cmath>

#include "analysis/capture_pass.h"
#include "analysis/layer_run.h"
#include "analysis/registry.h"
#include "common/json_integer.h"
#include "common/error.h"
#include "model/model.h"

namespace ls {

namespace {

void checkLayer(int layer, int numLayers) {
    if (layer < 1 || layer > numLayers)
        throw ParamError("layer", std::to_string(layer) + " is out of range: the model has layers 1.." +
                    std::to_string(numLayers));
}

void checkHardRatio(double r) {
    if (!(r > 0.0 && r < 1.0))
        throw ParamError("hard-ratios", listText(std::vector<double>{r}) + " is outside (0, 1)");
}

// Fraction of sorted values below x (strictly).
double fractionBelow(const std::vector<float>& sorted, double x) {
    if (sorted.empty()) return std::nan("");
    const auto it = std::lower_bound(sorted.begin(), sorted.end(), x,
                                     [](float v, double t) { return static_cast<double>(v) < t; });
    return static_cast<double>(it - sorted.begin()) / static_cast<double>(sorted.size());
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

}  // namespace

CossimThreshold cossimThreshold(const CossimResult& result, int layer, double hardRatio) {
    checkLayer(layer, result.numLayers());
    checkHardRatio(hardRatio);
    const std::vector<float>& sorted = result.sorted[layer - 1];
    CossimThreshold t;
    t.layer = layer;
    t.hardRatio = hardRatio;
    t.threshold = quantileSorted(sorted, hardRatio);
    t.exitFraction = 1.0 - fractionBelow(sorted, t.threshold);
    return t;
}

CossimResult analyseCossim(const CaptureResult& capture, const CossimParams& params) {
    const int L = static_cast<int>(capture.cossim.size());
    if (L == 0) throw Error("the run holds no cos-sim values (the capture pass did not compute them)");
    checkLayer(params.layer, L);
    for (double r : params.hardRatios) checkHardRatio(r);
    if (params.bins < 1) throw ParamError("bins", "must be at least 1");

    CossimResult result;
    result.params = params;
    double lo = INFINITY, hi = -INFINITY;
    for (int l = 1; l <= L; ++l) {
        std::vector<float> sorted = capture.cossim[l - 1];
        sorted.erase(std::remove_if(sorted.begin(), sorted.end(), [](float v) { return std::isnan(v); }), sorted.end());
        std::sort(sorted.begin(), sorted.end());
        CossimLayer layer;
        layer.layer = l;
        layer.summary = summarize(sorted);
        layer.fracNegative = fractionBelow(sorted, 0.0);
        layer.fracBelowHalf = fractionBelow(sorted, 0.5);
        if (!sorted.empty()) {
            lo = std::min(lo, static_cast<double>(sorted.front()));
            hi = std::max(hi, static_cast<double>(sorted.back()));
        }
        result.layers.push_back(layer);
        result.sorted.push_back(std::move(sorted));
    }
    if (!(lo <= hi)) lo = hi = 0;  // no finite value at all
    for (int l = 1; l <= L; ++l) result.histograms.push_back(histogram(capture.cossim[l - 1], params.bins, lo, hi));

    // Special layers: a mean far below the median of the up-to-four nearest layers' means.
    for (int l = 1; l <= L; ++l) {
        std::vector<double> neighbours;
        for (int k = l - 2; k <= l + 2; ++k)
            if (k != l && k >= 1 && k <= L) neighbours.push_back(result.layers[k - 1].summary.mean);
        CossimLayer& layer = result.layers[l - 1];
        layer.neighbourMedian = neighbours.empty() ? std::nan("") : median(neighbours);
        layer.special = !neighbours.empty() && layer.neighbourMedian - layer.summary.mean > params.specialDrop;
    }
    for (double r : params.hardRatios) result.thresholds.push_back(cossimThreshold(result, params.layer, r));
    return result;
}

std::vector<Table> cossimTables(const CossimResult& result) {
    using K = Column::Kind;
    Table layers{"cossim_layers", "Cos-sim per layer: cos(h_{l-1}, h_l)", {}};
    addColumns(layers, {{"layer", K::Integer}, {"mean", K::Real}, {"std", K::Real}, {"min", K::Real}, {"p10", K::Real},
                        {"p50", K::Real}, {"p90", K::Real}, {"max", K::Real}, {"frac_neg", K::Real},
                        {"frac_lt_0_5", K::Real}});
    for (const CossimLayer& l : result.layers) {
        const Summary& s = l.summary;
        addRow(layers, {l.layer, s.mean, s.std, s.min, s.p10, s.p50, s.p90, s.max, l.fracNegative, l.fracBelowHalf});
    }

    Table thresholds{"cossim_thresholds", "Exit thresholds (tokens with c_l < threshold are hard)", {}};
    addColumns(thresholds, {{"layer", K::Integer}, {"hard_ratio", K::Real}, {"threshold", K::Real}, {"exit_fraction", K::Real}});
    for (const CossimThreshold& t : result.thresholds) addRow(thresholds, {t.layer, t.hardRatio, t.threshold, t.exitFraction});

    Table hist{"cossim_histograms", "Cos-sim histograms (common range over all layers)", {}};
    addColumns(hist, {{"layer", K::Integer}, {"bin", K::Integer}, {"bin_lo", K::Real}, {"bin_hi", K::Real}, {"count", K::Integer}});
    for (size_t l = 0; l < result.histograms.size(); ++l) {
        const Histogram& h = result.histograms[l];
        for (size_t b = 0; b < h.counts.size(); ++b)
            addRow(hist, {static_cast<double>(l + 1), static_cast<double>(b), h.edge(static_cast<int>(b)),
                          h.edge(static_cast<int>(b + 1)), static_cast<double>(h.counts[b])});
    }

    Table special{"cossim_special",
                  "Special layers: mean below the median of layers l-2..l+2 by more than " +
                      std::to_string(result.params.specialDrop),
                  {}};
    addColumns(special, {{"layer", K::Integer}, {"mean", K::Real}, {"neighbour_median", K::Real}, {"drop", K::Real}});
    for (const CossimLayer& l : result.layers)
        if (l.special)
            addRow(special, {l.layer, l.summary.mean, l.neighbourMedian, l.neighbourMedian - l.summary.mean});
    return {layers, thresholds, hist, special};
}

std::string cossimCompared(bool finalNormLast) {
    return std::string("layer l = cos(h_{l-1}, h_l): the residual stream entering block l against the one leaving it "
                       "(h_0 = embeddings; ") +
           (finalNormLast ? "layer L with the final norm, cos(h_{L-1}, norm_f(h_L)), the last of Hugging Face's hidden states)"
                          : "the final norm is not applied)");
}

AnalysisSpec cossimAnalysis() {
    using K = ParamSpec::Kind;
    AnalysisSpec spec = analysisEntry("cossim", "Cos-sim per layer",
        "cos(h_{l-1}, h_l) of every block: statistics, histograms, exit thresholds", kCheckedByDefault);
    spec.params = {
        {"hard-ratios", K::RealList, "0.3,0.5,0.7", "Hard ratios",
            "For each hard ratio r in (0, 1), the exit threshold is the r-quantile of c_l at the chosen layer "
            "(default 0.3, 0.5, 0.7)."},
        {"special-drop", K::Real, "D", "Special drop",
            "A layer whose mean cos-sim drops by more than D below its neighbours' median is special (default 0.1)."},
    };
    spec.apply = [](const ParamValues& v, const ModelConfig&, LayerRunParams& p) {
        if (v.has("hard-ratios")) p.cossim.hardRatios = v.reals("hard-ratios");
        if (v.has("special-drop")) p.cossim.specialDrop = v.real("special-drop");
    };
    spec.values = [](const LayerRunParams& p, ParamValues& v) {
        v.set("hard-ratios", p.cossim.hardRatios);
        v.set("special-drop", p.cossim.specialDrop);
    };
    spec.request = [](const LayerRunParams&, CaptureRequest& r) { r.cossim = true; };
    spec.summarise = [](LayerRun& run) {
        CossimParams cp;
        cp.layer = run.params.layer;
        cp.hardRatios = run.params.cossim.hardRatios;
        cp.bins = run.params.bins;
        cp.specialDrop = run.params.cossim.specialDrop;
        cp.finalNormLast = run.params.finalNormLast;
        run.setResult("cossim", analyseCossim(run.capture, cp));
    };
    spec.tables = [](const LayerRun& run, bool, std::vector<Table>& out) {
        if (const auto r = run.result<CossimResult>("cossim")) appendTables(out, cossimTables(*r));
    };
    spec.layerQuantities = [](const LayerRun& run, std::vector<LayerQuantity>& out) {
        const auto r = run.result<CossimResult>("cossim");
        if (!r) return;
        for (const CossimLayer& l : r->layers) out.push_back({"cossim_mean", l.layer, "block", l.summary.mean});
        for (const CossimLayer& l : r->layers) out.push_back({"cossim_median", l.layer, "block", l.summary.p50});
    };
    spec.settings = [](const LayerRun& run) -> std::vector<std::pair<std::string, std::string>> {
        return {{"Hard ratios", listText(run.params.cossim.hardRatios)},
                {"Histogram bins", std::to_string(run.params.bins)},
                {"Layer L", run.params.finalNormLast ? "with the final norm" : "before the final norm"}};
    };
    spec.terminalReport = [](const LayerRun& run, const std::vector<Table>& tables) {
        return "cos-sim: " + cossimCompared(run.params.finalNormLast) + "\n\n" + tablesAsText(tables, {"cossim_histograms"});
    };
    spec.resolve = [](LayerRunParams& p, const ModelConfig&) {
        if (p.cossim.hardRatios.empty()) throw ParamError("hard-ratios", "give at least one ratio in (0, 1)");
        for (double r : p.cossim.hardRatios)
            if (!(r > 0.0 && r < 1.0)) throw ParamError("hard-ratios", listText(std::vector<double>{r}) + " is outside (0, 1)");
    };
    spec.paramsToJson = [](const LayerRunParams& p, nlohmann::json& j) {
        j["hard_ratios"] = p.cossim.hardRatios;
        j["special_drop"] = p.cossim.specialDrop;
    };
    spec.paramsFromJson = [](const nlohmann::json& j, LayerRunParams& p) {
        p.cossim.hardRatios = j.at("hard_ratios").get<std::vector<double>>();
        p.cossim.specialDrop = j.at("special_drop").get<double>();
    };
    return spec;
}

}  // namespace ls
