#include "generation_panel.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QScrollArea>
#include <QSpinBox>
#include <QVBoxLayout>
#include <algorithm>

#include "analysis/layer_run.h"
#include "common/error.h"
#include "kit/forms.h"
#include "kit/palette.h"

using namespace ls::widgets;

namespace {

constexpr int kAblatedHeads = 5;  // "Add ablated heads": the most damaging ones

QStringList lines(const QString& text) {
    QStringList out;
    for (const QString& line : text.split('\n'))
        if (!line.trimmed().isEmpty()) out << line.trimmed();
    return out;
}

QString headList(std::vector<ls::HeadId> heads) {
    std::sort(heads.begin(), heads.end());
    QStringList names;
    for (const ls::HeadId& h : heads) names << QString::fromStdString(ls::headName(h));
    return names.join(',');
}

QDoubleSpinBox* makeDoubleSpin(QWidget* parent, const char* name, double lo, double hi, double value, double step, const QString& tip) {
    auto* spin = new QDoubleSpinBox(parent);
    spin->setObjectName(name);
    spin->setRange(lo, hi);
    spin->setDecimals(2);
    spin->setSingleStep(step);
    spin->setValue(value);
    spin->setToolTip(tip);
    wheelOnlyWhenFocused(spin);
    return spin;
}

}  // namespace

GenerationPanel::GenerationPanel(QWidget* parent) : QWidget(parent) {
    prompts_ = new QPlainTextEdit(this);
    prompts_->setObjectName("generationPrompts");
    prompts_->setPlaceholderText(tr("One prompt per line (text, read with the model's tokenizer; without one, token ids "
                                    "separated by spaces)"));
    prompts_->setMinimumHeight(70);
    conditions_ = new QPlainTextEdit(QStringLiteral("baseline"), this);
    conditions_->setObjectName("generationConditions");
    conditions_->setToolTip(tr("One per line: baseline; ablate:L0H3,L5 (zero); mean-ablate:L0H3 (the heads' mean outputs "
                               "from the run shown, or computed on the open dataset); relu:L0H1,L2 (ReLU attention)"));
    conditions_->setMinimumHeight(70);
    addAblated_ = new QPushButton(tr("Add ablated heads"), this);
    addAblated_->setToolTip(tr("ablate: the %1 most damaging heads of the run shown (zero ablation)").arg(kAblatedHeads));
    addLinearised_ = new QPushButton(tr("Add linearised heads"), this);
    addLinearised_->setToolTip(tr("relu: the heads the run shown linearises within 1.1× PPL"));
    connect(addAblated_, &QPushButton::clicked, this, [this] {
        const auto ablation = source_ ? source_->result<ls::AblationResult>("ablation") : nullptr;
        if (!ablation) return;
        std::vector<ls::HeadId> heads;
        for (const ls::HeadAblation& h : ablation->heads)
            if (h.zeroRank >= 1 && h.zeroRank <= kAblatedHeads) heads.push_back({h.layer, h.head});
        if (!heads.empty()) addCondition("ablate:" + headList(heads));
    });
    connect(addLinearised_, &QPushButton::clicked, this, [this] {
        const auto lin = source_ ? source_->result<ls::LinearizeResult>("linearize") : nullptr;
        if (!lin || lin->thresholds.empty()) return;
        std::vector<ls::HeadId> heads = ls::linearisationOrder(*lin);
        heads.resize(std::min(heads.size(), static_cast<size_t>(lin->thresholds.front().nHeads)));  // within 1.1x
        if (!heads.empty()) addCondition("relu:" + headList(heads));
    });
    auto* pick = new QHBoxLayout;
    pick->addWidget(addAblated_);
    pick->addWidget(addLinearised_);

    maxNewTokens_ = makeSpin(this, "generationMaxNewTokens", 1, 4096, 32, tr("New tokens per continuation"));
    sample_ = new QCheckBox(tr("Sample (otherwise greedy)"), this);
    sample_->setObjectName("generationSample");
    temperature_ = makeDoubleSpin(this, "generationTemperature", 0.05, 10, 1.0, 0.1, tr("Sampling temperature"));
    topK_ = makeSpin(this, "generationTopK", 0, 1000000, 0, tr("Sample among the K most likely tokens (0: all)"));
    topP_ = makeDoubleSpin(this, "generationTopP", 0.01, 1, 1, 0.05, tr("Nucleus: the fewest most likely tokens reaching P"));
    seed_ = makeSpin(this, "generationSeed", 0, 1 << 30, 0, tr("Each (prompt, sample, iteration) draws from its own stream"));
    bestOf_ = makeLineEdit(this, "generationBestOf", QStringLiteral("1"),
                           tr("Best-of-N: N values, e.g. 1,2,3,5 (max(N) samples per prompt; N > 1 needs sampling)"));
    bestOf_->setText(QStringLiteral("1"));
    refine_ = makeSpin(this, "generationRefine", 1, 20, 1, tr("Self-refinement iterations (1: none)"));
    normalize_ = new QComboBox(this);
    normalize_->setObjectName("generationNormalize");
    normalize_->addItems({QStringLiteral("count"), QStringLiteral("rowsum")});
    normalize_->setToolTip(tr("ReLU heads' weights divided by the positions attended (count) or by their row sum"));
    wheelOnlyWhenFocused(normalize_);
    cache_ = new QCheckBox(tr("KV cache"), this);
    cache_->setChecked(true);
    cache_->setToolTip(tr("Off: re-run the whole sequence for every token (the plain path, to compare speed)"));

    auto* fields = new QWidget(this);
    auto* fieldsLayout = new QVBoxLayout(fields);
    fieldsLayout->setContentsMargins(0, 0, 0, 0);
    auto* promptBox = new QGroupBox(tr("Prompts"), fields);
    (new QVBoxLayout(promptBox))->addWidget(prompts_);
    auto* conditionBox = new QGroupBox(tr("Conditions"), fields);
    auto* conditionLayout = new QVBoxLayout(conditionBox);
    conditionLayout->addWidget(conditions_);
    conditionLayout->addLayout(pick);
    conditionLayout->addWidget(normalize_);
    fieldsLayout->addWidget(promptBox);
    fieldsLayout->addWidget(conditionBox);
    fieldsLayout->addWidget(formBox(fields, tr("Decoding"),
                                    {{tr("New tokens"), maxNewTokens_}, {QString(), sample_}, {tr("Temperature"), temperature_},
                                     {tr("Top-k"), topK_}, {tr("Top-p"), topP_}, {tr("Seed"), seed_}, {tr("Best of N"), bestOf_},
                                     {tr("Refinement"), refine_}, {QString(), cache_}}));
    fieldsLayout->addStretch(1);
    auto* scroll = new QScrollArea(this);
    scroll->setWidget(fields);
    scroll->setWidgetResizable(true);

    problemLabel_ = new QLabel(this);
    problemLabel_->setObjectName("generationProblem");
    problemLabel_->setWordWrap(true);
    problemLabel_->setStyleSheet(palette::textStyle(palette::problemText(palette())));
    runButton_ = new QPushButton(tr("Generate"), this);
    runButton_->setObjectName("generationRun");
    connect(runButton_, &QPushButton::clicked, this, &GenerationPanel::runRequested);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(scroll, 1);
    layout->addWidget(problemLabel_);
    layout->addWidget(runButton_);

    onChanged({prompts_, conditions_, sample_, bestOf_, maxNewTokens_}, this, [this] { revalidate(); });
    setSourceRun(nullptr);
    revalidate();
}

