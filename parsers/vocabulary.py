"""What the extractor knows about Chinese government and news pages, as data."""

from __future__ import annotations

import re

# <meta> names, lower-cased, in order of trust. TRS and Hanweb gov CMSs write the first of each list.
META_TITLE = ("articletitle", "og:title", "twitter:title", "title")
META_DATE = (
    "pubdate",
    "publishdate",
    "publish_date",
    "article:published_time",
    "og:release_date",
    "firstpublishedtime",
    "dc.date.issued",
    "dc.date",
    "dcterms.created",
    "created",
    "date",
)
META_PUBLISHER = ("contentsource", "source")  # not og:site_name: that is the portal, not the 来源
META_COLUMN = ("columnname", "column")

# Body containers of common CMSs, tried in order; the first holding enough text wins.
BODY_XPATHS = (
    "//div[contains(concat(' ', normalize-space(@class), ' '), ' TRS_Editor ')]",  # TRS WCM
    "//div[@id='zoom']",  # Hanweb (大汉) and many provincial portals
    "//div[@id='UCAP-CONTENT']",  # Kaipu UCAP
    "//div[@class='pages_content']",  # gov.cn
    "//div[contains(concat(' ', normalize-space(@class), ' '), ' detail-content ')]",
    "//div[contains(concat(' ', normalize-space(@class), ' '), ' article-content ')]",
    "//div[@id='endText']",  # NetEase
    "//div[@id='detail']",  # Xinhua
    "//div[@class='rm_txt_con']",  # People's Daily
    "//div[@id='rwb_zw']",
    "//div[@id='artibody']",  # Sina
    "//div[contains(@class, 'news_txt')]",  # The Paper
    "//div[@id='Content']",
    "//div[@class='content']",
    "//div[@id='content']",
    "//article",
)
TITLE_XPATHS = (
    "//*[contains(concat(' ', normalize-space(@class), ' '), ' detail-title ')]",
    "//*[contains(concat(' ', normalize-space(@class), ' '), ' article-title ')]",
    "//*[@id='title' or @id='ArticleTitle' or translate(@class, 'TITLE', 'title') = 'title' or @class='tit' or @class='bt']",
    "//h1",
    "//h2",
)

# Elements never part of an article's text.
DROP_TAGS = (
    "script",
    "style",
    "noscript",
    "iframe",
    "object",
    "embed",
    "svg",
    "canvas",
    "select",
    "button",
    "input",
    "textarea",
    "template",
    "nav",
    "footer",
    "aside",
)
BLOCK_TAGS = frozenset(
    [
        "p",
        "div",
        "br",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "li",
        "ul",
        "ol",
        "tr",
        "table",
        "tbody",
        "thead",
        "section",
        "article",
        "blockquote",
        "pre",
        "dd",
        "dt",
        "dl",
        "header",
        "footer",
        "figure",
        "figcaption",
        "center",
        "form",
        "hr",
    ]
)
# class/id words of boilerplate blocks inside or around a body.
NOISE_ATTR = re.compile(
    r"share|bdshare|jiathis|footer|foot\b|breadcrumb|crumb|location|position|nav\b|menu|related|xgwz|"
    r"comment|copyright|qrcode|erweima|ewm|print|toolbar|sidebar|side\b|advert|\bad\b|ads\b|login|"
    r"search|prev|next|pager|page-nav|fenxiang|wzfx|dyzt|weixin|wechat|hot|recommend|tuijian|"
    r"detail-info|fbh-date|article-info|info-bar|source|(?<!trs_)(?<!trs_u)editor\b|zebian|statement|disclaimer|shengming",
    re.I,
)
# Whole lines that are page furniture, not article text.
NOISE_LINES = re.compile(
    r"^(?:"
    r"(?:浏览|阅读|点击|访问)(?:次数|量|数)?\s*[:：]?\s*\d*\s*次?"
    r"|【?\s*(?:打印(?:本页)?|关闭(?:窗口|本页)?|返回顶部|收藏|纠错)\s*】?(?:\s*【?\s*(?:打印(?:本页)?|关闭(?:窗口|本页)?|返回顶部|收藏|纠错)\s*】?)*"
    r"|【?\s*字号\s*[:：]?\s*[大中小\s]+】?"
    r"|扫一扫在手机(?:上)?打开(?:当前页)?"
    r"|分享到\s*[:：]?.{0,40}"
    r"|(?:上一篇|下一篇)\s*[:：].*"
    r"|[（(【\[]?\s*(?:责任编辑|责编|编辑)\s*[:：].{0,20}?[）)】\]]?"
    r"|点击(?:进入|查看|阅读|这里).{0,30}"
    r"|(?:来源|來源|来源于|來源於)\s*[:：].{0,30}"
    r"|(?:发布时间|发布日期|发布会日期)\s*[:：].{0,30}"
    r"|相关(?:链接|阅读|新闻|文章)\s*[:：]?"
    r"|附件\s*[:：]?"
    # A byline that starts with the date and time: "2025-03-12 09:30 来源：大众网".
    r"|(?:19|20)\d{2}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?\s+\d{1,2}:\d{2}(?::\d{2})?[^。！？]{0,40}"
    r")$"
)
# Site-wide footer lines, wherever the template puts them (a <footer>, a table cell, the text's own container).
# Only lines that are not sentences: an article may well say "可拨打举报电话反映".
FOOTER_LINE = re.compile(
    r"网站标识码|ICP\s*备|ICP\s*证|公网安备|(?:主办|承办|协办|运维|维护)(?:单位)?\s*[:：]|技术支持\s*[:：]|"
    r"Copyright|©|版权所有|(?:违法和不良信息)?举报(?:电话|邮箱|中心)\s*[:：]|互联网新闻信息服务许可证|"
    r"建议使用.{0,20}浏览器|^(?:\s*[|｜]?\s*(?:网站地图|联系我们|关于我们|使用帮助|网站声明|隐私政策))+\s*$",
    re.I,
)
FOOTER_LINE_MAX_CHARS = 160
PUBLISHER_LABEL = re.compile(
    r"(?:来源|來源|来源于|來源於|信息来源|信息來源|稿件来源|稿件來源|文章来源|文章來源)\s*[:：]\s*([^\s:：|｜,，]{2,30}?)"
    r"(?=\s|$|[|｜]|发布|时间|日期|作者|责任|编辑|浏览|点击|字号|【)"
)
# "本场发布会由市科技局发布" / "由市工业和信息化局、市发展改革委发布": the department holding a press conference.
CONFERENCE_HOST = re.compile(r"由([^，。,；;：:“”\s]{2,40}?)(?:联合|共同)?(?:发布|介绍)")
# Labels a publication date follows; the strict ones are trusted anywhere on the page, the others near the body.
DATE_LABEL = re.compile(r"(?:发布时间|发布日期|发稿时间|发表时间|发布会日期|日期|时间)\s*[:：]\s*")
STRICT_DATE_LABEL = re.compile(r"(?:发布时间|发布日期|发稿时间|发表时间|发布会日期)\s*[:：]\s*")
ATTACHMENT_SUFFIX = re.compile(r"\.(pdf|docx?|xlsx?|wps|et|ofd|zip|rar)(?:$|[?#])", re.I)
# Press-conference speaker lines: "市科技局副局长 刘学辉同志；".
SPEAKER_LINE = re.compile(
    r"^(?P<role>[^：:，,。]{2,60}?)\s*(?P<name>[\u4e00-\u9fff·]{2,4})(?P<honorific>同志|先生|女士)[；;。，,]?$"
)
SPEAKER_INTRO = re.compile(r"邀请到了|出席(?:今天的)?发布会的有|发布人[是有]")
SPEAKER_INTRO_END = re.compile(r"^(?:欢迎|首先|下面|请)")
TURN = re.compile(r"^(?P<who>[\u4e00-\u9fff·]{2,4})\s*[:：]")
NOT_A_SPEAKER = frozenset({"主持人", "记者", "提问", "回答", "答", "问"})

