// Tokenizer tests against independent references.
//
// tests/reference/tokenizer_reference.mjs (run here with node) builds the tokenizer files (a real
// GPT-2 rebuilt from js-tiktoken's ranks; SmolLM2-, Llama-3- and Llama-2-like tokenizer.json files
// around small trained vocabularies) and encodes/decodes many tricky strings with
// @huggingface/tokenizers and js-tiktoken. These tests load the same files with ls::Tokenizer
// and compare every id. Behaviour where the JS port differs from the Rust library (which
// ls::Tokenizer follows) is checked against hand-worked expectations at the end.
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <ctime>
#include <functional>
#include <map>
#include <thread>

#include "common/error.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/word_level.h"
#include "test_support.h"

namespace {

const QString kReferenceDir = QStringLiteral(LAYERSCOPE_SOURCE_DIR "/tests/reference");

std::vector<int32_t> toIds(const QJsonArray& array) {
    std::vector<int32_t> ids;
    ids.reserve(static_cast<size_t>(array.size()));
    for (const QJsonValue& v : array) ids.push_back(v.toInt());
    return ids;
}

QByteArray readAll(const QString& file) {
    QFile f(file);
    if (!f.open(QIODevice::ReadOnly)) return {};
    return f.readAll();
}

void writeFile(const QString& file, const QByteArray& content) {
    QFile f(file);
    QVERIFY2(f.open(QIODevice::WriteOnly), qPrintable(file));
    f.write(content);
}

QString tokenLabel(const ls::Tokenizer& tok, int32_t id) {
    try {
        return QString::number(id) + "=" + QString::fromStdString(tok.tokenString(id));
    } catch (const ls::Error&) {
        return QString::number(id) + "=?";
    }
}

// Where two id sequences first differ, with the tokens around it.
QString mismatch(const ls::Tokenizer& tok, const std::vector<int32_t>& got, const std::vector<int32_t>& want) {
    size_t i = 0;
    while (i < got.size() && i < want.size() && got[i] == want[i]) ++i;
    const auto around = [&](const std::vector<int32_t>& ids) {
        QStringList parts;
        for (size_t k = i > 3 ? i - 3 : 0; k < ids.size() && k < i + 6; ++k) parts << tokenLabel(tok, ids[k]);
        return parts.join(" | ");
    };
    return QString("first difference at index %1 (got %2 ids, reference %3)\n   got: %4\n  want: %5")
        .arg(i).arg(got.size()).arg(want.size()).arg(around(got), around(want));
}

QString visible(const QString& text) {
    QString s = text.left(120);
    s.replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r");
    return "\"" + s + "\"" + (text.size() > 120 ? "..." : "");
}

std::vector<std::string> piecesOf(const char* preTokenizerJson, const std::string& text, bool atStart = true) {
    const auto pre = ls::tok::makePreTokenizer(std::string_view(preTokenizerJson));
    std::vector<std::string> out;
    for (const auto& p : pre->pieces({text, atStart})) out.push_back(p.text);
    return out;
}

}  // namespace

class TestTokenizer : public QObject {
    Q_OBJECT

    QTemporaryDir out_;
    QJsonObject reference_;
    std::map<QString, ls::Tokenizer> tokenizers_;

    const ls::Tokenizer& tokenizer(const QString& name) { return tokenizers_.at(name); }

private slots:
    void initTestCase();

    void matchesReference_data();
    void matchesReference();
    void decodesEachIdLikeReference_data();
    void decodesEachIdLikeReference();
    void matchesReferenceOnLargeText_data();
    void matchesReferenceOnLargeText();
    void concurrentEncodesAgree();

    void gpt2LoadPathsAgree();
    void tokenStringsAndTexts();
    void bosEos();
    void trainedWordLevelVocabulary();

    void splitBehaviors_data();
    void splitBehaviors();
    void digitsUseUnicodeNumerals();
    void metaspaceSplit();
    void metaspaceDecoder_data();
    void metaspaceDecoder();
    void singleWordAddedToken();
    void normalizedAddedTokenMatchesNormalizedForm();
    void byteFallbackDecodesInvalidBytesPerByte();

    void invalidUtf8_data();
    void invalidUtf8();
    void badFiles();

    void encodeSpeed();
};

