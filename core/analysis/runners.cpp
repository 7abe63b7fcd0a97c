#include "analysis/runners_internal.h"

#include "analysis/layer_run.h"
#include "model/model.h"

namespace ls {

const std::vector<AnalysisRunner>& analysisRunners() {
    static const std::vector<AnalysisRunner> all = {
        lensDivRunner(),
        lossSepRunner(),
        ablationRunner(),
        linearizeRunner(),
    };
    return all;
}

double scannedHeadsCost(const Model& model, const LayerRunParams& p) {
    const ModelConfig& c = model.config();
    return 0.5 * static_cast<double>(p.heads.empty() ? c.numLayers * c.numHeads : p.heads.size());
}

}  // namespace ls
