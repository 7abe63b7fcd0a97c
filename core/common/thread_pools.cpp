#include "common/thread_pools.h"

#include <unistd.h>

#include <cstdlib>

namespace ls {

void tuneThreadPools(char** argv) {
    const char* kDone = "LAYERSCOPE_THREAD_POOLS_TUNED";  // set before re-executing: never loops
    if (std::getenv(kDone)) return;
    setenv(kDone, "1", 1);
    bool changed = false;
    // libgomp: spin 1,000 rounds before sleeping (default 300,000). OMP_WAIT_POLICY also sets it.
    if (!std::getenv("GOMP_SPINCOUNT") && !std::getenv("OMP_WAIT_POLICY")) {
        setenv("GOMP_SPINCOUNT", "1000", 1);
        changed = true;
    }
    // OpenBLAS: idle threads sleep after 2^4 cycles instead of 2^28.
    if (!std::getenv("OPENBLAS_THREAD_TIMEOUT")) {
        setenv("OPENBLAS_THREAD_TIMEOUT", "4", 1);
        changed = true;
    }
    if (changed) execv("/proc/self/exe", argv);  // returns only on failure: run untuned
}

}  // namespace ls
