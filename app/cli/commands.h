#pragma once
// The commands of layerscope-cli, one file each (command_<name>.cpp): the option table that
// parses the arguments and prints `--help`, and, for the commands that need no model, the
// function that runs it.
//
// The program is two layers, so that it starts in milliseconds and sets the thread pools'
// environment before LibTorch loads (common/program_module.h): `layerscope-cli` itself is
// plain C++ (it parses every command and runs info --model, show, compare and demo-corpus);
// what runs the model (eval, run, train, info --system) is in the module
// `layerscope-cli-compute` (compute_<name>.cpp), loaded only for those.
// Exit codes: 0 success, 2 bad input or usage, 1 internal failure, 130 interrupted.
#include <functional>
#include <vector>

#include "options.h"

namespace cli {

struct Command {
    CommandSpec spec;
    int (*run)(const Args&) = nullptr;  // runs here; null: only in the compute module
    // Whether these arguments need the compute module (null: never).
    bool (*needsCompute)(const Args&) = nullptr;
};

inline bool always(const Args&) { return true; }

Command infoCommand();
Command evalCommand();
Command runCommand();
Command mergeCommand();
Command showCommand();
Command compareCommand();
Command trainCommand();
Command lensCommand();
Command generateCommand();
Command promptCommand();
Command patchCommand();
Command demoCorpusCommand();

// Every command, in the order `layerscope-cli --help` lists them.
std::vector<Command> allCommands();

// Parses argv (argv[1] is the command) and runs it: in this process, or through compute for a
// command whose arguments need the compute module. Prints errors as one "error: ..." line
// and returns the exit code.
using ComputeRunner = std::function<int(const Command&, const Args&)>;
int runCommandLine(int argc, char** argv, const ComputeRunner& compute);

}  // namespace cli
