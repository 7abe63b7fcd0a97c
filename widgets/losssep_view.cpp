#include "losssep_view.h"

#include <QSplitter>
#include <cmath>

#include "export_menu.h"
#include "kit/format.h"
#include "losssep_parts.h"

namespace ls::widgets {

QString LossSepView::methodLabel(const std::string& method) { return widgets::methodLabel(method); }

LossSepView::LossSepView(QWidget* parent)
    : ResultViewOf(tr("<b>Loss separation.</b> %1")
                       .arg(subscriptsAsHtml(tr(
                           "A score splits the tokens at its median into easy and hard (higher = easier; entropy: lower "
                           "= easier). Loss Diff = mean loss(hard) − mean loss(easy); Oracle ratio = Loss Diff(score) / "
                           "Loss Diff(Oracle), the Oracle splitting at the median of the loss itself. Metrics from the "
                           "run's lens, z_l = W norm_f(h_l) (logit) or W norm_f(A_l h_l + b_l) (tuned)."))),
                   &ls::lossSepTables, parent) {
    histogram_ = addChart(QStringLiteral("losssep_loss_histogram"), new LossSplitHistogram(this));
    ratio_ = addChart(QStringLiteral("losssep_oracle_ratio"), new OracleRatioChart(this));
    grid_ = addChart(QStringLiteral("losssep_layer_grid"), new LayerMethodGrid(this));
    tables_ = new LossSepTables(this);

    // The three charts over the tables.
    auto* charts = new QSplitter(Qt::Horizontal, this);
    charts->addWidget(histogram_);
    charts->addWidget(ratio_);
    charts->addWidget(grid_);
    for (int i = 0; i < 3; ++i)
        charts->setStretchFactor(i, 1);
    charts->setSizes({310, 350, 370});  // proportions until shown
    charts->setChildrenCollapsible(false);

    auto* splitter = new QSplitter(Qt::Vertical, this);
    splitter->addWidget(charts);
    splitter->addWidget(tables_);
    splitter->setStretchFactor(0, 11);
    splitter->setStretchFactor(1, 9);
    splitter->setSizes({560, 440});  // proportions until shown: the charts get more than their hint
    splitter->setChildrenCollapsible(false);
    setBody(splitter);

    clear();
}

QCustomPlot* LossSepView::histogramPlot() const { return histogram_; }
QCPBars* LossSepView::histogramBars() const { return histogram_->easyBars(); }
QCPItemStraightLine* LossSepView::medianLine() const { return histogram_->medianLine(); }
QCPItemStraightLine* LossSepView::easyMeanLine() const { return histogram_->easyMeanLine(); }
QCPItemStraightLine* LossSepView::hardMeanLine() const { return histogram_->hardMeanLine(); }
QCustomPlot* LossSepView::ratioPlot() const { return ratio_; }
QList<QCPBars*> LossSepView::ratioBars() const { return ratio_->bars(); }
double LossSepView::drawnRatio(int index) const { return ratio_->drawnRatio(index); }
QCustomPlot* LossSepView::gridPlot() const { return grid_; }
QCPColorMap* LossSepView::gridMap() const { return grid_->map(); }
QCPColorScale* LossSepView::gridScale() const { return grid_->scale(); }
QTabWidget* LossSepView::tableTabs() const { return tables_; }
QTableWidget* LossSepView::comparisonTable() const { return tables_->comparisonTable(); }
QTableWidget* LossSepView::thresholdTable() const { return tables_->thresholdTable(); }
QTableWidget* LossSepView::subsetTable() const { return tables_->subsetTable(); }
QTableWidget* LossSepView::probeRegressionTable() const { return tables_->probeRegressionTable(); }
QTableWidget* LossSepView::probeClassificationTable() const { return tables_->probeClassificationTable(); }
QTableWidget* LossSepView::probeMetricTable() const { return tables_->probeMetricTable(); }
QTableWidget* LossSepView::lowRankTable() const { return tables_->lowRankTable(); }
QTableWidget* LossSepView::distributionTable() const { return tables_->distributionTable(); }
QWidget* LossSepView::probesPage() const { return tables_->probesPage(); }
QWidget* LossSepView::lowRankPage() const { return tables_->lowRankPage(); }

void LossSepView::showResult() {
    // The final comparison: the metrics at the final layer, the probes, the answer's
    // probability, the Oracle.
    barRows_.clear();
    if (result_) {
        const int L = result_->numLayers;
        for (const ls::MetricInfo& m : ls::separationMetrics())
            if (std::string(m.name) != "correct_prob")
                if (const ls::PredictorRow* row = predictor(m.name, L))
                    barRows_.push_back(*row);
        for (const ls::PredictorRow& row : result_->predictors)
            if (isProbeMethod(row.method) && std::isfinite(row.split.oracleRatio))
                barRows_.push_back(row);
        if (const ls::PredictorRow* row = predictor("correct_prob", L))
            barRows_.push_back(*row);
        for (const ls::PredictorRow& row : result_->predictors)
            if (row.method == "oracle") {
                barRows_.push_back(row);
                break;
            }
    }
    setSummary(summaryText());
    exportButton()->setEnabled(hasData());
    histogram_->setResult(result_.get());
    ratio_->setRows(result_ ? &barRows_ : nullptr);
    grid_->setResult(result_.get());
    tables_->setResult(result_.get(), barRows_);
    replotCharts();
}

const ls::PredictorRow* LossSepView::predictor(const std::string& method, int layer) const {
    if (!result_)
        return nullptr;
    for (const ls::PredictorRow& row : result_->predictors)
        if (row.method == method && row.layer == layer)
            return &row;
    return nullptr;
}

QString LossSepView::summaryText() const {
    if (!result_)
        return tr("No loss-separation result: run the layer analyses with “Loss separation” checked.");
    const ls::LossDistribution& d = result_->distribution;
    const ls::Summary& s = d.summary;
    const auto loss = [](double v) { return formatNumber(v, 2); };
    return tr("%1 tokens · loss mean %2, std %3, range [%4, %5], quartiles %6 / %7 / %8 · Oracle split at the "
              "median: easy %9, hard %10, <b>Loss Diff %11</b>, Cohen's d %12")
        .arg(formatCount(s.count), loss(s.mean), loss(s.std), loss(s.min), loss(s.max), loss(s.p25), loss(s.p50),
             loss(s.p75), loss(d.oracle.easyLoss))
        .arg(loss(d.oracle.hardLoss), loss(d.oracle.lossDiff), loss(d.cohensD));
}

QString LossSepView::barToolTip(int index) const {
    if (index < 0 || index >= int(barRows_.size()))
        return {};
    return OracleRatioChart::barText(barRows_[size_t(index)]);
}

QString LossSepView::cellToolTip(int method, int layer) const {
    return result_ ? LayerMethodGrid::cellText(*result_, method, layer) : QString();
}

}  // namespace ls::widgets
