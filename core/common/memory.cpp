#include "common/memory.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>

namespace ls {

int64_t availableMemoryBytes() {
    if (const char* forced = std::getenv("LAYERSCOPE_AVAILABLE_MEMORY")) return std::atoll(forced);
    std::ifstream meminfo("/proc/meminfo");
    std::string key, unit;
    int64_t kib = 0;
    while (meminfo >> key >> kib >> unit)
        if (key == "MemAvailable:") return kib * 1024;
    return -1;
}

std::string formatBytes(int64_t bytes) {
    const bool gb = bytes >= 1000000000;
    char text[32];
    std::snprintf(text, sizeof text, "%.3g %s", static_cast<double>(bytes) / (gb ? 1e9 : 1e6), gb ? "GB" : "MB");
    return text;
}

}  // namespace ls
