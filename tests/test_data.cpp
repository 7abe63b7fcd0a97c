// core/data against the reference tools: .npy files written by numpy itself, UTF-8
// validity as Python decides it, and windows from a literal copy of the Hugging Face
// sliding-window perplexity loop. Python is LAYERSCOPE_PYTHON (Debian's, with numpy).
#include <QDir>
#include <QFile>
#include <QHash>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <limits>
#include <optional>

#include "common/error.h"
#include "test_support.h"
#include "data/dataset.h"
#include "data/windows.h"
#include "tokenizer/tokenizer.h"

Q_DECLARE_METATYPE(ls::DataFormat)

namespace {

struct PythonRun {
    bool ok = false;
    QByteArray out;
    QString error;
};

PythonRun runPython(const char* script, const QStringList& args, const QByteArray& input = {}) {
    QProcess python;
    python.start(LAYERSCOPE_PYTHON, QStringList{"-c", script} + args);
    if (!input.isEmpty()) python.write(input);
    python.closeWriteChannel();
    PythonRun run;
    if (!python.waitForFinished(300000) || python.exitStatus() != QProcess::NormalExit || python.exitCode() != 0) {
        run.error = "python failed: " + QString::fromUtf8(python.readAllStandardError());
        return run;
    }
    run.ok = true;
    run.out = python.readAllStandardOutput();
    return run;
}

// Runs the snippet (argv[3]) to write `path` (argv[1]). If it sets `expected`, those values
// are also written to `raw` (argv[2]) as little-endian int64 for an exact comparison.
const char* kNpyWriter = R"PY(
import sys
import numpy as np
path, raw = sys.argv[1], sys.argv[2]
rng = np.random.default_rng(0)

def save(a, version=None):  # numpy's own writer
    with open(path, 'wb') as f:
        np.lib.format.write_array(f, np.asanyarray(a), version=version, allow_pickle=False)

def hand_written(header, data=b'', version=(1, 0), magic=b'\x93NUMPY'):
    size_bytes = 2 if version[0] == 1 else 4
    h = header.encode('latin1')
    h += b' ' * (-(len(magic) + 2 + size_bytes + len(h) + 1) % 64) + b'\n'
    with open(path, 'wb') as f:
        f.write(magic + bytes(version) + len(h).to_bytes(size_bytes, 'little') + h + data)

def cut(n):  # keeps the first n bytes (n < 0: drops the last -n)
    data = open(path, 'rb').read()
    open(path, 'wb').write(data[:n])

expected = None
exec(sys.argv[3])
if expected is not None:
    np.asarray(expected).astype('<i8').tofile(raw)
)PY";


QString str(const std::filesystem::path& p) { return QString::fromStdString(p.string()); }

std::vector<int32_t> readRawInt64(const QString& file) {
    QFile f(file);
    if (!f.open(QIODevice::ReadOnly)) return {};
    const QByteArray bytes = f.readAll();
    std::vector<int32_t> values(size_t(bytes.size() / 8));
    for (size_t i = 0; i < values.size(); ++i) {
        qint64 v = 0;
        memcpy(&v, bytes.constData() + i * 8, 8);  // the test machine is little-endian
        values[i] = int32_t(v);
    }
    return values;
}

// Windows as "begin,length,firstScored;..." and the scored stream positions as runs "a-b,..."
// (inclusive), the format the Python reference prints.
QString runs(const std::vector<int64_t>& positions) {
    QStringList parts;
    for (size_t i = 0; i < positions.size();) {
        size_t j = i;
        while (j + 1 < positions.size() && positions[j + 1] == positions[j] + 1) ++j;
        parts << QString("%1-%2").arg(positions[i]).arg(positions[j]);
        i = j + 1;
    }
    return parts.join(',');
}

QString describe(const std::vector<ls::Window>& windows) {
    QStringList parts;
    std::vector<int64_t> scored;
    for (const ls::Window& w : windows) {
        parts << QString("%1,%2,%3").arg(w.begin).arg(w.length).arg(w.firstScored);
        for (int p = w.firstScored; p < w.length; ++p) scored.push_back(w.begin + p);
    }
    return parts.join(';') + '|' + runs(scored);
}

// The Hugging Face loop, literally; input lines "N seqLen stride maxTokens".
// Shared by both references: scored positions as compact runs "3-9,12-15".
#define RUNS_HELPER_PY \
    "import sys\n" \
    "def runs(xs):\n" \
    "    out, i = [], 0\n" \
    "    while i < len(xs):\n" \
    "        j = i\n" \
    "        while j + 1 < len(xs) and xs[j + 1] == xs[j] + 1:\n" \
    "            j += 1\n" \
    "        out.append(f'{xs[i]}-{xs[j]}')\n" \
    "        i = j + 1\n" \
    "    return ','.join(out)\n"

const char* kWindowReference = RUNS_HELPER_PY R"PY(
for line in sys.stdin:
    n, seq_len, stride, max_tokens = map(int, line.split())
    stride = stride or seq_len
    ids = list(range(n))[:max_tokens] if max_tokens > 0 else list(range(n))  # token i is stream index i
    windows, scored, prev_end = [], [], 0
    for begin in range(0, len(ids), stride):
        end = min(begin + seq_len, len(ids))
        trg_len = end - prev_end
        target_ids = ids[begin:end]
        target_ids[:-trg_len] = [-100] * len(target_ids[:-trg_len])
        # the model shifts labels by one: label 0 has no logits before it
        mine = [p for p in range(1, len(target_ids)) if target_ids[p] != -100]
        if mine:
            windows.append(f'{begin},{end - begin},{mine[0]}')
            scored += [target_ids[p] for p in mine]
        prev_end = end
        if end == len(ids):
            break
    print(';'.join(windows) + '|' + runs(scored))
)PY";

struct WindowCase {
    int64_t n;
    int seqLen, stride;
    int64_t maxTokens;
    QString key() const { return QString("N=%1 seq=%2 stride=%3 max=%4").arg(n).arg(seqLen).arg(stride).arg(maxTokens); }
};

std::vector<WindowCase> windowCases() {
    std::vector<WindowCase> cases;
    for (int64_t n : {0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 16, 17, 33, 100, 257, 1000, 2049}) {
        for (int seqLen : {2, 3, 4, 5, 8, 16, 100, 1024}) {
            QList<int> strides;
            for (int s : {0, 1, 2, 3, seqLen / 2, seqLen - 1, seqLen})
                if (s >= 0 && s <= seqLen && (s == 0 || s >= 1) && !strides.contains(s)) strides << s;
            QList<int64_t> maxima;
            for (int64_t m : {int64_t(0), int64_t(1), int64_t(5), n / 2, n - 1, n + 3})
                if (m >= 0 && !maxima.contains(m)) maxima << m;
            for (int stride : strides)
                for (int64_t maxTokens : maxima) cases.push_back({n, seqLen, stride, maxTokens});
        }
    }
    return cases;
}

// The same loop run inside each document (respect = 1) or over the packed stream (0);
// input lines "seqLen stride maxTokens maxWindows respect len1,len2,...".
const char* kDocumentWindowReference = RUNS_HELPER_PY R"PY(
def hf(ids, seq_len, stride):  # ids are stream positions
    windows, prev_end = [], 0
    for begin in range(0, len(ids), stride):
        end = min(begin + seq_len, len(ids))
        trg_len = end - prev_end
        target_ids = ids[begin:end]
        target_ids[:-trg_len] = [-100] * len(target_ids[:-trg_len])
        mine = [p for p in range(1, len(target_ids)) if target_ids[p] != -100]
        if mine:
            windows.append((f'{ids[begin]},{end - begin},{mine[0]}', [target_ids[p] for p in mine]))
        prev_end = end
        if end == len(ids):
            break
    return windows

for line in sys.stdin:
    seq_len, stride, max_tokens, max_windows, respect, lengths = line.split()
    seq_len, stride, max_tokens, max_windows, respect = map(int, (seq_len, stride, max_tokens, max_windows, respect))
    stride = stride or seq_len
    lengths = [int(x) for x in lengths.split(',')]
    stream = list(range(sum(lengths)))
    if max_tokens > 0:
        stream = stream[:max_tokens]
    docs, start = [], 0
    for n in (lengths if respect else [sum(lengths)]):
        docs.append(stream[start:start + n])
        start += n
    windows = [w for ids in docs for w in hf(ids, seq_len, stride)]
    if max_windows > 0:
        windows = windows[:max_windows]
    print(';'.join(w for w, _ in windows) + '|' + runs([p for _, scored in windows for p in scored]))
)PY";

struct DocumentWindowCase {
    std::vector<int64_t> lengths;  // tokens per document
    int seqLen, stride;
    int64_t maxTokens, maxWindows;
    bool respect;
    QString lengthsText() const {
        QStringList parts;
        for (int64_t n : lengths) parts << QString::number(n);
        return parts.join(',');
    }
    QString key() const {
        return QString("%1 %2 %3 %4 %5 %6").arg(seqLen).arg(stride).arg(maxTokens).arg(maxWindows).arg(int(respect)).arg(lengthsText());
    }
    std::vector<int64_t> starts() const {
        std::vector<int64_t> result;
        int64_t at = 0;
        for (int64_t n : lengths) {
            result.push_back(at);
            at += n;
        }
        return result;
    }
    int64_t total() const {
        int64_t sum = 0;
        for (int64_t n : lengths) sum += n;
        return sum;
    }
};

std::vector<DocumentWindowCase> documentWindowCases() {
    std::vector<std::vector<int64_t>> layouts = {{1}, {7}, {1, 1, 1}, {2, 2}, {3, 1, 7}, {10, 10}, {2, 9, 1, 16, 4}, {4, 0, 6}};
    uint32_t state = 12345;  // a fixed LCG: the same layouts on every run
    const auto next = [&](uint32_t n) {
        state = state * 1664525u + 1013904223u;
        return (state >> 8) % n;
    };
    for (int k = 0; k < 16; ++k) {
        std::vector<int64_t> layout(1 + next(12));
        for (int64_t& n : layout) n = 1 + next(k < 8 ? 6 : 40);
        layouts.push_back(layout);
    }
    std::vector<DocumentWindowCase> cases;
    for (const auto& lengths : layouts) {
        int64_t total = 0;
        for (int64_t n : lengths) total += n;
        for (int seqLen : {2, 3, 5, 8}) {
            QList<int> strides;
            for (int s : {0, 1, seqLen / 2, seqLen - 1})
                if (!strides.contains(s)) strides << s;
            for (int stride : strides)
                for (int64_t maxTokens : {int64_t(0), total / 2 + 1})
                    for (int64_t maxWindows : {0, 1, 4})
                        for (bool respect : {false, true})
                            cases.push_back({lengths, seqLen, stride, maxTokens, maxWindows, respect});
        }
    }
    return cases;
}

// A hand-made .npy (format 1.0) holding `data` under the header `dict`.
QByteArray npyBytes(const QByteArray& dict, const QByteArray& data) {
    QByteArray header = dict;
    header += QByteArray(int((64 - (10 + header.size() + 1) % 64) % 64), ' ') + '\n';
    return QByteArray("\x93NUMPY\x01\x00", 8) + char(header.size() & 0xFF) + char(header.size() >> 8) + header + data;
}

// uint16 ids, little-endian, as nanoGPT writes its .bin files.
QByteArray binBytes(const QVector<int>& ids) {
    QByteArray bytes;
    for (int id : ids) bytes += char(id & 0xFF), bytes += char((id >> 8) & 0xFF);
    return bytes;
}

std::string bytes(const QByteArray& b) { return std::string(b.constData(), size_t(b.size())); }

}  // namespace

