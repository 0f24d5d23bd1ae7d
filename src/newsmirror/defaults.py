"""The built-in source list: the classic full-text set that Chinese news mirrors carry.

Most come through feedx.net, which republishes each outlet's articles as a
full-text RSS feed; the rest are the outlets' own feeds. Feed addresses
change over the years: `newsmirror sources test SLUG` (or a run's report)
shows which still answer, and `newsmirror.toml` can override any of them.
"""

from __future__ import annotations

DEFAULT_SOURCES: tuple[tuple[str, str, str], ...] = (
    # (display name, slug, feed URL)
    ("(臺)中央社CNA", "cna", "https://feedx.net/rss/cna.xml"),
    ("路透中文網Reuters", "reuters", "https://feedx.net/rss/reuters.xml"),
    ("紐約時報中文網NYT", "nytimes", "https://feedx.net/rss/nytimes.xml"),
    ("美國之音VOA", "voa", "https://feedx.net/rss/voa.xml"),
    ("BBC中文網", "bbc", "https://feedx.net/rss/bbc.xml"),
    ("自由亞洲電台RFA", "rfa", "https://feedx.net/rss/rfa.xml"),
    ("法國國際廣播電台RFI", "rfi", "https://feedx.net/rss/rfi.xml"),
    ("德國之聲DW", "dw", "https://feedx.net/rss/dw.xml"),
    ("聯合早報Zaobao", "zaobao", "https://feedx.net/rss/zaobao.xml"),
    ("中國數字時代CDT", "cdt", "https://chinadigitaltimes.net/chinese/feed/"),
    ("華爾街日報WSJ", "wsj", "https://feedx.net/rss/wsj.xml"),
    ("美聯社AP", "ap", "https://feedx.net/rss/ap.xml"),
    ("半島電視台AJ", "aljazeera", "https://feedx.net/rss/aljazeera.xml"),
    ("共同網Kyodo", "kyodo", "https://feedx.net/rss/kyodo.xml"),
    ("朝鮮日報Chosun", "chosun", "https://feedx.net/rss/chosun.xml"),
    ("(港)香港電台RTHK", "rthk", "https://rthk.hk/rthk/news/rss/c_expressnews_clocal.xml"),
    ("端傳媒Initium", "initium", "https://feedx.net/rss/initium.xml"),
)
