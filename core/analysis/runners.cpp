#include "analysis/runners_internal.h"

namespace ls {

const std::vector<AnalysisRunner>& analysisRunners() {
    static const std::vector<AnalysisRunner> all = {
        lensDivRunner(),
    };
    return all;
}

}  // namespace ls
