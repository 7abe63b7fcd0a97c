#include "theme.h"

#include <QApplication>
#include <QPalette>
#include <QProcess>
#include <QSettings>
#include <QStandardPaths>
#include <QStyle>
#include <QStyleFactory>

#include "kit/palette.h"

namespace palette = ls::widgets::palette;

namespace {

constexpr const char* kThemeKey = "view/theme";


// One gsettings value, without its quotes; empty if gsettings is missing, fails or is slow.
QString gnomeSetting(const QString& key) {
    const QString gsettings = QStandardPaths::findExecutable(QStringLiteral("gsettings"));
    if (gsettings.isEmpty())
        return {};
    QProcess process;
    process.start(gsettings, {QStringLiteral("get"), QStringLiteral("org.gnome.desktop.interface"), key});
    if (!process.waitForFinished(1000) || process.exitCode() != 0) {
        process.kill();
        return {};
    }
    QString value = QString::fromUtf8(process.readAllStandardOutput()).trimmed();
    value.remove(QLatin1Char('\''));
    return value;
}

// A dark Fusion palette: mid-dark window, darker fields, light text; links and selection in
// the blue of the charts' first colour family.
QPalette darkPalette() {
    QPalette p;
    const QColor window(50, 53, 56), base(37, 40, 43), text(225, 225, 225), disabled(130, 130, 130);
    p.setColor(QPalette::Window, window);
    p.setColor(QPalette::WindowText, text);
    p.setColor(QPalette::Base, base);
    p.setColor(QPalette::AlternateBase, QColor(45, 48, 51));
    p.setColor(QPalette::ToolTipBase, QColor(30, 32, 34));
    p.setColor(QPalette::ToolTipText, text);
    p.setColor(QPalette::PlaceholderText, QColor(150, 150, 150));
    p.setColor(QPalette::Text, text);
    p.setColor(QPalette::Button, window);
    p.setColor(QPalette::ButtonText, text);
    p.setColor(QPalette::BrightText, QColor(255, 120, 90));
    p.setColor(QPalette::Light, QColor(75, 78, 81));
    p.setColor(QPalette::Midlight, QColor(62, 65, 68));
    p.setColor(QPalette::Mid, QColor(40, 42, 45));
    p.setColor(QPalette::Dark, QColor(28, 30, 32));
    p.setColor(QPalette::Shadow, QColor(10, 10, 10));
    p.setColor(QPalette::Highlight, QColor(38, 110, 168));
    p.setColor(QPalette::HighlightedText, Qt::white);
    p.setColor(QPalette::Link, QColor(110, 180, 240));
    p.setColor(QPalette::LinkVisited, QColor(190, 150, 230));
    for (auto role : {QPalette::WindowText, QPalette::Text, QPalette::ButtonText})
        p.setColor(QPalette::Disabled, role, disabled);
    p.setColor(QPalette::Disabled, QPalette::Base, window);
    return p;
}

}  // namespace

std::optional<ThemeChoice> parseThemeChoice(const QString& name) {
    for (ThemeChoice c : {ThemeChoice::Desktop, ThemeChoice::Light, ThemeChoice::Dark})
        if (name.compare(themeChoiceName(c), Qt::CaseInsensitive) == 0)
            return c;
    return std::nullopt;
}

QString themeChoiceName(ThemeChoice choice) {
    switch (choice) {
    case ThemeChoice::Light: return QStringLiteral("light");
    case ThemeChoice::Dark: return QStringLiteral("dark");
    case ThemeChoice::Desktop: break;
    }
    return QStringLiteral("desktop");
}

ThemeChoice savedThemeChoice() {
    return parseThemeChoice(QSettings().value(kThemeKey).toString()).value_or(ThemeChoice::Desktop);
}

void saveThemeChoice(ThemeChoice choice) { QSettings().setValue(kThemeKey, themeChoiceName(choice)); }

bool desktopPrefersDark(const DesktopHints& hints) {
    if (palette::isDark(hints.platformWindow))
        return true;
    const QString gtk = hints.gtkThemeVariable.toLower();
    if (!gtk.isEmpty())  // GTK_THEME wins over the settings, as it does for GTK programs
        return gtk.endsWith(QLatin1String(":dark")) || gtk.endsWith(QLatin1String("-dark"));
    if (hints.gnomeColorScheme == QLatin1String("prefer-dark"))
        return true;
    return hints.gnomeGtkTheme.toLower().endsWith(QLatin1String("-dark"));
}

DesktopHints readDesktopHints(const QColor& platformWindow) {
    DesktopHints hints;
    hints.platformWindow = platformWindow;
    hints.gtkThemeVariable = qEnvironmentVariable("GTK_THEME");
    if (!palette::isDark(platformWindow) && hints.gtkThemeVariable.isEmpty()) {
        hints.gnomeColorScheme = gnomeSetting(QStringLiteral("color-scheme"));
        if (hints.gnomeColorScheme != QLatin1String("prefer-dark"))
            hints.gnomeGtkTheme = gnomeSetting(QStringLiteral("gtk-theme"));
    }
    return hints;
}

bool applyTheme(QApplication& app, ThemeChoice choice) {
    const QColor platformWindow = QApplication::palette().color(QPalette::Window);
    const bool dark = choice == ThemeChoice::Dark ||
                      (choice == ThemeChoice::Desktop && desktopPrefersDark(readDesktopHints(platformWindow)));
    if (dark == palette::isDark(platformWindow))
        return dark;  // the platform's look already is what is asked for
    QStyle* fusion = QStyleFactory::create(QStringLiteral("Fusion"));
    app.setStyle(fusion);
    app.setPalette(dark ? darkPalette() : fusion->standardPalette());
    return dark;
}
