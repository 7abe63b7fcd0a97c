#pragma once
// Loss separation (spec section 3, seed 002): how well a per-token score tells easy tokens
// (low loss) from hard ones, against the Oracle that splits on the loss itself.
//   - the per-token loss histogram with the Oracle split (the median) and the easy / hard
//     means marked;
//   - Oracle-ratio bars: one bar per method at the final layer, then the probes, the
//     answer's probability and the Oracle (= 100 %), as in the notes' final comparison;
//   - the layer x method grid: every metric through the logit lens at every layer (x: layer,
//     y: method), colour = Oracle ratio (the early-exit picture), hover for method, layer,
//     ratio and Pearson r;
//   - the notes' tables: the final comparison, the threshold table, high-confidence subsets,
//     the probes (regression, classification, metric probes; when trained), low-rank
//     metrics (when asked) and the loss distribution.
// Takes the result and nothing else: nothing here is recomputed.
#include <QList>
#include <QPair>
#include <QString>
#include <QWidget>
#include <memory>
#include <string>
#include <vector>

#include "analysis/losssep.h"

class QCPBars;
class QCPColorMap;
class QCPColorScale;
class QCPItemLine;
class QCPItemStraightLine;
class QCPItemText;
class QCustomPlot;
class QLabel;
class QMouseEvent;
class QTabWidget;
class QTableWidget;

namespace ls::widgets {

class ExportButton;

class LossSepView : public QWidget {
    Q_OBJECT
public:
    explicit LossSepView(QWidget* parent = nullptr);

    void setResult(std::shared_ptr<const ls::LossSepResult> result);
    void clear() { setResult(nullptr); }
    bool hasData() const { return result_ != nullptr; }
    const std::shared_ptr<const ls::LossSepResult>& result() const { return result_; }

    // "19,843 tokens · loss mean 6.82, std 4.48 …"
    QString summaryText() const;

    // A method's name for people: "max softmax (confidence)", "probe MLP-2 (128) · regression",
    // "Oracle (actual loss)".
    static QString methodLabel(const std::string& method);

    // The Oracle-ratio bars, in the order drawn (bar i at key i): the predictor rows they show.
    const std::vector<ls::PredictorRow>& barRows() const { return barRows_; }
    // Hover texts: bar i of the Oracle-ratio chart; grid cell (method index into
    // ls::separationMetrics(), layer 1..L). Empty when out of range.
    QString barToolTip(int index) const;
    QString cellToolTip(int method, int layer) const;

    // For tests and the app.
    QCustomPlot* histogramPlot() const { return histPlot_; }
    QCPBars* histogramBars() const { return histBars_; }
    QCPItemStraightLine* medianLine() const { return medianLine_; }
    QCPItemStraightLine* easyMeanLine() const { return easyLine_; }
    QCPItemStraightLine* hardMeanLine() const { return hardLine_; }
    QCustomPlot* ratioPlot() const { return ratioPlot_; }
    // The bars by kind: inference-time metrics, probes, the answer's probability, the Oracle;
    // each holds (bar index, Oracle ratio in %) for its rows.
    QList<QCPBars*> ratioBars() const { return ratioBars_; }
    // The value drawn for bar i (in %), from whichever container holds it; NaN if none.
    double drawnRatio(int index) const;
    QCustomPlot* gridPlot() const { return gridPlot_; }
    QCPColorMap* gridMap() const { return gridMap_; }  // cell (layer - 1, method) = Oracle ratio in %
    QCPColorScale* gridScale() const { return gridScale_; }
    QTabWidget* tableTabs() const { return tableTabs_; }
    QTableWidget* comparisonTable() const { return comparisonTable_; }
    QTableWidget* thresholdTable() const { return thresholdTable_; }
    QTableWidget* subsetTable() const { return subsetTable_; }
    QTableWidget* probeRegressionTable() const { return probeRegression_; }
    QTableWidget* probeClassificationTable() const { return probeClassification_; }
    QTableWidget* probeMetricTable() const { return probeMetric_; }
    QTableWidget* lowRankTable() const { return lowRankTable_; }
    QTableWidget* distributionTable() const { return distributionTable_; }
    QWidget* probesPage() const { return probesPage_; }
    QWidget* lowRankPage() const { return lowRankPage_; }
    ExportButton* exportButton() const { return exportButton_; }
    QList<QPair<QString, QCustomPlot*>> charts() const;

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    void buildHistogram();
    void buildRatioChart();
    void buildGrid();
    void fillHistogram();
    void placeHistogramLabels();
    void fillRatioChart();
    void fillGrid();
    void placeGridLabels();  // cell texts when the cells are big enough
    void fillTables();
    void fillComparison();
    void fillThresholds();
    void fillSubsets();
    void fillProbes();
    void fillLowRank();
    void fillDistribution();
    void setTabVisible(QWidget* page, bool visible, const QString& title);
    void ratioMouseMove(QMouseEvent* event);
    void gridMouseMove(QMouseEvent* event);
    void histogramMouseMove(QMouseEvent* event);
    const ls::PredictorRow* predictor(const std::string& method, int layer) const;

    std::shared_ptr<const ls::LossSepResult> result_;
    std::vector<ls::PredictorRow> barRows_;

    QLabel* titleLabel_ = nullptr;
    QLabel* summaryLabel_ = nullptr;
    ExportButton* exportButton_ = nullptr;

    QCustomPlot* histPlot_ = nullptr;
    QCPBars* histBars_ = nullptr;      // easy-side bins (centre <= median)
    QCPBars* histHardBars_ = nullptr;  // hard-side bins
    QCPItemStraightLine* medianLine_ = nullptr;
    QCPItemStraightLine* easyLine_ = nullptr;
    QCPItemStraightLine* hardLine_ = nullptr;
    QCPItemText* medianLabel_ = nullptr;
    QCPItemText* easyLabel_ = nullptr;
    QCPItemText* hardLabel_ = nullptr;
    QCPItemLine* diffArrow_ = nullptr;   // between the easy and the hard mean
    QCPItemText* diffLabel_ = nullptr;

    QCustomPlot* ratioPlot_ = nullptr;
    QList<QCPBars*> ratioBars_;  // metrics, probes, answer, oracle
    QList<QCPItemText*> ratioLabels_;
    QCPItemStraightLine* hundredLine_ = nullptr;

    QCustomPlot* gridPlot_ = nullptr;
    QCPColorMap* gridMap_ = nullptr;
    QCPColorScale* gridScale_ = nullptr;
    QList<QCPItemText*> gridLabels_;

    QTabWidget* tableTabs_ = nullptr;
    QTableWidget* comparisonTable_ = nullptr;
    QTableWidget* thresholdTable_ = nullptr;
    QTableWidget* subsetTable_ = nullptr;
    QWidget* probesPage_ = nullptr;
    QLabel* probesCaption_ = nullptr;
    QTableWidget* probeRegression_ = nullptr;
    QTableWidget* probeClassification_ = nullptr;
    QTableWidget* probeMetric_ = nullptr;
    QWidget* lowRankPage_ = nullptr;
    QTableWidget* lowRankTable_ = nullptr;
    QTableWidget* distributionTable_ = nullptr;
    QLabel* comparisonCaption_ = nullptr;
    QLabel* thresholdCaption_ = nullptr;
    QLabel* subsetCaption_ = nullptr;
    QWidget* comparisonPage_ = nullptr;
    QWidget* thresholdPage_ = nullptr;
    QWidget* subsetPage_ = nullptr;
    QWidget* distributionPage_ = nullptr;
};

}  // namespace ls::widgets