class TestData : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();

    void npyFromNumpy_data();
    void npyFromNumpy();
    void npyRejected_data();
    void npyRejected();
    void npyWriteRoundTrip_data();
    void npyWriteRoundTrip();

    void detectFormat_data();
    void detectFormat();
    void loadDatasetNpy();
    void loadDatasetErrors_data();
    void loadDatasetErrors();

    void utf8Invalid_data();
    void utf8Invalid();
    void utf8Valid_data();
    void utf8Valid();
    void utf8AgainstPython();
    void textWithTokenizer_data();
    void textWithTokenizer();

    void windowsAgainstHuggingFace_data();
    void windowsAgainstHuggingFace();
    void windowsByHand_data();
    void windowsByHand();
    void windowsBadOptions_data();
    void windowsBadOptions();

    void formatNames();
    void detectFormatFromContent_data();
    void detectFormatFromContent();
    void renderPrompt_data();
    void renderPrompt();
    void alpacaRecords_data();
    void alpacaRecords();
    void textDocuments_data();
    void textDocuments();
    void binTokenIds();
    void badInputs_data();
    void badInputs();
    void templateErrors();

    void windowsOverDocuments_data();
    void windowsOverDocuments();
    void windowsOverDocumentsByHand_data();
    void windowsOverDocumentsByHand();
    void summarizeByHand_data();
    void summarizeByHand();

private:
    QString newPath(const QString& name) { return dir_.filePath(QString::number(++counter_) + "-" + name); }
    // Writes `path` with the kNpyWriter snippet; returns the expected ids file or "".
    bool writeWithPython(const QString& path, const QString& snippet, QString* rawPath);
    bool writeFile(const QString& path, const QByteArray& bytes);
    // The current row's `content` written to a new file called like its `name` (nothing written
    // for a name starting with "missing"); its path, or "" when it cannot be written.
    QString writeRowFile();
    // For loading the current row's file with the tiny tokenizer: that file (writeRowFile) and
    // options that read it as the row's `format`. Fails the test, returning no path, when there
    // is no tokenizer or the file cannot be written.
    struct RowFile {
        QString path;
        ls::DatasetOptions options;
    };
    RowFile rowFileToLoad();

    QTemporaryDir dir_;
    int counter_ = 0;
    QHash<QString, QString> windowReference_;  // WindowCase::key() -> describe() of the HF loop
    QHash<QString, QString> documentWindowReference_;  // DocumentWindowCase::key() -> the same
    std::optional<ls::Tokenizer> tokenizer_;  // the tiny GPT-2 style one
};

void TestData::initTestCase() {
    QVERIFY(dir_.isValid());

    // A tiny GPT-2 style tokenizer: the 256 byte symbols plus one merge ("he") and <|endoftext|>
    const QString modelDir = dir_.filePath("tiny-tokenizer");
    QVERIFY(QDir().mkpath(modelDir));
    const PythonRun vocab = runPython(R"PY(
import json, sys
bs = list(range(ord('!'), ord('~') + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
cs = bs[:]
n = 0
for b in range(256):
    if b not in bs:
        bs.append(b)
        cs.append(256 + n)
        n += 1
vocab = {chr(c): i for i, c in enumerate(cs)}
vocab['he'] = 256
vocab['<|endoftext|>'] = 257
json.dump(vocab, open(sys.argv[1] + '/vocab.json', 'w'))
open(sys.argv[1] + '/merges.txt', 'w').write('#version: 0.2\nh e\n')
)PY",
                                      {modelDir});
    QVERIFY2(vocab.ok, qPrintable(vocab.error));
    const QString loadError = errorOf([&] {
        tokenizer_ = ls::Tokenizer::fromVocabAndMerges((modelDir + "/vocab.json").toStdString(),
                                                       (modelDir + "/merges.txt").toStdString());
    });
    QVERIFY2(loadError.isEmpty(), qPrintable("the tokenizer did not load: " + loadError));
    QCOMPARE(tokenizer_->eosId(), std::optional<int32_t>(257));

    QByteArray input;
    for (const WindowCase& c : windowCases())
        input += QString("%1 %2 %3 %4\n").arg(c.n).arg(c.seqLen).arg(c.stride).arg(c.maxTokens).toUtf8();
    const PythonRun run = runPython(kWindowReference, {}, input);
    QVERIFY2(run.ok, qPrintable(run.error));
    const QList<QByteArray> lines = run.out.split('\n');
    const std::vector<WindowCase> cases = windowCases();
    QVERIFY(size_t(lines.size()) >= cases.size());
    for (size_t i = 0; i < cases.size(); ++i) windowReference_.insert(cases[i].key(), QString::fromUtf8(lines[int(i)]));

    QByteArray documentInput;
    const std::vector<DocumentWindowCase> documentCases = documentWindowCases();
    for (const DocumentWindowCase& c : documentCases) documentInput += c.key().toUtf8() + '\n';
    const PythonRun documentRun = runPython(kDocumentWindowReference, {}, documentInput);
    QVERIFY2(documentRun.ok, qPrintable(documentRun.error));
    const QList<QByteArray> documentLines = documentRun.out.split('\n');
    QVERIFY(size_t(documentLines.size()) >= documentCases.size());
    for (size_t i = 0; i < documentCases.size(); ++i)
        documentWindowReference_.insert(documentCases[i].key(), QString::fromUtf8(documentLines[int(i)]));
}

bool TestData::writeWithPython(const QString& path, const QString& snippet, QString* rawPath) {
    const QString raw = path + ".expected";
    const PythonRun run = runPython(kNpyWriter, {path, raw, snippet});
    if (!run.ok) qWarning("%s", qPrintable(run.error));
    *rawPath = QFile::exists(raw) ? raw : QString();
    return run.ok;
}

bool TestData::writeFile(const QString& path, const QByteArray& bytes) {
    QFile f(path);
    return f.open(QIODevice::WriteOnly) && f.write(bytes) == bytes.size();
}

QString TestData::writeRowFile() {
    QFETCH(QString, name);
    QFETCH(QByteArray, content);
    const QString path = newPath(name);
    return name.startsWith("missing") || writeFile(path, content) ? path : QString();
}

TestData::RowFile TestData::rowFileToLoad() {
    QFETCH(ls::DataFormat, format);
    RowFile row;
    row.options.format = format;
    if (!tokenizer_)
        QTest::qFail("no tokenizer", __FILE__, __LINE__);
    else if ((row.path = writeRowFile()).isEmpty())
        QTest::qFail("the row's file could not be written", __FILE__, __LINE__);
    return row;
}

// ---- .npy ---------------------------------------------------------------------------

void TestData::npyFromNumpy_data() {
    QTest::addColumn<QString>("snippet");  // must set `expected`
    QTest::newRow("int32 v1.0") << "expected = np.arange(1000, dtype=np.int32) * 7; save(expected, (1, 0))";
    QTest::newRow("int32 extremes") << "expected = np.array([0, 1, 2**31 - 1], dtype=np.int32); save(expected)";
    QTest::newRow("int32 v2.0") << "expected = rng.integers(0, 50257, size=999, dtype=np.int32); save(expected, (2, 0))";
    QTest::newRow("int32 v3.0") << "expected = rng.integers(0, 50257, size=10, dtype=np.int32); save(expected, (3, 0))";
    QTest::newRow("int64 v1.0") << "expected = rng.integers(0, 2**31, size=5000, dtype=np.int64); save(expected, (1, 0))";
    QTest::newRow("int64 v2.0") << "expected = rng.integers(0, 2**31, size=5000, dtype=np.int64); save(expected, (2, 0))";
    QTest::newRow("uint16") << "expected = rng.integers(0, 65536, size=5000).astype(np.uint16); save(expected)";
    QTest::newRow("uint16 extremes") << "expected = np.array([0, 65535], dtype=np.uint16); save(expected)";
    QTest::newRow("uint8") << "expected = np.arange(256, dtype=np.uint8); save(expected)";
    QTest::newRow("int8") << "expected = np.arange(128, dtype=np.int8); save(expected)";
    QTest::newRow("int16") << "expected = rng.integers(0, 32768, size=100).astype(np.int16); save(expected)";
    QTest::newRow("uint32") << "expected = np.array([0, 5, 2**31 - 1], dtype=np.uint32); save(expected)";
    QTest::newRow("uint64") << "expected = np.array([3, 2**31 - 1], dtype=np.uint64); save(expected)";
    QTest::newRow("one value") << "expected = np.array([42], dtype=np.int32); save(expected)";
    QTest::newRow("no values") << "expected = np.zeros(0, dtype=np.int32); save(expected)";
    QTest::newRow("int32 many chunks") << "expected = rng.integers(0, 50257, size=3_000_001, dtype=np.int32); save(expected)";
    QTest::newRow("int64 many chunks") << "expected = rng.integers(0, 2**31, size=400_003, dtype=np.int64); save(expected)";
    QTest::newRow("uint16 many chunks") << "expected = rng.integers(0, 65536, size=1_000_001).astype(np.uint16); save(expected)";
    QTest::newRow("1-D fortran_order True")
        << "expected = np.arange(5, dtype='<i4'); "
           "hand_written(\"{'descr': '<i4', 'fortran_order': True, 'shape': (5,), }\", expected.tobytes())";
    QTest::newRow("header with double quotes, no trailing comma")
        << "expected = np.arange(3, dtype='<i4'); "
           "hand_written('{\"descr\": \"<i4\", \"shape\": (3,), \"fortran_order\": False}', expected.tobytes())";
    QTest::newRow("bytes after the data are ignored (as np.load does)")
        << "expected = np.arange(4, dtype='<i4'); "
           "hand_written(\"{'descr': '<i4', 'fortran_order': False, 'shape': (4,), }\", expected.tobytes() + b'xyz')";
}

void TestData::npyFromNumpy() {
    QFETCH(QString, snippet);
    const QString path = newPath("ids.npy");
    QString raw;
    QVERIFY(writeWithPython(path, snippet, &raw));
    QVERIFY(!raw.isEmpty());
    const std::vector<int32_t> expected = readRawInt64(raw);
    std::vector<int32_t> got;
    const QString error = errorOf([&] { got = ls::readNpyTokenIds(path.toStdString()); });
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QCOMPARE(got.size(), expected.size());
    QVERIFY(got == expected);
}

void TestData::npyRejected_data() {
    QTest::addColumn<QString>("snippet");
    QTest::addColumn<QStringList>("fragments");  // all must be in the message
    QTest::newRow("float32") << "save(np.arange(10, dtype=np.float32))" << QStringList{"floating-point", "'<f4'"};
    QTest::newRow("float64") << "save(np.arange(10, dtype=np.float64))" << QStringList{"floating-point", "'<f8'"};
    QTest::newRow("bool") << "save(np.array([True, False]))" << QStringList{"unsupported dtype", "'|b1'"};
    QTest::newRow("structured") << "save(np.zeros(3, dtype=[('a', '<i4')]))" << QStringList{"structured"};
    QTest::newRow("2-D") << "save(np.zeros((3, 4), np.int32))" << QStringList{"shape (3, 4)", "1-D"};
    QTest::newRow("(N, 1)") << "save(np.zeros((5, 1), np.int32))" << QStringList{"shape (5, 1)", "1-D"};
    QTest::newRow("scalar") << "save(np.array(7, np.int32))" << QStringList{"shape ()", "1-D"};
    QTest::newRow("fortran 2-D") << "save(np.asfortranarray(np.zeros((3, 4), np.int32)))"
                                 << QStringList{"Fortran", "shape (3, 4)", "1-D"};
    QTest::newRow("big-endian int32") << "save(np.arange(10, dtype='>i4'))" << QStringList{"big-endian", "'>i4'"};
    QTest::newRow("big-endian uint16") << "save(np.arange(10, dtype='>u2'))" << QStringList{"big-endian", "'>u2'"};
    QTest::newRow("truncated data") << "save(np.arange(100, dtype=np.int32)); cut(-3)"
                                    << QStringList{"truncated", "100 values"};
    QTest::newRow("truncated data, int64") << "save(np.arange(100, dtype=np.int64)); cut(-8)"
                                           << QStringList{"truncated", "100 values"};
    QTest::newRow("truncated header") << "save(np.arange(100, dtype=np.int32)); cut(40)"
                                      << QStringList{"truncated", "header"};
    QTest::newRow("magic, no version") << "save(np.arange(100, dtype=np.int32)); cut(7)" << QStringList{"truncated", "header"};
    QTest::newRow("bad magic") << "save(np.arange(10, dtype=np.int32)); d = open(path, 'rb').read(); "
                                  "open(path, 'wb').write(b'\\x93NUMPZ' + d[6:])"
                               << QStringList{"not a .npy file"};
    QTest::newRow("text named .npy") << "open(path, 'w').write('hello world')" << QStringList{"not a .npy file"};
    QTest::newRow("version 4.0") << "hand_written(\"{'descr': '<i4', 'fortran_order': False, 'shape': (0,), }\", version=(4, 0))"
                                 << QStringList{"version 4.0"};
    QTest::newRow("version 1.1") << "hand_written(\"{'descr': '<i4', 'fortran_order': False, 'shape': (0,), }\", version=(1, 1))"
                                 << QStringList{"version 1.1"};
    QTest::newRow("missing key") << "hand_written(\"{'descr': '<i4', 'shape': (5,), }\", bytes(20))"
                                 << QStringList{"malformed .npy header", "fortran_order"};
    QTest::newRow("unknown key") << "hand_written(\"{'descr': '<i4', 'fortran_order': False, 'shape': (5,), 'x': 1}\", bytes(20))"
                                 << QStringList{"malformed .npy header", "'x'"};
    QTest::newRow("garbage header") << "hand_written('hello', bytes(20))" << QStringList{"malformed .npy header"};
    QTest::newRow("bad shape") << "hand_written(\"{'descr': '<i4', 'fortran_order': False, 'shape': (-5,), }\", bytes(20))"
                               << QStringList{"malformed .npy header", "shape"};
    QTest::newRow("huge shape") << "hand_written(\"{'descr': '<i8', 'fortran_order': False, 'shape': (9223372036854775807,), }\", bytes(16))"
                                << QStringList{"truncated", "9223372036854775807 values"};
    QTest::newRow("negative int32") << "save(np.array([1, -2, 3], np.int32))" << QStringList{"-2", "index 1", "negative"};
    QTest::newRow("negative int64 late") << "a = np.arange(300000, dtype=np.int64); a[299999] = -1; save(a)"
                                         << QStringList{"-1", "index 299999", "negative"};
    QTest::newRow("negative int16") << "save(np.array([0, -32768], np.int16))" << QStringList{"-32768", "index 1"};
    QTest::newRow("int64 above int32") << "save(np.array([0, 1, 2**31], np.int64))" << QStringList{"2147483648", "index 2", "int32"};
    QTest::newRow("uint32 above int32") << "save(np.array([2**32 - 1], np.uint32))" << QStringList{"4294967295", "index 0", "int32"};
    QTest::newRow("uint64 maximum") << "save(np.array([2**64 - 1], np.uint64))" << QStringList{"18446744073709551615", "int32"};
}

void TestData::npyRejected() {
    QFETCH(QString, snippet);
    QFETCH(QStringList, fragments);
    const QString path = newPath("bad.npy");
    QString raw;
    QVERIFY(writeWithPython(path, snippet, &raw));
    const QString message = errorOf([&] { ls::readNpyTokenIds(path.toStdString()); });
    QVERIFY2(message.startsWith(path + ": "), qPrintable("no error naming the file: " + message));
    for (const QString& fragment : fragments) QVERIFY2(message.contains(fragment), qPrintable(message));
    // and the same through loadDataset
    const QString viaLoad = errorOf([&] { ls::loadDataset(path.toStdString(), nullptr, 0); });
    QCOMPARE(viaLoad, message);
}

void TestData::npyWriteRoundTrip_data() {
    QTest::addColumn<QVector<int>>("values");
    QTest::newRow("empty") << QVector<int>{};
    QTest::newRow("one") << QVector<int>{7};
    QTest::newRow("extremes") << QVector<int>{0, 1, 255, 256, 65535, 65536, std::numeric_limits<int32_t>::max()};
    QVector<int> many;
    for (int i = 0; i < 600000; ++i) many << int(qint64(i) * 7919 % 50257);
    QTest::newRow("600k, several chunks") << many;
}

void TestData::npyWriteRoundTrip() {
    QFETCH(QVector<int>, values);
    const std::vector<int32_t> ids(values.begin(), values.end());
    const QString path = newPath("written.npy");
    ls::writeNpyInt32(path.toStdString(), ids);
    QVERIFY(ls::readNpyTokenIds(path.toStdString()) == ids);

    // numpy reads it back as a C-order 1-D int32 array, data aligned to 64 bytes
    const QString raw = path + ".raw";
    const PythonRun run = runPython(R"PY(
import sys
import numpy as np
with open(sys.argv[1], 'rb') as f:
    version = np.lib.format.read_magic(f)
    shape, fortran, dtype = np.lib.format._read_array_header(f, version)
    print(version, shape, fortran, dtype.str, f.tell() % 64)
a = np.load(sys.argv[1])
a.astype('<i8').tofile(sys.argv[2])
)PY",
                                    {path, raw});
    QVERIFY2(run.ok, qPrintable(run.error));
    QCOMPARE(run.out.trimmed(), QString("(1, 0) (%1,) False <i4 0").arg(ids.size()).toUtf8());
    QVERIFY(readRawInt64(raw) == ids);
}

