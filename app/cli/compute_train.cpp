// layerscope-cli train, in the compute module: a small decoder-only transformer, saved as a
// Hugging Face folder.
#include <cmath>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "compute_commands.h"
#include "inputs.h"
#include "train/train_job.h"
#include "train/trainer.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace cli {

int computeTrain(const Args& args) {
    const fs::path dataPath = args.require("data");
    const fs::path outDir = args.require("out");
    const bool asJson = args.flag("json");
    ls::TrainParams p;
    readTrainParams(args, p);
    ls::setComputeThreads(static_cast<int>(args.integer("threads", 0, 0)));
    ls::TrainDataSpec spec;
    spec.dataPath = dataPath;
    spec.options = datasetOptionsFrom(args, dataPath);
    spec.tokenizerDir = args.get("tokenizer").value_or("");
    spec.wordVocab = static_cast<int>(args.integer("word-vocab", spec.wordVocab, 1));
    // Everything is read and checked before the output folder is touched.
    const ls::TrainData data = ls::prepareTrainData(spec);
    const int vocabSize = data.vocabSize;
    const bool overwrite = args.flag("overwrite");
    ls::checkOutputFolder(data, outDir, overwrite);
    ls::validateTrainParams(p, vocabSize, static_cast<int64_t>(data.tokens.size()));

    ls::Progress& progress = interruptibleProgress();
    if (!asJson)
        std::printf("training %s layout: dim %d, %d heads, ffn %d, %d layers, seq_len %d, vocab %d, %zu tokens\n",
                    p.layout.c_str(), p.dim, p.numHeads, p.ffnDim, p.numLayers, p.seqLen, vocabSize, data.tokens.size());
    auto onPoint = [&](const ls::TrainPoint& pt) {
        if (asJson) return;
        if (pt.valLoss >= 0)
            std::printf("step %6lld  epoch %5.2f  train %.4f  val %.4f (PPL %.2f)%s\n", static_cast<long long>(pt.step),
                        pt.epoch, pt.trainLoss, pt.valLoss, std::exp(pt.valLoss), pt.improved ? "  (best, saved)" : "");
        else
            std::printf("step %6lld  epoch %5.2f  train %.4f\n", static_cast<long long>(pt.step), pt.epoch, pt.trainLoss);
        std::fflush(stdout);
    };
    const ls::TrainResult r = ls::trainIntoFolder(data, p, outDir, overwrite, progress, onPoint);

    std::string outcome = r.canceled ? "canceled" : r.stoppedEarly ? "stopped early (patience)" : "finished all epochs";
    if (asJson) {
        json j = {{"out", outDir.string()},         {"outcome", r.canceled ? "canceled" : r.stoppedEarly ? "early_stop" : "max_epochs"},
                  {"saved", r.saved},               {"steps", r.steps},
                  {"best_val_loss", r.bestValLoss}, {"best_step", r.bestStep},
                  // the research notes report the validation PPL: exp of the mean token loss
                  {"best_val_ppl", r.bestValLoss >= 0 ? json(std::exp(r.bestValLoss)) : json(nullptr)},
                  {"train_samples", r.trainSamples}, {"validation_samples", r.validationSamples},
                  {"vocab_size", vocabSize},        {"seconds", r.seconds}};
        std::cout << j.dump(2) << "\n";
    } else {
        std::printf("%s after %lld steps in %.1f s\n", outcome.c_str(), static_cast<long long>(r.steps), r.seconds);
        if (r.saved)
            std::printf("best validation loss %.4f (PPL %.2f) at step %lld, saved in %s\n", r.bestValLoss,
                        std::exp(r.bestValLoss), static_cast<long long>(r.bestStep), outDir.c_str());
        else
            std::printf("no checkpoint was saved (canceled before the first validation)\n");
    }
    if (r.canceled) return 130;
    return 0;
}

}  // namespace cli
