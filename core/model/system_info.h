#pragma once
// What this process computes with: LibTorch's version, the BLAS library actually loaded (Debian
// switches libblas.so.3 between OpenBLAS and the reference BLAS with update-alternatives; the
// reference one is about 50x slower), thread counts and the CPU features the fast paths need.
// For `layerscope-cli info --system` and Help > About.
#include <string>
#include <utility>
#include <vector>

namespace ls {

struct SystemInfo {
    std::string layerscopeVersion;
    std::string libtorchVersion;      // "1.13.1"
    std::string blasLibrary;          // the shared object providing sgemm_, as loaded (symlinks resolved)
    std::string blasKind;             // "OpenBLAS (pthreads)", "OpenBLAS (OpenMP)", "reference BLAS", "unknown"
    std::string blasConfig;           // openblas_get_config(): version, build options, core type
    bool referenceBlas = false;       // the slow netlib BLAS does LibTorch's matrix products
    int hardwareThreads = 0;          // logical CPUs
    int torchThreads = 0, torchInteropThreads = 0, blasThreads = 0;  // blasThreads 0: not OpenBLAS
    std::vector<std::string> cpuFeatures;  // of avx2, avx512f, avx512_vnni, avx_vnni, avx512_bf16, amx_bf16, amx_int8, f16c
    bool int8Lens = false;            // the certified lens can use its int8 projection (VNNI + oneDNN)
    std::string warning;              // empty, or what to fix (the reference BLAS)
};

// The CPU's flags (Linux /proc/cpuinfo) that LayerScope's paths care about, of those above.
std::vector<std::string> cpuFeatures();

// Looks at the running process (call after LibTorch is loaded: any program linking core is).
SystemInfo systemInfo();

// (label, value) rows for a table: "LibTorch", "BLAS", ... and "Warning" when there is one.
std::vector<std::pair<std::string, std::string>> systemInfoRows(const SystemInfo& info);

// The BLAS kind of the library that provides sgemm_, by its path; hasOpenblasSymbols: OpenBLAS is
// loaded somewhere in the process (it decides only when the path is unknown). For tests.
std::string blasKindOfPath(const std::string& path, bool hasOpenblasSymbols);

}  // namespace ls
