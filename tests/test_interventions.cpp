// Head interventions with known answers, on small random models built here (GPT-2 with
// biases, grouped-query Llama without):
//   - a head whose output-projection slice is zero: zero and mean ablation change nothing;
//   - a head whose output is the same at every position: mean ablation changes nothing;
//   - every head of a block zeroed == that block without attention (plus the output bias);
//   - the scan (cached post-attention residual, zero and mean paired in one batch) equals
//     re-running the whole model with the head edited, to float tolerance;
//   - a GQA query head ablated leaves the other heads of its key/value group as they were.
// The numbers themselves are checked against the Python references in test_analysis.
//
// LibTorch comes before Qt: Qt's `slots` macro breaks <torch/torch.h>.
#include <torch/torch.h>

#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <random>

#include "analysis/ablation.h"
#include "common/error.h"
#include "common/progress.h"
#include "data/dataset.h"
#include "model/transformer_internal.h"
#include "test_support.h"

namespace {

ls::ModelConfig smallConfig(const std::string& type) {
    ls::ModelConfig c;
    c.modelType = type;
    c.numLayers = 3;
    c.numHeads = 4;
    c.numKvHeads = type == "llama" ? 2 : 4;
    c.hiddenSize = 32;
    c.headDim = 8;
    c.intermediateSize = 64;
    c.vocabSize = 50;
    c.maxPositions = 64;
    c.activation = type == "llama" ? "silu" : "gelu_new";
    c.normEps = 1e-5;
    c.tiedEmbeddings = type != "llama";
    c.attentionBias = c.mlpBias = type == "gpt2";  // GPT-2 always has them
    return c;
}

// Random weights large enough that every head matters; GPT-2 gets non-zero biases.
ls::ModelWeights randomWeights(const ls::ModelConfig& c, uint64_t seed) {
    ls::ModelWeights w = ls::initializeWeights(c, seed);
    torch::NoGradGuard noGrad;
    torch::manual_seed(static_cast<uint64_t>(seed));
    for (torch::Tensor& t : ls::parameterList(w)) {
        if (t.dim() == 2) t.mul_(8.0);
        else if (t.dim() == 1 && c.modelType == "gpt2") t.add_(torch::randn_like(t) * 0.1);
    }
    return w;
}

ls::Model saveAndLoad(const QString& dir, const ls::ModelConfig& c, const ls::ModelWeights& w) {
    ls::saveModelFolder(dir.toStdString(), c, w);
    return ls::Model::load(dir.toStdString());
}

ls::Dataset randomTokens(int vocab, int count, uint32_t seed) {
    ls::Dataset d;
    d.path = "random";
    std::mt19937 rng(seed);
    for (int i = 0; i < count; ++i) d.tokens.push_back(static_cast<int32_t>(rng() % static_cast<uint32_t>(vocab)));
    d.documentStarts = {0};
    return d;
}

ls::AblationParams scanOf(std::vector<ls::HeadId> heads) {
    ls::AblationParams p;
    p.windows.seqLen = 32;
    p.heads = std::move(heads);
    p.subsetTokens = 0;
    p.attribution = false;
    return p;
}

// Mean loss over windows of 32 tokens (every position but the first scored), with the heads'
// outputs edited by `edit` in one plain forward per window: the reference for the scan.
double plainPpl(const ls::Model& model, const ls::Dataset& data,
                const std::function<void(int, torch::Tensor&)>& edit) {
    torch::InferenceMode guard;
    double sum = 0;
    int64_t count = 0;
    for (size_t begin = 0; begin + 32 <= data.tokens.size(); begin += 32) {
        std::vector<int64_t> ids(data.tokens.begin() + static_cast<std::ptrdiff_t>(begin),
                                 data.tokens.begin() + static_cast<std::ptrdiff_t>(begin + 32));
        const torch::Tensor x = torch::tensor(ids).view({1, 32});
        ls::ForwardOptions o;
        o.editHeadOutputs = edit;
        const torch::Tensor logp = torch::log_softmax(model.impl().forward(x, o).to(torch::kFloat64), -1);  // (1, 32, V)
        const torch::Tensor targets = x.narrow(1, 1, 31);
        sum -= logp.narrow(1, 0, 31).gather(-1, targets.unsqueeze(-1)).sum().item<double>();
        count += 31;
    }
    return std::exp(sum / static_cast<double>(count));
}

// |a - b| <= abs + rel * |b|. The PPLs here are O(vocabulary) = O(50): float32 forwards that
// batch or sum differently agree to ~1e-6 relative.
bool close(double a, double b, double abs, double rel) { return withinTolerance(a, b, abs, rel); }

}  // namespace

