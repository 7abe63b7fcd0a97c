#pragma once
// Evaluation windows over a token stream, with the same semantics as the usual
// Hugging Face sliding-window perplexity:
//   for begin in 0, stride, 2*stride, ...: end = min(begin + seqLen, N)
//   the window holds ids[begin, end); its targets are the next tokens inside the window;
//   only targets not scored by an earlier window are scored (trg_len = end - prev_end),
//   and the first token of a window is never a target.
// With stride == seqLen (default) the windows are non-overlapping chunks and each scores
// length - 1 predictions; with stride < seqLen every token after the first is scored once.
#include <cstdint>
#include <vector>

namespace ls {

struct WindowParams {
    int seqLen = 1024;
    int stride = 0;         // 0 means seqLen
    int64_t maxTokens = 0;  // 0 means the whole stream; otherwise only its first maxTokens
};

struct Window {
    int64_t begin = 0;   // first token of the window in the stream
    int length = 0;      // tokens in the window (<= seqLen)
    int firstScored = 1; // positions p in [firstScored - 1, length - 1) predict token p + 1
    int scoredCount() const { return length - firstScored; }
};

// Throws ls::Error("--seq-len ...") for seqLen < 2, stride < 1 or stride > seqLen.
std::vector<Window> makeWindows(int64_t numTokens, const WindowParams& params);

}  // namespace ls
