#pragma once
// Attention heads by name, shared by the head interventions (ablation.h, linearize.h).
// Numbering: layer counts blocks from 1 (as everywhere in LayerScope); head counts from 0;
// TransformerLens's name "L{layer-1}H{head}" has a 0-based layer, e.g. L0H8 = block 1, head 8.
#include <string>
#include <vector>

namespace ls {

struct ModelConfig;

// One attention head: layer 1..L (blocks from 1, as everywhere in LayerScope), head 0..H-1.
struct HeadId {
    int layer = 0, head = 0;
    bool operator<(const HeadId& o) const { return layer != o.layer ? layer < o.layer : head < o.head; }
    bool operator==(const HeadId& o) const { return layer == o.layer && head == o.head; }
};
// A head list in TransformerLens names, 0-based layers: "L0H3,L5H1" (heads), "L2" (every head of
// a layer); sorted, duplicates dropped. Throws ls::ParamError("heads", ...) for a malformed or out-of-range item.
std::vector<HeadId> parseHeadList(const std::string& list, int numLayers, int numHeads);
// Its TransformerLens name: "L0H8" for block 1, head 8.
std::string headName(const HeadId& head);
// Throws ls::ParamError("heads", ...) for a head outside the model.
void checkHeads(const std::vector<HeadId>& heads, const ModelConfig& config);

}  // namespace ls
