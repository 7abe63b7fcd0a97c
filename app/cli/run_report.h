#pragma once
// How `run` and `show` report a run of the layer analyses: --csv DIR, the tables as text,
// or everything as JSON.
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

// out["tables"][name][column] = the column's values (NaN as null), for every table.
void addTablesJson(nlohmann::json& out, const std::vector<ls::Table>& tables);

// --csv, --json, --quiet, --per-token-saturation.
OptionGroup reportOptions();

}  // namespace cli
