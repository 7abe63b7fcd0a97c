#include "analysis_panel.h"

#include <QCheckBox>
#include <QComboBox>
#include <QGroupBox>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QPushButton>
#include <QRegularExpression>
#include <QSpinBox>
#include <QVBoxLayout>
#include <algorithm>
#include <limits>

#include "analysis/registry.h"
#include "common/error.h"
#include "kit/forms.h"

using ls::widgets::formBox;
using ls::widgets::makeLineEdit;
using ls::widgets::makeSpin;
using ls::widgets::onChanged;

namespace {

constexpr int kNoModelMax = 1 << 20;


// "8, 16 32" -> numbers; *error names the first item that is not a number.
std::vector<double> parseNumbers(const QString& text, QString* error) {
    std::vector<double> out;
    const QStringList items = text.split(QRegularExpression("[,;\\s]+"), Qt::SkipEmptyParts);
    for (const QString& item : items) {
        bool ok = false;
        const double v = item.toDouble(&ok);
        if (!ok) {
            *error = QObject::tr("'%1' is not a number").arg(item);
            return {};
        }
        out.push_back(v);
    }
    return out;
}

QString joinNumbers(const std::vector<double>& values) {
    QStringList parts;
    for (double v : values)
        parts << QString::number(v, 'g', 6);
    return parts.join(", ");
}

}  // namespace

