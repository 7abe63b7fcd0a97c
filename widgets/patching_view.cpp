#include "patching_view.h"

#include <QComboBox>
#include <QGridLayout>
#include <QScrollArea>
#include <algorithm>
#include <cmath>

#include "analysis/heads.h"
#include "kit/format.h"
#include "kit/grid_heatmap.h"
#include "token_preview_view.h"

namespace ls::widgets {

namespace {

// A token for labels, whitespace made visible as the dataset preview shows it.
QString tokenText(const std::string& text) { return TokenPreviewView::visibleWhitespace(QString::fromStdString(text)); }

// "2 sami" for position 2, "2 sami/tope" where the corrupted prompt differs.
QStringList positionLabels(const ls::PatchResult& r) {
    QStringList labels;
    for (int p = 0; p < r.tokens; ++p) {
        const size_t i = size_t(p);
        QString label = QStringLiteral("%1 %2").arg(tokenText(r.cleanTokens[i])).arg(p);
        if (r.cleanIds[i] != r.corruptedIds[i]) label = QStringLiteral("%1/%2 %3").arg(tokenText(r.cleanTokens[i]), tokenText(r.corruptedTokens[i])).arg(p);
        labels << label;
    }
    return labels;
}

QStringList numbers(int from, int count) {
    QStringList labels;
    for (int i = 0; i < count; ++i) labels << QString::number(from + i);
    return labels;
}

// The colour range: at least [-1, 1] (clean and corrupted), wider when a value goes past.
double limitOf(const std::vector<double>& values) {
    double largest = 1;
    for (const double v : values)
        if (std::isfinite(v)) largest = std::max(largest, std::abs(v));
    return largest;
}

}  // namespace

PatchingView::PatchingView(QWidget* parent)
    : ResultViewOf(tr("Activation patching between clean and corrupted prompts: one activation of the target run replaced by "
                      "the source run's, the rest recomputed. The value is the logit difference answer − wrong at the last "
                      "position, normalised so that the clean run is 1 and the corrupted run 0, averaged over the pairs. "
                      "Denoising (clean into corrupted) finds what suffices to restore the answer; noising (corrupted into "
                      "clean) what is necessary for it."),
                   &ls::patchTables, parent) {
    direction_ = new QComboBox(this);
    direction_->setObjectName(QStringLiteral("patchDirection"));
    direction_->addItem(tr("denoise: clean → corrupted run"));
    direction_->addItem(tr("noise: corrupted → clean run"));
    addHeaderControl(direction_);
    connect(direction_, &QComboBox::currentIndexChanged, this, [this] { draw(); });

    auto* body = new QWidget(this);
    auto* grid = new QGridLayout(body);
    grid->setContentsMargins(0, 0, 0, 0);
    resid_ = addChart(QStringLiteral("patch_resid"),
                      new GridHeatmap(tr("Residual stream"), tr("position (clean / corrupted token)"), tr("layer"), GridHeatmap::Scale::Diverging, body));
    heads_ = addChart(QStringLiteral("patch_heads"), new GridHeatmap(tr("Head outputs (all positions)"), tr("head"), tr("block"),
                                                                    GridHeatmap::Scale::Diverging, body));
    mlp_ = addChart(QStringLiteral("patch_mlp"), new GridHeatmap(tr("MLPs"), QString(), tr("block"), GridHeatmap::Scale::Diverging, body));
    headPositions_ = addChart(QStringLiteral("patch_heads_position"),
                              new GridHeatmap(tr("Head outputs at one position"), tr("position"), tr("head"), GridHeatmap::Scale::Diverging, body));
    for (GridHeatmap* chart : {resid_, heads_, mlp_, headPositions_}) chart->setScaleLabel(tr("normalised logit diff."));
    mlp_->setMinimumWidth(200);
    grid->addWidget(resid_, 0, 0, 1, 2);
    grid->addWidget(heads_, 1, 0);
    grid->addWidget(mlp_, 1, 1);
    grid->addWidget(headPositions_, 0, 2, 2, 1);
    grid->setColumnStretch(0, 3);
    grid->setColumnStretch(1, 1);
    grid->setColumnStretch(2, 3);
    grid->setRowStretch(0, 1);
    grid->setRowStretch(1, 1);
    setBody(body);

    const auto value = [](double v) { return std::isfinite(v) ? formatNumber(v, 3) : noValue(); };
    resid_->setHoverText([this, value](int row, int column) {
        const size_t p = size_t(column);
        return tr("layer %1 (%2), position %3 '%4' (corrupted '%5'): %6")
            .arg(row)
            .arg(row == 0 ? tr("the embeddings") : tr("block %1's output").arg(row))
            .arg(column)
            .arg(tokenText(result_->cleanTokens[p]), tokenText(result_->corruptedTokens[p]), value(resid_->valueAt(row, column)));
    });
    heads_->setHoverText([this, value](int row, int column) {
        return tr("%1 (block %2, head %3): %4").arg(QString::fromStdString(ls::headName({row + 1, column}))).arg(row + 1).arg(column)
            .arg(value(heads_->valueAt(row, column)));
    });
    mlp_->setHoverText([this, value](int row, int) { return tr("MLP of block %1: %2").arg(row + 1).arg(value(mlp_->valueAt(row, 0))); });
    headPositions_->setHoverText([this, value](int row, int column) {
        const int H = result_->numHeads;
        return tr("%1 at position %2 '%3': %4")
            .arg(QString::fromStdString(ls::headName({row / H + 1, row % H})))
            .arg(column)
            .arg(tokenText(result_->cleanTokens[size_t(column)]), value(headPositions_->valueAt(row, column)));
    });
    showResult();
}

int PatchingView::direction() const { return direction_->currentIndex() == 1 ? ls::kNoise : ls::kDenoise; }

QString PatchingView::summaryText() const {
    if (!result_) return {};
    double clean = 0, corrupted = 0;
    for (const ls::PairMetrics& m : result_->pairs) clean += m.clean, corrupted += m.corrupted;
    const double n = double(std::max<size_t>(result_->pairs.size(), 1));
    return tr("%1 pairs of %2 tokens · mean logit difference clean %3, corrupted %4%5")
        .arg(result_->pairs.size())
        .arg(result_->tokens)
        .arg(formatNumber(clean / n, 3), formatNumber(corrupted / n, 3))
        .arg(result_->complete ? QString() : tr(" · <b>PARTIAL</b> (canceled)"));
}

void PatchingView::showResult() {
    setSummary(summaryText());
    draw();
}

void PatchingView::draw() {
    const ls::PatchResult* r = result_.get();
    const int d = direction();
    for (auto [chart, values] : {std::pair{resid_, r ? &r->resid[d] : nullptr}, std::pair{heads_, r ? &r->heads[d] : nullptr},
                                 std::pair{mlp_, r ? &r->mlp[d] : nullptr}, std::pair{headPositions_, r ? &r->headsByPosition[d] : nullptr}}) {
        chart->setVisible(!r || !values->empty());
        if (!r || values->empty()) chart->clearGrid();
    }
    if (!r) return;
    const int L = r->numLayers, H = r->numHeads, T = r->tokens;
    const QString direction = d == ls::kDenoise ? tr("denoise") : tr("noise");
    const QStringList positions = positionLabels(*r);
    if (!r->resid[d].empty()) {
        resid_->setGrid(L + 1, T, r->resid[d], numbers(0, L + 1), positions, limitOf(r->resid[d]));
        resid_->setTitle(tr("Residual stream (%1)").arg(direction));
    }
    if (!r->heads[d].empty()) {
        heads_->setGrid(L, H, r->heads[d], numbers(1, L), numbers(0, H), limitOf(r->heads[d]));
        heads_->setTitle(tr("Head outputs, all positions (%1)").arg(direction));
        QStringList headLabels;
        for (int l = 1; l <= L; ++l)
            for (int h = 0; h < H; ++h) headLabels << QString::fromStdString(ls::headName({l, h}));
        headPositions_->setGrid(L * H, T, r->headsByPosition[d], headLabels, positions, limitOf(r->headsByPosition[d]));
        headPositions_->setTitle(tr("Head outputs at one position (%1)").arg(direction));
    }
    if (!r->mlp[d].empty()) {
        mlp_->setGrid(L, 1, r->mlp[d], numbers(1, L), {tr("MLP")}, limitOf(r->mlp[d]));
        mlp_->setTitle(tr("MLPs (%1)").arg(direction));
    }
}

}  // namespace ls::widgets
