// layerscope-cli eval: perplexity over a dataset with sliding windows (run by compute_eval.cpp).
#include "commands.h"

namespace cli {

Command evalCommand() {
    return {{"eval",
             "",
             "--model DIR --data PATH [options]",
             "perplexity over a dataset with sliding windows",
             "Perplexity over a dataset, streamed window by window, as Hugging Face's sliding-window perplexity: "
             "the first token of a window is never a target, and with stride < seq-len only the last stride "
             "tokens of each window are scored.",
             {windowOptions(),
              datasetOptions(),
              {"output",
               {{"per-token", "FILE.csv", "Write every scored token's loss: window,position,token_id,target_id,loss."},
                {"json", "", "Print one JSON object (tokens, mean_loss, ppl, seconds, tokens_per_second, ...)."},
                {"time-split", "", "Also print where the time went: embedding, attention, MLP, head + loss."}}}}},
            nullptr,
            always};
}

}  // namespace cli
