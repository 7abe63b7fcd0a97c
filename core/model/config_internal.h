#pragma once
#include <filesystem>

#include "model/model.h"

namespace ls {
// Parses and validates config.json. Throws ls::Error(file, problem).
ModelConfig parseModelConfig(const std::filesystem::path& file);
}  // namespace ls
