"""The news of the demo site: its feeds, the stories they tell and the items of each feed.

:data:`FEEDS` lists the demo feeds (format, language, charset, full text or summary).
The stories are invented for this project: eight topics written in Traditional and
Simplified Chinese and in English, and the words of each language (fictional cities,
metro lines, the page chrome :data:`CHROME`). :func:`feed_items` makes the items of one
feed from them: title, link, guid, summary, dates, categories and the article HTML. It
is pure and deterministic: the same arguments always give the same items.

The items carry the quirks real feeds have: a relative link, a lazy image, an undated
item, an item dated in the future, a title with 「」：[] and quotes, an HTML entity left
escaped in a title, a tracking query, keyword-tag and "more articles" chrome inside full
text, and a category to filter on (:data:`DEMO_FILTER_CATEGORY`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from html import escape, unescape
from typing import NamedTuple

__all__ = ["CHROME", "DEMO_FILTER_CATEGORY", "FEEDS", "TZ8", "Feed", "Item", "feed_items"]

DEMO_FILTER_CATEGORY = "廣編特輯"  # an advertorial item in demo-cna carries it
TZ8 = timezone(timedelta(hours=8))
_LAZY_GIF = "data:image/gif;base64,R0lGODlhAQABAAAAACH5BAEAAAAALAAAAAABAAEAAAIBAAA="


class Feed(NamedTuple):
    slug: str
    name: str
    path: str
    kind: str  # rss20, rss10, rss091, atom10, atom03, json11
    lang: str  # tc, sc, en
    codec: str  # Python codec of the bytes
    declared: str  # charset named in the XML declaration and the HTTP header
    full: bool  # the feed carries the full text
    content_type: str


def _rows(block: str) -> list[list[str]]:
    return [line.split("|") for line in block.strip().splitlines()]


FEEDS = tuple(
    Feed(*r[:7], full=r[7] == "full", content_type=r[8])
    for r in _rows("""
demo-cna|(示範)中央通訊|/feeds/cna.xml|rss20|tc|utf-8|utf-8|full|application/rss+xml; charset=utf-8
demo-morning|(示范)晨光日报|/feeds/morning.xml|rss20|sc|utf-8|utf-8|summary|application/rss+xml; charset=utf-8
demo-harbour|(示範)港灣日報|/feeds/harbour.atom|atom10|tc|utf-8|utf-8|full|application/atom+xml; charset=utf-8
demo-hill|(示範)山城電訊|/feeds/hill.rdf|rss10|tc|utf-8|utf-8|summary|application/rdf+xml; charset=utf-8
demo-cloud|(示范)云端快讯|/feeds/cloud.json|json11|sc|utf-8|utf-8|full|application/feed+json; charset=utf-8
demo-south-gbk|(示范)南方时报|/feeds/south-gbk.xml|rss20|sc|gbk|gb2312|full|application/rss+xml; charset=gbk
demo-north-big5|(示範)北岸週報|/feeds/north-big5.xml|rss20|tc|big5|big5|full|application/rss+xml; charset=big5
demo-brief|(示范)简讯|/feeds/brief-091.xml|rss091|sc|utf-8|utf-8|summary|text/xml
demo-legacy|(示範)舊站快報|/feeds/legacy-03.atom|atom03|tc|utf-8|utf-8|full|application/xml; charset=utf-8
demo-en|(Demo) Lumen Bay Post|/feeds/english.xml|rss20|en|utf-8|utf-8|summary|application/rss+xml; charset=utf-8
""")
)

# Per-feed quirks, by item index (skipped when the feed has fewer items).
_FUTURE = {"demo-cna": 1}
_UNDATED = {"demo-cna": 5, "demo-cloud": 2}
_TRACKED = {"demo-cna": 3, "demo-en": 1}
_RELATIVE = {"demo-morning": 4}
_SPONSORED = {"demo-cna": ("citrus", DEMO_FILTER_CATEGORY), "demo-en": ("fair", "Sponsored")}

# Per language: cities | metro lines | follow-up mark | page chrome (lang, nav, share, copy
# link, related, cookie notice, accept, ad, byline, more, footer, privacy).
_WORDS = {
    r[0]: r[1:]
    for r in _rows("""
