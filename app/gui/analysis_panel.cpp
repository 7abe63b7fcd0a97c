#include "analysis_panel.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFontDatabase>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QRegularExpression>
#include <QScrollArea>
#include <QSpinBox>
#include <QVBoxLayout>
#include <algorithm>
#include <limits>

#include "analysis/registry.h"
#include "common/error.h"
#include "kit/forms.h"
#include "kit/palette.h"

namespace palette = ls::widgets::palette;

namespace {

constexpr int kNoModelMax = 1 << 20;
const QString kFlagGiven = QStringLiteral("on");  // a checked flag's text

QString fromStd(const std::string& s) { return QString::fromStdString(s); }

int clampToInt(int64_t v) {
    return int(std::clamp<int64_t>(v, std::numeric_limits<int>::min(), std::numeric_limits<int>::max()));
}

// The lowest value of an integer's spin box: minimum - 1 stands for "automatic" when the
// spec has a placeholder (QSpinBox shows it as the special value text).
int spinMinimum(const ls::ParamSpec& spec) {
    const int minimum = clampToInt(spec.minimum);
    return spec.placeholder.empty() || minimum == std::numeric_limits<int>::min() ? minimum : minimum - 1;
}

}  // namespace

AnalysisPanel::AnalysisPanel(QWidget* parent) : QWidget(parent) {
    auto* whichBox = new QGroupBox(tr("Analyses (one capture pass)"), this);
    auto* whichLayout = new QVBoxLayout(whichBox);
    for (const ls::AnalysisSpec& info : ls::analysisRegistry()) {
        if (!info.ownCommand.empty()) continue;  // generation has a tab of its own
        const QString name = fromStd(info.name);
        auto* check = new QCheckBox(fromStd(info.title), whichBox);
        check->setObjectName(QStringLiteral("check_%1").arg(name));
        check->setToolTip(fromStd(info.description));
        whichLayout->addWidget(check);
        analysisChecks_.insert(name, check);
        order_.push_back(info.name);
        connect(check, &QCheckBox::toggled, this, &AnalysisPanel::revalidate);
    }

    // The fields scroll; the note, the problem and Run stay in view under them.
    auto* fields = new QWidget(this);
    auto* fieldsLayout = new QVBoxLayout(fields);
    fieldsLayout->setContentsMargins(0, 0, 0, 0);
    fieldsLayout->addWidget(whichBox);
    fieldsLayout->addWidget(makeBox(ls::sharedParams()));
    for (const ls::AnalysisSpec& info : ls::analysisRegistry())
        if (!info.params.empty())
            fieldsLayout->addWidget(boxes_[fromStd(info.name)] = makeBox(info));
    fieldsLayout->addStretch(1);
    auto* scroll = new QScrollArea(this);
    scroll->setWidget(fields);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);

    layerNote_ = new QLabel(this);
    layerNote_->setObjectName("layerNote");
    layerNote_->setWordWrap(true);

    problemLabel_ = new QLabel(this);
    problemLabel_->setObjectName("problemLabel");
    problemLabel_->setWordWrap(true);
    problemLabel_->setStyleSheet(palette::textStyle(palette::problemText(palette())));
    problemLabel_->setTextInteractionFlags(Qt::TextSelectableByMouse);

    runButton_ = new QPushButton(tr("Run"), this);
    runButton_->setObjectName("runButton");
    runButton_->setToolTip(tr("Run the checked analyses over the Dataset panel's windows (Ctrl+L)"));
    connect(runButton_, &QPushButton::clicked, this, [this] {
        if (canRun())
            emit runRequested();
    });

    planButton_ = new QPushButton(tr("Plan"), this);
    planButton_->setObjectName("planButton");
    planButton_->setToolTip(tr("Estimate the run's time, peak memory and run-file size on this machine, whole and in "
                               "shards, from the checked analyses timed on the first window batches"));
    connect(planButton_, &QPushButton::clicked, this, [this] {
        if (canRun())
            emit planRequested();
    });
    planLabel_ = new QLabel(this);
    planLabel_->setObjectName("planLabel");
    planLabel_->setWordWrap(false);
    planLabel_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    planLabel_->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    planLabel_->setVisible(false);
    auto* planScroll = new QScrollArea(this);  // the plan's table is wider than the dock
    planScroll->setObjectName("planScroll");
    planScroll->setWidget(planLabel_);
    planScroll->setWidgetResizable(true);
    planScroll->setFrameShape(QFrame::NoFrame);
    planScroll->setVisible(false);
    planScroll_ = planScroll;

    auto* buttons = new QHBoxLayout;
    buttons->addWidget(planButton_);
    buttons->addWidget(runButton_, 1);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(scroll, 1);
    layout->addWidget(layerNote_);
    layout->addWidget(problemLabel_);
    layout->addWidget(planScroll);
    layout->addLayout(buttons);

    // The defaults: the analyses checked by default (the ones that take seconds on the demo;
    // the probes, head scans and linearisation run many passes, so they are opted into) and
    // a default LayerRunParams's values.
    ls::LayerRunParams defaults;
    for (const ls::AnalysisSpec& info : ls::analysisRegistry())
        if (info.checkedByDefault)
            defaults.analyses.push_back(info.name);
    setParams(defaults);
    setModelConfig(std::nullopt);
}

