// The certified logit-lens top-1 (core/analysis/certified_lens_internal.h) equals the exact
// argmax of the full projection, computed here in float64, on every token: heads with a
// decaying and with a flat spectrum, every rank and the int8 method, exact ties (duplicated
// rows: the lowest index wins), states lying inside the rank-r subspace, states with outlier
// dimensions, and the demo model's real residual streams. Every approximate logit lies within
// its stated bound. The int8 cases are skipped on CPUs without VNNI, where it is never used.
//
// LibTorch comes before Qt: Qt's `slots` macro breaks <torch/torch.h>.
#include <torch/torch.h>

#include <QtTest>

#include "analysis/certified_lens_internal.h"
#include "analysis/int8_projection_internal.h"
#include "model/transformer_internal.h"
#include "test_support.h"

namespace {

// The reference: argmax over rows of W x in float64, ties to the lowest index. (M) int64
torch::Tensor exactTop1(const torch::Tensor& head, const torch::Tensor& x) {
    const torch::Tensor logits = x.to(torch::kFloat64).mm(head.to(torch::kFloat64).t());  // (M, V)
    const torch::Tensor best = std::get<0>(logits.max(1, /*keepdim=*/true));
    const torch::Tensor index = torch::arange(head.size(0), torch::kInt64).expand_as(logits);
    return torch::where(logits == best, index, torch::full_like(index, head.size(0))).amin(1);
}

// (V, D) with singular values decaying as 1 / (1 + k) (decay) or all equal (flat).
torch::Tensor makeHead(int64_t V, int64_t D, bool decay) {
    const torch::Tensor u = std::get<0>(torch::linalg_qr(torch::randn({V, D})));
    const torch::Tensor v = std::get<0>(torch::linalg_qr(torch::randn({D, D})));
    const torch::Tensor s = decay ? 4.0 / (1.0 + torch::arange(D, torch::kFloat32)) : torch::ones({D});
    return (u * s.unsqueeze(0)).mm(v.t()).mul(std::sqrt(double(V))).contiguous();
}

void expectExact(ls::CertifiedLens& lens, const torch::Tensor& head, const torch::Tensor& x, const QString& what) {
    const torch::Tensor ours = lens.top1(x), ref = exactTop1(head, x);
    const int64_t differ = ours.ne(ref).sum().item<int64_t>();
    QVERIFY2(differ == 0, qPrintable(QString("%1: %2 of %3 tokens differ").arg(what).arg(differ).arg(x.size(0))));
}

}  // namespace

class TestLens : public QObject {
    Q_OBJECT

private slots:
    void initTestCase() { torch::manual_seed(0); }
    void everyRankIsExact_data();
    void everyRankIsExact();
    void tiesGoToTheLowestIndex();
    void statesInsideTheSubspace();
    void int8IsExact_data();
    void int8IsExact();
    void int8BoundOnEveryLogit();
    void everyMethodOnTheDemoModel();
    void fromTheFullLogits();
    void choiceCache();
};

void TestLens::everyRankIsExact_data() {
    addRows<bool>("decay", {{"decaying spectrum", true}, {"flat spectrum", false}});
}