// ---- loadDataset ----------------------------------------------------------------------

void TestData::detectFormat_data() {
    QTest::addColumn<QString>("name");
    QTest::addColumn<QString>("snippet");
    QTest::addColumn<ls::DataFormat>("format");
    QTest::newRow(".npy") << "a.npy" << "save(np.arange(3, dtype=np.int32))" << ls::DataFormat::Npy;
    QTest::newRow(".NPY") << "a.NPY" << "open(path, 'w').write('x')" << ls::DataFormat::Npy;
    QTest::newRow("npy content, .bin name") << "a.bin" << "save(np.arange(3, dtype=np.int32))" << ls::DataFormat::Npy;
    QTest::newRow(".txt") << "a.txt" << "open(path, 'w').write('hello')" << ls::DataFormat::Text;
    QTest::newRow(".raw") << "wiki.test.raw" << "open(path, 'w').write(' = Title = \\n')" << ls::DataFormat::WikiText;
    QTest::newRow(".tokens") << "wiki.test.tokens" << "open(path, 'w').write('x')" << ls::DataFormat::WikiText;
    QTest::newRow("no extension") << "data" << "open(path, 'w').write('x')" << ls::DataFormat::Text;
    QTest::newRow("empty .txt") << "e.txt" << "open(path, 'w').close()" << ls::DataFormat::Text;
}

void TestData::detectFormat() {
    QFETCH(QString, name);
    QFETCH(QString, snippet);
    QFETCH(ls::DataFormat, format);
    const QString path = newPath(name);
    QString raw;
    QVERIFY(writeWithPython(path, snippet, &raw));
    QCOMPARE(ls::detectFormat(path.toStdString()), format);
}

void TestData::loadDatasetNpy() {
    const QString path = newPath("ids.bin");  // npy content, detected by its magic
    QString raw;
    QVERIFY(writeWithPython(path, "expected = np.array([5, 0, 50256, 17], np.uint16); save(expected)", &raw));
    const ls::Dataset d = ls::loadDataset(path.toStdString(), nullptr, 50257);
    QCOMPARE(d.format, ls::DataFormat::Npy);
    QCOMPARE(str(d.path), path);
    QVERIFY(d.tokens == std::vector<int32_t>({5, 0, 50256, 17}));
    // vocabSize 0 means "don't check"
    QVERIFY(ls::loadDataset(path.toStdString(), nullptr, 0).tokens == d.tokens);
}

void TestData::loadDatasetErrors_data() {
    QTest::addColumn<QString>("name");
    QTest::addColumn<QString>("snippet");  // "" leaves the file missing
    QTest::addColumn<int>("vocabSize");
    QTest::addColumn<ls::DataFormat>("format");
    QTest::addColumn<QStringList>("fragments");
    const auto Auto = ls::DataFormat::Auto;
    QTest::newRow("empty .txt") << "e.txt" << "open(path, 'w').close()" << 0 << Auto << QStringList{"the dataset is empty"};
    QTest::newRow("empty .npy file") << "e.npy" << "open(path, 'w').close()" << 0 << Auto << QStringList{"the dataset is empty"};
    QTest::newRow("empty, forced text") << "e" << "open(path, 'w').close()" << 0 << ls::DataFormat::Text
                                        << QStringList{"the dataset is empty"};
    QTest::newRow("npy with 0 tokens") << "z.npy" << "save(np.zeros(0, np.int32))" << 0 << Auto << QStringList{"the dataset is empty"};
    QTest::newRow("id >= vocab") << "v.npy" << "save(np.array([1, 2, 50257, 50258], np.int32))" << 50257 << Auto
                                 << QStringList{"token id 50257 at index 2", "vocabulary", "50257"};
    QTest::newRow("id == vocab - 1 is fine, next is not") << "w.npy" << "save(np.array([9, 10], np.int64))" << 10 << Auto
                                                          << QStringList{"token id 10 at index 1"};
    QTest::newRow("missing file") << "missing.txt" << "" << 0 << Auto << QStringList{"does not exist"};
    QTest::newRow("missing file, forced npy") << "missing.npy" << "" << 0 << ls::DataFormat::Npy << QStringList{"does not exist"};
    QTest::newRow("text without tokenizer") << "t.txt" << "open(path, 'w').write('hello')" << 0 << Auto
                                            << QStringList{"tokenizer"};
    QTest::newRow("npy forced as text, no tokenizer") << "n.npy" << "save(np.arange(3, dtype=np.int32))" << 0
                                                      << ls::DataFormat::Text << QStringList{"tokenizer"};
    QTest::newRow("text forced as npy") << "t.txt" << "open(path, 'w').write('hello world, no magic here')" << 0
                                        << ls::DataFormat::Npy << QStringList{"not a .npy file"};
}

void TestData::loadDatasetErrors() {
    QFETCH(QString, name);
    QFETCH(QString, snippet);
    QFETCH(int, vocabSize);
    QFETCH(ls::DataFormat, format);
    QFETCH(QStringList, fragments);
    const QString path = newPath(name);
    QString raw;
    if (!snippet.isEmpty()) QVERIFY(writeWithPython(path, snippet, &raw));
    ls::DatasetOptions options;
    options.format = format;
    const QString message = errorOf([&] { ls::loadDataset(path.toStdString(), nullptr, vocabSize, options); });
    QVERIFY2(message.startsWith(path + ": "), qPrintable("no error naming the file: " + message));
    for (const QString& fragment : fragments) QVERIFY2(message.contains(fragment), qPrintable(message));
}

// ---- UTF-8 ----------------------------------------------------------------------------

