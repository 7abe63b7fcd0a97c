#include "common/phase_times.h"

#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>

namespace ls {

namespace {
const std::pair<const char*, double PhaseTimes::*> kPhases[] = {
    {"startup", &PhaseTimes::startup}, {"load", &PhaseTimes::load},           {"setup", &PhaseTimes::setup},
    {"capture", &PhaseTimes::capture}, {"summaries", &PhaseTimes::summaries}, {"writing", &PhaseTimes::writing}};
}  // namespace

std::vector<std::pair<std::string, double>> PhaseTimes::named() const {
    std::vector<std::pair<std::string, double>> out;
    for (const auto& [name, field] : kPhases) out.emplace_back(name, this->*field);
    return out;
}

double* PhaseTimes::find(const std::string& name) {
    for (const auto& [key, field] : kPhases)
        if (name == key) return &(this->*field);
    return nullptr;
}

std::string PhaseTimes::text() const {
    std::string out;
    for (const auto& [name, field] : kPhases) {
        if (this->*field <= 0) continue;
        char part[64];
        std::snprintf(part, sizeof part, "%s%s %.2f s", out.empty() ? "" : ", ", name, this->*field);
        out += part;
    }
    return out;
}

double secondsSinceProcessStart() {
    // /proc/self/stat field 22: start time in clock ticks after boot (CLOCK_BOOTTIME); the
    // command name (field 2) is in parentheses and may hold spaces, so count after its ')'.
    std::ifstream in("/proc/self/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const size_t close = stat.rfind(')');
    if (close == std::string::npos) return 0;
    std::istringstream fields(stat.substr(close + 2));  // field 3 onwards
    std::string field;
    for (int i = 3; i <= 22 && fields >> field; ++i) {
    }
    timespec now{};
    clock_gettime(CLOCK_BOOTTIME, &now);
    const double started = std::stod(field.empty() ? "0" : field) / static_cast<double>(sysconf(_SC_CLK_TCK));
    const double seconds = static_cast<double>(now.tv_sec) + 1e-9 * static_cast<double>(now.tv_nsec) - started;
    return seconds > 0 ? seconds : 0;
}

}  // namespace ls
