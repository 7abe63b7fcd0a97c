#include "common/memory.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

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

namespace {

int64_t statusKib(const std::string& field) {
    std::ifstream status("/proc/self/status");
    std::string key;
    while (status >> key) {
        if (key == field) {
            int64_t kib = 0;
            status >> kib;
            return kib;
        }
        status.ignore(1 << 12, '\n');
    }
    return -1;
}

}  // namespace

int64_t residentBytes() {
    const int64_t kib = statusKib("VmRSS:");
    return kib < 0 ? -1 : kib * 1024;
}

int64_t peakResidentBytes() {
    const int64_t kib = statusKib("VmHWM:");
    return kib < 0 ? -1 : kib * 1024;
}

bool resetPeakResidentBytes() {
    std::ofstream clear("/proc/self/clear_refs");
    clear << "5";
    return static_cast<bool>(clear.flush());
}

std::string formatBytes(int64_t bytes) {
    const bool gb = bytes >= 1000000000;
    char text[32];
    std::snprintf(text, sizeof text, "%.3g %s", static_cast<double>(bytes) / (gb ? 1e9 : 1e6), gb ? "GB" : "MB");
    return text;
}

}  // namespace ls
