// layerscope-cli: the workbench's analyses without a GUI, for scripts and batch machines.
//   layerscope-cli info --model DIR [--json]
//   layerscope-cli eval --model DIR --data PATH [--seq-len N] [--stride S] [--max-tokens T]
//                       [--per-token FILE.csv] [--threads N] [--json]
// Exit codes: 0 success, 2 bad input or usage (one "error: ..." line on stderr),
// 1 internal failure, 130 interrupted.
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "analysis/perplexity.h"
#include "common/error.h"
#include "common/file_io.h"
#include "common/progress.h"
#include "data/dataset.h"
#include "model/model.h"
#include "data/demo_corpus.h"
#include "tokenizer/tokenizer.h"
#include "train/train_job.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const char* kUsage =
    "usage: layerscope-cli <command> [options]\n"
    "\n"
    "commands:\n"
    "  info  --model DIR [--json]\n"
    "        architecture, layers, heads, dims and parameter count of a model folder\n"
    "  eval  --model DIR --data PATH [--seq-len N] [--stride S] [--max-tokens T]\n"
    "        [--max-windows W] [--documents pack|respect] [--per-token FILE.csv] [--threads N] [--json]\n"
    "        perplexity over a dataset. seq-len defaults to min(1024, context); stride defaults\n"
    "        to seq-len (with stride < seq-len only the last stride tokens of each window are\n"
    "        scored). --documents respect keeps every window inside one document.\n"
    "\n"
    "  dataset options (eval and train):\n"
    "        --format auto|text|wikitext|alpaca-json|alpaca-jsonl|npy|bin   (default: detected)\n"
    "        --prompt-template T, --prompt-template-no-input T   Alpaca prompt with {instruction} {input} {output}\n"
    "        --num-samples N   only the first N documents / records\n"
    "        Text, WikiText and Alpaca are tokenized with the model folder's tokenizer; .npy holds\n"
    "        1-D int32/int64/uint16 ids, .bin raw uint16 ids (nanoGPT).\n"
    "  train --data PATH --out DIR [--tokenizer MODEL_DIR | --word-vocab K] [--layout gpt2|llama]\n"
    "        [--dim 64] [--heads 4] [--ffn-dim 256] [--layers 2] [--seq-len 128] [--samples N]\n"
    "        [--lr 1e-3] [--weight-decay 0.01] [--batch-size 16] [--epochs 20] [--patience 3]\n"
    "        [--eval-every STEPS] [--val-fraction 0.1] [--seed 0] [--overwrite] [--json]\n"
    "        trains a small decoder-only transformer; the best checkpoint (by validation loss)\n"
    "        is saved to DIR as config.json + model.safetensors + the tokenizer. Text data gets\n"
    "        a word-level vocabulary of the K most frequent words (default 4096) unless\n"
    "        --tokenizer reuses a model folder's tokenizer. Ctrl-C keeps the best checkpoint.\n"
    "  demo-corpus --out FILE [--words 200000] [--seed 1] [--labels FILE.npy]\n"
    "        writes the built-in demo corpus (text whose easy and hard words are known) and,\n"
    "        optionally, one label per word: 0 random, 1 determined by context, 2 sentence start.\n";

// --key value options after the command; flags listed in `flags` take no value.
struct Args {
    std::string command;
    std::map<std::string, std::string> values;