void TestTokenizer::initTestCase() {
    const QString node = QStringLiteral(LAYERSCOPE_NODE);
    if (node.isEmpty() || node.endsWith("-NOTFOUND"))
        QFAIL("node was not found when configuring: install Node.js (scripts/setup.sh) and reconfigure");
    for (const char* package : {"@huggingface/tokenizers", "js-tiktoken"}) {
        if (!QFileInfo::exists(kReferenceDir + "/node_modules/" + package + "/package.json"))
            QFAIL(qPrintable(QString("tests/reference/node_modules/%1 is missing: run `npm ci` in %2 "
                                     "(scripts/setup.sh does it)").arg(package, kReferenceDir)));
    }
    QVERIFY(out_.isValid());

    QProcess process;
    process.setWorkingDirectory(kReferenceDir);
    process.start(node, {kReferenceDir + "/tokenizer_reference.mjs", out_.path()});
    QVERIFY2(process.waitForStarted(), qPrintable("cannot run " + node + ": " + process.errorString()));
    QVERIFY2(process.waitForFinished(10 * 60 * 1000), "tokenizer_reference.mjs did not finish");
    QVERIFY2(process.exitStatus() == QProcess::NormalExit && process.exitCode() == 0,
             qPrintable("tokenizer_reference.mjs failed:\n" + QString::fromUtf8(process.readAllStandardError())));
    qInfo().noquote() << QString::fromUtf8(process.readAllStandardOutput()).trimmed();

    QJsonParseError error{};
    reference_ = QJsonDocument::fromJson(readAll(out_.filePath("reference.json")), &error).object();
    QVERIFY2(error.error == QJsonParseError::NoError, qPrintable(error.errorString()));

    const QJsonObject list = reference_["tokenizers"].toObject();
    for (auto it = list.begin(); it != list.end(); ++it) {
        const QJsonObject t = it.value().toObject();
        try {
            if (t.contains("tokenizerJson"))
                tokenizers_.emplace(it.key(), ls::Tokenizer::fromTokenizerJson(t["tokenizerJson"].toString().toStdString()));
            else
                tokenizers_.emplace(it.key(), ls::Tokenizer::fromVocabAndMerges(t["vocabJson"].toString().toStdString(),
                                                                                t["mergesTxt"].toString().toStdString()));
        } catch (const ls::Error& e) {
            QFAIL(qPrintable(it.key() + ": " + e.what()));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Comparisons with the references

void TestTokenizer::matchesReference_data() {
    QTest::addColumn<int>("index");
    const QJsonArray cases = reference_["cases"].toArray();
    for (int i = 0; i < cases.size(); ++i) {
        const QJsonObject c = cases[i].toObject();
        QTest::addRow("%s (%s) #%d", qPrintable(c["tokenizer"].toString()), qPrintable(c["reference"].toString()), i) << i;
    }
}

// Ids without and with the post-processor's special tokens, and the decoded text.
void TestTokenizer::matchesReference() {
    QFETCH(int, index);
    const QJsonObject c = reference_["cases"].toArray()[index].toObject();
    const ls::Tokenizer& tok = tokenizer(c["tokenizer"].toString());
    const QString text = c["text"].toString();
    const std::string utf8 = text.toStdString();
    const QString where = "text " + visible(text) + "\n";

    const std::vector<int32_t> ids = tok.encode(utf8, false);
    const std::vector<int32_t> want = toIds(c["ids"].toArray());
    QVERIFY2(ids == want, qPrintable(where + mismatch(tok, ids, want)));

    const std::vector<int32_t> withSpecial = tok.encode(utf8, true);
    const std::vector<int32_t> wantSpecial = toIds(c["idsSpecial"].toArray());
    QVERIFY2(withSpecial == wantSpecial, qPrintable(where + "with special tokens: " + mismatch(tok, withSpecial, wantSpecial)));

    const QString decoded = QString::fromStdString(tok.decode(ids));
    QVERIFY2(decoded == c["decoded"].toString(),
             qPrintable(where + "decoded " + visible(decoded) + "\n   want " + visible(c["decoded"].toString())));
}

void TestTokenizer::decodesEachIdLikeReference_data() {
    QTest::addColumn<QString>("name");
    const QJsonObject decodes = reference_["idDecodes"].toObject();
    for (auto it = decodes.begin(); it != decodes.end(); ++it) QTest::newRow(qPrintable(it.key())) << it.key();
}

// decode({id}) for every id of the vocabulary, specials included.
void TestTokenizer::decodesEachIdLikeReference() {
    QFETCH(QString, name);
    const ls::Tokenizer& tok = tokenizer(name);
    const QJsonArray want = reference_["idDecodes"].toObject()[name].toArray();
    QCOMPARE(tok.vocabSize(), want.size());
    QStringList wrong;
    for (int id = 0; id < want.size(); ++id) {
        const QString got = QString::fromStdString(tok.decode({id}));
        if (got != want[id].toString() && wrong.size() < 10)
            wrong << QString("%1: got %2, want %3").arg(tokenLabel(tok, id), visible(got), visible(want[id].toString()));
    }
    QVERIFY2(wrong.isEmpty(), qPrintable(wrong.join("\n")));
}

void TestTokenizer::matchesReferenceOnLargeText_data() {
    QTest::addColumn<int>("index");
    const QJsonArray big = reference_["bigTexts"].toArray();
    for (int i = 0; i < big.size(); ++i) {
        const QJsonObject b = big[i].toObject();
        QTest::addRow("%s (%s)", qPrintable(b["tokenizer"].toString()), qPrintable(b["reference"].toString())) << i;
    }
}

void TestTokenizer::matchesReferenceOnLargeText() {
    QFETCH(int, index);
    const QJsonObject b = reference_["bigTexts"].toArray()[index].toObject();
    const ls::Tokenizer& tok = tokenizer(b["tokenizer"].toString());
    const QByteArray text = readAll(b["textFile"].toString());
    QVERIFY(text.size() > 100000);
    const std::vector<int32_t> want = toIds(QJsonDocument::fromJson(readAll(b["idsFile"].toString())).array());
    const std::vector<int32_t> ids = tok.encode(std::string_view(text.constData(), static_cast<size_t>(text.size())));
    QVERIFY2(ids == want, qPrintable(mismatch(tok, ids, want)));
    QCOMPARE(QByteArray::fromStdString(tok.decode(ids)), text);
}

// One tokenizer shared by threads (its word cache and regex matchers are shared).
void TestTokenizer::concurrentEncodesAgree() {
    const QJsonObject b = reference_["bigTexts"].toArray()[0].toObject();
    const QByteArray text = readAll(b["textFile"].toString());
    const std::vector<int32_t> want = toIds(QJsonDocument::fromJson(readAll(b["idsFile"].toString())).array());
    const QJsonObject f = reference_["tokenizers"].toObject()[b["tokenizer"].toString()].toObject();
    const ls::Tokenizer tok = ls::Tokenizer::fromModelDir(f["dir"].toString().toStdString());
    std::vector<std::vector<int32_t>> results(4);
    std::vector<std::thread> threads;
    for (size_t k = 0; k < results.size(); ++k)
        threads.emplace_back([&, k] { results[k] = tok.encode(std::string_view(text.constData(), static_cast<size_t>(text.size()))); });
    for (std::thread& t : threads) t.join();
    for (const auto& ids : results) QVERIFY2(ids == want, qPrintable(mismatch(tok, ids, want)));
}

// ---------------------------------------------------------------------------------------------
// Loading and vocabulary access

void TestTokenizer::gpt2LoadPathsAgree() {
    const QJsonObject t = reference_["tokenizers"].toObject();
    // fromModelDir picks tokenizer.json, else vocab.json + merges.txt.
    const ls::Tokenizer files = ls::Tokenizer::fromModelDir(t["gpt2-files"].toObject()["dir"].toString().toStdString());
    const ls::Tokenizer json = ls::Tokenizer::fromModelDir(t["gpt2-json"].toObject()["dir"].toString().toStdString());
    QCOMPARE(QString::fromStdString(files.source().filename().string()), QString("vocab.json"));
    QCOMPARE(QString::fromStdString(json.source().filename().string()), QString("tokenizer.json"));
    QCOMPARE(files.vocabSize(), 50257);
    QCOMPARE(json.vocabSize(), 50257);
    const std::string text = "Hello world<|endoftext|> It's 2024!\n\n  déjà vu 😀";
    QVERIFY(files.encode(text) == json.encode(text));
    // "Hello" " world" "<|endoftext|>": GPT-2's well-known ids.
    const std::vector<int32_t> hello = files.encode("Hello world<|endoftext|>");
    QVERIFY(hello == (std::vector<int32_t>{15496, 995, 50256}));
}

void TestTokenizer::tokenStringsAndTexts() {
    const ls::Tokenizer& gpt2 = tokenizer("gpt2-files");
    QCOMPARE(gpt2.tokenId("\xC4\xA0the"), std::optional<int32_t>(262));  // "Ġthe"
    QCOMPARE(QString::fromStdString(gpt2.tokenString(262)), QString::fromUtf8("\xC4\xA0the"));
    QCOMPARE(QString::fromStdString(gpt2.tokenText(262)), QString(" the"));
    QCOMPARE(QString::fromStdString(gpt2.tokenText(*gpt2.tokenId("\xC4\x8A"))), QString("\n"));  // "Ċ"
    // A lone lead byte of a multi-byte character is no text on its own.
    QCOMPARE(QString::fromStdString(gpt2.tokenText(*gpt2.tokenId("\xC3\xA2"))), QString::fromUtf8("\xEF\xBF\xBD"));
    QCOMPARE(QString::fromStdString(gpt2.tokenText(50256)), QString("<|endoftext|>"));
    QVERIFY_THROWS_EXCEPTION(ls::Error, gpt2.tokenString(50257));
    QVERIFY(!gpt2.tokenId("no such token").has_value());

    // Sentencepiece-style: "▁" is a space even at the start (decode() would strip it there).
    const ls::Tokenizer& llama2 = tokenizer("llama2");
    const auto the = llama2.tokenId("\xE2\x96\x81the");
    QVERIFY(the.has_value());
    QCOMPARE(QString::fromStdString(llama2.tokenText(*the)), QString(" the"));
    QCOMPARE(QString::fromStdString(llama2.decode({*the})), QString("the"));
    QCOMPARE(QString::fromStdString(llama2.tokenText(*llama2.tokenId("<0x0A>"))), QString("\n"));
    QCOMPARE(QString::fromStdString(llama2.tokenText(*llama2.tokenId("<0xE2>"))), QString::fromUtf8("\xEF\xBF\xBD"));
    QCOMPARE(QString::fromStdString(llama2.tokenText(1)), QString("<s>"));

    // WordPiece decoding: "##" marks a continuation.
    const ls::Tokenizer& words = tokenizer("wordlevel");
    QCOMPARE(QString::fromStdString(words.tokenText(*words.tokenId("##ing"))), QString("ing"));
    QCOMPARE(QString::fromStdString(words.decode({*words.tokenId("the"), *words.tokenId("##ing")})), QString("theing"));
}

// The word-level tokenizer.json that `layerscope-cli train` writes loads and round-trips.
void TestTokenizer::trainedWordLevelVocabulary() {
    QTemporaryDir dir;
    writeFile(dir.filePath("tokenizer.json"),
              QByteArray::fromStdString(ls::buildWordLevelTokenizerJson("the cat sat on the mat\nthe end", 10)));
    const ls::Tokenizer tok = ls::Tokenizer::fromTokenizerJson(dir.filePath("tokenizer.json").toStdString());
    QCOMPARE(tok.vocabSize(), 7);  // [UNK] + 6 words
    const std::vector<int32_t> ids = tok.encode("the cat  sat\tthe dog");
    QCOMPARE(ids, (std::vector<int32_t>{*tok.tokenId("the"), *tok.tokenId("cat"), *tok.tokenId("sat"),
                                        *tok.tokenId("the"), 0}));
    QCOMPARE(QString::fromStdString(tok.decode(ids)), QString("the cat sat the [UNK]"));
}

void TestTokenizer::bosEos() {
    QCOMPARE(tokenizer("gpt2-files").bosId(), std::optional<int32_t>(50256));
    QCOMPARE(tokenizer("gpt2-files").eosId(), std::optional<int32_t>(50256));
    QCOMPARE(tokenizer("llama2").bosId(), std::optional<int32_t>(1));
    QCOMPARE(tokenizer("llama2").eosId(), std::optional<int32_t>(2));
    const ls::Tokenizer& llama3 = tokenizer("llama3");
    QCOMPARE(llama3.bosId(), llama3.tokenId("<|begin_of_text|>"));
    QCOMPARE(llama3.eosId(), llama3.tokenId("<|end_of_text|>"));
    QCOMPARE(llama3.encode("", true), std::vector<int32_t>{*llama3.bosId()});

    // tokenizer_config.json, when present, names them.
    QTemporaryDir dir;
    QVERIFY(QFile::copy(reference_["tokenizers"].toObject()["smollm2"].toObject()["tokenizerJson"].toString(),
                        dir.filePath("tokenizer.json")));
    writeFile(dir.filePath("tokenizer_config.json"),
              R"({"bos_token": {"content": "<|im_start|>", "special": true}, "eos_token": "<|im_end|>"})");
    const ls::Tokenizer smol = ls::Tokenizer::fromModelDir(dir.path().toStdString());
    QCOMPARE(smol.bosId(), std::optional<int32_t>(1));
    QCOMPARE(smol.eosId(), std::optional<int32_t>(2));
}

// ---------------------------------------------------------------------------------------------
// Rust behaviour the JS port does not have (hand-checked expectations)

void TestTokenizer::splitBehaviors_data() {
    QTest::addColumn<QString>("behavior");
    QTest::addColumn<bool>("invert");
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("pattern");
    QTest::addColumn<QStringList>("pieces");
    // The examples of tokenizers' SplitDelimiterBehavior documentation.
    const QString text = "the-final--countdown";
    QTest::newRow("Removed") << "Removed" << false << text << "-" << QStringList{"the", "final", "countdown"};
    QTest::newRow("Isolated") << "Isolated" << false << text << "-" << QStringList{"the", "-", "final", "-", "-", "countdown"};
    QTest::newRow("MergedWithPrevious") << "MergedWithPrevious" << false << text << "-"
                                        << QStringList{"the-", "final-", "-", "countdown"};
    QTest::newRow("MergedWithNext") << "MergedWithNext" << false << text << "-"
                                    << QStringList{"the", "-final", "-", "-countdown"};
    QTest::newRow("Contiguous") << "Contiguous" << false << text << "-" << QStringList{"the", "-", "final", "--", "countdown"};
    // tokenizers' own Split tests: with invert, the pattern says what the pieces are.
    const QString how = "How are you doing?";
    const QString words = R"(\w+|[^\w\s]+)";
    QTest::newRow("invert Removed") << "Removed" << true << how << words
                                    << QStringList{"How", "are", "you", "doing", "?"};
    QTest::newRow("invert Isolated") << "Isolated" << true << how << words
                                     << QStringList{"How", " ", "are", " ", "you", " ", "doing", "?"};
    QTest::newRow("invert MergedWithPrevious") << "MergedWithPrevious" << true << how << words
                                               << QStringList{"How ", "are ", "you ", "doing", "?"};
    QTest::newRow("invert MergedWithNext") << "MergedWithNext" << true << how << words
                                           << QStringList{"How", " are", " you", " doing", "?"};
    QTest::newRow("invert Contiguous") << "Contiguous" << true << how << words
                                       << QStringList{"How", " ", "are", " ", "you", " ", "doing?"};
}

void TestTokenizer::splitBehaviors() {
    QFETCH(QString, behavior);
    QFETCH(bool, invert);
    QFETCH(QString, text);
    QFETCH(QString, pattern);
    QFETCH(QStringList, pieces);
    QJsonObject config{{"type", "Split"}, {"behavior", behavior}, {"invert", invert}};
    config["pattern"] = pattern == "-" ? QJsonObject{{"String", pattern}} : QJsonObject{{"Regex", pattern}};
    const QByteArray json = QJsonDocument(config).toJson();
    QStringList got;
    for (const std::string& p : piecesOf(json.constData(), text.toStdString())) got << QString::fromStdString(p);
    QCOMPARE(got, pieces);
}

void TestTokenizer::digitsUseUnicodeNumerals() {
    // Rust's char::is_numeric covers Nd, Nl and No: superscripts and Arabic-Indic digits too.
    const std::string text = "x\xC2\xB2\xC2\xB3" "ab\xD9\xA3\xD9\xA4" "5";  // x²³ab٣٤5
    QCOMPARE(piecesOf(R"({"type": "Digits", "individual_digits": false})", text),
             (std::vector<std::string>{"x", "\xC2\xB2\xC2\xB3", "ab", "\xD9\xA3\xD9\xA4" "5"}));
    QCOMPARE(piecesOf(R"({"type": "Digits", "individual_digits": true})", text),
             (std::vector<std::string>{"x", "\xC2\xB2", "\xC2\xB3", "ab", "\xD9\xA3", "\xD9\xA4", "5"}));
}

void TestTokenizer::metaspaceSplit() {
    // Expectations from tokenizers' own Metaspace tests.
    const char* config = R"({"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true})";
    QCOMPARE(piecesOf(config, "Hey   friend!"),
             (std::vector<std::string>{"▁Hey", "▁", "▁", "▁friend!"}));
    // prepend_scheme "first": only the piece at the start of the input gets a "▁".
    const char* firstNoSplit = R"json({"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": "(<s>)"}, "behavior": "Isolated", "invert": false},
        {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": false}]})json";
    QCOMPARE(piecesOf(firstNoSplit, "Hey my friend <s>how▁are you"),
             (std::vector<std::string>{"▁Hey▁my▁friend▁", "<s>", "how▁are▁you"}));
    QCOMPARE(piecesOf(firstNoSplit, " Hey <s>how"), (std::vector<std::string>{"▁Hey▁", "<s>", "how"}));
    QCOMPARE(piecesOf(firstNoSplit, " Hey <s>how <s>are <s> you"),
             (std::vector<std::string>{"▁Hey▁", "<s>", "how▁", "<s>", "are▁", "<s>", "▁you"}));
    const char* thenAlways = R"json({"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": "(<s>)"}, "behavior": "Isolated", "invert": false},
        {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": false},
        {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true}]})json";
    QCOMPARE(piecesOf(thenAlways, "Hey my friend <s>how▁are you"),
             (std::vector<std::string>{"▁Hey", "▁my", "▁friend", "▁", "▁<s>", "▁how", "▁are", "▁you"}));
}

