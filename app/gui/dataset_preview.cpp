#include "dataset_preview.h"

#include <QObject>
#include <algorithm>

#include "common/error.h"
#include "data/dataset.h"
#include "kit/format.h"
#include "tokenizer/tokenizer.h"

using ls::widgets::formatCount;

namespace {


// 0-based index of the document that holds stream position `index`.
qint64 documentOf(const std::vector<int64_t>& starts, int64_t index) {
    const auto it = std::upper_bound(starts.begin(), starts.end(), index);
    return std::max<qint64>(0, qint64(it - starts.begin()) - 1);
}

}  // namespace

QList<ls::widgets::PreviewWindow> previewWindows(const ls::Dataset& dataset, const ls::Tokenizer* tokenizer,
                                                 const std::vector<ls::Window>& windows,
                                                 const PreviewLimits& limits) {
    QList<ls::widgets::PreviewWindow> out;
    const int shownWindows = int(std::min<size_t>(windows.size(), size_t(std::max(0, limits.windows))));
    for (int w = 0; w < shownWindows; ++w) {
        const ls::Window& window = windows[size_t(w)];
        ls::widgets::PreviewWindow preview;
        // Windows, tokens and documents from 0, as the inspector's window and the command line count them.
        preview.title = QObject::tr("Window %1 · tokens %2–%3 · document %4 · %5 scored")
                            .arg(w)
                            .arg(formatCount(window.begin))
                            .arg(formatCount(window.begin + window.length - 1))
                            .arg(formatCount(documentOf(dataset.documentStarts, window.begin)))
                            .arg(formatCount(window.scoredCount()));
        const int shown = std::min(window.length, limits.tokensPerWindow);
        for (int p = 0; p < shown; ++p) {
            const int64_t index = window.begin + p;
            const int32_t id = dataset.tokens[size_t(index)];
            ls::widgets::PreviewToken token;
            token.id = id;
            // Position p is scored as the target of position p - 1 from firstScored on.
            token.context = p < window.firstScored;
            token.text = QString::number(id);  // without a tokenizer, the ids are the text
            QString vocab;
            if (tokenizer) {
                try {
                    token.text = QString::fromStdString(tokenizer->tokenText(id));
                    vocab = QObject::tr(" · vocabulary \"%1\"").arg(QString::fromStdString(tokenizer->tokenString(id)));
                } catch (const ls::Error&) {  // a model vocabulary padded beyond the tokenizer's
                    vocab = QObject::tr(" · not in the tokenizer's vocabulary");
                }
            }
            token.tooltip = QObject::tr("id %1%2\nposition %3 of window %4 (stream index %5)\n%6")
                                .arg(id)
                                .arg(vocab)
                                .arg(p)
                                .arg(w + 1)
                                .arg(formatCount(index))
                                .arg(token.context ? QObject::tr("context only: not scored")
                                                   : QObject::tr("scored: predicted from the tokens before it"));
            preview.tokens.append(token);
        }
        if (shown < window.length)
            preview.note = QObject::tr("… %1 more tokens in this window").arg(formatCount(window.length - shown));
        out.append(preview);
    }
    if (!out.isEmpty() && windows.size() > size_t(shownWindows)) {
        QString& note = out.last().note;
        note += (note.isEmpty() ? QString() : QStringLiteral("  ")) +
                QObject::tr("… %1 more windows not shown").arg(formatCount(qint64(windows.size()) - shownWindows));
    }
    return out;
}
