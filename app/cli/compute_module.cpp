// The compute module of layerscope-cli (commands.h): the commands that run a model, entered
// from the program with the same arguments once the thread pools' environment is set.
#include <map>
#include <string>

#include "commands.h"
#include "compute_commands.h"
#include "common/program_module.h"

extern "C" LAYERSCOPE_MODULE_ENTRY int layerscope_module_main(int argc, char** argv) {
    static const std::map<std::string, int (*)(const cli::Args&)> kComputeBodies = {
        {"eval", cli::computeEval}, {"run", cli::computeRun}, {"merge", cli::computeMerge}, {"train", cli::computeTrain}, {"lens", cli::computeLens},
        {"generate", cli::computeGenerate}, {"prompt", cli::computePrompt}, {"patch", cli::computePatch}, {"info", cli::computeSystemInfo}};
    return cli::runCommandLine(argc, argv, [](const cli::Command& command, const cli::Args& args) {
        return kComputeBodies.at(command.spec.name)(args);
    });
}
