#pragma once
// A training run as the CLI and the GUI start it: choose the vocabulary (a word-level one
// built from the corpus, or a model folder's tokenizer), read and tokenize the data before
// anything is written, check the output folder, then write the tokenizer and train.
// Plain C++; the GUI runs these in a worker and the tests call them directly.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "common/progress.h"
#include "data/dataset.h"
#include "train/trainer.h"

namespace ls {

// Where the training tokens come from.
struct TrainDataSpec {
    std::filesystem::path dataPath;
    DatasetOptions options;  // format Auto: detected
    // Non-empty: reuse this model folder's tokenizer. Empty: a word-level vocabulary of the
    // wordVocab most frequent words of the corpus (plain text and WikiText only).
    std::filesystem::path tokenizerDir;
    int wordVocab = 4096;

    bool operator==(const TrainDataSpec& o) const {
        return dataPath == o.dataPath && options == o.options && tokenizerDir == o.tokenizerDir &&
               wordVocab == o.wordVocab;
    }
    bool operator!=(const TrainDataSpec& o) const { return !(*this == o); }
};

// The tokens and vocabulary, ready before anything is written.
struct TrainData {
    TrainDataSpec spec;
    DataFormat format = DataFormat::Auto;  // as read
    std::vector<int32_t> tokens;           // (N,) all documents back to back
    int64_t documents = 0;
    int vocabSize = 0;
    std::string wordLevelJson;             // word-level: the tokenizer.json to write
};

// Reads and tokenizes the data. Throws ls::Error naming the file or the problem (no words,
// Alpaca or token ids without a model's tokenizer, ids outside its vocabulary).
TrainData prepareTrainData(const TrainDataSpec& spec);

// Throws ls::Error if outDir cannot take the trained model: it already holds one
// (config.json) and overwrite is false, or it is the folder whose tokenizer is reused.
void checkOutputFolder(const TrainData& data, const std::filesystem::path& outDir, bool overwrite);

// Checks the folder and the options (validateTrainParams), clears an old model's files when
// overwriting, writes the tokenizer into outDir and trains. Cancel through progress: the
// result then has canceled = true and keeps the best checkpoint so far (if any).
// onPoint runs on the calling thread.
TrainResult trainIntoFolder(const TrainData& data, const TrainParams& params, const std::filesystem::path& outDir,
                            bool overwrite, Progress& progress,
                            const std::function<void(const TrainPoint&)>& onPoint = {});

// The files that make up a model folder's tokenizer.
const std::vector<std::string>& tokenizerFileNames();

}  // namespace ls
