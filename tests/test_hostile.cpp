// Every hostile input in docs/hostile-inputs.md, tried for real: each case builds its file(s)
// in a fresh folder (from the demo model, tokenizer and corpus in resources/demo), calls the
// loader a user's file reaches, and must get an ls::Error. The table of inputs and the exact
// messages is generated here and compared with docs/hostile-inputs.md, so the document
// cannot go stale: after changing a message, regenerate it with
//   LAYERSCOPE_UPDATE_DOCS=1 build/tests/test_hostile
// Paths in messages are shown relative to the case's folder ("DIR/...").
#include <QtTest>

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "analysis/tuned_lens.h"
#include "common/error.h"
#include "data/dataset.h"
#include "data/prompts.h"
#include "io/hdf5_file.h"
#include "io/run_file.h"
#include "model/model.h"
#include "model/model_folder.h"
#include "model/safetensors.h"
#include "tokenizer/tokenizer.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const fs::path kDemo = fs::path(LAYERSCOPE_SOURCE_DIR) / "resources/demo";
const fs::path kDoc = fs::path(LAYERSCOPE_SOURCE_DIR) / "docs/hostile-inputs.md";

std::string readBytes(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
void writeBytes(const fs::path& p, const std::string& bytes) {
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes;
}

// ---- the demo model folder, and edits of it --------------------------------------------

void copyDemoModel(const fs::path& dir) {
    fs::create_directories(dir);
    for (const char* f : {"config.json", "model.safetensors", "tokenizer.json"})
        fs::copy_file(kDemo / "model" / f, dir / f);
}

void editConfig(const fs::path& dir, const std::function<void(json&)>& edit) {
    json j = json::parse(readBytes(dir / "config.json"));
    edit(j);
    writeBytes(dir / "config.json", j.dump(2));
}

// model.safetensors as (header JSON, data section); written back with a header padded to 8.
struct Safetensors {
    json header;
    std::string data;
};
Safetensors readSt(const fs::path& dir) {
    const std::string b = readBytes(dir / "model.safetensors");
    uint64_t n = 0;
    std::memcpy(&n, b.data(), 8);
    return {json::parse(b.substr(8, n)), b.substr(8 + n)};
}
void writeSt(const fs::path& dir, const Safetensors& st) {
    std::string h = st.header.dump();
    h.append((8 - h.size() % 8) % 8, ' ');
    std::string out(8, '\0');
    const uint64_t n = h.size();
    std::memcpy(out.data(), &n, 8);
    writeBytes(dir / "model.safetensors", out + h + st.data);
}
void editSt(const fs::path& dir, const std::function<void(Safetensors&)>& edit) {
    Safetensors st = readSt(dir);
    edit(st);
    writeSt(dir, st);
}
// Sets element i of an F32 tensor's data.
void setF32(Safetensors& st, const std::string& tensor, size_t i, float value) {
    const size_t at = st.header[tensor]["data_offsets"][0].get<size_t>() + 4 * i;
    std::memcpy(st.data.data() + at, &value, 4);
}

// ---- the loaders -----------------------------------------------------------------------

void loadModel(const fs::path& dir) { ls::Model::load(dir); }

const ls::Tokenizer& demoTokenizer() {
    static const ls::Tokenizer tok = ls::Tokenizer::fromModelDir(kDemo / "model");
    return tok;
}
void loadData(const fs::path& file, ls::DataFormat format = ls::DataFormat::Auto) {
    ls::DatasetOptions options;
    options.format = format;
    ls::loadDataset(file, &demoTokenizer(), demoTokenizer().vocabSize(), options);
}

std::string npy(const std::string& descr, const std::string& shape, const std::string& data) {
    std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
    header.append(63 - (10 + header.size()) % 64, ' ');
    header += '\n';
    std::string out = "\x93NUMPY\x01";
    out += '\0';
    out += char(header.size() & 0xff);
    out += char(header.size() >> 8);
    return out + header + data;
}
std::string int32s(std::initializer_list<int32_t> values) {
    std::string s;
    for (int32_t v : values) s.append(reinterpret_cast<const char*>(&v), 4);
    return s;
}

// A small run file written by the real writer, with fixed contents so that its bytes (and
// so the sizes and checksums in the messages) are the same on every machine.
const std::string& runFileBytes() {
    static const std::string bytes = [] {
        ls::LayerRun run;
        run.info.layerscopeVersion = "0.1.0";
        run.info.modelPath = "models/demo";
        run.info.modelSummary = "GPT-2, 4 layers, 4 heads, dim 64, vocab 77";
        run.info.datasetPath = "eval.txt";
        run.info.datasetFormat = "text";
        run.info.startedAt = run.info.finishedAt = "2026-12-02T00:00:00Z";
        run.params.analyses = {"cossim"};
        const fs::path file = fs::temp_directory_path() / ("layerscope-hostile-" + std::to_string(::getpid()) + ".h5");
        ls::writeRunFile(file, run);
        std::string b = readBytes(file);
        fs::remove(file);
        return b;
    }();
    return bytes;
}

// Runs f as if the machine had `bytes` of memory available (common/memory.h's override).
void withAvailableMemory(const char* bytes, const std::function<void()>& f) {
    ::setenv("LAYERSCOPE_AVAILABLE_MEMORY", bytes, 1);
    struct Unset {
        ~Unset() { ::unsetenv("LAYERSCOPE_AVAILABLE_MEMORY"); }
    } unset;
    f();
}

// ---- a tuned lens for the demo model, and edits of it ------------------------------------

// The model hash the demo's lens names (fixed, so that messages are the same everywhere), and
// the demo's config.
const char* kLensModelHash = "0123456789abcdef";
const ls::ModelConfig& demoConfig() {
    static const ls::ModelConfig config = ls::Model::load(kDemo / "model").config();
    return config;
}

// An identity lens of the demo (stage block, layers 0..L-1), its tensors edited by editTensors
// (name -> (dtype, shape, bytes)) and its JSON by editInfo.
struct LensTensor {
    std::string dtype;
    std::vector<int64_t> shape;
    std::string bytes;
};
void writeLens(const fs::path& dir, const std::function<void(std::map<std::string, LensTensor>&)>& editTensors,
               const std::function<void(json&)>& editInfo) {
    const int L = demoConfig().numLayers, D = demoConfig().hiddenSize;
    std::map<std::string, LensTensor> tensors;
    for (int l = 0; l < L; ++l) {
        std::vector<float> a(size_t(D) * D, 0.0f), b(size_t(D), 0.0f);
        for (int i = 0; i < D; ++i) a[size_t(i) * D + i] = 1.0f;
        tensors["A.block." + std::to_string(l)] = {"F32", {D, D}, std::string(reinterpret_cast<const char*>(a.data()), a.size() * 4)};
        tensors["b.block." + std::to_string(l)] = {"F32", {D}, std::string(reinterpret_cast<const char*>(b.data()), b.size() * 4)};
    }
    editTensors(tensors);
    std::vector<ls::StTensorToWrite> out;
    for (const auto& [name, t] : tensors) out.push_back({name, t.dtype, t.shape, t.bytes.data(), t.bytes.size()});
    fs::create_directories(dir);
    ls::writeSafetensors(dir / ls::kTunedLensWeightsFile, out);
    ls::TunedLensInfo info;
    info.modelHash = kLensModelHash;
    info.layers = L;
    info.hiddenSize = D;
    info.stages = {"block"};
    json j = ls::tunedLensInfoJson(info);
    editInfo(j);
    writeBytes(dir / ls::kTunedLensInfoFile, j.dump(2));
}

void loadLens(const fs::path& dir) { ls::TunedLens::load(dir / "lens", demoConfig(), kLensModelHash); }

// ---- the cases ---------------------------------------------------------------------------

struct Case {
    std::string group;  // heading in the document
    std::string input;  // what the file is
    std::function<void(const fs::path& dir)> make;  // writes the input into dir
    std::function<void(const fs::path& dir)> load;  // calls the loader; must throw ls::Error
};

std::vector<Case> cases() {
    std::vector<Case> c;
    const std::string M = "Model folders (config.json, model.safetensors)";
    auto model = [&](std::string input, std::function<void(const fs::path&)> edit) {
        c.push_back({M, std::move(input), [edit](const fs::path& d) { copyDemoModel(d); edit(d); }, loadModel});
    };
    auto config = [&](std::string input, std::function<void(json&)> edit) {
        model(std::move(input), [edit](const fs::path& d) { editConfig(d, edit); });
    };
    auto st = [&](std::string input, std::function<void(Safetensors&)> edit) {
        model(std::move(input), [edit](const fs::path& d) { editSt(d, edit); });
    };
    auto stBytes = [&](std::string input, std::function<std::string(std::string)> edit) {
        model(std::move(input), [edit](const fs::path& d) {
            writeBytes(d / "model.safetensors", edit(readBytes(d / "model.safetensors")));
        });
    };
    model("no config.json", [](const fs::path& d) { fs::remove(d / "config.json"); });
    model("no model.safetensors", [](const fs::path& d) { fs::remove(d / "model.safetensors"); });
    model("config.json is not JSON", [](const fs::path& d) { writeBytes(d / "config.json", "{\"model_type\": \"gpt2\",,}"); });
    model("config.json nested 100,000 arrays deep",
          [](const fs::path& d) { writeBytes(d / "config.json", std::string(100000, '[') + std::string(100000, ']')); });
    model("config.json of 64 MB (one huge string)", [](const fs::path& d) {
        writeBytes(d / "config.json", "{\"model_type\": \"gpt2\", \"junk\": \"" + std::string(64 << 20, 'x') + "\"}");
    });
    config("unknown model_type \"bert\"", [](json& j) { j["model_type"] = "bert"; });
    config("zero attention heads (n_head 0)", [](json& j) { j["n_head"] = 0; });
    config("head count not dividing the hidden size (n_head 5, n_embd 64)", [](json& j) { j["n_head"] = 5; });
    config("negative layer count (n_layer -2)", [](json& j) { j["n_layer"] = -2; });
    config("hidden size 1e12 (n_embd 1000000000000)", [](json& j) { j["n_embd"] = 1000000000000LL; });
    config("vocab_size as a float beyond int (5e20)", [](json& j) { j["vocab_size"] = 5e20; });
    config("Llama: 9 heads over 4 KV heads",
           [](json& j) { j = {{"model_type", "llama"}, {"vocab_size", 77}, {"hidden_size", 72}, {"intermediate_size", 128},
                              {"num_hidden_layers", 2}, {"num_attention_heads", 9}, {"num_key_value_heads", 4}}; });
    stBytes("model.safetensors cut in half", [](std::string b) { return b.substr(0, b.size() / 2); });
    stBytes("model.safetensors of 5 bytes", [](std::string b) { return b.substr(0, 5); });
    stBytes("model.safetensors with 1 MB of trailing bytes", [](std::string b) { return b + std::string(1 << 20, '\0'); });
    stBytes("header length 2^63 (more than the file)", [](std::string b) {
        const uint64_t n = uint64_t(1) << 63;
        std::memcpy(b.data(), &n, 8);
        return b;
    });
    stBytes("header that is not JSON", [](std::string b) {
        std::memcpy(b.data() + 8, "{{{{", 4);
        return b;
    });
    st("a tensor's offsets past the end of the file",
       [](Safetensors& s) { s.header["wpe.weight"]["data_offsets"] = {19712, 9000000}; });
    st("two tensors overlapping", [](Safetensors& s) { s.header["wpe.weight"]["data_offsets"] = {0, 32768}; });
    st("absurd shape (2^40 x 2^40)", [](Safetensors& s) {
        s.header["wte.weight"]["shape"] = {int64_t(1) << 40, int64_t(1) << 40};
    });
    st("dtype and byte size disagreeing (F16 over F32 bytes)", [](Safetensors& s) { s.header["wte.weight"]["dtype"] = "F16"; });
    st("unknown dtype \"F8_E4M3\"", [](Safetensors& s) { s.header["h.0.ln_1.weight"]["dtype"] = "F8_E4M3"; });
    st("a tensor missing (h.2.mlp.c_fc.weight)", [](Safetensors& s) {
        // Its entry and its bytes go; the tensors after it move up.
        const auto begin = s.header["h.2.mlp.c_fc.weight"]["data_offsets"][0].get<uint64_t>();
        const auto end = s.header["h.2.mlp.c_fc.weight"]["data_offsets"][1].get<uint64_t>();
        s.header.erase("h.2.mlp.c_fc.weight");
        s.data.erase(begin, end - begin);
        for (auto& [name, t] : s.header.items())
            if (name != "__metadata__" && t["data_offsets"][0].get<uint64_t>() >= end)
                t["data_offsets"] = {t["data_offsets"][0].get<uint64_t>() - (end - begin),
                                     t["data_offsets"][1].get<uint64_t>() - (end - begin)};
    });
    st("a tensor of the wrong shape (wpe 64 x 128)", [](Safetensors& s) { s.header["wpe.weight"]["shape"] = {64, 128}; });
    st("a NaN weight", [](Safetensors& s) { setF32(s, "h.1.attn.c_attn.weight", 100, std::nanf("")); });
    st("an infinite weight", [](Safetensors& s) {
        setF32(s, "h.3.mlp.c_proj.bias", 7, std::numeric_limits<float>::infinity());
    });
    c.push_back({M, "a model larger than the memory available (forced to 500 kB here)", copyDemoModel,
                 [](const fs::path& d) { withAvailableMemory("500000", [&] { loadModel(d); }); }});

    const std::string T = "Tokenizers (tokenizer.json, vocab.json + merges.txt)";
    auto tokenizer = [&](std::string input, std::function<void(const fs::path&)> make) {
        c.push_back({T, std::move(input), make, [](const fs::path& d) { ls::Tokenizer::fromModelDir(d); }});
    };
    tokenizer("no tokenizer files", [](const fs::path& d) { fs::create_directories(d); });
    tokenizer("tokenizer.json is not JSON", [](const fs::path& d) { writeBytes(d / "tokenizer.json", "{\"model\": "); });
    tokenizer("tokenizer.json with an unknown model type", [](const fs::path& d) {
        writeBytes(d / "tokenizer.json", R"({"model": {"type": "Unigram", "vocab": []}})");
    });
    auto vocabMerges = [&](std::string input, std::string vocab, std::string merges) {
        tokenizer(std::move(input), [vocab, merges](const fs::path& d) {
            writeBytes(d / "vocab.json", vocab);
            writeBytes(d / "merges.txt", "#version: 0.2\n" + merges);
        });
    };
    vocabMerges("a merge of tokens not in the vocabulary", R"({"a": 0, "b": 1})", "a c\n");
    vocabMerges("vocab.json with a negative id", R"({"a": 0, "b": -7})", "");
    vocabMerges("vocab.json of 2 tokens, one with id 55,555,555", R"({"a": 0, "b": 55555555})", "");
    vocabMerges("vocab.json with an id of 1e30", R"({"a": 0, "b": 1e30})", "");

    const std::string D = "Datasets (text, WikiText, Alpaca JSON / JSONL, .npy, .bin)";
    auto data = [&](std::string input, std::string name, std::string bytes, ls::DataFormat format = ls::DataFormat::Auto) {
        c.push_back({D, std::move(input), [name, bytes](const fs::path& d) { writeBytes(d / name, bytes); },
                     [name, format](const fs::path& d) { loadData(d / name, format); }});
    };
    data("an empty file", "empty.txt", "");
    data("text of only whitespace", "blank.txt", " \n\n\t \n");
    data("text with invalid UTF-8 (a lone continuation byte)", "bad.txt", "copy kalo\n\x80 mipe\n");
    data("text with a UTF-16 surrogate encoded in UTF-8", "surrogate.txt", "say \xed\xa0\x80 .\n");
    data("text cut inside a 3-byte character", "cut.txt", "count one \xe2\x82");
    data("Alpaca JSON that is an object, not a list", "a.json", R"({"instruction": "x", "output": "y"})",
         ls::DataFormat::AlpacaJson);
    data("Alpaca JSON record without \"output\"", "a.json", R"([{"instruction": "x"}])", ls::DataFormat::AlpacaJson);
    data("Alpaca JSON with a number where text belongs", "a.json", R"([{"instruction": 5, "output": "y"}])",
         ls::DataFormat::AlpacaJson);
    data("Alpaca JSON nested 100,000 arrays deep", "a.json", std::string(100000, '[') + std::string(100000, ']'),
         ls::DataFormat::AlpacaJson);
    data("JSON Lines with a broken second line", "a.jsonl", "{\"instruction\": \"x\", \"output\": \"y\"}\n{\"instruction\": \n",
         ls::DataFormat::AlpacaJsonl);
    data("JSON Lines with a number too large for a double", "a.jsonl", "{\"instruction\": \"x\", \"output\": 1e999}\n",
         ls::DataFormat::AlpacaJsonl);
    data(".npy of token ids beyond the vocabulary (77)", "ids.npy", npy("<i4", "(3,)", int32s({5, 77, 3})));
    data(".npy of negative ids", "ids.npy", npy("<i4", "(2,)", int32s({5, -1})));
    data(".npy of floats", "ids.npy", npy("<f4", "(1,)", int32s({0})));
    data(".npy big-endian", "ids.npy", npy(">i4", "(1,)", int32s({0})));
    data(".npy of rank 2", "ids.npy", npy("<i4", "(1, 2)", int32s({1, 2})));
    data(".npy with data cut short", "ids.npy", npy("<i4", "(4,)", int32s({1, 2})));
    data(".npy claiming 2^62 values", "ids.npy", npy("<i4", "(4611686018427387904,)", int32s({1})));
    data(".npy with a header length past the end", "ids.npy", std::string("\x93NUMPY\x01\x00\xff\xff{'descr'", 18));
    data(".bin of an odd number of bytes", "ids.bin", "\x01\x00\x02");
    data(".bin of ids beyond the vocabulary", "ids.bin", std::string("\x01\x00\xff\xff", 4));
    c.push_back({D, "a dataset larger than the memory available (forced to 200 kB here)",
                 [](const fs::path& d) { fs::copy_file(kDemo / "eval.txt", d / "eval.txt"); },
                 [](const fs::path& d) { withAvailableMemory("200000", [&] { loadData(d / "eval.txt"); }); }});

    const std::string TL = "Tuned lens folders (--lens tuned:DIR)";
    auto lens = [&](std::string input, std::function<void(std::map<std::string, LensTensor>&)> tensors,
                    std::function<void(json&)> info) {
        c.push_back({TL, std::move(input), [tensors, info](const fs::path& d) { writeLens(d / "lens", tensors, info); }, loadLens});
    };
    auto keep = [](auto&) {};
    c.push_back({TL, "no such folder", [](const fs::path&) {}, loadLens});
    lens("no tuned_lens.json", keep, keep);
    c.back().make = [](const fs::path& d) {
        writeLens(d / "lens", [](auto&) {}, [](json&) {});
        fs::remove(d / "lens" / ls::kTunedLensInfoFile);
    };
    lens("tuned_lens.json is not JSON", keep, keep);
    c.back().make = [](const fs::path& d) {
        writeLens(d / "lens", [](auto&) {}, [](json&) {});
        writeBytes(d / "lens" / ls::kTunedLensInfoFile, "{\"model_hash\": ");
    };
    lens("a lens of another model (another model_hash)", keep, [](json& j) { j["model_hash"] = "fedcba9876543210"; });
    lens("a lens for 6 layers (the model has 4)", keep, [](json& j) { j["layers"] = 6; });
    lens("an unknown stage \"mlp\"", keep, [](json& j) { j["stages"] = {"block", "mlp"}; });
    lens("a layer's A missing", [](auto& t) { t.erase("A.block.2"); }, keep);
    lens("A of the wrong shape (D x D+1)", [](auto& t) {
        LensTensor& a = t["A.block.1"];
        a.shape[1] += 1;
        a.bytes.append(size_t(a.shape[0]) * 4, '\0');
    }, keep);
    lens("b stored as F16", [](auto& t) {
        LensTensor& b = t["b.block.0"];
        b.dtype = "F16";
        b.bytes.resize(b.bytes.size() / 2);
    }, keep);
    lens("NaN in b", [](auto& t) {
        const float nan = std::numeric_limits<float>::quiet_NaN();
        std::memcpy(t["b.block.3"].bytes.data(), &nan, 4);
    }, keep);
    lens("tuned_lens.safetensors truncated", keep, keep);
    c.back().make = [](const fs::path& d) {
        writeLens(d / "lens", [](auto&) {}, [](json&) {});
        const std::string b = readBytes(d / "lens" / ls::kTunedLensWeightsFile);
        writeBytes(d / "lens" / ls::kTunedLensWeightsFile, b.substr(0, b.size() - 100));
    };

    const std::string PP = "Prompt pairs (patch --pairs)";
    auto pairs = [&](std::string input, std::string bytes) {
        c.push_back({PP, std::move(input), [bytes](const fs::path& d) { writeBytes(d / "pairs.jsonl", bytes); },
                     [](const fs::path& d) { ls::loadPromptPairs(d / "pairs.jsonl", &demoTokenizer(), demoTokenizer().vocabSize()); }});
    };
    c.push_back({PP, "no such file", [](const fs::path&) {},
                 [](const fs::path& d) { ls::loadPromptPairs(d / "pairs.jsonl", &demoTokenizer(), demoTokenizer().vocabSize()); }});
    pairs("an empty file", "");
    pairs("invalid UTF-8", "{\"clean\": \"copy \xff\"}\n");
    pairs("a line that is not JSON", "{\"clean\": [1, 2], \"corrupted\": [1, 3], \"answer\": 4, \"wrong\": 5}\nclean: copy\n");
    pairs("a JSON array, not an object", "[1, 2, 3]\n");
    pairs("no \"corrupted\"", "{\"clean\": [1, 2], \"answer\": 4, \"wrong\": 5}\n");
    pairs("clean and corrupted of different lengths", "{\"clean\": \"copy sami sape\", \"corrupted\": \"copy sami\", \"answer\": \"tope\", \"wrong\": \"runu\"}\n");
    pairs("a second pair of another length",
          "{\"clean\": [1, 2, 3], \"corrupted\": [1, 2, 4], \"answer\": 4, \"wrong\": 5}\n"
          "{\"clean\": [1, 2], \"corrupted\": [1, 3], \"answer\": 4, \"wrong\": 5}\n");
    pairs("an answer of two tokens", "{\"clean\": \"copy sami\", \"corrupted\": \"copy sape\", \"answer\": \"tope runu\", \"wrong\": \"sami\"}\n");
    pairs("answer and wrong the same token", "{\"clean\": [1, 2], \"corrupted\": [1, 3], \"answer\": 4, \"wrong\": 4}\n");
    pairs("a token id beyond the vocabulary", "{\"clean\": [1, 2], \"corrupted\": [1, 3000], \"answer\": 4, \"wrong\": 5}\n");
    pairs("a negative answer id", "{\"clean\": [1, 2], \"corrupted\": [1, 3], \"answer\": -4, \"wrong\": 5}\n");

    const std::string R = "Run files (.h5)";
    auto run = [&](std::string input, std::function<std::string(std::string)> edit) {
        c.push_back({R, std::move(input), [edit](const fs::path& d) { writeBytes(d / "run.h5", edit(runFileBytes())); },
                     [](const fs::path& d) { ls::readRunFile(d / "run.h5"); }});
    };
    run("an empty file", [](std::string) { return std::string(); });
    run("text, not HDF5", [](std::string) { return std::string("just some notes\n"); });
    run("truncated to half", [](std::string b) { return b.substr(0, b.size() / 2); });
    run("truncated inside its header", [](std::string b) { return b.substr(0, 100); });
    run("one bit flipped in the middle", [](std::string b) {
        b[b.size() / 2] = char(b[b.size() / 2] ^ 0x04);
        return b;
    });
    run("bytes appended", [](std::string b) { return b + "more"; });
    run("written by a newer LayerScope (header format 2)", [](std::string b) {
        b.replace(b.find("format 1"), 8, "format 2");
        return b;
    });
    // The same HDF5 content without LayerScope's user block is still valid HDF5.
    run("an HDF5 file without LayerScope's header (another program's)", [](std::string b) { return b.substr(512); });
    return c;
}

std::string markdownCell(std::string s) {
    for (size_t at = 0; (at = s.find('|', at)) != std::string::npos; at += 2) s.replace(at, 1, "\\|");
    for (char& ch : s)
        if (ch == '\n') ch = ' ';
    return s;
}

}  // namespace

