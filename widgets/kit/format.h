#pragma once
// How the views write numbers. A value that is not finite (NaN: not computed, not defined) is
// written as noValue(), an en dash.
#include <QString>
#include <cstdint>
#include <string>

namespace ls::widgets {

QString noValue();  // "–"

// Fixed decimals: formatNumber(0.28791, 4) = "0.2879".
QString formatNumber(double value, int decimals);

// A share: formatPercent(0.1234) = "12.3%"; formatPercentValue takes it in percent already.
QString formatPercent(double fraction, int decimals = 1);
QString formatPercentValue(double percent, int decimals = 1);

// A count with the locale's digit grouping: "6,803".
QString formatCount(int64_t n);

// A perplexity: two decimals below 100, one from there on ("12.34", "123.4").
QString formatPpl(double ppl);

// With its sign, "-0.000" written "+0.000": formatSigned(2.8061, 3) = "+2.806".
QString formatSigned(double value, int decimals = 3);

// A duration: "0.42 s", "12.3 s", "4 min 5 s", "1 h 05 min".
QString formatDuration(double seconds);

// A whole number as Unicode subscript digits, for labels that name h₃ or c₁₂ (chart labels are
// plain text: no TeX, no rich text).
QString subscript(int n);
// Plain text with TeX-style subscripts ("cos(h_{l-1}, h_l)", as core's messages and the CLI
// write them) as HTML for rich-text labels: "cos(h<sub>l−1</sub>, h<sub>l</sub>)", escaped.
QString subscriptsAsHtml(const QString& text);

// A difficulty metric of logits (losssep's and the early exit's signals) as its formula, the
// logits called z: metricFormula("max_minus_mean", "z_l") = "max z_l − mean z_l". For
// confidence, max_z, max_minus_mean, margin and entropy; empty for any other name.
QString metricFormula(const std::string& name, const QString& z);

}  // namespace ls::widgets
