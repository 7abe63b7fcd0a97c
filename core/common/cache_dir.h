#pragma once
// LayerScope's cache: $XDG_CACHE_HOME/layerscope (~/.cache/layerscope by default), small files
// that save a second run on the same inputs work the first one did (the inputs' hashes, the
// certified lens's method choice). Every entry is checked when read and rewritten when it does
// not fit; deleting the folder at any time only costs that work again. Entries are written to
// a temporary file and renamed into place, so concurrent runs never see half an entry.
#include <optional>
#include <string>

namespace ls {

// The entry's text, or nothing when there is none (or no cache folder).
std::optional<std::string> readCacheEntry(const std::string& name);

// Writes the entry; a cache that cannot be written (read-only home, full disk) is skipped.
void writeCacheEntry(const std::string& name, const std::string& text);

}  // namespace ls
