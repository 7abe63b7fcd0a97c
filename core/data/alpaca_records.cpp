// Alpaca instruction data: JSON (an array of records) and JSON Lines (one record per line);
// each record, rendered through the prompt template, is one document.
#include <algorithm>
#include <iterator>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "data/dataset.h"
#include "data/dataset_readers_internal.h"

namespace ls {
namespace fs = std::filesystem;
using namespace dataset_readers;
using nlohmann::json;

namespace {

std::string describeJson(const json& value) {
    switch (value.type()) {
        case json::value_t::object: return "an object";
        case json::value_t::array: return "an array";
        case json::value_t::string: return "a string";
        case json::value_t::boolean: return "a boolean";
        case json::value_t::null: return "null";
        case json::value_t::number_integer:
        case json::value_t::number_unsigned:
        case json::value_t::number_float: return "a number";
        default: return value.type_name();
    }
}

// The parser's message ("parse error at line 3, column 5: ...") without its exception-id prefix.
// parse_error, or out_of_range for a number too large for a double ("1e999").
std::string parseErrorText(const json::exception& e) {
    std::string text = e.what();
    const size_t prefixEnd = text.find("] ");
    if (text.rfind("[json.exception.", 0) == 0 && prefixEnd != std::string::npos) text.erase(0, prefixEnd + 2);
    return text;
}

// A field's text; "" for the optional field when it is missing or null.
std::string stringField(const json& record, const char* name, bool required, const fs::path& path,
                        const std::string& where) {
    const auto it = record.find(name);
    if (it == record.end() || (!required && it->is_null())) {
        if (required) throw Error(path, where + ": field '" + name + "' is missing");
        return {};
    }
    if (!it->is_string())
        throw Error(path, where + ": field '" + name + "' is not a string (it is " + describeJson(*it) + ")");
    return it->get<std::string>();
}

// where: "record 12" (JSON, 0-based array index) or "line 7" (JSONL, 1-based).
void addAlpacaRecord(const json& record, const std::string& where, const DatasetOptions& options,
                     const fs::path& path, DocumentWriter& writer) {
    if (!record.is_object())
        throw Error(path, where + ": expected an object with \"instruction\", \"input\" and \"output\", found " +
                              describeJson(record));
    const std::string instruction = stringField(record, "instruction", true, path, where);
    const std::string input = stringField(record, "input", false, path, where);
    const std::string output = stringField(record, "output", true, path, where);
    const std::string& tmpl = input.empty() ? options.promptTemplateNoInput : options.promptTemplate;
    writer.add(renderPrompt(tmpl, instruction, input, output), /*appendEos=*/true);
}

}  // namespace

namespace dataset_readers {

void requirePlaceholders(const std::string& tmpl, const char* key) {
    if (tmpl.find("{instruction}") == std::string::npos && tmpl.find("{output}") == std::string::npos)
        throw ParamError(key,
                         "the prompt template contains neither {instruction} nor {output}, so every record "
                         "would give the same text");
}

void addAlpacaJson(std::string_view body, const DatasetOptions& options, const fs::path& path,
                   DocumentWriter& writer) {
    json root;
    try {
        root = json::parse(body.begin(), body.end());
    } catch (const json::exception& e) {
        throw Error(path, "invalid JSON: " + parseErrorText(e));
    }
    if (!root.is_array())
        throw Error(path, "expected a JSON array of records at the top level, found " + describeJson(root) +
                              (root.is_object() ? " (for one record per line, use JSON Lines: alpaca-jsonl)" : ""));
    for (size_t i = 0; i < root.size() && !writer.full(); ++i)
        addAlpacaRecord(root[i], "record " + std::to_string(i), options, path, writer);
}

json jsonLine(std::string_view line, const fs::path& path, const std::string& where) {
    try {
        return json::parse(line.begin(), line.end());
    } catch (const json::exception& e) {
        // The parser saw one line: its "line 1" would only confuse.
        std::string text = parseErrorText(e);
        const std::string lineOne = "at line 1, column ";
        if (const size_t at = text.find(lineOne); at != std::string::npos) text.replace(at, lineOne.size(), "at column ");
        throw Error(path, where + ": invalid JSON (JSON Lines hold one complete record per line): " + text);
    }
}

void addAlpacaJsonl(std::string_view body, const DatasetOptions& options, const fs::path& path,
                    DocumentWriter& writer) {
    int64_t lineNumber = 0;
    forEachLine(body, [&](std::string_view line) {
        ++lineNumber;
        if (isBlank(line)) return true;
        const std::string where = "line " + std::to_string(lineNumber);
        addAlpacaRecord(jsonLine(line, path, where), where, options, path, writer);
        return !writer.full();
    });
}

}  // namespace dataset_readers

std::string renderPrompt(const std::string& tmpl, const std::string& instruction, const std::string& input,
                         const std::string& output) {
    const std::pair<std::string_view, const std::string*> fields[] = {
        {"{instruction}", &instruction}, {"{input}", &input}, {"{output}", &output}};
    // One pass over the template: braces inside the fields are never replaced.
    std::string prompt;
    prompt.reserve(tmpl.size() + instruction.size() + input.size() + output.size());
    for (size_t i = 0; i < tmpl.size();) {
        const size_t brace = std::min(tmpl.find('{', i), tmpl.size());
        prompt.append(tmpl, i, brace - i);
        i = brace;
        if (i == tmpl.size()) break;
        const auto field = std::find_if(std::begin(fields), std::end(fields),
                                        [&](const auto& f) { return tmpl.compare(i, f.first.size(), f.first) == 0; });
        if (field != std::end(fields)) {
            prompt += *field->second;
            i += field->first.size();
        } else {
            prompt += '{';
            ++i;
        }
    }
    return prompt;
}

}  // namespace ls