void TestData::utf8Invalid_data() {
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<int>("offset");
    QTest::addColumn<int>("line");
    QTest::addColumn<QString>("fragment");
    QTest::newRow("lone continuation byte") << QByteArray("ab\x80" "cd") << 2 << 1 << "unexpected continuation byte 0x80";
    QTest::newRow("continuation on line 2") << QByteArray("line1\nxy\xBFz") << 8 << 2 << "continuation byte 0xBF";
    QTest::newRow("overlong '/' (C0 AF)") << QByteArray("a\xC0\xAF") << 1 << 1 << "overlong encoding of U+002F";
    QTest::newRow("overlong C1 BF") << QByteArray("\xC1\xBF") << 0 << 1 << "overlong encoding of U+007F";
    QTest::newRow("overlong 3 bytes") << QByteArray("\n\n\xE0\x80\xAF") << 2 << 3 << "overlong encoding of U+002F";
    QTest::newRow("overlong 3 bytes, U+07FF") << QByteArray("\xE0\x9F\xBF") << 0 << 1 << "overlong encoding of U+07FF";
    QTest::newRow("overlong 4 bytes") << QByteArray("\xF0\x80\x80\xAF") << 0 << 1 << "overlong";
    QTest::newRow("overlong 4 bytes, U+FFFF") << QByteArray("\xF0\x8F\xBF\xBF") << 0 << 1 << "overlong encoding of U+FFFF";
    QTest::newRow("high surrogate") << QByteArray("ok \xED\xA0\x80") << 3 << 1 << "surrogate U+D800";
    QTest::newRow("low surrogate") << QByteArray("\xED\xBF\xBF") << 0 << 1 << "surrogate U+DFFF";
    QTest::newRow("above U+10FFFF") << QByteArray("\xF4\x90\x80\x80") << 0 << 1 << "U+110000 is above U+10FFFF";
    QTest::newRow("F5 lead") << QByteArray("x\xF5\x80\x80\x80") << 1 << 1 << "above U+10FFFF";
    QTest::newRow("byte FF") << QByteArray("x\xFF") << 1 << 1 << "0xFF never appears";
    QTest::newRow("byte FE") << QByteArray("\xFE") << 0 << 1 << "0xFE never appears";
    QTest::newRow("byte F8") << QByteArray("\xF8\x88\x80\x80\x80") << 0 << 1 << "0xF8 never appears";
    QTest::newRow("truncated 2-byte at EOF") << QByteArray("abc\xC3") << 3 << 1 << "cut off by the end";
    QTest::newRow("truncated 3-byte at EOF") << QByteArray("abc\xE2\x82") << 3 << 1 << "cut off by the end";
    QTest::newRow("truncated 4-byte at EOF") << QByteArray("\n\xF0\x9F\x98") << 1 << 2 << "cut off by the end";
    QTest::newRow("missing continuation") << QByteArray("\xE2\x28\xA1") << 0 << 1 << "missing a continuation byte (found 0x28)";
    QTest::newRow("missing continuation, 2nd") << QByteArray("\xE2\x82\x28") << 0 << 1 << "missing a continuation byte";
    QTest::newRow("BOM then invalid") << QByteArray("\xEF\xBB\xBF\x80") << 3 << 1 << "continuation";
    QTest::newRow("after 1000 ASCII bytes") << QByteArray(1000, 'a') + "\xC3(" << 1000 << 1 << "missing a continuation";
    QTest::newRow("after valid multi-byte") << QByteArray("\xE2\x82\xAC\n\xF0\x9F\x98\x80\n\xC3\xA9\xC3") << 11 << 3
                                            << "cut off";
    QByteArray lines;
    for (int i = 0; i < 50; ++i) lines += "line of text ok\n";
    QTest::newRow("line 51") << lines + "\xA0" << 50 * 16 << 51 << "continuation";
}

void TestData::utf8Invalid() {
    QFETCH(QByteArray, bytes);
    QFETCH(int, offset);
    QFETCH(int, line);
    QFETCH(QString, fragment);
    const QString message = errorOf([&] {
        ls::requireValidUtf8(std::string_view(bytes.constData(), size_t(bytes.size())), "corpus.txt");
    });
    QVERIFY2(message.startsWith(QString("corpus.txt: invalid UTF-8 at byte %1 (line %2): ").arg(offset).arg(line)),
             qPrintable(message));
    QVERIFY2(message.contains(fragment), qPrintable(message));
}

void TestData::utf8Valid_data() {
    QTest::addColumn<QByteArray>("bytes");
    QTest::newRow("empty") << QByteArray();
    QTest::newRow("ASCII") << QByteArray("hello world\n");
    QTest::newRow("NUL bytes") << QByteArray("a\0b", 3);
    QTest::newRow("2-byte") << QByteArray("h\xC3\xA9llo w\xC3\xB6rld");
    QTest::newRow("U+0080 and U+07FF") << QByteArray("\xC2\x80\xDF\xBF");
    QTest::newRow("U+0800, U+D7FF, U+E000, U+FFFF") << QByteArray("\xE0\xA0\x80\xED\x9F\xBF\xEE\x80\x80\xEF\xBF\xBF");
    QTest::newRow("U+10000 and U+10FFFF") << QByteArray("\xF0\x90\x80\x80\xF4\x8F\xBF\xBF");
    QTest::newRow("emoji") << QByteArray("\xF0\x9F\x91\x8B hi");
    QTest::newRow("BOM") << QByteArray("\xEF\xBB\xBFtext");
    QTest::newRow("long mixed") << QByteArray(1001, 'x') + "\xE2\x82\xAC" + QByteArray(13, 'y');
}

void TestData::utf8Valid() {
    QFETCH(QByteArray, bytes);
    const QString message = errorOf([&] {
        ls::requireValidUtf8(std::string_view(bytes.constData(), size_t(bytes.size())), "corpus.txt");
    });
    QVERIFY2(message.isEmpty(), qPrintable(message));
}

// Random byte strings, rich in UTF-8 boundary bytes: Python's strict decoder says where the
// first error starts; we must name the same byte.
void TestData::utf8AgainstPython() {
    const PythonRun run = runPython(R"PY(
import random
random.seed(1)
interesting = [0x00, 0x41, 0x0A, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF,
               0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xF7, 0xF8, 0xFE, 0xFF]
for _ in range(20000):
    n = random.randint(0, 12)
    b = bytes(random.choice(interesting) if random.random() < 0.8 else random.randint(0, 255) for _ in range(n))
    try:
        b.decode('utf-8')
        where = -1
    except UnicodeDecodeError as e:
        where = e.start
    print(b.hex(), where)
)PY",
                                    {});
    QVERIFY2(run.ok, qPrintable(run.error));
    int checked = 0, invalid = 0;
    for (const QByteArray& line : run.out.split('\n')) {
        if (line.isEmpty()) continue;
        const QList<QByteArray> parts = line.split(' ');
        const QByteArray bytes = QByteArray::fromHex(parts[0]);
        const int where = parts.value(1).toInt();
        const QString message = errorOf([&] {
            ls::requireValidUtf8(std::string_view(bytes.constData(), size_t(bytes.size())), "f");
        });
        const QString expected = where < 0 ? QString() : QString("f: invalid UTF-8 at byte %1 ").arg(where);
        if (where < 0 ? !message.isEmpty() : !message.startsWith(expected))
            QFAIL(qPrintable(QString("bytes %1: Python says %2, we say '%3'").arg(QString(parts[0])).arg(where).arg(message)));
        ++checked;
        invalid += where >= 0;
    }
    QCOMPARE(checked, 20000);
    QVERIFY(invalid > 1000 && invalid < 19000);  // both kinds well represented
}

// Text goes through the real tokenizer (a tiny GPT-2 style one made here): loadDataset must
// give exactly tokenizer.encode(text without BOM, true).
void TestData::textWithTokenizer_data() {
    QTest::addColumn<QByteArray>("content");  // the file
    QTest::addColumn<QByteArray>("text");     // what must be encoded; empty: an error is expected
    QTest::addColumn<QString>("error");
    QTest::newRow("ASCII") << QByteArray("hello world\n") << QByteArray("hello world\n") << "";
    QTest::newRow("BOM stripped") << QByteArray("\xEF\xBB\xBFhello world\n") << QByteArray("hello world\n") << "";
    QTest::newRow("multi-byte") << QByteArray("h\xC3\xA9llo \xF0\x9F\x91\x8B w\xC3\xB6rld") << QByteArray("h\xC3\xA9llo \xF0\x9F\x91\x8B w\xC3\xB6rld") << "";
    QTest::newRow("only a BOM") << QByteArray("\xEF\xBB\xBF") << QByteArray() << "the dataset is empty";
    QTest::newRow("invalid UTF-8") << QByteArray("ok\n\xEF\xBB") << QByteArray() << "invalid UTF-8 at byte 3 (line 2)";
    QTest::newRow("invalid after BOM, file offset") << QByteArray("\xEF\xBB\xBF\xFF") << QByteArray() << "invalid UTF-8 at byte 3 (line 1)";
}

void TestData::textWithTokenizer() {
    QFETCH(QByteArray, content);
    QFETCH(QByteArray, text);
    QFETCH(QString, error);

    QVERIFY(tokenizer_);
    const QString path = newPath("corpus.txt");
    QVERIFY(writeFile(path, content));
    ls::Dataset d;
    const QString message = errorOf([&] { d = ls::loadDataset(path.toStdString(), &*tokenizer_, tokenizer_->vocabSize()); });
    if (!error.isEmpty()) {
        QVERIFY2(message.startsWith(path + ": ") && message.contains(error), qPrintable(message));
        return;
    }
    QVERIFY2(message.isEmpty(), qPrintable(message));
    QCOMPARE(d.format, ls::DataFormat::Text);
    const std::vector<int32_t> expected = tokenizer_->encode(std::string_view(text.constData(), size_t(text.size())), true);
    QVERIFY(!expected.empty());
    QVERIFY(d.tokens == expected);  // one paragraph: one document
    QVERIFY(d.documentStarts == std::vector<int64_t>{0});
    // a vocabulary smaller than the ids used is caught
    const QString small = errorOf([&] { ls::loadDataset(path.toStdString(), &*tokenizer_, 2); });
    QVERIFY2(small.startsWith(path + ": ") && small.contains("vocabulary"), qPrintable(small));
}

// ---- windows --------------------------------------------------------------------------

void TestData::windowsAgainstHuggingFace_data() {
    QTest::addColumn<qint64>("n");
    QTest::addColumn<int>("seqLen");
    QTest::addColumn<int>("stride");
    QTest::addColumn<qint64>("maxTokens");
    for (const WindowCase& c : windowCases())
        QTest::newRow(qPrintable(c.key())) << qint64(c.n) << c.seqLen << c.stride << qint64(c.maxTokens);
}

void TestData::windowsAgainstHuggingFace() {
    QFETCH(qint64, n);
    QFETCH(int, seqLen);
    QFETCH(int, stride);
    QFETCH(qint64, maxTokens);
    const WindowCase c{n, seqLen, stride, maxTokens};
    QVERIFY(windowReference_.contains(c.key()));
    const std::vector<ls::Window> windows = ls::makeWindows(n, {seqLen, stride, maxTokens});
    QCOMPARE(describe(windows), windowReference_.value(c.key()));

    // and the documented invariants
    const int64_t used = maxTokens > 0 ? std::min(n, maxTokens) : n;
    int64_t scored = 0;
    for (const ls::Window& w : windows) {
        QVERIFY(w.length >= 2 && w.length <= seqLen);
        QVERIFY(w.begin + w.length <= used);
        QVERIFY(w.firstScored >= 1 && w.scoredCount() >= 1);
        QCOMPARE(w.begin % (stride ? stride : seqLen), int64_t(0));
        scored += w.scoredCount();
    }
    // every token after the first is scored exactly once when windows overlap or touch
    if (stride == 0 || stride == seqLen)
        QCOMPARE(scored, used - int64_t(windows.size()) - (used % seqLen == 1 ? 1 : 0));
    else
        QCOMPARE(scored, std::max<int64_t>(used - 1, 0));
}