void TestLens::everyRankIsExact() {
    QFETCH(bool, decay);
    torch::InferenceMode guard;
    const torch::Tensor head = makeHead(2000, 48, decay);
    const torch::Tensor x = torch::randn({300, 48}) * 3;
    ls::CertifiedLens lens(head);
    for (int rank : {1, 4, 8, 16, 24, 47, 48}) {
        lens.setRank(rank);
        expectExact(lens, head, x, QString("rank %1").arg(rank));
    }
    QVERIFY(lens.candidates() >= lens.tokens());  // at least the winner per token
    const std::string choice = lens.chooseMethod(x, /*tokenLayers=*/int64_t(1) << 40);
    QVERIFY2(choice.find("full projection: ") == 0 && choice.find(" -> ") != std::string::npos, choice.c_str());
    QVERIFY(lens.timings().measured);
    expectExact(lens, head, x, "chosen rank");

    // A run as short as the sample cannot repay trying a method: the full projection, untried.
    ls::CertifiedLens shortRun(head);
    const std::string shortChoice = shortRun.chooseMethod(x, x.size(0));
    QVERIFY2(shortChoice.find("too few for a certified method to pay") != std::string::npos, shortChoice.c_str());
    QVERIFY(!shortRun.pays());
    QVERIFY(!shortRun.timings().measured);  // so no cache entry says "full" for longer runs

    // An earlier run's choice (the cache's) is taken again when it repays its set-up here, and
    // gives the exact top-1; a run too short for that keeps the full projection.
    ls::CertifiedLens::Timings earlier;
    earlier.sampleTokens = 300;
    earlier.full = 1.0;
    earlier.method = "rank 16";
    earlier.chosen = 0.25;
    earlier.setup = 3.0;  // repaid after 3 / (1.0 - 0.25) = 4 samples, 1,200 token-layers
    ls::CertifiedLens reused(head);
    const std::string again = reused.reuseChoice(earlier, x, 1300);
    QVERIFY2(reused.pays() && reused.method() == "rank 16", again.c_str());
    expectExact(reused, head, x, "rank 16 from an earlier choice");
    ls::CertifiedLens tooShort(head);
    const std::string notAgain = tooShort.reuseChoice(earlier, x, 1100);
    QVERIFY2(!tooShort.pays() && notAgain.find("too short a run to pay") != std::string::npos, notAgain.c_str());
}

void TestLens::tiesGoToTheLowestIndex() {
    torch::InferenceMode guard;
    torch::Tensor head = makeHead(600, 32, true);
    const torch::Tensor x = torch::randn({64, 32});
    // Rows 450, 90 and 301 become copies of the row that wins for token 0, so that every token
    // the original winner took is an exact three-way tie; the lowest index must win.
    const int64_t winner = exactTop1(head, x.narrow(0, 0, 1)).item<int64_t>();
    for (int64_t r : {450, 90, 301})
        if (r != winner) head[r].copy_(head[winner]);
    ls::CertifiedLens lens(head);
    for (int rank : {2, 8, 32}) {
        lens.setRank(rank);
        const torch::Tensor ours = lens.top1(x);
        QCOMPARE(ours[0].item<int64_t>(), std::min<int64_t>(winner, 90));
        expectExact(lens, head, x, QString("ties, rank %1").arg(rank));
    }
}

// At the final layer the float32 logits are there (for the loss): with the float32 GEMM's bound
// they give the exact top-1 too, near-ties included (float32's own argmax may miss those).
void TestLens::fromTheFullLogits() {
    torch::InferenceMode guard;
    for (bool decay : {true, false}) {
        torch::Tensor head = makeHead(3000, 64, decay);
        const torch::Tensor x = torch::randn({400, 64}) * 2;
        // Near-ties below float32's resolution: row 17 a copy of token 0's winner plus a change
        // in its last bits, row 5 an exact copy of token 1's winner.
        const torch::Tensor winners = exactTop1(head, x.narrow(0, 0, 2));
        head[17].copy_(head[winners[0].item<int64_t>()] * (1 + 1e-7));
        head[5].copy_(head[winners[1].item<int64_t>()]);
        ls::CertifiedLens lens(head);
        const torch::Tensor ours = lens.top1(x, at::linear(x, head)), ref = exactTop1(head, x);
        QVERIFY2(ours.equal(ref), qPrintable(QString("%1 of %2 tokens differ (decay %3)")
                                                 .arg(ours.ne(ref).sum().item<int64_t>()).arg(x.size(0)).arg(decay)));
        QCOMPARE(ours[1].item<int64_t>(), std::min<int64_t>(5, winners[1].item<int64_t>()));
        QVERIFY(lens.candidates() >= lens.tokens());
        QVERIFY2(lens.candidates() < 3 * lens.tokens(), "the float32 bound is tight: few exact dots");
    }
}

