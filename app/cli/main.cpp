// layerscope-cli: the workbench's analyses without a GUI, for scripts and batch machines.
// This program is plain C++ and starts at once; the commands that run a model load the
// compute module, LibTorch with it (commands.h, common/program_module.h).
#include "commands.h"
#include "common/program_module.h"

int main(int argc, char** argv) {
    return cli::runCommandLine(argc, argv, [&](const cli::Command&, const cli::Args&) {
        return ls::runProgramModule("layerscope-cli-compute", argc, argv);
    });
}