void TestTokenizer::metaspaceDecoder_data() {
    // tokenizers' own Metaspace decoder test: ["▁Hey", "▁friend!"].
    addStringRows({"scheme", "decoded"}, {{"always", "always", "Hey friend!"}, {"never", "never", " Hey friend!"}});
}

void TestTokenizer::metaspaceDecoder() {
    QFETCH(QString, scheme);
    QFETCH(QString, decoded);
    QTemporaryDir dir;
    writeFile(dir.filePath("tokenizer.json"), QString(R"({"added_tokens": [], "normalizer": null, "pre_tokenizer": null,
        "post_processor": null, "decoder": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "%1", "split": true},
        "model": {"type": "BPE", "vocab": {"▁Hey": 0, "▁friend!": 1}, "merges": []}})").arg(scheme).toUtf8());
    const ls::Tokenizer tok = ls::Tokenizer::fromTokenizerJson(dir.filePath("tokenizer.json").toStdString());
    QCOMPARE(QString::fromStdString(tok.decode({0, 1})), decoded);
}

void TestTokenizer::singleWordAddedToken() {
    // A character-level vocabulary, no merges; "ab" is an added token that must stand alone.
    QTemporaryDir dir;
    writeFile(dir.filePath("tokenizer.json"), R"({
        "added_tokens": [{"id": 10, "content": "ab", "single_word": true, "lstrip": false, "rstrip": false,
                          "normalized": false, "special": true}],
        "normalizer": null, "pre_tokenizer": null, "post_processor": null, "decoder": null,
        "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "c": 2, "_": 3, ".": 4, " ": 5}, "merges": []}})");
    const ls::Tokenizer tok = ls::Tokenizer::fromTokenizerJson(dir.filePath("tokenizer.json").toStdString());
    // "ab" alone, "c|ab" (inside a word), "ab_" ('_' is a word character), "ab." (alone).
    QCOMPARE(tok.encode("ab cab ab_ ab."), (std::vector<int32_t>{10, 5, 2, 0, 1, 5, 0, 1, 3, 5, 10, 4}));
    // No decoder: tokens joined with spaces, as in Rust.
    QCOMPARE(QString::fromStdString(tok.decode({10, 2, 4})), QString("ab c ."));
}