AnalysisPanel::AnalysisPanel(QWidget* parent) : QWidget(parent) {
    // ---- which analyses
    auto* whichBox = new QGroupBox(tr("Analyses (one capture pass)"), this);
    auto* whichLayout = new QVBoxLayout(whichBox);
    for (const ls::AnalysisSpec& info : ls::analysisRegistry()) {
        const QString name = QString::fromStdString(info.name);
        auto* check = new QCheckBox(QString::fromStdString(info.title), whichBox);
        check->setObjectName(QStringLiteral("check_%1").arg(name));
        check->setToolTip(QString::fromStdString(info.description));
        // Checked by default: the layer analyses that take seconds on the demo; the probes,
        // head scans and linearisation run many passes, so they are opted into.
        check->setChecked(info.checkedByDefault);
        whichLayout->addWidget(check);
        analysisChecks_.insert(name, check);
        order_.push_back(info.name);
        connect(check, &QCheckBox::toggled, this, &AnalysisPanel::revalidate);
    }

    // ---- parameters
    layerSpin_ = makeSpin(this, "layerSpin", 1, kNoModelMax, 1,
                          tr("The chosen / exit layer l (1..L, blocks counted from 1): cos-sim exit "
                             "thresholds are taken at c_l, low-rank agreement and saturation detection "
                             "use h_l. Default: L-1, set when a model loads."));
    ranksEdit_ = makeLineEdit(this, "ranksEdit",
                              tr("automatic: 8, 16, …, dim"),
                              tr("Ranks r of the low-rank head W_r, comma-separated (1..hidden size). "
                                 "Empty: 8, 16, 32, … below the hidden size, and the hidden size."));
    ratiosEdit_ = makeLineEdit(this, "ratiosEdit", {},
                               tr("Cos-sim exit thresholds: for each hard ratio r in (0, 1) the threshold "
                                  "is the r-quantile of c_l at the chosen layer; tokens below it are hard."));
    ratiosEdit_->setText(QStringLiteral("0.3, 0.5, 0.7"));
    postAttentionCheck_ = new QCheckBox(tr("Lens also after attention"), this);
    postAttentionCheck_->setObjectName("postAttentionCheck");
    postAttentionCheck_->setToolTip(QString::fromStdString(ls::findParam("post-attention")->help));
    inspectWindowSpin_ = makeSpin(this, "inspectWindowSpin", 0, std::numeric_limits<int>::max(), 0,
                                  tr("Which evaluation window the token inspector shows: its index in the "
                                     "window list, 0 = the first (the Dataset preview counts from 1)"));
    topKSpin_ = makeSpin(this, "topKSpin", 1, kNoModelMax, 5,
                         tr("Tokens per inspector cell shown on hover (1..vocabulary size)"));
    binsSpin_ = makeSpin(this, "binsSpin", 1, 100000, 60,
                         tr("Bins of the cos-sim histograms (one common range for all layers)"));

    QGroupBox* paramBox = formBox(this, tr("Parameters"),
                                  {{tr("Layer"), layerSpin_},
                                   {tr("Ranks"), ranksEdit_},
                                   {tr("Hard ratios"), ratiosEdit_},
                                   {{}, postAttentionCheck_},
                                   {tr("Inspector window"), inspectWindowSpin_},
                                   {tr("Top-k"), topKSpin_},
                                   {tr("Histogram bins"), binsSpin_}});

    // ---- loss separation and early exit
    probesCheck_ = new QCheckBox(tr("Train probes on hidden states"), this);
    probesCheck_->setObjectName("probesCheck");
    probesCheck_->setChecked(true);
    probesCheck_->setToolTip(tr("Loss separation: train the probes (linear, MLP-2 (128), MLP-3 (128), MLP-2-wide "
                                "(256); regression on the loss, classification easy iff loss ≤ 3, and probes of "
                                "each metric) on a sample of the tokens' hidden states. Their training curves show "
                                "live in the Loss separation tab."));
    probeLayerSpin_ = makeSpin(this, "probeLayerSpin", -1, kNoModelMax, -1,
                               tr("The probes read h_l: 0 = the embeddings, l = block l's output; the first "
                                  "entry is the last block's output (the default)"));
    probeLayerSpin_->setSpecialValueText(tr("L (last block)"));
    metricRanksEdit_ = makeLineEdit(this, "metricRanksEdit",
                                    tr("none, e.g. 8, 16, 32"),
                                    tr("Low-rank versions of the metrics: ranks r of the SVD head W_r "
                                       "(1..hidden size), comma-separated; empty: none"));
    exitSignalCombo_ = new QComboBox(this);
    exitSignalCombo_->setObjectName("exitSignalCombo");
    for (const char* name : {"confidence", "max_z", "max_minus_mean", "margin", "entropy", "cossim"})
        exitSignalCombo_->addItem(QString::fromLatin1(name), QString::fromLatin1(name));
    exitSignalCombo_->setToolTip(tr("The exit policy's signal per token and layer: the logit-lens metrics "
                                    "(entropy exits when low) or cos-sim (runs cos-sim too). The Early exit tab "
                                    "can switch signals afterwards."));
    exitLayersEdit_ = makeLineEdit(this, "exitLayersEdit",
                                   tr("all: 1..L-1"),
                                   tr("Layers where a token may exit, comma-separated (1..L-1); empty: all. Tokens "
                                      "that pass nowhere run all L blocks."));

    lossSepBox_ = formBox(this, tr("Loss separation"),
                          {{{}, probesCheck_},
                           {tr("Probe layer"), probeLayerSpin_},
                           {tr("Metric ranks"), metricRanksEdit_}});
    exitBox_ = formBox(this, tr("Early exit"),
                       {{tr("Signal"), exitSignalCombo_}, {tr("Exit layers"), exitLayersEdit_}});

    // ---- head interventions: ablation, ReLU linearisation, context sweep
    headsEdit_ = makeLineEdit(this, "headsEdit",
                              tr("all, or e.g. L0H3, L5"),
                              tr("The heads to ablate or linearise, in TransformerLens names with layers from 0: "
                                 "L0H3 is block 1's head 3, L5 every head of block 6. Empty: every head."));
    subsetTokensSpin_ = makeSpin(this, "subsetTokensSpin", 0, std::numeric_limits<int>::max(), 2048,
                                 tr("Ranking stability: the scan on the first windows holding this many tokens is "
                                    "compared with the scan on all of them (Spearman, Kendall)"));
    attributionCheck_ = new QCheckBox(tr("Attribution-patching estimate"), this);
    attributionCheck_->setObjectName("attributionCheck");
    attributionCheck_->setChecked(true);
    attributionCheck_->setToolTip(tr("First-order estimate of every head's ablation effect from one forward and "
                                     "backward pass per window, shown beside the exact scan"));
    normalizeCombo_ = new QComboBox(this);
    normalizeCombo_->setObjectName("normalizeCombo");
    normalizeCombo_->addItem(tr("attended count"), QStringLiteral("count"));
    normalizeCombo_->addItem(tr("row sum"), QStringLiteral("rowsum"));
    normalizeCombo_->setToolTip(tr("ReLU attention relu(q·k/√d) is divided by the number of attended positions "
                                   "or by the row sum of the ReLU values"));
    stepsSpin_ = makeSpin(this, "stepsSpin", 1, 100000, 10,
                          tr("Points of the cumulative linearisation curve: N = 0, steps, 2·steps, …, all"));
    protectLayersEdit_ = makeLineEdit(this, "protectLayersEdit",
                                      tr("none, e.g. 1, 2"),
                                      tr("Layers (1..L) whose heads keep softmax attention"));
    contextLengthsEdit_ = makeLineEdit(this, "contextLengthsEdit",
                                       tr("128, 256, 512, 1024 that fit"),
                                       tr("Context-length sweep: tokens per window, comma-separated (at most the "
                                          "model's context)"));
    headsBox_ = formBox(this, tr("Head interventions"),
                        {{tr("Heads"), headsEdit_},
                         {tr("Subset tokens"), subsetTokensSpin_},
                         {{}, attributionCheck_},
                         {tr("ReLU normalisation"), normalizeCombo_},
                         {tr("Curve steps"), stepsSpin_},
                         {tr("Protected layers"), protectLayersEdit_},
                         {tr("Context lengths"), contextLengthsEdit_}});

    // Core names a parameter by its key (ls::ParamError::key, the same word as the command
    // line's option); the form marks that field and says its label.
    optionFields_ = {{"layer", layerSpin_},       {"ranks", ranksEdit_},
                     {"hard-ratios", ratiosEdit_}, {"inspect-window", inspectWindowSpin_},
                     {"top-k", topKSpin_},         {"bins", binsSpin_},
                     {"probe-layer", probeLayerSpin_}, {"metric-ranks", metricRanksEdit_},
                     {"signal", exitSignalCombo_}, {"layers", exitLayersEdit_},
                     {"heads", headsEdit_},        {"subset-tokens", subsetTokensSpin_},
                     {"steps", stepsSpin_},        {"protect-layers", protectLayersEdit_},
                     {"context-lengths", contextLengthsEdit_}};
    optionLabels_ = {{"layer", tr("Layer")},       {"ranks", tr("Ranks")},
                     {"hard-ratios", tr("Hard ratios")}, {"inspect-window", tr("Inspector window")},
                     {"top-k", tr("Top-k")},       {"bins", tr("Histogram bins")},
                     {"probe-layer", tr("Probe layer")}, {"metric-ranks", tr("Metric ranks")},
                     {"signal", tr("Exit signal")}, {"layers", tr("Exit layers")},
                     {"heads", tr("Heads")},       {"subset-tokens", tr("Subset tokens")},
                     {"steps", tr("Curve steps")}, {"protect-layers", tr("Protected layers")},
                     {"context-lengths", tr("Context lengths")}};

    layerNote_ = new QLabel(this);
    layerNote_->setObjectName("layerNote");
    layerNote_->setWordWrap(true);

    problemLabel_ = new QLabel(this);
    problemLabel_->setObjectName("problemLabel");
    problemLabel_->setWordWrap(true);
    problemLabel_->setStyleSheet(QStringLiteral("color: #c00;"));
    problemLabel_->setTextInteractionFlags(Qt::TextSelectableByMouse);

    runButton_ = new QPushButton(tr("Run"), this);
    runButton_->setObjectName("runButton");
    runButton_->setToolTip(tr("Run the checked analyses over the Dataset panel's windows (Ctrl+L)"));
    connect(runButton_, &QPushButton::clicked, this, [this] {
        if (canRun())
            emit runRequested();
    });

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(whichBox);
    layout->addWidget(paramBox);
    layout->addWidget(lossSepBox_);
    layout->addWidget(exitBox_);
    layout->addWidget(headsBox_);
    layout->addWidget(layerNote_);
    layout->addWidget(problemLabel_);
    layout->addWidget(runButton_);
    layout->addStretch(1);

    onChanged({layerSpin_, inspectWindowSpin_, topKSpin_, binsSpin_, subsetTokensSpin_, stepsSpin_, probeLayerSpin_,
               ranksEdit_, ratiosEdit_, metricRanksEdit_, exitLayersEdit_, headsEdit_, protectLayersEdit_,
               contextLengthsEdit_, attributionCheck_, postAttentionCheck_, probesCheck_, normalizeCombo_,
               exitSignalCombo_},
              this, [this] { revalidate(); });
    setModelConfig(std::nullopt);
}

