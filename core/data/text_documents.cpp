// Plain text and WikiText datasets cut into documents (paragraphs, articles), and the line
// helpers the other readers share.
#include <algorithm>
#include <string_view>

#include "data/dataset_readers_internal.h"

namespace ls::dataset_readers {

namespace {

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

// Cuts text into consecutive pieces, a new one starting at each line for which
// startsDocument(line, previousLine) holds, and calls document(piece) until it returns false.
template <typename StartsDocument, typename Document>
void splitAtLines(std::string_view text, StartsDocument startsDocument, Document document) {
    const char* pieceBegin = text.data();
    std::string_view previous;
    bool more = true;
    forEachLine(text, [&](std::string_view line) {
        if (line.data() > pieceBegin && startsDocument(line, previous)) {
            more = document(std::string_view(pieceBegin, size_t(line.data() - pieceBegin)));
            pieceBegin = line.data();
        }
        previous = line;
        return more;
    });
    const char* end = text.data() + text.size();
    if (more && pieceBegin < end) document(std::string_view(pieceBegin, size_t(end - pieceBegin)));
}

}  // namespace

bool isBlank(std::string_view text) { return std::all_of(text.begin(), text.end(), isSpace); }

std::string_view trimmed(std::string_view text) {
    while (!text.empty() && isSpace(text.front())) text.remove_prefix(1);
    while (!text.empty() && isSpace(text.back())) text.remove_suffix(1);
    return text;
}

// A WikiText article heading " = Title = "; a section heading " = = Title = = " is not one.
bool isWikiTextHeading(std::string_view line) {
    const std::string_view t = trimmed(line);
    if (t.size() < 5 || t.substr(0, 2) != "= " || t.substr(t.size() - 2) != " =") return false;
    const std::string_view title = trimmed(t.substr(2, t.size() - 4));
    return !title.empty() && title.front() != '=' && title.back() != '=';
}

// Paragraphs: a non-blank line after a blank one starts a document.
void addTextParagraphs(std::string_view body, DocumentWriter& writer) {
    splitAtLines(body, [](std::string_view line, std::string_view previous) {
        return isBlank(previous) && !isBlank(line);
    }, [&](std::string_view document) { return writer.add(document); });
}

// Articles: each starts at its " = Title = " line.
void addWikiTextArticles(std::string_view body, DocumentWriter& writer) {
    splitAtLines(body, [](std::string_view line, std::string_view) { return isWikiTextHeading(line); },
                 [&](std::string_view document) { return writer.add(document); });
}

}  // namespace ls::dataset_readers
