#pragma once
// How `run` and `show` report a run of the layer analyses: --csv DIR, the tables as text,
// or everything as JSON.
#include <functional>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "analysis/layer_run.h"
#include "options.h"

namespace cli {

// Writes the run's tables to --csv DIR and, unless --quiet, prints them (the per-bin and
// per-token ones go to CSV only) or all of them as JSON (--json), with where the run's time
// went. computedHere: this process ran it (`run`), so the CSVs' writing counts in its phases.
void reportRun(const ls::LayerRun& run, const Args& args, bool computedHere);

// The end of a command with a run of its own (generate, prompt, patch): writes --out RUN.h5
// (and whatever alsoWrite adds), reports the run, says where the file is; the exit code: 0, or
// 130 for a canceled run (partialNote says what was kept).
int finishOwnCommandRun(ls::LayerRun& run, const Args& args, const std::string& partialNote,
                        const std::function<void(const ls::LayerRun&)>& alsoWrite = {});

// out["tables"][name][column] = the column's values (NaN as null), for every table.
void addTablesJson(nlohmann::json& out, const std::vector<ls::Table>& tables);

// --csv, --json, --quiet, --per-token-saturation.
OptionGroup reportOptions();

}  // namespace cli
