#pragma once
// Datasets as a token-id stream. Plain C++: no Qt, no LibTorch.
//   - raw UTF-8 text (.txt, WikiText .raw/.tokens): tokenized with the model's tokenizer;
//   - token ids: .npy, 1-D, int32 / int64 / uint16 (little-endian, C order).
// Every failure throws ls::Error naming the file and the problem.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace ls {

class Tokenizer;

enum class DataFormat { Auto, Text, Npy };

struct Dataset {
    std::filesystem::path path;
    DataFormat format = DataFormat::Auto;  // the format actually read
    std::vector<int32_t> tokens;           // (N,) token ids, the whole stream
};

// Reads a dataset. Text needs a tokenizer (it is encoded with addSpecialTokens = true,
// so Llama-family streams start with BOS as the reference tokenizer call does).
// Errors: missing/unreadable file, invalid UTF-8 (with byte offset), empty dataset,
// bad .npy header/dtype/rank, token ids outside [0, vocabSize) when vocabSize > 0.
Dataset loadDataset(const std::filesystem::path& path, const Tokenizer* tokenizer,
                    int32_t vocabSize, DataFormat format = DataFormat::Auto);

// Format from the file's content (".npy" magic) and name.
DataFormat detectFormat(const std::filesystem::path& path);

// Reads a 1-D integer .npy file (int32, int64, uint16; also int16/uint32/uint8 if values fit).
std::vector<int32_t> readNpyTokenIds(const std::filesystem::path& path);

// Writes a 1-D int32 .npy file (used by tests and tools).
void writeNpyInt32(const std::filesystem::path& path, const std::vector<int32_t>& values);

// Reads a whole file as bytes; throws ls::Error if missing or unreadable.
std::string readFileBytes(const std::filesystem::path& path);

// Throws ls::Error(path, "...invalid UTF-8 at byte N...") if text is not valid UTF-8.
void requireValidUtf8(std::string_view text, const std::filesystem::path& path);

}  // namespace ls
