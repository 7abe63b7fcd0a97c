#include "kit/forms.h"

#include <QPalette>
#include <QWidget>

#include "kit/palette.h"

namespace ls::widgets {

void markInvalid(QWidget* field, bool invalid) {
    if (!field)
        return;
    QPalette colours = field->parentWidget() ? field->parentWidget()->palette() : QPalette();
    if (invalid)
        colours.setColor(QPalette::Base, palette::kInvalidFill);
    field->setPalette(colours);
}

}  // namespace ls::widgets
