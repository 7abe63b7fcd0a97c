#pragma once
// The programs (layerscope, layerscope-cli) are small launchers; what links LibTorch lives in
// a shared module (layerscope-gui, layerscope-cli-compute) they load when it is needed.
//
// Why: LibTorch's element-wise ops run on OpenMP's threads (libgomp) and its matrix products
// on OpenBLAS's, and after its work each pool keeps spinning; on a machine with few cores one
// pool's spinning threads take the cores the other needs next (GPT-2-small eval on 2 cores:
// 310-350 tokens/s with the libraries' defaults, 450-520 with short spins). Both libraries
// read their setting once, when they load. A launcher sets it before loading the module, so
// nothing re-executes (that cost a second LibTorch start, about 0.4 s), and what needs no
// model (layerscope-cli info, show, compare) never loads LibTorch at all.
#include <string>

#if defined(__GNUC__)
#define LAYERSCOPE_MODULE_ENTRY __attribute__((visibility("default")))
#else
#define LAYERSCOPE_MODULE_ENTRY
#endif

namespace ls {

// Unless the user set them: GOMP_SPINCOUNT=1000 (libgomp spins 1,000 rounds before sleeping,
// not 300,000) and OPENBLAS_THREAD_TIMEOUT=4 (idle OpenBLAS threads sleep after 2^4 cycles,
// not 2^28); OMP_WAIT_POLICY set by the user counts as a libgomp setting. Returns whether it
// set anything. Has an effect only on libraries loaded after the call.
bool setThreadPoolEnvironment();

// Sets the thread pools' environment, loads the module `name` (name.so next to this program,
// or in the library folder it is installed to) and returns its layerscope_module_main(argc,
// argv). A module that cannot be loaded is a broken installation: one line on stderr naming
// the file and the loader's reason, exit code 1.
int runProgramModule(const std::string& name, int argc, char** argv);

// For programs that link LibTorch themselves (the benchmarks): sets the environment and
// re-executes the program once when that changed anything (the libraries are already loaded).
void tuneThreadPools(char** argv);

}  // namespace ls
