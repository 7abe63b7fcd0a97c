#include "head_importance_page.h"

#include <QLabel>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <qcustomplot.h>

#include "kit/format.h"
#include "kit/hover.h"
#include "kit/palette.h"
#include "kit/plot_style.h"
#include "kit/tables.h"

namespace ls::widgets {

namespace {
const QColor kHeadColor = palette::kBlue;
const QColor kFitColor = palette::kVermillion;
}  // namespace

HeadImportancePage::HeadImportancePage(QWidget* parent) : QWidget(parent) {
    note_ = makeNote(this);
    note_->setText(tr("Zero-ablation ΔPPL (relative) of every head that hurts when removed, by its rank, on log "
                      "axes. A straight line is a power law, ΔPPL ∝ rank<sup>−α</sup>: the larger α, the fewer "
                      "heads carry the model (the research notes found α = 1.37 on SmolLM2-135M). The line is the "
                      "least-squares fit of log ΔPPL on log rank; R² says how straight the points are."));
    plot_ = makeTitledPlot(this, tr("Head importance by rank (zero ablation)"), QSize(320, 240));
    addSubtitle(plot_);
    for (QCPAxis* axis : {plot_->xAxis, plot_->yAxis}) {
        axis->setScaleType(QCPAxis::stLogarithmic);
        axis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
        axis->setNumberFormat(QStringLiteral("gb"));  // 10 to the power, not 1e+01
    }
    plot_->xAxis->setLabel(tr("rank (1 = most damaging)"));
    plot_->yAxis->setLabel(tr("ΔPPL zero ablation (relative)"));
    heads_ = addPoints(plot_, tr("head"), QCPScatterStyle(QCPScatterStyle::ssDisc, kHeadColor, 6));
    fit_ = plot_->addGraph();
    fit_->setName(tr("least-squares fit"));
    fit_->setPen(QPen(kFitColor, 1.8, Qt::DashLine));
    legendBelow(plot_, 3);
    addHoverText(plot_, [this](const QPointF& pos) { return pointToolTip(pos); });

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 2, 4, 2);
    layout->addWidget(note_);
    layout->addWidget(plot_, 1);
    setResult(nullptr);
}

QString HeadImportancePage::subtitle() const {
    if (!result_)
        return {};
    const ls::ZipfFit& z = result_->zipf;
    if (z.heads < 2)
        return tr("%n head(s) with ΔPPL > 0: too few to fit", nullptr, z.heads);
    return tr("α = %1 · R² = %2 · %3 heads with ΔPPL > 0 of %4")
        .arg(formatNumber(z.alpha, 3), formatNumber(z.r2, 3))
        .arg(z.heads)
        .arg(result_->heads.size());
}

void HeadImportancePage::setResult(const ls::AblationResult* result) {
    result_ = result;
    ranked_ = result_ ? ls::damagingHeads(result_->heads) : std::vector<const ls::HeadAblation*>{};
    QVector<double> rank, dppl, line;
    const ls::ZipfFit* z = result_ ? &result_->zipf : nullptr;
    for (size_t i = 0; i < ranked_.size(); ++i) {
        rank << double(i + 1);
        dppl << ranked_[i]->zeroDppl;
        if (z && z->heads >= 2)
            line << z->at(int(i + 1));
    }
    heads_->setData(rank, dppl, true);
    fit_->setData(line.isEmpty() ? QVector<double>() : rank, line, true);
    fit_->setVisible(!line.isEmpty());
    subtitleOf(plot_)->setText(result_ ? subtitle() : tr("No ablation result yet"));
    if (!rank.isEmpty()) {
        const double lo = *std::min_element(dppl.begin(), dppl.end()), hi = *std::max_element(dppl.begin(), dppl.end());
        plot_->xAxis->setRange(0.8, rank.size() * 1.25);
        plot_->yAxis->setRange(lo / 1.6, hi * 1.6);
    } else {
        plot_->xAxis->setRange(1, 10);
        plot_->yAxis->setRange(1e-3, 1);
    }
    plot_->replot(QCustomPlot::rpQueuedReplot);
}

QString HeadImportancePage::pointToolTip(const QPointF& pos) const {
    if (ranked_.empty())
        return {};
    const int i = nearestKey(plot_, pos, int(ranked_.size()), [](int k) { return double(k + 1); }, 30);
    if (i < 0)
        return {};
    const ls::HeadAblation& a = *ranked_[size_t(i)];
    QString text = tr("%1: rank %2, ΔPPL %3").arg(QString::fromStdString(a.name())).arg(i + 1).arg(formatNumber(a.zeroDppl, 4));
    const ls::ZipfFit& z = result_->zipf;
    if (z.heads >= 2)
        text += tr(" (fit %1)").arg(formatNumber(z.at(i + 1), 4));
    return text;
}

}  // namespace ls::widgets
