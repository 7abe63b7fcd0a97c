// layerscope-cli lens train: a tuned lens for a model (run by compute_lens.cpp).
#include "compute_commands.h"
#include "train/tuned_lens_trainer.h"

namespace cli {

Command lensCommand() {
    const ls::LensTrainParams defaults;
    const OptionGroup lens{
        "tuned lens",
        {{"out", "LENS_DIR", "The folder to save the lens in (required): tuned_lens.safetensors and tuned_lens.json."},
         {"overwrite", "", "Replace a lens already in LENS_DIR."},
         {"post-attention", "", "Also translators after attention (a_l, inside block l before the MLP)."},
         {"steps", "N", "Optimizer steps (default " + std::to_string(defaults.steps) + "; 0 saves the identity, the logit lens)."},
         {"lr", "LR", "Peak learning rate of SGD with Nesterov momentum 0.9 (default 1.0)."},
         {"batch-tokens", "B", "Scored tokens per step, in whole windows (default " + std::to_string(defaults.batchTokens) + ")."},
         {"eval-every", "N", "Score the held-out windows every N steps (default: ten times over the run)."},
         {"seed", "S", "Order of the training windows (default 0)."},
         {"json", "", "Print the result as JSON."}}};
    CommandSpec spec{"lens",
                     "train",
                     "train --model DIR --data PATH --out LENS_DIR [options]",
                     "trains a tuned lens (one affine translator per layer) for a model",
                     "Trains a tuned lens (Belrose et al., 2023): per layer an affine translator h -> A h + b, started "
                     "at the identity, that minimises KL(p_L || softmax(W norm_f(A h_l + b))) over the data's windows. "
                     "The last tenth of the windows (at least one) is held out: it is scored before training (the "
                     "logit lens) and ten times over the run, each layer keeps its best state, and the folder is "
                     "rewritten whenever one improves, so Ctrl-C keeps the best lens so far. Use the lens with "
                     "'run ... --lens tuned:LENS_DIR'. See docs/tuned-lens.md.",
                     {windowOptions(), datasetOptions(), lens}};
    return {spec, nullptr, always};
}

}  // namespace cli