void AnalysisPanel::setModelConfig(const std::optional<ls::ModelConfig>& config) {
    config_ = config;
    const QSignalBlocker blockLayer(layerSpin_), blockTopK(topKSpin_), blockProbe(probeLayerSpin_);
    if (config_) {
        const int L = std::max(1, config_->numLayers);
        layerSpin_->setRange(1, L);
        layerSpin_->setValue(std::max(1, L - 1));
        probeLayerSpin_->setRange(-1, L);
        topKSpin_->setRange(1, std::max(1, config_->vocabSize));
        layerNote_->setText(tr("Layers 1..%1 are the blocks' outputs (0 = the embeddings). Cos-sim layer l "
                               "compares the stream entering block l with the one leaving it.")
                                .arg(L));
    } else {
        layerSpin_->setRange(1, kNoModelMax);
        topKSpin_->setRange(1, kNoModelMax);
        probeLayerSpin_->setRange(-1, kNoModelMax);
        layerNote_->setText(tr("Open a model and a dataset to run the analyses."));
    }
    revalidate();
}

void AnalysisPanel::setWindowCount(int64_t windows) {
    windowCount_ = windows;
    revalidate();
}

void AnalysisPanel::setRunAvailable(bool available) {
    runAvailable_ = available;
    runButton_->setEnabled(canRun());
}

