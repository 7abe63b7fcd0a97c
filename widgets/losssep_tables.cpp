// The tables of LossSepView, one tab each (losssep_parts.h).
#include <QHBoxLayout>
#include <QLabel>
#include <QTableWidget>
#include <QVBoxLayout>
#include <cmath>

#include "kit/format.h"
#include "kit/palette.h"
#include "kit/tables.h"
#include "losssep_parts.h"

namespace ls::widgets {

namespace {

QString lossText(double v) { return formatNumber(v, 2); }
QString corrText(double v) { return formatNumber(v, 3); }
QString ratioText(double ratio) { return formatPercent(ratio); }
QString full(double v) { return std::isfinite(v) ? QString::number(v, 'g', 9) : QStringLiteral("nan"); }

// A number rounded for reading, its full value in the tooltip.
QTableWidgetItem* setNumber(QTableWidget* table, int row, int column, const QString& text, double exact) {
    return setCell(table, row, column, text, kNumberAlign, full(exact));
}
QTableWidgetItem* setText(QTableWidget* table, int row, int column, const QString& text, const QString& tip = {}) {
    return setCell(table, row, column, text, kTextAlign, tip);
}
void setBold(QTableWidgetItem* item) {
    QFont bold = item->font();
    bold.setBold(true);
    item->setFont(bold);
}

// A tab page: the caption over the table, which takes the height.
QWidget* page(QWidget* parent, const CaptionedTable& table) {
    auto* w = new QWidget(parent);
    auto* layout = new QVBoxLayout(w);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->setSpacing(4);
    addCaptionedTable(layout, table, 1);
    return w;
}

}  // namespace

LossSepTables::LossSepTables(QWidget* parent) : QTabWidget(parent) {
    setDocumentMode(true);
    comparison_ = {makeNote(this),
                   makeTable(this, {tr("Method"), tr("Layer"), tr("Pearson r"), tr("Easy %"), tr("Easy loss"),
                                    tr("Hard loss"), tr("Loss Diff"), tr("Oracle ratio"), tr("Note")},
                             {tr("The score (metrics through the lens at the final layer)"),
                              tr("The lens layer (metrics) or the hidden states' layer (probes)"),
                              tr("Pearson r of the score with the loss (probes: of the prediction)"),
                              tr("Share of the tokens on the easy side of the split"),
                              tr("Mean loss of the easy tokens (nats)"), tr("Mean loss of the hard tokens (nats)"),
                              tr("Hard loss − easy loss"), tr("Loss Diff / the Oracle's Loss Diff"), QString()})};
    threshold_ = {makeNote(this),
                  makeTable(this, {tr("Method"), tr("Threshold"), tr("Easy%"), tr("Hard%"), tr("Easy Loss"),
                                   tr("Hard Loss"), tr("Diff"), tr("Oracle ratio")},
                            {tr("Easy iff the score ≥ the threshold"), tr("A fixed threshold, or the median"),
                             QString(), QString(), QString(), QString(), tr("Hard loss − easy loss"),
                             tr("Diff / the Oracle's Loss Diff")})};
    QStringList subsetHeaders{tr("conf ≥"), tr("N tokens"), tr("%"), tr("mean loss")};
    QStringList subsetTips{tr("Tokens with max softmax(z_L) ≥ this"), QString(), tr("Share of all tokens"),
                           tr("Mean loss inside the subset")};
    for (const ls::MetricInfo& m : ls::separationMetrics())
        if (std::string(m.name) != "correct_prob") {
            subsetHeaders << QString::fromLatin1(m.name);
            subsetTips << tr("Pearson r of %1 with the loss inside the subset").arg(QString::fromLatin1(m.name));
        }
    // The other side of each threshold (the notes' high vs low confidence at 0.5).
    subsetHeaders << tr("below: N") << tr("below: %") << tr("below: mean loss");
    subsetTips << tr("Tokens with max softmax(z_L) < the threshold") << tr("Share of all tokens below it")
               << tr("Mean loss of the tokens below it");
    subset_ = {makeNote(this), makeTable(this, subsetHeaders, subsetTips)};

    probesCaption_ = makeNote(this);
    probeRegression_ = makeTable(this, {tr("Model"), tr("MSE"), tr("Corr"), tr("R²"), tr("Easy loss"), tr("Hard loss"),
                                        tr("Loss Diff"), tr("Oracle ratio"), tr("Epochs")},
                                 {tr("Regression on the loss (MSE), test tokens"), QString(),
                                  tr("Pearson r of the predicted with the actual loss"), QString(),
                                  tr("Split at the median of the predicted loss")});
    probeClassification_ = makeTable(this, {tr("Model"), tr("Accuracy"), tr("F1"), tr("F1 (hard)"), tr("Easy Loss"),
                                            tr("Hard Loss"), tr("Loss Diff"), tr("Oracle ratio"), tr("Epochs")},
                                     {tr("Classification: easy iff loss ≤ the threshold (BCE), test tokens"),
                                      QString(), tr("F1 of the easy class"), tr("F1 of the hard class"),
                                      tr("Easy = p(easy) ≥ 0.5")});
    probeMetric_ = makeTable(this, {tr("Metric"), tr("Model"), tr("Corr(pred, actual)"), tr("MSE"), tr("R²"),
                                    tr("Epochs")},
                             {tr("The inference-time metric the probe predicts from h")});
    probesPage_ = new QWidget(this);
    {
        auto* layout = new QVBoxLayout(probesPage_);
        layout->setContentsMargins(4, 4, 4, 4);
        layout->setSpacing(3);
        layout->addWidget(probesCaption_);
        auto* left = new QVBoxLayout;
        left->addWidget(makeNote(probesPage_, tr("<b>Regression</b> (predict the loss)")));
        left->addWidget(probeRegression_);
        left->addWidget(makeNote(probesPage_, tr("<b>Classification</b> (easy iff loss ≤ threshold)")));
        left->addWidget(probeClassification_);
        left->addStretch(1);
        auto* right = new QVBoxLayout;
        right->addWidget(makeNote(probesPage_, tr("<b>Metric probes</b> (predict each metric from h)")));
        right->addWidget(probeMetric_);
        right->addStretch(1);
        auto* row = new QHBoxLayout;
        row->addLayout(left, 3);
        row->addLayout(right, 2);
        layout->addLayout(row, 1);
    }
    lowRank_ = {makeNote(this, tr("<b>Low-rank metrics</b>: the metrics from the rank-r head W_r at the final layer, "
                                  "their correlation with the exact metric and their Easy/Hard separation")),
                makeTable(this, {tr("Rank"), tr("Metric"), tr("Corr with exact"), tr("Pearson r"), tr("Easy loss"),
                                 tr("Hard loss"), tr("Loss Diff"), tr("Oracle ratio"), tr("Logit corr"),
                                 tr("Logit MSE"), tr("Head error"), tr("µs / token")},
                          {tr("r: singular values of the output head kept (W_r)"),
                           tr("The metric from z = W_r norm_f(h_L)"),
                           tr("Pearson r of the rank-r metric with the exact one"),
                           tr("Pearson r of the rank-r metric with the loss"), QString(), QString(), QString(),
                           QString(), tr("Pearson r of the rank-r logits with the full ones over every token and word"),
                           tr("Mean squared difference of the rank-r logits from the full ones"),
                           tr("‖W − W_r‖ / ‖W‖ (Frobenius): the share of the head the rank leaves out"),
                           tr("Time to compute one token's rank-r logits, microseconds")})};
    distribution_ = {makeNote(this, tr("<b>Loss distribution</b> (std with ddof 0, quantiles linear as numpy) and the "
                                       "Oracle split")),
                     makeTable(this, {tr("Statistic"), tr("Value")})};
    lowRankPage_ = page(this, lowRank_);

    addTab(page(this, comparison_), tr("Final comparison"));
    addTab(page(this, threshold_), tr("Threshold table"));
    addTab(page(this, subset_), tr("High-confidence subsets"));
    addTab(probesPage_, tr("Probes"));
    addTab(lowRankPage_, tr("Low-rank metrics"));
    addTab(page(this, distribution_), tr("Loss distribution"));
}

void LossSepTables::setResult(const ls::LossSepResult* result, const std::vector<ls::PredictorRow>& comparison) {
    fillComparison(result, comparison);
    fillThresholds(result);
    fillSubsets(result);
    fillProbes(result);
    fillLowRank(result);
    fillDistribution(result);
    for (QTableWidget* table : {comparison_.table, threshold_.table, subset_.table, probeRegression_,
                                probeClassification_, probeMetric_, lowRank_.table, distribution_.table})
        fitColumns(table);
}

void LossSepTables::fillComparison(const ls::LossSepResult* result, const std::vector<ls::PredictorRow>& rows) {
    QTableWidget* table = comparison_.table;
    table->setRowCount(int(rows.size()));
    comparison_.caption->setText(
        result ? tr("<b>Final comparison</b> at the final layer (L = %1), split at each score's median; probes on "
                    "their test tokens. The rows of the Oracle-ratio chart.")
                     .arg(result->numLayers)
               : QString());
    for (int row = 0; row < int(rows.size()); ++row) {
        const ls::PredictorRow& p = rows[size_t(row)];
        QString note;
        if (p.method == "oracle")
            note = tr("ideal upper bound");
        else if (p.method == "correct_prob")
            note = tr("needs the answer");
        else if (isProbeMethod(p.method))
            note = tr("learned on h_%1").arg(p.layer);
        else
            note = tr("inference time");
        const ls::SplitStats& s = p.split;
        setText(table, row, 0, methodLabel(p.method), QString::fromStdString(p.method))
            ->setForeground(palette::readableText(methodColor(p.method), table->palette()));
        setCell(table, row, 1, QString::number(p.layer));
        setNumber(table, row, 2, corrText(p.pearson), p.pearson);
        setNumber(table, row, 3, formatPercentValue(s.easyPct), s.easyPct);
        setNumber(table, row, 4, lossText(s.easyLoss), s.easyLoss);
        setNumber(table, row, 5, lossText(s.hardLoss), s.hardLoss);
        setNumber(table, row, 6, lossText(s.lossDiff), s.lossDiff);
        setBold(setNumber(table, row, 7, ratioText(s.oracleRatio), s.oracleRatio));
        setText(table, row, 8, note);
    }
}

void LossSepTables::fillThresholds(const ls::LossSepResult* result) {
    const int rows = result ? int(result->thresholds.size()) : 0;
    QTableWidget* table = threshold_.table;
    table->setRowCount(rows);
    threshold_.caption->setText(
        result ? tr("<b>Threshold table</b>: easy iff the score ≥ the threshold, at the final layer. "
                    "p(correct) is the notes' “softmax confidence” (the answer's probability); confidence "
                    "is max softmax(z), usable at inference time.")
               : QString());
    for (int row = 0; row < rows; ++row) {
        const ls::ThresholdRow& t = result->thresholds[size_t(row)];
        const ls::SplitStats& s = t.split;
        const bool median = t.rule == "median";
        setText(table, row, 0, methodShortLabel(t.method), methodLabel(t.method));
        setCell(table, row, 1,
                median ? tr("Median (%1)").arg(QString::number(t.threshold, 'g', 4)) : QString::fromStdString(t.rule),
                kNumberAlign, full(t.threshold));
        setNumber(table, row, 2, formatPercentValue(s.easyPct), s.easyPct);
        setNumber(table, row, 3, formatPercentValue(s.hardPct), s.hardPct);
        setNumber(table, row, 4, lossText(s.easyLoss), s.easyLoss);
        setNumber(table, row, 5, lossText(s.hardLoss), s.hardLoss);
        QTableWidgetItem* diff = setNumber(table, row, 6, lossText(s.lossDiff), s.lossDiff);
        if (median)
            setBold(diff);
        setNumber(table, row, 7, ratioText(s.oracleRatio), s.oracleRatio);
    }
}

void LossSepTables::fillSubsets(const ls::LossSepResult* result) {
    const int rows = result ? int(result->subsets.size()) : 0;
    QTableWidget* table = subset_.table;
    table->setRowCount(rows);
    subset_.caption->setText(result ? tr("<b>High-confidence subsets</b>: tokens with max softmax(z<sub>L</sub>) ≥ "
                                         "the threshold; Pearson r of each metric with the loss inside the subset; "
                                         "below: the low-confidence rest")
                                    : QString());
    for (int row = 0; row < rows; ++row) {
        const ls::SubsetRow& s = result->subsets[size_t(row)];
        setNumber(table, row, 0, QString::number(s.minConfidence, 'g', 4), s.minConfidence);
        setCell(table, row, 1, formatCount(s.tokens));
        setNumber(table, row, 2, formatPercentValue(s.pct), s.pct);
        setNumber(table, row, 3, lossText(s.meanLoss), s.meanLoss);
        const int low = table->columnCount() - 3;  // the three columns of the tokens below
        for (int c = 4; c < low; ++c) {
            const size_t i = size_t(c - 4);
            const double r = i < s.pearson.size() ? s.pearson[i] : std::nan("");
            setNumber(table, row, c, formatNumber(r, 4), r);
        }
        setCell(table, row, low, formatCount(s.lowTokens));
        setNumber(table, row, low + 1, formatPercentValue(s.lowPct), s.lowPct);
        setNumber(table, row, low + 2, lossText(s.lowMeanLoss), s.lowMeanLoss);
    }
}

void LossSepTables::fillProbes(const ls::LossSepResult* result) {
    const bool present = result && result->probes && !result->probes->rows.empty();
    setTabVisible(indexOf(probesPage_), present);
    for (QTableWidget* table : {probeRegression_, probeClassification_, probeMetric_})
        table->setRowCount(0);
    probesCaption_->clear();
    if (!present)
        return;
    const ls::ProbeResult& p = *result->probes;
    const ls::ProbeRow& first = p.rows.front();
    probesCaption_->setText(tr("<b>Probes</b> on h_%1 (%2): %3 sampled tokens, train / validation / test = "
                               "%4 / %5 / %6; every number on the test tokens")
                                .arg(p.layer)
                                .arg(p.layer == 0 ? tr("the embeddings") : tr("block %1's output").arg(p.layer))
                                .arg(formatCount(p.sampleTokens), formatCount(first.trainTokens),
                                     formatCount(first.validationTokens), formatCount(first.testTokens)));
    for (const ls::ProbeRow& r : p.rows) {
        QTableWidget* table = r.task == "regression"       ? probeRegression_
                              : r.task == "classification" ? probeClassification_
                                                           : probeMetric_;
        const int row = table->rowCount();
        table->setRowCount(row + 1);
        const QString arch = probeArchitectureLabel(r.architecture);
        if (table == probeMetric_) {
            setText(table, row, 0, QString::fromStdString(r.task));
            setText(table, row, 1, arch);
            setNumber(table, row, 2, formatNumber(r.pearson, 4), r.pearson);
            setNumber(table, row, 3, formatNumber(r.mse, 4), r.mse);
            setNumber(table, row, 4, corrText(r.r2), r.r2);
            setCell(table, row, 5, QString::number(r.epochs));
            continue;
        }
        setText(table, row, 0, arch);
        if (table == probeRegression_) {
            setNumber(table, row, 1, formatNumber(r.mse, 2), r.mse);
            setNumber(table, row, 2, corrText(r.pearson), r.pearson);
            setNumber(table, row, 3, corrText(r.r2), r.r2);
        } else {
            setNumber(table, row, 1, formatPercentValue(100 * r.accuracy), r.accuracy);
            setNumber(table, row, 2, corrText(r.f1Easy), r.f1Easy);
            setNumber(table, row, 3, corrText(r.f1Hard), r.f1Hard);
        }
        setNumber(table, row, 4, lossText(r.easyLoss), r.easyLoss);
        setNumber(table, row, 5, lossText(r.hardLoss), r.hardLoss);
        setNumber(table, row, 6, lossText(r.lossDiff), r.lossDiff);
        setNumber(table, row, 7, ratioText(r.oracleRatio), r.oracleRatio);
        setCell(table, row, 8, QString::number(r.epochs));
    }
    // Short tables: exactly as high as their rows (the page's stretch takes the rest).
    for (QTableWidget* table : {probeRegression_, probeClassification_, probeMetric_})
        table->setMaximumHeight(tableHeight(table, table->rowCount()));
}

void LossSepTables::fillLowRank(const ls::LossSepResult* result) {
    const bool present = result && !result->lowRank.empty();
    setTabVisible(indexOf(lowRankPage_), present);
    const int rows = present ? int(result->lowRank.size()) : 0;
    QTableWidget* table = lowRank_.table;
    table->setRowCount(rows);
    for (int row = 0; row < rows; ++row) {
        const ls::LowRankMetricRow& r = result->lowRank[size_t(row)];
        setCell(table, row, 0, QString::number(r.rank));
        setText(table, row, 1, QString::fromStdString(r.method));
        setNumber(table, row, 2, formatNumber(r.corrWithExact, 4), r.corrWithExact);
        setNumber(table, row, 3, formatNumber(r.pearson, 4), r.pearson);
        setNumber(table, row, 4, lossText(r.split.easyLoss), r.split.easyLoss);
        setNumber(table, row, 5, lossText(r.split.hardLoss), r.split.hardLoss);
        setNumber(table, row, 6, lossText(r.split.lossDiff), r.split.lossDiff);
        setNumber(table, row, 7, ratioText(r.split.oracleRatio), r.split.oracleRatio);
        setNumber(table, row, 8, formatNumber(r.logitCorr, 4), r.logitCorr);
        setNumber(table, row, 9, QString::number(r.logitMse, 'g', 3), r.logitMse);
        setNumber(table, row, 10, formatNumber(r.headRelError, 4), r.headRelError);
        setNumber(table, row, 11, formatNumber(r.usPerToken, 2), r.usPerToken);
    }
}

void LossSepTables::fillDistribution(const ls::LossSepResult* result) {
    QTableWidget* table = distribution_.table;
    table->setRowCount(0);
    if (!result)
        return;
    const ls::LossDistribution& d = result->distribution;
    const ls::Summary& s = d.summary;
    const QList<QPair<QString, double>> rows{
        {tr("Loss mean"), s.mean},        {tr("Loss std"), s.std},       {tr("Loss min"), s.min},
        {tr("25%"), s.p25},               {tr("50% (median)"), s.p50},   {tr("75%"), s.p75},
        {tr("Loss max"), s.max},          {tr("Easy loss mean (Oracle)"), d.oracle.easyLoss},
        {tr("Hard loss mean (Oracle)"), d.oracle.hardLoss},              {tr("Loss Diff"), d.oracle.lossDiff},
        {tr("Cohen's d"), d.cohensD}};
    table->setRowCount(int(rows.size()) + 1);
    setText(table, 0, 0, tr("Tokens"));
    setCell(table, 0, 1, formatCount(s.count));
    for (int i = 0; i < rows.size(); ++i) {
        setText(table, i + 1, 0, rows[i].first);
        setNumber(table, i + 1, 1, lossText(rows[i].second), rows[i].second);
    }
}

}  // namespace ls::widgets
