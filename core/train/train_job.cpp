#include "train/train_job.h"

#include "common/error.h"
#include "common/file_io.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/word_level.h"

namespace ls {

namespace fs = std::filesystem;

const std::vector<std::string>& tokenizerFileNames() {
    static const std::vector<std::string> names = {"tokenizer.json", "tokenizer_config.json",
                                                   "special_tokens_map.json", "vocab.json", "merges.txt"};
    return names;
}

TrainData prepareTrainData(const TrainDataSpec& spec) {
    TrainData data;
    data.spec = spec;
    DatasetOptions options = spec.options;
    if (options.format == DataFormat::Auto) options.format = detectFormat(spec.dataPath);

    Dataset dataset;
    if (!spec.tokenizerDir.empty()) {
        const Tokenizer tokenizer = Tokenizer::fromModelDir(spec.tokenizerDir);
        data.vocabSize = tokenizer.vocabSize();
        dataset = loadDataset(spec.dataPath, &tokenizer, data.vocabSize, options);
    } else if (options.format == DataFormat::AlpacaJson || options.format == DataFormat::AlpacaJsonl) {
        throw Error(spec.dataPath, "training on Alpaca records needs a model's tokenizer (word-level "
                                   "vocabularies are built from plain text or WikiText)");
    } else if (!formatNeedsTokenizer(options.format)) {
        throw Error(spec.dataPath, "token ids need the tokenizer of the model they belong to: reuse a model's tokenizer");
    } else {
        std::string text = readFileBytes(spec.dataPath);
        requireValidUtf8(text, spec.dataPath);
        try {
            data.wordLevelJson = buildWordLevelTokenizerJson(text, spec.wordVocab);
        } catch (const Error& e) {
            throw Error(spec.dataPath, e.what());
        }
        text.clear();
        text.shrink_to_fit();
        // Named for messages only: nothing is written before training starts.
        const Tokenizer tokenizer = Tokenizer::fromTokenizerJsonText(data.wordLevelJson, "word-level tokenizer.json");
        data.vocabSize = tokenizer.vocabSize();
        dataset = loadDataset(spec.dataPath, &tokenizer, data.vocabSize, options);
    }
    data.format = dataset.format;
    data.documents = dataset.documents();
    data.tokens = std::move(dataset.tokens);
    return data;
}

void checkOutputFolder(const TrainData& data, const fs::path& outDir, bool overwrite) {
    if (outDir.empty()) throw Error("choose an output folder for the trained model");
    std::error_code ec;
    if (!data.spec.tokenizerDir.empty() && fs::equivalent(outDir, data.spec.tokenizerDir, ec))
        throw Error(outDir, "is the folder whose tokenizer is reused; choose another output folder");
    if (fs::exists(outDir / "config.json") && !overwrite)
        throw Error(outDir, "already holds a model (config.json); choose another folder or replace it");
}

TrainResult trainIntoFolder(const TrainData& data, const TrainParams& params, const fs::path& outDir, bool overwrite,
                            Progress& progress, const std::function<void(const TrainPoint&)>& onPoint) {
    checkOutputFolder(data, outDir, overwrite);
    validateTrainParams(params, data.vocabSize, static_cast<int64_t>(data.tokens.size()));

    progress.setStage("Writing the tokenizer");
    fs::create_directories(outDir);
    // An old model's weights and tokenizer must not mix with the new ones, e.g. when the run
    // is canceled before its first checkpoint.
    std::error_code ec;
    for (const char* name : {"config.json", "model.safetensors"}) fs::remove(outDir / name, ec);
    for (const auto& name : tokenizerFileNames()) fs::remove(outDir / name, ec);
    if (!data.wordLevelJson.empty()) {
        writeFileAtomically(outDir / "tokenizer.json", data.wordLevelJson);
    } else {
        for (const auto& name : tokenizerFileNames())
            if (fs::exists(data.spec.tokenizerDir / name))
                writeFileAtomically(outDir / name, readFileBytes(data.spec.tokenizerDir / name));  // never half a copy
    }
    return trainModel(data.tokens, data.vocabSize, params, outDir, progress, onPoint);
}

}  // namespace ls
