#include "analysis/cossim.h"

#include <algorithm>
#include <cmath>

#include "analysis/capture_pass.h"
#include "analysis/layer_run.h"
#include "analysis/registry.h"
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
        throw ParamError("hard-ratios", "" + std::to_string(r) + " is outside (0, 1)");
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
    Column& layer = layers.add("layer", K::Integer);
    Column& mean = layers.add("mean", K::Real);
    Column& std = layers.add("std", K::Real);
    Column& min = layers.add("min", K::Real);
    Column& p10 = layers.add("p10", K::Real);
    Column& p50 = layers.add("p50", K::Real);
    Column& p90 = layers.add("p90", K::Real);
    Column& max = layers.add("max", K::Real);
    Column& neg = layers.add("frac_neg", K::Real);
    Column& half = layers.add("frac_lt_0_5", K::Real);
    for (const CossimLayer& l : result.layers) {
        layer.numbers.push_back(l.layer);
        mean.numbers.push_back(l.summary.mean);
        std.numbers.push_back(l.summary.std);
        min.numbers.push_back(l.summary.min);
        p10.numbers.push_back(l.summary.p10);
        p50.numbers.push_back(l.summary.p50);
        p90.numbers.push_back(l.summary.p90);
        max.numbers.push_back(l.summary.max);
        neg.numbers.push_back(l.fracNegative);
        half.numbers.push_back(l.fracBelowHalf);
    }

    Table thresholds{"cossim_thresholds", "Exit thresholds (tokens with c_l < threshold are hard)", {}};
    Column& tl = thresholds.add("layer", K::Integer);
    Column& tr = thresholds.add("hard_ratio", K::Real);
    Column& tt = thresholds.add("threshold", K::Real);
    Column& te = thresholds.add("exit_fraction", K::Real);
    for (const CossimThreshold& t : result.thresholds) {
        tl.numbers.push_back(t.layer);
        tr.numbers.push_back(t.hardRatio);
        tt.numbers.push_back(t.threshold);
        te.numbers.push_back(t.exitFraction);
    }

    Table hist{"cossim_histograms", "Cos-sim histograms (common range over all layers)", {}};
    Column& hl = hist.add("layer", K::Integer);
    Column& hb = hist.add("bin", K::Integer);
    Column& hlo = hist.add("bin_lo", K::Real);
    Column& hhi = hist.add("bin_hi", K::Real);
    Column& hc = hist.add("count", K::Integer);
    for (size_t l = 0; l < result.histograms.size(); ++l) {
        const Histogram& h = result.histograms[l];
        for (size_t b = 0; b < h.counts.size(); ++b) {
            hl.numbers.push_back(static_cast<double>(l + 1));
            hb.numbers.push_back(static_cast<double>(b));
            hlo.numbers.push_back(h.edge(static_cast<int>(b)));
            hhi.numbers.push_back(h.edge(static_cast<int>(b + 1)));
            hc.numbers.push_back(static_cast<double>(h.counts[b]));
        }
    }

    Table special{"cossim_special",
                  "Special layers: mean below the median of layers l-2..l+2 by more than " +
                      std::to_string(result.params.specialDrop),
                  {}};
    Column& sl = special.add("layer", K::Integer);
    Column& sm = special.add("mean", K::Real);
    Column& sn = special.add("neighbour_median", K::Real);
    Column& sd = special.add("drop", K::Real);
    for (const CossimLayer& l : result.layers) {
        if (!l.special) continue;
        sl.numbers.push_back(l.layer);
        sm.numbers.push_back(l.summary.mean);
        sn.numbers.push_back(l.neighbourMedian);
        sd.numbers.push_back(l.neighbourMedian - l.summary.mean);
    }
    return {layers, thresholds, hist, special};
}

AnalysisSpec cossimAnalysis() {
    using K = ParamSpec::Kind;
    AnalysisSpec spec{"cossim",
            "Cos-sim per layer",
            "cos(h_{l-1}, h_l) of every block: statistics, histograms, exit thresholds",
            true,
            {{"hard-ratios", K::RealList, "0.3,0.5,0.7", "Hard ratios",
              "For each hard ratio r in (0, 1), the exit threshold is the r-quantile of c_l at the chosen layer "
              "(default 0.3, 0.5, 0.7)."},
             {"special-drop", K::Real, "D", "Special drop",
              "A layer whose mean cos-sim drops by more than D below its neighbours' median is special (default 0.1)."}},
            [](const ParamValues& v, const ModelConfig&, LayerRunParams& p) {
                if (v.has("hard-ratios")) p.hardRatios = v.reals("hard-ratios");
                if (v.has("special-drop")) p.specialDrop = v.real("special-drop");
            },
            [](const LayerRunParams&, CaptureRequest& r) { r.cossim = true; },
            [](LayerRun& run) {
                CossimParams cp;
                cp.layer = run.params.layer;
                cp.hardRatios = run.params.hardRatios;
                cp.bins = run.params.bins;
                cp.specialDrop = run.params.specialDrop;
                run.cossim = analyseCossim(run.capture, cp);
            },
            [](const LayerRun& run, bool, std::vector<Table>& out) {
                if (run.cossim) appendTables(out, cossimTables(*run.cossim));
            }};
    spec.settings = [](const LayerRun& run) -> std::vector<std::pair<std::string, std::string>> {
        return {{"Hard ratios", listText(run.params.hardRatios)}, {"Histogram bins", std::to_string(run.params.bins)}};
    };
    spec.terminalReport = [](const LayerRun&, const std::vector<Table>& tables) {
        return std::string("cos-sim: ") + kCossimCompared + "\n\n" + tablesAsText(tables, {"cossim_histograms"});
    };
    spec.resolve = [](LayerRunParams& p, const ModelConfig&) {
        if (p.hardRatios.empty()) throw ParamError("hard-ratios", "give at least one ratio in (0, 1)");
        for (double r : p.hardRatios)
            if (!(r > 0.0 && r < 1.0)) throw ParamError("hard-ratios", std::to_string(r) + " is outside (0, 1)");
    };
    return spec;
}

}  // namespace ls
