// layerscope-cli generate: continuations of prompts under conditions of the model (run by
// compute_generate.cpp).
#include "commands.h"

namespace cli {

Command generateCommand() {
    const OptionGroup output{
        "output",
        {{"out", "RUN.h5", "Write an HDF5 run file (the GUI and `show` reopen it)."},
         {"csv", "DIR", "Write every table as DIR/<table>.csv (generation.csv: one row per continuation)."},
         {"jsonl", "FILE",
          "Write one JSON record per continuation: {\"condition\", \"prompt\", \"sample\", \"iteration\", \"ids\": "
          "[new token ids], \"text\"} (text when the model has a tokenizer)."},
         {"json", "", "Print every table as one JSON object instead of text."},
         {"quiet", "", "Print nothing but errors."}}};
    return {{"generate",
             "",
             "--model DIR --prompts FILE --max-new-tokens N [--condition SPEC ...] [options]",
             "continues prompts under interventions: speed, PPL, best-of-N, self-refinement",
             "Continues every prompt under each condition of the model, with a KV cache (the prompt is one forward, each "
             "new token one position per layer) and the condition's own kernels: an ablated head's output is replaced "
             "inside the forward, a linearised head computes relu(q.k/sqrt(d)) over the cache without the softmax. For "
             "each continuation: prefill and decode speed, the text's PPL under the baseline model (ppl_base) and under "
             "the condition's own model (ppl_self), distinct n-grams and the longest repeated run. Per condition: the "
             "means and a FLOP model (FLOPs per token at the context reached, what the linearised heads save, the "
             "tokens that saving buys). --best-of draws N samples per prompt and keeps the lowest ppl_base; --refine K "
             "continues K times, each iteration from the prompt + the previous iteration's tokens (separated by "
             "--separator). Ctrl-C keeps the finished continuations, marked partial.",
             {{"model and prompts",
               {{"model", "DIR", "Hugging Face model folder (required)."},
                {"prompts", "FILE",
                 "The prompts (required): text, one per line; JSONL {\"prompt\": \"...\"} (both need the model's "
                 "tokenizer); or token ids, JSONL {\"ids\": [...]} or a .npy of one prompt."},
                {"threads", "N", "Compute threads (default one per core)."},
                weightsDtypeOption()}},
              {"conditions",
               {{"condition", "SPEC",
                 "Repeatable, in table order (default baseline): baseline; ablate:HEADS (zero); mean-ablate:HEADS (the "
                 "heads' mean outputs from --means or computed on --data); relu:HEADS or relu:N (the first N heads of "
                 "--order's linearisation order). HEADS: L0H3,L5 (head 3 of the first block, every head of the sixth)."},
                {"order", "RUN.h5", "A run with the linearize analysis: its order (least damage first) for relu:N."},
                {"normalize", "count|rowsum",
                 "ReLU heads' weights divided by the positions attended (count, default) or by their row sum."},
                {"means", "RUN.h5", "A run with the ablation analysis: the heads' mean outputs for mean-ablate."},
                {"data", "PATH", "Or a dataset to compute the mean outputs on (the window options below apply)."},
                {"seq-len", "N", "Tokens per window for --data's means (default min(1024, the model's context))."},
                {"stride", "S", "Step between windows for --data's means (default seq-len)."},
                {"max-tokens", "T", "Use only the first T tokens of --data."}}},
              {"decoding",
               {{"max-new-tokens", "N", "New tokens per continuation (default 32)."},
                {"greedy", "", "Take the most likely token (the default)."},
                {"temperature", "T", "Sample at temperature T instead of greedy."},
                {"top-k", "K", "Sample among the K most likely tokens only (default 0: all)."},
                {"top-p", "P", "Sample among the fewest most likely tokens whose probability reaches P (default 1)."},
                {"seed", "S",
                 "Random seed (default 0). Each (prompt, sample, iteration) draws from its own stream, the same for "
                 "every condition."},
                {"best-of", "N[,N...]",
                 "Best-of-N: draw max(N) samples per prompt; the table gives, per N, the mean over prompts of the "
                 "lowest ppl_base among the first N (default 1; N > 1 needs --temperature)."},
                {"refine", "K", "Self-refinement iterations (default 1 = none)."},
                {"separator", "TEXT", "Between the prompt and a previous iteration's text (default two newlines)."},
                {"no-cache", "", "Re-run the whole sequence for every new token (the plain path, for checks)."}}},
              output}},
            nullptr,
            always};
}

}  // namespace cli