QGroupBox* AnalysisPanel::makeBox(const ls::AnalysisSpec& spec) {
    auto* box = new QGroupBox(fromStd(spec.title), this);
    box->setObjectName(QStringLiteral("box_%1").arg(spec.name.empty() ? QStringLiteral("shared") : fromStd(spec.name)));
    auto* form = new QFormLayout(box);
    form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
    for (const ls::ParamSpec& param : spec.params) {
        QWidget* field = makeField(param, box);
        if (param.kind == ls::ParamSpec::Kind::Flag) {
            form->addRow(field);
        } else {
            auto* label = new QLabel(fromStd(param.label), box);
            label->setToolTip(field->toolTip());
            label->setBuddy(field);
            form->addRow(label, field);
        }
        fields_.push_back({&param, field, spec.name});
        ls::widgets::onChanged({field}, this, [this] { revalidate(); });
    }
    return box;
}

QWidget* AnalysisPanel::makeField(const ls::ParamSpec& spec, QWidget* parent) {
    using Kind = ls::ParamSpec::Kind;
    const QString name = QStringLiteral("field_%1").arg(fromStd(spec.key));
    const QString tip = fromStd(spec.help);
    const QString placeholder = fromStd(spec.placeholder);
    QWidget* field = nullptr;
    if (spec.kind == Kind::Flag) {
        field = new QCheckBox(fromStd(spec.label), parent);
    } else if (spec.kind == Kind::Integer) {
        auto* spin = new QSpinBox(parent);
        spin->setRange(spinMinimum(spec), std::numeric_limits<int>::max());
        spin->setSpecialValueText(placeholder);
        ls::widgets::wheelOnlyWhenFocused(spin);
        field = spin;
    } else if (spec.kind == Kind::Text && !spec.choices.empty()) {
        auto* combo = new QComboBox(parent);
        for (const std::string& choice : spec.choices)
            combo->addItem(fromStd(choice));
        ls::widgets::wheelOnlyWhenFocused(combo);
        field = combo;
    } else {
        auto* edit = new QLineEdit(parent);
        edit->setPlaceholderText(placeholder);
        edit->setClearButtonEnabled(!placeholder.isEmpty());  // empty: automatic
        field = edit;
    }
    field->setObjectName(name);
    field->setToolTip(tip);
    return field;
}

const AnalysisPanel::Field* AnalysisPanel::findField(const std::string& key) const {
    for (const Field& f : fields_)
        if (f.spec->key == key)
            return &f;
    return nullptr;
}

QString AnalysisPanel::text(const Field& field) {
    if (auto* check = qobject_cast<QCheckBox*>(field.widget))
        return check->isChecked() ? kFlagGiven : QString();
    if (auto* spin = qobject_cast<QSpinBox*>(field.widget))
        return !spin->specialValueText().isEmpty() && spin->value() == spin->minimum() ? QString()
                                                                                        : QString::number(spin->value());
    if (auto* combo = qobject_cast<QComboBox*>(field.widget))
        return combo->currentText();
    // "0.3, 0.5" as the command line takes it: "0.3,0.5".
    static const QRegularExpression aroundCommas(QStringLiteral("\\s*,\\s*"));
    return qobject_cast<QLineEdit*>(field.widget)->text().trimmed().replace(aroundCommas, QStringLiteral(","));
}

