#pragma once
// The commands of layerscope-cli, one file each (command_<name>.cpp): the option table that
// parses the arguments and prints `--help`, and the function that runs the command.
// Exit codes: 0 success, 2 bad input or usage, 1 internal failure, 130 interrupted.
#include <vector>

#include "options.h"

namespace cli {

struct Command {
    CommandSpec spec;
    int (*run)(const Args&);
    bool computes = false;  // tunes the thread pools before running (common/thread_pools.h)
};

Command infoCommand();
Command evalCommand();
Command runCommand();
Command showCommand();
Command compareCommand();
Command trainCommand();
Command demoCorpusCommand();

// Every command, in the order `layerscope-cli --help` lists them.
std::vector<Command> allCommands();

}  // namespace cli
