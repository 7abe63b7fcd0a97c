#pragma once
// How head importance falls with rank (seed 003, Ph1), a page of AblationView: each head's
// zero-ablation dPPL (relative, > 0 only) against its rank, both on log axes, with the least-
// squares line of ls::fitZipf, dPPL ~ rank^-alpha, and alpha, R^2 and the number of heads
// fitted in its subtitle. Hover a point for its head.
#include <QWidget>

#include "analysis/ablation.h"

class QCPGraph;
class QCustomPlot;
class QLabel;

namespace ls::widgets {

class HeadImportancePage : public QWidget {
    Q_OBJECT
public:
    explicit HeadImportancePage(QWidget* parent = nullptr);
    void setResult(const ls::AblationResult* result);  // null: empty

    QCustomPlot* plot() const { return plot_; }
    QCPGraph* headsGraph() const { return heads_; }  // x = rank, y = zero dPPL, positive ones
    QCPGraph* fitGraph() const { return fit_; }      // the fitted line over the same ranks
    QString subtitle() const;                        // "α = 1.37 · R² = 0.93 · 16 heads with ΔPPL > 0"

private:
    QString pointToolTip(const QPointF& pos) const;

    const ls::AblationResult* result_ = nullptr;
    std::vector<const ls::HeadAblation*> ranked_;  // the positive heads, most damaging first
    QLabel* note_ = nullptr;
    QCustomPlot* plot_ = nullptr;
    QCPGraph *heads_ = nullptr, *fit_ = nullptr;
};

}  // namespace ls::widgets
