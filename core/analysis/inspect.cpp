#include "analysis/inspect.h"

#include <algorithm>
#include <cstdio>

#include "analysis/layer_run.h"
#include "analysis/registry.h"
#include "common/json_integer.h"
#include "common/error.h"
#include "model/model.h"

namespace ls {

namespace {
std::string textOf(const InspectGrid& g, int32_t id) {
    const auto it = g.tokenText.find(id);
    return it == g.tokenText.end() ? std::string() : it->second;
}
}  // namespace

std::vector<Table> inspectTables(const InspectGrid& g) {
    using K = Column::Kind;
    Table grid{"inspect", "Token inspector: logit-lens top-1 of window " + std::to_string(g.window) +
                              " (layer 0 = embeddings)", {}};
    addColumns(grid, {{"position", K::Integer}, {"input_id", K::Integer}, {"target_id", K::Integer}, {"layer", K::Integer},
                      {"top1_id", K::Integer}, {"top1_token", K::Text}, {"top1_prob", K::Real},
                      {"final_top1_prob", K::Real}});
    Table topk{"inspect_topk", "Token inspector: top-k of every position and layer", {}};
    addColumns(topk, {{"position", K::Integer}, {"layer", K::Integer}, {"k", K::Integer}, {"token_id", K::Integer},
                      {"token", K::Text}, {"prob", K::Real}});
    for (int p = 0; p < g.positions; ++p) {
        for (int l = 0; l < g.layers; ++l) {
            const int32_t top1 = g.topIds[g.index(p, l)];
            addRow(grid, {p, g.inputIds[p], g.targetIds[p], l, top1, textOf(g, top1), g.topProbs[g.index(p, l)],
                          g.finalTop1Prob[size_t(p) * g.layers + l]});
            for (int k = 0; k < g.topK; ++k) {
                const int32_t id = g.topIds[g.index(p, l, k)];
                addRow(topk, {p, l, k + 1, id, textOf(g, id), g.topProbs[g.index(p, l, k)]});
            }
        }
    }
    return {grid, topk};
}

namespace {

// The logit-lens grid as text: one row per position (at most 48), one column per layer.
std::string gridText(const InspectGrid& g) {
    auto text = [&](int32_t id) {
        auto it = g.tokenText.find(id);
        std::string s = it != g.tokenText.end() ? it->second : std::to_string(id);
        for (char& ch : s)
            if (ch == '\n' || ch == '\t' || ch == '\r') ch = ' ';
        if (s.size() > 10) s = s.substr(0, 9) + "~";
        return s;
    };
    auto cell = [](const std::string& s) {  // left-aligned in 11 columns, two spaces before
        char buf[64];
        std::snprintf(buf, sizeof buf, "  %-11s", s.c_str());
        return std::string(buf);
    };
    std::string out = "Token inspector: window " + std::to_string(g.window) +
                      ", lens top-1 per layer (layer 0 = embeddings)\n";
    char head[32];
    std::snprintf(head, sizeof head, "%4s  %-11s", "pos", "input");
    out += head;
    for (int l = 0; l < g.layers; ++l) out += cell("layer " + std::to_string(l));
    out += "  target\n";
    const int shown = std::min(g.positions, 48);
    for (int p = 0; p < shown; ++p) {
        char row[32];
        std::snprintf(row, sizeof row, "%4d  %-11s", p, text(g.inputIds[p]).c_str());
        out += row;
        for (int l = 0; l < g.layers; ++l) {
            char prob[16];
            std::snprintf(prob, sizeof prob, " %.2f", g.topProbs[g.index(p, l)]);
            out += cell(text(g.topIds[g.index(p, l)]) + prob);
        }
        out += "  " + (g.targetIds[p] < 0 ? std::string("-") : text(g.targetIds[p])) + "\n";
    }
    if (shown < g.positions) out += "(" + std::to_string(g.positions - shown) + " more positions in inspect.csv)\n";
    return out + "\n";
}

}  // namespace

AnalysisSpec inspectAnalysis() {
    using K = ParamSpec::Kind;
    AnalysisSpec spec = analysisEntry("inspect", "Token inspector",
        "lens top-1 token and probabilities at every position and layer of one window", kCheckedByDefault);
    spec.params = {
        ParamSpec{"inspect-window", K::Integer, "W", "Inspector window", "The window shown, from 0 (default 0).", 0}
            .windowIndex(),
        {"top-k", K::Integer, "K", "Top-k", "Tokens kept per position and layer (default 5).", 1},
    };
    spec.apply = [](const ParamValues& v, const ModelConfig&, LayerRunParams& p) {
        if (v.has("inspect-window")) p.inspect.window = static_cast<int>(v.integer("inspect-window"));
        if (v.has("top-k")) p.inspect.topK = static_cast<int>(v.integer("top-k"));
    };
    spec.values = [](const LayerRunParams& p, ParamValues& v) {
        v.set("inspect-window", int64_t(p.inspect.window));
        v.set("top-k", int64_t(p.inspect.topK));
    };
    spec.request = [](const LayerRunParams& p, CaptureRequest& r) {
        r.inspect = true;
        r.inspectWindow = p.inspect.window;
        r.topK = p.inspect.topK;
    };
    // summarise: none (the grid is the capture pass's own)
    spec.tables = [](const LayerRun& run, bool, std::vector<Table>& out) {
        if (run.hasInspect()) appendTables(out, inspectTables(run.capture.inspect));
    };
    spec.terminalReport = [](const LayerRun& run, const std::vector<Table>&) { return gridText(run.capture.inspect); };
    spec.settings = [](const LayerRun& run) -> std::vector<std::pair<std::string, std::string>> {
        return {{"Inspector",
                 "window " + std::to_string(run.params.inspect.window) + " \u00b7 top-" + std::to_string(run.params.inspect.topK)}};
    };
    spec.resolve = [](LayerRunParams& p, const ModelConfig& c) {
        if (p.inspect.topK < 1 || p.inspect.topK > c.vocabSize)
            throw ParamError("top-k", std::to_string(p.inspect.topK) + " is outside 1.." + std::to_string(c.vocabSize));
        if (p.inspect.window < 0) throw ParamError("inspect-window", "must be at least 0");
    };
    spec.paramsToJson = [](const LayerRunParams& p, nlohmann::json& j) {
        j["inspect_window"] = p.inspect.window;
        j["top_k"] = p.inspect.topK;
    };
    spec.paramsFromJson = [](const nlohmann::json& j, LayerRunParams& p) {
        p.inspect.window = jsonInteger<int>(j, "inspect_window");
        p.inspect.topK = jsonInteger<int>(j, "top_k");
    };
    return spec;
}

}  // namespace ls
