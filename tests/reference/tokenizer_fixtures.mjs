// Tokenizer files for LayerScope's tokenizer tests, built at test time (the real ones cannot be
// downloaded here):
//  - GPT-2, exactly: vocab.json + merges.txt rebuilt from js-tiktoken's GPT-2 BPE ranks, and the
//    equivalent tokenizer.json;
//  - SmolLM2-, Llama-3- and Llama-2/TinyLlama-like tokenizer.json files: the published
//    normalizer / pre_tokenizer / post_processor / decoder / added_tokens structure of those
//    models around a small BPE vocabulary trained here on a fixed corpus.
import gpt2 from "js-tiktoken/ranks/gpt2";
import { Tokenizer } from "@huggingface/tokenizers";

// ---------------------------------------------------------------------------------------------
// Byte-level alphabet (GPT-2's bytes_to_unicode)

export const BYTE_TO_CHAR = (() => {
  const printable = (b) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const table = new Array(256);
  let n = 0;
  for (let b = 0; b < 256; b++) table[b] = String.fromCharCode(printable(b) ? b : 256 + n++);
  return table;
})();

export const byteLevel = (bytes) => Array.from(bytes, (b) => BYTE_TO_CHAR[b]).join("");

// Byte-level chars in the order GPT-2 numbers its 256 single-byte tokens.
const BYTE_CHARS_IN_ORDER = [...BYTE_TO_CHAR].sort((a, b) => a.codePointAt(0) - b.codePointAt(0));

// ---------------------------------------------------------------------------------------------
// GPT-2 from js-tiktoken's ranks

// Token bytes by rank (= GPT-2 id), parsed the way js-tiktoken's constructor parses them.
export function gpt2TokensByRank() {
  const tokens = [];
  for (const line of gpt2.bpe_ranks.split("\n").filter(Boolean)) {
    const [, offset, ...encoded] = line.split(" ");
    encoded.forEach((b64, i) => (tokens[Number(offset) + i] = Buffer.from(b64, "base64")));
  }
  return tokens;
}

// vocab.json + merges: for each multi-byte token in rank order, run BPE on its bytes with the
// lower ranks only, until two parts remain: those two parts are its merge.
export function gpt2VocabAndMerges() {
  const tokens = gpt2TokensByRank();
  const rankOf = new Map(tokens.map((bytes, rank) => [bytes.toString("latin1"), rank]));
  const vocab = {};
  tokens.forEach((bytes, rank) => (vocab[byteLevel(bytes)] = rank));
  const merges = [];
  tokens.forEach((bytes, rank) => {
    if (bytes.length === 1) return;
    const parts = Array.from(bytes, (b) => String.fromCharCode(b));
    while (parts.length > 2) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i + 1 < parts.length; i++) {
        const r = rankOf.get(parts[i] + parts[i + 1]);
        if (r !== undefined && r < rank && r < bestRank) [best, bestRank] = [i, r];
      }
      if (best < 0) throw new Error(`GPT-2 token ${rank} cannot be rebuilt from lower ranks`);
      parts.splice(best, 2, parts[best] + parts[best + 1]);
    }
    if (merges.length !== rank - 256) throw new Error(`GPT-2 ranks are not in merge order at ${rank}`);
    merges.push(parts.map((p) => byteLevel(Buffer.from(p, "latin1"))));
  });
  for (const [text, id] of Object.entries(gpt2.special_tokens)) vocab[text] = id;
  return { vocab, merges };
}

