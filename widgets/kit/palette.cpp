#include "kit/palette.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <qcustomplot.h>

namespace ls::widgets::palette {

QColor series(int index) {
    static const QColor colors[] = {kDark, kBlue, kVermillion, kPurple, kGreen, kOrange, kSkyBlue};
    const int n = int(std::size(colors));
    return colors[((index % n) + n) % n];
}

QColor withAlpha(const QColor& color, int alpha) {
    QColor c = color;
    c.setAlpha(alpha);
    return c;
}

QColor onWhite(const QColor& color, int alpha) {
    const auto mix = [alpha](int c) { return int(std::lround(255 + (c - 255) * alpha / 255.0)); };
    return QColor(mix(color.red()), mix(color.green()), mix(color.blue()));
}

QColor textOn(const QColor& background) {
    // Relative luminance (sRGB weights, no gamma: enough to pick black or white).
    const double y = 0.2126 * background.red() + 0.7152 * background.green() + 0.0722 * background.blue();
    // Not pure white or black: those are paper colours a dark theme swaps (plot_theme.cpp),
    // and text on a data colour must stay as it is.
    return y < 120 ? QColor(252, 252, 252) : QColor(12, 12, 12);
}

namespace {

// WCAG 2 relative luminance, with the sRGB transfer function.
double luminance(const QColor& c) {
    auto linear = [](int v) {
        const double x = v / 255.0;
        return x <= 0.03928 ? x / 12.92 : std::pow((x + 0.055) / 1.055, 2.4);
    };
    return 0.2126 * linear(c.red()) + 0.7152 * linear(c.green()) + 0.0722 * linear(c.blue());
}

double contrast(const QColor& a, const QColor& b) {
    const double la = luminance(a), lb = luminance(b);
    return (std::max(la, lb) + 0.05) / (std::min(la, lb) + 0.05);
}

// color stepped darker (or lighter) in its own hue until it has 4.5:1 against background.
QColor withContrast(const QColor& color, const QColor& background, bool lighten) {
    QColor c = color;
    for (int step = 0; step < 20 && contrast(c, background) < 4.5; ++step) {
        if (!lighten)
            c = c.darker(110);
        else  // lighter() stops at full value: move towards white as well
            c = QColor::fromHsvF(c.hsvHueF(), std::max(0.0f, c.hsvSaturationF() - 0.06f),
                                 std::min(1.0f, c.valueF() * 1.1f + 0.04f));
    }
    return c;
}

}  // namespace

bool isDark(const QColor& windowColour) { return windowColour.isValid() && windowColour.lightness() < 128; }

bool isDark(const QPalette& window) { return isDark(window.color(QPalette::Window)); }

QColor mutedText(const QPalette& window) { return isDark(window) ? QColor(165, 165, 165) : kMutedText; }

QColor problemText(const QPalette& window) {
    return readableText(kVermillion, window);
}

QColor headerFill(const QPalette& window) { return isDark(window) ? QColor(62, 64, 66) : kHeaderFill; }

QColor hoverFill(const QPalette& window) { return isDark(window) ? QColor(112, 96, 24) : kHoverFill; }

QColor alternateFill(const QPalette& window, int index) {
    static const QColor dark[2] = {QColor(38, 62, 92), QColor(92, 62, 32)};  // deep blue, deep orange
    return (isDark(window) ? dark : kAlternateFills)[index % 2];
}

QColor invalidFill(const QPalette& window) { return isDark(window) ? QColor(96, 40, 40) : kInvalidFill; }

QColor readableText(const QColor& color, const QPalette& window) {
    return withContrast(color, window.color(QPalette::Base), isDark(window));
}

QString css(const QColor& color) { return color.name(); }
QString textStyle(const QColor& color) { return QStringLiteral("color: %1;").arg(color.name()); }

namespace {

struct Stop {
    double at;  // 0..1 along the scale
    QColor color;
};

// A gradient through these stops; NaN cells in kNoValue.
QCPColorGradient gradient(std::initializer_list<Stop> stops, int levels) {
    QCPColorGradient g;
    g.clearColorStops();
    for (const Stop& stop : stops)
        g.setColorStopAt(stop.at, stop.color);
    g.setLevelCount(levels);
    g.setNanHandling(QCPColorGradient::nhNanColor);
    g.setNanColor(kNoValue);
    return g;
}

}  // namespace

QCPColorGradient divergingGradient() {
    return gradient({{0.0, QColor(5, 48, 97)},
                     {0.15, QColor(33, 102, 172)},
                     {0.3, QColor(103, 169, 207)},
                     {0.44, QColor(209, 229, 240)},
                     {0.5, QColor(250, 250, 250)},
                     {0.56, QColor(253, 219, 199)},
                     {0.7, QColor(239, 138, 98)},
                     {0.85, QColor(178, 24, 43)},
                     {1.0, QColor(103, 0, 31)}},
                    400);
}

QCPColorGradient sequentialGradient() {
    return gradient({{0.0, QColor(255, 255, 255)},
                     {0.004, QColor(253, 246, 200)},
                     {0.08, QColor(253, 231, 37)},
                     {0.3, QColor(94, 201, 98)},
                     {0.55, QColor(33, 145, 140)},
                     {0.8, QColor(59, 82, 139)},
                     {1.0, QColor(68, 1, 84)}},
                    350);
}

QCPColorGradient signedSequentialGradient(double lo, double hi) {
    const double span = std::max(hi - lo, 1e-9);
    const double zero = std::clamp((0.0 - lo) / span, 0.0, 1.0);
    auto at = [&](double f) { return zero + (1.0 - zero) * f; };
    QCPColorGradient g = gradient({{zero, QColor(255, 255, 255)},
                                   {at(0.15), QColor(253, 231, 37)},
                                   {at(0.4), QColor(94, 201, 98)},
                                   {at(0.7), QColor(33, 145, 140)},
                                   {1.0, QColor(59, 82, 139)}},
                                  300);
    if (zero > 0)
        g.setColorStopAt(0.0, kVermillion);
    return g;
}

QColor blues(double t) {
    // ColorBrewer "Blues" (9 classes): black text stays readable on its light half.
    static const QColor stops[] = {QColor(247, 251, 255), QColor(222, 235, 247), QColor(198, 219, 239),
                                   QColor(158, 202, 225), QColor(107, 174, 214), QColor(66, 146, 198),
                                   QColor(33, 113, 181),  QColor(8, 81, 156),    QColor(8, 48, 107)};
    if (!std::isfinite(t))
        return kNoValue;
    constexpr int n = int(std::size(stops));
    const double x = std::clamp(t, 0.0, 1.0) * (n - 1);
    const int i = std::min(int(x), n - 2);
    const double f = x - i;
    const QColor& a = stops[i];
    const QColor& b = stops[i + 1];
    return QColor(int(std::lround(a.red() + f * (b.red() - a.red()))),
                  int(std::lround(a.green() + f * (b.green() - a.green()))),
                  int(std::lround(a.blue() + f * (b.blue() - a.blue()))));
}

}  // namespace ls::widgets::palette
