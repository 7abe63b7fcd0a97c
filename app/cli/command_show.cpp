// layerscope-cli show: a run file's tables and CSVs, without the model.
#include "commands.h"
#include "common/error.h"
#include "io/run_file.h"
#include "run_report.h"

namespace cli {

namespace {

int show(const Args& args) {
    if (args.positional.empty()) throw ls::Error("show needs a run file: 'layerscope-cli show RUN.h5'");
    reportRun(ls::readRunFile(args.positional), args, /*computedHere=*/false);
    return 0;
}

}  // namespace

Command showCommand() {
    return {{"show",
             "RUN.h5",
             "RUN.h5 [--csv DIR] [--json] [--per-token-saturation]",
             "a run file's tables (and CSVs) without the model",
             "Prints the tables of a run file written by `run --out` or the GUI's Save Run As, and writes its CSVs, "
             "without the model or the dataset: the summaries are recomputed from the per-token scalars the file "
             "keeps.",
             {reportOptions()}},
            show};
}

}  // namespace cli
