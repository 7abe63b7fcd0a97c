// The capture pass: one forward per batch of windows; per-token scalars are computed from
// the residual streams while they are observed, so no hidden state outlives its batch.
// Shapes: B windows, T tokens per window, S scored positions per window, M = B * S,
// D hidden, V vocabulary, L blocks.
#include "analysis/capture_pass.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <random>

#include "analysis/capture_observer_internal.h"
#include "analysis/certified_lens_internal.h"
#include "analysis/int8_projection_internal.h"
#include "analysis/saturation.h"
#include "analysis/tuned_lens_internal.h"
#include "analysis/window_batches_internal.h"
#include "common/error.h"
#include "model/transformer_internal.h"

namespace ls {

namespace {

// Running sums over every (token, vocab) entry of the full logits x and the low-rank ones y,
// in float64 (hundreds of millions of entries), for their Pearson r and mean squared difference.
// Adds the (token, vocab) entries of x (full logits) and y (rank-r logits), both (M, V) float32.
void addLogitMoments(LogitMoments& m, const torch::Tensor& x, const torch::Tensor& y) {
    constexpr int64_t kRows = 64;  // (64, V) in float64 at a time: 25 MB at V = 49152
    for (int64_t i = 0; i < x.size(0); i += kRows) {
        const int64_t rows = std::min(kRows, x.size(0) - i);
        const torch::Tensor xd = x.narrow(0, i, rows).to(torch::kFloat64), yd = y.narrow(0, i, rows).to(torch::kFloat64);
        m.n += static_cast<double>(xd.numel());
        m.sx += xd.sum().item<double>();
        m.sy += yd.sum().item<double>();
        m.sxx += xd.square().sum().item<double>();
        m.syy += yd.square().sum().item<double>();
        m.sxy += (xd * yd).sum().item<double>();
        m.sse += (xd - yd).square().sum().item<double>();
    }
}

void checkRequest(const ModelConfig& c, const CaptureRequest& r, size_t windowCount) {
    const int maxRank = std::min(c.hiddenSize, c.vocabSize);
    if (!r.lowRankRanks.empty()) {
        if (r.lowRankLayer < 1 || r.lowRankLayer > c.numLayers)
            throw ParamError("layer", std::to_string(r.lowRankLayer) + " is out of range: the model has layers 1.." +
                        std::to_string(c.numLayers));
        for (int rank : r.lowRankRanks)
            if (rank < 1 || rank > maxRank)
                throw ParamError("ranks", "rank " + std::to_string(rank) + " is outside 1.." + std::to_string(maxRank) +
                            " (the output head's rank: min(hidden size, vocabulary))");
    }
    if (r.probeLayer > c.numLayers)
        throw ParamError("probe-layer", std::to_string(r.probeLayer) + " is out of range: the model has layers 0.." +
                    std::to_string(c.numLayers));
    for (int rank : r.metricRanks)
        if (rank < 1 || rank > maxRank)
            throw ParamError("metric-ranks", "rank " + std::to_string(rank) + " is outside 1.." + std::to_string(maxRank));
    if (r.inspect) {
        if (r.inspectWindow < 0 || static_cast<size_t>(r.inspectWindow) >= windowCount)
            throw ParamError("inspect-window", std::to_string(r.inspectWindow) + " is out of range: there are " +
                        std::to_string(windowCount) + " windows (0.." + std::to_string(windowCount - 1) + ")");
        if (r.topK < 1 || r.topK > c.vocabSize)
            throw ParamError("top-k", std::to_string(r.topK) + " is outside 1.." + std::to_string(c.vocabSize));
    }
}

// (..., K) int64 -> appends to out as int32
void appendInts(std::vector<int32_t>& out, const torch::Tensor& t) {
    const torch::Tensor c = t.to(torch::kInt32).contiguous();
    out.insert(out.end(), c.data_ptr<int32_t>(), c.data_ptr<int32_t>() + c.numel());
}

void appendFloats(std::vector<float>& out, const torch::Tensor& t) {
    const torch::Tensor c = t.to(torch::kFloat32).contiguous();
    out.insert(out.end(), c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

int64_t countTrue(const torch::Tensor& mask) { return mask.sum().item<int64_t>(); }

// The SVD of the head, kept as factors so that W_r x = (U_r S_r)(V_r^T x) for any r.
struct LowRankHead {
    torch::Tensor us;  // (V, k) float32: U scaled by the singular values
    torch::Tensor vt;  // (k, D) float32: V^T
    std::vector<double> singularValues;

    explicit LowRankHead(const torch::Tensor& head) {
        // float64: the small singular values and the coverage sums stay exact enough
        auto [u, s, vh] = torch::linalg_svd(head.to(torch::kFloat64), /*full_matrices=*/false);
        us = (u * s.unsqueeze(0)).to(torch::kFloat32).contiguous();
        vt = vh.to(torch::kFloat32).contiguous();
        const torch::Tensor sc = s.contiguous();
        singularValues.assign(sc.data_ptr<double>(), sc.data_ptr<double>() + sc.numel());
    }
    // x (M, D) -> W_r x (M, V)
    torch::Tensor logits(const torch::Tensor& x, int rank) const {
        return at::linear(at::linear(x, vt.narrow(0, 0, rank)), us.narrow(1, 0, rank));
    }
    // x (M, D) -> argmax W_r x (M) int64
    torch::Tensor top1(const torch::Tensor& x, int rank) const { return logits(x, rank).argmax(-1); }
};

// The inference-time metrics of logits z (M, V) for targets (M) (undefined: no correctLogProb).
void appendMetrics(LayerMetrics& out, const torch::Tensor& z, const torch::Tensor& targets) {
    const torch::Tensor logp = torch::log_softmax(z, -1);  // (M, V)
    const auto [top2, top2Index] = z.topk(2, -1);          // (M, 2)
    const torch::Tensor maxZ = top2.select(-1, 0);
    appendFloats(out.confidence, std::get<0>(logp.max(-1)).exp());
    appendFloats(out.maxLogit, maxZ);
    appendFloats(out.maxMinusMean, maxZ - z.mean(-1));
    appendFloats(out.margin, maxZ - top2.select(-1, 1));
    appendFloats(out.entropy, -(logp.exp() * logp).sum(-1));
    if (targets.defined()) appendFloats(out.correctLogProb, logp.gather(-1, targets.unsqueeze(-1)).squeeze(-1));
}

// A uniform random sample of at most `capacity` token rows, the same whichever way the windows
// are split (run --shard): each token gets a seeded random key from its position in the stream
// and the sample is the `capacity` tokens with the smallest keys (bottom-k sampling), so the
// sample of a merged run is the bottom-k of its shards' samples.
}  // namespace

void LogitMoments::add(const LogitMoments& o) {
    n += o.n;
    sx += o.sx;
    sy += o.sy;
    sxx += o.sxx;
    syy += o.syy;
    sxy += o.sxy;
    sse += o.sse;
}

void setLogitAgreement(LowRankMetrics& k) {
    const LogitMoments& m = k.moments;
    if (m.n == 0) return;
    const double cov = m.sxy / m.n - (m.sx / m.n) * (m.sy / m.n);
    const double vx = m.sxx / m.n - (m.sx / m.n) * (m.sx / m.n), vy = m.syy / m.n - (m.sy / m.n) * (m.sy / m.n);
    k.logitCorr = vx > 0 && vy > 0 ? cov / std::sqrt(vx * vy) : std::nan("");
    k.logitMse = m.sse / m.n;
}

uint64_t probeSampleKey(uint64_t seed, int64_t streamIndex) {  // splitmix64 of the pair
    uint64_t z = seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(streamIndex) + 0x632BE59BD9B4E019ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

namespace {

class TokenSample {
public:
    TokenSample(int64_t capacity, int dim, uint64_t seed) : capacity_(capacity), dim_(dim), seed_(seed) {}
    // rows (M, D) float32 for tokens firstToken .. firstToken + M - 1, whose targets sit at
    // streamIndex[0 .. M) in the token stream
    void add(const torch::Tensor& rows, int64_t firstToken, const std::vector<int64_t>& streamIndex) {
        const torch::Tensor c = rows.contiguous();
        const float* data = c.data_ptr<float>();
        for (int64_t i = 0; i < c.size(0); ++i) {
            const Entry e{probeSampleKey(seed_, streamIndex[static_cast<size_t>(i)]), firstToken + i, 0};
            size_t slot = entries_.size();
            if (static_cast<int64_t>(entries_.size()) < capacity_) {
                hidden_.resize(hidden_.size() + static_cast<size_t>(dim_));
                entries_.push_back(e);
            } else {
                if (!(e.key < entries_.front().key)) continue;  // the heap's top is the largest key kept
                std::pop_heap(entries_.begin(), entries_.end(), byKey);
                slot = entries_.back().slot;
                entries_.back() = e;
            }
            entries_.back().slot = slot;
            std::push_heap(entries_.begin(), entries_.end(), byKey);
            std::copy(data + i * dim_, data + (i + 1) * dim_, hidden_.begin() + static_cast<std::ptrdiff_t>(slot) * dim_);
        }
    }
    // Rows sorted by token index.
    void moveTo(std::vector<int64_t>& tokens, std::vector<float>& hidden) {
        std::sort(entries_.begin(), entries_.end(), [](const Entry& a, const Entry& b) { return a.token < b.token; });
        tokens.clear();
        hidden.clear();
        for (const Entry& e : entries_) {
            tokens.push_back(e.token);
            const auto row = hidden_.begin() + static_cast<std::ptrdiff_t>(e.slot) * dim_;
            hidden.insert(hidden.end(), row, row + dim_);
        }
    }

private:
    struct Entry {
        uint64_t key;
        int64_t token;  // index into the per-token arrays
        size_t slot;    // row in hidden_
    };
    static bool byKey(const Entry& a, const Entry& b) { return a.key < b.key; }
    int64_t capacity_;
    int dim_;
    uint64_t seed_;
    std::vector<Entry> entries_;  // a max-heap by key
    std::vector<float> hidden_;
};

double medianSeconds(const std::function<void()>& work, int repeats = 5) {
    std::vector<double> t;
    for (int i = 0; i < repeats; ++i) {
        const auto start = std::chrono::steady_clock::now();
        work();
        t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
}

// Full vs factorised top-1 on the same batch of normed final states x (M, D).
std::vector<LowRankTiming> timeLowRank(const Model::Impl& m, const LowRankHead& lr, const torch::Tensor& x,
                                       const std::vector<int>& ranks) {
    std::vector<LowRankTiming> out;
    const double full = medianSeconds([&] { m.headLogits(x).argmax(-1); });
    for (int r : ranks) {
        // contiguous factors, as a deployment would store them
        const torch::Tensor us = lr.us.narrow(1, 0, r).contiguous(), vt = lr.vt.narrow(0, 0, r).contiguous();
        LowRankTiming t;
        t.rank = r;
        t.tokens = x.size(0);
        t.fullSeconds = full;
        t.factoredSeconds = medianSeconds([&] { at::linear(at::linear(x, vt), us).argmax(-1); });
        out.push_back(t);
    }
    return out;
}

// One separate forward over the inspected window: all positions, every layer 0..L.
InspectGrid inspectWindow(const Model::Impl& m, const LensReader& lens, const std::vector<int32_t>& tokens,
                          const Window& w, int index, int topK) {
    const int L = m.config.numLayers;
    torch::Tensor ids = torch::empty({1, w.length}, torch::kInt64);  // (1, T)
    for (int t = 0; t < w.length; ++t) ids[0][t] = tokens[w.begin + t];
    std::vector<torch::Tensor> residuals;  // L + 1 of (T, D)
    ForwardOptions options;
    options.computeLogits = false;
    options.observeResidual = [&](int, const torch::Tensor& h) { residuals.push_back(h[0]); };
    m.forward(ids, options);

    InspectGrid g;
    g.window = index;
    g.begin = w.begin;
    g.positions = w.length;
    g.layers = L + 1;
    g.topK = topK;
    for (int t = 0; t < w.length; ++t) {
        g.inputIds.push_back(tokens[w.begin + t]);
        g.targetIds.push_back(t + 1 < w.length ? tokens[w.begin + t + 1] : -1);
    }
    const torch::Tensor finalTop1 = lens.logits(LensStage::Block, L, residuals[L]).argmax(-1);  // (T)
    std::vector<torch::Tensor> ids_, probs_, finalProb_;
    for (int l = 0; l <= L; ++l) {
        const torch::Tensor probs = torch::softmax(lens.logits(LensStage::Block, l, residuals[l]), -1);  // (T, V)
        auto [p, i] = probs.topk(topK, -1);                                         // (T, K)
        ids_.push_back(i);
        probs_.push_back(p);
        finalProb_.push_back(probs.gather(-1, finalTop1.unsqueeze(-1)).squeeze(-1));  // (T)
    }
    // (T, L+1, K) and (T, L+1), position-major like InspectGrid::index
    appendInts(g.topIds, torch::stack(ids_, 1));
    appendFloats(g.topProbs, torch::stack(probs_, 1));
    appendFloats(g.finalTop1Prob, torch::stack(finalProb_, 1));
    return g;
}

}  // namespace

CaptureResult runCapturePass(const Model& model, const Dataset& data, const WindowParams& windowParams,
                             const CaptureRequest& request, Progress& progress) {
    const auto start = std::chrono::steady_clock::now();
    const Model::Impl& m = model.impl();
    const ModelConfig& c = model.config();
    const int L = c.numLayers;
    // A shard computes its range of the run's windows (the inspector's window is numbered in the run).
    const ShardWindows shard = prepareShardWindows(c, data, windowParams);
    const std::vector<Window>& windows = shard.mine;
    checkRequest(c, request, shard.all.size());
    const bool lowRank = !request.lowRankRanks.empty();
    const bool lens = request.lens || lowRank;  // detection needs the true saturation labels
    int64_t totalScored = 0;
    for (const Window& w : windows) totalScored += w.scoredCount();

    torch::InferenceMode guard;
    const LensReader lensReader(m, request.tunedLens);
    CaptureResult r;
    r.numLayers = L;
    r.hiddenSize = c.hiddenSize;
    r.windows = static_cast<int64_t>(windows.size());
    const size_t n = static_cast<size_t>(totalScored);
    r.targetIndex.reserve(n);
    r.targetId.reserve(n);
    r.loss.reserve(n);
    if (request.cossim) r.cossim.assign(L, {});
    if (lens) r.lensTop1.assign(L + 1, {});
    if (request.postAttentionLens) r.postAttentionTop1.assign(L, {});
    for (auto& v : r.cossim) v.reserve(n);
    for (auto& v : r.lensTop1) v.reserve(n);
    for (auto& v : r.postAttentionTop1) v.reserve(n);

    if (request.metrics) r.metrics.assign(L, {});
    for (int rank : request.metricRanks) r.lowRankMetrics.emplace_back().rank = rank;
    std::unique_ptr<TokenSample> probeSample;
    if (request.probeLayer >= 0 && request.probeSampleSize > 0) {
        r.probeLayer = request.probeLayer;
        probeSample = std::make_unique<TokenSample>(request.probeSampleSize, c.hiddenSize, request.probeSeed);
    }

    std::unique_ptr<LowRankHead> lowRankHead;
    torch::Tensor timingBatch;  // (M, D) normed final states of the first batch
    // The head as float32 for its factorisations (the SVD, the certified lens): one copy of a
    // half-precision head, shared; the head itself otherwise.
    torch::Tensor floatHead;
    auto headFloat32 = [&] {
        if (!floatHead.defined()) floatHead = m.headFloat32();
        return floatHead;
    };
    if (lowRank || !request.metricRanks.empty()) {
        progress.setStage("SVD of the output head");
        lowRankHead = std::make_unique<LowRankHead>(headFloat32());
        r.singularValues = lowRankHead->singularValues;
        for (int rank : request.lowRankRanks) r.lowRank.push_back(LowRankCounts{rank});
    }

    // The lens's top-1 alone (no metrics, which need every logit): exact and cheaper by the
    // certified bound (int8 or low rank). By default the method is timed on the first window's
    // middle layer; request.lensMethod may force one (or the float32 projection, "full").
    std::unique_ptr<CertifiedLens> certified;
    using Method = LensMethod::Kind;
    const LensMethod method = parseLensMethod(request.lensMethod, c.hiddenSize);
    if (lens && !request.metrics && method.kind != Method::Full) {
        if (method.kind == Method::Int8 && !Int8Projection::available())
            throw ParamError("lens-method", "int8 needs a CPU with VNNI (and a build with oneDNN); this one has none");
        progress.setStage("Preparing the certified lens (head factors, int8 weights)");
        certified = std::make_unique<CertifiedLens>(headFloat32());
        if (method.kind == Method::Int8) {
            certified->setInt8();
            r.lensMethodChoice = "int8 (asked for)";
        } else if (method.kind == Method::LowRank) {
            certified->setRank(method.rank);
            r.lensMethodChoice = "rank " + std::to_string(method.rank) + " (asked for)";
        } else {
            const int64_t tokenLayers = totalScored * ((L + 1) + (request.postAttentionLens ? L : 0));
            const std::string cacheKey = request.modelHash.empty() ? "" : lensChoiceCacheKey(request.modelHash, c.vocabSize, c.hiddenSize);
            const std::optional<CertifiedLens::Timings> earlier = cachedLensChoice(cacheKey);
            // The sample: the middle layer's states at the first window's first 256 positions,
            // from a forward over those 256 tokens only (a whole window would cost a full forward).
            // A choice taken from the cache needs it only for the int8 bound's check.
            torch::Tensor sample;
            if (!earlier || earlier->method == "int8") {
                ForwardOptions o;
                o.computeLogits = false;
                o.observeResidual = [&](int l, const torch::Tensor& h) {
                    if (l == L / 2) sample = m.normFinal(h.reshape({-1, h.size(-1)}));
                };
                forEachWindowBatch({windows.front()}, data.tokens, progress, [&](const WindowBatch& b) {
                    m.forward(b.ids.narrow(0, 0, 1).narrow(1, 0, std::min<int64_t>(256, b.ids.size(1))), o);
                });
            }
            if (earlier) {
                r.lensMethodChoice = certified->reuseChoice(*earlier, sample, tokenLayers);
            } else {
                r.lensMethodChoice = certified->chooseMethod(sample, tokenLayers);
                if (certified->timings().measured && !cacheKey.empty()) cacheLensChoice(cacheKey, certified->timings());
            }
            if (!certified->pays()) certified.reset();
        }
    }
    auto lensTop1 = [&](const torch::Tensor& normed, const torch::Tensor& logits) {  // (M, D), (M, V) or undefined
        if (!certified) return (logits.defined() ? logits : m.headLogits(normed)).argmax(-1);
        return logits.defined() ? certified->top1(normed, logits) : certified->top1(normed);
    };

    const bool observersWantPostAttention =
        std::any_of(request.observers.begin(), request.observers.end(),
                    [](const CaptureObserver* o) { return o->wantsPostAttention(); });
    r.setupSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    progress.setStage("Capturing " + std::to_string(windows.size()) + " windows");
    progress.setFraction(0.0);
    forEachWindowBatch(windows, data.tokens, progress, [&](const WindowBatch& batch) {
        const int64_t S = batch.scoredPerWindow(), from = batch.firstScored - 1;
        // Scored positions of a (B, T, D) stream as (M, D).
        auto scored = [&](const torch::Tensor& h) { return h.narrow(1, from, S).reshape({-1, h.size(-1)}); };
        torch::Tensor previous;                       // (M, D) h_{l-1}
        torch::Tensor normedLayer, normedFinal;       // (M, D) norm_f(h_l) at the chosen layer and at L
        std::vector<torch::Tensor> top1(L + 1);       // (M) int64 per lens layer
        torch::Tensor finalLogits;                    // (M, V)
        const torch::Tensor targets = batch.ids.narrow(1, batch.firstScored, S).reshape({-1});  // (M)
        const int64_t firstToken = static_cast<int64_t>(r.loss.size());
        std::vector<int64_t> streamIndex;  // (M) where each scored target sits in the token stream
        for (int64_t b = 0; b < batch.size; ++b)
            for (int64_t s = 0; s < S; ++s) streamIndex.push_back(windows[batch.first + b].begin + batch.firstScored + s);

        ForwardOptions options;
        options.computeLogits = false;
        options.observeResidual = [&](int l, const torch::Tensor& full) {
            const torch::Tensor h = scored(full);
            // What cos-sim and the probes see as h_l: at L, Hugging Face's hidden_states[-1] if asked.
            const torch::Tensor seen = request.finalNormLast && l == L ? m.normFinal(h) : h;
            if (request.cossim && l > 0)
                appendFloats(r.cossim[l - 1], torch::cosine_similarity(previous, seen, /*dim=*/-1, /*eps=*/1e-8));
            if (probeSample && l == request.probeLayer) probeSample->add(seen, firstToken, streamIndex);
            for (CaptureObserver* o : request.observers) o->residual(l, h);
            if (lens || l == L || (request.metrics && l > 0)) {
                const torch::Tensor normed = lensReader.normed(LensStage::Block, l, h);
                // (M, V): the loss needs layer L's, the metrics every layer's
                torch::Tensor logits = l == L || request.metrics ? m.headLogits(normed) : torch::Tensor();
                top1[l] = lensTop1(normed, logits);
                if (lens) appendInts(r.lensTop1[l], top1[l]);
                if (request.metrics && l > 0) appendMetrics(r.metrics[l - 1], logits, targets);
                if (lowRank && l == request.lowRankLayer) normedLayer = normed;
                if (l == L) {
                    normedFinal = normed;
                    finalLogits = std::move(logits);
                }
            }
            previous = h;
        };
        if (request.postAttentionLens || observersWantPostAttention)
            options.observePostAttention = [&](int l, const torch::Tensor& full) {
                const torch::Tensor a = scored(full);
                if (request.postAttentionLens)
                    appendInts(r.postAttentionTop1[l - 1], lensTop1(lensReader.normed(LensStage::Attention, l, a), torch::Tensor()));
                for (CaptureObserver* o : request.observers)
                    if (o->wantsPostAttention()) o->postAttention(l, a);
            };
        m.forward(batch.ids, options);
        for (CaptureObserver* o : request.observers) o->endBatch(targets);

        appendFloats(r.loss, tokenLosses(finalLogits, targets));
        for (const int64_t target : streamIndex) {
            r.targetIndex.push_back(target);
            r.targetId.push_back(data.tokens[target]);
        }
        if (lowRank) {
            const torch::Tensor trueSat = top1[request.lowRankLayer].eq(top1[L]);  // (M) bool
            for (LowRankCounts& k : r.lowRank) {
                const torch::Tensor lowFinal = lowRankHead->top1(normedFinal, k.rank);
                const torch::Tensor lowLayer = lowRankHead->top1(normedLayer, k.rank);
                const torch::Tensor predSat = lowLayer.eq(lowFinal);
                k.agreeFinal += countTrue(lowFinal.eq(top1[L]));
                k.agreeLayer += countTrue(lowLayer.eq(top1[request.lowRankLayer]));
                k.truePositive += countTrue(predSat & trueSat);
                k.falsePositive += countTrue(predSat & ~trueSat);
                k.falseNegative += countTrue(~predSat & trueSat);
                k.trueNegative += countTrue(~predSat & ~trueSat);
            }
            if (!timingBatch.defined()) timingBatch = normedFinal.clone();
        }
        for (size_t i = 0; i < r.lowRankMetrics.size(); ++i) {
            LowRankMetrics& k = r.lowRankMetrics[i];
            const auto t0 = std::chrono::steady_clock::now();
            const torch::Tensor approx = lowRankHead->logits(normedFinal, k.rank);  // (M, V)
            k.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            k.tokens += approx.size(0);
            appendMetrics(k.metrics, approx, torch::Tensor());
            addLogitMoments(k.moments, finalLogits, approx);
        }
        finalLogits = torch::Tensor();
        progress.setFraction(static_cast<double>(r.loss.size()) / static_cast<double>(totalScored));
    });

    for (LowRankMetrics& k : r.lowRankMetrics) setLogitAgreement(k);
    if (probeSample) probeSample->moveTo(r.probeTokens, r.probeHidden);
    if (lowRank) {
        progress.setStage("Timing the factorised head");
        r.lowRankTiming = timeLowRank(m, *lowRankHead, timingBatch, request.lowRankRanks);
    }
    const size_t inspected = static_cast<size_t>(request.inspectWindow);
    if (request.inspect && inspected >= shard.first && inspected < shard.first + windows.size()) {  // this shard's
        progress.setStage("Token inspector");
        r.inspect = inspectWindow(m, lensReader, data.tokens, shard.all[inspected], request.inspectWindow, request.topK);
    }
    if (certified) r.lensCandidatesPerToken = static_cast<double>(certified->candidates()) / static_cast<double>(certified->tokens());
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return r;
}

}  // namespace ls