void TestTokenizer::normalizedAddedTokenMatchesNormalizedForm() {
    // "<extra>" is normalized=true: Rust looks for its normalized form "▁<extra>" in the
    // normalized text only (the JS port also takes a bare "<extra>").
    const ls::Tokenizer& tok = tokenizer("llama2-normalized-added");
    const int32_t extra = *tok.tokenId("<extra>");
    const auto count = [&](const std::vector<int32_t>& ids) { return std::count(ids.begin(), ids.end(), extra); };
    const std::vector<int32_t> twice = tok.encode("<extra><extra>");
    QCOMPARE(twice.front(), extra);
    QCOMPARE(count(twice), 1);
    QCOMPARE(QString::fromStdString(tok.decode(twice)), QString("<extra><extra>"));
    const std::vector<int32_t> spaced = tok.encode("x <extra>");
    QCOMPARE(spaced.back(), extra);
    QCOMPARE(count(spaced), 1);
    QCOMPARE(count(tok.encode("x<extra>")), 0);
}

void TestTokenizer::byteFallbackDecodesInvalidBytesPerByte() {
    const ls::Tokenizer& llama2 = tokenizer("llama2");
    const auto byte = [&](const char* name) { return *llama2.tokenId(name); };
    QCOMPARE(QString::fromStdString(llama2.decode({byte("<0xE2>"), byte("<0x82>"), byte("<0xAC>")})), QString::fromUtf8("€"));
    // Rust's ByteFallback gives one U+FFFD per byte of an invalid run (JS's TextDecoder gives one).
    QCOMPARE(QString::fromStdString(llama2.decode({byte("<0xE2>"), byte("<0x82>")})), QString::fromUtf8("\uFFFD\uFFFD"));
    // Unknown ids are skipped, as in Rust.
    QCOMPARE(QString::fromStdString(llama2.decode({byte("<0x41>"), 999999})), QString("A"));
}

