#include "kit/forms.h"

#include <QAbstractButton>
#include <QApplication>
#include <QEvent>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QLineEdit>
#include <QPalette>
#include <QPlainTextEdit>
#include <QSpinBox>
#include <QWidget>

#include "kit/palette.h"

namespace ls::widgets {

namespace {

// Lets a wheel event over an unfocused field go to its parent (the scroll area).
class UnfocusedWheelFilter : public QObject {
public:
    using QObject::QObject;
    bool eventFilter(QObject* watched, QEvent* event) override {
        if (event->type() == QEvent::Wheel)
            if (auto* field = qobject_cast<QWidget*>(watched); field && !field->hasFocus()) {
                event->ignore();
                return true;  // not the field's: QApplication passes the ignored event to the parent
            }
        return false;
    }
};

}  // namespace

void wheelOnlyWhenFocused(QWidget* field) {
    static auto* filter = new UnfocusedWheelFilter(qApp);
    field->setFocusPolicy(Qt::StrongFocus);
    field->installEventFilter(filter);
}

QSpinBox* makeSpin(QWidget* parent, const char* name, int minimum, int maximum, int value, const QString& tip) {
    auto* spin = new QSpinBox(parent);
    if (name)
        spin->setObjectName(QString::fromLatin1(name));
    spin->setRange(minimum, maximum);
    spin->setValue(value);
    spin->setToolTip(tip);
    wheelOnlyWhenFocused(spin);
    return spin;
}

QLineEdit* makeLineEdit(QWidget* parent, const char* name, const QString& placeholder, const QString& tip) {
    auto* edit = new QLineEdit(parent);
    if (name)
        edit->setObjectName(QString::fromLatin1(name));
    edit->setPlaceholderText(placeholder);
    edit->setToolTip(tip);
    return edit;
}

QGroupBox* formBox(QWidget* parent, const QString& title, std::initializer_list<std::pair<QString, QWidget*>> rows) {
    auto* box = new QGroupBox(title, parent);
    auto* form = new QFormLayout(box);
    for (const auto& [label, field] : rows) {
        if (label.isEmpty())
            form->addRow(field);
        else
            form->addRow(label, field);
    }
    return box;
}

void onChanged(std::initializer_list<QWidget*> fields, QObject* context, const std::function<void()>& slot) {
    for (QWidget* field : fields) {
        if (auto* spin = qobject_cast<QSpinBox*>(field))
            QObject::connect(spin, &QSpinBox::valueChanged, context, slot);
        else if (auto* real = qobject_cast<QDoubleSpinBox*>(field))
            QObject::connect(real, &QDoubleSpinBox::valueChanged, context, slot);
        else if (auto* combo = qobject_cast<QComboBox*>(field))
            QObject::connect(combo, &QComboBox::currentIndexChanged, context, slot);
        else if (auto* edit = qobject_cast<QLineEdit*>(field))
            QObject::connect(edit, &QLineEdit::textChanged, context, slot);
        else if (auto* text = qobject_cast<QPlainTextEdit*>(field))
            QObject::connect(text, &QPlainTextEdit::textChanged, context, slot);
        else if (auto* button = qobject_cast<QAbstractButton*>(field))
            QObject::connect(button, &QAbstractButton::toggled, context, slot);
        else
            Q_ASSERT_X(false, "onChanged", "a field of a kind it does not know");
    }
}

void markInvalid(QWidget* field, bool invalid) {
    if (!field)
        return;
    QPalette colours = field->parentWidget() ? field->parentWidget()->palette() : QPalette();
    if (invalid)
        colours.setColor(QPalette::Base, palette::invalidFill(colours));
    field->setPalette(colours);
}

}  // namespace ls::widgets
