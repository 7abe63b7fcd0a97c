#include "common/cache_dir.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace ls {

namespace {

namespace fs = std::filesystem;

std::optional<fs::path> cacheFolder() {
    const char* xdg = std::getenv("XDG_CACHE_HOME");
    const char* home = std::getenv("HOME");
    if (xdg && *xdg) return fs::path(xdg) / "layerscope";
    if (home && *home) return fs::path(home) / ".cache" / "layerscope";
    return std::nullopt;
}

}  // namespace

std::optional<std::string> readCacheEntry(const std::string& name) {
    const auto folder = cacheFolder();
    if (!folder) return std::nullopt;
    std::ifstream in(*folder / name, std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

void writeCacheEntry(const std::string& name, const std::string& text) {
    const auto folder = cacheFolder();
    if (!folder) return;
    std::error_code ec;
    fs::create_directories(*folder, ec);
    // A name of its own per process and entry: concurrent writers never share a temporary file.
    const fs::path partial = *folder / (name + "." + std::to_string(getpid()) + ".partial");
    {
        std::ofstream out(partial, std::ios::binary | std::ios::trunc);
        out << text;
        if (!out) {
            fs::remove(partial, ec);
            return;
        }
    }
    fs::rename(partial, *folder / name, ec);
    if (ec) fs::remove(partial, ec);
}

}  // namespace ls
