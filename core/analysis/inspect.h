#pragma once
// Token inspector (the classic logit-lens picture) of one window: for each position and
// layer l = 0..L, the lens top-1 token, its probability and the probability of the final
// top-1 token; top-k on request. The grid itself is computed by the capture pass.
#include <vector>

#include "analysis/capture_pass.h"
#include "io/table.h"

namespace ls {

struct InspectParams {
    int window = 0;  // the window shown, from 0
    int topK = 5;    // tokens kept per position and layer
};

// inspect (position,input_id,target_id,layer,top1_id,top1_token,top1_prob,final_top1_prob)
// and inspect_topk (position,layer,k,token_id,token,prob).
std::vector<Table> inspectTables(const InspectGrid& grid);

}  // namespace ls
