#include "data/windows.h"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>

#include "common/error.h"

namespace ls {

namespace {

// The Hugging Face loop over the tokens [from, to), appended to `windows` until it holds
// `limit` windows. prevEnd is the end of the tokens already scored.
void appendWindows(int64_t from, int64_t to, int seqLen, int stride, size_t limit, std::vector<Window>& windows) {
    int64_t prevEnd = from;
    for (int64_t begin = from; begin < to && windows.size() < limit; begin += stride) {
        const int64_t end = std::min(begin + seqLen, to);
        const int64_t targets = end - prevEnd;  // the last `targets` tokens of the window
        Window w;
        w.begin = begin;
        w.length = int(end - begin);
        w.firstScored = int(std::max<int64_t>(1, w.length - targets));  // position 0 has no context
        if (w.scoredCount() > 0) windows.push_back(w);  // e.g. a final window of one token
        prevEnd = end;
        if (end == to) break;
    }
}

}  // namespace

std::vector<Window> makeWindows(int64_t numTokens, const WindowParams& params) {
    return makeWindows(numTokens, {}, params);
}

std::vector<Window> makeWindows(int64_t numTokens, const std::vector<int64_t>& documentStarts,
                                const WindowParams& params) {
    const int seqLen = params.seqLen;
    const int stride = params.stride == 0 ? seqLen : params.stride;
    if (seqLen < 2)
        throw ParamError("seq-len", "must be at least 2 (a window needs one token to predict the next), got " +
                    std::to_string(seqLen));
    if (stride < 1 || stride > seqLen)
        throw ParamError("stride", "must be between 1 and seq-len (" + std::to_string(seqLen) + "), got " +
                    std::to_string(params.stride));
    if (params.maxTokens < 0)
        throw ParamError("max-tokens", "must be 0 (the whole stream) or positive, got " +
                    std::to_string(params.maxTokens));
    if (params.maxWindows < 0)
        throw ParamError("max-windows", "must be 0 (all windows) or positive, got " + std::to_string(params.maxWindows));
    for (size_t d = 0; d < documentStarts.size(); ++d)
        if ((d == 0 && documentStarts[0] != 0) || (d > 0 && documentStarts[d] < documentStarts[d - 1]))
            throw Error("document starts must begin at 0 and never decrease");

    int64_t n = std::max<int64_t>(numTokens, 0);
    if (params.maxTokens > 0) n = std::min(n, params.maxTokens);
    const size_t limit = params.maxWindows > 0 ? size_t(params.maxWindows) : std::numeric_limits<size_t>::max();

    std::vector<Window> windows;
    if (!params.respectDocuments || documentStarts.size() <= 1) {
        appendWindows(0, n, seqLen, stride, limit, windows);  // packed: one stream
        return windows;
    }
    for (size_t d = 0; d < documentStarts.size() && documentStarts[d] < n && windows.size() < limit; ++d) {
        const int64_t end = d + 1 < documentStarts.size() ? std::min(documentStarts[d + 1], n) : n;
        appendWindows(documentStarts[d], end, seqLen, stride, limit, windows);
    }
    return windows;
}

std::vector<std::pair<size_t, size_t>> windowBatchRanges(const std::vector<Window>& windows) {
    constexpr int64_t kBatchTokens = 1024;
    std::vector<std::pair<size_t, size_t>> ranges;
    size_t i = 0;
    while (i < windows.size()) {
        const Window& first = windows[i];
        const size_t maxBatch = static_cast<size_t>(std::max<int64_t>(1, kBatchTokens / first.length));
        size_t j = i + 1;
        while (j < windows.size() && j - i < maxBatch && windows[j].length == first.length &&
               windows[j].firstScored == first.firstScored)
            ++j;
        ranges.emplace_back(i, j);
        i = j;
    }
    return ranges;
}

std::pair<size_t, size_t> shardWindowRange(const std::vector<Window>& windows, const WindowShard& shard) {
    if (!shard.sharded()) return {0, windows.size()};
    if (shard.index < 1 || shard.index > shard.count)
        throw ParamError("shard", shardText(shard) + " is not a shard: K must be within 1.." + std::to_string(shard.count));
    const auto batches = windowBatchRanges(windows);
    const size_t G = batches.size(), N = static_cast<size_t>(shard.count), K = static_cast<size_t>(shard.index);
    const size_t from = (K - 1) * G / N, to = K * G / N;
    if (from == to)
        throw ParamError("shard", "shard " + shardText(shard) + " has no windows: the run's " +
                                      std::to_string(windows.size()) + " windows make " + std::to_string(G) +
                                      " batches, so at most " + std::to_string(G) + " shards");
    return {batches[from].first, batches[to - 1].second};
}

WindowShard parseShard(const std::string& text) {
    WindowShard s;
    const size_t slash = text.find('/');
    try {
        size_t used = 0;
        if (slash == std::string::npos) throw std::invalid_argument("no slash");
        s.index = std::stoi(text.substr(0, slash), &used);
        if (used != slash) throw std::invalid_argument("K");
        const std::string n = text.substr(slash + 1);
        s.count = std::stoi(n, &used);
        if (used != n.size()) throw std::invalid_argument("N");
    } catch (const std::exception&) {
        throw ParamError("shard", "'" + text + "' is not K/N (e.g. 3/8: the third of 8 shards)");
    }
    if (s.count < 1 || s.index < 1 || s.index > s.count)
        throw ParamError("shard", "'" + text + "' is not a shard: N must be at least 1 and K within 1..N");
    return s;
}

std::string shardText(const WindowShard& shard) {
    return std::to_string(shard.index) + "/" + std::to_string(shard.count);
}

WindowSummary summarizeWindows(const std::vector<Window>& windows, const std::vector<int64_t>& documentStarts) {
    WindowSummary summary;
    summary.windows = int64_t(windows.size());
    const std::vector<int64_t> starts = documentStarts.empty() ? std::vector<int64_t>{0} : documentStarts;
    // Windows come in stream order, so the union of their ranges grows at its end only.
    int64_t coveredEnd = 0;     // end of the tokens covered so far
    int64_t documentsSeen = 0;  // documents [0, documentsSeen) have been looked at
    for (const Window& w : windows) {
        const int64_t begin = w.begin, end = w.begin + w.length;
        summary.scoredTokens += w.scoredCount();
        summary.tokens += std::max<int64_t>(0, end - std::max(begin, coveredEnd));
        coveredEnd = std::max(coveredEnd, end);
        // Count the documents this window overlaps that no earlier window did (empty ones never).
        const int64_t first = std::upper_bound(starts.begin(), starts.end(), begin) - starts.begin() - 1;
        int64_t d = std::max(documentsSeen, first);
        for (; d < int64_t(starts.size()) && starts[size_t(d)] < end; ++d) {
            const bool empty = d + 1 < int64_t(starts.size()) && starts[size_t(d) + 1] == starts[size_t(d)];
            if (!empty) ++summary.documents;
        }
        documentsSeen = std::max(documentsSeen, d);
    }
    return summary;
}

}  // namespace ls
