#pragma once
// The low-rank output head (spec section 2): W_r keeps the top r singular values of W.
// Three charts against the rank r (x: log2 or linear):
//   coverage   singular-value coverage and energy coverage for every r = 1..dim (%)
//   agreement  top-1 agreement of W_r with W at the final layer and at the chosen layer,
//              at the requested ranks (%)
//   detection  precision / recall / F1 of low-rank saturation detection at the chosen
//              layer, at the requested ranks (%)
// and two tables: the numbers of every requested rank, and the timing of the full vs the
// factorised head. Hovering a chart shows the nearest point's values. Export… saves the
// charts (PNG / PDF / SVG) and lowRankTables() as CSV.
// Takes the result and nothing else: nothing here is recomputed from a model.
#include <QPointF>
#include <memory>

#include "analysis/lowrank.h"
#include "kit/result_view.h"
#include "kit/tables.h"

class QCheckBox;
class QCPGraph;
class QCPItemStraightLine;
class QCPTextElement;
class QCustomPlot;
class QTableWidget;

namespace ls::widgets {

class LowRankView : public ResultViewOf<ls::LowRankResult> {
    Q_OBJECT
public:
    explicit LowRankView(QWidget* parent = nullptr);

    // x axis: log2 of the rank (default) or linear.
    void setLogRank(bool on);
    bool logRank() const;

    QString summaryText() const;

    // For tests and for the app's own export.
    QCustomPlot* coveragePlot() const { return coveragePlot_; }
    QCustomPlot* agreementPlot() const { return agreementPlot_; }
    QCustomPlot* detectionPlot() const { return detectionPlot_; }
    QCPGraph* coverageGraph() const { return coverage_; }         // (r, % singular-value coverage)
    QCPGraph* energyGraph() const { return energy_; }             // (r, % energy coverage)
    QCPGraph* agreementFinalGraph() const { return agreeFinal_; } // (r, % agreement at the final layer)
    QCPGraph* agreementLayerGraph() const { return agreeLayer_; } // (r, % agreement at the chosen layer)
    QCPGraph* precisionGraph() const { return precision_; }       // (r, %), undefined values left out
    QCPGraph* recallGraph() const { return recall_; }
    QCPGraph* f1Graph() const { return f1_; }
    QTableWidget* rowsTable() const { return rows_.table; }
    QTableWidget* speedTable() const { return speed_.table; }

    // The text a hover at pixel position pos of plot shows (nearest point within a few
    // pixels, all series at that rank); empty when nothing is near.
    QString hoverText(QCustomPlot* plot, const QPointF& pos) const;

protected:
    void showResult() override;

private:
    void fillTables();
    void updateRankAxes();
    int hoverRank(QCustomPlot* plot, const QPointF& pos) const;  // 0: none
    void moveCursor(QCustomPlot* plot, int rank);                 // 0: hide it

    QCheckBox* logRankCheck_ = nullptr;
    QCustomPlot *coveragePlot_ = nullptr, *agreementPlot_ = nullptr, *detectionPlot_ = nullptr;
    QCPTextElement *agreementTitle_ = nullptr, *detectionTitle_ = nullptr;
    // The series of each chart; coverageMarks_: the requested ranks on the coverage curve.
    QCPGraph *coverage_ = nullptr, *energy_ = nullptr, *coverageMarks_ = nullptr;
    QCPGraph *agreeFinal_ = nullptr, *agreeLayer_ = nullptr;
    QCPGraph *precision_ = nullptr, *recall_ = nullptr, *f1_ = nullptr;
    QList<QCPItemStraightLine*> cursors_;  // one per plot: the hovered rank
    CaptionedTable rows_, speed_;  // the requested ranks; the timing of the full vs the factorised head
};

}  // namespace ls::widgets