void AnalysisPanel::setText(const Field& field, const QString& text) {
    if (auto* check = qobject_cast<QCheckBox*>(field.widget))
        check->setChecked(!text.isEmpty());
    else if (auto* spin = qobject_cast<QSpinBox*>(field.widget))
        spin->setValue(text.isEmpty() ? spin->minimum() : text.toInt());
    else if (auto* combo = qobject_cast<QComboBox*>(field.widget)) {
        if (!text.isEmpty() && combo->findText(text) < 0) combo->addItem(text);  // a value from a run file
        combo->setCurrentText(text);
    } else
        qobject_cast<QLineEdit*>(field.widget)->setText(text);
}

void AnalysisPanel::setFieldText(const QString& key, const QString& text) {
    if (const Field* field = findField(key.toStdString()))
        setText(*field, text);
}

void AnalysisPanel::setChoices(const QString& key, const QStringList& values) {
    const Field* field = findField(key.toStdString());
    auto* combo = field ? qobject_cast<QComboBox*>(field->widget) : nullptr;
    if (!combo) return;
    const QString current = combo->currentText();
    {
        const QSignalBlocker block(combo);
        combo->clear();
        combo->addItems(values);
    }
    setText(*field, current);
    revalidate();
}

QString AnalysisPanel::fieldText(const QString& key) const {
    const Field* field = findField(key.toStdString());
    return field ? text(*field) : QString();
}

bool AnalysisPanel::checked(const std::string& analysis) const {
    const QCheckBox* check = analysisChecks_.value(fromStd(analysis));
    return check && check->isChecked();
}

void AnalysisPanel::setModelConfig(const std::optional<ls::ModelConfig>& config) {
    config_ = config;
    updateLayerRanges();
    if (config_)
        layerNote_->setText(tr("Layers 1..%1 are the blocks' outputs (0 = the embeddings). Cos-sim layer l "
                               "compares the stream entering block l with the one leaving it.")
                                .arg(std::max(1, config_->numLayers)));
    else
        layerNote_->setText(tr("Open a model and a dataset to run the analyses."));
    revalidate();
}

void AnalysisPanel::updateLayerRanges() {
    const int maximum = config_ ? std::max(1, config_->numLayers) : kNoModelMax;
    for (const Field& f : fields_)
        if (auto* spin = qobject_cast<QSpinBox*>(f.widget); spin && f.spec->atMostLayers) {
            const QSignalBlocker block(spin);
            spin->setMaximum(maximum);
        }
}

void AnalysisPanel::setWindowCount(int64_t windows) {
    windowCount_ = windows;
    revalidate();
}

void AnalysisPanel::setRunAvailable(bool available) {
    runAvailable_ = available;
    runButton_->setEnabled(canRun());
    planButton_->setEnabled(canRun());
}

QString AnalysisPanel::planText() const { return planLabel_->text(); }

void AnalysisPanel::setPlanText(const QString& text) {
    planLabel_->setText(text);
    planLabel_->setVisible(!text.isEmpty());
    planScroll_->setVisible(!text.isEmpty());
    planScroll_->setMinimumHeight(text.isEmpty() ? 0 : std::min(planLabel_->sizeHint().height() + 24, 260));
}

bool AnalysisPanel::canRun() const { return runAvailable_ && config_ && problem_.isEmpty(); }

