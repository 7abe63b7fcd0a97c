#pragma once
// The command line of layerscope-cli: each command describes its options once, in a table
// (CommandSpec), and the same table parses the arguments and prints `COMMAND --help`.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace cli {

struct OptionSpec {
    std::string name;   // "seq-len", used as --seq-len
    std::string value;  // what the value looks like ("N", "DIR"); empty for a flag, which takes none
    std::string help;   // one or more sentences; wrapped when printed
};

struct OptionGroup {
    std::string title;  // "window and data"
    std::vector<OptionSpec> options;
};

struct CommandSpec {
    std::string name;        // "run"
    std::string positional;  // "ANALYSES"; empty when the command takes none
    std::string synopsis;    // what follows the name in the usage line
    std::string summary;     // one line for `layerscope-cli --help`
    std::string description; // paragraphs for `layerscope-cli COMMAND --help`
    std::vector<OptionGroup> groups;
    bool manyPositionals = false;  // compare: any number of positionals, anywhere among the options

    const OptionSpec* find(const std::string& name) const;
};

// The parsed arguments of one command. Values are checked when read, so that the message
// names the option.
struct Args {
    std::string command;
    std::string positional;  // run: the analyses; show: the run file (the first, for several)
    std::vector<std::string> positionals;  // every one given, in order
    std::map<std::string, std::string> values;  // an option given twice: the last value
    std::map<std::string, std::vector<std::string>> repeated;  // every value of each option, in order
    bool help = false;  // --help or -h was given: print the command's help, do nothing else

    std::optional<std::string> get(const std::string& key) const;
    bool flag(const std::string& key) const { return values.count(key) != 0; }
    std::string require(const std::string& key) const;
    // Every value given for a repeatable option (generate --condition), in order.
    std::vector<std::string> all(const std::string& key) const;
    // Throw ls::ParamError for a value that is not a number, or below minimum (the fallback may
    // be a "not set" value below it).
    double real(const std::string& key, double fallback) const;
    int64_t integer(const std::string& key, int64_t fallback, int64_t minimum) const;
};

// argv[1] is the command; throws ls::Error for an unknown option, a missing value or a
// positional argument the command does not take.
Args parseArgs(const CommandSpec& spec, int argc, char** argv);

// `layerscope-cli COMMAND --help`: usage line, description, every option by group.
std::string helpText(const CommandSpec& spec);

// Option groups that several commands share.
OptionGroup windowOptions();   // --model, --data, --seq-len, --stride, ...
OptionGroup datasetOptions();  // --format, --prompt-template, ..., --num-samples
OptionSpec weightsDtypeOption();  // --weights-dtype (in windowOptions; generate's own group)

}  // namespace cli
