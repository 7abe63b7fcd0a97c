#pragma once
// One error type for everything a user can cause: a bad file, a bad option.
// The message always names the file (or option) and the problem, e.g.
//   "models/gpt2/model.safetensors: header says tensor 'wte.weight' ends at byte 1200 but the file has 900 bytes"
#include <filesystem>
#include <stdexcept>
#include <string>

namespace ls {

class Error : public std::runtime_error {
public:
    explicit Error(const std::string& message) : std::runtime_error(message) {}
    // "<path>: <problem>"
    Error(const std::filesystem::path& path, const std::string& problem)
        : std::runtime_error(path.string() + ": " + problem) {}
};

// Thrown by compute loops when Progress::isCanceled() turned true.
class Canceled : public std::runtime_error {
public:
    Canceled() : std::runtime_error("canceled") {}
};

}  // namespace ls