bool AnalysisPanel::canRun() const { return runAvailable_ && config_ && problem_.isEmpty(); }

ls::LayerRunParams AnalysisPanel::params() const {
    ls::LayerRunParams p;
    for (const std::string& name : order_)
        if (analysisChecks_.value(QString::fromStdString(name))->isChecked())
            p.analyses.push_back(name);
    p.layer = layerSpin_->value();
    QString error;
    for (double r : parseNumbers(ranksEdit_->text(), &error))
        p.ranks.push_back(r == int(r) ? int(r) : 0);  // 0 fails the range check
    error.clear();
    const std::vector<double> ratios = parseNumbers(ratiosEdit_->text(), &error);
    if (error.isEmpty())
        p.hardRatios = ratios;
    for (const auto& [spin, field] : intFields())
        p.*field = spin->value();
    p.postAttentionLens = postAttentionCheck_->isChecked();
    p.probes = probesCheck_->isChecked();
    error.clear();
    for (double r : parseNumbers(metricRanksEdit_->text(), &error))
        p.metricRanks.push_back(r == int(r) ? int(r) : 0);  // 0 fails the range check
    p.exit.signal = exitSignalCombo_->currentData().toString().toStdString();
    error.clear();
    for (double l : parseNumbers(exitLayersEdit_->text(), &error))
        p.exit.layers.push_back(l == int(l) ? int(l) : 0);  // 0 fails the range check
    // Heads need the model's shape; revalidate() reports a list that does not parse.
    const QString heads = headsEdit_->text().remove(' ');
    if (config_ && !heads.isEmpty()) {
        try {
            p.heads = ls::parseHeadList(heads.toStdString(), config_->numLayers, config_->numHeads);
        } catch (const ls::Error&) {
        }
    }
    p.subsetTokens = subsetTokensSpin_->value();
    p.attribution = attributionCheck_->isChecked();
    p.linearize.normalize = ls::parseReluNormalize(normalizeCombo_->currentData().toString().toStdString());
    p.linearize.steps = stepsSpin_->value();
    error.clear();
    for (double l : parseNumbers(protectLayersEdit_->text(), &error))
        p.linearize.protectLayers.push_back(l == int(l) ? int(l) : 0);  // 0 fails the range check
    error.clear();
    for (double n : parseNumbers(contextLengthsEdit_->text(), &error))
        p.linearize.contextLengths.push_back(n == int(n) ? int(n) : 0);  // 0 fails the length check
    return p;
}