export function gpt2TokenizerJson({ vocab, merges }) {
  // The structure of Hugging Face's gpt2/tokenizer.json.
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [
      { id: 50256, content: "<|endoftext|>", single_word: false, lstrip: false, rstrip: false, normalized: true, special: true },
    ],
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: "ByteLevel", add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: "",
      end_of_word_suffix: "",
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges: merges.map(([a, b]) => `${a} ${b}`),
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Training corpus and a small BPE trainer

const PROSE = [
  "The quick brown fox jumps over the lazy dog.",
  "It's a truth universally acknowledged that a single man in possession of a good fortune must be in want of a wife.",
  "I don't think they'll be here before 10:30, but we've got 3 hours, haven't we?",
  "In 2023, the company reported revenue of $1,234,567.89 - up 12% from 2022.",
  "She said: \"We're going to the market; do you want anything?\" He replied, 'No, thanks!'",
  "The mitochondria is the powerhouse of the cell, producing ATP through oxidative phosphorylation.",
  "Machine learning models are trained on large datasets to recognize patterns and make predictions.",
  "Perplexity measures how well a probability model predicts a sample of text.",
  "The transformer architecture relies on self-attention to weigh the importance of each token.",
  "Residual connections let gradients flow through very deep networks during training.",
  "def tokenize(text):\n    return [vocab[t] for t in text.split()]",
  "for (int i = 0; i < n; ++i) { sum += values[i] * weights[i]; }",
  "if (x > 0 && y < 10) { return x + y; } else { return -1; }",
  "import numpy as np\nimport torch\nx = torch.randn(4, 8)",
  "    indented line with four spaces",
  "\tindented line with a tab",
  "Visit https://www.example.com/docs/index.html?lang=en&page=2 for more information.",
  "Contact us at support@example.org or call +1 (555) 123-4567.",
  "Le café était très bon, et la crème brûlée était délicieuse.",
  "Die Straße ist nass, weil es den ganzen Tag geregnet hat. Größe und Übermaß.",
  "El niño comió una manzana y después jugó al fútbol con sus amigos.",
  "Привет, как дела? Сегодня хорошая погода.",
  "Москва - столица России, а Киев - столица Украины.",
  "今天天气很好，我们去公园散步吧。中文字符测试。",
  "東京は日本の首都です。ひらがなとカタカナと漢字。",
  "한국어 텍스트도 조금 있습니다.",
  "Ελληνικά γράμματα: αβγδε.",
  "مرحبا بالعالم، هذا نص عربي.",
  "Numbers: 0 1 2 3 4 5 6 7 8 9 10 100 1000 3.14159 2.71828 1e-5 42",
  "Dates like 2024-01-15 and times like 23:59:59 appear often in logs.",
  "Markdown: # Title\n## Subtitle\n- item one\n- item two\n**bold** and _italic_",
  "JSON: {\"name\": \"value\", \"list\": [1, 2, 3], \"nested\": {\"a\": null}}",
  "Emoji are fun 😀 but rare in training text 🎉.",
  "THE END. The end. the end... THE END!!!",
  "Don't, won't, can't, shouldn't, wouldn't, couldn't, isn't, aren't, wasn't.",
  "He'd've said so if he'd known; I'm sure you're right, and we'll see.",
  "Well-known, state-of-the-art, up-to-date, long-term, high-quality results.",
  "The year 1999 was followed by 2000, and then by 2001.",
  "Water boils at 100 degrees Celsius at sea level.",
  "A B C D E F G H I J K L M N O P Q R S T U V W X Y Z",
  "a b c d e f g h i j k l m n o p q r s t u v w x y z",
];

// GPT-2's first few thousand tokens, as text: realistic English (sub)words with their spaces.
function gpt2Soup(count) {
  const tokens = gpt2TokensByRank();
  const decoder = new TextDecoder("utf-8", { fatal: true });
  const parts = [];
  for (let rank = 256; rank < 256 + count; rank++) {
    try {
      parts.push(decoder.decode(tokens[rank]));
    } catch {
      // partial UTF-8 sequences are no words
    }
  }
  return parts.join("");
}

export function trainingCorpus() {
  return [PROSE.join("\n"), PROSE.join(" "), PROSE.join("\n\n"), gpt2Soup(3500)].join("\n");
}

// Classic BPE training: repeatedly merge the most frequent adjacent pair (ties broken by the
// pair's text, for determinism). words: Map word -> count; symbolsOf: word -> initial symbols.
export function trainBpe(words, symbolsOf, numMerges) {
  const list = [...words].map(([word, count]) => ({ syms: symbolsOf(word), count }));
  const pairCount = new Map();
  const pairWords = new Map();
  const key = (a, b) => `${a}\u0000${b}`;
  const account = (index, sign) => {
    const { syms, count } = list[index];
    for (let i = 0; i + 1 < syms.length; i++) {
      const k = key(syms[i], syms[i + 1]);
      const c = (pairCount.get(k) ?? 0) + sign * count;
      if (c > 0) pairCount.set(k, c);
      else pairCount.delete(k);
      if (sign > 0) {
        if (!pairWords.has(k)) pairWords.set(k, new Set());
        pairWords.get(k).add(index);
      }
    }
  };
  list.forEach((_, i) => account(i, +1));
  const merges = [];
  while (merges.length < numMerges) {
    let best = null;
    let bestCount = 1;
    for (const [k, c] of pairCount) if (c > bestCount || (c === bestCount && best !== null && k < best)) [best, bestCount] = [k, c];
    if (best === null) break;
    const [a, b] = best.split("\u0000");
    merges.push([a, b]);
    for (const index of [...pairWords.get(best)]) {
      account(index, -1);
      const syms = list[index].syms;
      const merged = [];
      for (let i = 0; i < syms.length; i++) {
        if (i + 1 < syms.length && syms[i] === a && syms[i + 1] === b) {
          merged.push(a + b);
          i++;
        } else merged.push(syms[i]);
      }
      list[index].syms = merged;
      account(index, +1);
    }
    pairWords.delete(best);
  }
  return merges;
}

// Words of `text` as a tokenizer.json pre_tokenizer cuts them (run by @huggingface/tokenizers).
function preTokenizedWords(preTokenizer, text) {
  const probe = new Tokenizer(
    { model: { type: "BPE", vocab: {}, merges: [] }, normalizer: null, pre_tokenizer: preTokenizer, post_processor: null, decoder: null, added_tokens: [] },
    {},
  );
  const words = new Map();
  for (const line of text.split(/(?<=\n)/)) for (const w of probe.pre_tokenizer(line)) words.set(w, (words.get(w) ?? 0) + 1);
  return words;
}

function byteLevelBpe(preTokenizer, numMerges) {
  const words = preTokenizedWords(preTokenizer, trainingCorpus());
  const merges = trainBpe(words, (w) => [...w], numMerges);
  const tokens = [...BYTE_CHARS_IN_ORDER];
  const seen = new Set(tokens);
  for (const [a, b] of merges) if (!seen.has(a + b)) seen.add(a + b) && tokens.push(a + b);
  return { tokens, merges };
}

const special = (id, content, extra = {}) => ({
  id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true, ...extra,
});

const bpeModel = (vocab, merges, extra = {}) => ({
  type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
  fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges, ...extra,
});

const BYTE_LEVEL_DECODER = { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true };

// ---------------------------------------------------------------------------------------------
// SmolLM2-like: Digits(individual) + ByteLevel, 17 specials at ids 0-16 (also in the vocab).

const SMOLLM2_SPECIALS = [
  "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<repo_name>", "<reponame>", "<file_sep>", "<filename>",
  "<gh_stars>", "<issue_start>", "<issue_comment>", "<issue_closed>", "<jupyter_start>", "<jupyter_text>",
  "<jupyter_code>", "<jupyter_output>", "<jupyter_script>", "<empty_output>",
];

const SMOLLM2_PRE_TOKENIZER = {
  type: "Sequence",
  pretokenizers: [
    { type: "Digits", individual_digits: true },
    { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
  ],
};

export function smollm2TokenizerJson() {
  const { tokens, merges } = byteLevelBpe(SMOLLM2_PRE_TOKENIZER, 2500);
  const vocab = {};
  SMOLLM2_SPECIALS.forEach((t, i) => (vocab[t] = i));
  tokens.forEach((t, i) => (vocab[t] = SMOLLM2_SPECIALS.length + i));
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: SMOLLM2_SPECIALS.map((t, i) => special(i, t)),
    normalizer: null,
    pre_tokenizer: SMOLLM2_PRE_TOKENIZER,
    post_processor: { type: "ByteLevel", add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: BYTE_LEVEL_DECODER,
    model: bpeModel(vocab, merges.map(([a, b]) => `${a} ${b}`)),
  };
}

// The SmolLM2 vocabulary with other options: a Split(Removed) + ByteLevel(add_prefix_space)
// pre-tokenizer and added tokens with lstrip / rstrip / normalized, non-special.
export function byteLevelExtrasTokenizerJson(smollm2) {
  const json = structuredClone(smollm2);
  const next = Object.keys(json.model.vocab).length;
  json.pre_tokenizer = {
    type: "Sequence",
    pretokenizers: [
      { type: "Split", pattern: { Regex: "[0-9]+|[ \\t]*\\n" }, behavior: "Removed", invert: false },
      { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    ],
  };
  json.added_tokens.push(
    special(next, "<mask>", { lstrip: true }),
    special(next + 1, "<sep>", { rstrip: true }),
    special(next + 2, "<both>", { lstrip: true, rstrip: true }),
    { id: next + 3, content: "New York", single_word: false, lstrip: false, rstrip: false, normalized: true, special: false },
  );
  return json;
}

// ---------------------------------------------------------------------------------------------
// Llama-3-like: Split(big regex) + ByteLevel(no regex), ignore_merges, specials after the vocab.

export const LLAMA3_REGEX =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

const LLAMA3_PRE_TOKENIZER = {
  type: "Sequence",
  pretokenizers: [
    { type: "Split", pattern: { Regex: LLAMA3_REGEX }, behavior: "Isolated", invert: false },
    { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false },
  ],
};

// Whole words in the vocabulary that no merge sequence reaches: only ignore_merges finds them.
export const LLAMA3_WHOLE_WORDS = [" supercalifragilistic", " LayerScope", "Tokenization", " 😀😀"];

export function llama3TokenizerJson() {
  const { tokens, merges } = byteLevelBpe(LLAMA3_PRE_TOKENIZER, 2500);
  for (const w of LLAMA3_WHOLE_WORDS) tokens.push(byteLevel(Buffer.from(w, "utf8")));
  const vocab = {};
  tokens.forEach((t, i) => (vocab[t] = i));
  const base = tokens.length;
  const names = ["<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>", "<|reserved_special_token_1|>",
    "<|finetune_right_pad_id|>", "<|reserved_special_token_2|>", "<|start_header_id|>", "<|end_header_id|>",
    "<|eom_id|>", "<|eot_id|>", "<|python_tag|>"];
  for (let i = 3; names.length < 64; i++) names.push(`<|reserved_special_token_${i}|>`);
  const bot = { SpecialToken: { id: "<|begin_of_text|>", type_id: 0 } };
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: names.map((t, i) => special(base + i, t)),
    normalizer: null,
    pre_tokenizer: LLAMA3_PRE_TOKENIZER,
    post_processor: {
      type: "Sequence",
      processors: [
        { type: "ByteLevel", add_prefix_space: true, trim_offsets: false, use_regex: true },
        {
          type: "TemplateProcessing",
          single: [bot, { Sequence: { id: "A", type_id: 0 } }],
          pair: [bot, { Sequence: { id: "A", type_id: 0 } }, { SpecialToken: { id: "<|begin_of_text|>", type_id: 1 } }, { Sequence: { id: "B", type_id: 1 } }],
          special_tokens: { "<|begin_of_text|>": { id: "<|begin_of_text|>", ids: [base], tokens: ["<|begin_of_text|>"] } },
        },
      ],
    },
    decoder: BYTE_LEVEL_DECODER,
    // Newer files write merges as pairs.
    model: bpeModel(vocab, merges, { ignore_merges: true }),
  };
}

// ---------------------------------------------------------------------------------------------
// Llama-2 / TinyLlama-like: sentencepiece BPE with byte fallback.

const SPACE = "\u2581";

// crossWords: train on whole lines, so that merges also join a word to the "▁" after it (real
// sentencepiece models do not, but a tokenizer.json may).
function sentencepieceBpe(numMerges, crossWords = false) {
  const text = PROSE.join("\n") + "\n" + gpt2Soup(2500) + "\n    def f(x):\n        return x\n";
  const charCount = new Map();
  for (const c of text) charCount.set(c, (charCount.get(c) ?? 0) + 1);
  charCount.delete("\n");  // newlines go through byte fallback, as in Llama's vocabulary
  charCount.delete(" ");
  const known = (c) => c === SPACE || (charCount.get(c) ?? 0) >= 3;
  const words = new Map();
  for (const line of text.split("\n")) {
    const normalized = SPACE + line.replaceAll(" ", SPACE);
    const pieces = crossWords ? [normalized] : normalized.match(new RegExp(`${SPACE}+[^${SPACE}]*|[^${SPACE}]+`, "gu")) ?? [];
    for (const w of pieces)
      if ([...w].every(known)) words.set(w, (words.get(w) ?? 0) + 1);
  }
  const merges = trainBpe(words, (w) => [...w], numMerges);
  const chars = [SPACE, ...[...charCount.entries()].filter(([c]) => known(c)).sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1)).map(([c]) => c)];
  return { merges, chars };
}

