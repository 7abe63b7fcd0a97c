// layerscope-cli merge, in the compute module (the probes of losssep learn on the merged sample).
#include <cstdio>

#include "analysis/shards.h"
#include "common/error.h"
#include "compute_commands.h"
#include "inputs.h"
#include "io/run_file.h"
#include "run_report.h"

namespace cli {

int computeMerge(const Args& args) {
    if (args.positionals.empty())
        throw ls::Error("merge needs the shard files: 'layerscope-cli merge shard-*.h5 --out RUN.h5'");
    const std::string out = args.require("out");
    for (const std::string& file : args.positionals)
        if (std::filesystem::exists(out) && std::filesystem::equivalent(file, out))
            throw ls::Error(out, "is one of the shards: --out must name a new file");
    std::vector<ls::ShardFile> shards;
    for (const std::string& file : args.positionals) shards.push_back({file, ls::readRunFile(file)});
    ls::Progress& progress = interruptibleProgress();
    ls::LayerRun run = ls::mergeShardRuns(std::move(shards), progress);
    if (progress.isCanceled()) throw ls::Canceled();
    ls::writeRunFile(out, run);
    reportRun(run, args, /*computedHere=*/false);  // prints unless --quiet; --csv, --json
    if (!args.flag("json"))
        std::printf("merged %zu shards (%lld windows, %lld tokens): %s\n", args.positionals.size(),
                    static_cast<long long>(run.windowCount()), static_cast<long long>(run.scoredTokens()), out.c_str());
    return 0;
}

}  // namespace cli
