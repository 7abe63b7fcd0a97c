// Loading tokenizer files and running the encode / decode pipelines, in the order of the
// Rust `tokenizers` library: added tokens -> normalizer -> pre-tokenizer -> model (BPE or
// WordLevel) -> post-processor; and ids -> tokens -> decoder.
#include "tokenizer/tokenizer.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/json_integer.h"
#include "common/utf8.h"
#include "tokenizer/added_tokens.h"
#include "tokenizer/bpe.h"
#include "tokenizer/decoder.h"
#include "tokenizer/model.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/pretokenizer.h"

namespace ls {

using nlohmann::json;
namespace fs = std::filesystem;

struct Tokenizer::Impl {
    fs::path source;
    std::unique_ptr<tok::Normalizer> normalizer;
    std::unique_ptr<tok::PreTokenizer> preTokenizer;
    std::unique_ptr<tok::Model> model;
    tok::AddedVocabulary added;
    // The post-processor, for one sequence: ids put before and after it.
    std::vector<int32_t> before, after;
    std::unique_ptr<tok::Decoder> decoder;
    std::optional<int32_t> bos, eos;

    std::optional<int32_t> idOf(std::string_view token) const {
        if (const tok::AddedToken* t = added.byContent(token)) return t->id;
        return model->vocabulary().id(token);
    }
    const std::string* tokenOf(int32_t id) const {
        if (const tok::AddedToken* t = added.byId(id)) return &t->content;
        return model->vocabulary().token(id);
    }
};

namespace {

std::string readFile(const fs::path& file) {
    std::error_code ec;
    if (!fs::exists(file, ec)) throw Error(file, "file not found");
    if (fs::is_directory(file, ec)) throw Error(file, "is a folder, expected a file");
    std::ifstream in(file, std::ios::binary);
    if (!in) throw Error(file, std::string("cannot open: ") + std::strerror(errno));
    std::ostringstream content;
    content << in.rdbuf();
    if (in.bad()) throw Error(file, "read error");
    return content.str();
}

json readJson(const fs::path& file) {
    const std::string text = readFile(file);
    try {
        return json::parse(text);
    } catch (const json::exception& e) {
        throw Error(file, std::string("invalid JSON: ") + e.what());
    }
}

std::optional<std::string> optionalString(const json& object, const char* key) {
    const auto it = object.find(key);
    if (it == object.end() || it->is_null()) return std::nullopt;
    return it->get<std::string>();
}

std::unordered_map<std::string, int32_t> parseVocab(const json& vocab) {
    if (!vocab.is_object()) throw std::runtime_error("the vocabulary must be a JSON object of token -> id");
    std::unordered_map<std::string, int32_t> out;
    out.reserve(vocab.size());
    for (auto it = vocab.begin(); it != vocab.end(); ++it) {
        const int32_t id = jsonInteger<int32_t>(it.value());
        if (id < 0) throw std::runtime_error("token \"" + it.key() + "\" has the negative id " + std::to_string(id));
        out.emplace(it.key(), id);
    }
    return out;
}

// "a b" (one space) -> {"a", "b"}.
std::optional<std::pair<std::string, std::string>> splitMerge(std::string_view line) {
    const size_t space = line.find(' ');
    if (space == std::string_view::npos || line.find(' ', space + 1) != std::string_view::npos) return std::nullopt;
    return std::pair<std::string, std::string>(line.substr(0, space), line.substr(space + 1));
}

// Merges as "a b" strings (older files) or ["a", "b"] pairs (newer files).
std::vector<std::pair<std::string, std::string>> parseMerges(const json& merges) {
    std::vector<std::pair<std::string, std::string>> out;
    out.reserve(merges.size());
    for (size_t k = 0; k < merges.size(); ++k) {
        const json& m = merges[k];
        if (m.is_string()) {
            const auto pair = splitMerge(m.get_ref<const std::string&>());
            if (!pair) throw std::runtime_error("merge " + std::to_string(k) + " \"" + m.get<std::string>() +
                                                "\" is not two tokens separated by one space");
            out.push_back(*pair);
        } else if (m.is_array() && m.size() == 2) {
            out.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
        } else {
            throw std::runtime_error("merge " + std::to_string(k) + " is neither \"a b\" nor [\"a\", \"b\"]");
        }
    }
    return out;
}

// The ids a post-processor puts around a single sequence (TemplateProcessing's "single",
// Roberta/Bert's cls + sep, Sequence of those; ByteLevel changes no ids).
void addPostProcessor(const json& config, std::vector<int32_t>& before, std::vector<int32_t>& after) {
    if (config.is_null()) return;
    const std::string type = config.at("type").get<std::string>();
    if (type == "ByteLevel") return;
    if (type == "Sequence") {
        for (const json& step : config.at("processors")) addPostProcessor(step, before, after);
        return;
    }
    std::vector<int32_t> pre, post;
    if (type == "TemplateProcessing") {
        bool seenSequence = false;
        for (const json& item : config.at("single")) {
            if (item.contains("Sequence")) {
                seenSequence = true;
                continue;
            }
            const std::string name = item.at("SpecialToken").at("id").get<std::string>();
            const json& specials = config.at("special_tokens");
            if (!specials.contains(name))
                throw std::runtime_error("post_processor: special token \"" + name + "\" is not in special_tokens");
            for (const json& id : specials.at(name).at("ids")) (seenSequence ? post : pre).push_back(jsonInteger<int32_t>(id));
        }
    } else if (type == "RobertaProcessing" || type == "BertProcessing") {
        pre.push_back(jsonInteger<int32_t>(config.at("cls").at(1)));
        post.push_back(jsonInteger<int32_t>(config.at("sep").at(1)));
    } else {
        throw std::runtime_error("post_processor type \"" + type + "\" is not supported");
    }
    // Later processors wrap what earlier ones produced.
    before.insert(before.begin(), pre.begin(), pre.end());
    after.insert(after.end(), post.begin(), post.end());
}

// BOS / EOS: as tokenizer_config.json next to the tokenizer says, else by the usual names.
void findBosEos(Tokenizer::Impl& impl, const fs::path& folder) {
    const fs::path configFile = folder / "tokenizer_config.json";
    std::error_code ec;
    if (!folder.empty() && fs::exists(configFile, ec)) {  // empty: text that came from no folder
        const json config = readJson(configFile);
        const auto lookup = [&](const char* key) -> std::optional<int32_t> {
            if (!config.contains(key) || config[key].is_null()) return std::nullopt;
            const json& v = config[key];
            const std::string content = v.is_object() ? v.at("content").get<std::string>() : v.get<std::string>();
            return impl.idOf(content);
        };
        try {
            impl.bos = lookup("bos_token");
            impl.eos = lookup("eos_token");
        } catch (const json::exception& e) {
            throw Error(configFile, e.what());
        }
        return;
    }
    const auto firstKnown = [&](std::initializer_list<const char*> names) -> std::optional<int32_t> {
        for (const char* name : names)
            if (const auto id = impl.idOf(name)) return id;
        return std::nullopt;
    };
    impl.bos = !impl.before.empty() ? std::optional<int32_t>(impl.before.front())
                                    : firstKnown({"<s>", "<|begin_of_text|>", "<|startoftext|>", "<bos>", "<|endoftext|>"});
    impl.eos = firstKnown({"</s>", "<|end_of_text|>", "<|endoftext|>", "<eos>"});
}

std::shared_ptr<Tokenizer::Impl> buildFromJson(const json& root, const fs::path& file) {
    auto impl = std::make_shared<Tokenizer::Impl>();
    impl->source = file;

    if (!root.is_object() || !root.contains("model")) throw std::runtime_error("no \"model\" section");
    const json& model = root.at("model");
    const std::string type = model.value("type", std::string("BPE"));
    if (type != "BPE" && type != "WordLevel")
        throw std::runtime_error("model type \"" + type + "\" is not supported (only BPE and WordLevel)");
    tok::Vocabulary vocab(parseVocab(model.at("vocab")));
    if (type == "BPE") {
        // dropout only matters for training; encoding uses the deterministic merges, as Rust
        // does when dropout is null or 0.
        tok::BpeOptions options;
        options.unkToken = optionalString(model, "unk_token");
        options.continuingSubwordPrefix = optionalString(model, "continuing_subword_prefix");
        options.endOfWordSuffix = optionalString(model, "end_of_word_suffix");
        options.fuseUnk = model.value("fuse_unk", false);
        options.byteFallback = model.value("byte_fallback", false);
        options.ignoreMerges = model.value("ignore_merges", false);
        impl->model = std::make_unique<tok::Bpe>(std::move(vocab), parseMerges(model.at("merges")), options);
    } else {
        impl->model = std::make_unique<tok::WordLevel>(std::move(vocab), model.at("unk_token").get<std::string>());
    }

    const json null;
    impl->normalizer = tok::makeNormalizer(root.value("normalizer", null));
    impl->preTokenizer = tok::makePreTokenizer(root.value("pre_tokenizer", null));
    impl->decoder = tok::makeDecoder(root.value("decoder", null));

    std::vector<tok::AddedToken> added;
    for (const json& t : root.value("added_tokens", json::array())) {
        tok::AddedToken token;
        token.content = t.at("content").get<std::string>();
        token.special = t.value("special", false);
        token.singleWord = t.value("single_word", false);
        token.lstrip = t.value("lstrip", false);
        token.rstrip = t.value("rstrip", false);
        token.normalized = t.value("normalized", !token.special);
        // Rust keeps the model's id for a token already in the vocabulary.
        const auto inModel = impl->model->vocabulary().id(token.content);
        token.id = inModel ? *inModel : jsonInteger<int32_t>(t.at("id"));
        added.push_back(std::move(token));
    }
    impl->added = tok::AddedVocabulary(std::move(added), impl->normalizer.get());

    addPostProcessor(root.value("post_processor", null), impl->before, impl->after);
    return impl;
}

}  // namespace

Tokenizer Tokenizer::fromTokenizerJson(const fs::path& file) {
    return fromTokenizerJsonText(readFile(file), file);
}

Tokenizer Tokenizer::fromTokenizerJsonText(const std::string& text, const fs::path& file) {
    json root;
    try {
        root = json::parse(text);
    } catch (const json::exception& e) {
        throw Error(file, std::string("invalid JSON: ") + e.what());
    }
    std::shared_ptr<Impl> impl;
    try {
        impl = buildFromJson(root, file);
    } catch (const Error&) {
        throw;
    } catch (const std::exception& e) {
        throw Error(file, e.what());
    }
    findBosEos(*impl, file.parent_path());
    return Tokenizer(impl);
}

Tokenizer Tokenizer::fromVocabAndMerges(const fs::path& vocabJson, const fs::path& mergesTxt) {
    auto impl = std::make_shared<Impl>();
    impl->source = vocabJson;

    std::unordered_map<std::string, int32_t> vocab;
    try {
        vocab = parseVocab(readJson(vocabJson));
    } catch (const Error&) {
        throw;
    } catch (const std::exception& e) {
        throw Error(vocabJson, e.what());
    }

    std::vector<std::pair<std::string, std::string>> merges;
    std::istringstream lines(readFile(mergesTxt));
    std::string line;
    for (size_t number = 1; std::getline(lines, line); ++number) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty() || line.rfind("#version", 0) == 0) continue;
        const auto pair = splitMerge(line);
        if (!pair) throw Error(mergesTxt, "line " + std::to_string(number) + ": expected two tokens separated by one space");
        merges.push_back(*pair);
    }

    // The GPT-2 layout: byte-level BPE with the GPT-2 regex, and "<|endoftext|>" as the one
    // special token (as transformers' GPT2Tokenizer registers it).
    const bool hasEndOfText = vocab.count("<|endoftext|>") > 0;
    const int32_t endOfText = hasEndOfText ? vocab.at("<|endoftext|>") : -1;
    std::optional<tok::Vocabulary> vocabulary;
    try {
        vocabulary.emplace(std::move(vocab));
    } catch (const std::exception& e) {
        throw Error(vocabJson, e.what());
    }
    try {
        impl->model = std::make_unique<tok::Bpe>(std::move(*vocabulary), merges, tok::BpeOptions{});
    } catch (const std::exception& e) {
        throw Error(mergesTxt, e.what());
    }
    impl->preTokenizer = tok::makePreTokenizer(json{{"type", "ByteLevel"}, {"add_prefix_space", false}});
    impl->decoder = tok::makeDecoder(json{{"type", "ByteLevel"}});
    if (hasEndOfText) {
        tok::AddedToken eot;
        eot.content = "<|endoftext|>";
        eot.id = endOfText;
        eot.special = true;
        impl->added = tok::AddedVocabulary({eot}, nullptr);
    }
    findBosEos(*impl, vocabJson.parent_path());
    return Tokenizer(impl);
}

