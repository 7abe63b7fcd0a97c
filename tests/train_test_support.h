#pragma once
// The small transformers the training tests train (test_train.cpp, test_gui.cpp): one
// description, as `layerscope-cli train` options or as ls::TrainParams.
#include <QString>
#include <QStringList>

#include "train/trainer.h"

struct Net {
    QString layout;
    int dim, heads, ffn, layers, seq;
};

// As `layerscope-cli train` options, on one compute thread.
inline QStringList netArgs(const Net& n) {
    return {"--layout", n.layout, "--dim", QString::number(n.dim), "--heads", QString::number(n.heads),
            "--ffn-dim", QString::number(n.ffn), "--layers", QString::number(n.layers),
            "--seq-len", QString::number(n.seq), "--threads", "1"};
}

// As ls::TrainParams, everything else at its default.
inline ls::TrainParams netParams(const Net& n) {
    ls::TrainParams p;
    p.layout = n.layout.toStdString();
    p.dim = n.dim;
    p.numHeads = n.heads;
    p.ffnDim = n.ffn;
    p.numLayers = n.layers;
    p.seqLen = n.seq;
    return p;
}
