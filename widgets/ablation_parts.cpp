// The scan by head, the texts of AblationView's numbers, and its tables (ablation_parts.h).
#include <QHeaderView>
#include <QTableWidget>
#include <algorithm>
#include <cmath>

#include "ablation_parts.h"
#include "kit/format.h"
#include "kit/tables.h"

namespace ls::widgets {

// ---- the scan by head -----------------------------------------------------------------------

bool zeroEvaluated(const ls::HeadAblation& a) { return std::isfinite(a.zeroPpl) && a.zeroPpl > 0; }
bool meanEvaluated(const ls::HeadAblation& a) { return std::isfinite(a.meanPpl) && a.meanPpl > 0; }

void AblationIndex::reset(const ls::AblationResult* result) {
    result_ = result && !result->heads.empty() ? result : nullptr;
    full_.clear();
    subset_.clear();
    layers_ = heads_ = 0;
    if (!result_)
        return;
    int L = result_->numLayers, H = result_->numHeads;
    for (const ls::HeadAblation& a : result_->heads) {
        L = std::max(L, a.layer);
        H = std::max(H, a.head + 1);
    }
    layers_ = L;
    heads_ = H;
    auto fill = [&](std::vector<int>& lookup, const std::vector<ls::HeadAblation>& heads) {
        lookup.assign(size_t(L) * size_t(H), -1);
        for (size_t i = 0; i < heads.size(); ++i) {
            const ls::HeadAblation& a = heads[i];
            if (a.layer >= 1 && a.layer <= L && a.head >= 0 && a.head < H)
                lookup[size_t(a.layer - 1) * size_t(H) + size_t(a.head)] = int(i);
        }
    };
    fill(full_, result_->heads);
    fill(subset_, result_->subsetHeads);
}

const ls::HeadAblation* AblationIndex::at(int layer, int head) const {
    if (!result_ || layer < 1 || layer > layers_ || head < 0 || head >= heads_)
        return nullptr;
    const int i = full_[size_t(layer - 1) * size_t(heads_) + size_t(head)];
    return i >= 0 ? &result_->heads[size_t(i)] : nullptr;
}

const ls::HeadAblation* AblationIndex::subsetAt(int layer, int head) const {
    if (!result_ || layer < 1 || layer > layers_ || head < 0 || head >= heads_)
        return nullptr;
    const int i = subset_[size_t(layer - 1) * size_t(heads_) + size_t(head)];
    return i >= 0 ? &result_->subsetHeads[size_t(i)] : nullptr;
}

std::vector<const ls::HeadAblation*> AblationIndex::top(int n) const {
    std::vector<const ls::HeadAblation*> heads;
    if (!result_)
        return heads;
    for (const ls::HeadAblation& a : result_->heads)
        if (zeroEvaluated(a) && a.zeroRank > 0 && std::isfinite(a.zeroDppl))
            heads.push_back(&a);
    std::stable_sort(heads.begin(), heads.end(),
                     [](const ls::HeadAblation* a, const ls::HeadAblation* b) { return a->zeroRank < b->zeroRank; });
    if (heads.size() > size_t(n))
        heads.resize(size_t(n));
    return heads;
}

// ---- texts ----------------------------------------------------------------------------------

QString headName(int layer, int head) { return QStringLiteral("L%1H%2").arg(layer - 1).arg(head); }

QString rankText(int rank) { return rank > 0 ? QString::number(rank) : noValue(); }

QString ratioText(double r) {
    if (!std::isfinite(r))
        return noValue();
    const double a = std::abs(r);
    if (a >= 100)  // halves to even, as the seed's 245 / 2 windows = "122x"
        return QString::number(std::nearbyint(r), 'f', 0) + QStringLiteral("x");
    return QString::number(r, 'f', a >= 10 ? 1 : 2) + QStringLiteral("x");
}

QString curveRatioText(double r) {
    return std::isfinite(r) ? QStringLiteral("%1x").arg(r, 0, 'f', std::abs(r) >= 10 ? 2 : 3) : noValue();
}

QString limitText(double limit) { return QStringLiteral("%1x").arg(limit, 0, 'f', 1); }

QString compactTokens(int64_t n) {
    if (n < 1000)
        return QString::number(n);
    if (n < 1000000)
        return QStringLiteral("%1K").arg(std::llround(n / 1000.0));
    return QStringLiteral("%1M").arg(n / 1e6, 0, 'f', n < 10000000 ? 1 : 0);
}

QString scaleName(ColourScale scale) {
    switch (scale) {
    case ColourScale::Linear: return AblationView::tr("linear");
    case ColourScale::SymmetricLog: return AblationView::tr("symmetric log");
    case ColourScale::SignedSqrt: return AblationView::tr("signed sqrt");
    }
    return {};
}

QSharedPointer<QCPAxisTicker> scaleTicker(ColourScale scale, double lo, double hi, double gap) {
    if (scale == ColourScale::Linear) {
        QSharedPointer<QCPAxisTicker> ticker(new QCPAxisTicker);
        ticker->setTickCount(5);
        return ticker;
    }
    // Decades first (the symmetric log's natural ticks), then 2 and 5 times them where there
    // is plenty of room (twice the gap).
    static const double decades[] = {1000, 100, 10, 1, 0.1, 0.01, 0.001, 0.0001};
    static const double between[] = {500, 200, 50, 20, 5, 2, 0.5, 0.2, 0.05, 0.02, 0.005, 0.002, 0.0005, 0.0002};
    QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
    ticker->addTick(0, QStringLiteral("0"));
    for (int sign : {1, -1}) {
        QList<double> kept{0.0};  // scaled positions taken on this side
        auto consider = [&](double v, double need) {
            const double f = AblationView::toScale(sign * v, scale);
            if (f > hi * 1.0001 + 1e-12 || f < lo * 1.0001 - 1e-12)
                return;
            for (double k : kept)
                if (std::abs(k - f) < need)
                    return;
            kept << f;
            ticker->addTick(f, (sign > 0 ? QStringLiteral("+") : QStringLiteral("-")) + QString::number(v, 'g', 3));
        };
        for (double v : decades)
            consider(v, gap);
        for (double v : between)
            consider(v, 2 * gap);
    }
    ticker->setSubTickCount(0);
    return ticker;
}

// ---- tables ---------------------------------------------------------------------------------

namespace {

QString relativeChange(double subset, double full) {
    if (!std::isfinite(subset) || !std::isfinite(full) || subset == 0)
        return noValue();
    const double c = full / subset - 1;
    return QStringLiteral("%1%2%").arg(c >= 0 ? "+" : "").arg(c * 100, 0, 'f', std::abs(c) < 0.1 ? 1 : 0);
}

QString times(double subset, double full) {
    if (!std::isfinite(subset) || !std::isfinite(full) || subset <= 0)
        return noValue();
    return ratioText(full / subset);
}

QString ppl(double v) { return formatNumber(v, 2); }

}  // namespace

QTableWidget* makeTopTable(QWidget* parent) {
    const auto tr = [](const char* text) { return AblationView::tr(text); };
    QTableWidget* table =
        makeTable(parent,
                  {tr("Rank"), tr("Rank\n(subset)"), tr("Head"), tr("ΔPPL\nzero"), tr("ΔPPL zero\n(subset)"),
                   tr("ΔPPL\nmean"), tr("zero /\nmean")},
                  {tr("Zero-ablation rank on all tokens (1 = most damaging)"),
                   tr("Zero-ablation rank on the subset (the first windows)"), QString(),
                   tr("Zero-ablation ΔPPL = PPL / base − 1 on all tokens"),
                   tr("Zero-ablation ΔPPL on the subset (the first windows)"), tr("Mean-ablation ΔPPL on all tokens"),
                   tr("Zero ΔPPL / mean ΔPPL: large = the head mostly adds a constant (its mean output)")});
    table->setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    table->setFixedHeight(tableHeight(table, AblationView::kTopHeads));
    return table;
}

void fillTopTable(QTableWidget* table, const AblationIndex& index, const std::vector<const ls::HeadAblation*>& top,
                  const std::function<QString(const ls::HeadAblation&)>& tip) {
    const ls::AblationResult& r = *index.result();
    const bool subset = !r.subsetHeads.empty();
    const QString sub = compactTokens(r.subsetTokens);
    table->horizontalHeaderItem(1)->setText(AblationView::tr("Rank\n(%1)").arg(sub));
    table->horizontalHeaderItem(4)->setText(AblationView::tr("ΔPPL zero\n(%1)").arg(sub));
    table->setColumnHidden(1, !subset);
    table->setColumnHidden(4, !subset);
    table->setRowCount(int(top.size()));
    for (int row = 0; row < int(top.size()); ++row) {
        const ls::HeadAblation& a = *top[size_t(row)];
        const ls::HeadAblation* s = index.subsetAt(a.layer, a.head);
        const QString rowTip = tip(a);
        const QList<QPair<QString, Qt::Alignment>> cells{
            {rankText(a.zeroRank), kCentreAlign},
            {s ? rankText(s->zeroRank) : noValue(), kCentreAlign},
            {QString::fromStdString(a.name()), kCentreAlign},
            {formatSigned(a.zeroDppl), kNumberAlign},
            {s ? formatSigned(s->zeroDppl) : noValue(), kNumberAlign},
            {meanEvaluated(a) ? formatSigned(a.meanDppl) : noValue(), kNumberAlign},
            {meanEvaluated(a) ? ratioText(a.zeroMeanRatio) : noValue(), kNumberAlign}};
        for (int c = 0; c < cells.size(); ++c)
            setCell(table, row, c, cells[c].first, cells[c].second, rowTip);
    }
    fitColumns(table);
}

QTableWidget* makeSubsetTable(QWidget* parent) {
    QTableWidget* table = makeTable(parent, {QString(), AblationView::tr("subset"), AblationView::tr("all"),
                                             AblationView::tr("change")});
    table->setSelectionMode(QAbstractItemView::NoSelection);
    table->setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    table->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    table->setRowCount(3);
    table->setFixedHeight(tableHeight(table, 3));
    return table;
}

void fillSubsetTable(QTableWidget* table, const ls::AblationResult* result) {
    if (!result) {
        for (int r = 0; r < table->rowCount(); ++r)
            for (int c = 0; c < table->columnCount(); ++c)
                setCell(table, r, c, QString());
        return;
    }
    const ls::AblationResult& r = *result;
    const bool subset = !r.subsetHeads.empty();
    table->horizontalHeaderItem(1)->setText(subset ? compactTokens(r.subsetTokens) : AblationView::tr("subset"));
    table->horizontalHeaderItem(2)->setText(AblationView::tr("all (%1)").arg(compactTokens(r.tokens)));
    const QString none = noValue();
    setCell(table, 0, 0, AblationView::tr("Windows"), kTextAlign);
    setCell(table, 0, 1, subset ? formatCount(r.subsetWindows) : none);
    setCell(table, 0, 2, formatCount(r.windows));
    setCell(table, 0, 3, subset ? times(double(r.subsetWindows), double(r.windows)) : none);
    setCell(table, 1, 0, AblationView::tr("Tokens"), kTextAlign);
    setCell(table, 1, 1, subset ? formatCount(r.subsetTokens) : none);
    setCell(table, 1, 2, formatCount(r.tokens));
    setCell(table, 1, 3, subset ? times(double(r.subsetTokens), double(r.tokens)) : none);
    setCell(table, 2, 0, AblationView::tr("Base PPL"), kTextAlign);
    setCell(table, 2, 1, subset ? ppl(r.subsetBasePpl) : none);
    setCell(table, 2, 2, ppl(r.basePpl));
    setCell(table, 2, 3, subset ? relativeChange(r.subsetBasePpl, r.basePpl) : none);
    fitColumns(table);
}

}  // namespace ls::widgets