class TestInterventions : public QObject {
    Q_OBJECT

private slots:
    void initTestCase() { QVERIFY(dir_.isValid()); }
    void zeroOutputProjectionChangesNothing();
    void constantHeadMeanAblationChangesNothing();
    void allHeadsOfABlockEqualNoAttention_data();
    void allHeadsOfABlockEqualNoAttention();
    void scanEqualsPlainRerun_data();
    void scanEqualsPlainRerun();
    void groupedQueryHeadsStaySeparate();
    void headListParsing();

private:
    // A small random model (smallConfig, randomWeights(seed)) of the row's `type`, saved as
    // <name>-<type> and loaded back.
    ls::Model rowModel(const QString& name, uint32_t seed);

    QTemporaryDir dir_;
};

ls::Model TestInterventions::rowModel(const QString& name, uint32_t seed) {
    QFETCH(QString, type);
    const ls::ModelConfig c = smallConfig(type.toStdString());
    return saveAndLoad(dir_.filePath(name + "-" + type), c, randomWeights(c, seed));
}

void TestInterventions::zeroOutputProjectionChangesNothing() {
    const ls::ModelConfig c = smallConfig("gpt2");
    ls::ModelWeights w = randomWeights(c, 1);
    {
        torch::NoGradGuard noGrad;
        w.layers[1].oWeight.narrow(1, 2 * c.headDim, c.headDim).zero_();  // head 2 of block 2 writes nothing
    }
    const ls::Model model = saveAndLoad(dir_.filePath("zero-o"), c, w);
    const ls::Dataset data = randomTokens(c.vocabSize, 320, 7);
    ls::Progress progress;
    const ls::AblationResult r = ls::runAblationScan(model, data, scanOf({{2, 2}, {2, 1}}), progress);
    QCOMPARE(int(r.heads.size()), 2);
    const ls::HeadAblation& silent = r.heads[1];  // (layer, head) order: L1H1, L1H2
    QCOMPARE(silent.name(), std::string("L1H2"));
    // The scan's ablated batch vs its base batch: float32 sums in other orders (not exactly equal).
    QCOMPARE_NEAR(silent.zeroPpl, r.basePpl, 1e-9, 1e-6);
    QCOMPARE_NEAR(silent.meanPpl, r.basePpl, 1e-9, 1e-6);
    // Its neighbour writes through W_o and does change the loss: the check can fail.
    QVERIFY(!close(r.heads[0].zeroPpl, r.basePpl, 1e-9, 1e-4));
}

void TestInterventions::constantHeadMeanAblationChangesNothing() {
    // GPT-2 block 1, head 3: V weights zero, V bias non-zero, so the head outputs its V bias
    // at every position (attention weights sum to 1). Its mean over the evaluated tokens is
    // that constant: mean ablation is no change; zero ablation removes the bias term.
    const ls::ModelConfig c = smallConfig("gpt2");
    ls::ModelWeights w = randomWeights(c, 2);
    {
        torch::NoGradGuard noGrad;
        const int64_t h = 3, hd = c.headDim;
        w.layers[0].vWeight.narrow(0, h * hd, hd).zero_();
        w.layers[0].vBias.narrow(0, h * hd, hd).copy_(torch::linspace(-2, 2, hd));
    }
    const ls::Model model = saveAndLoad(dir_.filePath("const-head"), c, w);
    const ls::Dataset data = randomTokens(c.vocabSize, 320, 8);
    ls::Progress progress;
    const ls::AblationResult r = ls::runAblationScan(model, data, scanOf({{1, 3}}), progress);
    QCOMPARE(int(r.heads.size()), 1);
    QCOMPARE_NEAR(r.heads[0].meanPpl, r.basePpl, 1e-9, 1e-6);  // float32: the mean of a constant is not exact
    QVERIFY(!close(r.heads[0].zeroPpl, r.basePpl, 1e-9, 1e-4));
}

