#include "generation_view.h"

#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QPlainTextEdit>
#include <QScrollBar>
#include <QScrollArea>
#include <QSpinBox>
#include <QSplitter>
#include <QTableWidget>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <map>
#include <qcustomplot.h>

#include "kit/format.h"
#include "kit/forms.h"
#include "kit/palette.h"
#include "kit/plot_style.h"

namespace ls::widgets {

namespace {

QString fromStd(const std::string& s) { return QString::fromStdString(s); }

QString number(double v, int decimals) { return std::isfinite(v) ? formatNumber(v, decimals) : noValue(); }

// 1.2e9 FLOPs as "1.20 G".
QString flops(double v) {
    if (!std::isfinite(v)) return noValue();
    const char* units[] = {"", " k", " M", " G", " T"};
    int u = 0;
    while (std::abs(v) >= 1000 && u < 4) v /= 1000, ++u;
    return QStringLiteral("%1%2").arg(v, 0, 'f', v < 10 ? 2 : 1).arg(QLatin1String(units[u]));
}

}  // namespace

GenerationView::GenerationView(QWidget* parent)
    : ResultViewOf(tr("Continuations of the prompts under each condition of the model (KV cache, the condition's own "
                      "kernels): speed, PPL under the baseline model (<i>ppl_base</i>) and under the condition's own "
                      "(<i>ppl_self</i>), repetition, best-of-N and self-refinement, and a FLOP model. PPL below 2 with "
                      "a long repeated run is degenerate text, not quality."),
                   &ls::generationTables, parent) {
    // Which continuation the columns show.
    promptSpin_ = makeSpin(this, "generationPrompt", 1, 1, 1, tr("The prompt whose continuations are shown"));
    sampleSpin_ = makeSpin(this, "generationSample", 1, 1, 1, tr("The sample (best-of-N draws several per prompt)"));
    iterationSpin_ = makeSpin(this, "generationIteration", 1, 1, 1, tr("The self-refinement iteration"));
    for (auto [label, spin] : {std::pair{tr("Prompt"), promptSpin_}, {tr("Sample"), sampleSpin_}, {tr("Iteration"), iterationSpin_}}) {
        addHeaderControl(new QLabel(label, this));
        addHeaderControl(spin);
        connect(spin, qOverload<int>(&QSpinBox::valueChanged), this, [this] { fillColumns(); });
    }

    auto* top = new QWidget(this);
    auto* topLayout = new QVBoxLayout(top);
    topLayout->setContentsMargins(0, 0, 0, 0);
    promptLabel_ = makeNote(top);
    topLayout->addWidget(promptLabel_);
    columnsArea_ = new QWidget(top);
    columnsLayout_ = new QGridLayout(columnsArea_);
    columnsLayout_->setContentsMargins(0, 0, 0, 0);
    topLayout->addWidget(columnsArea_, 1);

    auto* tablesArea = new QWidget(this);
    auto* tablesLayout = new QVBoxLayout(tablesArea);
    tablesLayout->setContentsMargins(0, 0, 0, 0);
    summary_ = makeCaptionedTable(tablesArea, tr("<b>Per condition</b> (means over continuations; FLOPs per token at the "
                                                 "longest context reached)"),
                                  {tr("condition"), tr("heads"), tr("continuations"), tr("prefill ms"), tr("ms/token"),
                                   tr("tokens/s"), tr("ppl_base"), tr("ppl_self"), tr("distinct-2"), tr("longest repeat"),
                                   tr("context"), tr("FLOPs/token"), tr("attention"), tr("ReLU kernel saves"),
                                   tr("extra tokens"), tr("bound saves"), tr("bound extra")},
                                  {{}, tr("Heads the condition changes"), {}, tr("The prompt's forward (fills the cache)"),
                                   tr("Each further token's decode step"), {}, tr("PPL of the new tokens under the baseline model"),
                                   tr("Under the condition's own model"), tr("Distinct bigrams / bigrams"),
                                   tr("Longest run of new tokens that occurs twice"), tr("Positions reached"),
                                   tr("Weights + attention, every head softmax"), tr("Attention's share (q.k, softmax, weights.v)"),
                                   tr("What the ReLU kernel saves per token: 3 T per linearised head (softmax 5 T, ReLU 2 T)"),
                                   tr("Tokens that saving buys at equal FLOPs over the continuation"),
                                   tr("If a linearised head's attention cost nothing (the notes' kernelised estimate)"),
                                   tr("Tokens that bound buys")});
    addCaptionedTable(tablesLayout, summary_, 0);  // as tall as its rows (fillTables)
    auto* lower = new QHBoxLayout;
    auto* lowerTables = new QVBoxLayout;
    bestOf_ = makeCaptionedTable(tablesArea, tr("<b>Best-of-N</b>: mean lowest ppl_base among a prompt's first N samples"),
                                 {tr("condition"), tr("iteration"), tr("N"), tr("prompts"), tr("ppl_base")});
    refinement_ = makeCaptionedTable(tablesArea, tr("<b>Self-refinement</b>: means per iteration"),
                                     {tr("condition"), tr("iteration"), tr("continuations"), tr("ppl_base"), tr("ppl_self"),
                                      tr("distinct-2"), tr("longest repeat")});
    addCaptionedTable(lowerTables, bestOf_, 1);
    addCaptionedTable(lowerTables, refinement_, 1);
    lower->addLayout(lowerTables, 3);
    pplPlot_ = addChart(QStringLiteral("generation_best_of"), makeTitledPlot(tablesArea, tr("ppl_base against N"), QSize(320, 220), 11));
    legendBelow(pplPlot_, 2);
    lower->addWidget(pplPlot_, 2);
    tablesLayout->addLayout(lower, 2);

    auto* splitter = new QSplitter(Qt::Vertical, this);
    splitter->addWidget(top);
    splitter->addWidget(tablesArea);
    splitter->setStretchFactor(0, 3);  // the texts are what a reader comes for
    splitter->setStretchFactor(1, 2);
    setBody(splitter);
    showResult();
}

void GenerationView::makeColumns(const std::vector<std::string>& conditions) {
    for (QLabel* l : columnTitles_) delete l;
    for (QPlainTextEdit* c : columns_) delete c;
    columnTitles_.clear();
    columns_.clear();
    for (size_t i = 0; i < conditions.size(); ++i) {
        auto* title = new QLabel(QStringLiteral("<b>%1</b>").arg(fromStd(conditions[i]).toHtmlEscaped()), columnsArea_);
        title->setStyleSheet(QStringLiteral("color: %1").arg(palette::css(palette::series(static_cast<int>(i)))));
        auto* text = new QPlainTextEdit(columnsArea_);
        text->setMinimumHeight(120);
        text->setReadOnly(true);
        text->setObjectName(QStringLiteral("generationColumn%1").arg(i));
        columnsLayout_->addWidget(title, 0, static_cast<int>(i));
        columnsLayout_->addWidget(text, 1, static_cast<int>(i));
        columnTitles_.push_back(title);
        columns_.push_back(text);
    }
}

void GenerationView::beginRun(const std::vector<std::string>& conditions) {
    result_.reset();
    liveConditions_ = conditions;
    live_.clear();
    for (QSpinBox* spin : {promptSpin_, sampleSpin_, iterationSpin_}) spin->setRange(1, 1);  // they grow as continuations come
    makeColumns(conditions);
    fillTables();
    drawChart();
    setSummary(tr("Generating…"));
    fillColumns();
}

void GenerationView::addContinuation(const ls::GenerationProgress& progress) {
    const ls::Continuation& c = progress.continuation;
    const auto same = std::find_if(live_.begin(), live_.end(), [&](const ls::GenerationProgress& p) {
        const ls::Continuation& o = p.continuation;
        return o.condition == c.condition && o.prompt == c.prompt && o.sample == c.sample && o.iteration == c.iteration;
    });
    if (same != live_.end()) *same = progress;  // a continuation that grew, or finished
    else live_.push_back(progress);
    promptSpin_->setMaximum(std::max(promptSpin_->maximum(), c.prompt + 1));
    sampleSpin_->setMaximum(std::max(sampleSpin_->maximum(), c.sample + 1));
    iterationSpin_->setMaximum(std::max(iterationSpin_->maximum(), c.iteration));
    const auto finished = std::count_if(live_.begin(), live_.end(), [](const ls::GenerationProgress& p) { return p.finished; });
    setSummary(tr("Generating… %1 continuations done").arg(finished));
    fillColumns();
}

void GenerationView::showContinuation(int prompt, int sample, int iteration) {
    promptSpin_->setValue(prompt + 1);
    sampleSpin_->setValue(sample + 1);
    iterationSpin_->setValue(iteration);
    fillColumns();
}

QString GenerationView::columnText(int condition) const {
    return condition >= 0 && condition < static_cast<int>(columns_.size()) ? columns_[static_cast<size_t>(condition)]->toPlainText()
                                                                           : QString();
}

QString GenerationView::summaryText() const {
    if (!result_) return {};
    const ls::GenerationResult& r = *result_;
    QString text = tr("%1 prompts, %2 conditions, %3 continuations").arg(r.prompts.size()).arg(r.conditions.size()).arg(r.continuations.size());
    if (!r.summaries.empty()) {
        const ls::ConditionSummary& base = r.summaries.front();
        text += tr("; %1: %2 tokens/s, ppl_base %3").arg(fromStd(base.condition), number(base.tokensPerSecond, 1), number(base.pplBase, 2));
    }
    if (!r.complete) text += tr(" — <b>partial</b> (canceled)");
    return text;
}

void GenerationView::fillColumns() {
    const int prompt = promptSpin_->value() - 1, sample = sampleSpin_->value() - 1, iteration = iterationSpin_->value();
    // What the columns show: the result's continuations, or while a run goes the latest reports.
    std::vector<std::pair<const ls::Continuation*, bool>> shown;  // (continuation, finished)
    QString promptText;
    if (result_) {
        for (const ls::Continuation& c : result_->continuations) shown.push_back({&c, true});
        if (prompt < static_cast<int>(result_->prompts.size())) {
            const ls::Prompt& p = result_->prompts[static_cast<size_t>(prompt)];
            promptText = p.text.empty() ? tr("(%1 token ids)").arg(p.ids.size()) : fromStd(p.text);
        }
    } else {
        for (const ls::GenerationProgress& p : live_) {
            shown.push_back({&p.continuation, p.finished});
            if (p.continuation.prompt == prompt) promptText = fromStd(p.promptText);
        }
    }
    promptLabel_->setText(tr("<b>Prompt %1:</b> %2").arg(prompt + 1).arg(promptText.toHtmlEscaped()));
    for (size_t ci = 0; ci < columns_.size(); ++ci) {
        QString text = tr("(not generated yet)");
        for (const auto& [c, finished] : shown)
            if (c->condition == static_cast<int>(ci) && c->prompt == prompt && c->sample == sample && c->iteration == iteration) {
                text = c->text.empty() ? QString() : fromStd(c->text) + QStringLiteral("\n\n");
                if (!finished) {
                    text += tr("(generating… %1 tokens)").arg(c->ids.size());
                    continue;
                }
                QStringList ids;
                for (const int32_t id : c->ids) ids << QString::number(id);
                text += tr("ids: %1\n\nppl_base %2 · ppl_self %3 · %4 tokens/s · longest repeat %5")
                            .arg(ids.join(' '), number(c->pplBase, 2), number(c->pplSelf, 2), number(c->tokensPerSecond, 1))
                            .arg(c->longestRepeat);
            }
        columns_[ci]->setPlainText(text);
    }
}

void GenerationView::showResult() {
    if (result_) {
        std::vector<std::string> names;
        for (const ls::GenerationCondition& c : result_->conditions) names.push_back(c.name);
        makeColumns(names);
        int prompts = 1, samples = 1, iterations = 1;
        for (const ls::Continuation& c : result_->continuations) {
            prompts = std::max(prompts, c.prompt + 1);
            samples = std::max(samples, c.sample + 1);
            iterations = std::max(iterations, c.iteration);
        }
        promptSpin_->setMaximum(prompts);
        sampleSpin_->setMaximum(samples);
        iterationSpin_->setMaximum(iterations);
        live_.clear();
    } else if (liveConditions_.empty()) {
        makeColumns({});
    }
    setSummary(summaryText());
    fillColumns();
    fillTables();
    drawChart();
}

void GenerationView::fillTables() {
    QTableWidget* t = summary_.table;
    const auto* r = result_.get();
    t->setRowCount(r ? static_cast<int>(r->summaries.size()) : 0);
    for (int i = 0; r && i < static_cast<int>(r->summaries.size()); ++i) {
        const ls::ConditionSummary& s = r->summaries[static_cast<size_t>(i)];
        const ls::FlopModel& f = s.flops;
        setCell(t, i, 0, fromStd(s.condition), kTextAlign)->setForeground(palette::series(i));
        setCell(t, i, 1, QString::number(s.heads));
        setCell(t, i, 2, QString::number(s.continuations));
        setCell(t, i, 3, number(s.prefillMs, 1));
        setCell(t, i, 4, number(s.msPerToken, 2));
        setCell(t, i, 5, number(s.tokensPerSecond, 1));
        setCell(t, i, 6, number(s.pplBase, 2));
        setCell(t, i, 7, number(s.pplSelf, 2));
        setCell(t, i, 8, number(s.distinct2, 3));
        setCell(t, i, 9, number(s.longestRepeat, 1));
        setCell(t, i, 10, QString::number(f.context));
        setCell(t, i, 11, flops(f.total));
        setCell(t, i, 12, formatPercent(f.attention / f.total));
        setCell(t, i, 13, formatPercent(f.kernelSaving / f.total, 2));
        setCell(t, i, 14, QString::number(s.kernelExtraTokens));
        setCell(t, i, 15, formatPercent(f.boundSaving / f.total));
        setCell(t, i, 16, QString::number(s.boundExtraTokens));
    }
    fitColumns(t);
    t->setFixedHeight(tableHeight(t, std::max(1, t->rowCount())) + t->horizontalScrollBar()->sizeHint().height());
    QTableWidget* b = bestOf_.table;
    b->setRowCount(r ? static_cast<int>(r->bestOfTable.size()) : 0);
    for (int i = 0; r && i < static_cast<int>(r->bestOfTable.size()); ++i) {
        const ls::BestOfPoint& p = r->bestOfTable[static_cast<size_t>(i)];
        setCell(b, i, 0, fromStd(p.condition), kTextAlign);
        setCell(b, i, 1, QString::number(p.iteration));
        setCell(b, i, 2, QString::number(p.n));
        setCell(b, i, 3, QString::number(p.prompts));
        setCell(b, i, 4, number(p.pplBase, 2));
    }
    fitColumns(b);
    QTableWidget* f = refinement_.table;
    f->setRowCount(r ? static_cast<int>(r->refinement.size()) : 0);
    for (int i = 0; r && i < static_cast<int>(r->refinement.size()); ++i) {
        const ls::RefinementPoint& p = r->refinement[static_cast<size_t>(i)];
        setCell(f, i, 0, fromStd(p.condition), kTextAlign);
        setCell(f, i, 1, QString::number(p.iteration));
        setCell(f, i, 2, QString::number(p.continuations));
        setCell(f, i, 3, number(p.pplBase, 2));
        setCell(f, i, 4, number(p.pplSelf, 2));
        setCell(f, i, 5, number(p.distinct2, 3));
        setCell(f, i, 6, number(p.longestRepeat, 1));
    }
    fitColumns(f);
}

void GenerationView::drawChart() {
    QCustomPlot* plot = pplPlot_;
    plot->clearGraphs();
    const auto* r = result_.get();
    // ppl_base against N (the first iteration); with a single N, against the iteration.
    const bool againstN = r && r->bestOf.size() > 1;
    titleOf(plot)->setText(againstN ? tr("ppl_base against N (best of N)") : tr("ppl_base against the iteration"));
    plot->xAxis->setLabel(againstN ? tr("N") : tr("iteration"));
    plot->yAxis->setLabel(tr("ppl_base"));
    double lo = INFINITY, hi = -INFINITY, xMax = 1;
    for (size_t ci = 0; r && ci < r->conditions.size(); ++ci) {
        QVector<double> x, y;
        const std::string& name = r->conditions[ci].name;
        if (againstN) {
            for (const ls::BestOfPoint& p : r->bestOfTable)
                if (p.condition == name && p.iteration == 1 && std::isfinite(p.pplBase)) x << p.n, y << p.pplBase;
        } else {
            for (const ls::RefinementPoint& p : r->refinement)
                if (p.condition == name && std::isfinite(p.pplBase)) x << p.iteration, y << p.pplBase;
        }
        QCPGraph* g = plot->addGraph();
        g->setName(fromStd(name));
        const QColor color = palette::series(static_cast<int>(ci));
        g->setPen(QPen(color, 2));
        g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(color, 1.5), Qt::white, 7));
        g->setData(x, y);
        for (int i = 0; i < x.size(); ++i) lo = std::min(lo, y[i]), hi = std::max(hi, y[i]), xMax = std::max(xMax, x[i]);
    }
    plot->xAxis->setRange(0.5, xMax + 0.5);
    // PPLs of damaged conditions run to orders of magnitude above the baseline's: a log axis then.
    const bool logScale = std::isfinite(lo) && lo > 0 && hi / lo > 20;
    plot->yAxis->setScaleType(logScale ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
    plot->yAxis->setTicker(logScale ? QSharedPointer<QCPAxisTicker>(new QCPAxisTickerLog) : QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
    if (logScale) plot->yAxis->setRange(lo / 1.5, hi * 1.5);
    else if (std::isfinite(lo)) plot->yAxis->setRange(lo - 0.08 * (hi - lo + 1e-9) - 0.05, hi + 0.08 * (hi - lo + 1e-9) + 0.05);
    plot->xAxis->ticker()->setTickCount(static_cast<int>(std::min(xMax, 8.0)));
    plot->yAxis->setLabel(logScale ? tr("ppl_base (log)") : tr("ppl_base"));
    plot->legend->setVisible(r && !r->conditions.empty());
    plot->replot();
}

}  // namespace ls::widgets
