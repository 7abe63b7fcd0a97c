#include "progress_printer.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

namespace cli {

ProgressPrinter::ProgressPrinter(const ls::Progress& progress, int64_t totalTokens, bool enabled)
    : progress_(progress), total_(totalTokens), tty_(isatty(STDERR_FILENO)) {
    if (enabled) thread_ = std::thread([this] { loop(); });
}

void ProgressPrinter::stop() {
    if (!thread_.joinable()) return;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        done_ = true;
    }
    wake_.notify_all();
    thread_.join();
    if (tty_) std::fprintf(stderr, "\r%*s\r", 100, "");
}

void ProgressPrinter::loop() {
    auto start = std::chrono::steady_clock::now();
    int lastDecile = 0;
    std::string lastStage;
    std::unique_lock<std::mutex> lock(mutex_);
    while (!wake_.wait_for(lock, std::chrono::milliseconds(tty_ ? 250 : 1000), [this] { return done_; })) {
        const std::string stage = progress_.stage();
        if (stage != lastStage) {  // a new stage counts from 0% again
            lastStage = stage;
            lastDecile = 0;
            start = std::chrono::steady_clock::now();
        }
        const double f = progress_.fraction();
        const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const double rate = elapsed > 1 ? f * static_cast<double>(total_) / elapsed : 0;
        const int eta = f > 0.001 ? static_cast<int>(elapsed * (1 - f) / f) : -1;
        char line[256];
        std::snprintf(line, sizeof line, "%s: %3.0f%% · %s tokens/s · ETA %s", stage.c_str(), 100 * f,
                      rate > 0 ? std::to_string(static_cast<int64_t>(rate)).c_str() : "?",
                      eta < 0 ? "?"
                              : (std::to_string(eta / 60) + ":" + (eta % 60 < 10 ? "0" : "") + std::to_string(eta % 60))
                                    .c_str());
        if (tty_) {
            std::fprintf(stderr, "\r%-100s", line);
        } else if (static_cast<int>(f * 10) > lastDecile) {
            lastDecile = static_cast<int>(f * 10);
            std::fprintf(stderr, "%s\n", line);
        }
        std::fflush(stderr);
    }
}

}  // namespace cli
