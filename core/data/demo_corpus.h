#pragma once
// The built-in demo corpus: text whose difficulty is known token by token, so the
// analyses have right answers to find. It is a word-level language of short sentences:
//
//   copy kalo mipe rusa tomi again kalo mipe rusa tomi .   (4 random words, then copied)
//   count one two three four five six .                    (fully determined after "count")
//   say pemi kosu lato .                                   (3 random words)
//   pair sotu lari .                                       (the second word is a fixed function
//                                                           of the first: learnable at layer 0)
//
// Every word is one token of a word-level tokenizer, and each carries a label:
//   Random     drawn uniformly from the 64 noise words: loss >= ln 64 = 4.16 nats for any model
//   Determined fully fixed by the words before it: an ideal model's loss is 0
//   Choice     the first word of a sentence (one of 4 kinds): ideal loss ln 4 = 1.39 nats
// Documents are paragraphs of sentences separated by a blank line.
// Deterministic for a seed on every platform (own draws from std::mt19937).
#include <cstdint>
#include <string>
#include <vector>

namespace ls {

enum class DemoLabel : uint8_t { Random = 0, Determined = 1, Choice = 2 };

struct DemoCorpus {
    std::string text;               // UTF-8, words separated by spaces, paragraphs by "\n\n"
    std::vector<DemoLabel> labels;  // one per whitespace-separated word, in order
};

struct DemoCorpusParams {
    int64_t words = 200000;        // stop after at least this many words
    int sentencesPerDocument = 12;
    uint64_t seed = 1;
};

DemoCorpus generateDemoCorpus(const DemoCorpusParams& params);

// The 64 noise words ("kalo", "mipe", ...), in a fixed order.
const std::vector<std::string>& demoNoiseWords();

const char* demoLabelName(DemoLabel label);

}  // namespace ls
