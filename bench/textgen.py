"""Deterministic synthetic Chinese news text for the benchmark workload.

Everything here is invented: sentence fragments, outlet names and people are
combined from small word lists by a ``random.Random`` seeded with a string, so
the same ``(seed, key)`` always gives the same text, and any item can be made
on its own (no need to generate the items before it).

    rng = item_rng(7, "full", 3, 12)
    story = make_story(rng, target_bytes=5000)
    story.title, story.paragraphs, story.body_html()
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass
from html import escape

PLACES = (
    "台北", "新北", "桃園", "台中", "台南", "高雄", "花蓮", "台東", "基隆", "新竹",
    "香港", "澳門", "北京", "上海", "廣州", "深圳", "成都", "武漢", "杭州", "南京",
    "重慶", "西安", "廈門", "東京", "大阪", "首爾", "新加坡", "曼谷", "河內", "雅加達",
    "馬尼拉", "吉隆坡", "倫敦", "巴黎", "柏林", "華盛頓", "紐約", "布魯塞爾", "日內瓦", "雪梨",
)  # fmt: skip
ACTORS = (
    "市政府", "立法院", "行政院", "外交部", "經濟部", "衛生部門", "交通部門", "環保團體",
    "當地居民", "研究團隊", "工會代表", "多名學者", "業者", "消費者團體", "在野黨議員",
    "地方檢察署", "高等法院", "氣象單位", "中央銀行", "統計部門", "教育部門", "警方",
    "消防單位", "農民團體", "科技業者", "航空公司", "港務單位", "醫師公會", "家長團體",
)  # fmt: skip
ACTIONS = (
    "宣布", "表示", "指出", "證實", "呼籲", "否認", "公布", "提出", "批評", "回應",
    "強調", "坦言", "透露", "預估", "警告",
)  # fmt: skip
TOPICS = (
    "新的住房補貼方案", "跨境物流新規", "能源轉型時間表", "公共運輸票價調整", "半導體出口數據",
    "夏季用電高峰應變計畫", "食品安全抽驗結果", "青年就業輔導措施", "海岸保育計畫",
    "老舊建築耐震補強", "數位身分證試辦", "中小企業貸款展延", "颱風災後重建經費",
    "醫療人力短缺問題", "大學學費調漲爭議", "空氣品質監測報告", "捷運延伸線工程",
    "漁業資源調查", "觀光旅客人數統計", "網路詐騙防制條例", "長期照顧服務擴大",
    "再生能源躉購費率", "跨國併購審查", "農產品外銷新市場", "水庫蓄水情況",
)  # fmt: skip
EVENTS = (
    "召開記者會", "舉行公聽會", "發起連署", "完成初審", "啟動調查", "簽署合作備忘錄",
    "舉辦說明會", "提出修正草案", "展開實地勘查", "發布警報", "進行第二輪協商",
)  # fmt: skip
REACTIONS = (
    "引發各界關注", "外界看法分歧", "不少民眾表示支持", "部分業者憂心成本上升",
    "專家認為仍有調整空間", "反對聲浪持續擴大", "市場反應相對平淡", "相關單位將持續追蹤",
    "在網路上引發熱烈討論", "多數受訪者希望盡快落實",
)  # fmt: skip
UNITS = ("億元", "萬人", "公噸", "個百分點", "萬戶", "家企業", "公里", "件案件", "所學校")
SURNAMES = "陳林黃張李王吳劉蔡楊許鄭謝郭洪曾周賴徐葉"
GIVEN = "志明淑芬俊傑怡君家豪雅婷建宏美玲冠宇欣怡承翰佩珊宗翰詩涵文彬"
TITLES_OF_PEOPLE = ("發言人", "部長", "市長", "教授", "研究員", "理事長", "總經理", "議員")
OUTLET_HEADS = ("華夏", "東方", "南方", "環球", "海峽", "晨光", "明日", "大眾", "新世紀", "長風")
OUTLET_TAILS = ("日報", "新聞網", "通訊社", "電視台", "週刊", "時報", "廣播電台")
SUBHEAD_TAILS = ("的後續發展", "各方反應", "專家觀點", "背景說明", "未來走向")
SECTIONS = ("政治", "國際", "兩岸", "財經", "社會", "科技", "生活", "文化", "體育", "地方")

SENTENCES = (
    "{place}{actor}{action}，{topic}預計將於{month}月正式上路，首年預算約{num}{unit}。",
    "{person}{ptitle}接受訪問時{action}，{topic}牽涉層面廣泛，必須與各方充分溝通。",
    "根據{actor}最新統計，今年前{month}個月相關案件較去年同期增加{pct}%，{reaction}。",
    "{place}方面在{day}日{event}，針對{topic}交換意見，{reaction}。",
    "{actor}{action}，若情況持續惡化，不排除進一步採取限制措施。",
    "對此，{person}表示：「我們會在{num}天內提出具體方案，並向社會大眾說明。」",
    "有分析指出，{topic}的影響可能延續到明年，{place}與{place2}的業者首當其衝。",
    "{place}一名{age}歲的民眾說，過去{years}年來生活成本不斷上漲，{reaction}。",
    "數據顯示，相關指標已連續{month}個月上升，累計增幅達{pct}%。",
    "{actor}稍早{event}，會中多名代表對{topic}提出質疑，要求補充說明。",
    "{person}{ptitle}強調，政府有責任確保資訊公開透明，{reaction}。",
    "至於外界關心的經費來源，{actor}{action}，將由中央與地方共同分擔。",
    "{place2}的觀察人士則認為，{topic}短期內難以看到明顯成效。",
    "報導指出，{place}在{month}月{day}日曾發生類似事件，造成約{num}{unit}的損失。",
)  # fmt: skip
TITLES = (
    "{place}{actor}{action}{topic}",
    "{topic}爭議延燒 {actor}{event}",
    "{place}{num}{unit}受影響 {actor}{action}將檢討",
    "{person}：{topic}不會再拖延",
    "{place}{event} {topic}進入關鍵階段",
    "{actor}{action}{topic} {reaction}",
)  # fmt: skip


def item_rng(seed: int, *parts: object) -> random.Random:
    """An independent, deterministic generator for one item (string seeding is stable)."""
    return random.Random(":".join(str(p) for p in (seed, *parts)))


def person(rng: random.Random) -> str:
    a = rng.randrange(0, len(GIVEN), 2)
    return rng.choice(SURNAMES) + GIVEN[a : a + 2]


def outlet_name(seed: int, index: int) -> str:
    rng = item_rng(seed, "outlet", index)
    return f"(模擬){rng.choice(OUTLET_HEADS)}{rng.choice(OUTLET_TAILS)}{index + 1:03d}"


def _slots(rng: random.Random) -> dict[str, object]:
    place, place2 = rng.sample(PLACES, 2)
    return {
        "place": place,
        "place2": place2,
        "actor": rng.choice(ACTORS),
        "action": rng.choice(ACTIONS),
        "topic": rng.choice(TOPICS),
        "event": rng.choice(EVENTS),
        "reaction": rng.choice(REACTIONS),
        "unit": rng.choice(UNITS),
        "person": person(rng),
        "ptitle": rng.choice(TITLES_OF_PEOPLE),
        "num": rng.randint(2, 980),
        "pct": f"{rng.uniform(0.5, 48):.1f}",
        "month": rng.randint(1, 12),
        "day": rng.randint(1, 28),
        "age": rng.randint(19, 86),
        "years": rng.randint(2, 30),
    }


def sentence(rng: random.Random) -> str:
    return rng.choice(SENTENCES).format(**_slots(rng))


def title(rng: random.Random) -> str:
    return rng.choice(TITLES).format(**_slots(rng))


@dataclass(frozen=True, slots=True)
class Story:
    """One invented article: a title, a byline and plain-text paragraphs."""

    title: str
    author: str
    section: str
    place: str
    paragraphs: tuple[str, ...]
    subheads: tuple[tuple[int, str], ...]  # (paragraph index, heading) pairs
    figure_at: int  # paragraph index followed by a figure; -1 = none

    def summary(self, limit: int = 120) -> str:
        """The first sentences, at most about ``limit`` characters (a teaser)."""
        first = self.paragraphs[0]
        cut = first.find("。", min(len(first) - 1, limit // 2))
        return first[: cut + 1] if 0 <= cut < limit else first[:limit] + "…"

    def text(self) -> str:
        return "\n".join(self.paragraphs)

    def body_html(self, image_base: str = "https://img.example.invalid") -> str:
        """The article body as clean, realistic HTML (paragraphs, subheads, a figure)."""
        out: list[str] = []
        heads = dict(self.subheads)
        for i, para in enumerate(self.paragraphs):
            if i in heads:
                out.append(f"<h2>{escape(heads[i])}</h2>")
            if i == 1:
                para = f"<strong>{escape(para[:10])}</strong>{escape(para[10:])}"
                out.append(f"<p>{para}</p>")
            else:
                out.append(f"<p>{escape(para)}</p>")
            if i == self.figure_at:
                pic = f"{image_base}/{zlib.crc32(self.title.encode()) % 99991:05d}.jpg"
                out.append(
                    f'<figure><img src="{pic}" alt="{escape(self.place)}現場" width="800" '
                    f'height="450"><figcaption>{escape(self.place)}現場畫面。'
                    f"（資料照片）</figcaption></figure>"
                )
        return "\n".join(out)


def paragraph(rng: random.Random) -> str:
    return "".join(sentence(rng) for _ in range(rng.randint(2, 5)))


def paragraph_pool(seed: int, size: int = 4000) -> tuple[str, ...]:
    """Pre-made paragraphs, for generating very many stories quickly."""
    rng = item_rng(seed, "pool", size)
    return tuple(paragraph(rng) for _ in range(size))


def make_story(rng: random.Random, target_bytes: int, pool: tuple[str, ...] | None = None) -> Story:
    """A story whose body HTML is about ``target_bytes`` of UTF-8 (±10%).

    With ``pool`` the paragraphs are drawn from it (about 50× faster); the title,
    byline and lead are still made for this story alone.
    """
    slots = _slots(rng)
    paragraphs: list[str] = []
    size = 0
    lead = f"（{slots['place']}{slots['day']}日綜合報導）"
    while size < target_bytes * 0.93 or len(paragraphs) < 2:
        para = rng.choice(pool) if pool else paragraph(rng)
        if not paragraphs:
            para = lead + para
        paragraphs.append(para)
        size += len(para.encode()) + 8
    n = len(paragraphs)
    picks = sorted(rng.sample(range(2, n), 2)) if n > 4 else []
    subheads = tuple((i, rng.choice(TOPICS) + rng.choice(SUBHEAD_TAILS)) for i in picks)
    return Story(
        title=title(rng),
        author=f"記者{person(rng)}",
        section=rng.choice(SECTIONS),
        place=str(slots["place"]),
        paragraphs=tuple(paragraphs),
        subheads=subheads,
        figure_at=rng.randrange(n) if rng.random() < 0.6 else -1,
    )
