#pragma once
#include <filesystem>
#include <string>

namespace ls {

// Writes bytes to path + ".partial", then renames it into place: readers never see half a
// file, and a failure leaves nothing behind. Throws ls::Error(path, ...) on failure.
void writeFileAtomically(const std::filesystem::path& path, const std::string& bytes);

}  // namespace ls
