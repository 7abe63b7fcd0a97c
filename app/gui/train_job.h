#pragma once
// The GUI's words for a finished training run. The run itself (vocabulary, data, output
// folder, training) is core's train/train_job.h, shared with layerscope-cli.
#include <QString>

#include "train/train_job.h"

// How a run ended, for people: canceled (whether and where the best checkpoint was kept),
// stopped early, or finished; with the best validation loss and the folder.
QString describeTrainResult(const ls::TrainResult& result, const ls::TrainParams& params);