// The choice's cache entry: read back as written, keyed by model and machine, and an entry that
// does not read as one (truncated, hand-edited, from a future format) is no entry.
void TestLens::choiceCache() {
    QTemporaryDir cache;
    qputenv("XDG_CACHE_HOME", cache.path().toUtf8());
    const std::string key = ls::lensChoiceCacheKey("0123456789abcdef", 50257, 768);
    QVERIFY(key != ls::lensChoiceCacheKey("0123456789abcdef", 50257, 1024));
    QVERIFY(key != ls::lensChoiceCacheKey("fedcba9876543210", 50257, 768));
    QVERIFY(!ls::cachedLensChoice(key));
    ls::CertifiedLens::Timings t;
    t.sampleTokens = 256;
    t.full = 0.125;
    t.method = "rank 64";
    t.chosen = 0.05;
    t.setup = 1.5;
    ls::cacheLensChoice(key, t);
    const auto back = ls::cachedLensChoice(key);
    QVERIFY(back && back->measured);
    QCOMPARE(back->sampleTokens, t.sampleTokens);
    QCOMPARE(back->method, t.method);
    QCOMPARE_NEAR(back->full, t.full, 1e-12, 0.0);
    QCOMPARE_NEAR(back->chosen, t.chosen, 1e-12, 0.0);
    QCOMPARE_NEAR(back->setup, t.setup, 1e-12, 0.0);
    const QString file = cache.path() + "/layerscope/" + QString::fromStdString(key);
    for (const QByteArray& broken : {QByteArray("{\"format\": 1, \"sample_tok"), QByteArray("[1, 2]"),
                                     QByteArray("{\"format\": 2, \"sample_tokens\": 256, \"full_seconds\": 0.1, \"method\": "
                                                "\"int8\", \"method_seconds\": 0.05, \"setup_seconds\": 1}"),
                                     QByteArray("{\"format\": 1, \"sample_tokens\": 256, \"full_seconds\": -1, \"method\": "
                                                "\"int8\", \"method_seconds\": 0.05, \"setup_seconds\": 1}")}) {
        QFile f(file);
        QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
        f.write(broken);
        f.close();
        QVERIFY2(!ls::cachedLensChoice(key), broken.constData());
    }
    qunsetenv("XDG_CACHE_HOME");
}

void TestLens::statesInsideTheSubspace() {
    // x in the span of the top 8 right singular vectors: at rank 8 the residual bound is ~0
    // and only the rounding term is left, so nearly every token needs one exact dot.
    torch::InferenceMode guard;
    const torch::Tensor head = makeHead(3000, 40, true);
    const torch::Tensor vh = std::get<2>(torch::linalg_svd(head.to(torch::kFloat64), false));  // (D, D)
    const torch::Tensor x = (torch::randn({200, 8}, torch::kFloat64).mm(vh.narrow(0, 0, 8)) * 5).to(torch::kFloat32);
    ls::CertifiedLens lens(head);
    lens.setRank(8);
    expectExact(lens, head, x, "rank 8, states in its span");
    QVERIFY2(double(lens.candidates()) / double(lens.tokens()) < 3,
             qPrintable(QString("%1 candidates per token").arg(double(lens.candidates()) / double(lens.tokens()))));
}

void TestLens::int8IsExact_data() {
    QTest::addColumn<bool>("decay");
    QTest::addColumn<double>("outlier");  // scale of 3 of the 64 state dimensions (GPT-2's final states have such)
    QTest::newRow("flat spectrum") << false << 1.0;
    QTest::newRow("decaying spectrum") << true << 1.0;
    QTest::newRow("flat spectrum, outlier dimensions") << false << 40.0;
}

void TestLens::int8IsExact() {
    if (!ls::Int8Projection::available()) QSKIP("no VNNI on this CPU (or built without oneDNN): the int8 method is never used");
    QFETCH(bool, decay);
    QFETCH(double, outlier);
    torch::InferenceMode guard;
    torch::Tensor head = makeHead(5000, 64, decay);
    head[17].zero_();  // an all-zero row quantises with scale 1
    torch::Tensor x = torch::randn({700, 64}) * 2;  // 700: two full chunks of 256 and a partial one
    x.narrow(1, 5, 3).mul_(outlier);
    x[3].zero_();
    // Ties: rows 4100 and 2500 copy the row that wins for token 0; the lowest index must win.
    const int64_t winner = exactTop1(head, x.narrow(0, 0, 1)).item<int64_t>();
    for (int64_t r : {4100, 2500})
        if (r != winner) head[r].copy_(head[winner]);
    ls::CertifiedLens lens(head);
    lens.setInt8();
    QCOMPARE(lens.method(), std::string("int8"));
    expectExact(lens, head, x, "int8");
    QCOMPARE(lens.top1(x.narrow(0, 0, 1))[0].item<int64_t>(), std::min<int64_t>(winner, 2500));
    QVERIFY2(double(lens.candidates()) / double(lens.tokens()) < 500,
             qPrintable(QString("%1 exact dots per token").arg(double(lens.candidates()) / double(lens.tokens()))));
}