void TestData::windowsByHand_data() {
    QTest::addColumn<qint64>("n");
    QTest::addColumn<int>("seqLen");
    QTest::addColumn<int>("stride");
    QTest::addColumn<qint64>("maxTokens");
    QTest::addColumn<QString>("windows");  // "begin,length,firstScored;..."
    QTest::newRow("chunks") << qint64(10) << 4 << 0 << qint64(0) << "0,4,1;4,4,1;8,2,1";
    QTest::newRow("last chunk of one token dropped") << qint64(9) << 4 << 4 << qint64(0) << "0,4,1;4,4,1";
    QTest::newRow("stride 2") << qint64(10) << 4 << 2 << qint64(0) << "0,4,1;2,4,2;4,4,2;6,4,2";
    QTest::newRow("stride 3, short tail") << qint64(10) << 4 << 3 << qint64(0) << "0,4,1;3,4,1;6,4,1";
    QTest::newRow("stride 1") << qint64(5) << 3 << 1 << qint64(0) << "0,3,1;1,3,2;2,3,2";
    QTest::newRow("maxTokens truncates") << qint64(100) << 4 << 0 << qint64(6) << "0,4,1;4,2,1";
    QTest::newRow("maxTokens above N") << qint64(5) << 8 << 0 << qint64(50) << "0,5,1";
    QTest::newRow("stream shorter than a window") << qint64(3) << 1024 << 512 << qint64(0) << "0,3,1";
    QTest::newRow("one token") << qint64(1) << 4 << 0 << qint64(0) << "";
    QTest::newRow("no tokens") << qint64(0) << 4 << 0 << qint64(0) << "";
}

void TestData::windowsByHand() {
    QFETCH(qint64, n);
    QFETCH(int, seqLen);
    QFETCH(int, stride);
    QFETCH(qint64, maxTokens);
    QFETCH(QString, windows);
    QCOMPARE(describe(ls::makeWindows(n, {seqLen, stride, maxTokens})).section('|', 0, 0), windows);
}

void TestData::windowsBadOptions_data() {
    QTest::addColumn<int>("seqLen");
    QTest::addColumn<int>("stride");
    QTest::addColumn<qint64>("maxTokens");
    QTest::addColumn<QString>("prefix");
    QTest::newRow("seq-len 1") << 1 << 0 << qint64(0) << "seq-len";
    QTest::newRow("seq-len 0") << 0 << 0 << qint64(0) << "seq-len";
    QTest::newRow("seq-len -5") << -5 << 1 << qint64(0) << "seq-len";
    QTest::newRow("stride -1") << 8 << -1 << qint64(0) << "stride";
    QTest::newRow("stride > seq-len") << 8 << 9 << qint64(0) << "stride";
    QTest::newRow("max-tokens -1") << 8 << 4 << qint64(-1) << "max-tokens";
}

void TestData::windowsBadOptions() {
    QFETCH(int, seqLen);
    QFETCH(int, stride);
    QFETCH(qint64, maxTokens);
    QFETCH(QString, prefix);  // the parameter's key (ls::ParamError), which the CLI shows as --key
    QString key;
    try {
        ls::makeWindows(100, {seqLen, stride, maxTokens});
    } catch (const ls::ParamError& e) {
        key = QString::fromStdString(e.key());
        QVERIFY2(QString(e.what()).startsWith(prefix + ": "), e.what());
    }
    QCOMPARE(key, prefix);
}

// ---- formats ------------------------------------------------------------------------

void TestData::formatNames() {
    using F = ls::DataFormat;
    const QList<QPair<F, QString>> names = {{F::Auto, "auto"},           {F::Text, "text"},
                                            {F::WikiText, "wikitext"},   {F::AlpacaJson, "alpaca-json"},
                                            {F::AlpacaJsonl, "alpaca-jsonl"}, {F::Npy, "npy"},
                                            {F::Bin, "bin"}};
    for (const auto& [format, name] : names) {
        QCOMPARE(QString(ls::dataFormatName(format)), name);
        QCOMPARE(ls::parseDataFormat(name.toStdString()), format);
        const bool needsTokenizer = format == F::Text || format == F::WikiText || format == F::AlpacaJson ||
                                    format == F::AlpacaJsonl;
        QCOMPARE(ls::formatNeedsTokenizer(format), needsTokenizer);
    }
    const QString message = errorOf([] { ls::parseDataFormat("csv"); });
    QVERIFY2(message.startsWith("format: ") && message.contains("'csv'") && message.contains("alpaca-jsonl"),
             qPrintable(message));
}

void TestData::detectFormatFromContent_data() {
    QTest::addColumn<QString>("name");
    QTest::addColumn<QByteArray>("content");
    QTest::addColumn<ls::DataFormat>("format");
    using F = ls::DataFormat;
    const QByteArray array = R"([{"instruction": "a", "output": "b"}])";
    const QByteArray lines = "{\"instruction\": \"a\", \"output\": \"b\"}\n{\"instruction\": \"c\", \"output\": \"d\"}\n";
    const QByteArray wiki = " \n = Valkyria Chronicles III = \n \n Senjō no Valkyria 3 .\n \n = = Gameplay = = \n";
    QTest::newRow("JSON array, .json") << "a.json" << array << F::AlpacaJson;
    QTest::newRow("JSON array, no extension") << "data" << array << F::AlpacaJson;
    QTest::newRow("JSON array, .txt (content first)") << "a.txt" << array << F::AlpacaJson;
    QTest::newRow("JSON array after BOM and blank lines") << "data" << QByteArray("\xEF\xBB\xBF \r\n\t[\n  {\"x\": 1}]")
                                                          << F::AlpacaJson;
    QTest::newRow("empty JSON array") << "data" << QByteArray("[]") << F::AlpacaJson;
    QTest::newRow("array of strings") << "data" << QByteArray("[\"a\"]") << F::AlpacaJson;
    QTest::newRow("array of numbers, .json (by name)") << "a.json" << QByteArray("[1, 2]") << F::AlpacaJson;
    QTest::newRow("JSONL, .jsonl") << "a.jsonl" << lines << F::AlpacaJsonl;
    QTest::newRow("JSONL, no extension") << "data" << lines << F::AlpacaJsonl;
    QTest::newRow("JSONL named .json") << "a.json" << lines << F::AlpacaJsonl;
    QTest::newRow("one record, long line cut by the sniff")
        << "data" << "{\"instruction\": \"" + QByteArray(10000, 'x') + "\", \"output\": \"\xC3\xA9\"}" << F::AlpacaJsonl;
    QTest::newRow("'[Verse 1]' is text") << "song.txt" << QByteArray("[Verse 1]\nla la\n") << F::Text;
    QTest::newRow("'{{Infobox' is text") << "page" << QByteArray("{{Infobox person}}\n") << F::Text;
    QTest::newRow("WikiText, .txt") << "wiki.txt" << wiki << F::WikiText;
    QTest::newRow("WikiText, no extension") << "wiki" << wiki << F::WikiText;
    QTest::newRow("WikiText heading without spaces around") << "wiki" << QByteArray("= Title =\ntext\n") << F::WikiText;
    QTest::newRow("WikiText heading, CRLF") << "wiki" << QByteArray(" = Title = \r\ntext\r\n") << F::WikiText;
    QTest::newRow("only a section heading is text") << "a" << QByteArray(" = = Section = = \ntext\n") << F::Text;
    QTest::newRow("'a = b = c' is text") << "a" << QByteArray("a = b = c\n") << F::Text;
    QTest::newRow("heading after 4 KB is not seen") << "a" << QByteArray(5000, 'x') + "\n = Title = \n" << F::Text;
    QTest::newRow(".raw by name") << "wiki.train.raw" << QByteArray("plain text\n") << F::WikiText;
    QTest::newRow(".tokens by name") << "wiki.valid.tokens" << QByteArray("plain text\n") << F::WikiText;
    QTest::newRow(".bin") << "train.bin" << binBytes({1, 2, 50256}) << F::Bin;
    QTest::newRow(".BIN") << "TRAIN.BIN" << binBytes({1, 2, 3}) << F::Bin;
    QTest::newRow(".bin starting with '[' (id 91)") << "val.bin" << binBytes({91, 5, 7}) << F::Bin;
    QTest::newRow(".bin starting with '{' and spaces") << "val.bin" << binBytes({0x207B, 0x2020, 300}) << F::Bin;
    QTest::newRow(".npy content, no extension") << "ids" << npyBytes("{'descr': '<i4', 'fortran_order': False, 'shape': (0,), }", {})
                                                << F::Npy;
    QTest::newRow("empty .jsonl") << "e.jsonl" << QByteArray() << F::AlpacaJsonl;
    QTest::newRow("empty .json") << "e.json" << QByteArray() << F::AlpacaJson;
    QTest::newRow("plain text") << "notes" << QByteArray("Hello.\n\nWorld.\n") << F::Text;
    QTest::newRow("binary, no extension") << "blob" << QByteArray("\x00\x01\x02", 3) << F::Text;
}

void TestData::detectFormatFromContent() {
    QFETCH(ls::DataFormat, format);
    const QString path = writeRowFile();
    QVERIFY(!path.isEmpty());
    QCOMPARE(ls::detectFormat(path.toStdString()), format);
}

// ---- Alpaca -------------------------------------------------------------------------

void TestData::renderPrompt_data() {
    addStringRows({"tmpl", "instruction", "input", "output", "expected"},
                  {{"default", ls::kAlpacaTemplate, "Add.", "2 3", "5",
                    "Below is an instruction that describes a task, paired with an input that provides "
                    "further context. Write a response that appropriately completes the request.\n\n"
                    "### Instruction:\nAdd.\n\n### Input:\n2 3\n\n### Response:\n5"},
                   {"default, no input", ls::kAlpacaTemplateNoInput, "Say hi.", "", "Hi!",
                    "Below is an instruction that describes a task. Write a response that "
                    "appropriately completes the request.\n\n"
                    "### Instruction:\nSay hi.\n\n### Response:\nHi!"},
                   {"fields are not substituted again", "{instruction}|{input}|{output}", "{input}", "{output}",
                    "{instruction}", "{input}|{output}|{instruction}"},
                   {"unknown placeholders and lone braces stay", "{x} {instruction} { }{", "A", "", "", "{x} A { }{"},
                   {"double braces", "{{instruction}}", "A", "", "", "{A}"},
                   {"repeated", "{output}{output}-{input}", "", "I", "B", "BB-I"},
                   {"no placeholders", "plain", "A", "B", "C", "plain"},
                   {"empty template", "", "A", "B", "C", ""},
                   {"cut placeholder", "{instruction", "A", "", "", "{instruction"},
                   {"UTF-8", "«{instruction}» → {output}", "café", "", "日本", "«café» → 日本"}});
}

void TestData::renderPrompt() {
    QFETCH(QString, tmpl);
    QFETCH(QString, instruction);
    QFETCH(QString, input);
    QFETCH(QString, output);
    QFETCH(QString, expected);
    const std::string got = ls::renderPrompt(tmpl.toStdString(), instruction.toStdString(), input.toStdString(),
                                             output.toStdString());
    QCOMPARE(QString::fromStdString(got), expected);
}

