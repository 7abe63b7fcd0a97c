// rehearseInChildProcess (io/hdf5_file.h): a crafted file that makes libhdf5 crash or loop
// does so in a forked child, not in this process.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "io/hdf5_file.h"
#include "io/hdf5_internal.h"

namespace ls {

using namespace hdf5;

void rehearseInChildProcess(const fs::path& path, const std::function<void()>& read) {
    std::error_code ec;
    const auto bytes = fs::file_size(path, ec);
    const int64_t limitMs = 30000 + (ec ? 0 : static_cast<int64_t>(bytes / 100000));
    pid_t pid = -1;
    {
        // Fork while holding the library lock: no other thread is inside libhdf5, so the
        // child's copy of its state is consistent (and the lock is recursive: the child,
        // a copy of this thread, takes it again).
        Lock lock;
        pid = ::fork();
        if (pid == 0) {
            int status = 0;
            try {
                read();
            } catch (...) {
                status = 1;
            }
            ::_exit(status);
        }
    }
    if (pid < 0) return;  // no child: the caller's read goes ahead unguarded
    int status = 0;
    const auto start = std::chrono::steady_clock::now();
    while (::waitpid(pid, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() - start > std::chrono::milliseconds(limitMs)) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            fail(path, "libhdf5 had not finished reading it after " + std::to_string(limitMs / 1000) +
                           " s and was stopped: its contents are damaged or crafted, although its seal matches");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    // 0: read; 1: an error the caller's own read reports. Anything else (a signal, or the exit
    // code of a sanitizer's or libFuzzer's crash handler) is a crash the caller must not repeat.
    if (WIFSIGNALED(status))
        fail(path, "libhdf5 crashed reading it (signal " + std::to_string(WTERMSIG(status)) +
                       "): its contents are damaged or crafted, although its seal matches");
    if (WEXITSTATUS(status) > 1)
        fail(path, "libhdf5 failed reading it (exit " + std::to_string(WEXITSTATUS(status)) +
                       "): its contents are damaged or crafted, although its seal matches");
}

}  // namespace ls
