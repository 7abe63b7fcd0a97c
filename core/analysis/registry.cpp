#include "analysis/registry.h"

#include "analysis/heads.h"
#include "analysis/layer_run.h"
#include "model/model.h"

namespace ls {

const std::vector<AnalysisSpec>& analysisRegistry() {
    static const std::vector<AnalysisSpec> all = {
        cossimAnalysis(),
        saturationAnalysis(),
        lensDivAnalysis(),
        lowRankAnalysis(),
        inspectAnalysis(),
        lossSepAnalysis(),
        exitAnalysis(),
        ablationAnalysis(),
        linearizeAnalysis(),
        contextAnalysis(),
    };
    return all;
}

const AnalysisSpec* findAnalysis(const std::string& name) {
    for (const AnalysisSpec& a : analysisRegistry())
        if (a.name == name) return &a;
    return nullptr;
}

const AnalysisSpec& sharedParams() {
    using K = ParamSpec::Kind;
    static const AnalysisSpec shared{
        "",
        "Shared by several analyses",
        "",
        false,
        {{"layer", K::Integer, "L", "Layer",
          "The chosen layer 1..L (blocks from 1): cos-sim exit thresholds at c_l, low-rank agreement and saturation "
          "detection at h_l (default L-1).",
          1},
         {"bins", K::Integer, "B", "Histogram bins", "Histogram bins of cos-sim and of the loss distribution (default 60).", 1},
         {"heads", K::Text, "L0H3,L5", "Heads",
          "Only these heads, in TransformerLens names (layer from 0; L5 = every head of it), for ablation, linearize and "
          "context (default every head)."}},
        [](const ParamValues& v, const ModelConfig& config, LayerRunParams& p) {
            if (v.has("layer")) p.layer = static_cast<int>(v.integer("layer"));
            if (v.has("bins")) p.bins = p.lossSep.bins = static_cast<int>(v.integer("bins"));
            if (v.has("heads")) p.heads = parseHeadList(v.text("heads"), config.numLayers, config.numHeads);
        }};
    return shared;
}

const ParamSpec* findParam(const std::string& key) {
    for (const ParamSpec& s : sharedParams().params)
        if (s.key == key) return &s;
    for (const AnalysisSpec& a : analysisRegistry())
        for (const ParamSpec& s : a.params)
            if (s.key == key) return &s;
    return nullptr;
}

void applyParams(const ParamValues& values, const ModelConfig& config, LayerRunParams& params) {
    sharedParams().apply(values, config, params);
    for (const AnalysisSpec& a : analysisRegistry())
        if (a.apply) a.apply(values, config, params);
}

}  // namespace ls
