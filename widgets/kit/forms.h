#pragma once
// What the GUI's forms share: marking the field a problem is about.
class QWidget;

namespace ls::widgets {

// Tints field's background (palette::kInvalidFill) when invalid, or gives it back its
// parent's palette.
void markInvalid(QWidget* field, bool invalid);

}  // namespace ls::widgets
