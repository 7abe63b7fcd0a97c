#pragma once
// Turns the first windows of a dataset into the token preview's plain data: each token's
// text (from the tokenizer), id, vocabulary string and whether the window scores it.
#include <QList>
#include <vector>

#include "data/windows.h"
#include "token_preview_view.h"

namespace ls {
class Tokenizer;
struct Dataset;
}  // namespace ls

struct PreviewLimits {
    int windows = 4;            // windows shown
    int tokensPerWindow = 600;  // tokens shown of each window
};

// tokenizer may be null (token-id datasets): the texts are then the ids.
QList<ls::widgets::PreviewWindow> previewWindows(const ls::Dataset& dataset, const ls::Tokenizer* tokenizer,
                                                 const std::vector<ls::Window>& windows,
                                                 const PreviewLimits& limits = {});