// ---------------------------------------------------------------------------------------------
// Errors

void TestTokenizer::invalidUtf8_data() {
    QTest::addColumn<QByteArray>("text");
    QTest::addColumn<int>("offset");
    QTest::newRow("lone 0xFF") << QByteArray("\xFF", 1) << 0;
    QTest::newRow("stray continuation") << QByteArray("ok\x80", 3) << 2;
    QTest::newRow("truncated at end") << QByteArray("ab\xC3", 3) << 2;
    QTest::newRow("truncated 3-byte") << QByteArray("\xC3\xA9\xE2\x82 x", 6) << 2;
    QTest::newRow("overlong") << QByteArray("\xC0\xAF", 2) << 0;
    QTest::newRow("surrogate") << QByteArray("a\xED\xA0\x80", 4) << 1;
    QTest::newRow("above U+10FFFF") << QByteArray("\xF4\x90\x80\x80", 4) << 0;
}

void TestTokenizer::invalidUtf8() {
    QFETCH(QByteArray, text);
    QFETCH(int, offset);
    try {
        tokenizer("gpt2-files").encode(std::string_view(text.constData(), static_cast<size_t>(text.size())));
        QFAIL("no error for invalid UTF-8");
    } catch (const ls::Error& e) {
        QVERIFY2(QString(e.what()).contains(QString("byte offset %1").arg(offset)), e.what());
    }
}

