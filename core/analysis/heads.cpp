#include "analysis/heads.h"

#include <algorithm>

#include "common/error.h"
#include "model/model.h"

namespace ls {

void checkHeads(const std::vector<HeadId>& heads, const ModelConfig& c) {
    for (const HeadId& id : heads)
        if (id.layer < 1 || id.layer > c.numLayers || id.head < 0 || id.head >= c.numHeads)
            throw ParamError("heads", "head " + std::to_string(id.head) + " of layer " + std::to_string(id.layer) +
                        " is outside the model's " + std::to_string(c.numLayers) + " layers (from 1) x " +
                        std::to_string(c.numHeads) + " heads (from 0)");
}

std::vector<HeadId> parseHeadList(const std::string& list, int numLayers, int numHeads) {
    const std::string range = " (the model has layers L0..L" + std::to_string(numLayers - 1) + " and heads H0..H" +
                              std::to_string(numHeads - 1) + ")";
    std::vector<HeadId> heads;
    size_t start = 0;
    while (start <= list.size()) {
        const size_t comma = std::min(list.find(',', start), list.size());
        const std::string item = list.substr(start, comma - start);
        start = comma + 1;
        // L<layer> or L<layer>H<head>, digits only
        const size_t h = item.find_first_of("Hh");
        auto number = [&](const std::string& digits) {
            if (digits.empty() || digits.size() > 6 || digits.find_first_not_of("0123456789") != std::string::npos)
                throw ParamError("heads", "'" + item + "' is not a head name like L0H3 (layer from 0) or a layer like L2");
            return std::stoi(digits);
        };
        if (item.empty() || (item[0] != 'L' && item[0] != 'l'))
            throw ParamError("heads", "'" + item + "' is not a head name like L0H3 (layer from 0) or a layer like L2");
        const int layer = number(item.substr(1, h == std::string::npos ? std::string::npos : h - 1));
        if (layer >= numLayers) throw ParamError("heads", item + " is out of range" + range);
        if (h == std::string::npos) {
            for (int k = 0; k < numHeads; ++k) heads.push_back({layer + 1, k});
            continue;
        }
        const int head = number(item.substr(h + 1));
        if (head >= numHeads) throw ParamError("heads", item + " is out of range" + range);
        heads.push_back({layer + 1, head});
    }
    std::sort(heads.begin(), heads.end());
    heads.erase(std::unique(heads.begin(), heads.end()), heads.end());
    return heads;
}

std::string headName(const HeadId& head) { return "L" + std::to_string(head.layer - 1) + "H" + std::to_string(head.head); }

}  // namespace ls
