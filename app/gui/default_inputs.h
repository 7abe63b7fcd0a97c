#pragma once
// Where the app finds a model and dataset when none is given on the command line: the
// built-in demo (a small GPT-2-layout model with a word-level tokenizer and its corpus).
#include <QString>
#include <QStringList>

struct DefaultInputs {
    QString modelDir;  // empty: open with no model
    QString dataPath;  // empty: no dataset
    // The Microscope panel's examples: a prompt the demo model completes by copying, and prompt
    // pairs for patching that copy (copy_pairs.jsonl; empty if absent).
    QString prompt;
    QString pairsPath;
};

// The demo folders to look in, best first: the installed layout next to the executable
// (<prefix>/bin/../share/layerscope/demo), then the source tree this binary was built from.
QStringList demoFolderCandidates();

// The first folder that holds model/config.json gives the model; its eval.txt, if there,
// the dataset. Empty paths if none does.
DefaultInputs findDemo(const QStringList& demoFolders);

// The single place that resolves the default model/data paths.
inline DefaultInputs resolveDefaultInputs() { return findDemo(demoFolderCandidates()); }