AnalysisPanel::Reading AnalysisPanel::read() const {
    Reading r;
    const auto fail = [&r](const ls::ParamError& e) {
        if (r.key.empty()) {
            r.key = e.key();
            r.problem = fromStd(e.problem());
        }
    };
    // The fields of the shared parameters and of the checked analyses that say something.
    ls::ParamValues values;
    for (const Field& f : fields_) {
        const QString given = text(f);
        if (given.isEmpty() || !(f.analysis.empty() || checked(f.analysis)))
            continue;
        try {
            values.set(f.spec->key, ls::parseParam(*f.spec, given.toStdString()));
        } catch (const ls::ParamError& e) {
            fail(e);
        }
    }
    std::vector<std::string> analyses;
    for (const std::string& name : order_)
        if (checked(name))
            analyses.push_back(name);
    // Onto the defaults; a value the entries refuse (heads beyond the model) is left out.
    for (;;) {
        r.params = ls::LayerRunParams{};
        r.params.analyses = analyses;
        try {
            ls::applyParams(values, config_.value_or(ls::ModelConfig{}), r.params);
            break;
        } catch (const ls::ParamError& e) {
            if (config_)
                fail(e);
            if (!values.has(e.key()))
                break;
            values.erase(e.key());
        }
    }
    return r;
}

ls::LayerRunParams AnalysisPanel::params() const { return read().params; }

void AnalysisPanel::setParams(const ls::LayerRunParams& p) {
    {
        const QSignalBlocker block(this);  // one revalidate at the end
        setAnalyses(p.analyses);
        const ls::ParamValues values = ls::paramValues(p);
        for (const Field& f : fields_) {
            const std::string& key = f.spec->key;
            QString given;
            if (f.spec->kind == ls::ParamSpec::Kind::Flag)
                given = values.flag(key) ? kFlagGiven : QString();
            else if (values.has(key))
                given = fromStd(ls::paramText(*f.spec, values.at(key)));
            setText(f, given);
        }
    }
    revalidate();
}

void AnalysisPanel::setAnalyses(const std::vector<std::string>& analyses) {
    for (auto it = analysisChecks_.constBegin(); it != analysisChecks_.constEnd(); ++it)
        it.value()->setChecked(std::find(analyses.begin(), analyses.end(), it.key().toStdString()) != analyses.end());
}

void AnalysisPanel::revalidate() {
    for (auto it = boxes_.constBegin(); it != boxes_.constEnd(); ++it)
        it.value()->setEnabled(checked(it.key().toStdString()));
    for (const Field& f : fields_)
        ls::widgets::markInvalid(f.widget, false);

    const Reading r = read();
    std::string key = r.key;
    QString problem = r.problem;
    const ls::LayerRunParams& p = r.params;
    if (problem.isEmpty() && p.analyses.empty())
        problem = tr("Check at least one analysis.");
    // A window index against the windows the Dataset panel's options give.
    if (problem.isEmpty() && windowCount_ > 0) {
        const ls::ParamValues values = ls::paramValues(p);
        for (const Field& f : fields_) {
            const std::string& name = f.spec->key;
            if (!f.spec->datasetWindow || !(f.analysis.empty() || checked(f.analysis)) || !values.has(name))
                continue;
            if (const int64_t window = values.integer(name); window >= windowCount_) {
                key = name;
                problem = tr("%1 does not exist: the Dataset panel's options give windows 0..%2")
                              .arg(window)
                              .arg(windowCount_ - 1);
                break;
            }
        }
    }
    // The rest against the model, by the same check the run itself makes.
    if (problem.isEmpty() && config_) {
        try {
            ls::LayerRunParams copy = p;
            ls::resolveLayerRunParams(copy, *config_);
        } catch (const ls::ParamError& e) {
            key = e.key();
            problem = fromStd(e.problem());
        } catch (const ls::Error& e) {  // about the analyses as a whole, not one field
            problem = fromStd(e.what());
            if (!problem.isEmpty())
                problem[0] = problem[0].toUpper();
        }
    }
    const Field* field = key.empty() ? nullptr : findField(key);
    if (!key.empty())
        problem = tr("%1: %2").arg(field ? fromStd(field->spec->label) : fromStd(key), problem);
    problem_ = problem;
    problemLabel_->setText(problem);
    problemLabel_->setVisible(!problem.isEmpty());
    if (field)
        ls::widgets::markInvalid(field->widget, true);
    runButton_->setEnabled(canRun());
    planButton_->setEnabled(canRun());
    setPlanText({});  // it was for other parameters
    emit paramsChanged();
}
