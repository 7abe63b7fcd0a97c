#pragma once
// One error type for everything a user can cause: a bad file, a bad option.
// The message always names the file (or option) and the problem, e.g.
//   "models/gpt2/model.safetensors: header says tensor 'wte.weight' ends at byte 1200 but the file has 900 bytes"
#include <filesystem>
#include <stdexcept>
#include <string>
#include <utility>

namespace ls {

class Error : public std::runtime_error {
public:
    explicit Error(const std::string& message) : std::runtime_error(message) {}
    // "<path>: <problem>"
    Error(const std::filesystem::path& path, const std::string& problem)
        : std::runtime_error(path.string() + ": " + problem) {}
};

// A parameter's value is wrong. key names the parameter as the command line and the GUI know
// it ("layer", "hard-ratios"); each front end shows it its own way (the CLI as "--layer: ...",
// the GUI by marking the field and naming it by its label). Core never spells a flag.
class ParamError : public Error {
public:
    ParamError(std::string key, std::string problem)
        : Error(key + ": " + problem), key_(std::move(key)), problem_(std::move(problem)) {}
    const std::string& key() const { return key_; }
    const std::string& problem() const { return problem_; }

private:
    std::string key_, problem_;
};

// Thrown by compute loops when Progress::isCanceled() turned true.
class Canceled : public std::runtime_error {
public:
    Canceled() : std::runtime_error("canceled") {}
};

}  // namespace ls
