// layerscope-cli: the workbench's analyses without a GUI, for scripts and batch machines.
//   layerscope-cli info --model DIR [--json]
//   layerscope-cli eval --model DIR --data PATH [--seq-len N] [--stride S] [--max-tokens T]
//                       [--per-token FILE.csv] [--threads N] [--json]
// Exit codes: 0 success, 2 bad input or usage (one "error: ..." line on stderr),
// 1 internal failure, 130 interrupted.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>
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

#include "analysis/layer_run.h"
#include "analysis/perplexity.h"
#include "common/error.h"
#include "common/thread_pools.h"
#include "common/file_io.h"
#include "common/progress.h"
#include "io/run_file.h"
#include "io/table.h"
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
    "        [--time-split]\n"
    "        perplexity over a dataset. seq-len defaults to min(1024, context); stride defaults\n"
    "        to seq-len (with stride < seq-len only the last stride tokens of each window are\n"
    "        scored). --documents respect keeps every window inside one document.\n"
    "        --time-split also prints where the time went: embedding, attention, MLP, head + loss.\n"
    "\n"
    "  run ANALYSES --model DIR --data PATH [window and dataset options as in eval]\n"
    "        [--layer L] [--ranks 8,16,32] [--hard-ratios 0.3,0.5,0.7] [--post-attention]\n"
    "        [--inspect-window W] [--top-k K] [--bins B] [--special-drop D]\n"
    "        [--out RUN.h5] [--csv DIR] [--per-token-saturation] [--json] [--quiet]\n"
    "        layer analyses in one capture pass; ANALYSES is a comma-separated list of\n"
    "        cossim (cos(h_{l-1}, h_l) per block), saturation (logit-lens top-1 per layer),\n"
    "        lowrank (SVD of the output head), inspect (logit-lens grid of window W).\n"
    "        --layer is the exit / chosen layer (1..L, default L-1); layers count blocks from 1,\n"
    "        layer 0 is the embeddings. --post-attention adds the lens after each attention.\n"
    "        losssep (easy/hard separation: Oracle, confidence metrics at every layer, thresholds,\n"
    "        high-confidence subsets, probes), exit (early-exit policies on a signal).\n"
    "        losssep: [--probe-layer L] [--probe-sample 65536] [--no-probes] [--seed S]\n"
    "        [--metric-ranks 8,16] [--confidence-thresholds 0.01,0.02,0.05] [--subset-confidences ...]\n"
    "        exit: [--signal confidence|max_z|max_minus_mean|margin|entropy|cossim] [--layers 1,2,3]\n"
    "        [--thresholds a,b,c (the sweep; default 41 quantiles)] [--threshold x (the policy;\n"
    "        default the median)] [--layer-thresholds t1,t2,... (one per allowed layer)]\n"
    "        ablation (zero and mean ablation of every head, with prefix caching):\n"
    "        [--heads L0H3,L5 (TransformerLens names, layer from 0; L5 = every head of it)]\n"
    "        [--subset-tokens 2048 (ranking stability)] [--no-attribution]; Ctrl-C keeps the\n"
    "        windows it finished, marked partial. In the CSVs layers count from 1, heads from 0.\n"
    "        linearize (ReLU attention: each head alone, cumulatively in order of damage):\n"
    "        [--heads ...] [--normalize count|rowsum] [--steps 10] [--protect-layers 1,2]\n"
    "        context (PPL across context lengths, baseline and N linearised heads; runs linearize):\n"
    "        [--context-lengths 128,256,512,1024 (those that fit)] [--context-heads 30,70]\n"
    "        --out writes an HDF5 run file; --csv writes every table as DIR/<table>.csv.\n"
    "  show RUN.h5 [--csv DIR] [--json] [--per-token-saturation]\n"
    "        prints a run file's tables (and writes its CSVs) without the model\n"
    "\n"
    "  dataset options (eval, run and train):\n"
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
    std::string positional;  // run: the analyses; show: the run file
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