void TestInterventions::allHeadsOfABlockEqualNoAttention_data() {
    addRows<QString>("type", {{"gpt2 (output bias kept)", "gpt2"}, {"llama gqa", "llama"}});
}

void TestInterventions::allHeadsOfABlockEqualNoAttention() {
    // Zeroing every head of block l leaves that block's attention output = the output bias
    // (GPT-2) or 0 (Llama): the block is its MLP on h_{l-1} + bias. Compared with the MLP-only
    // continuation from the cached residual, for every block.
    const ls::Model model = rowModel("no-attn", 3);
    const ls::ModelConfig& c = model.config();
    const ls::Model::Impl& m = model.impl();
    torch::InferenceMode guard;
    const torch::Tensor ids = torch::randint(c.vocabSize, {2, 24}, torch::kInt64);
    std::vector<torch::Tensor> inputs;  // h_0 .. h_L
    ls::ForwardOptions observe;
    observe.observeResidual = [&](int, const torch::Tensor& x) { inputs.push_back(x); };
    const torch::Tensor base = m.forward(ids, observe);
    for (int l = 0; l < c.numLayers; ++l) {
        ls::ForwardOptions ablate;
        ablate.editHeadOutputs = [&](int layer, torch::Tensor& heads) {
            if (layer == l) heads.zero_();
        };
        const torch::Tensor ablated = m.forward(ids, ablate);
        torch::Tensor noAttention = inputs[static_cast<size_t>(l)];
        if (m.weights.layers[static_cast<size_t>(l)].oBias.defined()) noAttention = noAttention + m.weights.layers[static_cast<size_t>(l)].oBias;
        const torch::Tensor expected = m.forwardFromMlp(l, noAttention);
        const double err = (ablated - expected).abs().max().item<double>();
        QVERIFY2(err < 1e-4, qPrintable(QString("block %1: max |logit difference| %2").arg(l + 1).arg(err)));
        QVERIFY((ablated - base).abs().max().item<double>() > 1e-2);  // the attention mattered
    }
}

void TestInterventions::scanEqualsPlainRerun_data() {
    addRows<QString>("type", {{"gpt2", "gpt2"}, {"llama gqa", "llama"}});
}

void TestInterventions::scanEqualsPlainRerun() {
    const ls::Model model = rowModel("rerun", 4);
    const ls::ModelConfig& c = model.config();
    const ls::Dataset data = randomTokens(c.vocabSize, 256, 9);
    ls::Progress progress;
    const ls::AblationResult r = ls::runAblationScan(model, data, scanOf({}), progress);
    QCOMPARE(int(r.heads.size()), c.numLayers * c.numHeads);
    QCOMPARE_NEAR(r.basePpl, plainPpl(model, data, nullptr), 1e-9, 1e-5);  // other batch shapes: float32 rounding
    // Mean outputs for the plain re-run: every head's mean over the scored positions.
    torch::Tensor sums = torch::zeros({c.numLayers, c.numHeads, c.headDim}, torch::kFloat64);
    plainPpl(model, data, [&](int l, torch::Tensor& heads) {  // (1, 32, H, hd), scored: 0..30
        sums[l] += heads.narrow(1, 0, 31).sum(std::vector<int64_t>{0, 1}).to(torch::kFloat64);
    });
    const torch::Tensor means = (sums / double(data.tokens.size() / 32 * 31)).to(torch::kFloat32);
    for (const ls::HeadAblation& a : r.heads) {
        const int l = a.layer - 1, h = a.head;
        const double zero = plainPpl(model, data, [&](int layer, torch::Tensor& heads) {
            if (layer == l) heads.select(2, h).zero_();
        });
        const double mean = plainPpl(model, data, [&](int layer, torch::Tensor& heads) {
            if (layer == l) heads.select(2, h).copy_(means[l][h].expand({heads.size(0), heads.size(1), c.headDim}));
        });
        QVERIFY2(close(a.zeroPpl, zero, 1e-9, 1e-5), qPrintable(QString::fromStdString(a.name()) +
                                                          QString(" zero: scan %1, re-run %2").arg(a.zeroPpl, 0, 'g', 10).arg(zero, 0, 'g', 10)));
        QVERIFY2(close(a.meanPpl, mean, 1e-9, 1e-5), qPrintable(QString::fromStdString(a.name()) +
                                                          QString(" mean: scan %1, re-run %2").arg(a.meanPpl, 0, 'g', 10).arg(mean, 0, 'g', 10)));
    }
}

