#include "model/system_info.h"

#include <dlfcn.h>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <torch/torch.h>
#include <torch/version.h>

#include "analysis/int8_projection_internal.h"

namespace ls {

namespace {

// The file a loaded symbol lives in (dladdr), symlinks resolved; empty if none.
std::string libraryOf(const char* symbol) {
    void* address = dlsym(RTLD_DEFAULT, symbol);
    Dl_info where{};
    if (!address || !dladdr(address, &where) || !where.dli_fname)
        return {};
    char resolved[4096];
    return realpath(where.dli_fname, resolved) ? std::string(resolved) : std::string(where.dli_fname);
}

}  // namespace

std::vector<std::string> cpuFeatures() {
    static const char* const wanted[] = {"avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16",
                                         "amx_int8", "f16c"};
    std::ifstream cpuinfo("/proc/cpuinfo");
    std::string line;
    std::set<std::string> flags;
    while (std::getline(cpuinfo, line))
        if (line.rfind("flags", 0) == 0) {
            std::istringstream words(line.substr(line.find(':') + 1));
            for (std::string w; words >> w;) flags.insert(w);
            break;
        }
    std::vector<std::string> found;
    for (const char* f : wanted)
        if (flags.count(f)) found.emplace_back(f);
    return found;
}

namespace {

}  // namespace

std::string blasKindOfPath(const std::string& path, bool hasOpenblasSymbols) {
    // By the file that provides sgemm_: OpenBLAS may be loaded too (Debian's LAPACK alternative
    // links it) while the reference libblas does the products.
    const bool openblasPath = path.find("openblas") != std::string::npos;
    const bool referencePath =
        !openblasPath && (path.find("/blas/") != std::string::npos || path.find("libblas.so") != std::string::npos);
    if (openblasPath || (path.empty() && hasOpenblasSymbols)) {
        if (path.find("openmp") != std::string::npos) return "OpenBLAS (OpenMP)";
        if (path.find("pthread") != std::string::npos) return "OpenBLAS (pthreads)";
        return "OpenBLAS";
    }
    if (referencePath) return "reference BLAS";
    if (path.find("mkl") != std::string::npos) return "MKL";
    if (path.find("blis") != std::string::npos) return "BLIS";
    if (path.find("atlas") != std::string::npos) return "ATLAS";
    return "unknown";
}

SystemInfo systemInfo() {
    SystemInfo s;
    s.layerscopeVersion = LAYERSCOPE_VERSION;
    s.libtorchVersion = TORCH_VERSION;
    s.blasLibrary = libraryOf("sgemm_");
    using Config = char* (*)();
    using Threads = int (*)();
    const auto config = reinterpret_cast<Config>(dlsym(RTLD_DEFAULT, "openblas_get_config"));
    const auto threads = reinterpret_cast<Threads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
    s.blasKind = blasKindOfPath(s.blasLibrary, config != nullptr);
    const bool openblas = s.blasKind.rfind("OpenBLAS", 0) == 0;
    if (config && openblas) s.blasConfig = config();
    if (threads && openblas) s.blasThreads = threads();
    s.referenceBlas = s.blasKind == "reference BLAS";
    s.hardwareThreads = static_cast<int>(std::thread::hardware_concurrency());
    s.torchThreads = at::get_num_threads();
    s.torchInteropThreads = at::get_num_interop_threads();
    s.cpuFeatures = cpuFeatures();
    s.int8Lens = Int8Projection::available();
    if (s.referenceBlas)
        s.warning = "LibTorch runs on the reference BLAS (" + s.blasLibrary +
                    "), about 50x slower than OpenBLAS: install libopenblas0-pthread (sudo apt-get install "
                    "libopenblas0-pthread), or pick it with sudo update-alternatives --config "
                    "libblas.so.3-x86_64-linux-gnu";
    else if (s.blasLibrary.empty())
        s.warning = "no BLAS library found in this process";
    return s;
}

std::vector<std::pair<std::string, std::string>> systemInfoRows(const SystemInfo& s) {
    std::string features;
    for (const std::string& f : s.cpuFeatures) features += (features.empty() ? "" : " ") + f;
    std::vector<std::pair<std::string, std::string>> rows = {
        {"LayerScope", s.layerscopeVersion},
        {"LibTorch", s.libtorchVersion},
        {"BLAS", s.blasKind + (s.blasLibrary.empty() ? "" : " (" + s.blasLibrary + ")")},
    };
    if (!s.blasConfig.empty()) rows.push_back({"BLAS build", s.blasConfig});
    rows.push_back({"CPU threads", std::to_string(s.hardwareThreads)});
    rows.push_back({"Compute threads", std::to_string(s.torchThreads) + " (LibTorch), " +
                                           std::to_string(s.torchInteropThreads) + " inter-op" +
                                           (s.blasThreads > 0 ? ", " + std::to_string(s.blasThreads) + " (OpenBLAS)" : "")});
    rows.push_back({"CPU features", features.empty() ? "none of avx2, avx512, vnni, bf16, amx" : features});
    rows.push_back({"int8 lens", s.int8Lens ? "yes (VNNI)" : "no (needs VNNI and oneDNN)"});
    if (!s.warning.empty()) rows.push_back({"Warning", s.warning});
    return rows;
}

}  // namespace ls