tc|青嵐市 白鷺灣市 雲杉市 星澄市 銀杏港市 月湖市 琥珀市 藍橋市 霞谷市 棠川市|環狀線 藍線 機場線 綠線|（續報）|zh-Hant|首頁 即時 政治 國際 生活 科技|分享到 LINE|複製連結|相關新聞|本網站使用 Cookie 提供更好的瀏覽體驗，繼續瀏覽即表示同意。|我知道了|廣告|示範記者|更多文章|本站內容為示範用虛構新聞，如有雷同純屬巧合。|隱私權政策
sc|青岚市 白鹭湾市 云杉市 星澄市 银杏港市 月湖市 琥珀市 蓝桥市 霞谷市 棠川市|环状线 蓝线 机场线 绿线|（续报）|zh-Hans|首页 滚动 时政 国际 生活 科技|分享到微信|复制链接|相关新闻|本网站使用 Cookie 以提升浏览体验，继续浏览即表示同意。|知道了|广告|示范记者|更多文章|本站内容为示范用虚构新闻，如有雷同纯属巧合。|隐私政策
en|Lumen_Bay Port_Veyra Amberfield|Circle_Line Blue_Line Airport_Line| (update)|en|Home Latest Politics World Life Tech|Share|Copy link|Related|This site uses cookies to improve your visit. By continuing you accept them.|OK|Advertisement|Staff reporter|More stories|Everything on this site is fictional sample news for a demo.|Privacy
""")
}
_CITIES = {k: [c.replace("_", " ") for c in v[0].split()] for k, v in _WORDS.items()}
_LINES = {k: [c.replace("_", " ") for c in v[1].split()] for k, v in _WORDS.items()}
_FOLLOW_UP = {k: v[2] for k, v in _WORDS.items()}
CHROME = {k: tuple(v[3:]) for k, v in _WORDS.items()}


class _Topic(NamedTuple):
    key: str
    category: str
    title: str
    heading: str
    caption: str
    lead: str
    paras: tuple[str, ...]
    points: tuple[str, ...]
    quote: str


@dataclass(frozen=True)
class Item:
    topic: str
    city: str
    title: str  # as the feed carries it (may hold a literal "&amp;")
    link: str  # as the feed carries it (may be relative or tracked)
    path: str  # the page's path on the demo server
    guid: str
    summary: str  # one sentence, plain text
    body: str  # article HTML, well-formed XML as well
    categories: tuple[str, ...]
    published: datetime | None
    updated: datetime


def feed_items(idx: int, f: Feed, base: str, seed: int, count: int, now: datetime) -> list[Item]:
    """The items of one feed: one fictional city, the topics in a feed-specific order."""
    rng = random.Random(f"newsmirror-demo/{seed}/{f.slug}")
    topics, city = _TOPICS[f.lang], _CITIES[f.lang][(idx + seed) % len(_CITIES[f.lang])]
    items = []
    for i in range(count):
        topic = topics[(i + idx) % len(topics)]
        again = i // len(topics)
        slots = {"city": city, "line": rng.choice(_LINES[f.lang]), "n": rng.randint(12, 96)}
        slots |= {"t": rng.randint(6, 11), "k": rng.randint(8, 19)}
        when = now - timedelta(hours=2 + 7 * i + idx % 3, minutes=rng.randrange(60))
        published: datetime | None = when
        if _FUTURE.get(f.slug) == i:
            published = now + timedelta(days=2, hours=3)
        elif _UNDATED.get(f.slug) == i:
            published = None
        day = (published or now).astimezone(TZ8)
        path = f"/news/{f.slug}/{day:%Y%m%d}-{topic.key}{f'-{again + 1}' if again else ''}.html"
        link = base + path
        if _TRACKED.get(f.slug) == i:
            link += "?utm_source=rss&utm_medium=feed&utm_campaign=demo"
        elif _RELATIVE.get(f.slug) == i:
            link = path
        categories = [topic.category]
        if _SPONSORED.get(f.slug, ("",))[0] == topic.key:
            categories.append(_SPONSORED[f.slug][1])
        lead = topic.lead.format(**slots)
        first = f"（示範通訊{city}{day.day}日電）{lead}" if f.slug == "demo-cna" else lead
        body = _body(topic, slots, first, lazy=f.slug == "demo-cna")
        items.append(
            Item(
                topic=topic.key,
                city=city,
                title=topic.title.format(**slots) + (_FOLLOW_UP[f.lang] if again else ""),
                link=link,
                path=path,
                guid=f"{f.slug}-{day:%Y%m%d}-{i:02d}" if f.slug == "demo-morning" else base + path,
                summary=lead,
                body=body,
                categories=tuple(categories),
                published=published,
                updated=(published or now) + timedelta(minutes=40 * (i % 2)),
            )
        )
    if f.slug == "demo-cna":
        items = [replace(it, body=it.body + _cna_tail(it, items)) for it in items]
    return items


def _body(topic: _Topic, slots: dict[str, object], first: str, *, lazy: bool) -> str:
    """The article HTML: paragraphs, a heading, a figure, a list and a quote (XHTML-safe)."""
    image = f"/images/{topic.key}.png"
    src = f'src="{_LAZY_GIF}" data-src="{image}" class="lazyload"' if lazy else f'src="{image}"'
    caption = escape(topic.caption.format(**slots))
    points = "".join(f"<li>{escape(p)}</li>" for p in topic.points)
    p1, p2 = (escape(p.format(**slots)) for p in topic.paras)
    return (
        f"<p>{escape(first)}</p><p>{p1}</p><h2>{escape(topic.heading)}</h2>"
        f'<figure><img {src} alt="{caption}" width="640" height="360"/><figcaption>{caption}</figcaption></figure>'
        f"<ul>{points}</ul><blockquote><p>{escape(topic.quote)}</p></blockquote><p>{p2}</p>"
    )


def _cna_tail(item: Item, items: list[Item]) -> str:
    """CNA-like chrome inside the full text: an editor line, keyword tags, "more articles"."""
    tags = "".join(
        f"<div class='keywordTag'><a href='/tag/search?q={t}'>#{t}</a></div>"
        for t in (*item.categories, item.city)
    )
    others = [o for o in items if o is not item][:3]
    more = "".join(
        f"<a class='discursive' href='{escape(o.link)}'><span>{escape(unescape(o.title))}</span></a>"
        for o in others
    )
    return (
        "<p>（編輯：示範編輯台）1151128</p>"
        f"<div class='articlekeywordGroup'>{tags}</div>"
        f"<div class='paragraph moreArticle'><div class='moreArticle-title'>更多文章</div>{more}</div>"
    )


def _parse(block: str) -> tuple[_Topic, ...]:
    """Topics from a text block, one a line (field order as in the comment below)."""
    topics = []
    for key, category, title, heading, caption, lead, p1, p2, points, quote in _rows(block):
        paras, items = (p1, p2), tuple(points.split("／"))
        topics.append(_Topic(key, category, title, heading, caption, lead, paras, items, quote))
    return tuple(topics)


# Synthetic stories written for newsmirror: fictional, with {city} {line} {n} {t} {k} filled in.
# Fields: key|category|title|heading|figure caption|lead sentence|paragraph|paragraph|
# list item／list item／list item|quote.
_TC = """
metro|交通|{city}捷運{line}今日通車 首週免費搭乘|沿線站點與轉乘|{city}捷運{line}首班列車今晨駛出機廠，月台擠滿搶搭首航的民眾。|{city}捷運{line}今天上午正式通車，首週全線免費搭乘，市府預估平日運量可達每日{n}萬人次。|這條路線全長約十四公里、設有十二座車站，由市區東側的舊糖廠一路延伸到新開發的會展園區，尖峰時段每四分鐘發出一班車。|交通局表示，通車初期將在三座轉乘站加派引導人員，並同步調整十條公車路線的發車時刻，讓乘客一出車站就能接駁。|舊糖廠站：可轉乘環河公車與公共自行車／中央公園站：與既有南北線同月台轉乘／會展園區站：週末延長營運至凌晨一點|我們希望這條線不只是通勤工具，也能把城市東西兩側的生活圈縫在一起。
weather|氣象|冷氣團南下 {city}週末低溫下探{t}度|防寒提醒|{city}河濱步道清晨起霧，晨跑民眾換上厚外套。|氣象單位預報，一波強烈冷氣團將在週五夜間抵達，{city}週末清晨低溫可能下探{t}度，為今年入秋以來最冷。|預報員指出，冷空氣前緣通過時北部山區可能出現短暫降雨，海拔較高的步道週日清晨有機會結霜，登山民眾應留意路面濕滑。|市府社會局已開放四處臨時避寒據點，提供熱湯與毛毯，並請里長主動關懷獨居長者，提醒夜間外出注意保暖。|外出採洋蔥式穿法，頭頸與手腳特別保暖／使用瓦斯熱水器時保持窗戶通風／清晨運動前先暖身，避免溫差過大|這波冷空氣移動速度快，週一午後氣溫就會逐步回升，但早晚溫差仍可達十度以上。
museum|文化|{city}科學館特展「星際礦物」：隕石切片首度公開[圖輯]|展區亮點|特展入口以投影重現小行星帶，參觀者可在互動桌上旋轉隕石的立體模型。|{city}科學館「星際礦物」特展今天開幕，展出{n}件來自各地的隕石切片與礦物標本，其中多件為首度公開。|策展團隊把展場分成「墜落」「切開」「辨識」三個區域，參觀者可以透過偏光顯微鏡，親眼看到隕石內部交錯的金屬結晶紋路。|館方也為學童設計了尋寶學習單，完成關卡即可兌換紀念徽章；平日上午另開放學校團體預約導覽，每場限額四十人。|重達三十公斤的鐵隕石實物，開放觸摸／可自行操作的偏光顯微鏡工作站／以聲音呈現礦物結晶過程的沉浸式小劇場|每一塊隕石都是太陽系早期留下的信件，我們想讓大家學會怎麼讀它。
fair|經濟|{city}茶具&amp;陶瓷貿易展開幕 {n}家廠商參展|參展重點|陶藝師在展場示範拉坯，吸引不少海外買家駐足拍照。|為期四天的{city}國際茶具與陶瓷貿易展今天在會展中心登場，共有{n}家廠商參展，主辦單位預估可促成上千場採購洽談。|今年展區首度設立「低碳窯燒」專區，展示以電窯與回收陶土製作的餐具，多家業者表示海外訂單對環保標章的要求愈來愈高。|主辦單位另安排兩場媒合會，邀請來自東南亞與歐洲的通路商與在地工坊面對面洽談，並提供即時口譯服務。|低碳窯燒專區：回收陶土與電窯作品／青年工坊區：二十個新創品牌首次參展／品茶體驗區：每日四場茶席示範|小型工坊最缺的就是和海外買家直接見面的機會，這個展覽正好補上了這一塊。
library|生活|{city}中央圖書館試辦夜間開放 延長至晚間十一點|夜間服務內容|圖書館閱覽室夜間燈光調暗，座位區仍有不少讀者。|{city}中央圖書館下月起試辦夜間開放，週一至週五延長服務到晚間十一點，為期三個月。|館方表示，過去一年晚間九點閉館前的入館人次明顯增加，不少讀者反映下班後時間太短，因此決定先試辦三個月，再依使用情形評估是否延續。|夜間時段將開放自助借還書機與兩層閱覽區，兒童區與視聽室則維持原本時間；館內咖啡角也會配合延長營業。|自助借還書機全時段可用／三樓與四樓閱覽區開放至晚間十一點／每週三晚間舉辦作家座談|圖書館應該配合市民的作息，而不是讓市民配合圖書館。
ferry|交通|{city}港灣新增夜航渡輪 每半小時一班|航線與票價|新投入的電動渡輪停靠在北岸碼頭，船身漆上海浪圖案。|{city}港務單位宣布，港灣兩岸之間的渡輪將自本週六起增開夜間航班，晚間七點至十一點每半小時一班。|新航班將使用兩艘剛完成試航的電動渡輪，單趟航程約十二分鐘，每艘可載客一百二十人，並設有自行車停放區。|港務單位表示，夜航開辦後會觀察兩個月的搭乘人數，若需求穩定，明年考慮增設中途停靠的漁人碼頭站。|單程票價三十元，持市民卡享八折／自行車可免費上船，每航次限二十輛／遇強風或大雨時停駛並即時公告|很多人住在南岸、在北岸上班，夜航可以讓他們少繞一大圈橋。
robotics|教育|{city}中學生機器人競賽落幕 「蜂巢」隊奪冠|競賽題目|冠軍隊伍的機器人在決賽場上精準堆疊彩色方塊。|第{k}屆{city}中學生機器人競賽昨天落幕，來自{n}所學校的隊伍同場較勁，由「蜂巢」隊以自製的六足機器人奪得冠軍。|今年的比賽題目模擬災後搜救，機器人必須在限時五分鐘內穿越瓦礫區、辨識受困訊號，並把補給箱送到指定位置。|評審指出，冠軍隊伍在程式設計上使用了簡單但穩定的感測器融合方法，即使場地燈光變化也能正確判斷方向。|穿越模擬瓦礫區／以聲音與燈號辨識受困位置／在時限內運送三個補給箱|我們一開始做的機器人連門檻都爬不過去，後來換成六隻腳才終於成功。
citrus|農業|{city}柑橘提早收成 農會推產地直送|訂購方式|果農在山坡果園採收柑橘，一籃籃裝上搬運車。|受今年秋季氣溫偏高影響，{city}山區柑橘提早約兩週收成，農會推出產地直送服務，預計可供應{n}公噸。|農會表示，今年果實糖度普遍比往年高，但果皮較薄，因此特別改用分格紙箱包裝，減少運送途中的碰撞。|為了吸引年輕消費者，農會也與在地烘焙坊合作，把外觀略有瑕疵的果實製成果醬與果乾，降低浪費。|每箱十台斤，下單後三日內出貨／外觀瑕疵品以優惠價販售／農會門市每週六上午開放試吃|天氣一年比一年難預測，我們只能更早開始準備，讓好吃的水果不要浪費在樹上。
"""

_SC = """
metro|交通|{city}捷运{line}今日通车 首周免费搭乘|沿线站点与转乘|{city}捷运{line}首班列车今晨驶出机厂，月台挤满抢搭首航的民众。|{city}捷运{line}今天上午正式通车，首周全线免费搭乘，市府预估平日运量可达每日{n}万人次。|这条路线全长约十四公里、设有十二座车站，由市区东侧的旧糖厂一路延伸到新开发的会展园区，尖峰时段每四分钟发出一班车。|交通局表示，通车初期将在三座转乘站加派引导人员，并同步调整十条公车路线的发车时刻，让乘客一出车站就能接驳。|旧糖厂站：可转乘环河公车与公共自行车／中央公园站：与既有南北线同月台转乘／会展园区站：周末延长营运至凌晨一点|我们希望这条线不只是通勤工具，也能把城市东西两侧的生活圈缝在一起。
weather|气象|冷气团南下 {city}周末低温下探{t}度|防寒提醒|{city}河滨步道清晨起雾，晨跑民众换上厚外套。|气象单位预报，一波强烈冷气团将在周五夜间抵达，{city}周末清晨低温可能下探{t}度，为今年入秋以来最冷。|预报员指出，冷空气前缘通过时北部山区可能出现短暂降雨，海拔较高的步道周日清晨有机会结霜，登山民众应留意路面湿滑。|市府社会局已开放四处临时避寒据点，提供热汤与毛毯，并请里长主动关怀独居长者，提醒夜间外出注意保暖。|外出采洋葱式穿法，头颈与手脚特别保暖／使用瓦斯热水器时保持窗户通风／清晨运动前先暖身，避免温差过大|这波冷空气移动速度快，周一午后气温就会逐步回升，但早晚温差仍可达十度以上。
museum|文化|{city}科学馆特展「星际矿物」：陨石切片首度公开[图辑]|展区亮点|特展入口以投影重现小行星带，参观者可在互动桌上旋转陨石的立体模型。|{city}科学馆「星际矿物」特展今天开幕，展出{n}件来自各地的陨石切片与矿物标本，其中多件为首度公开。|策展团队把展场分成「坠落」「切开」「辨识」三个区域，参观者可以透过偏光显微镜，亲眼看到陨石内部交错的金属结晶纹路。|馆方也为学童设计了寻宝学习单，完成关卡即可兑换纪念徽章；平日上午另开放学校团体预约导览，每场限额四十人。|重达三十公斤的铁陨石实物，开放触摸／可自行操作的偏光显微镜工作站／以声音呈现矿物结晶过程的沉浸式小剧场|每一块陨石都是太阳系早期留下的信件，我们想让大家学会怎么读它。
fair|经济|{city}茶具&amp;陶瓷贸易展开幕 {n}家厂商参展|参展重点|陶艺师在展场示范拉坯，吸引不少海外买家驻足拍照。|为期四天的{city}国际茶具与陶瓷贸易展今天在会展中心登场，共有{n}家厂商参展，主办单位预估可促成上千场采购洽谈。|今年展区首度设立「低碳窑烧」专区，展示以电窑与回收陶土制作的餐具，多家业者表示海外订单对环保标章的要求愈来愈高。|主办单位另安排两场媒合会，邀请来自东南亚与欧洲的通路商与在地工坊面对面洽谈，并提供即时口译服务。|低碳窑烧专区：回收陶土与电窑作品／青年工坊区：二十个新创品牌首次参展／品茶体验区：每日四场茶席示范|小型工坊最缺的就是和海外买家直接见面的机会，这个展览正好补上了这一块。
library|生活|{city}中央图书馆试办夜间开放 延长至晚间十一点|夜间服务内容|图书馆阅览室夜间灯光调暗，座位区仍有不少读者。|{city}中央图书馆下月起试办夜间开放，周一至周五延长服务到晚间十一点，为期三个月。|馆方表示，过去一年晚间九点闭馆前的入馆人次明显增加，不少读者反映下班后时间太短，因此决定先试办三个月，再依使用情形评估是否延续。|夜间时段将开放自助借还书机与两层阅览区，儿童区与视听室则维持原本时间；馆内咖啡角也会配合延长营业。|自助借还书机全时段可用／三楼与四楼阅览区开放至晚间十一点／每周三晚间举办作家座谈|图书馆应该配合市民的作息，而不是让市民配合图书馆。
ferry|交通|{city}港湾新增夜航渡轮 每半小时一班|航线与票价|新投入的电动渡轮停靠在北岸码头，船身漆上海浪图案。|{city}港务单位宣布，港湾两岸之间的渡轮将自本周六起增开夜间航班，晚间七点至十一点每半小时一班。|新航班将使用两艘刚完成试航的电动渡轮，单趟航程约十二分钟，每艘可载客一百二十人，并设有自行车停放区。|港务单位表示，夜航开办后会观察两个月的搭乘人数，若需求稳定，明年考虑增设中途停靠的渔人码头站。|单程票价三十元，持市民卡享八折／自行车可免费上船，每航次限二十辆／遇强风或大雨时停驶并即时公告|很多人住在南岸、在北岸上班，夜航可以让他们少绕一大圈桥。
robotics|教育|{city}中学生机器人竞赛落幕 「蜂巢」队夺冠|竞赛题目|冠军队伍的机器人在决赛场上精准堆叠彩色方块。|第{k}届{city}中学生机器人竞赛昨天落幕，来自{n}所学校的队伍同场较劲，由「蜂巢」队以自制的六足机器人夺得冠军。|今年的比赛题目模拟灾后搜救，机器人必须在限时五分钟内穿越瓦砾区、辨识受困讯号，并把补给箱送到指定位置。|评审指出，冠军队伍在程式设计上使用了简单但稳定的感测器融合方法，即使场地灯光变化也能正确判断方向。|穿越模拟瓦砾区／以声音与灯号辨识受困位置／在时限内运送三个补给箱|我们一开始做的机器人连门槛都爬不过去，后来换成六只脚才终于成功。
citrus|农业|{city}柑橘提早收成 农会推产地直送|订购方式|果农在山坡果园采收柑橘，一篮篮装上搬运车。|受今年秋季气温偏高影响，{city}山区柑橘提早约两周收成，农会推出产地直送服务，预计可供应{n}公吨。|农会表示，今年果实糖度普遍比往年高，但果皮较薄，因此特别改用分格纸箱包装，减少运送途中的碰撞。|为了吸引年轻消费者，农会也与在地烘焙坊合作，把外观略有瑕疵的果实制成果酱与果干，降低浪费。|每箱十台斤，下单后三日内出货／外观瑕疵品以优惠价贩售／农会门市每周六上午开放试吃|天气一年比一年难预测，我们只能更早开始准备，让好吃的水果不要浪费在树上。
"""

_EN = """
metro|Transport|{city} opens the {line}, with free rides for its first week|Stations and transfers|The first train of the {line} leaves the depot at dawn, its platform crowded with early riders.|The {line} of the {city} metro opened to passengers this morning, and rides are free for the first week while planners expect about {n},000 trips on a typical weekday.|The new line runs roughly fourteen kilometres across twelve stations, from the old sugar mill on the east side to the new convention district, with a train every four minutes at peak hours.|Transit officials said extra staff will guide riders at the three interchange stations during the opening weeks, and ten bus routes have been retimed to meet trains at station exits.|Sugar Mill: riverside buses and shared bicycles／Central Park: same-platform change to the north-south line／Convention District: open until 1 a.m. at weekends|We want this line to be more than a commute; it should stitch the east and west of the city together.
weather|Weather|Cold air mass to push {city} lows down to {t}°C this weekend|Staying warm|Morning fog hangs over the riverside path in {city} as joggers pull on heavier jackets.|Forecasters expect a strong mass of cold air to arrive late on Friday, pushing weekend lows in {city} down to about {t}°C, the coldest so far this autumn.|Brief showers are possible in the northern hills as the leading edge passes, and forecasters warned hikers that higher trails could see frost and slippery ground early on Sunday.|The welfare bureau has opened four warming stations with hot soup and blankets, and neighbourhood wardens have been asked to look in on older residents who live alone.|Dress in layers and keep the head, neck, hands and feet covered／Keep a window open whenever a gas water heater is running／Warm up before exercising outdoors in the early morning|This cold air is moving quickly and temperatures should climb again from Monday afternoon, though nights will stay more than ten degrees cooler than days.
museum|Culture|{city} science hall's "Star Minerals" show: meteorite slices on view for the first time [photos]|Highlights|A projection of the asteroid belt greets visitors at the entrance, where a touch table lets them turn 3-D models of meteorites.|The "Star Minerals" exhibition opened today at the {city} Science Hall, showing {n} meteorite slices and mineral samples, many of them never displayed before.|The curators split the show into three rooms named Fall, Cut and Read, and visitors can look through polarising microscopes at the metal crystals that criss-cross inside a meteorite.|Children get a treasure-hunt worksheet that can be swapped for a souvenir badge, and guided tours for school groups of up to forty pupils can be booked on weekday mornings.|A thirty-kilogram iron meteorite that visitors may touch／Polarising microscope stations to operate yourself／A small sound theatre that plays the growth of mineral crystals|Every meteorite is a letter left over from the early solar system, and we want people to learn how to read it.
fair|Business|{city} tea ware &amp; ceramics fair opens with {n} exhibitors|What to see|A potter throws a bowl on the wheel at the fair while overseas buyers stop to take pictures.|The four-day {city} International Tea Ware and Ceramics Fair opened today at the convention centre with {n} exhibitors, and organisers expect more than a thousand buyer meetings.|A low-carbon kiln section appears for the first time this year, showing tableware fired in electric kilns from recycled clay, and several makers said overseas orders increasingly ask for green labels.|Organisers have also arranged two matchmaking sessions that bring retailers from Southeast Asia and Europe face to face with local workshops, with interpreters on hand.|Low-carbon kilns: recycled clay and electric firing／Young makers: twenty new brands at their first fair／Tea tasting: four demonstration sessions each day|What small workshops lack most is a chance to meet overseas buyers in person, and this fair fills exactly that gap.
library|Community|{city} Central Library to stay open until 11 p.m. in a three-month trial|Evening services|Lights are dimmed in the reading room at night, yet many seats remain taken.|The {city} Central Library will stay open until 11 p.m. on weekdays from next month, in a trial that will run for three months.|Library staff said visits in the hour before the current 9 p.m. closing have risen sharply over the past year, and many readers complained that they had too little time after work.|Self-service loan machines and two floors of reading rooms will stay open in the evening, while the children's area and the media room keep their usual hours; the café will also close later.|Self-service loans and returns at all hours／Reading rooms on the third and fourth floors open until 11 p.m.／Author talks every Wednesday evening|A library should fit the rhythm of the people it serves, not the other way round.
ferry|Transport|{city} harbour adds night ferries every half hour|Routes and fares|A new electric ferry, its hull painted with waves, waits at the north pier.|The {city} port authority said ferries across the harbour will run at night from this Saturday, leaving every half hour between 7 p.m. and 11 p.m.|The night service will use two electric ferries that have just finished sea trials; each crossing takes about twelve minutes, and each boat carries 120 passengers and has room for bicycles.|The authority will watch ridership for two months and, if demand holds, may add a stop at the fishermen's wharf halfway across next year.|Single fare 30 dollars, a fifth off with a resident card／Bicycles ride free, up to twenty per crossing／Sailings stop in strong wind or heavy rain, with notices posted at once|Many people live on the south shore and work on the north, and the night boats save them a long detour over the bridge.
robotics|Education|{city} school robotics contest ends with a win for team Honeycomb|The challenge|The winning robot stacks coloured blocks precisely during the final round.|The {k}th {city} secondary school robotics contest ended yesterday, with teams from {n} schools competing and team Honeycomb winning with a six-legged robot it built itself.|This year's task simulated a rescue after a disaster: within five minutes each robot had to cross a field of rubble, pick out a distress signal and carry supply boxes to a marked spot.|The judges said the winners used a simple but sturdy way of combining sensor readings, so their robot kept its bearings even when the lights in the arena changed.|Cross a field of mock rubble／Locate the trapped person from sound and light signals／Deliver three supply boxes within the time limit|Our first robot could not even climb over the doorstep, and only when we gave it six legs did it finally work.
citrus|Farming|{city} citrus harvest comes early, and growers ship straight from the orchard|How to order|Growers pick citrus on a hillside orchard and load basket after basket onto a cart.|A warm autumn has brought the citrus harvest in the hills of {city} forward by about two weeks, and the farmers' association is shipping straight from the orchards, with {n} tonnes expected.|The association said this year's fruit is sweeter than usual but has thinner skin, so it has switched to divided cartons to cut bruising on the way.|To reach younger buyers, it has teamed up with local bakeries to turn fruit with small blemishes into jam and dried slices, so less goes to waste.|Six-kilogram boxes shipped within three days of an order／Blemished fruit sold at a discount／Tastings at the association shop every Saturday morning|The weather is harder to predict every year, so we start preparing earlier and make sure good fruit does not go to waste on the trees.
"""

_TOPICS = {"tc": _parse(_TC), "sc": _parse(_SC), "en": _parse(_EN)}
