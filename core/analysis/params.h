#pragma once
// Typed parameters of the analyses, described once (ParamSpec) and read the same way by the
// command line (--key VALUE, --help), the GUI (fields, labels, tooltips) and, through the
// analyses' own code, the run parameters. Values are parsed from text here, so a malformed
// value gets the same ls::ParamError whoever typed it.
#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace ls {

struct ParamSpec {
    enum class Kind {
        Flag,         // present or not (--post-attention)
        Integer,      // a whole number >= minimum
        Real,         // a finite number
        Text,         // any text (choices are checked by the analysis)
        IntegerList,  // "8,16,32": whole numbers
        RealList,     // "0.3,0.5,0.7"
    };
    std::string key;        // "hard-ratios": the CLI's --hard-ratios, the GUI field, ParamError::key
    Kind kind = Kind::Text;
    std::string valueName;  // how --help shows the value ("0.3,0.5,0.7"); empty for a flag
    std::string label;      // the GUI's label ("Hard ratios")
    std::string help;       // a sentence or two, defaults included: --help and tooltips
    int64_t minimum = INT64_MIN;  // Integer only
    // Text only: the values it takes, when they are a fixed few (the GUI offers them in a list).
    std::vector<std::string> choices{};
    // What leaving it out means when that is chosen from the data or the model ("automatic:
    // 8, 16, …, dim"): the GUI shows it in the empty field. An Integer with one stands for it
    // by the value minimum - 1 ("L-1 (default)" for a layer 0), which is never given.
    std::string placeholder{};
    bool atMostLayers = false;  // Integer only: at most the model's number of layers L (the GUI's range)
    // Integer only: a window of the dataset, from 0, below its number of windows (checked
    // where the windows are known: the GUI's panel, the capture pass).
    bool datasetWindow = false;

    // The same spec with choices, placeholder, the layer bound or as a window (for the entries' tables).
    ParamSpec withChoices(std::vector<std::string> values) const;
    ParamSpec withPlaceholder(std::string text) const;
    ParamSpec layerBounded() const;
    ParamSpec windowIndex() const;
};

using ParamValue = std::variant<bool, int64_t, double, std::string, std::vector<int>, std::vector<double>>;

// The parameters a user gave, by key (absent keys keep their defaults).
class ParamValues {
public:
    void set(const std::string& key, ParamValue value) { values_[key] = std::move(value); }
    bool has(const std::string& key) const { return values_.count(key) != 0; }
    void erase(const std::string& key) { values_.erase(key); }
    const ParamValue& at(const std::string& key) const { return values_.at(key); }
    bool flag(const std::string& key) const { return has(key) && std::get<bool>(values_.at(key)); }
    int64_t integer(const std::string& key) const { return std::get<int64_t>(values_.at(key)); }
    double real(const std::string& key) const { return std::get<double>(values_.at(key)); }
    const std::string& text(const std::string& key) const { return std::get<std::string>(values_.at(key)); }
    const std::vector<int>& integers(const std::string& key) const { return std::get<std::vector<int>>(values_.at(key)); }
    const std::vector<double>& reals(const std::string& key) const {
        return std::get<std::vector<double>>(values_.at(key));
    }

private:
    std::map<std::string, ParamValue> values_;
};

// The value of spec written as text ("" for a flag given); throws ls::ParamError(spec.key, ...)
// for text that is not a value of its kind: "needs an integer, got 'x'", "must be at least 1, got 0",
// "needs comma-separated numbers, got '0.3,x'", "needs whole numbers, got '8,2.5'".
ParamValue parseParam(const ParamSpec& spec, const std::string& text);

// "linear, mlp2_128" -> {"linear", "mlp2_128"}: comma-separated names, spaces trimmed, empty ones dropped.
std::vector<std::string> splitNames(const std::string& list);

// "8, 16, 32"; "none" for an empty list.
std::string listText(const std::vector<int>& values);
std::string listText(const std::vector<double>& values);

// The text parseParam reads back as value ("0.3, 0.5, 0.7"; "" for a flag).
std::string paramText(const ParamSpec& spec, const ParamValue& value);

}  // namespace ls
