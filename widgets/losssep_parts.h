#pragma once
// The parts of LossSepView (losssep_view.h): its three charts, its tables, and how a method
// is named and coloured in both. Each part draws the result it is given; nothing is computed.
#include <QColor>
#include <QList>
#include <QTabWidget>
#include <qcustomplot.h>
#include <string>
#include <vector>

#include "kit/plot_style.h"
#include "kit/tables.h"
#include "analysis/losssep.h"

class QLabel;
class QTableWidget;

namespace ls::widgets {

// "probe:mlp2_128:regression" (or "probe_mlp2_128_regression") is a learned probe.
bool isProbeMethod(const std::string& method);
// A probe's architecture for people: "mlp2_128" -> "MLP-2 (128)".
QString probeArchitectureLabel(const std::string& architecture);
// A method for people: "max softmax (confidence)", "probe MLP-2 (128) · regression".
QString methodLabel(const std::string& method);
// The short name on a chart's axis: "confidence", "MLP-2 (128) · reg", "Oracle".
QString methodShortLabel(const std::string& method);
// Inference-time metrics, probes, the answer's probability and the Oracle each have a colour.
QColor methodColor(const std::string& method);

// The per-token loss histogram: easy bins (centre <= the median) and hard bins in two colours,
// the Oracle split (the median) and the easy and hard means marked, the Loss Diff between them.
class LossSplitHistogram : public QCustomPlot {
    Q_OBJECT
public:
    explicit LossSplitHistogram(QWidget* parent);
    void setResult(const ls::LossSepResult* result);  // null: empty
    QCPBars* easyBars() const { return easyBars_; }
    QCPItemStraightLine* medianLine() const { return median_.line; }
    QCPItemStraightLine* easyMeanLine() const { return easyMean_.line; }
    QCPItemStraightLine* hardMeanLine() const { return hardMean_.line; }

private:
    void placeLabels();  // after every layout: the room beside each line depends on the width
    QString hoverText(const QPointF& pos) const;

    const ls::LossSepResult* result_ = nullptr;
    QCPBars *easyBars_ = nullptr, *hardBars_ = nullptr;
    MarkerLine median_, easyMean_, hardMean_;  // the Oracle split; the easy and hard means
    QCPItemLine* diffArrow_ = nullptr;  // between the easy and the hard mean
    QCPItemText* diffLabel_ = nullptr;
};

// Horizontal bars of the Oracle ratio at the final layer, one per row (first at the top).
class OracleRatioChart : public QCustomPlot {
    Q_OBJECT
public:
    explicit OracleRatioChart(QWidget* parent);
    void setRows(const std::vector<ls::PredictorRow>* rows);  // null: empty
    // The bars by kind: inference-time metrics, probes, the answer's probability, the Oracle.
    QList<QCPBars*> bars() const { return bars_; }
    double drawnRatio(int index) const;  // in %, NaN if no bar
    static QString barText(const ls::PredictorRow& row);

private:
    const std::vector<ls::PredictorRow>* rows_ = nullptr;
    QList<QCPBars*> bars_;
    QList<QCPItemText*> labels_;
    QCPItemStraightLine* hundredLine_ = nullptr;
};

// Every metric through the logit lens at every layer (x: layer, y: method), colour = Oracle
// ratio; the cells carry their value when they are large enough.
class LayerMethodGrid : public QCustomPlot {
    Q_OBJECT
public:
    explicit LayerMethodGrid(QWidget* parent);
    void setResult(const ls::LossSepResult* result);  // null: empty
    QCPColorMap* map() const { return heatmap_.map; }
    QCPColorScale* scale() const { return heatmap_.scale; }
    // method: index into ls::separationMetrics(); layer 1..L. Empty out of range.
    static QString cellText(const ls::LossSepResult& result, int method, int layer);

private:
    void placeLabels();

    const ls::LossSepResult* result_ = nullptr;
    Heatmap heatmap_;  // the map and its colour scale
    QList<QCPItemText*> labels_;
};

// The notes' tables, one tab each: the final comparison, thresholds, high-confidence subsets,
// the probes and the low-rank metrics (when the result has them), the loss distribution.
class LossSepTables : public QTabWidget {
    Q_OBJECT
public:
    explicit LossSepTables(QWidget* parent);
    // comparison: the rows of the final comparison (the Oracle-ratio chart's bars).
    void setResult(const ls::LossSepResult* result, const std::vector<ls::PredictorRow>& comparison);

    QTableWidget* comparisonTable() const { return comparison_.table; }
    QTableWidget* thresholdTable() const { return threshold_.table; }
    QTableWidget* subsetTable() const { return subset_.table; }
    QTableWidget* probeRegressionTable() const { return probeRegression_; }
    QTableWidget* probeClassificationTable() const { return probeClassification_; }
    QTableWidget* probeMetricTable() const { return probeMetric_; }
    QTableWidget* lowRankTable() const { return lowRank_.table; }
    QTableWidget* distributionTable() const { return distribution_.table; }
    QWidget* probesPage() const { return probesPage_; }
    QWidget* lowRankPage() const { return lowRankPage_; }

private:
    void fillComparison(const ls::LossSepResult* result, const std::vector<ls::PredictorRow>& rows);
    void fillThresholds(const ls::LossSepResult* result);
    void fillSubsets(const ls::LossSepResult* result);
    void fillProbes(const ls::LossSepResult* result);
    void fillLowRank(const ls::LossSepResult* result);
    void fillDistribution(const ls::LossSepResult* result);

    // The tabs in order; each but the probes' a table under its caption.
    CaptionedTable comparison_, threshold_, subset_;
    // The probes' tab: a caption over the regression, classification and metric-probe tables.
    QWidget* probesPage_ = nullptr;
    QLabel* probesCaption_ = nullptr;
    QTableWidget *probeRegression_ = nullptr, *probeClassification_ = nullptr, *probeMetric_ = nullptr;
    CaptionedTable lowRank_;
    QWidget* lowRankPage_ = nullptr;
    CaptionedTable distribution_;
};

}  // namespace ls::widgets
