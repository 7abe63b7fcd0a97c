#include "common/program_module.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <system_error>

#ifndef LAYERSCOPE_MODULE_DIR_FROM_BIN
#define LAYERSCOPE_MODULE_DIR_FROM_BIN "../lib/layerscope"
#endif

namespace ls {

bool setThreadPoolEnvironment() {
    bool changed = false;
    if (!std::getenv("GOMP_SPINCOUNT") && !std::getenv("OMP_WAIT_POLICY")) {
        setenv("GOMP_SPINCOUNT", "1000", 1);
        changed = true;
    }
    if (!std::getenv("OPENBLAS_THREAD_TIMEOUT")) {
        setenv("OPENBLAS_THREAD_TIMEOUT", "4", 1);
        changed = true;
    }
    return changed;
}

int runProgramModule(const std::string& name, int argc, char** argv) {
    setThreadPoolEnvironment();
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path program = fs::read_symlink("/proc/self/exe", ec);
    const fs::path bin = program.parent_path();
    // Next to the program in the build tree; in <prefix>/lib/layerscope once installed.
    fs::path module = bin / (name + ".so");
    if (!fs::exists(module)) module = (bin / LAYERSCOPE_MODULE_DIR_FROM_BIN / (name + ".so")).lexically_normal();
    void* handle = dlopen(module.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        std::fprintf(stderr, "error: internal failure: cannot load %s (a broken installation?): %s\n", module.c_str(), dlerror());
        return 1;
    }
    using Entry = int (*)(int, char**);
    const auto entry = reinterpret_cast<Entry>(dlsym(handle, "layerscope_module_main"));
    if (!entry) {
        std::fprintf(stderr, "error: internal failure: %s has no layerscope_module_main\n", module.c_str());
        return 1;
    }
    return entry(argc, argv);  // the module stays loaded until the process exits
}

void tuneThreadPools(char** argv) {
    const char* kDone = "LAYERSCOPE_THREAD_POOLS_TUNED";  // set before re-executing: never loops
    if (std::getenv(kDone)) return;
    setenv(kDone, "1", 1);
    if (setThreadPoolEnvironment()) execv("/proc/self/exe", argv);  // returns only on failure: run untuned
}

}  // namespace ls
