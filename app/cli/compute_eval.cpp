// layerscope-cli eval, run in the compute module: perplexity over a dataset with sliding windows.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "analysis/perplexity.h"
#include "compute_commands.h"
#include "common/error.h"
#include "common/memory.h"
#include "common/phase_times.h"
#include "inputs.h"
#include "progress_printer.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace cli {

namespace {

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

}  // namespace

int computeEval(const Args& args) {
    const bool asJson = args.flag("json");
    ls::PhaseTimes times;
    times.startup = ls::secondsSinceProcessStart();
    const ls::Stopwatch loading;
    const Inputs in = loadInputs(args);
    times.load = loading.seconds();
    // Memory from here on: the weights and what the evaluation adds (while loading, the resident
    // size also counts the checkpoint's pages in the page cache, which the kernel can drop).
    const int64_t afterLoad = ls::residentBytes();
    ls::resetPeakResidentBytes();
    const fs::path& modelDir = in.modelDir;
    const fs::path& dataPath = in.dataPath;
    const ls::Model& model = *in.model;
    const ls::Dataset& data = in.data;
    ls::PerplexityParams params;
    params.windows = in.windows;
    params.timeSplit = args.flag("time-split");

    std::optional<PerTokenCsv> csv;
    if (auto p = args.get("per-token")) csv.emplace(*p);

    ls::Progress& progress = interruptibleProgress();
    // On a terminal only: eval's output is often parsed, and its stderr kept for errors. The
    // scored-token count is only for the printer's tokens/s.
    const bool showProgress = !asJson && isatty(STDERR_FILENO);
    int64_t scoredTokens = 0;
    if (showProgress) {
        const auto windows = ls::makeWindows(static_cast<int64_t>(data.tokens.size()), data.documentStarts, params.windows);
        scoredTokens = ls::summarizeWindows(windows, data.documentStarts).scoredTokens;
    }
    ProgressPrinter printer(progress, scoredTokens, showProgress);
    auto onToken = [&](const ls::TokenLoss& t) {
        if (csv) csv->write(t);
    };
    const ls::PerplexityResult r = ls::runPerplexity(model, data, params, progress, onToken);
    printer.finish();
    times.capture = r.seconds;
    const ls::Stopwatch writing;
    if (csv) csv->commit();
    times.writing = writing.seconds();

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
                  {"tokens_per_second", r.tokensPerSecond},
                  {"weights_in_memory", model.weightsInMemory()},
                  {"resident_after_load_bytes", afterLoad},
                  {"peak_memory_bytes", ls::peakResidentBytes()}};
        for (const auto& [phase, seconds] : times.named()) j["phases"][phase] = seconds;
        if (params.timeSplit)
            j["time_split"] = {{"embedding", r.split.embedding}, {"attention", r.split.attention},
                               {"mlp", r.split.mlp}, {"head_loss", r.split.headLoss}};
        std::cout << j.dump(2) << "\n";
        return 0;
    }
    std::printf("model        %s (%s)\n", modelDir.c_str(), model.architectureName().c_str());
    std::printf("data         %s (%s, %zu tokens, %lld documents)\n", dataPath.c_str(), ls::dataFormatName(data.format),
                data.tokens.size(), static_cast<long long>(data.documents()));
    std::printf("windows      %lld x seq_len %d, stride %d\n", static_cast<long long>(r.windows), params.windows.seqLen,
                params.windows.stride);
    std::printf("scored       %lld tokens\n", static_cast<long long>(r.tokens));
    std::printf("mean loss    %.6f nats\n", r.meanLoss);
    std::printf("perplexity   %.4f\n", r.ppl);
    std::printf("time         %.2f s (%.1f tokens/s); %s\n", r.seconds, r.tokensPerSecond, times.text().c_str());
    std::printf("memory       peak %s evaluating, %s after loading; weights %s\n",
                ls::formatBytes(ls::peakResidentBytes()).c_str(), ls::formatBytes(afterLoad).c_str(),
                model.weightsInMemory().c_str());
    if (params.timeSplit) {
        const ls::EvalTimeSplit& t = r.split;
        const double total = t.embedding + t.attention + t.mlp + t.headLoss;
        std::printf(
            "time split   attention %.2f s (%.0f%%), MLP %.2f s (%.0f%%), head + loss %.2f s (%.0f%%), embedding %.2f s\n",
            t.attention, 100 * t.attention / total, t.mlp, 100 * t.mlp / total, t.headLoss, 100 * t.headLoss / total,
            t.embedding);
    }
    return 0;
}

}  // namespace cli
