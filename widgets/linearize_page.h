#pragma once
// ReLU linearisation (ls::LinearizeResult, V4 and P4 of seed 003), a page of AblationView:
// the cumulative curve (N heads -> PPL ratio, log scale, with the 1.1x / 1.5x / 2.0x limits and
// the largest N within each), its table and the thresholds table, and PPL by context length
// (baseline and N linearised heads) with the P4 table. Hover a chart for its numbers.
#include <QList>
#include <QWidget>

#include "analysis/linearize.h"

class QCPGraph;
class QCPItemStraightLine;
class QCPItemText;
class QCustomPlot;
class QLabel;
class QTableWidget;

namespace ls::widgets {

class LinearizationPage : public QWidget {
    Q_OBJECT
public:
    explicit LinearizationPage(QWidget* parent = nullptr);
    void setResult(const ls::LinearizeResult* result);  // null: empty

    QString curveToolTip(int index) const;  // index into result->curve
    QCustomPlot* curvePlot() const { return curvePlot_; }
    QCPGraph* curveGraph() const { return curveGraph_; }           // x = N heads, y = PPL ratio
    QCPGraph* curveThresholdGraph() const { return curveMarks_; }  // (N, ratio) of each threshold
    QTableWidget* curveTable() const { return curveTable_; }          // V4: N, PPL, ratio
    QTableWidget* thresholdTable() const { return thresholdTable_; }  // limit, N, PPL, ratio
    QCustomPlot* contextPlot() const { return contextPlot_; }
    // One graph per N (0 = baseline), ascending N: x = seq_len (log axis), y = PPL.
    QList<QCPGraph*> contextGraphs() const { return contextGraphs_; }
    QTableWidget* contextTable() const { return contextTable_; }  // P4: seq_len, baseline, ReLU-N, ratio, ...

private:
    void fillCurve();
    void fillContext();
    QString contextToolTip(const QPointF& pos) const;

    const ls::LinearizeResult* result_ = nullptr;
    QLabel* summary_ = nullptr;
    QCustomPlot* curvePlot_ = nullptr;
    QCPGraph *curveGraph_ = nullptr, *curveMarks_ = nullptr;
    QList<QCPItemStraightLine*> limitLines_;  // 1.1x, 1.5x, 2.0x (as many as thresholds)
    QList<QCPItemText*> limitLabels_;
    QTableWidget *curveTable_ = nullptr, *thresholdTable_ = nullptr;
    QCustomPlot* contextPlot_ = nullptr;
    QList<QCPGraph*> contextGraphs_;
    QLabel* contextCaption_ = nullptr;  // says whether the lengths' windows start at the same places
    QTableWidget* contextTable_ = nullptr;
};

}  // namespace ls::widgets
