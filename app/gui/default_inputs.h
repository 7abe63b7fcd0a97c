#pragma once
// Where the app finds a model and dataset when none is given on the command line.
#include <QString>

struct DefaultInputs {
    QString modelDir;  // empty: open with no model
    QString dataPath;  // empty: no dataset
};

// The single place that resolves the default model/data paths. Returns empty paths for
// now; the built-in demo model (resources/) will be resolved here.
DefaultInputs resolveDefaultInputs();
