#include "kit/format.h"

#include <QLocale>
#include <QObject>
#include <QRegularExpression>
#include <cmath>

namespace ls::widgets {

QString noValue() { return QStringLiteral("–"); }

QString formatNumber(double value, int decimals) {
    return std::isfinite(value) ? QString::number(value, 'f', decimals) : noValue();
}

QString formatPercent(double fraction, int decimals) { return formatPercentValue(100.0 * fraction, decimals); }

QString formatPercentValue(double percent, int decimals) {
    return std::isfinite(percent) ? QStringLiteral("%1%").arg(percent, 0, 'f', decimals) : noValue();
}

QString formatCount(int64_t n) { return QLocale().toString(qint64(n)); }

QString formatPpl(double ppl) { return formatNumber(ppl, ppl < 100 ? 2 : 1); }

QString formatSigned(double value, int decimals) {
    if (!std::isfinite(value))
        return noValue();
    QString s = QString::number(value, 'f', decimals);
    if (s.startsWith('-') && QString::number(-value, 'f', decimals) == QString::number(0.0, 'f', decimals))
        s = s.mid(1);  // "-0.000" -> "+0.000"
    return s.startsWith('-') ? s : QStringLiteral("+") + s;
}

QString formatDuration(double seconds) {
    if (!std::isfinite(seconds) || seconds <= 0)
        return QStringLiteral("0 s");
    if (seconds < 60)
        return QStringLiteral("%1 s").arg(seconds, 0, 'f', seconds < 10 ? 2 : 1);
    const qint64 t = std::llround(seconds);
    if (t < 3600)
        return QStringLiteral("%1 min %2 s").arg(t / 60).arg(t % 60);
    return QStringLiteral("%1 h %2 min").arg(t / 3600).arg((t % 3600) / 60, 2, 10, QLatin1Char('0'));
}

QString metricFormula(const std::string& name, const QString& z) {
    if (name == "confidence") return QObject::tr("max softmax(%1)").arg(z);
    if (name == "max_z") return QObject::tr("max %1").arg(z);
    if (name == "max_minus_mean") return QObject::tr("max %1 − mean %1").arg(z);
    if (name == "margin") return QObject::tr("%1(1) − %1(2)").arg(z);
    if (name == "entropy") return QObject::tr("entropy of softmax(%1)").arg(z);
    return {};
}

QString subscript(int n) {
    QString out;
    for (const QChar c : QString::number(n))
        out += c == '-' ? QChar(0x208B) : QChar(0x2080 + (c.unicode() - '0'));
    return out;
}

QString subscriptsAsHtml(const QString& text) {
    QString html = text.toHtmlEscaped();
    static const QRegularExpression braced(QStringLiteral("_\\{([^}]*)\\}")), single(QStringLiteral("_([A-Za-z0-9]+)"));
    html.replace(braced, QStringLiteral("<sub>\\1</sub>"));
    html.replace(single, QStringLiteral("<sub>\\1</sub>"));
    html.replace(QStringLiteral("<sub>l-1</sub>"), QStringLiteral("<sub>l−1</sub>"));  // a minus sign, not a hyphen
    return html;
}

}  // namespace ls::widgets
