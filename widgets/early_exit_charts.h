#pragma once
// The charts of EarlyExitView (early_exit_view.h): where the tokens exit, and the threshold
// sweep against top-1 agreement (with its Pareto front) and against PPL, the current policy
// marked in both. They draw what they are given; the view evaluates the policy.
#include <qcustomplot.h>
#include <vector>

#include "analysis/early_exit.h"
#include "kit/plot_style.h"

namespace ls::widgets {

// Tokens per exit layer: the allowed layers (and any other a token exits at), and the tokens
// that ran all L blocks at L.
class ExitLayersChart : public QCustomPlot {
    Q_OBJECT
public:
    explicit ExitLayersChart(QWidget* parent);
    // outcome.exits holds L counts, else the chart is empty.
    void setOutcome(const ls::ExitOutcome& outcome, int layers, const std::vector<int>& allowed);
    QCPBars* exitBars() const { return exitBars_; }
    QCPBars* finalBars() const { return finalBars_; }
    // "Exit after block 3: 1,204 tokens (6.07%)"; empty out of range.
    static QString barText(const ls::ExitOutcome& outcome, int layers, int layer);

private:
    ls::ExitOutcome outcome_;
    int layers_ = 0;
    QCPBars* exitBars_ = nullptr;
    QCPBars* finalBars_ = nullptr;
};

// The sweep of the threshold against compute saved (x, %): top-1 agreement (%) with the Pareto
// front, or the exit layer's PPL with the full model's as a line. The current policy is a
// large point; clicking a sweep point asks for its threshold.
class ExitSweepChart : public QCustomPlot {
    Q_OBJECT
public:
    enum class Measure { Agreement, Ppl };
    ExitSweepChart(Measure measure, QWidget* parent);
    void setSweep(const std::vector<ls::SweepPoint>& sweep, double fullPpl);
    void setCurrent(const ls::ExitOutcome& outcome);  // tokens == 0: none
    QCPGraph* sweepGraph() const { return sweep_; }
    QCPGraph* frontGraph() const { return front_; }  // Agreement only
    QCPGraph* currentGraph() const { return current_; }
    static QString pointText(const ls::SweepPoint& point);

signals:
    void pointClicked(int index);  // into the sweep

private:
    int pointAt(const QPointF& pos) const;  // -1: none near
    double y(const ls::ExitOutcome& outcome) const;

    Measure measure_;
    std::vector<ls::SweepPoint> points_;
    QCPGraph* sweep_ = nullptr;
    QCPGraph* front_ = nullptr;
    QCPGraph* current_ = nullptr;
    QCPItemText* currentLabel_ = nullptr;  // Agreement: the current policy's numbers
    MarkerLine full_;                      // Ppl: the full model's PPL
};

}  // namespace ls::widgets
