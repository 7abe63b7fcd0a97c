#include "prompt_view.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QMouseEvent>
#include <QPainter>
#include <QScrollArea>
#include <QScrollBar>
#include <QSplitter>
#include <QTabWidget>
#include <QTableWidget>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>

#include "analysis/heads.h"
#include "kit/format.h"
#include "kit/grid_heatmap.h"
#include "kit/palette.h"
#include "token_preview_view.h"

namespace ls::widgets {

namespace {

QString fromStd(const std::string& s) { return QString::fromStdString(s); }

// A token for labels: its text (or #id) with whitespace made visible, as the dataset preview shows it.
QString tokenText(const std::string& text) { return TokenPreviewView::visibleWhitespace(fromStd(text)); }

QStringList positionLabels(const std::vector<std::string>& tokens) {
    QStringList labels;
    for (size_t i = 0; i < tokens.size(); ++i) labels << QStringLiteral("%1 %2").arg(tokenText(tokens[i])).arg(i);
    return labels;
}

// The per-head summaries, in the order of the chooser.
struct SummaryMetric {
    const char* name;
    double ls::HeadPatternSummary::*field;
    bool probability;  // 0..1 (else nats)
};
const SummaryMetric kMetrics[] = {{"induction", &ls::HeadPatternSummary::induction, true},
                                  {"previous token", &ls::HeadPatternSummary::previousToken, true},
                                  {"duplicate token", &ls::HeadPatternSummary::duplicateToken, true},
                                  {"first token", &ls::HeadPatternSummary::firstToken, true},
                                  {"entropy (nats)", &ls::HeadPatternSummary::entropy, false}};

constexpr int kThumb = 52;   // thumbnail side, pixels
constexpr int kGap = 6;
constexpr int kLabelWidth = 56, kLabelHeight = 18;

}  // namespace

// ---- thumbnails -------------------------------------------------------------------------------

PatternGrid::PatternGrid(QWidget* parent) : QWidget(parent) { setMouseTracking(true); }

void PatternGrid::setPatterns(const ls::AttentionPatterns* patterns) {
    patterns_ = patterns;
    images_.clear();
    if (patterns) {
        const int T = patterns->tokens;
        QCPColorGradient gradient = palette::sequentialGradient();  // (color() is not const) the large pattern's colours
        for (int l = 1; l <= patterns->numLayers; ++l)
            for (int h = 0; h < patterns->numHeads; ++h) {
                QImage image(T, T, QImage::Format_RGB32);
                for (int i = 0; i < T; ++i)
                    for (int j = 0; j < T; ++j)
                        image.setPixel(j, i, j <= i ? gradient.color(patterns->weight(l, h, i, j), QCPRange(0, 1)) : palette::kNoValue.rgb());
                images_.push_back(image);
            }
    }
    adjustSize();  // in its scroll area, which does not follow a widget's size hint by itself
    update();
}

void PatternGrid::pick(int layer, int head) {
    pickedLayer_ = layer;
    pickedHead_ = head;
    update();
}

QSize PatternGrid::sizeHint() const {
    if (!patterns_) return {200, 200};
    return {kLabelWidth + patterns_->numHeads * (kThumb + kGap), kLabelHeight + patterns_->numLayers * (kThumb + kGap)};
}

QRect PatternGrid::cellRect(int layer, int head) const {
    return {kLabelWidth + head * (kThumb + kGap), kLabelHeight + (layer - 1) * (kThumb + kGap), kThumb, kThumb};
}

bool PatternGrid::headAt(const QPoint& pos, int* layer, int* head) const {
    if (!patterns_) return false;
    for (int l = 1; l <= patterns_->numLayers; ++l)
        for (int h = 0; h < patterns_->numHeads; ++h)
            if (cellRect(l, h).contains(pos)) {
                *layer = l;
                *head = h;
                return true;
            }
    return false;
}

void PatternGrid::paintEvent(QPaintEvent*) {
    QPainter p(this);
    if (!patterns_) return;
    p.setPen(palette().color(QPalette::WindowText));
    for (int h = 0; h < patterns_->numHeads; ++h)
        p.drawText(QRect(cellRect(1, h).left(), 0, kThumb, kLabelHeight), Qt::AlignCenter, tr("head %1").arg(h));
    for (int l = 1; l <= patterns_->numLayers; ++l) {
        p.drawText(QRect(0, cellRect(l, 0).top(), kLabelWidth - 6, kThumb), Qt::AlignRight | Qt::AlignVCenter, tr("block %1").arg(l));
        for (int h = 0; h < patterns_->numHeads; ++h)
            p.drawImage(cellRect(l, h), images_[size_t(l - 1) * patterns_->numHeads + h]);
    }
    if (pickedLayer_ >= 1) {
        p.setPen(QPen(palette::kSelection, 3));
        p.drawRect(cellRect(pickedLayer_, pickedHead_).adjusted(-2, -2, 2, 2));
    }
}

void PatternGrid::mousePressEvent(QMouseEvent* event) {
    int layer = 0, head = 0;
    if (event->button() == Qt::LeftButton && headAt(event->position().toPoint(), &layer, &head)) emit headClicked(layer, head);
}

// ---- the view ---------------------------------------------------------------------------------

PromptView::PromptView(QWidget* parent)
    : ResultViewOf(tr("One prompt under the microscope: the attention pattern of every head (query rows, key columns) "
                      "with per-head summaries, and the direct logit attribution of one token at one position: each "
                      "head's and MLP's share of its logit through the final norm frozen at that position."),
                   &ls::promptTables, parent) {
    summaryChoice_ = new QComboBox(this);
    summaryChoice_->setObjectName(QStringLiteral("promptHeadSummary"));
    for (const SummaryMetric& m : kMetrics) summaryChoice_->addItem(tr(m.name));
    summaryChoice_->setToolTip(tr("Per-head summary, a mean over query positions 1..T-1: induction = attention to the token "
                                  "after an earlier copy of the current token; duplicate = to earlier copies of it"));
    addHeaderControl(summaryChoice_);
    connect(summaryChoice_, &QComboBox::currentIndexChanged, this, [this] { drawHeadSummary(); });

    pages_ = new QTabWidget(this);
    // Attention: thumbnails | the picked pattern, over the summary heatmap.
    auto* attention = new QSplitter(Qt::Horizontal, pages_);
    thumbnails_ = new QScrollArea(attention);
    grid_ = new PatternGrid(thumbnails_);
    thumbnails_->setWidget(grid_);
    thumbnails_->setWidgetResizable(false);
    auto* right = new QSplitter(Qt::Vertical, attention);
    pattern_ = addChart(QStringLiteral("attention_pattern"),
                        new GridHeatmap(tr("Attention pattern"), tr("key (attended to)"), tr("query"), GridHeatmap::Scale::Sequential, right));
    pattern_->setScaleLabel(tr("weight"));
    headSummary_ = addChart(QStringLiteral("attention_summary"),
                            new GridHeatmap(tr("Per head"), tr("head"), tr("block"), GridHeatmap::Scale::Sequential, right));
    right->addWidget(pattern_);
    right->addWidget(headSummary_);
    right->setStretchFactor(0, 3);
    right->setStretchFactor(1, 2);
    attention->addWidget(thumbnails_);
    attention->addWidget(right);
    attention->setStretchFactor(1, 1);
    pages_->addTab(attention, tr("Attention"));

    // Logit attribution: the heatmap | the picked component's tokens, over the largest shares.
    auto* dla = new QSplitter(Qt::Horizontal, pages_);
    attribution_ = addChart(QStringLiteral("logit_attribution"),
                            new GridHeatmap(tr("Direct logit attribution"), tr("head"), tr("block"), GridHeatmap::Scale::Diverging, dla));
    attribution_->setScaleLabel(tr("share of the logit"));
    auto* tables = new QWidget(dla);
    auto* tablesLayout = new QVBoxLayout(tables);
    tablesLayout->setContentsMargins(0, 0, 0, 0);
    tokens_ = makeCaptionedTable(tables, tr("<b>Tokens it moves most</b>"), {tr("promotes"), tr("logit"), tr("suppresses"), tr("logit")});
    components_ = makeCaptionedTable(tables, tr("<b>Largest shares</b>"), {tr("component"), tr("share")});
    addCaptionedTable(tablesLayout, tokens_, 1);
    addCaptionedTable(tablesLayout, components_, 1);
    dla->addWidget(attribution_);
    dla->addWidget(tables);
    dla->setStretchFactor(0, 3);
    dla->setStretchFactor(1, 2);
    pages_->addTab(dla, tr("Logit attribution"));
    setBody(pages_);

    connect(grid_, &PatternGrid::headClicked, this, &PromptView::showPattern);
    connect(headSummary_, &GridHeatmap::cellClicked, this, [this](int row, int column) { showPattern(row + 1, column); });
    connect(attribution_, &GridHeatmap::cellClicked, this, [this](int row, int column) {
        if (const int i = componentAt(row, column); i >= 0) showComponent(size_t(i));
    });
    connect(components_.table, &QTableWidget::cellClicked, this, [this](int row, int) {
        if (auto* item = components_.table->item(row, 0)) showComponent(item->data(Qt::UserRole).toULongLong());
    });
    pattern_->setHoverText([this](int row, int column) {
        if (!result_) return QString();
        const auto& tokens = result_->tokenTexts;
        const QString pair = tr("query %1 '%2' → key %3 '%4'")
                                 .arg(row).arg(tokenText(tokens[size_t(row)])).arg(column).arg(tokenText(tokens[size_t(column)]));
        return column > row ? pair + tr(": masked (a later position)")
                            : pair + tr(": %1").arg(formatNumber(result_->attention.weight(layer_, head_, row, column), 4));
    });
    headSummary_->setHoverText([this](int row, int column) {
        const double v = headSummary_->valueAt(row, column);
        return tr("%1 (block %2, head %3): %4")
            .arg(fromStd(ls::headName({row + 1, column})))
            .arg(row + 1)
            .arg(column)
            .arg(std::isfinite(v) ? formatNumber(v, 3) : tr("no position qualifies"));
    });
    attribution_->setHoverText([this](int row, int column) {
        const int i = componentAt(row, column);
        if (i < 0) return QString();
        const ls::LogitComponent& c = result_->attribution.components[size_t(i)];
        return tr("%1: %2 of the logit").arg(fromStd(ls::componentLabel(c)), formatSigned(c.value, 4));
    });
    showResult();
}

QString PromptView::summaryText() const {
    if (!result_) return {};
    const ls::LogitAttribution& d = result_->attribution;
    const QString source = d.tokenSource == "target"       ? tr("the prompt's next token")
                           : d.tokenSource == "prediction" ? tr("the model's top prediction")
                                                           : tr("chosen");
    double embeddings = 0;
    for (const ls::LogitComponent& c : d.components)
        if (c.kind == ls::LogitComponent::Kind::Embeddings) embeddings = c.value;
    return tr("%1 tokens · logit of <b>%2</b> (%3) at position %4 '%5': %6 = %7 from the components (embeddings %8) "
              "%9 from the final norm's bias")
        .arg(result_->prompt.ids.size())
        .arg(tokenText(result_->chosenTokenText).toHtmlEscaped(), source)
        .arg(d.position)
        .arg(tokenText(result_->tokenTexts[size_t(d.position)]).toHtmlEscaped())
        .arg(formatNumber(d.logit, 3), formatNumber(d.componentsSum, 3), formatSigned(embeddings, 3), formatSigned(d.finalNormBias, 3));
}

void PromptView::showResult() {
    if (!result_) {
        setSummary({});
        grid_->setPatterns(nullptr);
        pattern_->clearGrid();
        headSummary_->clearGrid();
        attribution_->clearGrid();
        tokens_.table->setRowCount(0);
        components_.table->setRowCount(0);
        return;
    }
    setSummary(summaryText());
    grid_->setPatterns(&result_->attention);
    // Thumbnails whole, up to half the view (the scroll area takes the rest).
    thumbnails_->setMinimumWidth(std::min(grid_->sizeHint().width() + thumbnails_->verticalScrollBar()->sizeHint().width() + 4, std::max(width() / 2, 360)));
    // The head with the highest induction score first (the copying heads), else block 1 head 0.
    int layer = 1, head = 0;
    double best = -1;
    for (const ls::HeadPatternSummary& s : result_->attention.summaries)
        if (std::isfinite(s.induction) && s.induction > best) best = s.induction, layer = s.layer, head = s.head;
    showPattern(layer, head);
    drawHeadSummary();
    drawAttribution();
}

void PromptView::showPattern(int layer, int head) {
    if (!result_) return;
    layer_ = layer;
    head_ = head;
    const ls::AttentionPatterns& a = result_->attention;
    std::vector<double> values(size_t(a.tokens) * a.tokens);
    for (int i = 0; i < a.tokens; ++i)
        for (int j = 0; j < a.tokens; ++j)
            values[size_t(i) * a.tokens + j] = j <= i ? a.weight(layer, head, i, j) : std::nan("");
    const QStringList labels = positionLabels(result_->tokenTexts);
    pattern_->setGrid(a.tokens, a.tokens, values, labels, labels, 1.0);
    pattern_->setTitle(tr("Attention of block %1 head %2 (%3)").arg(layer).arg(head).arg(fromStd(ls::headName({layer, head}))));
    grid_->pick(layer, head);
    headSummary_->outlineCell(layer - 1, head);
}

void PromptView::drawHeadSummary() {
    if (!result_) return;
    const SummaryMetric& m = kMetrics[std::max(0, summaryChoice_->currentIndex())];
    const ls::AttentionPatterns& a = result_->attention;
    std::vector<double> values(size_t(a.numLayers) * a.numHeads, std::nan(""));
    for (const ls::HeadPatternSummary& s : a.summaries) values[size_t(s.layer - 1) * a.numHeads + s.head] = s.*(m.field);
    QStringList rows, columns;
    for (int l = 1; l <= a.numLayers; ++l) rows << QString::number(l);
    for (int h = 0; h < a.numHeads; ++h) columns << QString::number(h);
    headSummary_->setGrid(a.numLayers, a.numHeads, values, rows, columns, m.probability ? 1.0 : 0.0);
    headSummary_->setTitle(tr("Per head: %1").arg(tr(m.name)));
    headSummary_->setScaleLabel(tr(m.name));
    headSummary_->outlineCell(layer_ - 1, head_);
}

int PromptView::componentAt(int row, int column) const {
    if (!result_) return -1;
    const auto& components = result_->attribution.components;
    const int H = result_->attention.numHeads;
    for (size_t i = 0; i < components.size(); ++i) {
        const ls::LogitComponent& c = components[i];
        if (c.layer != row + 1) continue;
        if ((c.kind == ls::LogitComponent::Kind::Head && c.head == column) ||
            (c.kind == ls::LogitComponent::Kind::AttentionBias && column == H) ||
            (c.kind == ls::LogitComponent::Kind::Mlp && column == H + (hasBias_ ? 1 : 0)))
            return int(i);
    }
    return -1;
}

void PromptView::drawAttribution() {
    const ls::LogitAttribution& d = result_->attribution;
    const int L = result_->attention.numLayers, H = result_->attention.numHeads;
    hasBias_ = std::any_of(d.components.begin(), d.components.end(),
                           [](const ls::LogitComponent& c) { return c.kind == ls::LogitComponent::Kind::AttentionBias; });
    const int columns = H + (hasBias_ ? 2 : 1);
    std::vector<double> values(size_t(L) * columns, std::nan(""));
    for (int row = 0; row < L; ++row)
        for (int column = 0; column < columns; ++column)
            if (const int i = componentAt(row, column); i >= 0) values[size_t(row) * columns + column] = d.components[size_t(i)].value;
    QStringList rowLabels, columnLabels;
    for (int l = 1; l <= L; ++l) rowLabels << QString::number(l);
    for (int h = 0; h < H; ++h) columnLabels << QString::number(h);
    if (hasBias_) columnLabels << tr("bias");
    columnLabels << tr("MLP");
    attribution_->setGrid(L, columns, values, rowLabels, columnLabels);
    attribution_->setTitle(tr("Logit of '%1' at position %2").arg(tokenText(result_->chosenTokenText)).arg(d.position));

    // The largest shares, by |value|.
    std::vector<size_t> order(d.components.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return std::abs(d.components[a].value) > std::abs(d.components[b].value); });
    order.resize(std::min<size_t>(order.size(), 15));
    components_.table->setRowCount(int(order.size()));
    for (size_t r = 0; r < order.size(); ++r) {
        const ls::LogitComponent& c = d.components[order[r]];
        setCell(components_.table, int(r), 0, fromStd(ls::componentLabel(c)), kTextAlign)->setData(Qt::UserRole, qulonglong(order[r]));
        setCell(components_.table, int(r), 1, formatSigned(c.value, 4));
    }
    fitColumns(components_.table);
    // The largest share's tokens first.
    if (!order.empty()) showComponent(order.front());
}

