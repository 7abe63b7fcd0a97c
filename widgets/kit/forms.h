#pragma once
// What the GUI's forms share: making their fields, following their edits, marking the field
// a problem is about.
#include <QString>
#include <functional>
#include <initializer_list>
#include <utility>

class QGroupBox;
class QLineEdit;
class QObject;
class QSpinBox;
class QWidget;

namespace ls::widgets {

// A spin box or combo box in a panel that scrolls takes the mouse wheel only once clicked or
// tabbed into: a wheel passing over it scrolls the panel, not its value.
void wheelOnlyWhenFocused(QWidget* field);

// A spin box with its range, value and tool tip (the wheel as wheelOnlyWhenFocused); name
// (may be null): its object name, by which tests and style sheets find it.
QSpinBox* makeSpin(QWidget* parent, const char* name, int minimum, int maximum, int value, const QString& tip);
// A line edit with its placeholder text (shown while it is empty) and tool tip.
QLineEdit* makeLineEdit(QWidget* parent, const char* name, const QString& placeholder, const QString& tip);

// A group box of fields in a form, each row a label and its field; a row without a label
// gives its field (a check box, say) the whole width.
QGroupBox* formBox(QWidget* parent, const QString& title, std::initializer_list<std::pair<QString, QWidget*>> rows);

// Calls slot (in context's thread, while context lives) whenever one of the fields changes:
// spin boxes, combo boxes, line and plain-text edits, check and radio buttons.
void onChanged(std::initializer_list<QWidget*> fields, QObject* context, const std::function<void()>& slot);

// Tints field's background (palette::kInvalidFill) when invalid, or gives it back its
// parent's palette.
void markInvalid(QWidget* field, bool invalid);

}  // namespace ls::widgets
