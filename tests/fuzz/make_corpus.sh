#!/usr/bin/env bash
# Regenerates the seed corpus (tests/fuzz/corpus/<target>/): small valid and nearly valid
# inputs of every format, so the fuzzers start from the structure real files have.
# Needs the normal build (build/app/cli/layerscope-cli) and the npm tokenizer references
# (tests/reference/node_modules). The corpus is committed; run this only to change it.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cli="$root/build/app/cli/layerscope-cli"
c="$here/corpus"
rm -rf "$c" && mkdir -p "$c"/{safetensors,config,tokenizer_json,vocab_merges,dataset_text,dataset_alpaca,dataset_tokens,run_file,run_file_sealed}

/usr/bin/python3 "$here/make_corpus.py" "$c"

# tokenizer.json: the SmolLM2-, Llama-3-, Llama-2-like and word-level fixtures of the tests.
(cd "$root/tests/reference" && node --input-type=module -e '
import * as f from "./tokenizer_fixtures.mjs";
import fs from "node:fs";
const out = process.argv[1];
const put = (n, j) => fs.writeFileSync(`${out}/${n}.json`, JSON.stringify(j));
put("smollm2", f.smollm2TokenizerJson());
put("llama3", f.llama3TokenizerJson());
put("llama2", f.llama2TokenizerJson("tinyllama"));
put("wordlevel", f.wordLevelTokenizerJson(true));
' "$c/tokenizer_json")
cp "$root/resources/demo/model/tokenizer.json" "$c/tokenizer_json/demo.json"

# Run files: a small real run of the demo model (layer analyses, then ablation).
head -c 6000 "$root/resources/demo/eval.txt" > "$c/small.txt"
"$cli" run cossim,saturation,lowrank,inspect --model "$root/resources/demo/model" --data "$c/small.txt" \
    --seq-len 64 --max-windows 2 --out "$c/run_file/layers.h5" --quiet
"$cli" run ablation --heads L0,L3H1 --model "$root/resources/demo/model" --data "$c/small.txt" \
    --seq-len 64 --max-windows 1 --out "$c/run_file/ablation.h5" --quiet
cp "$c"/run_file/*.h5 "$c/run_file_sealed/"
rm "$c/small.txt"
du -sh "$c"/*