void PromptView::showComponent(size_t index) {
    if (!result_ || index >= result_->attribution.components.size()) return;
    const ls::LogitComponent& c = result_->attribution.components[index];
    tokens_.caption->setText(tr("<b>Tokens %1 moves most</b> (its direct effect on their logits)").arg(fromStd(ls::componentLabel(c)).toHtmlEscaped()));
    const size_t rows = std::max(c.promoted.size(), c.suppressed.size());
    tokens_.table->setRowCount(int(rows));
    for (size_t r = 0; r < rows; ++r) {
        for (const auto& [effects, column] : {std::pair{&c.promoted, 0}, std::pair{&c.suppressed, 2}}) {
            const bool has = r < effects->size();
            setCell(tokens_.table, int(r), column, has ? tokenText(result_->effectText((*effects)[r].id)) : QString(), kTextAlign);
            setCell(tokens_.table, int(r), column + 1, has ? formatSigned((*effects)[r].value, 3) : QString());
        }
    }
    fitColumns(tokens_.table);
    // Outline its cell.
    const int H = result_->attention.numHeads;
    const int column = c.kind == ls::LogitComponent::Kind::Head ? c.head
                       : c.kind == ls::LogitComponent::Kind::AttentionBias ? H
                       : c.kind == ls::LogitComponent::Kind::Mlp ? H + (hasBias_ ? 1 : 0)
                                                                 : -1;
    attribution_->outlineCell(column < 0 ? -1 : c.layer - 1, column);
}

}  // namespace ls::widgets
