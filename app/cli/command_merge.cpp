// layerscope-cli merge: the shards of a run (run --shard K/N) into the run one machine makes
// (run by compute_merge.cpp: the probes learn on the merged sample).
#include "commands.h"
#include "run_report.h"

namespace cli {

Command mergeCommand() {
    OptionGroup output = reportOptions();
    output.options.insert(output.options.begin(), {"out", "RUN.h5", "The merged run file to write (required)."});
    output.options.push_back({"quiet", "", "Print no tables."});
    CommandSpec spec{"merge",
                     "SHARD.h5",
                     "SHARD.h5 ... --out RUN.h5 [--csv DIR] [--json]",
                     "the shard files of a run (run --shard K/N) into one run file",
                     "Merges the run files of the N shards of one run, written by 'run ... --shard K/N --out FILE' on "
                     "one or many machines, into the run file a single machine would write: per-token data concatenated "
                     "in window order, and every sum, histogram, sorted statistic, ranking and probe recomputed from "
                     "the merged data. The shards must have the same model, data and parameters, be complete, and "
                     "each be given once; any problem is named and nothing is written. See docs/sharding.md.",
                     {output}};
    spec.manyPositionals = true;
    return {spec, nullptr, always};
}

}  // namespace cli