    std::optional<std::string> get(const std::string& key) const {
        auto it = values.find(key);
        if (it == values.end()) return std::nullopt;
        return it->second;
    }
    bool flag(const std::string& key) const { return values.count(key) != 0; }
    std::string require(const std::string& key) const {
        auto v = get(key);
        if (!v) throw ls::Error("missing required option --" + key + " (see layerscope-cli --help)");
        return *v;
    }
    // Parses the whole value with parse (std::stod / std::stoll); `what` names the kind.
    template <typename T, typename Parse>
    T parsed(const std::string& key, T fallback, Parse parse, const char* what) const {
        auto v = get(key);
        if (!v) return fallback;
        size_t used = 0;
        T x{};
        try {
            x = parse(*v, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (used == 0 || used != v->size()) throw ls::Error("--" + key + " needs " + what + ", got '" + *v + "'");
        return x;
    }
    double real(const std::string& key, double fallback) const {
        return parsed<double>(key, fallback, [](const std::string& s, size_t* used) { return std::stod(s, used); },
                              "a number");
    }
    int64_t integer(const std::string& key, int64_t fallback, int64_t minimum) const {
        const int64_t n = parsed<int64_t>(
            key, fallback, [](const std::string& s, size_t* used) { return std::stoll(s, used); }, "an integer");
        if (get(key) && n < minimum)  // the fallback may be a "not set" value below the minimum
            throw ls::Error("--" + key + " must be at least " + std::to_string(minimum) + ", got " + std::to_string(n));
        return n;
    }
};

Args parseArgs(int argc, char** argv, const std::vector<std::string>& known, const std::vector<std::string>& flags) {
    Args args;
    args.command = argv[1];
    for (int i = 2; i < argc; ++i) {
        std::string a = argv[i];
        if (a.rfind("--", 0) != 0) throw ls::Error("unexpected argument '" + a + "'");
        std::string key = a.substr(2), value;
        const auto eq = key.find('=');
        const bool inlineValue = eq != std::string::npos;
        if (inlineValue) {
            value = key.substr(eq + 1);
            key = key.substr(0, eq);
        }
        const bool isFlag = std::find(flags.begin(), flags.end(), key) != flags.end();
        if (!isFlag && std::find(known.begin(), known.end(), key) == known.end())
            throw ls::Error("unknown option --" + key + " for '" + args.command + "'");
        if (!isFlag && !inlineValue) {
            if (i + 1 >= argc) throw ls::Error("option --" + key + " needs a value");
            value = argv[++i];
        }
        args.values[key] = value;
    }
    return args;
}

// Dataset options shared by eval and train: --format, --template, --template-no-input,
// --num-samples (first N documents/records). The format is resolved here so callers know
// whether a tokenizer is needed.
ls::DatasetOptions datasetOptions(const Args& args, const fs::path& dataPath) {
    ls::DatasetOptions o;
    o.format = ls::parseDataFormat(args.get("format").value_or("auto"));
    if (o.format == ls::DataFormat::Auto) o.format = ls::detectFormat(dataPath);
    if (auto t = args.get("prompt-template")) o.promptTemplate = *t;
    if (auto t = args.get("prompt-template-no-input")) o.promptTemplateNoInput = *t;
    o.maxDocuments = args.integer("num-samples", 0, 0);
    return o;
}

// --documents respect|pack (default pack: windows run across document boundaries).
bool documentsRespected(const Args& args) {
    const std::string v = args.get("documents").value_or("pack");
    if (v != "respect" && v != "pack") throw ls::Error("--documents must be 'respect' or 'pack', got '" + v + "'");
    return v == "respect";
}

ls::Progress* g_progress = nullptr;
void onInterrupt(int) {
    if (g_progress) g_progress->cancel();
}

int commandInfo(const Args& args) {
    const ls::Model model = ls::Model::load(args.require("model"));
    const ls::ModelConfig& c = model.config();
    if (args.flag("json")) {
        json j = {{"model", model.directory().string()},
                  {"model_type", c.modelType},
                  {"architecture", model.architectureName()},
                  {"layers", c.numLayers},
                  {"heads", c.numHeads},
                  {"kv_heads", c.numKvHeads},
                  {"dim", c.hiddenSize},
                  {"head_dim", c.headDim},
                  {"ffn_dim", c.intermediateSize},
                  {"vocab_size", c.vocabSize},
                  {"context", c.maxPositions},
                  {"parameters", model.parameterCount()},
                  {"dtype", model.weightDtype()},
                  {"tied_embeddings", c.tiedEmbeddings},
                  {"activation", c.activation}};
        if (c.modelType == "llama") {
            j["rope_theta"] = c.ropeTheta;
            j["rope_scaling"] = c.ropeScalingType.empty() ? json(nullptr) : json(c.ropeScalingType);
        }
        std::cout << j.dump(2) << "\n";
    } else {
        for (const auto& [key, value] : ls::modelSummary(model)) std::printf("%-16s %s\n", key.c_str(), value.c_str());
    }
    return 0;
}

// Per-token CSV written to FILE.partial and renamed on success, so that an error or
// an interrupt never leaves a half-written FILE behind.
class PerTokenCsv {
public:
    explicit PerTokenCsv(const fs::path& path) : path_(path), partial_(path.string() + ".partial") {
        out_.open(partial_, std::ios::binary | std::ios::trunc);
        if (!out_) throw ls::Error(path, "cannot write the per-token CSV");
        out_ << "window,position,token_id,target_id,loss\n";
    }
    ~PerTokenCsv() {
        if (!committed_) {
            out_.close();
            std::error_code ec;
            fs::remove(partial_, ec);
        }
    }
    void write(const ls::TokenLoss& t) {
        char line[128];
        const int n = std::snprintf(line, sizeof line, "%lld,%d,%d,%d,%.6f\n", static_cast<long long>(t.window),
                                    t.position, t.tokenId, t.targetId, t.loss);
        out_.write(line, n);
    }
    void commit() {
        out_.close();
        if (!out_) throw ls::Error(path_, "writing the per-token CSV failed");
        fs::rename(partial_, path_);
        committed_ = true;
    }

private:
    fs::path path_, partial_;
    std::ofstream out_;
    bool committed_ = false;
};

int commandEval(const Args& args) {
    const fs::path modelDir = args.require("model");
    const fs::path dataPath = args.require("data");
    const bool asJson = args.flag("json");
    const ls::Model model = ls::Model::load(modelDir);
    const ls::ModelConfig& c = model.config();

    ls::PerplexityParams params;
    params.windows.seqLen = static_cast<int>(args.integer("seq-len", std::min(1024, c.maxPositions), 2));
    params.windows.stride = static_cast<int>(args.integer("stride", params.windows.seqLen, 1));
    params.windows.maxTokens = args.integer("max-tokens", 0, 2);
    params.windows.maxWindows = args.integer("max-windows", 0, 0);
    params.windows.respectDocuments = documentsRespected(args);
    ls::setComputeThreads(static_cast<int>(args.integer("threads", 0, 0)));
    if (params.windows.seqLen > c.maxPositions)
        throw ls::Error("--seq-len " + std::to_string(params.windows.seqLen) + " exceeds the context of " +
                        modelDir.string() + " (" + std::to_string(c.maxPositions) + " tokens)");
    if (params.windows.stride > params.windows.seqLen)
        throw ls::Error("--stride " + std::to_string(params.windows.stride) + " is larger than --seq-len " +
                        std::to_string(params.windows.seqLen));

    const ls::DatasetOptions dataOptions = datasetOptions(args, dataPath);
    std::optional<ls::Tokenizer> tokenizer;
    if (ls::formatNeedsTokenizer(dataOptions.format)) {
        try {
            tokenizer = ls::Tokenizer::fromModelDir(modelDir);
        } catch (const ls::Error& e) {
            throw ls::Error(dataPath, std::string(ls::dataFormatName(dataOptions.format)) +
                                          " data needs the model's tokenizer, which could not be loaded: " + e.what());
        }
    }
    const ls::Dataset data = ls::loadDataset(dataPath, tokenizer ? &*tokenizer : nullptr, c.vocabSize, dataOptions);

    std::optional<PerTokenCsv> csv;
    if (auto p = args.get("per-token")) csv.emplace(*p);

    ls::Progress progress;
    g_progress = &progress;
    std::signal(SIGINT, onInterrupt);
    std::signal(SIGTERM, onInterrupt);
    const bool showProgress = !asJson && isatty(STDERR_FILENO);
    double lastShown = -1;
    int64_t counted = 0;
    auto onToken = [&](const ls::TokenLoss& t) {
        if (csv) csv->write(t);
        if (showProgress && (++counted % 4096) == 0 && progress.fraction() - lastShown >= 0.01) {
            lastShown = progress.fraction();
            std::fprintf(stderr, "\r%s: %3.0f%%", progress.stage().c_str(), 100.0 * lastShown);
        }
    };
    const ls::PerplexityResult r = ls::runPerplexity(model, data, params, progress, onToken);
    if (showProgress) std::fprintf(stderr, "\r%*s\r", 60, "");
    if (csv) csv->commit();

    if (asJson) {
        json j = {{"model", modelDir.string()},
                  {"data", dataPath.string()},
                  {"format", ls::dataFormatName(data.format)},
                  {"dataset_tokens", static_cast<int64_t>(data.tokens.size())},
                  {"documents", data.documents()},
                  {"respect_documents", params.windows.respectDocuments},
                  {"seq_len", params.windows.seqLen},
                  {"stride", params.windows.stride},
                  {"max_tokens", params.windows.maxTokens},
                  {"windows", r.windows},
                  {"tokens", r.tokens},
                  {"mean_loss", r.meanLoss},
                  {"ppl", r.ppl},
                  {"seconds", r.seconds},
                  {"tokens_per_second", r.tokensPerSecond}};
        std::cout << j.dump(2) << "\n";
    } else {
        std::printf("model        %s (%s)\n", modelDir.c_str(), model.architectureName().c_str());
        std::printf("data         %s (%s, %zu tokens, %lld documents)\n", dataPath.c_str(),
                    ls::dataFormatName(data.format), data.tokens.size(), static_cast<long long>(data.documents()));
        std::printf("windows      %lld x seq_len %d, stride %d\n", static_cast<long long>(r.windows),
                    params.windows.seqLen, params.windows.stride);
        std::printf("scored       %lld tokens\n", static_cast<long long>(r.tokens));
        std::printf("mean loss    %.6f nats\n", r.meanLoss);
        std::printf("perplexity   %.4f\n", r.ppl);
        std::printf("time         %.2f s (%.1f tokens/s)\n", r.seconds, r.tokensPerSecond);
    }
    return 0;
}

int commandDemoCorpus(const Args& args) {
    const fs::path out = args.require("out");
    ls::DemoCorpusParams params;
    params.words = args.integer("words", params.words, 1);
    params.seed = static_cast<uint64_t>(args.integer("seed", 1, 0));
    const ls::DemoCorpus corpus = ls::generateDemoCorpus(params);
    ls::writeFileAtomically(out, corpus.text);
    if (auto labels = args.get("labels")) {
        std::vector<int32_t> values;
        for (ls::DemoLabel l : corpus.labels) values.push_back(static_cast<int32_t>(l));
        ls::writeNpyInt32(*labels, values);
    }
    std::printf("wrote %s: %zu words, %zu bytes\n", out.c_str(), corpus.labels.size(), corpus.text.size());
    return 0;
}

int commandTrain(const Args& args) {
    const fs::path dataPath = args.require("data");
    const fs::path outDir = args.require("out");
    const bool asJson = args.flag("json");
    ls::TrainParams p;
    p.layout = args.get("layout").value_or(p.layout);
    p.dim = static_cast<int>(args.integer("dim", p.dim, 1));
    p.numHeads = static_cast<int>(args.integer("heads", p.numHeads, 1));
    p.ffnDim = static_cast<int>(args.integer("ffn-dim", p.ffnDim, 1));
    p.numLayers = static_cast<int>(args.integer("layers", p.numLayers, 1));
    p.seqLen = static_cast<int>(args.integer("seq-len", p.seqLen, 2));
    p.numSamples = args.integer("samples", 0, 0);
    p.learningRate = args.real("lr", p.learningRate);
    p.weightDecay = args.real("weight-decay", p.weightDecay);
    p.batchSize = static_cast<int>(args.integer("batch-size", p.batchSize, 1));
    p.maxEpochs = static_cast<int>(args.integer("epochs", p.maxEpochs, 1));
    p.patience = static_cast<int>(args.integer("patience", p.patience, 1));
    p.evalEvery = static_cast<int>(args.integer("eval-every", 0, 0));
    p.validationFraction = args.real("val-fraction", p.validationFraction);
    p.seed = static_cast<uint64_t>(args.integer("seed", 0, 0));
    ls::setComputeThreads(static_cast<int>(args.integer("threads", 0, 0)));
    ls::TrainDataSpec spec;
    spec.dataPath = dataPath;
    spec.options = datasetOptions(args, dataPath);
    spec.tokenizerDir = args.get("tokenizer").value_or("");
    spec.wordVocab = static_cast<int>(args.integer("word-vocab", spec.wordVocab, 1));
    // Everything is read and checked before the output folder is touched.
    const ls::TrainData data = ls::prepareTrainData(spec);
    const int vocabSize = data.vocabSize;
    const bool overwrite = args.flag("overwrite");
    ls::checkOutputFolder(data, outDir, overwrite);
    ls::validateTrainParams(p, vocabSize, static_cast<int64_t>(data.tokens.size()));

    ls::Progress progress;
    g_progress = &progress;
    std::signal(SIGINT, onInterrupt);
    std::signal(SIGTERM, onInterrupt);
    if (!asJson)
        std::printf("training %s layout: dim %d, %d heads, ffn %d, %d layers, seq_len %d, vocab %d, %zu tokens\n",
                    p.layout.c_str(), p.dim, p.numHeads, p.ffnDim, p.numLayers, p.seqLen, vocabSize, data.tokens.size());
    auto onPoint = [&](const ls::TrainPoint& pt) {
        if (asJson) return;
        if (pt.valLoss >= 0)
            std::printf("step %6lld  epoch %5.2f  train %.4f  val %.4f%s\n", static_cast<long long>(pt.step), pt.epoch,
                        pt.trainLoss, pt.valLoss, pt.improved ? "  (best, saved)" : "");
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
                  {"train_samples", r.trainSamples}, {"validation_samples", r.validationSamples},
                  {"vocab_size", vocabSize},        {"seconds", r.seconds}};
        std::cout << j.dump(2) << "\n";
    } else {
        std::printf("%s after %lld steps in %.1f s\n", outcome.c_str(), static_cast<long long>(r.steps), r.seconds);
        if (r.saved)
            std::printf("best validation loss %.4f at step %lld, saved in %s\n", r.bestValLoss,
                        static_cast<long long>(r.bestStep), outDir.c_str());
        else
            std::printf("no checkpoint was saved (canceled before the first validation)\n");
    }
    if (r.canceled) return 130;
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
        std::fputs(kUsage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const std::string command = argv[1];
    try {
        if (command == "info") return commandInfo(parseArgs(argc, argv, {"model"}, {"json"}));
        if (command == "eval")
            return commandEval(parseArgs(argc, argv,
                                         {"model", "data", "seq-len", "stride", "max-tokens", "max-windows", "documents", "per-token",
                                          "threads", "format", "prompt-template", "prompt-template-no-input", "num-samples"},
                                         {"json"}));
        if (command == "train")
            return commandTrain(parseArgs(argc, argv,
                                          {"data", "out", "tokenizer", "word-vocab", "layout", "dim", "heads",
                                           "ffn-dim", "layers", "seq-len", "samples", "lr", "weight-decay", "batch-size",
                                           "epochs", "patience", "eval-every", "val-fraction", "seed", "threads", "format", "prompt-template",
                                           "prompt-template-no-input", "num-samples"},
                                          {"json", "overwrite"}));
        if (command == "demo-corpus")
            return commandDemoCorpus(parseArgs(argc, argv, {"out", "words", "seed", "labels"}, {}));
        std::fprintf(stderr, "error: unknown command '%s' (see layerscope-cli --help)\n", command.c_str());
        return 2;
    } catch (const ls::Canceled&) {
        std::fprintf(stderr, "\ninterrupted: nothing was written\n");
        return 130;
    } catch (const ls::Error& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "error: internal failure: %s\n", e.what());
        return 1;
    }
}