// Records go through renderPrompt and the tiny tokenizer; every document must decode to
// exactly the expected prompt followed by <|endoftext|>.
void TestData::alpacaRecords_data() {
    QTest::addColumn<QString>("name");
    QTest::addColumn<QByteArray>("content");
    QTest::addColumn<ls::DataFormat>("format");  // Auto: detected, expected JSON or JSONL by name
    QTest::addColumn<QStringList>("templates");  // empty: the defaults; else {with input, without}
    QTest::addColumn<qint64>("maxDocuments");
    QTest::addColumn<QStringList>("prompts");
    using F = ls::DataFormat;
    const QString head = "Below is an instruction that describes a task, paired with an input that provides further "
                         "context. Write a response that appropriately completes the request.\n\n";
    const QString headNoInput = "Below is an instruction that describes a task. Write a response that appropriately "
                                "completes the request.\n\n";
    const QStringList custom = {"Q: {instruction} [{input}]\nA: {output}", "Q: {instruction}\nA: {output}"};
    QTest::newRow("default template, with input")
        << "a.json" << QByteArray(R"([{"instruction": "Add.", "input": "2 3", "output": "5"}])") << F::Auto
        << QStringList() << qint64(0)
        << QStringList{head + "### Instruction:\nAdd.\n\n### Input:\n2 3\n\n### Response:\n5"};
    QTest::newRow("default template, empty / missing / null input")
        << "a.json"
        << QByteArray(R"([{"instruction": "A", "input": "", "output": "1"}, {"instruction": "B", "output": "2"},
                          {"instruction": "C", "input": null, "output": "3"}])")
        << F::Auto << QStringList() << qint64(0)
        << QStringList{headNoInput + "### Instruction:\nA\n\n### Response:\n1",
                       headNoInput + "### Instruction:\nB\n\n### Response:\n2",
                       headNoInput + "### Instruction:\nC\n\n### Response:\n3"};
    QTest::newRow("custom templates")
        << "a.json"
        << QByteArray(R"([{"instruction": "x", "input": "y", "output": "z"}, {"instruction": "p", "output": "q"}])")
        << F::Auto << custom << qint64(0) << QStringList{"Q: x [y]\nA: z", "Q: p\nA: q"};
    QTest::newRow("other fields ignored, escapes, UTF-8")
        << "a.json"
        << QByteArray(R"([{"id": 7, "instruction": "caf\u00e9 \"q\"\n", "meta": {"k": [1, null]}, "output": "日本", "text": 5}])")
        << F::Auto << custom << qint64(0) << QStringList{"Q: café \"q\"\n\nA: 日本"};
    QTest::newRow("braces in fields stay")
        << "a.json" << QByteArray(R"([{"instruction": "{output}", "input": "{input}", "output": "{instruction}"}])")
        << F::Auto << custom << qint64(0) << QStringList{"Q: {output} [{input}]\nA: {instruction}"};
    QTest::newRow("JSON, no extension, BOM, pretty-printed")
        << "records" << QByteArray("\xEF\xBB\xBF[\n  {\n    \"instruction\": \"a\",\n    \"output\": \"b\"\n  }\n]\n")
        << F::Auto << custom << qint64(0) << QStringList{"Q: a\nA: b"};
    QTest::newRow("maxDocuments 2 of 3 (JSON)")
        << "a.json"
        << QByteArray(R"([{"instruction": "1", "output": "a"}, {"instruction": "2", "output": "b"}, {"instruction": "3", "output": "c"}])")
        << F::Auto << custom << qint64(2) << QStringList{"Q: 1\nA: a", "Q: 2\nA: b"};
    QTest::newRow("JSONL, blank lines and CRLF")
        << "a.jsonl"
        << QByteArray("{\"instruction\": \"1\", \"output\": \"a\"}\r\n\r\n  \n{\"instruction\": \"2\", \"input\": \"i\", "
                      "\"output\": \"b\"}\r\n")
        << F::Auto << custom << qint64(0) << QStringList{"Q: 1\nA: a", "Q: 2 [i]\nA: b"};
    QTest::newRow("JSONL, no extension, no final newline")
        << "records" << QByteArray("{\"instruction\": \"1\", \"output\": \"a\"}\n{\"instruction\": \"2\", \"output\": \"b\"}")
        << F::Auto << custom << qint64(0) << QStringList{"Q: 1\nA: a", "Q: 2\nA: b"};
    QTest::newRow("JSONL, maxDocuments: later lines are not read")
        << "a.jsonl" << QByteArray("{\"instruction\": \"1\", \"output\": \"a\"}\n\nnot json at all\n") << F::Auto
        << custom << qint64(1) << QStringList{"Q: 1\nA: a"};
    QTest::newRow("forced alpaca-jsonl on a .txt") << "a.txt" << QByteArray("{\"instruction\": \"1\", \"output\": \"a\"}\n")
                                                   << F::AlpacaJsonl << custom << qint64(0) << QStringList{"Q: 1\nA: a"};
    QTest::newRow("template with only {output}")
        << "a.json" << QByteArray(R"([{"instruction": "1", "output": "a"}])") << F::Auto
        << QStringList{"{output}", "{output}!"} << qint64(0) << QStringList{"a!"};
}

void TestData::alpacaRecords() {
    QFETCH(QByteArray, content);
    QFETCH(ls::DataFormat, format);
    QFETCH(QStringList, templates);
    QFETCH(qint64, maxDocuments);
    QFETCH(QStringList, prompts);
    RowFile row = rowFileToLoad();
    if (row.path.isEmpty())
        return;
    row.options.maxDocuments = maxDocuments;
    if (!templates.isEmpty()) {
        row.options.promptTemplate = templates[0].toStdString();
        row.options.promptTemplateNoInput = templates[1].toStdString();
    }
    ls::Dataset d;
    const QString message =
        errorOf([&] { d = ls::loadDataset(row.path.toStdString(), &*tokenizer_, 0, row.options); });
    QVERIFY2(message.isEmpty(), qPrintable(message));
    const ls::DataFormat expectedFormat =
        format != ls::DataFormat::Auto ? format
        : content.trimmed().startsWith("\xEF\xBB\xBF[") || content.trimmed().startsWith('[') ? ls::DataFormat::AlpacaJson
                                                                                             : ls::DataFormat::AlpacaJsonl;
    QCOMPARE(d.format, expectedFormat);
    QCOMPARE(d.documents(), qint64(prompts.size()));

    std::vector<int32_t> expected;
    for (int i = 0; i < prompts.size(); ++i) {
        QCOMPARE(d.documentStarts[size_t(i)], int64_t(expected.size()));
        std::vector<int32_t> ids = tokenizer_->encode(prompts[i].toStdString(), true);
        ids.push_back(257);  // EOS
        expected.insert(expected.end(), ids.begin(), ids.end());
        // the rendered text, read back from the ids
        const size_t end = i + 1 < prompts.size() ? size_t(d.documentStarts[size_t(i) + 1]) : d.tokens.size();
        const std::vector<int32_t> document(d.tokens.begin() + d.documentStarts[size_t(i)], d.tokens.begin() + int64_t(end));
        QCOMPARE(QString::fromStdString(tokenizer_->decode(document)), prompts[i] + "<|endoftext|>");
    }
    QVERIFY(d.tokens == expected);
}

// ---- text documents -------------------------------------------------------------------

void TestData::textDocuments_data() {
    QTest::addColumn<QString>("name");
    QTest::addColumn<QByteArray>("content");
    QTest::addColumn<ls::DataFormat>("format");  // forced; Auto: detected
    QTest::addColumn<qint64>("maxDocuments");
    QTest::addColumn<ls::DataFormat>("read");  // the format read
    QTest::addColumn<QList<QByteArray>>("documents");
    using F = ls::DataFormat;
    using Docs = QList<QByteArray>;
    QTest::newRow("one paragraph") << "a.txt" << QByteArray("hello world\nsecond line\n") << F::Auto << qint64(0) << F::Text
                                   << Docs{"hello world\nsecond line\n"};
    QTest::newRow("two paragraphs") << "a.txt" << QByteArray("p1 a\np1 b\n\np2\n") << F::Auto << qint64(0) << F::Text
                                    << Docs{"p1 a\np1 b\n\n", "p2\n"};
    QTest::newRow("several blank lines, no final newline") << "a.txt" << QByteArray("p1\n\n\n\np2") << F::Auto << qint64(0)
                                                           << F::Text << Docs{"p1\n\n\n\n", "p2"};
    QTest::newRow("whitespace-only lines are blank") << "a.txt" << QByteArray("p1\n \t \n  \np2\n") << F::Auto << qint64(0)
                                                     << F::Text << Docs{"p1\n \t \n  \n", "p2\n"};
    QTest::newRow("indented line is not blank") << "a.txt" << QByteArray("p1\n  indented\n") << F::Auto << qint64(0)
                                                << F::Text << Docs{"p1\n  indented\n"};
    QTest::newRow("CRLF") << "a.txt" << QByteArray("p1\r\n\r\np2\r\n") << F::Auto << qint64(0) << F::Text
                          << Docs{"p1\r\n\r\n", "p2\r\n"};
    QTest::newRow("leading blank lines are dropped") << "a.txt" << QByteArray("\n \n\np1\n\n\n") << F::Auto << qint64(0)
                                                     << F::Text << Docs{"p1\n\n\n"};
    QTest::newRow("BOM") << "a.txt" << QByteArray("\xEF\xBB\xBFp1\n\np2\n") << F::Auto << qint64(0) << F::Text
                         << Docs{"p1\n\n", "p2\n"};
    QTest::newRow("UTF-8") << "a.txt" << QByteArray("caf\xC3\xA9\n\n\xF0\x9F\x91\x8B\n") << F::Auto << qint64(0) << F::Text
                           << Docs{"caf\xC3\xA9\n\n", "\xF0\x9F\x91\x8B\n"};
    QTest::newRow("maxDocuments 2 of 3") << "a.txt" << QByteArray("p1\n\np2\n\np3\n") << F::Auto << qint64(2) << F::Text
                                         << Docs{"p1\n\n", "p2\n\n"};
    QTest::newRow("maxDocuments above the count") << "a.txt" << QByteArray("p1\n\np2\n") << F::Auto << qint64(9) << F::Text
                                                  << Docs{"p1\n\n", "p2\n"};
    const QByteArray wiki = " \n = Alpha = \n \n Alpha text .\n \n = = Section = = \n \n More alpha .\n \n"
                            " = Beta = \n \n Beta text .\n \n";
    const QByteArray alpha = " = Alpha = \n \n Alpha text .\n \n = = Section = = \n \n More alpha .\n \n";
    const QByteArray beta = " = Beta = \n \n Beta text .\n \n";
    QTest::newRow("WikiText articles (.raw)") << "wiki.test.raw" << wiki << F::Auto << qint64(0) << F::WikiText
                                              << Docs{alpha, beta};
    QTest::newRow("WikiText detected in a .txt") << "wiki.txt" << wiki << F::Auto << qint64(0) << F::WikiText
                                                 << Docs{alpha, beta};
    QTest::newRow("WikiText, maxDocuments 1") << "wiki.test.tokens" << wiki << F::Auto << qint64(1) << F::WikiText
                                              << Docs{alpha};
    QTest::newRow("WikiText, text before the first heading") << "w.raw" << QByteArray("Intro\n = A = \nx\n = B = \n")
                                                             << F::Auto << qint64(0) << F::WikiText
                                                             << Docs{"Intro\n", " = A = \nx\n", " = B = \n"};
    QTest::newRow("WikiText read as plain text: paragraphs") << "wiki.txt" << wiki << F::Text << qint64(0) << F::Text
                                                             << Docs{" = Alpha = \n \n", " Alpha text .\n \n",
                                                                     " = = Section = = \n \n", " More alpha .\n \n",
                                                                     " = Beta = \n \n", " Beta text .\n \n"};
    QTest::newRow("text forced as WikiText without headings") << "a.txt" << QByteArray("p1\n\np2\n") << F::WikiText
                                                              << qint64(0) << F::WikiText << Docs{"p1\n\np2\n"};
}