std::vector<std::pair<QSpinBox*, int ls::LayerRunParams::*>> AnalysisPanel::intFields() const {
    return {{inspectWindowSpin_, &ls::LayerRunParams::inspectWindow},
            {topKSpin_, &ls::LayerRunParams::topK},
            {binsSpin_, &ls::LayerRunParams::bins},
            {probeLayerSpin_, &ls::LayerRunParams::probeLayer}};
}

void AnalysisPanel::setParams(const ls::LayerRunParams& p) {
    {
        const QSignalBlocker block(this);  // one revalidate at the end
        setAnalyses(p.analyses);
        if (p.layer > 0)
            layerSpin_->setValue(p.layer);
        QStringList ranks;
        for (int r : p.ranks)
            ranks << QString::number(r);
        ranksEdit_->setText(ranks.join(", "));
        ratiosEdit_->setText(joinNumbers(p.hardRatios));
        for (const auto& [spin, field] : intFields())
            spin->setValue(p.*field);
        postAttentionCheck_->setChecked(p.postAttentionLens);
        probesCheck_->setChecked(p.probes);
        QStringList metricRanks, exitLayers;
        for (int r : p.metricRanks)
            metricRanks << QString::number(r);
        for (int l : p.exit.layers)
            exitLayers << QString::number(l);
        metricRanksEdit_->setText(metricRanks.join(", "));
        exitLayersEdit_->setText(exitLayers.join(", "));
        const int signal = exitSignalCombo_->findData(QString::fromStdString(p.exit.signal));
        if (signal >= 0)
            exitSignalCombo_->setCurrentIndex(signal);
        QStringList heads, protectLayers, contextLengths;
        for (const ls::HeadId& h : p.heads)
            heads << QStringLiteral("L%1H%2").arg(h.layer - 1).arg(h.head);
        for (int l : p.linearize.protectLayers)
            protectLayers << QString::number(l);
        for (int n : p.linearize.contextLengths)
            contextLengths << QString::number(n);
        headsEdit_->setText(heads.join(", "));
        subsetTokensSpin_->setValue(int(std::min<int64_t>(p.subsetTokens, std::numeric_limits<int>::max())));
        attributionCheck_->setChecked(p.attribution);
        normalizeCombo_->setCurrentIndex(normalizeCombo_->findData(QString::fromLatin1(ls::reluNormalizeName(p.linearize.normalize))));
        stepsSpin_->setValue(p.linearize.steps);
        protectLayersEdit_->setText(protectLayers.join(", "));
        contextLengthsEdit_->setText(contextLengths.join(", "));
    }
    revalidate();
}

void AnalysisPanel::setAnalyses(const std::vector<std::string>& analyses) {
    for (auto it = analysisChecks_.constBegin(); it != analysisChecks_.constEnd(); ++it)
        it.value()->setChecked(std::find(analyses.begin(), analyses.end(), it.key().toStdString()) != analyses.end());
}

void AnalysisPanel::setRanksText(const QString& text) { ranksEdit_->setText(text); }

void AnalysisPanel::setHardRatiosText(const QString& text) { ratiosEdit_->setText(text); }

void AnalysisPanel::setMetricRanksText(const QString& text) { metricRanksEdit_->setText(text); }

void AnalysisPanel::setExitLayersText(const QString& text) { exitLayersEdit_->setText(text); }

