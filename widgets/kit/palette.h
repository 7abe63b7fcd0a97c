#pragma once
// Every colour the views use, in one place. Series are drawn in Okabe & Ito's palette, whose
// colours stay apart under the common colour-vision deficiencies; the colour scales are
// ColorBrewer's RdBu (diverging), viridis and ColorBrewer's Blues (sequential), which do too.
// A view names a colour by its hue here and says in its own code what the hue stands for.
#include <QColor>
#include <QPalette>
#include <QString>

class QCPColorGradient;

namespace ls::widgets::palette {

// Okabe–Ito.
inline const QColor kBlue{0, 114, 178};
inline const QColor kVermillion{213, 94, 0};
inline const QColor kGreen{0, 158, 115};     // bluish green
inline const QColor kPurple{204, 121, 167};  // reddish purple
inline const QColor kOrange{230, 159, 0};
inline const QColor kSkyBlue{86, 180, 233};

// Neutrals.
inline const QColor kDark{46, 52, 54};         // marks that read like text: splits, whiskers
inline const QColor kGrey{136, 138, 133};      // reference lines, the sweep, "ran every block"
inline const QColor kSelection{20, 20, 20};    // outline of the selected cell or point
inline const QColor kNoValue{210, 210, 210};   // a cell without a value (yet)
inline const QColor kMutedText{90, 90, 90};    // hints, timings, "nothing to show" notes

// Tints behind text.
inline const QColor kHighlightRow{255, 226, 214};  // a table row to notice (a light vermillion)
inline const QColor kHoverFill{255, 236, 120};     // what the mouse is over
inline const QColor kHeaderFill{239, 239, 239};
inline const QColor kInvalidFill{255, 221, 221};   // a form field a problem is about
inline const QColor kAlternateFills[2] = {QColor(214, 230, 250), QColor(252, 228, 200)};  // light blue, light orange

// The theme: a window palette whose background is dark. The constants above are for a light
// window (and for exported figures, always on white); what text or a fill behind text needs on
// a dark one comes from these, given the palette of the widget that draws it.
bool isDark(const QColor& windowColour);  // lightness below the middle; an invalid colour is not dark
bool isDark(const QPalette& window);
QColor mutedText(const QPalette& window);    // hints, timings, "nothing to show" notes
QColor problemText(const QPalette& window);  // what is wrong with an input or a run
QColor headerFill(const QPalette& window);   // behind a table's row and column headers
QColor hoverFill(const QPalette& window);
QColor alternateFill(const QPalette& window, int index);  // two tints that take turns
QColor invalidFill(const QPalette& window);  // a form field a problem is about
// color as text on the window's base: as it is if it reads there (WCAG contrast 4.5:1),
// else darkened (light theme) or lightened (dark theme) in its own hue until it does.
QColor readableText(const QColor& color, const QPalette& window);

// The series colours in the order a chart with many lines takes them.
QColor series(int index);

// color with the given alpha (0..255); onWhite: the opaque colour it shows over white.
QColor withAlpha(const QColor& color, int alpha);
QColor onWhite(const QColor& color, int alpha);

// Black or white, whichever reads better on background.
QColor textOn(const QColor& background);

// As a style sheet writes it: css = "#d55e00", textStyle = "color: #d55e00;".
QString css(const QColor& color);
QString textStyle(const QColor& color);

// Diverging, white at the centre: blue below, red above (RdBu); light tints start close to
// the centre so that small values still show. NaN cells are drawn in kNoValue.
QCPColorGradient divergingGradient();

// White for exactly 0, then viridis from light (small) to dark (large): any count at all shows.
QCPColorGradient sequentialGradient();

// For a range [lo, hi] that may dip below 0: vermillion below 0, white at 0, then viridis
// from light to dark up to hi. NaN cells are drawn in kNoValue.
QCPColorGradient signedSequentialGradient(double lo, double hi);

// ColorBrewer Blues for t in [0, 1] (white .. dark blue), interpolated; NaN -> kNoValue.
QColor blues(double t);

}  // namespace ls::widgets::palette