void TestData::textDocuments() {
    QFETCH(qint64, maxDocuments);
    QFETCH(ls::DataFormat, read);
    QFETCH(QList<QByteArray>, documents);
    RowFile row = rowFileToLoad();
    if (row.path.isEmpty())
        return;
    row.options.maxDocuments = maxDocuments;
    ls::Dataset d;
    const QString message =
        errorOf([&] { d = ls::loadDataset(row.path.toStdString(), &*tokenizer_, 258, row.options); });
    QVERIFY2(message.isEmpty(), qPrintable(message));
    QCOMPARE(d.format, read);

    std::vector<int32_t> expected;
    std::vector<int64_t> starts;
    for (const QByteArray& document : documents) {
        starts.push_back(int64_t(expected.size()));
        const std::vector<int32_t> ids = tokenizer_->encode(bytes(document), true);
        expected.insert(expected.end(), ids.begin(), ids.end());
    }
    QCOMPARE(d.documentStarts, starts);
    QVERIFY(d.tokens == expected);
    QCOMPARE(QByteArray::fromStdString(tokenizer_->decode(d.tokens)), documents.join());
}

// ---- .bin ---------------------------------------------------------------------------

void TestData::binTokenIds() {
    const QString path = newPath("train.bin");
    QVERIFY(writeFile(path, binBytes({5, 0, 50256, 17, 65535, 91})));
    const ls::Dataset d = ls::loadDataset(path.toStdString(), nullptr, 0);
    QCOMPARE(d.format, ls::DataFormat::Bin);
    QVERIFY(d.tokens == std::vector<int32_t>({5, 0, 50256, 17, 65535, 91}));
    QVERIFY(d.documentStarts == std::vector<int64_t>{0});

    // larger than one read chunk (1 MiB)
    QVector<int> many;
    for (int i = 0; i < 700001; ++i) many << int(qint64(i) * 7919 % 65536);
    const QString large = newPath("large.bin");
    QVERIFY(writeFile(large, binBytes(many)));
    const ls::Dataset l = ls::loadDataset(large.toStdString(), nullptr, 65536);
    QVERIFY(l.tokens == std::vector<int32_t>(many.begin(), many.end()));

    // forced: a .dat file of uint16 ids
    const QString dat = newPath("ids.dat");
    QVERIFY(writeFile(dat, binBytes({1, 2, 3})));
    ls::DatasetOptions options;
    options.format = ls::DataFormat::Bin;
    QVERIFY(ls::loadDataset(dat.toStdString(), nullptr, 0, options).tokens == std::vector<int32_t>({1, 2, 3}));
}

// ---- bad input ------------------------------------------------------------------------

// Every case: one ls::Error "<file>: <problem>" with all the fragments.
void TestData::badInputs_data() {
    QTest::addColumn<QString>("name");
    QTest::addColumn<QByteArray>("content");
    QTest::addColumn<ls::DataFormat>("format");
    QTest::addColumn<bool>("withTokenizer");
    QTest::addColumn<int>("vocabSize");
    QTest::addColumn<QStringList>("fragments");
    using F = ls::DataFormat;
    const QStringList empty{"the dataset is empty"};
    QTest::newRow("empty .txt") << "e.txt" << QByteArray() << F::Auto << true << 0 << empty;
    QTest::newRow("empty .json") << "e.json" << QByteArray() << F::Auto << true << 0 << empty;
    QTest::newRow("empty .jsonl") << "e.jsonl" << QByteArray() << F::Auto << true << 0 << empty;
    QTest::newRow("empty .bin") << "e.bin" << QByteArray() << F::Auto << false << 0 << empty;
    QTest::newRow("empty .raw") << "e.raw" << QByteArray() << F::Auto << true << 0 << empty;
    QTest::newRow("only whitespace .txt") << "w.txt" << QByteArray(" \n\n\t\r\n") << F::Auto << true << 0 << empty;
    QTest::newRow("only whitespace .raw") << "w.raw" << QByteArray(" \n \n") << F::Auto << true << 0 << empty;
    QTest::newRow("empty JSON array") << "a.json" << QByteArray(" [ ] ") << F::Auto << true << 0 << empty;
    QTest::newRow("JSONL of blank lines") << "a.jsonl" << QByteArray("\n  \n\r\n") << F::Auto << true << 0 << empty;
    QTest::newRow("invalid JSON: trailing comma")
        << "a.json" << QByteArray(R"([{"instruction": "a", "output": "b",}])") << F::Auto << true << 0
        << QStringList{"invalid JSON", "line 1, column 37"};
    QTest::newRow("invalid JSON on line 3") << "a.json" << QByteArray("[\n {\"instruction\": \"a\",\n  \"output\": }\n]")
                                            << F::Auto << true << 0 << QStringList{"invalid JSON", "line 3, column"};
    QTest::newRow("truncated JSON") << "a.json" << QByteArray(R"([{"instruction": "a")") << F::Auto << true << 0
                                    << QStringList{"invalid JSON", "line 1"};
    QTest::newRow("JSON object instead of array (forced)")
        << "a.json" << QByteArray(R"({"instruction": "a", "output": "b"})") << F::AlpacaJson << true << 0
        << QStringList{"expected a JSON array of records", "found an object", "alpaca-jsonl"};
    QTest::newRow("pretty-printed JSON object (read as JSONL)") << "a.json" << QByteArray("{\n  \"data\": []\n}\n") << F::Auto
                                                                << true << 0
                                                                << QStringList{"line 1: invalid JSON", "one complete record per line", "column"};
    QTest::newRow("JSON string at the top") << "a.json" << QByteArray("\"text\"") << F::Auto << true << 0
                                            << QStringList{"expected a JSON array", "found a string"};
    QTest::newRow("array of strings") << "a.json" << QByteArray(R"(["a", "b"])") << F::Auto << true << 0
                                      << QStringList{"record 0: expected an object", "found a string"};
    QTest::newRow("array of numbers") << "a.json" << QByteArray("[1, 2]") << F::Auto << true << 0
                                      << QStringList{"record 0: expected an object", "found a number"};
    QTest::newRow("nested array") << "a.json" << QByteArray(R"([{"instruction": "a", "output": "b"}, [1]])") << F::Auto
                                  << true << 0 << QStringList{"record 1: expected an object", "found an array"};
    QTest::newRow("missing output") << "a.json"
                                    << QByteArray(R"([{"instruction": "a", "output": "b"}, {"instruction": "c"}])")
                                    << F::Auto << true << 0 << QStringList{"record 1: field 'output' is missing"};
    QTest::newRow("missing instruction") << "a.json" << QByteArray(R"([{"input": "a", "output": "b"}])") << F::Auto << true
                                         << 0 << QStringList{"record 0: field 'instruction' is missing"};
    QTest::newRow("number instead of string") << "a.json" << QByteArray(R"([{"instruction": 5, "output": "b"}])")
                                              << F::Auto << true << 0
                                              << QStringList{"record 0: field 'instruction' is not a string (it is a number)"};
    QTest::newRow("input is a list") << "a.json" << QByteArray(R"([{"instruction": "a", "input": ["x"], "output": "b"}])")
                                     << F::Auto << true << 0
                                     << QStringList{"record 0: field 'input' is not a string (it is an array)"};
    QTest::newRow("output null") << "a.json" << QByteArray(R"([{"instruction": "a", "output": null}])") << F::Auto << true
                                 << 0 << QStringList{"record 0: field 'output' is not a string (it is null)"};
    QTest::newRow("output boolean at record 12")
        << "a.json"
        << "[" + QByteArray(R"({"instruction": "a", "output": "b"}, )").repeated(12) + R"({"instruction": "a", "output": true}])"
        << F::Auto << true << 0 << QStringList{"record 12: field 'output' is not a string (it is a boolean)"};
    QTest::newRow("JSONL: missing instruction on line 3")
        << "a.jsonl" << QByteArray("{\"instruction\": \"a\", \"output\": \"b\"}\n\n{\"output\": \"b\"}\n") << F::Auto << true
        << 0 << QStringList{"line 3: field 'instruction' is missing"};
    QTest::newRow("JSONL: number on line 2")
        << "a.jsonl" << QByteArray("{\"instruction\": \"a\", \"output\": \"b\"}\n{\"instruction\": \"a\", \"output\": 1.5}\n")
        << F::Auto << true << 0 << QStringList{"line 2: field 'output' is not a string (it is a number)"};
    QTest::newRow("JSONL: array on a line") << "a.jsonl" << QByteArray("[{\"instruction\": \"a\", \"output\": \"b\"}]\n")
                                            << F::AlpacaJsonl << true << 0
                                            << QStringList{"line 1: expected an object", "found an array"};
    QTest::newRow("JSONL: invalid line 3") << "a.jsonl"
                                           << QByteArray("{\"instruction\": \"a\", \"output\": \"b\"}\n\n{\"instruction\": }\n")
                                           << F::Auto << true << 0
                                           << QStringList{"line 3: invalid JSON", "at column 17"};
    QTest::newRow("JSONL: two records on one line")
        << "a.jsonl" << QByteArray("{\"instruction\": \"a\", \"output\": \"b\"} {\"instruction\": \"a\", \"output\": \"b\"}\n")
        << F::Auto << true << 0 << QStringList{"line 1: invalid JSON", "end of input"};
    QTest::newRow("non-UTF-8 text") << "a.txt" << QByteArray("ok\n\xC3(") << F::Auto << true << 0
                                    << QStringList{"invalid UTF-8 at byte 3 (line 2)"};
    QTest::newRow("non-UTF-8 JSON") << "a.json" << QByteArray("[{\"instruction\": \"\xFF\", \"output\": \"b\"}]") << F::Auto
                                    << true << 0 << QStringList{"invalid UTF-8 at byte 18 (line 1)", "0xFF"};
    QTest::newRow("non-UTF-8 JSONL") << "a.jsonl" << QByteArray("{\"instruction\": \"a\", \"output\": \"b\"}\n{\"output\": \"\xED\xA0\x80\"}")
                                     << F::Auto << true << 0 << QStringList{"invalid UTF-8 at byte", "(line 2)", "surrogate"};
    QTest::newRow("non-UTF-8 WikiText") << "w.raw" << QByteArray(" = A = \n\x80") << F::Auto << true << 0
                                        << QStringList{"invalid UTF-8 at byte 8 (line 2)"};
    QTest::newRow(".npy float32") << "f.npy"
                                  << npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", QByteArray(8, '\0'))
                                  << F::Auto << false << 0 << QStringList{"floating-point", "'<f4'"};
    QTest::newRow(".npy rank 2") << "r.npy"
                                 << npyBytes("{'descr': '<i4', 'fortran_order': False, 'shape': (2, 2), }", QByteArray(16, '\0'))
                                 << F::Auto << false << 0 << QStringList{"shape (2, 2)", "1-D"};
    QTest::newRow("odd .bin") << "o.bin" << QByteArray("\x01\x00\x02\x00\x03", 5) << F::Auto << false << 0
                              << QStringList{"odd number of bytes (5)", "uint16"};
    QTest::newRow("odd .bin of one byte") << "o.bin" << QByteArray("\x01", 1) << F::Auto << false << 0
                                          << QStringList{"odd number of bytes (1)"};
    QTest::newRow(".bin ids beyond vocab") << "v.bin" << binBytes({1, 2, 50257, 3}) << F::Auto << false << 50257
                                           << QStringList{"token id 50257 at index 2", "vocabulary [0, 50257)"};
    QTest::newRow("text ids beyond vocab") << "v.txt" << QByteArray("hello\n") << F::Auto << true << 100
                                           << QStringList{"token id 256 at index 0", "vocabulary [0, 100)"};
    QTest::newRow("Alpaca EOS beyond vocab")
        << "v.json" << QByteArray(R"([{"instruction": "a", "output": "b"}])") << F::Auto << true << 257
        << QStringList{"token id 257 at index", "vocabulary [0, 257)"};
    QTest::newRow("JSON without tokenizer") << "a.json" << QByteArray(R"([{"instruction": "a", "output": "b"}])")
                                            << F::Auto << false << 0 << QStringList{"alpaca-json data needs a tokenizer"};
    QTest::newRow("WikiText without tokenizer") << "a.raw" << QByteArray(" = A = \n") << F::Auto << false << 0
                                                << QStringList{"wikitext data needs a tokenizer"};
    QTest::newRow("missing .jsonl") << "missing.jsonl" << QByteArray() << F::Auto << true << 0
                                    << QStringList{"does not exist"};
}