void AnalysisPanel::revalidate() {
    for (QWidget* field : optionFields_)
        ls::widgets::markInvalid(field, false);
    QString problem;
    QString field;

    // What the form can tell without a model: the lists parse, the ratios are in (0, 1).
    QString error;
    const std::vector<double> ranks = parseNumbers(ranksEdit_->text(), &error);
    if (!error.isEmpty()) {
        problem = tr("Ranks: %1").arg(error);
        field = "ranks";
    }
    for (double r : ranks) {
        if (problem.isEmpty() && (r != int(r) || r < 1)) {
            problem = tr("Ranks: %1 is not a whole number of at least 1").arg(QString::number(r, 'g', 6));
            field = "ranks";
        }
    }
    if (problem.isEmpty()) {
        const std::vector<double> ratios = parseNumbers(ratiosEdit_->text(), &error);
        field = "hard-ratios";
        if (!error.isEmpty())
            problem = tr("Hard ratios: %1").arg(error);
        else if (ratios.empty())
            problem = tr("Hard ratios: give at least one ratio in (0, 1), e.g. 0.3, 0.5, 0.7");
        for (double r : ratios)
            if (problem.isEmpty() && !(r > 0.0 && r < 1.0))
                problem = tr("Hard ratios: %1 is outside (0, 1): a hard ratio is the fraction of tokens that "
                             "keep computing")
                              .arg(QString::number(r, 'g', 6));
        if (problem.isEmpty())
            field.clear();
    }
    // Whole numbers in the loss-separation and early-exit lists.
    const auto wholeList = [&](QLineEdit* edit, const QString& label, const QString& option, const QString& what) {
        if (!problem.isEmpty())
            return;
        QString listError;
        const std::vector<double> values = parseNumbers(edit->text(), &listError);
        if (!listError.isEmpty()) {
            problem = tr("%1: %2").arg(label, listError);
            field = option;
            return;
        }
        for (double v : values)
            if (problem.isEmpty() && (v != int(v) || v < 1)) {
                problem = tr("%1: %2 is not a whole number of at least 1 (%3)")
                              .arg(label, QString::number(v, 'g', 6), what);
                field = option;
            }
    };
    const auto checked = [this](const char* name) {
        const QCheckBox* check = analysisChecks_.value(QString::fromLatin1(name));
        return check && check->isChecked();
    };
    if (checked("losssep"))
        wholeList(metricRanksEdit_, tr("Metric ranks"), "metric-ranks", tr("a rank of the head"));
    if (checked("exit"))
        wholeList(exitLayersEdit_, tr("Exit layers"), "layers", tr("a layer a token may exit after"));
    if (checked("linearize") || checked("context"))
        wholeList(protectLayersEdit_, tr("Protected layers"), "protect-layers", tr("a layer 1..L"));
    if (checked("context"))
        wholeList(contextLengthsEdit_, tr("Context lengths"), "context-lengths", tr("tokens per window"));
    const QString heads = headsEdit_->text().remove(' ');
    if (problem.isEmpty() && config_ && !heads.isEmpty() && (checked("ablation") || checked("linearize") || checked("context"))) {
        try {
            ls::parseHeadList(heads.toStdString(), config_->numLayers, config_->numHeads);
        } catch (const ls::ParamError& e) {
            problem = tr("%1: %2").arg(tr("Heads"), QString::fromStdString(e.problem()));
            field = "heads";
        }
    }
    headsBox_->setEnabled(checked("ablation") || checked("linearize") || checked("context"));
    lossSepBox_->setEnabled(checked("losssep"));
    probeLayerSpin_->setEnabled(probesCheck_->isChecked());
    exitBox_->setEnabled(checked("exit"));

    const ls::LayerRunParams p = params();
    if (problem.isEmpty() && p.analyses.empty())
        problem = tr("Check at least one analysis.");
    if (problem.isEmpty() && p.wants("inspect") && windowCount_ > 0 && p.inspectWindow >= windowCount_) {
        problem = tr("Inspector window %1 does not exist: the Dataset panel's options give windows 0..%2")
                      .arg(p.inspectWindow)
                      .arg(windowCount_ - 1);
        field = "inspect-window";
    }
    // The rest against the model, by the same check the run itself makes.
    if (problem.isEmpty() && config_) {
        try {
            ls::LayerRunParams copy = p;
            ls::resolveLayerRunParams(copy, *config_);
        } catch (const ls::ParamError& e) {
            field = QString::fromStdString(e.key());
            problem = tr("%1: %2").arg(optionLabels_.value(field, field), QString::fromStdString(e.problem()));
        } catch (const ls::Error& e) {  // about the analyses as a whole, not one field
            problem = QString::fromStdString(e.what());
            if (!problem.isEmpty())
                problem[0] = problem[0].toUpper();
        }
    }
    problem_ = problem;
    problemLabel_->setText(problem);
    problemLabel_->setVisible(!problem.isEmpty());
    ls::widgets::markInvalid(optionFields_.value(field), !problem.isEmpty());
    runButton_->setEnabled(canRun());
    emit paramsChanged();
}
