#pragma once
// The window theme: light, dark, or the desktop's (the default). It is chosen once at start-up,
// before any window exists, so every widget and chart is built in it; View > Theme keeps a
// choice for the next start and `layerscope --theme` overrides it for one start. Exported
// figures are on paper whatever the theme (widgets/kit/plot_theme.h).
#include <QColor>
#include <QString>
#include <optional>

class QApplication;

enum class ThemeChoice { Desktop, Light, Dark };

// "desktop", "light", "dark" and back; nullopt for any other name.
std::optional<ThemeChoice> parseThemeChoice(const QString& name);
QString themeChoiceName(ThemeChoice choice);

// The choice View > Theme saved (Desktop when none was).
ThemeChoice savedThemeChoice();
void saveThemeChoice(ThemeChoice choice);

// What the desktop says about dark. Qt 6.4 has no colour-scheme query of its own, so: the
// window colour of the palette the platform theme gave Qt (KDE, qt6ct and Qt's GTK theme set
// it), else GTK_THEME ("Adwaita:dark", "Adwaita-dark"), else GNOME's settings (color-scheme
// 'prefer-dark', or a gtk-theme named "...-dark").
struct DesktopHints {
    QColor platformWindow;    // QPalette::Window before the app changes anything
    QString gtkThemeVariable; // $GTK_THEME
    QString gnomeColorScheme; // gsettings get org.gnome.desktop.interface color-scheme
    QString gnomeGtkTheme;    // gsettings get org.gnome.desktop.interface gtk-theme
};
bool desktopPrefersDark(const DesktopHints& hints);
// The hints of this session; asks gsettings (when installed) only if the others are silent.
DesktopHints readDesktopHints(const QColor& platformWindow);

// Makes the application light or dark as chosen: the platform's look where it already matches,
// else the Fusion style with a light or dark palette. Returns whether the theme is dark.
bool applyTheme(QApplication& app, ThemeChoice choice);
