#pragma once
// What the compute module runs (compute_<name>.cpp), one function per command that needs a
// model; each command's options are in command_<name>.cpp.
#include "commands.h"

namespace ls {
struct TrainParams;
}

namespace cli {

int computeEval(const Args& args);
int computeRun(const Args& args);
int computeMerge(const Args& args);
int computeTrain(const Args& args);
int computeLens(const Args& args);  // lens train
int computeGenerate(const Args& args);
int computePrompt(const Args& args);
int computePatch(const Args& args);
int computeSystemInfo(const Args& args);  // info --system

// train's shape and schedule options (command_train.cpp) into p.
void readTrainParams(const Args& args, ls::TrainParams& p);

}  // namespace cli