void TestInterventions::groupedQueryHeadsStaySeparate() {
    // Llama with 4 query heads on 2 key/value heads: query heads 0 and 1 share kv head 0.
    // Zero-ablating query head 0 must leave head 1's output untouched at the same layer.
    const ls::ModelConfig c = smallConfig("llama");
    const ls::Model model = saveAndLoad(dir_.filePath("gqa"), c, randomWeights(c, 5));
    torch::InferenceMode guard;
    const torch::Tensor ids = torch::randint(c.vocabSize, {1, 16}, torch::kInt64);
    torch::Tensor before, after;
    ls::ForwardOptions o;
    o.editHeadOutputs = [&](int layer, torch::Tensor& heads) {
        if (layer == 1) before = heads.clone();
    };
    model.impl().forward(ids, o);
    o.editHeadOutputs = [&](int layer, torch::Tensor& heads) {
        if (layer == 1) {
            heads.select(2, 0).zero_();
            after = heads.clone();
        }
    };
    const torch::Tensor ablated = model.impl().forward(ids, o);
    QVERIFY(torch::equal(after.select(2, 1), before.select(2, 1)));
    QCOMPARE_NEAR(after.select(2, 0).abs().max().item<double>(), 0.0, 0, 0);  // zero_() writes exact zeros
    // and the scan agrees with this plain run for that head
    ls::Dataset data;
    data.path = "ids";
    const torch::Tensor flat = ids.view({-1});
    for (int64_t i = 0; i < flat.size(0); ++i) data.tokens.push_back(static_cast<int32_t>(flat[i].item<int64_t>()));
    data.documentStarts = {0};
    ls::AblationParams p = scanOf({{2, 0}});
    p.windows.seqLen = 16;
    ls::Progress progress;
    const ls::AblationResult r = ls::runAblationScan(model, data, p, progress);
    const torch::Tensor logp = torch::log_softmax(ablated.to(torch::kFloat64), -1);
    const double loss = -logp.narrow(1, 0, 15).gather(-1, ids.narrow(1, 1, 15).unsqueeze(-1)).mean().item<double>();
    QCOMPARE_NEAR(r.heads[0].zeroPpl, std::exp(loss), 1e-9, 1e-5);  // scan vs a plain float32 run
}

void TestInterventions::headListParsing() {
    using V = std::vector<ls::HeadId>;
    QVERIFY((ls::parseHeadList("L0H3", 12, 12) == V{{1, 3}}));
    QVERIFY((ls::parseHeadList("L11H0,L0H3,L0H3", 12, 12) == V{{1, 3}, {12, 0}}));
    QCOMPARE(ls::parseHeadList("L2", 12, 4).size(), size_t(4));
    QVERIFY((ls::parseHeadList("L2,L2H1", 12, 2) == V{{3, 0}, {3, 1}}));
    auto fails = [](const std::string& list, const char* message) {
        try {
            ls::parseHeadList(list, 12, 12);
        } catch (const ls::Error& e) {
            return std::string(e.what()).find(message) != std::string::npos;
        }
        return false;
    };
    QVERIFY(fails("L12H0", "L12H0 is out of range (the model has layers L0..L11 and heads H0..H11)"));
    QVERIFY(fails("L0H12", "out of range"));
    QVERIFY(fails("0.3", "not a head name like L0H3"));
    QVERIFY(fails("L-1H0", "not a head name"));
    QVERIFY(fails("L0H", "not a head name"));
    QVERIFY(fails("", "not a head name"));
    QVERIFY(fails("L0H1,", "not a head name"));
}

QTEST_APPLESS_MAIN(TestInterventions)
#include "test_interventions.moc"