void TestLens::int8BoundOnEveryLogit() {
    // |w_i . x_t - approx_ti| <= bound_ti for every pair, against float64 logits, for the int8
    // method and a low rank alike; and the int8 bound is not vacuous (a fraction of the logits' spread:
    // about 0.12 at D = 96, growing as sqrt(D)).
    torch::InferenceMode guard;
    const torch::Tensor head = makeHead(3000, 96, false);
    const torch::Tensor x = torch::randn({200, 96}) * 3;
    ls::CertifiedLens lens(head);
    lens.setRank(24);
    QCOMPARE(lens.logitsOutsideBound(x), int64_t{0});
    if (!ls::Int8Projection::available()) QSKIP("no VNNI on this CPU (or built without oneDNN)");
    lens.setInt8();
    QCOMPARE(lens.logitsOutsideBound(x), int64_t{0});
    ls::Int8Projection int8(head);
    const ls::Int8Projection::Result r = int8.project(x);
    const torch::Tensor bound = r.stateNorm.unsqueeze(1) * int8.rowError().to(torch::kFloat64).unsqueeze(0) +
                                r.stateError.unsqueeze(1) * int8.rowNorm().to(torch::kFloat64).unsqueeze(0);
    const torch::Tensor exact = x.to(torch::kFloat64).mm(head.to(torch::kFloat64).t());
    const double spread = exact.std().item<double>(), meanBound = bound.mean().item<double>();
    QVERIFY2(meanBound < 0.25 * spread, qPrintable(QString("mean bound %1, logit spread %2").arg(meanBound).arg(spread)));
    const double worst = ((r.logits.to(torch::kFloat64) * r.scale.unsqueeze(1) - exact).abs() / bound).max().item<double>();
    QVERIFY2(worst <= 1.0 && worst > 0.01, qPrintable(QString("largest error / bound %1").arg(worst)));
}

void TestLens::everyMethodOnTheDemoModel() {
    const ls::Model model = ls::Model::load(LAYERSCOPE_SOURCE_DIR "/resources/demo/model");
    const ls::Model::Impl& m = model.impl();
    torch::InferenceMode guard;
    const torch::Tensor ids = torch::randint(model.config().vocabSize, {2, 64}, torch::kInt64);
    std::vector<torch::Tensor> normed;  // norm_f(h_l), (128, D) per layer
    ls::ForwardOptions o;
    o.computeLogits = false;
    o.observeResidual = [&](int, const torch::Tensor& h) { normed.push_back(m.normFinal(h.reshape({-1, h.size(-1)}))); };
    m.forward(ids, o);
    // Every method explicitly (which one chooseMethod keeps depends on the machine's timing),
    // then the chosen one.
    ls::CertifiedLens lens(m.weights.head);
    const int D = model.config().hiddenSize;
    for (int rank : {1, D / 4, D}) {
        lens.setRank(rank);
        for (size_t l = 0; l < normed.size(); ++l)
            expectExact(lens, m.weights.head, normed[l], QString("rank %1, layer %2").arg(rank).arg(l));
    }
    if (ls::Int8Projection::available()) {
        lens.setInt8();
        for (size_t l = 0; l < normed.size(); ++l)
            expectExact(lens, m.weights.head, normed[l], QString("int8, layer %1").arg(l));
    }
    lens.chooseMethod(normed[normed.size() / 2], int64_t(1) << 40);
    for (size_t l = 0; l < normed.size(); ++l)
        expectExact(lens, m.weights.head, normed[l], QString("%1, layer %2").arg(QString::fromStdString(lens.method())).arg(l));
}

QTEST_APPLESS_MAIN(TestLens)
#include "test_lens.moc"