Tokenizer Tokenizer::fromModelDir(const fs::path& dir) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) throw Error(dir, "folder not found");
    if (fs::exists(dir / "tokenizer.json", ec)) return fromTokenizerJson(dir / "tokenizer.json");
    if (fs::exists(dir / "vocab.json", ec) && fs::exists(dir / "merges.txt", ec))
        return fromVocabAndMerges(dir / "vocab.json", dir / "merges.txt");
    throw Error(dir, "no tokenizer.json, nor vocab.json + merges.txt");
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool addSpecialTokens) const {
    if (const auto bad = utf8::firstInvalidByte(text)) {
        char byte[8];
        std::snprintf(byte, sizeof byte, "0x%02X", static_cast<unsigned char>(text[*bad]));
        throw Error("text to tokenize: invalid UTF-8 at byte offset " + std::to_string(*bad) + " (byte " + byte + ")");
    }
    const Impl& m = *impl_;
    std::vector<int32_t> ids;
    ids.reserve(text.size() / 3 + 8);
    if (addSpecialTokens) ids = m.before;
    const tok::PieceSink toModel = [&](tok::Piece&& word) { m.model->tokenize(word.text, ids); };
    try {
        for (tok::Segment& segment : m.added.extractAndNormalize(text, m.normalizer.get())) {
            if (segment.id >= 0) {
                ids.push_back(segment.id);
                continue;
            }
            tok::Piece piece{std::move(segment.text), segment.atStart};
            if (m.preTokenizer)
                m.preTokenizer->split(std::move(piece), toModel);
            else
                toModel(std::move(piece));
        }
    } catch (const Error&) {
        throw;
    } catch (const std::runtime_error& e) {
        // e.g. the regex engine failing on some input
        throw Error(m.source, std::string("cannot tokenize the text: ") + e.what());
    }
    if (addSpecialTokens) ids.insert(ids.end(), m.after.begin(), m.after.end());
    return ids;
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids) const {
    const Impl& m = *impl_;
    std::vector<std::string> tokens;
    tokens.reserve(ids.size());
    for (const int32_t id : ids)
        if (const std::string* token = m.tokenOf(id)) tokens.push_back(*token);  // unknown ids are skipped, as in Rust
    std::string text;
    if (!m.decoder) {
        // No decoder: Rust joins the tokens with spaces.
        for (size_t k = 0; k < tokens.size(); ++k) text += (k ? " " : "") + tokens[k];
        return text;
    }
    m.decoder->decodeChain(tokens, /*singleToken=*/false);
    for (const std::string& t : tokens) text += t;
    return text;
}

std::string Tokenizer::tokenString(int32_t id) const {
    if (const std::string* token = impl_->tokenOf(id)) return *token;
    throw Error(impl_->source, "token id " + std::to_string(id) + " is not in the vocabulary");
}

std::string Tokenizer::tokenText(int32_t id) const {
    std::vector<std::string> tokens{tokenString(id)};
    if (impl_->decoder) impl_->decoder->decodeChain(tokens, /*singleToken=*/true);
    std::string text;
    for (const std::string& t : tokens) text += t;
    return text;
}

int32_t Tokenizer::vocabSize() const {
    int32_t size = impl_->model->vocabulary().idBound();
    for (const tok::AddedToken& t : impl_->added.tokens()) size = std::max(size, t.id + 1);
    return size;
}

std::optional<int32_t> Tokenizer::bosId() const { return impl_->bos; }
std::optional<int32_t> Tokenizer::eosId() const { return impl_->eos; }
std::optional<int32_t> Tokenizer::tokenId(std::string_view tokenString) const { return impl_->idOf(tokenString); }
const fs::path& Tokenizer::source() const { return impl_->source; }

}  // namespace ls
