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
#include <memory>
#include <string>
#include <vector>

#include "analysis/losssep.h"
#include "kit/result_view.h"

class QCPBars;
class QCPColorMap;
class QCPColorScale;
class QCPItemStraightLine;
class QCustomPlot;
class QTabWidget;
class QTableWidget;

namespace ls::widgets {

class LayerMethodGrid;
class LossSepTables;
class LossSplitHistogram;
class OracleRatioChart;

class LossSepView : public ResultViewOf<ls::LossSepResult> {
    Q_OBJECT
public:
    explicit LossSepView(QWidget* parent = nullptr);

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
    QCustomPlot* histogramPlot() const;
    QCPBars* histogramBars() const;
    QCPItemStraightLine* medianLine() const;
    QCPItemStraightLine* easyMeanLine() const;
    QCPItemStraightLine* hardMeanLine() const;
    QCustomPlot* ratioPlot() const;
    // The bars by kind: inference-time metrics, probes, the answer's probability, the Oracle;
    // each holds (bar index, Oracle ratio in %) for its rows.
    QList<QCPBars*> ratioBars() const;
    // The value drawn for bar i (in %), from whichever container holds it; NaN if none.
    double drawnRatio(int index) const;
    QCustomPlot* gridPlot() const;
    QCPColorMap* gridMap() const;  // cell (layer - 1, method) = Oracle ratio in %
    QCPColorScale* gridScale() const;
    QTabWidget* tableTabs() const;
    QTableWidget* comparisonTable() const;
    QTableWidget* thresholdTable() const;
    QTableWidget* subsetTable() const;
    QTableWidget* probeRegressionTable() const;
    QTableWidget* probeClassificationTable() const;
    QTableWidget* probeMetricTable() const;
    QTableWidget* lowRankTable() const;
    QTableWidget* distributionTable() const;
    QWidget* probesPage() const;
    QWidget* lowRankPage() const;

protected:
    void showResult() override;

private:
    const ls::PredictorRow* predictor(const std::string& method, int layer) const;

    std::vector<ls::PredictorRow> barRows_;

    LossSplitHistogram* histogram_ = nullptr;
    OracleRatioChart* ratio_ = nullptr;
    LayerMethodGrid* grid_ = nullptr;
    LossSepTables* tables_ = nullptr;
};

}  // namespace ls::widgets