void TestData::badInputs() {
    QFETCH(bool, withTokenizer);
    QFETCH(int, vocabSize);
    QFETCH(QStringList, fragments);
    const RowFile row = rowFileToLoad();
    if (row.path.isEmpty())
        return;
    const QString message = errorOf([&] {
        ls::loadDataset(row.path.toStdString(), withTokenizer ? &*tokenizer_ : nullptr, vocabSize, row.options);
    });
    QVERIFY2(message.startsWith(row.path + ": "), qPrintable("no error naming the file: " + message));
    for (const QString& fragment : fragments) QVERIFY2(message.contains(fragment), qPrintable(message));
}

void TestData::templateErrors() {
    QVERIFY(tokenizer_);
    const QString path = newPath("a.json");
    QVERIFY(writeFile(path, R"([{"instruction": "a", "output": "b"}])"));
    const auto load = [&](const std::string& withInput, const std::string& withoutInput) {
        ls::DatasetOptions options;
        options.promptTemplate = withInput;
        options.promptTemplateNoInput = withoutInput;
        return errorOf([&] { ls::loadDataset(path.toStdString(), &*tokenizer_, 0, options); });
    };
    QString message = load("Answer: {input}", ls::kAlpacaTemplateNoInput);
    QVERIFY2(message.startsWith("prompt-template: ") && message.contains("{instruction}"), qPrintable(message));
    message = load(ls::kAlpacaTemplate, "no placeholders");
    QVERIFY2(message.startsWith("prompt-template-no-input: "), qPrintable(message));
    QVERIFY2(load("{instruction}", "{output}").isEmpty(), "one placeholder is enough");

    // templates only matter for Alpaca data
    const QString text = newPath("a.txt");
    QVERIFY(writeFile(text, "hello\n"));
    ls::DatasetOptions options;
    options.promptTemplate = "";
    QVERIFY(errorOf([&] { ls::loadDataset(text.toStdString(), &*tokenizer_, 0, options); }).isEmpty());
}

// ---- windows over documents -------------------------------------------------------------

void TestData::windowsOverDocuments_data() {
    QTest::addColumn<QString>("key");
    for (const DocumentWindowCase& c : documentWindowCases()) QTest::newRow(qPrintable(c.key())) << c.key();
}

void TestData::windowsOverDocuments() {
    QFETCH(QString, key);
    const std::vector<DocumentWindowCase> cases = documentWindowCases();
    const auto c = std::find_if(cases.begin(), cases.end(), [&](const DocumentWindowCase& x) { return x.key() == key; });
    QVERIFY(c != cases.end());
    QVERIFY(documentWindowReference_.contains(key));
    ls::WindowParams params;
    params.seqLen = c->seqLen;
    params.stride = c->stride;
    params.maxTokens = c->maxTokens;
    params.maxWindows = c->maxWindows;
    params.respectDocuments = c->respect;
    const std::vector<int64_t> starts = c->starts();
    const std::vector<ls::Window> windows = ls::makeWindows(c->total(), starts, params);
    QCOMPARE(describe(windows), documentWindowReference_.value(key));

    // invariants: a window never crosses a document boundary when documents are respected
    if (c->maxWindows > 0) QVERIFY(int64_t(windows.size()) <= c->maxWindows);
    const int64_t used = c->maxTokens > 0 ? std::min(c->total(), c->maxTokens) : c->total();
    for (const ls::Window& w : windows) {
        QVERIFY(w.begin + w.length <= used);
        if (!c->respect) continue;
        const auto document = std::upper_bound(starts.begin(), starts.end(), w.begin) - 1;
        const int64_t documentEnd = document + 1 == starts.end() ? c->total() : *(document + 1);
        QVERIFY2(w.begin + w.length <= documentEnd, qPrintable(QString("window at %1 crosses a boundary").arg(w.begin)));
    }
    // packed windows are the single-stream windows
    if (!c->respect && c->maxWindows == 0)
        QCOMPARE(describe(windows), describe(ls::makeWindows(c->total(), {c->seqLen, c->stride, c->maxTokens})));
}

namespace {

// The columns a windows-by-hand row starts with: the documents' starts, the token count and
// the window options.
void addWindowOptionColumns() {
    QTest::addColumn<QVector<qint64>>("starts");
    QTest::addColumn<qint64>("n");
    QTest::addColumn<int>("seqLen");
    QTest::addColumn<int>("stride");
    QTest::addColumn<qint64>("maxTokens");
    QTest::addColumn<qint64>("maxWindows");
    QTest::addColumn<bool>("respect");
}

// A row of those columns; the test's expectation follows with <<.
QTestData& windowRow(const char* tag, const QVector<qint64>& starts, qint64 n, int seqLen, int stride, qint64 maxTokens,
                     qint64 maxWindows, bool respect) {
    return QTest::newRow(tag) << starts << n << seqLen << stride << maxTokens << maxWindows << respect;
}

struct WindowRow {
    std::vector<int64_t> starts;
    qint64 n;
    ls::WindowParams params;
};

// The current row's starts, token count and options.
WindowRow fetchWindowRow() {
    QFETCH(QVector<qint64>, starts);
    QFETCH(qint64, n);
    QFETCH(int, seqLen);
    QFETCH(int, stride);
    QFETCH(qint64, maxTokens);
    QFETCH(qint64, maxWindows);
    QFETCH(bool, respect);
    return {std::vector<int64_t>(starts.begin(), starts.end()), n, {seqLen, stride, maxTokens, maxWindows, respect}};
}

}  // namespace

void TestData::windowsOverDocumentsByHand_data() {
    addWindowOptionColumns();
    QTest::addColumn<QString>("windows");  // "begin,length,firstScored;..."
    const QVector<qint64> three{0, 5, 12};
    windowRow("respected: 1-token tail of doc 0 dropped", three, 20, 4, 0, 0, 0, true)
        << "0,4,1;5,4,1;9,3,1;12,4,1;16,4,1";
    windowRow("packed: across boundaries", three, 20, 4, 0, 0, 0, false) << "0,4,1;4,4,1;8,4,1;12,4,1;16,4,1";
    windowRow("maxWindows 2, respected", three, 20, 4, 0, 0, 2, true) << "0,4,1;5,4,1";
    windowRow("maxWindows 3, packed", three, 20, 4, 0, 0, 3, false) << "0,4,1;4,4,1;8,4,1";
    windowRow("maxTokens cuts doc 1", three, 20, 4, 0, 7, 0, true) << "0,4,1;5,2,1";
    windowRow("maxTokens at a boundary", three, 20, 4, 0, 12, 0, true) << "0,4,1;5,4,1;9,3,1";
    const QVector<qint64> four{0, 1, 3, 10};
    windowRow("stride 2 inside documents", four, 11, 4, 2, 0, 0, true) << "1,2,1;3,4,1;5,4,2;7,3,2";
    windowRow("stride 2 packed", four, 11, 4, 2, 0, 0, false) << "0,4,1;2,4,2;4,4,2;6,4,2;8,3,2";
    windowRow("no document starts: one stream", QVector<qint64>{}, 10, 4, 0, 0, 0, true) << "0,4,1;4,4,1;8,2,1";
    windowRow("all documents of one token", QVector<qint64>{0, 1, 2}, 3, 4, 0, 0, 0, true) << "";
}

void TestData::windowsOverDocumentsByHand() {
    QFETCH(QString, windows);
    WindowRow row = fetchWindowRow();
    ls::WindowParams& params = row.params;
    const std::vector<int64_t>& documentStarts = row.starts;
    const qint64 n = row.n;
    QCOMPARE(describe(ls::makeWindows(n, documentStarts, params)).section('|', 0, 0), windows);

    // and the checks on options and starts
    params.maxWindows = -1;
    QVERIFY(errorOf([&] { ls::makeWindows(n, documentStarts, params); }).startsWith("max-windows: "));
    params.maxWindows = 0;
    QVERIFY(!errorOf([&] { ls::makeWindows(n, {0, 5, 3}, params); }).isEmpty());
    QVERIFY(!errorOf([&] { ls::makeWindows(n, {2, 5}, params); }).isEmpty());
}

void TestData::summarizeByHand_data() {
    addWindowOptionColumns();
    QTest::addColumn<QVector<qint64>>("summary");  // documents, tokens, windows, scored
    const QVector<qint64> three{0, 5, 12};
    const QVector<qint64> four{0, 1, 3, 10};
    // windows 0-3 | 5-8, 9-11 | 12-15, 16-19: token 4 is in no window
    windowRow("respected chunks", three, 20, 4, 0, 0, 0, true) << QVector<qint64>{3, 19, 5, 14};
    // 5 windows of 4 over 0-19: every token, 5 x 3 predictions
    windowRow("packed chunks", three, 20, 4, 0, 0, 0, false) << QVector<qint64>{3, 20, 5, 15};
    // doc 0 (1 token) and doc 3 (1 token) have no window; 1,2,1 | 3,4,1; 5,4,2; 7,3,2 -> 1 + 3 + 2 + 1
    windowRow("stride 2, respected", four, 11, 4, 2, 0, 0, true) << QVector<qint64>{2, 9, 4, 7};
    // overlapping windows over 0-10 cover all 11 tokens and score each after the first once
    windowRow("stride 2, packed", four, 11, 4, 2, 0, 0, false) << QVector<qint64>{4, 11, 5, 10};
    // 1,2,1 and 3,4,1: tokens 1-6
    windowRow("stride 2, respected, 2 windows", four, 11, 4, 2, 0, 2, true) << QVector<qint64>{2, 6, 2, 4};
    // 6 tokens: 1,2,1 and 3,3,1
    windowRow("stride 2, respected, 6 tokens", four, 11, 4, 2, 6, 0, true) << QVector<qint64>{2, 5, 2, 3};
    // one window 0-7 over docs [0,4) and [4,8); the empty document between them does not count
    windowRow("empty document not counted", QVector<qint64>{0, 4, 4}, 8, 8, 0, 0, 0, false)
        << QVector<qint64>{2, 8, 1, 7};
    windowRow("no windows", QVector<qint64>{0, 1}, 2, 4, 0, 0, 0, true) << QVector<qint64>{0, 0, 0, 0};
}

void TestData::summarizeByHand() {
    QFETCH(QVector<qint64>, summary);
    const WindowRow row = fetchWindowRow();
    const std::vector<ls::Window> windows = ls::makeWindows(row.n, row.starts, row.params);
    const ls::WindowSummary s = ls::summarizeWindows(windows, row.starts);
    QCOMPARE((QVector<qint64>{s.documents, s.tokens, s.windows, s.scoredTokens}), summary);
}

QTEST_GUILESS_MAIN(TestData)
#include "test_data.moc"