void TestTokenizer::badFiles() {
    QTemporaryDir dir;
    const auto expectError = [](const QString& file, const char* what, const std::function<void()>& load) {
        try {
            load();
            QFAIL(qPrintable(QString("no error: ") + what));
        } catch (const ls::Error& e) {
            QVERIFY2(QString(e.what()).contains(file), qPrintable(QString(what) + ": " + e.what()));
        }
    };
    const QString missing = dir.filePath("nothing/tokenizer.json");
    expectError(missing, "missing file", [&] { ls::Tokenizer::fromTokenizerJson(missing.toStdString()); });
    expectError(dir.path(), "folder without tokenizer files", [&] { ls::Tokenizer::fromModelDir(dir.path().toStdString()); });

    const QString file = dir.filePath("tokenizer.json");
    const auto tryContent = [&](const char* what, const QByteArray& content, const char* mentions) {
        writeFile(file, content);
        try {
            ls::Tokenizer::fromTokenizerJson(file.toStdString());
            QFAIL(qPrintable(QString("no error: ") + what));
        } catch (const ls::Error& e) {
            QVERIFY2(QString(e.what()).startsWith(file + ": ") && QString(e.what()).contains(mentions),
                     qPrintable(QString(what) + ": " + e.what()));
        }
    };
    tryContent("truncated JSON", R"({"model": {"type": "BPE", "vocab": {"a": 0)", "invalid JSON");
    tryContent("no model", R"({"normalizer": null})", "model");
    tryContent("unigram", R"({"model": {"type": "Unigram", "vocab": []}})", "Unigram");
    tryContent("merge of unknown tokens", R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"]}})", "\"b\"");
    tryContent("vocab id not a number", R"({"model": {"type": "BPE", "vocab": {"a": "x"}, "merges": []}})", "");
    tryContent("unknown pre_tokenizer", R"({"pre_tokenizer": {"type": "Nonsense"},
        "model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}})", "Nonsense");
    tryContent("bad Split regex", R"({"pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(unclosed"},
        "behavior": "Isolated"}, "model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}})", "unclosed");

    const QString vocab = dir.filePath("vocab.json"), merges = dir.filePath("merges.txt");
    writeFile(vocab, R"({"a": 0, "b": 1, "ab": 2})");
    writeFile(merges, "#version: 0.2\na b\nthree parts here\n");
    expectError(merges, "bad merges line", [&] { ls::Tokenizer::fromVocabAndMerges(vocab.toStdString(), merges.toStdString()); });
    writeFile(vocab, "[1, 2");
    expectError(vocab, "corrupt vocab.json", [&] { ls::Tokenizer::fromVocabAndMerges(vocab.toStdString(), merges.toStdString()); });
}