const LLAMA2_DECODER = {
  type: "Sequence",
  decoders: [
    { type: "Replace", pattern: { String: SPACE }, content: " " },
    { type: "ByteFallback" },
    { type: "Fuse" },
    { type: "Strip", content: " ", start: 1, stop: 0 },
  ],
};

export function llama2TokenizerJson(variant) {
  const { merges, chars } = sentencepieceBpe(2000, variant === "crosswords");
  const tokens = ["<unk>", "<s>", "</s>"];
  for (let b = 0; b < 256; b++) tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
  const seen = new Set(tokens);
  for (const [a, b] of merges) if (!seen.has(a + b)) seen.add(a + b) && tokens.push(a + b);
  for (const c of chars) if (!seen.has(c)) seen.add(c) && tokens.push(c);
  const vocab = {};
  tokens.forEach((t, i) => (vocab[t] = i));
  const sp = { id: "<s>", type_id: 0 };
  const json = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [special(0, "<unk>"), special(1, "<s>"), special(2, "</s>")],
    normalizer: {
      type: "Sequence",
      normalizers: [
        { type: "Prepend", prepend: SPACE },
        { type: "Replace", pattern: { String: " " }, content: SPACE },
      ],
    },
    pre_tokenizer: null,
    post_processor: {
      type: "TemplateProcessing",
      single: [{ SpecialToken: sp }, { Sequence: { id: "A", type_id: 0 } }],
      pair: [{ SpecialToken: sp }, { Sequence: { id: "A", type_id: 0 } }, { SpecialToken: { id: "<s>", type_id: 1 } }, { Sequence: { id: "B", type_id: 1 } }],
      special_tokens: { "<s>": { id: "<s>", ids: [1], tokens: ["<s>"] } },
    },
    decoder: LLAMA2_DECODER,
    model: bpeModel(vocab, merges.map(([a, b]) => `${a} ${b}`), { unk_token: "<unk>", fuse_unk: true, byte_fallback: true }),
  };
  if (variant === "metaspace") {
    // Newer conversions: no normalizer, a Metaspace pre-tokenizer that prepends "▁" to the
    // first section only, merges as pairs, and chat tokens.
    json.normalizer = null;
    json.pre_tokenizer = { type: "Metaspace", replacement: SPACE, prepend_scheme: "first", split: false };
    json.model.merges = merges;
    json.added_tokens.push(special(tokens.length, "<|im_start|>"), special(tokens.length + 1, "<|im_end|>"));
  } else if (variant === "nofallback") {
    // Without byte fallback, unknown characters become <unk>, runs of them fused into one.
    json.model.byte_fallback = false;
  } else if (variant === "normalized-added") {
    // A non-special added token matched in the normalized text ("▁" + content, with spaces
    // as "▁"), as the reference does.
    json.added_tokens.push({ id: tokens.length, content: "<extra>", single_word: false, lstrip: false, rstrip: false, normalized: true, special: false });
  }
  return json;
}

// ---------------------------------------------------------------------------------------------
// Word-level: what LayerScope's `train` command writes (core/tokenizer/word_level.cpp): the most
// frequent whitespace-separated words, "[UNK]" = 0, WhitespaceSplit, WordPiece decoder.

export function wordLevelTokenizerJson(cleanup) {
  const counts = new Map();
  for (const w of trainingCorpus().match(/\S+/g)) counts.set(w, (counts.get(w) ?? 0) + 1);
  const ranked = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 800);
  const vocab = { "[UNK]": 0 };
  ranked.forEach(([w], i) => (vocab[w] = i + 1));
  vocab["##ing"] = ranked.length + 1;  // a continuation piece, for the decoder
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [special(0, "[UNK]")],
    normalizer: null,
    pre_tokenizer: { type: "WhitespaceSplit" },
    post_processor: null,
    decoder: { type: "WordPiece", prefix: "##", cleanup },
    model: { type: "WordLevel", vocab, unk_token: "[UNK]" },
  };
}