# The headline of templates that mark it only by look: a title-like class or id, or a bold or large font.
TITLE_ATTR = re.compile(r"tit|\bbt\b|biaoti|headline|heading", re.I)
BOLD_STYLE = re.compile(
    r"font-weight\s*:\s*(?:bold|bolder|[6-9]00)|font-size\s*:\s*(?:1[6-9]|[2-3]\d)(?:\.\d+)?px", re.I
)
HEADLINE_CHARS = (6, 100)
# A <title> that names only the site or the agency, not the article: "莱西市人民政府", "通知公告-某某局".
SITE_NAME = re.compile(
    r"^[\u4e00-\u9fff（）()·]{2,24}(?:人民政府|政府|门户网站|政务网|网站|官网|网|局|委员会|委|厅|办公室|办|中心|院|署)$"
)
# The closing signature (落款) of a notice: the agency, then the date on a line of its own.
SIGNATURE_DATE = re.compile(
    r"^(?:(?:19|20)\d{2}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日"
    r"|[〇零○Ｏ一二三四五六七八九]{4}\s*年\s*[一二三四五六七八九十]{1,3}\s*月\s*[一二三四五六七八九十]{1,3}\s*日)$"
)
SIGNATURE_AGENCY = re.compile(
    r"^[\u4e00-\u9fff（）()、]{2,40}(?:人民政府|政府|局|委员会|委|厅|办公室|办|中心|院|会|部|署|处|所|站|公司|集团)$"
)
SIGNATURE_LINES = 4  # the signature sits in the last lines of the text
# An unlabelled 来源 in a byline: "<span>大众网</span>", "青岛日报".
BYLINE_SOURCE = re.compile(
    r"^[\u4e00-\u9fff]{2,16}(?:日报|晚报|早报|商报|时报|报社|新闻网|新闻|网|通讯社|社|电视台|客户端|发布|"
    r"人民政府|局|委员会|厅|办公室)$"
)
BYLINE_CHARS = 80  # a text beside the title longer than this, or a sentence, is the article, not a byline

# Blocks that are page furniture even when they read like sentences: disclaimers, copyright, contact lines.
BOILERPLATE_TEXT = re.compile(
    r"免责声明|版权声明|版权所有|本文仅代表作者|转载请注明|未经授权|违法和不良信息举报|客服电话|ICP备|"
    r"网站地图|联系我们|关于我们"
)
# Any short label before a hinted field's value: "发布单位：", "发文机关:".
FIELD_LABEL = re.compile(r"^[\u4e00-\u9fff]{2,6}\s*[:：]\s*")
# A meta or labelled publisher carries these around the name: 来源：人民网-文化频道 原创稿.
PUBLISHER_NOISE = re.compile(
    r"^(?:来源|來源|来源于|來源於|信息来源|信息來源|稿件来源|稿件來源|文章来源|文章來源)\s*[:：]\s*|\s*(?:原创稿|原创|供稿)$"
)