// ---------------------------------------------------------------------------------------------

void TestTokenizer::encodeSpeed() {
    const QByteArray text = readAll(reference_["speedText"].toString());
    QVERIFY(text.size() > 3000000);
    const std::string_view view(text.constData(), static_cast<size_t>(text.size()));
    const QJsonObject t = reference_["tokenizers"].toObject();
    const auto cpuSeconds = [] {
        timespec ts{};
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
    };
    for (const QString& name : {QString("gpt2-files"), QString("smollm2"), QString("llama3"), QString("llama2")}) {
        // A fresh tokenizer: its word cache starts empty.
        const QJsonObject f = t[name].toObject();
        const ls::Tokenizer tok = f.contains("tokenizerJson")
            ? ls::Tokenizer::fromTokenizerJson(f["tokenizerJson"].toString().toStdString())
            : ls::Tokenizer::fromVocabAndMerges(f["vocabJson"].toString().toStdString(), f["mergesTxt"].toString().toStdString());
        QElapsedTimer timer;
        timer.start();
        const double cpuStart = cpuSeconds();
        const std::vector<int32_t> ids = tok.encode(view);
        const double cpu = std::max(cpuSeconds() - cpuStart, 1e-6);
        const double wall = std::max(static_cast<double>(timer.nsecsElapsed()) / 1e9, 1e-6);
        const double mb = static_cast<double>(text.size()) / 1e6;
        qInfo().noquote() << QString("%1: %2 MB -> %3 ids: %4 MB/s of CPU time (%5 MB/s wall clock)")
                                 .arg(name).arg(mb, 0, 'f', 1).arg(ids.size())
                                 .arg(mb / cpu, 0, 'f', 1).arg(mb / wall, 0, 'f', 1);
        // Not a benchmark (the figure above is the measurement): a guard against pathological,
        // e.g. quadratic, behaviour, loose enough for a sanitizer build on a busy machine
        // (CPU time). WikiText-2 (~11 MB) must take seconds, not many minutes.
        QVERIFY2(mb / cpu > 0.3, qPrintable(name + " encodes pathologically slowly"));
    }
}

QTEST_GUILESS_MAIN(TestTokenizer)
#include "test_tokenizer.moc"