Args parseArgs(int argc, char** argv, const std::vector<std::string>& known, const std::vector<std::string>& flags,
               bool positionalAllowed = false) {
    Args args;
    args.command = argv[1];
    for (int i = 2; i < argc; ++i) {
        std::string a = argv[i];
        if (a.rfind("--", 0) != 0) {
            if (!positionalAllowed || !args.positional.empty() || i != 2)
                throw ls::Error("unexpected argument '" + a + "'");
            args.positional = a;
            continue;
        }
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

// "0.3,0.5,0.7" -> {0.3, 0.5, 0.7}; throws naming the option.
std::vector<double> parseRealList(const std::string& key, const std::string& text) {
    std::vector<double> out;
    size_t start = 0;
    while (start <= text.size()) {
        const size_t comma = std::min(text.find(',', start), text.size());
        const std::string item = text.substr(start, comma - start);
        size_t used = 0;
        double v = 0;
        try {
            v = std::stod(item, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (item.empty() || used != item.size())
            throw ls::Error("--" + key + " needs comma-separated numbers, got '" + text + "'");
        out.push_back(v);
        start = comma + 1;
    }
    return out;
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

// What eval and run share: the model, its tokenizer (when the data needs one), the dataset
// and the window options, all read and checked before any work starts.
struct Inputs {
    fs::path modelDir, dataPath;
    std::optional<ls::Model> model;
    std::optional<ls::Tokenizer> tokenizer;
    ls::DatasetOptions dataOptions;
    ls::Dataset data;
    ls::WindowParams windows;
};

Inputs loadInputs(const Args& args) {
    Inputs in;
    in.modelDir = args.require("model");
    in.dataPath = args.require("data");
    in.model.emplace(ls::Model::load(in.modelDir));
    const ls::ModelConfig& c = in.model->config();
    ls::WindowParams& w = in.windows;
    w.seqLen = static_cast<int>(args.integer("seq-len", std::min(1024, c.maxPositions), 2));
    w.stride = static_cast<int>(args.integer("stride", w.seqLen, 1));
    w.maxTokens = args.integer("max-tokens", 0, 2);
    w.maxWindows = args.integer("max-windows", 0, 0);
    w.respectDocuments = documentsRespected(args);
    ls::setComputeThreads(static_cast<int>(args.integer("threads", 0, 0)));
    if (w.seqLen > c.maxPositions)
        throw ls::Error("--seq-len " + std::to_string(w.seqLen) + " exceeds the context of " + in.modelDir.string() +
                        " (" + std::to_string(c.maxPositions) + " tokens)");
    if (w.stride > w.seqLen)
        throw ls::Error("--stride " + std::to_string(w.stride) + " is larger than --seq-len " + std::to_string(w.seqLen));

    in.dataOptions = datasetOptions(args, in.dataPath);
    // The inspector shows token texts whenever the folder has a tokenizer.
    try {
        in.tokenizer = ls::Tokenizer::fromModelDir(in.modelDir);
    } catch (const ls::Error& e) {
        if (ls::formatNeedsTokenizer(in.dataOptions.format))
            throw ls::Error(in.dataPath, std::string(ls::dataFormatName(in.dataOptions.format)) +
                                             " data needs the model's tokenizer, which could not be loaded: " + e.what());
    }
    in.data = ls::loadDataset(in.dataPath, in.tokenizer ? &*in.tokenizer : nullptr, c.vocabSize, in.dataOptions);
    return in;
}

int commandEval(const Args& args) {
    const bool asJson = args.flag("json");
    const Inputs in = loadInputs(args);
    const fs::path& modelDir = in.modelDir;
    const fs::path& dataPath = in.dataPath;
    const ls::Model& model = *in.model;
    const ls::Dataset& data = in.data;
    ls::PerplexityParams params;
    params.windows = in.windows;
    params.timeSplit = args.flag("time-split");

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
        if (params.timeSplit)
            j["time_split"] = {{"embedding", r.split.embedding}, {"attention", r.split.attention},
                               {"mlp", r.split.mlp}, {"head_loss", r.split.headLoss}};
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
        if (params.timeSplit) {
            const ls::EvalTimeSplit& t = r.split;
            const double total = t.embedding + t.attention + t.mlp + t.headLoss;
            std::printf("time split   attention %.2f s (%.0f%%), MLP %.2f s (%.0f%%), head + loss %.2f s (%.0f%%), embedding %.2f s\n",
                        t.attention, 100 * t.attention / total, t.mlp, 100 * t.mlp / total, t.headLoss,
                        100 * t.headLoss / total, t.embedding);
        }
    }
    return 0;
}

// Prints a task's progress on stderr from a thread of its own while the caller computes:
// a live line on a terminal, a line every 10% otherwise (batch logs).
class ProgressPrinter {
public:
    ProgressPrinter(const ls::Progress& progress, int64_t totalTokens, bool enabled)
        : progress_(progress), total_(totalTokens) {
        if (enabled) thread_ = std::thread([this] { loop(); });
    }
    ~ProgressPrinter() { stop(); }
    void stop() {
        if (!thread_.joinable()) return;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            done_ = true;
        }
        wake_.notify_all();
        thread_.join();
        if (tty_) std::fprintf(stderr, "\r%*s\r", 100, "");
    }

private:
    void loop() {
        auto start = std::chrono::steady_clock::now();
        int lastDecile = 0;
        std::string lastStage;
        std::unique_lock<std::mutex> lock(mutex_);
        while (!wake_.wait_for(lock, std::chrono::milliseconds(tty_ ? 250 : 1000), [this] { return done_; })) {
            const std::string stage = progress_.stage();
            if (stage != lastStage) {  // a new stage counts from 0% again
                lastStage = stage;
                lastDecile = 0;
                start = std::chrono::steady_clock::now();
            }
            const double f = progress_.fraction();
            const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            const double rate = elapsed > 1 ? f * static_cast<double>(total_) / elapsed : 0;
            const int eta = f > 0.001 ? static_cast<int>(elapsed * (1 - f) / f) : -1;
            char line[256];
            std::snprintf(line, sizeof line, "%s: %3.0f%% · %s tokens/s · ETA %s", stage.c_str(), 100 * f,
                          rate > 0 ? std::to_string(static_cast<int64_t>(rate)).c_str() : "?", eta < 0 ? "?" : (std::to_string(eta / 60) + ":" + (eta % 60 < 10 ? "0" : "") +
                                                 std::to_string(eta % 60)).c_str());
            if (tty_) {
                std::fprintf(stderr, "\r%-100s", line);
            } else if (static_cast<int>(f * 10) > lastDecile) {
                lastDecile = static_cast<int>(f * 10);
                std::fprintf(stderr, "%s\n", line);
            }
            std::fflush(stderr);
        }
    }

    const ls::Progress& progress_;
    int64_t total_;
    bool tty_ = isatty(STDERR_FILENO);
    std::mutex mutex_;
    std::condition_variable wake_;
    bool done_ = false;
    std::thread thread_;
};

std::vector<int> parseIntList(const std::string& key, const std::string& text) {
    std::vector<int> out;
    for (const double v : parseRealList(key, text)) {
        if (v != static_cast<int>(v)) throw ls::Error("--" + key + " needs whole numbers, got '" + text + "'");
        out.push_back(static_cast<int>(v));
    }
    return out;
}

// The logit-lens grid as text: one row per position (at most 48), one column per layer.
void printInspectGrid(const ls::InspectGrid& g) {
    auto text = [&](int32_t id) {
        auto it = g.tokenText.find(id);
        std::string s = it != g.tokenText.end() ? it->second : std::to_string(id);
        for (char& ch : s)
            if (ch == '\n' || ch == '\t' || ch == '\r') ch = ' ';
        if (s.size() > 10) s = s.substr(0, 9) + "~";
        return s;
    };
    std::printf("Token inspector: window %d, lens top-1 per layer (layer 0 = embeddings)\n", g.window);
    std::printf("%4s  %-11s", "pos", "input");
    for (int l = 0; l < g.layers; ++l) std::printf("  %-11s", ("layer " + std::to_string(l)).c_str());
    std::printf("  %s\n", "target");
    const int shown = std::min(g.positions, 48);
    for (int p = 0; p < shown; ++p) {
        std::printf("%4d  %-11s", p, text(g.inputIds[p]).c_str());
        for (int l = 0; l < g.layers; ++l) {
            char cell[32];
            std::snprintf(cell, sizeof cell, "%s %.2f", text(g.topIds[g.index(p, l)]).c_str(), g.topProbs[g.index(p, l)]);
            std::printf("  %-11s", cell);
        }
        std::printf("  %s\n", g.targetIds[p] < 0 ? "-" : text(g.targetIds[p]).c_str());
    }
    if (shown < g.positions) std::printf("(%d more positions in inspect.csv)\n", g.positions - shown);
    std::printf("\n");
}

// Writes the run's tables to --csv DIR and, unless --quiet, prints them (the per-bin and
// per-token ones go to CSV only) or all of them as JSON.
void reportRun(const ls::LayerRun& run, const Args& args) {
    const std::vector<ls::Table> tables = run.tables(args.flag("per-token-saturation"));
    if (auto dir = args.get("csv"))
        for (const ls::Table& t : tables) ls::writeCsv(t, *dir);
    if (args.flag("quiet")) return;
    if (args.flag("json")) {
        json j = {{"status", run.info.complete ? "complete" : "partial"},
                  {"model", run.info.modelPath},
                  {"data", run.info.datasetPath},
                  {"tokens", run.scoredTokens()},
                  {"windows", run.windowCount()},
                  {"layer", run.params.layer},
                  {"seconds", run.capture.seconds}};
        for (const ls::Table& t : tables) {
            json columns = json::object();
            for (const ls::Column& c : t.columns) {
                if (c.kind == ls::Column::Kind::Text) {
                    columns[c.name] = c.texts;
                } else {
                    json values = json::array();
                    for (double v : c.numbers) values.push_back(std::isfinite(v) ? json(v) : json(nullptr));
                    columns[c.name] = values;
                }
            }
            j["tables"][t.name] = columns;
        }
        std::cout << j.dump(2) << "\n";
        return;
    }
    std::printf("model     %s (%s)\n", run.info.modelPath.c_str(), run.info.modelSummary.c_str());
    std::printf("data      %s (%s)\n", run.info.datasetPath.c_str(), run.info.datasetFormat.c_str());
    std::printf("scored    %lld tokens in %lld windows, %.2f s%s\n\n", static_cast<long long>(run.scoredTokens()),
                static_cast<long long>(run.windowCount()), run.capture.seconds,
                run.info.complete ? "" : "  (PARTIAL run)");
    if (!run.capture.lensMethodChoice.empty())  // how the lens top-1 was computed (not kept in run files)
        std::printf("lens      certified top-1 check: %s%s\n\n", run.capture.lensMethodChoice.c_str(),
                    run.capture.lensCandidatesPerToken > 0
                        ? (", " + std::to_string(run.capture.lensCandidatesPerToken).substr(0, 5) + " exact dots per token").c_str()
                        : "");
    if (run.cossim) std::printf("cos-sim: %s\n\n", ls::kCossimCompared);
    const std::set<std::string> csvOnly = {"cossim_histograms", "saturation_tokens", "lowrank_singular_values",
                                           "inspect", "inspect_topk", "loss_histogram", "predictors", "exit_sweep"};
    for (const ls::Table& t : tables)
        if (!csvOnly.count(t.name)) std::printf("%s\n", ls::toText(t).c_str());
    if (run.lossSep) {  // the seed's final comparison: every method at the final layer, the Oracle, the probes
        const ls::Table* predictors = ls::findTable(tables, "predictors");
        std::vector<size_t> rows;
        for (size_t r = 0; r < predictors->rows(); ++r)
            if (predictors->column("layer").numbers[r] == run.lossSep->numLayers ||
                predictors->column("method").texts[r].rfind("probe_", 0) == 0)
                rows.push_back(r);
        ls::Table comparison = ls::selectRows(*predictors, rows);
        comparison.title = "Final comparison of methods (predictors.csv has every layer)";
        std::printf("%s\n", ls::toText(comparison).c_str());
    }
    if (run.hasInspect()) printInspectGrid(run.capture.inspect);
    std::printf("(the per-bin, per-token and inspector tables are in the CSV files: --csv DIR)\n");
}

int commandRun(const Args& args) {
    if (args.positional.empty())
        throw ls::Error("run needs the analyses to run, e.g. 'layerscope-cli run cossim,saturation --model ...'");
    ls::LayerRunParams params;
    params.analyses = ls::parseAnalysisList(args.positional);
    params.layer = static_cast<int>(args.integer("layer", 0, 1));
    if (auto r = args.get("ranks")) params.ranks = parseIntList("ranks", *r);
    if (auto r = args.get("hard-ratios")) params.hardRatios = parseRealList("hard-ratios", *r);
    params.postAttentionLens = args.flag("post-attention");
    params.inspectWindow = static_cast<int>(args.integer("inspect-window", 0, 0));
    params.topK = static_cast<int>(args.integer("top-k", 5, 1));
    params.bins = static_cast<int>(args.integer("bins", 60, 1));
    params.specialDrop = args.real("special-drop", 0.1);
    if (auto v = args.get("confidence-thresholds")) params.lossSep.confidenceThresholds = parseRealList("confidence-thresholds", *v);
    if (auto v = args.get("subset-confidences")) params.lossSep.subsetConfidences = parseRealList("subset-confidences", *v);
    params.lossSep.bins = params.bins;
    params.probes = !args.flag("no-probes");
    params.probeLayer = static_cast<int>(args.integer("probe-layer", -1, 0));
    params.probeSampleSize = args.integer("probe-sample", params.probeSampleSize, 1);
    params.probe.seed = static_cast<uint64_t>(args.integer("seed", 0, 0));
    if (auto v = args.get("metric-ranks")) params.metricRanks = parseIntList("metric-ranks", *v);
    params.exit.signal = args.get("signal").value_or(params.exit.signal);
    if (auto v = args.get("layers")) params.exit.layers = parseIntList("layers", *v);
    if (auto v = args.get("thresholds")) params.exit.thresholds = parseRealList("thresholds", *v);
    if (args.get("threshold")) params.exit.threshold = args.real("threshold", 0);
    if (auto v = args.get("layer-thresholds")) params.exit.layerThresholds = parseRealList("layer-thresholds", *v);
    params.subsetTokens = args.integer("subset-tokens", params.subsetTokens, 0);
    params.attribution = !args.flag("no-attribution");
    params.linearize.normalize = ls::parseReluNormalize(args.get("normalize").value_or("count"));
    params.linearize.steps = static_cast<int>(args.integer("steps", params.linearize.steps, 1));
    if (auto v = args.get("protect-layers")) params.linearize.protectLayers = parseIntList("protect-layers", *v);
    if (auto v = args.get("context-lengths")) params.linearize.contextLengths = parseIntList("context-lengths", *v);
    if (auto v = args.get("context-heads")) params.linearize.contextHeads = parseIntList("context-heads", *v);
    const std::optional<std::string> out = args.get("out");
    if (!out && !args.get("csv") && !args.flag("json") && args.flag("quiet"))
        throw ls::Error("--quiet without --out or --csv would throw the results away");

    Inputs in = loadInputs(args);
    params.windows = in.windows;
    params.dataset = in.dataOptions;
    if (auto v = args.get("heads"))
        params.heads = ls::parseHeadList(*v, in.model->config().numLayers, in.model->config().numHeads);
    ls::resolveLayerRunParams(params, in.model->config());  // bad options fail before any work
    const auto windows = ls::makeWindows(static_cast<int64_t>(in.data.tokens.size()), in.data.documentStarts, in.windows);
    const ls::WindowSummary summary = ls::summarizeWindows(windows, in.data.documentStarts);

    ls::Progress progress;
    g_progress = &progress;
    std::signal(SIGINT, onInterrupt);
    std::signal(SIGTERM, onInterrupt);
    ProgressPrinter printer(progress, summary.scoredTokens, !args.flag("json"));
    const ls::LayerRun run =
        ls::runLayerAnalyses(*in.model, in.data, in.tokenizer ? &*in.tokenizer : nullptr, params, progress);
    printer.stop();
    // Ctrl-C: a head-ablation scan keeps the windows it finished, marked partial; anything
    // else writes nothing.
    if (progress.isCanceled() && run.info.complete) throw ls::Canceled();
    if (out) ls::writeRunFile(*out, run);
    reportRun(run, args);
    if (!run.info.complete) {
        std::fprintf(stderr, "\ninterrupted: the scan's finished windows were kept, marked partial\n");
        return 130;
    }
    if (out && !args.flag("json")) std::printf("run file: %s\n", out->c_str());
    return 0;
}

int commandShow(const Args& args) {
    if (args.positional.empty()) throw ls::Error("show needs a run file: 'layerscope-cli show RUN.h5'");
    reportRun(ls::readRunFile(args.positional), args);
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
    if (argc >= 2 && (std::string(argv[1]) == "eval" || std::string(argv[1]) == "run" || std::string(argv[1]) == "train"))
        ls::tuneThreadPools(argv);  // the commands that compute; may re-execute (common/thread_pools.h)
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
                                         {"json", "time-split"}));
        if (command == "train")
            return commandTrain(parseArgs(argc, argv,
                                          {"data", "out", "tokenizer", "word-vocab", "layout", "dim", "heads",
                                           "ffn-dim", "layers", "seq-len", "samples", "lr", "weight-decay", "batch-size",
                                           "epochs", "patience", "eval-every", "val-fraction", "seed", "threads", "format", "prompt-template",
                                           "prompt-template-no-input", "num-samples"},
                                          {"json", "overwrite"}));
        const std::vector<std::string> windowAndData = {
            "model", "data", "seq-len", "stride", "max-tokens", "max-windows", "documents", "threads", "format",
            "prompt-template", "prompt-template-no-input", "num-samples"};
        if (command == "run") {
            std::vector<std::string> known = windowAndData;
            known.insert(known.end(), {"layer", "ranks", "hard-ratios", "inspect-window", "top-k", "bins",
                                       "special-drop", "out", "csv", "confidence-thresholds", "subset-confidences",
                                       "probe-layer", "probe-sample", "seed", "metric-ranks", "signal", "layers",
                                       "thresholds", "threshold", "layer-thresholds", "subset-tokens", "normalize", "steps",
                                       "protect-layers", "context-lengths", "context-heads", "heads"});
            return commandRun(parseArgs(argc, argv, known,
                                        {"json", "post-attention", "per-token-saturation", "quiet", "no-probes", "no-attribution"},
                                        /*positionalAllowed=*/true));
        }
        if (command == "show")
            return commandShow(parseArgs(argc, argv, {"csv"}, {"json", "per-token-saturation"}, true));
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