QString GenerationPanel::promptsText() const { return prompts_->toPlainText(); }
void GenerationPanel::setPromptsText(const QString& text) { prompts_->setPlainText(text); }
void GenerationPanel::setConditionsText(const QString& text) { conditions_->setPlainText(text); }

ls::GenerationParams GenerationPanel::params() const {
    ls::GenerationParams p;
    p.conditions.clear();
    for (const QString& line : lines(conditions_->toPlainText())) p.conditions.push_back(line.toStdString());
    p.maxNewTokens = maxNewTokens_->value();
    p.sampling.greedy = !sample_->isChecked();
    p.sampling.temperature = temperature_->value();
    p.sampling.topK = topK_->value();
    p.sampling.topP = topP_->value();
    p.sampling.seed = static_cast<uint64_t>(seed_->value());
    try {
        p.bestOf = ls::parseBestOf(bestOf_->text().toStdString());
    } catch (const ls::Error&) {  // problemText() says so
    }
    p.refine = refine_->value();
    p.normalize = normalize_->currentIndex() == 0 ? ls::ReluNormalize::Count : ls::ReluNormalize::RowSum;
    p.useCache = cache_->isChecked();
    return p;
}

QString GenerationPanel::problemText() const {
    if (lines(prompts_->toPlainText()).isEmpty()) return tr("Write at least one prompt.");
    if (lines(conditions_->toPlainText()).isEmpty()) return tr("Give at least one condition (baseline, say).");
    try {
        const std::vector<int> bestOf = ls::parseBestOf(bestOf_->text().toStdString());
        if (!sample_->isChecked() && *std::max_element(bestOf.begin(), bestOf.end()) > 1)
            return tr("Best of N > 1 needs sampling: greedy decoding gives N identical continuations.");
    } catch (const ls::Error&) {
        return tr("Best of N: write counts like 1,2,3,5.");
    }
    return {};
}

void GenerationPanel::setSourceRun(std::shared_ptr<const ls::LayerRun> run) {
    source_ = std::move(run);
    addAblated_->setEnabled(source_ && source_->result<ls::AblationResult>("ablation"));
    const auto lin = source_ ? source_->result<ls::LinearizeResult>("linearize") : nullptr;
    addLinearised_->setEnabled(lin && !lin->thresholds.empty() && lin->thresholds.front().nHeads > 0);
}

void GenerationPanel::setRunAvailable(bool available) {
    runAvailable_ = available;
    revalidate();
}

void GenerationPanel::addCondition(const QString& spec) {
    QString text = conditions_->toPlainText();
    if (!text.isEmpty() && !text.endsWith('\n')) text += '\n';
    conditions_->setPlainText(text + spec);
}

void GenerationPanel::revalidate() {
    const QString problem = problemText();
    problemLabel_->setText(problem);
    problemLabel_->setVisible(!problem.isEmpty());
    markInvalid(bestOf_, problem.startsWith(tr("Best of")));
    runButton_->setEnabled(runAvailable_ && problem.isEmpty());
}
