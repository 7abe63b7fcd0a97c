// layerscope-cli info --system, in the compute module: what this machine computes with (the
// LibTorch and BLAS loaded with the module).
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "compute_commands.h"
#include "model/model.h"
#include "model/system_info.h"

namespace cli {

int computeSystemInfo(const Args& args) {
    ls::setComputeThreads(0);  // the threads a run uses by default (--threads 0)
    const ls::SystemInfo s = ls::systemInfo();
    if (!s.warning.empty()) std::cerr << "layerscope-cli: warning: " << s.warning << "\n";
    if (!args.flag("json")) {
        for (const auto& [key, value] : ls::systemInfoRows(s)) std::printf("%-16s %s\n", key.c_str(), value.c_str());
        return 0;
    }
    const nlohmann::json j = {{"layerscope", s.layerscopeVersion},
                              {"libtorch", s.libtorchVersion},
                              {"blas", s.blasKind},
                              {"blas_library", s.blasLibrary},
                              {"blas_config", s.blasConfig},
                              {"reference_blas", s.referenceBlas},
                              {"cpu_threads", s.hardwareThreads},
                              {"torch_threads", s.torchThreads},
                              {"torch_interop_threads", s.torchInteropThreads},
                              {"blas_threads", s.blasThreads},
                              {"cpu_features", s.cpuFeatures},
                              {"int8_lens", s.int8Lens},
                              {"warning", s.warning}};
    std::cout << j.dump(2) << "\n";
    return 0;
}

}  // namespace cli
