// layerscope-cli train: a small decoder-only transformer, saved as a Hugging Face folder (run by
// compute_train.cpp).
#include "compute_commands.h"
#include "train/trainer.h"

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

}  // namespace

void readTrainParams(const Args& args, ls::TrainParams& p) {
    p.layout = args.get("layout").value_or(p.layout);
    readParams(args, kShapeParams, p);
    p.numSamples = args.integer("samples", 0, 0);
    p.learningRate = args.real("lr", p.learningRate);
    p.weightDecay = args.real("weight-decay", p.weightDecay);
    readParams(args, kScheduleParams, p);
    p.evalEvery = static_cast<int>(args.integer("eval-every", 0, 0));
    p.validationFraction = args.real("val-fraction", p.validationFraction);
    p.seed = static_cast<uint64_t>(args.integer("seed", 0, 0));
}

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
            nullptr,
            always};
}

}  // namespace cli
