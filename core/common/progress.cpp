#include "common/progress.h"

#include <cmath>
#include <cstdio>

namespace ls {

std::string formatSecondsLeft(double seconds) {
    if (!(seconds >= 0.0)) return {};  // also NaN
    const long long s = static_cast<long long>(std::ceil(seconds));
    char text[64];
    if (s < 60)
        std::snprintf(text, sizeof text, "~%lld s left", s);
    else if (s < 3600)
        std::snprintf(text, sizeof text, "~%lld min %02lld s left", s / 60, s % 60);
    else
        std::snprintf(text, sizeof text, "~%lld h %02lld min left", s / 3600, (s % 3600) / 60);
    return text;
}

}  // namespace ls
