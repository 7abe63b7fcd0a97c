#include "run_report.h"

#include <cmath>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "analysis/registry.h"
#include "common/phase_times.h"
#include "io/run_file.h"
#include "io/table.h"

using nlohmann::json;

namespace cli {

void addTablesJson(json& out, const std::vector<ls::Table>& tables) {
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
        out["tables"][t.name] = columns;
    }
}

void reportRun(const ls::LayerRun& run, const Args& args, bool computedHere) {
    // Each analysis's tables, made once: CSV and JSON take them all, the text report by analysis.
    const auto parts = run.tablesByAnalysis(args.flag("per-token-saturation"));
    std::vector<ls::Table> tables;
    for (const auto& part : parts) tables.insert(tables.end(), part.second.begin(), part.second.end());
    ls::PhaseTimes times = run.info.times;
    const ls::Stopwatch writing;
    if (auto dir = args.get("csv"))
        for (const ls::Table& t : tables) ls::writeCsv(t, *dir);
    if (computedHere) times.writing += writing.seconds();
    if (args.flag("quiet")) return;
    if (args.flag("json")) {
        json j = {{"status", run.info.complete ? "complete" : "partial"},
                  {"model", run.info.modelPath},
                  {"data", run.info.datasetPath},
                  {"tokens", run.scoredTokens()},
                  {"windows", run.windowCount()},
                  {"layer", run.params.layer},
                  {"lens", run.params.lensChoice.text()},
                  {"lens_hash", run.params.lensChoice.hash},
                  {"seconds", run.capture.seconds}};
        for (const auto& [phase, seconds] : times.named()) j["phases"][phase] = seconds;
        addTablesJson(j, tables);
        std::cout << j.dump(2) << "\n";
        return;
    }
    std::printf("model     %s (%s)\n", run.info.modelPath.c_str(), run.info.modelSummary.c_str());
    std::printf("data      %s (%s)\n", run.info.datasetPath.c_str(), run.info.datasetFormat.c_str());
    // The capture pass's time (head scans alone run none; their tables give their own times).
    char captureTime[64] = "";
    if (run.capture.tokens() > 0) std::snprintf(captureTime, sizeof captureTime, ", capture pass %.2f s", run.capture.seconds);
    if (run.scoredTokens() > 0)  // generation scores no windows
        std::printf("scored    %lld tokens in %lld windows%s%s\n", static_cast<long long>(run.scoredTokens()),
                    static_cast<long long>(run.windowCount()), captureTime, run.info.complete ? "" : "  (PARTIAL run)");
    else if (!run.info.complete)
        std::printf("status    PARTIAL run\n");
    const std::string phases = times.text();
    if (!phases.empty()) std::printf("time      %s\n", phases.c_str());
    if (run.params.lensChoice.tuned())
        std::printf("lens      %s (hash %s)\n", run.params.lensChoice.text().c_str(), run.params.lensChoice.hash.c_str());
    std::printf("\n");
    if (!run.capture.lensMethodChoice.empty())  // how the lens top-1 was computed (not kept in run files)
        std::printf("lens      certified top-1 check: %s%s\n\n", run.capture.lensMethodChoice.c_str(),
                    run.capture.lensCandidatesPerToken > 0
                        ? (", " + std::to_string(run.capture.lensCandidatesPerToken).substr(0, 5) + " exact dots per token").c_str()
                        : "");
    // Each analysis's part, as it says (its long tables are in the CSVs).
    for (const auto& [a, own] : parts)
        std::printf("%s", (a->terminalReport ? a->terminalReport(run, own) : ls::tablesAsText(own)).c_str());
    std::printf("(the per-bin, per-token and inspector tables are in the CSV files: --csv DIR)\n");
}

OptionGroup reportOptions() {
    return {"output",
            {{"csv", "DIR", "Write every table as DIR/<table>.csv (the columns are described in docs/run-files.md)."},
             {"json", "", "Print every table as one JSON object instead of text."},
             {"per-token-saturation", "", "Also write saturation_tokens (every token's saturation layer)."}}};
}

int finishOwnCommandRun(ls::LayerRun& run, const Args& args, const std::string& partialNote,
                        const std::function<void(const ls::LayerRun&)>& alsoWrite) {
    const ls::Stopwatch writing;
    const std::optional<std::string> out = args.get("out");
    if (out) ls::writeRunFile(*out, run);
    if (alsoWrite) alsoWrite(run);
    run.info.times.writing = writing.seconds();
    reportRun(run, args, /*computedHere=*/true);
    if (!run.info.complete) {
        std::fprintf(stderr, "\ninterrupted: %s\n", partialNote.c_str());
        return 130;
    }
    if (out && !args.flag("json") && !args.flag("quiet")) std::printf("run file: %s\n", out->c_str());
    return 0;
}

}  // namespace cli
