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
#include <string>
#include <utility>
#include <vector>

namespace ls {

// One of N shards of a run (`run --shard K/N`): K in 1..N; count 0 = the whole run.
struct WindowShard {
    int index = 0;  // K, 1..count
    int count = 0;  // N
    bool sharded() const { return count > 0; }
};

struct WindowParams {
    int seqLen = 1024;
    int stride = 0;            // 0 means seqLen
    int64_t maxTokens = 0;     // 0 means the whole stream; otherwise only its first maxTokens
    int64_t maxWindows = 0;    // 0 means all; otherwise only the first maxWindows windows
    bool respectDocuments = false;  // true: each document is windowed on its own (no window
                                    // crosses a boundary); false: documents are packed
    WindowShard shard;         // compute only this shard's windows (shardWindowRange below)
};

struct Window {
    int64_t begin = 0;   // first token of the window in the stream
    int length = 0;      // tokens in the window (<= seqLen)
    int firstScored = 1; // positions p in [firstScored - 1, length - 1) predict token p + 1
    int scoredCount() const { return length - firstScored; }
};

// maxTokens truncates the stream first; windows that would score nothing (a final window of
// one token) are left out. Throws ls::ParamError ("seq-len", "stride", "max-tokens")
// for seqLen < 2, stride < 0 or > seqLen, maxTokens < 0.
std::vector<Window> makeWindows(int64_t numTokens, const WindowParams& params);

// The same over documents (starts as in Dataset::documentStarts); with
// params.respectDocuments the loop above runs inside every document separately.
std::vector<Window> makeWindows(int64_t numTokens, const std::vector<int64_t>& documentStarts,
                                const WindowParams& params);

// The batches a pass runs the windows in: consecutive windows of the same length and scored
// range, up to ~1024 tokens per batch (small windows would otherwise leave BLAS with skinny
// matrices). Returns each batch's [first, end) window indices, in order.
std::vector<std::pair<size_t, size_t>> windowBatchRanges(const std::vector<Window>& windows);

// The windows of shard K of N, as [first, end) indices into the run's windows: the batches
// above (so a shard computes exactly the batches a single run would) cut into N contiguous
// ranges of about equal size, shard K taking batches [floor((K-1)G/N), floor(KG/N)) of G. An
// unsharded run gets every window. Throws ls::ParamError("shard") for K outside 1..N and for
// a shard left without windows (N larger than the number of batches).
std::pair<size_t, size_t> shardWindowRange(const std::vector<Window>& windows, const WindowShard& shard);

// "3/8" -> {3, 8}; throws ls::ParamError("shard") for anything else or K outside 1..N.
WindowShard parseShard(const std::string& text);
std::string shardText(const WindowShard& shard);  // "3/8"

struct WindowSummary {
    int64_t documents = 0;      // documents that contribute at least one window
    int64_t tokens = 0;         // tokens covered by windows (after maxTokens)
    int64_t windows = 0;
    int64_t scoredTokens = 0;   // predictions scored
};
WindowSummary summarizeWindows(const std::vector<Window>& windows, const std::vector<int64_t>& documentStarts);

}  // namespace ls
