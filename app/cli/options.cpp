#include "options.h"

#include <algorithm>
#include <sstream>

#include "analysis/params.h"
#include "common/error.h"

namespace cli {

const OptionSpec* CommandSpec::find(const std::string& key) const {
    for (const OptionGroup& g : groups)
        for (const OptionSpec& o : g.options)
            if (o.name == key) return &o;
    return nullptr;
}

std::optional<std::string> Args::get(const std::string& key) const {
    auto it = values.find(key);
    if (it == values.end()) return std::nullopt;
    return it->second;
}

std::vector<std::string> Args::all(const std::string& key) const {
    const auto it = repeated.find(key);
    return it == repeated.end() ? std::vector<std::string>{} : it->second;
}

std::string Args::require(const std::string& key) const {
    auto v = get(key);
    if (!v) throw ls::Error("missing required option --" + key + " (see layerscope-cli " + command + " --help)");
    return *v;
}

namespace {

// Greedy word wrap of text into lines of at most width characters.
std::vector<std::string> wrap(const std::string& text, size_t width) {
    std::vector<std::string> lines;
    std::istringstream words(text);
    std::string word, line;
    while (words >> word) {
        if (!line.empty() && line.size() + 1 + word.size() > width) {
            lines.push_back(line);
            line.clear();
        }
        line += (line.empty() ? "" : " ") + word;
    }
    if (!line.empty()) lines.push_back(line);
    return lines;
}

}  // namespace

// Numbers are parsed as the analyses' parameters are (analysis/params.h): one parser, one
// ls::ParamError that main() shows as "--key: ...".
double Args::real(const std::string& key, double fallback) const {
    const auto v = get(key);
    return v ? std::get<double>(ls::parseParam({key, ls::ParamSpec::Kind::Real}, *v)) : fallback;
}

int64_t Args::integer(const std::string& key, int64_t fallback, int64_t minimum) const {
    const auto v = get(key);
    ls::ParamSpec spec{key, ls::ParamSpec::Kind::Integer};
    spec.minimum = minimum;
    return v ? std::get<int64_t>(ls::parseParam(spec, *v)) : fallback;
}

Args parseArgs(const CommandSpec& spec, int argc, char** argv) {
    Args args;
    args.command = spec.name;
    for (int i = 2; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--help" || a == "-h") {
            args.help = true;
            return args;  // the rest is not checked: help is asked for, not a run
        }
    }
    for (int i = 2; i < argc; ++i) {
        const std::string a = argv[i];
        if (a.rfind("--", 0) != 0) {
            const bool accepted = spec.manyPositionals || (!spec.positional.empty() && i == 2);
            if (!accepted)
                throw ls::Error("unexpected argument '" + a + "' (see layerscope-cli " + spec.name + " --help)");
            if (args.positionals.empty()) args.positional = a;
            args.positionals.push_back(a);
            continue;
        }
        std::string key = a.substr(2), value;
        const auto eq = key.find('=');
        const bool inlineValue = eq != std::string::npos;
        if (inlineValue) {
            value = key.substr(eq + 1);
            key = key.substr(0, eq);
        }
        const OptionSpec* option = spec.find(key);
        if (!option)
            throw ls::Error("unknown option --" + key + " for '" + spec.name + "' (see layerscope-cli " + spec.name +
                            " --help)");
        const bool isFlag = option->value.empty();
        if (isFlag && inlineValue) throw ls::Error("option --" + key + " takes no value");
        if (!isFlag && !inlineValue) {
            if (i + 1 >= argc) throw ls::Error("option --" + key + " needs a value");
            value = argv[++i];
        }
        args.values[key] = value;
        args.repeated[key].push_back(value);
    }
    return args;
}

std::string helpText(const CommandSpec& spec) {
    constexpr size_t kWidth = 100, kIndent = 30;
    std::string out = "usage: layerscope-cli " + spec.name + (spec.synopsis.empty() ? "" : " " + spec.synopsis) + "\n";
    std::istringstream paragraphs(spec.description);
    std::string paragraph;
    while (std::getline(paragraphs, paragraph)) {
        if (paragraph.rfind("  ", 0) == 0) {  // a list item: indented, no blank line before it
            const std::vector<std::string> lines = wrap(paragraph, kWidth - 4);
            for (size_t i = 0; i < lines.size(); ++i) out += (i == 0 ? "  " : "      ") + lines[i] + "\n";
            continue;
        }
        out += "\n";
        for (const std::string& line : wrap(paragraph, kWidth)) out += line + "\n";
    }
    for (const OptionGroup& g : spec.groups) {
        out += "\n" + g.title + ":\n";
        for (const OptionSpec& o : g.options) {
            std::string head = "  --" + o.name + (o.value.empty() ? "" : " " + o.value);
            const std::vector<std::string> lines = wrap(o.help, kWidth - kIndent);
            if (head.size() + 2 > kIndent) {  // a long option name gets a line of its own
                out += head + "\n";
                head.clear();
            }
            for (size_t i = 0; i < std::max<size_t>(1, lines.size()); ++i) {
                head.resize(kIndent, ' ');
                out += head + (i < lines.size() ? lines[i] : "") + "\n";
                head.clear();
            }
        }
    }
    out += "\n  -h, --help                  this text\n";
    return out;
}

OptionGroup windowOptions() {
    return {"model, data and windows",
            {{"model", "DIR", "Hugging Face model folder: config.json, model.safetensors (or its index) and the tokenizer."},
             {"data", "PATH", "Dataset: plain text, WikiText, Alpaca JSON / JSONL, token ids (.npy, .bin)."},
             {"seq-len", "N", "Tokens per window (default min(1024, the model's context))."},
             {"stride", "S",
              "Step between window starts (default seq-len). With stride < seq-len only the last S tokens of each "
              "window are scored."},
             {"max-tokens", "T", "Use only the first T tokens of the dataset (default all)."},
             {"max-windows", "W", "Use only the first W windows (default all)."},
             {"documents", "pack|respect",
              "pack (default) lets windows run across document boundaries; respect keeps every window inside one "
              "document."},
             {"threads", "N", "Compute threads (default one per core)."},
             weightsDtypeOption()}};
}

OptionSpec weightsDtypeOption() {
    return {"weights-dtype", "auto|float32|bfloat16",
            "The weight matrices in memory: float32; bfloat16 (half the memory; a float32 checkpoint rounded); "
            "auto (default): float32 when it fits, else a bfloat16 or float16 checkpoint's own dtype. See "
            "docs/large-models.md."};
}

OptionGroup datasetOptions() {
    return {"dataset",
            {{"format", "auto|text|wikitext|alpaca-json|alpaca-jsonl|npy|bin",
              "The dataset's format (default: detected from the content). Text, WikiText and Alpaca are tokenized "
              "with the model folder's tokenizer; .npy holds 1-D int32/int64/uint16 ids, .bin raw uint16 ids "
              "(nanoGPT)."},
             {"prompt-template", "T", "Alpaca prompt with {instruction}, {input} and {output} (default: Stanford Alpaca's)."},
             {"prompt-template-no-input", "T", "Alpaca prompt for records without an input."},
             {"num-samples", "N", "Only the first N documents or records."}}};
}

}  // namespace cli
