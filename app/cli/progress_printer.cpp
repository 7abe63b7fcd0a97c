#include "progress_printer.h"

#include <unistd.h>

#include <cstdio>

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

void ProgressPrinter::finish() {
    if (!thread_.joinable()) return;
    stop();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    std::fprintf(stderr, "done: 100%% in %.1f s\n", seconds);
    std::fflush(stderr);
}

std::string ProgressPrinter::line(double f) const {
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    // Dataset tokens covered per second of the whole task (every pass included).
    const double rate = elapsed > 1 ? f * static_cast<double>(total_) / elapsed : 0;
    const std::string eta = ls::formatSecondsLeft(ls::secondsLeft(elapsed, f));
    char text[256];
    std::snprintf(text, sizeof text, "%s: %3.0f%% · %s tokens/s · %s", progress_.stage().c_str(), 100 * f,
                  rate > 0 ? std::to_string(static_cast<int64_t>(rate)).c_str() : "?",
                  eta.empty() ? "ETA ?" : eta.c_str());
    return text;
}

void ProgressPrinter::loop() {
    int lastDecile = 0;
    std::unique_lock<std::mutex> lock(mutex_);
    while (!wake_.wait_for(lock, std::chrono::milliseconds(tty_ ? 250 : 1000), [this] { return done_; })) {
        const double f = progress_.fraction();
        if (tty_) {
            std::fprintf(stderr, "\r%-100s", line(f).c_str());
        } else if (static_cast<int>(f * 10) > lastDecile && f < 1.0) {  // 100% is finish()'s line
            lastDecile = static_cast<int>(f * 10);
            std::fprintf(stderr, "%s\n", line(f).c_str());
        }
        std::fflush(stderr);
    }
}

}  // namespace cli
