#pragma once
// Helpers shared by the widget tests (offscreen views, exported figures and CSVs).
#include <QAction>
#include <QByteArray>
#include <QColor>
#include <QDir>
#include <QFile>
#include <QImage>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QMenu>
#include <QSignalSpy>
#include <QString>
#include <QStringList>
#include <QTemporaryDir>
#include <QWidget>
#include <QtTest>

#include <vector>

#include "export_menu.h"
#include "io/table.h"

// Pixels of an image whose colour passes pred.
template <typename Pred>
int countPixels(const QImage& image, Pred pred) {
    int n = 0;
    for (int y = 0; y < image.height(); ++y)
        for (int x = 0; x < image.width(); ++x)
            if (pred(image.pixelColor(x, y)))
                ++n;
    return n;
}

// Pixels of clearly saturated colour: data drawn, not axes, text or background.
inline int colouredPixels(const QImage& image) {
    return countPixels(image, [](const QColor& c) { return c.hsvSaturation() > 80 && c.value() > 40; });
}

// Resizes a view, shows it and waits until it is on the (offscreen) screen; false if it never is.
//   QVERIFY(showExposed(view));
inline bool showExposed(QWidget& widget, int width = 1400, int height = 900) {
    widget.resize(width, height);
    widget.show();
    return QTest::qWaitForWindowExposed(&widget);
}

// Gives a view its result, then shows it as showExposed does.
//   QVERIFY(showResult(view, result));
template <typename View, typename Result>
bool showResult(View& view, const Result& result, int width = 1400, int height = 900) {
    view.setResult(result);
    return showExposed(view, width, height);
}

// Checks that a view on screen shows plenty of colour (more than 20,000 coloured pixels) and
// saves it as name into LAYERSCOPE_SCREENSHOT_DIR when that is set.
inline void checkScreenshot(QWidget& view, const QString& name) {
    const QImage image = view.grab().toImage();
    QVERIFY2(colouredPixels(image) > 20000, qPrintable(name));
    const QString shots = qEnvironmentVariable("LAYERSCOPE_SCREENSHOT_DIR");
    if (!shots.isEmpty())
        QVERIFY(image.save(QDir(shots).filePath(name)));
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

// The Export… button's menu as it is when the user opens it.
inline QMenu* openExportMenu(ls::widgets::ExportButton* button) {
    QMenu* menu = button->menu();
    emit menu->aboutToShow();
    return menu;
}

// Every file written through the button's "Everything to a folder…" into dir, the folder
// chosen as a person would in the dialog. Fails the test when the menu has no such action or
// a file could not be written.
inline QStringList exportEverything(ls::widgets::ExportButton* button, const QString& dir) {
    button->setPathChooser([dir](const QString&, const QString& filter) { return filter.isEmpty() ? dir : QString(); });
    QSignalSpy exported(button, &ls::widgets::ExportButton::exported);
    QSignalSpy failed(button, &ls::widgets::ExportButton::failed);
    QAction* all = findAction(openExportMenu(button), QStringLiteral("export_all"));
    if (!all) {
        QTest::qFail("the Export… menu has no export_all action", __FILE__, __LINE__);
        return {};
    }
    all->trigger();
    if (!failed.isEmpty())
        QTest::qFail(qPrintable("export failed: " + failed.first().first().toString()), __FILE__, __LINE__);
    QStringList paths;
    for (const QList<QVariant>& args : exported)
        paths << args.first().toString();
    return paths;
}

// The same into a temporary folder, which must exist.
inline QStringList exportEverything(ls::widgets::ExportButton* button, const QTemporaryDir& dir) {
    if (!dir.isValid()) {
        QTest::qFail("no temporary folder to export into", __FILE__, __LINE__);
        return {};
    }
    return exportEverything(button, dir.path());
}

// Checks what an export of every chart (stems) and table into dir wrote: the written list
// holds each chart in three formats, each table and manifest.json, which lists them all; the
// PNG has coloured pixels drawn, the PDF and SVG (of more than minSvgBytes) their magic; each
// CSV equals ls::toCsv of its table.
inline void checkExport(const QString& dir, const QStringList& stems, const std::vector<ls::Table>& tables,
                        const QStringList& written, int minSvgBytes = 2000) {
    QCOMPARE(written.size(), stems.size() * 3 + int(tables.size()) + 1);
    const QString manifestPath = QDir(dir).filePath("manifest.json");
    QVERIFY(written.contains(manifestPath));
    const QJsonArray files = QJsonDocument::fromJson(readAll(manifestPath)).object()["files"].toArray();
    QCOMPARE(files.size(), written.size() - 1);
    for (const QJsonValue& file : files)
        QVERIFY2(written.contains(QDir(dir).filePath(file.toObject()["file"].toString())),
                 qPrintable(file.toObject()["file"].toString()));
    for (const QString& stem : stems) {
        const QImage png(QDir(dir).filePath(stem + ".png"));
        QVERIFY2(!png.isNull(), qPrintable(stem));
        QVERIFY2(colouredPixels(png) > 200, qPrintable(stem + ": nothing coloured drawn"));
        QVERIFY(readAll(QDir(dir).filePath(stem + ".pdf")).startsWith("%PDF"));
        const QByteArray svg = readAll(QDir(dir).filePath(stem + ".svg"));
        QVERIFY(svg.contains("<svg"));
        QVERIFY2(svg.size() > minSvgBytes, qPrintable(stem + ".svg"));
    }
    for (const ls::Table& table : tables) {
        const QString path = QDir(dir).filePath(QString::fromStdString(table.name) + ".csv");
        QVERIFY2(written.contains(path), qPrintable(path));
        QVERIFY(!readAll(path).isEmpty());
        QCOMPARE(readAll(path), QByteArray::fromStdString(ls::toCsv(table)));
    }
}

// Exports everything through the button into a new folder and checks the files (checkExport).
inline void checkExportEverything(ls::widgets::ExportButton* button, const QStringList& stems,
                                  const std::vector<ls::Table>& tables, int minSvgBytes = 2000) {
    QTemporaryDir dir;
    const QStringList written = exportEverything(button, dir);
    checkExport(dir.path(), stems, tables, written, minSvgBytes);
}
