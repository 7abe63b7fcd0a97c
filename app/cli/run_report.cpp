#include "run_report.h"

#include <cmath>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>

#include "io/table.h"

using nlohmann::json;

namespace cli {

namespace {

// The logit-lens grid as text: one row per position (at most 48), one column per layer.
void printInspectGrid(const ls::InspectGrid& g) {
    auto text = [&](int32_t id) {
        auto it = g.tokenText.find(id);
        std::string s = it != g.tokenText.end() ? it->second : std::to_string(id);
        for (char& ch : s)
            if (ch == '\n' || ch == '\t' || ch == '\r') ch = ' ';
        if (s.size() > 10) s = s.substr(0, 9) + "~";
        return s;
    };
    std::printf("Token inspector: window %d, lens top-1 per layer (layer 0 = embeddings)\n", g.window);
    std::printf("%4s  %-11s", "pos", "input");
    for (int l = 0; l < g.layers; ++l) std::printf("  %-11s", ("layer " + std::to_string(l)).c_str());
    std::printf("  %s\n", "target");
    const int shown = std::min(g.positions, 48);
    for (int p = 0; p < shown; ++p) {
        std::printf("%4d  %-11s", p, text(g.inputIds[p]).c_str());
        for (int l = 0; l < g.layers; ++l) {
            char cell[32];
            std::snprintf(cell, sizeof cell, "%s %.2f", text(g.topIds[g.index(p, l)]).c_str(), g.topProbs[g.index(p, l)]);
            std::printf("  %-11s", cell);
        }
        std::printf("  %s\n", g.targetIds[p] < 0 ? "-" : text(g.targetIds[p]).c_str());
    }
    if (shown < g.positions) std::printf("(%d more positions in inspect.csv)\n", g.positions - shown);
    std::printf("\n");
}

}  // namespace

void reportRun(const ls::LayerRun& run, const Args& args) {
    const std::vector<ls::Table> tables = run.tables(args.flag("per-token-saturation"));
    if (auto dir = args.get("csv"))
        for (const ls::Table& t : tables) ls::writeCsv(t, *dir);
    if (args.flag("quiet")) return;
    if (args.flag("json")) {
        json j = {{"status", run.info.complete ? "complete" : "partial"},
                  {"model", run.info.modelPath},
                  {"data", run.info.datasetPath},
                  {"tokens", run.scoredTokens()},
                  {"windows", run.windowCount()},
                  {"layer", run.params.layer},
                  {"seconds", run.capture.seconds}};
        for (const ls::Table& t : tables) {
            json columns = json::object();
            for (const ls::Column& c : t.columns) {
                if (c.kind == ls::Column::Kind::Text) {
                    columns[c.name] = c.texts;
                } else {
                    json values = json::array();
                    for (double v : c.numbers) values.push_back(std::isfinite(v) ? json(v) : json(nullptr));
                    columns[c.name] = values;
                }
            }
            j["tables"][t.name] = columns;
        }
        std::cout << j.dump(2) << "\n";
        return;
    }
    std::printf("model     %s (%s)\n", run.info.modelPath.c_str(), run.info.modelSummary.c_str());
    std::printf("data      %s (%s)\n", run.info.datasetPath.c_str(), run.info.datasetFormat.c_str());
    std::printf("scored    %lld tokens in %lld windows, %.2f s%s\n\n", static_cast<long long>(run.scoredTokens()),
                static_cast<long long>(run.windowCount()), run.capture.seconds,
                run.info.complete ? "" : "  (PARTIAL run)");
    if (!run.capture.lensMethodChoice.empty())  // how the lens top-1 was computed (not kept in run files)
        std::printf("lens      certified top-1 check: %s%s\n\n", run.capture.lensMethodChoice.c_str(),
                    run.capture.lensCandidatesPerToken > 0
                        ? (", " + std::to_string(run.capture.lensCandidatesPerToken).substr(0, 5) + " exact dots per token").c_str()
                        : "");
    if (run.cossim) std::printf("cos-sim: %s\n\n", ls::kCossimCompared);
    const std::set<std::string> csvOnly = {"cossim_histograms", "saturation_tokens", "lowrank_singular_values",
                                           "inspect", "inspect_topk", "loss_histogram", "predictors", "exit_sweep"};
    for (const ls::Table& t : tables)
        if (!csvOnly.count(t.name)) std::printf("%s\n", ls::toText(t).c_str());
    if (run.lossSep) {  // the seed's final comparison: every method at the final layer, the Oracle, the probes
        const ls::Table* predictors = ls::findTable(tables, "predictors");
        std::vector<size_t> rows;
        for (size_t r = 0; r < predictors->rows(); ++r)
            if (predictors->column("layer").numbers[r] == run.lossSep->numLayers ||
                predictors->column("method").texts[r].rfind("probe_", 0) == 0)
                rows.push_back(r);
        ls::Table comparison = ls::selectRows(*predictors, rows);
        comparison.title = "Final comparison of methods (predictors.csv has every layer)";
        std::printf("%s\n", ls::toText(comparison).c_str());
    }
    if (run.hasInspect()) printInspectGrid(run.capture.inspect);
    std::printf("(the per-bin, per-token and inspector tables are in the CSV files: --csv DIR)\n");
}

OptionGroup reportOptions() {
    return {"output",
            {{"csv", "DIR", "Write every table as DIR/<table>.csv (the columns are described in docs/run-files.md)."},
             {"json", "", "Print every table as one JSON object instead of text."},
             {"per-token-saturation", "", "Also write saturation_tokens (every token's saturation layer)."}}};
}

}  // namespace cli
