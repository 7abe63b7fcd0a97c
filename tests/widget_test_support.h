#pragma once
// Helpers shared by the widget tests (offscreen views, exported figures and CSVs).
#include <QAction>
#include <QByteArray>
#include <QColor>
#include <QFile>
#include <QImage>
#include <QMenu>
#include <QString>

// Pixels of clearly saturated colour: data drawn, not axes, text or background.
inline int colouredPixels(const QImage& image) {
    int n = 0;
    for (int y = 0; y < image.height(); ++y)
        for (int x = 0; x < image.width(); ++x) {
            const QColor c = image.pixelColor(x, y);
            if (c.hsvSaturation() > 80 && c.value() > 40)
                ++n;
        }
    return n;
}

// A file's bytes, or empty when it cannot be read.
inline QByteArray readAll(const QString& path) {
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

// The action with this object name in a menu or its submenus, or nullptr.
inline QAction* findAction(QMenu* menu, const QString& name) {
    for (QAction* action : menu->actions()) {
        if (action->objectName() == name)
            return action;
        if (action->menu())
            if (QAction* found = findAction(action->menu(), name))
                return found;
    }
    return nullptr;
}
