#include "data/windows.h"

#include <algorithm>
#include <string>

#include "common/error.h"

namespace ls {

std::vector<Window> makeWindows(int64_t numTokens, const WindowParams& params) {
    const int seqLen = params.seqLen;
    const int stride = params.stride == 0 ? seqLen : params.stride;
    if (seqLen < 2)
        throw Error("--seq-len: must be at least 2 (a window needs one token to predict the next), got " +
                    std::to_string(seqLen));
    if (stride < 1 || stride > seqLen)
        throw Error("--stride: must be between 1 and --seq-len (" + std::to_string(seqLen) + "), got " +
                    std::to_string(params.stride));
    if (params.maxTokens < 0)
        throw Error("--max-tokens: must be 0 (the whole stream) or positive, got " +
                    std::to_string(params.maxTokens));

    int64_t n = std::max<int64_t>(numTokens, 0);
    if (params.maxTokens > 0) n = std::min(n, params.maxTokens);

    // The Hugging Face loop; prevEnd is the end of the stream already scored.
    std::vector<Window> windows;
    int64_t prevEnd = 0;
    for (int64_t begin = 0; begin < n; begin += stride) {
        const int64_t end = std::min(begin + seqLen, n);
        const int64_t targets = end - prevEnd;  // the last `targets` tokens of the window
        Window w;
        w.begin = begin;
        w.length = int(end - begin);
        w.firstScored = int(std::max<int64_t>(1, w.length - targets));  // position 0 has no context
        if (w.scoredCount() > 0) windows.push_back(w);  // e.g. a final window of one token
        prevEnd = end;
        if (end == n) break;
    }
    return windows;
}

}  // namespace ls
