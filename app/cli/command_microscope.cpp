// layerscope-cli prompt and patch: one prompt under the microscope, and activation patching
// between prompt pairs (run by compute_microscope.cpp).
#include "commands.h"

namespace cli {

namespace {

OptionGroup outputOptions() {
    return {"output",
            {{"out", "RUN.h5", "Write an HDF5 run file (the GUI and `show` reopen it)."},
             {"csv", "DIR", "Write every table as DIR/<table>.csv."},
             {"json", "", "Print every table as one JSON object instead of text."},
             {"quiet", "", "Print nothing but errors."}}};
}

}  // namespace

Command promptCommand() {
    return {{"prompt",
             "",
             "--model DIR (--text TEXT | --ids N,N,... | --prompts FILE [--index K] | --data PATH [--window K]) [options]",
             "one prompt: attention patterns of every head, direct logit attribution",
             "Runs one prompt and keeps what a single forward shows: every layer x head attention pattern (table "
             "attention: layer, head, query, key, weight) with per-head summaries (attention_summary: entropy, attention "
             "to the first token, to the previous token, to earlier copies of the current token, and the induction score: "
             "to the token after an earlier copy), and the direct logit attribution of one token at one position: the "
             "share of its logit from the embeddings, every head, every attention bias and every MLP, through the final "
             "norm frozen at that position (dla, dla_summary), with the tokens each component promotes and suppresses "
             "most (dla_top). Blocks count from 1, heads and positions from 0.",
             {{"model and prompt",
               {{"model", "DIR", "Hugging Face model folder (required)."},
                {"text", "TEXT", "The prompt as text (needs the model's tokenizer)."},
                {"ids", "N,N,...", "The prompt as token ids."},
                {"prompts", "FILE", "A prompts file (as `generate --prompts`): its prompt number --index."},
                {"index", "K", "Which prompt of --prompts, from 1 (default 1)."},
                {"data", "PATH", "Or a dataset: its window --window, windowed as `run` windows it (--seq-len, --stride, "
                                 "--max-tokens)."},
                {"window", "K", "Which window of --data, from 0 (default 0)."},
                {"seq-len", "N", "Tokens per window of --data (default min(1024, the model's context))."},
                {"stride", "S", "Step between windows of --data (default seq-len)."},
                {"max-tokens", "T", "Use only the first T tokens of --data."},
                {"threads", "N", "Compute threads (default one per core)."},
                weightsDtypeOption()}},
              {"attribution",
               {{"position", "P", "The position attributed, from 0 (default the last)."},
                {"token", "TEXT", "The token attributed, as text that is one token."},
                {"token-id", "N", "Or as a token id. Default: the prompt's next token at --position, or at the last "
                                  "position the model's top prediction."},
                {"top", "K", "Tokens each component promotes and suppresses, in dla_top (default 10)."}}},
              outputOptions()}},
            nullptr,
            always};
}

Command patchCommand() {
    return {{"patch",
             "",
             "--model DIR --pairs FILE [--what resid,heads,mlp] [options]",
             "activation patching between clean and corrupted prompt pairs",
             "For each pair of prompts (JSONL, one per line: {\"clean\": ..., \"corrupted\": ..., \"answer\": ..., "
             "\"wrong\": ...}, prompts as text or arrays of token ids of the same length, answer and wrong as one token's "
             "text or id), runs the clean and the corrupted prompt, then patches one activation at a time: the clean "
             "activation into the corrupted run (direction denoise) and the corrupted into the clean run (noise). The metric "
             "is the logit difference answer - wrong at the last position, normalised so that the clean run is 1 and the "
             "corrupted run 0, and averaged over the pairs. Sites: the residual stream at every (layer, position), layer 0 "
             "the embeddings and layer l block l's output (patch_resid.csv: direction,layer,position,value); every head's "
             "output at all positions (patch_heads.csv: direction,layer,head,value) and at each position "
             "(patch_heads_position.csv); every MLP's output (patch_mlp.csv: direction,layer,value). Head and MLP rows "
             "name their block from 1, heads and positions count from 0. Each patch reruns the model only from where it "
             "acts. Ctrl-C keeps the pairs finished, marked partial.",
             {{"model and pairs",
               {{"model", "DIR", "Hugging Face model folder (required)."},
                {"pairs", "FILE", "The prompt pairs, JSONL (required). Every prompt of the file has the same number of tokens."},
                {"what", "SITES", "Sites to patch, comma-separated: resid, heads, mlp (default all three)."},
                {"threads", "N", "Compute threads (default one per core)."},
                weightsDtypeOption()}},
              outputOptions()}},
            nullptr,
            always};
}

}  // namespace cli
