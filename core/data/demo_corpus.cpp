#include "data/demo_corpus.h"

#include <random>

namespace ls {

namespace {

// Uniform draw in [0, n) from the raw 32-bit engine (std::uniform_int_distribution
// differs between standard libraries; this does not).
uint32_t draw(std::mt19937& rng, uint32_t n) {
    const uint32_t limit = 0xFFFFFFFFu - (0xFFFFFFFFu % n);
    uint32_t x;
    do x = rng(); while (x >= limit);
    return x % n;
}

}  // namespace

const std::vector<std::string>& demoNoiseWords() {
    static const std::vector<std::string> words = [] {
        const char* syllables[] = {"ka", "lo", "mi", "pe", "ru", "sa", "to", "nu"};
        std::vector<std::string> out;
        for (const char* a : syllables)
            for (const char* b : syllables) out.push_back(std::string(a) + b);
        return out;  // 64 words
    }();
    return words;
}

const char* demoLabelName(DemoLabel label) {
    switch (label) {
        case DemoLabel::Random: return "random";
        case DemoLabel::Determined: return "determined";
        case DemoLabel::Choice: return "choice";
    }
    return "?";
}

DemoCorpus generateDemoCorpus(const DemoCorpusParams& params) {
    const auto& noise = demoNoiseWords();
    const uint32_t N = static_cast<uint32_t>(noise.size());
    // "pair X f(X)": a fixed permutation of the noise words (seed-independent, so every
    // demo corpus teaches the same pairs).
    std::vector<uint32_t> partner(N);
    for (uint32_t i = 0; i < N; ++i) partner[i] = (i * 37 + 11) % N;  // 37 is coprime to 64

    std::mt19937 rng(static_cast<uint32_t>(params.seed));
    DemoCorpus out;
    auto word = [&](const std::string& w, DemoLabel label) {
        if (!out.text.empty() && out.text.back() != '\n') out.text += ' ';
        out.text += w;
        out.labels.push_back(label);
    };
    auto randomWord = [&]() {
        const uint32_t i = draw(rng, N);
        word(noise[i], DemoLabel::Random);
        return i;
    };
    static const char* kCount[] = {"one", "two", "three", "four", "five", "six"};

    int sentenceInDocument = 0;
    while (static_cast<int64_t>(out.labels.size()) < params.words) {
        switch (draw(rng, 4)) {
            case 0: {  // copy: 4 random words, "again", the same 4 words
                word("copy", DemoLabel::Choice);
                uint32_t picked[4];
                for (auto& p : picked) p = randomWord();
                word("again", DemoLabel::Determined);
                for (uint32_t p : picked) word(noise[p], DemoLabel::Determined);
                break;
            }
            case 1:  // count: fixed sequence
                word("count", DemoLabel::Choice);
                for (const char* w : kCount) word(w, DemoLabel::Determined);
                break;
            case 2:  // say: 3 random words
                word("say", DemoLabel::Choice);
                for (int i = 0; i < 3; ++i) randomWord();
                break;
            default: {  // pair: a random word, then its fixed partner
                word("pair", DemoLabel::Choice);
                const uint32_t x = randomWord();
                word(noise[partner[x]], DemoLabel::Determined);
                break;
            }
        }
        word(".", DemoLabel::Determined);  // every kind has a fixed length
        if (++sentenceInDocument == params.sentencesPerDocument) {
            out.text += "\n\n";
            sentenceInDocument = 0;
        }
    }
    if (!out.text.empty() && out.text.back() != '\n') out.text += '\n';
    return out;
}

}  // namespace ls
