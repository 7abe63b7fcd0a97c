// layerscope-cli demo-corpus: the built-in demo corpus, whose easy and hard words are known.
#include <cstdio>

#include "commands.h"
#include "common/file_io.h"
#include "data/dataset.h"
#include "data/demo_corpus.h"

namespace cli {

namespace {

int demoCorpus(const Args& args) {
    const std::filesystem::path out = args.require("out");
    ls::DemoCorpusParams params;
    params.words = args.integer("words", params.words, 1);
    params.seed = static_cast<uint64_t>(args.integer("seed", 1, 0));
    const ls::DemoCorpus corpus = ls::generateDemoCorpus(params);
    ls::writeFileAtomically(out, corpus.text);
    if (auto labels = args.get("labels")) {
        std::vector<int32_t> values;
        for (ls::DemoLabel l : corpus.labels) values.push_back(static_cast<int32_t>(l));
        ls::writeNpyInt32(*labels, values);
    }
    std::printf("wrote %s: %zu words, %zu bytes\n", out.c_str(), corpus.labels.size(), corpus.text.size());
    return 0;
}

}  // namespace

Command demoCorpusCommand() {
    return {{"demo-corpus",
             "",
             "--out FILE [--words 200000] [--seed 1] [--labels FILE.npy]",
             "writes the built-in demo corpus and, optionally, its word labels",
             "Writes the demo corpus: a word-level language whose difficulty is known word by word (random words "
             "cost at least ln 64 nats, determined words nothing for an ideal model).",
             {{"options",
               {{"out", "FILE", "The text file to write (required)."},
                {"words", "N", "Words to generate (default 200000)."},
                {"seed", "S", "Random seed (default 1)."},
                {"labels", "FILE.npy",
                 "Also write one int32 label per word: 0 random, 1 determined by context, 2 sentence start."}}}}},
            demoCorpus};
}

}  // namespace cli