class TestHostile : public QObject {
    Q_OBJECT
private slots:
    void everyCaseGetsItsDocumentedError();
};

void TestHostile::everyCaseGetsItsDocumentedError() {
    QTemporaryDir tmp;
    std::string doc =
        "# What LayerScope says to hostile inputs\n\n"
        "Generated by `tests/test_hostile.cpp`, which tries every input below and fails when a message\n"
        "differs from this page (`LAYERSCOPE_UPDATE_DOCS=1 build/tests/test_hostile` rewrites it).\n"
        "Each input is a small edit of the demo model, tokenizer or corpus (`resources/demo`) or of a\n"
        "small run file. `DIR` is the folder holding the input. The loaders refuse each one\n"
        "with this message before any computation starts; the command-line tool prints it after\n"
        "`error: ` and exits with status 2, and the GUI shows it in the status bar and a dialog.\n"
        "Fuzzing (`scripts/fuzz.sh`) covers the same loaders with random inputs.\n";
    std::string group;
    int n = 0;
    for (const Case& c : cases()) {
        const fs::path dir = fs::path(tmp.path().toStdString()) / ("case" + std::to_string(n++));
        if (c.group != group) {
            group = c.group;
            doc += "\n## " + group + "\n\n| Input | Message |\n|---|---|\n";
        }
        fs::create_directories(dir);
        c.make(dir);
        std::string message;
        try {
            c.load(dir);
        } catch (const ls::Error& e) {
            message = e.what();
        }
        QVERIFY2(!message.empty(), qPrintable(QString::fromStdString("accepted without an error: " + c.input)));
        for (size_t at; (at = message.find(dir.string())) != std::string::npos;) message.replace(at, dir.string().size(), "DIR");
        doc += "| " + markdownCell(c.input) + " | " + markdownCell(message) + " |\n";
    }
    if (std::getenv("LAYERSCOPE_UPDATE_DOCS")) {
        writeBytes(kDoc, doc);
        qInfo("wrote %s", kDoc.c_str());
    }
    const std::string onDisk = readBytes(kDoc);
    if (onDisk != doc) {
        writeBytes(fs::path(tmp.path().toStdString()).parent_path() / "hostile-inputs.generated.md", doc);
        QFAIL(qPrintable(QString::fromStdString(
            kDoc.string() + " differs from what the loaders say now (the new text is in " +
            (fs::path(tmp.path().toStdString()).parent_path() / "hostile-inputs.generated.md").string() +
            "); check the change and regenerate it with LAYERSCOPE_UPDATE_DOCS=1 build/tests/test_hostile")));
    }
}

QTEST_GUILESS_MAIN(TestHostile)
#include "test_hostile.moc"
