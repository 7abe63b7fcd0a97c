// layerscope-cli train: a small decoder-only transformer, saved as a Hugging Face folder.
#include <cmath>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "common/thread_pools.h"
#include "inputs.h"
#include "train/train_job.h"
#include "train/trainer.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace cli {

namespace {

// An int field of TrainParams set by an option: train() reads it, trainCommand() lists it
// with the field's default.
struct IntParam {
    const char* name;
    const char* value;
    const char* help;  // "(default N)." follows
    int ls::TrainParams::*field;
    int64_t minimum;
};

const std::vector<IntParam> kShapeParams = {
    {"dim", "D", "Hidden size", &ls::TrainParams::dim, 1},
    {"heads", "H", "Attention heads", &ls::TrainParams::numHeads, 1},
    {"ffn-dim", "F", "MLP hidden size", &ls::TrainParams::ffnDim, 1},
    {"layers", "L", "Blocks", &ls::TrainParams::numLayers, 1},
    {"seq-len", "N", "Training window, also the saved model's context", &ls::TrainParams::seqLen, 2}};
const std::vector<IntParam> kScheduleParams = {
    {"batch-size", "N", "Windows per step", &ls::TrainParams::batchSize, 1},
    {"epochs", "N", "At most this many epochs", &ls::TrainParams::maxEpochs, 1},
    {"patience", "N", "Stop after N validations without improvement", &ls::TrainParams::patience, 1}};

void readParams(const Args& args, const std::vector<IntParam>& params, ls::TrainParams& p) {
    for (const IntParam& param : params)
        p.*param.field = static_cast<int>(args.integer(param.name, p.*param.field, param.minimum));
}

// The options before, those of params, then those after.
std::vector<OptionSpec> withParams(std::vector<OptionSpec> before, const std::vector<IntParam>& params,
                                   const std::vector<OptionSpec>& after = {}) {
    const ls::TrainParams defaults;
    for (const IntParam& param : params)
        before.push_back({param.name, param.value,
                          std::string(param.help) + " (default " + std::to_string(defaults.*param.field) + ")."});
    before.insert(before.end(), after.begin(), after.end());
    return before;
}

int train(const Args& args) {
    const fs::path dataPath = args.require("data");
    const fs::path outDir = args.require("out");
    const bool asJson = args.flag("json");
    ls::TrainParams p;
    p.layout = args.get("layout").value_or(p.layout);
    readParams(args, kShapeParams, p);
    p.numSamples = args.integer("samples", 0, 0);
    p.learningRate = args.real("lr", p.learningRate);
    p.weightDecay = args.real("weight-decay", p.weightDecay);
    readParams(args, kScheduleParams, p);
    p.evalEvery = static_cast<int>(args.integer("eval-every", 0, 0));
    p.validationFraction = args.real("val-fraction", p.validationFraction);
    p.seed = static_cast<uint64_t>(args.integer("seed", 0, 0));
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

}  // namespace

Command trainCommand() {
    OptionGroup data = datasetOptions();
    data.options.insert(data.options.begin(), {"data", "PATH", "The training corpus (required): any dataset format."});
    data.options.push_back({"tokenizer", "MODEL_DIR", "Reuse this model folder's tokenizer."});
    data.options.push_back(
        {"word-vocab", "K", "Otherwise a word-level vocabulary of the K most frequent words (default 4096; text and WikiText)."});
    return {{"train",
             "",
             "--data PATH --out DIR [options]",
             "trains a small decoder-only transformer",
             "Trains a small decoder-only transformer with AdamW and early stopping on a validation split. The best "
             "checkpoint by validation loss is saved to DIR as config.json + model.safetensors + the tokenizer, a "
             "normal Hugging Face folder that every command reads. Ctrl-C keeps the best checkpoint.",
             {data,
              {"model",
               withParams({{"out", "DIR", "The folder to save the model in (required)."},
                           {"overwrite", "", "Replace a model already in DIR."},
                           {"layout", "gpt2|llama", "The architecture (default gpt2)."}},
                          kShapeParams)},
              {"training",
               withParams({{"samples", "N", "Windows of seq-len + 1 tokens to use (default all the data gives)."},
                           {"lr", "X", "Learning rate (default 1e-3)."},
                           {"weight-decay", "X", "AdamW weight decay (default 0.01)."}},
                          kScheduleParams,
                          {{"eval-every", "STEPS", "Validate every STEPS steps (default once per epoch)."},
                           {"val-fraction", "X", "The last fraction of the samples, never trained on (default 0.1)."},
                           {"seed", "S", "Random seed (default 0)."},
                           {"threads", "N", "Compute threads (default one per core)."},
                           {"json", "", "Print one JSON object at the end instead of the loss lines."}})}}},
            train,
            /*computes=*/true};
}

}  // namespace cli
