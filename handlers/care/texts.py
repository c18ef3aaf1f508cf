"""What vulnerable residents, their grid members and staff read about the ledger and the daily check-in."""

from __future__ import annotations

CHECKIN_QUESTION = "🌞 早上好！今天一切都好吗？点一下下面的按钮告诉我们就行。"
BTN_CHECKIN_FINE = "我很好"
BTN_CHECKIN_HELP = "需要帮助"
BTN_CHECKIN_CONFIRM = "已联系，平安"
CHECKIN_FINE_THANKS = "收到，祝您今天顺顺利利！有事随时找我们。"
CHECKIN_HELP_ORDER_TEXT = "平安问候：居民点了“需要帮助”，请尽快联系。"
CHECKIN_CONFIRMED = "已记录：居民平安。谢谢！"
CHECKIN_OFF = "已关闭每日平安问候。想再开启，发送 /checkin 即可。"
CONSENT_NEEDED_FIRST = "请先发送 /start 并同意隐私说明，再开启这项服务。"


def checkin_on(at: str) -> str:
    return f"已开启每日平安问候：每天 {at} 我会问候您一声。发送 /checkin 可以关闭。"


def checkin_answered(answer: str) -> str:
    return (
        "今天的平安问候：您回复了“我很好”。" if answer == "fine" else "今天的平安问候：您回复了“需要帮助”。"
    )


def checkin_unanswered(who: str, address: str, escalated: bool) -> str:
    head = "🔴 平安问候仍无回复（已上报）" if escalated else "🟠 平安问候未回复"
    return f"{head}：{who}，{address}。请尽快电话或上门确认，确认后点下面的按钮。"


def checkin_resolved(name: str, answer: str) -> str:
    outcome = {"fine": "已回复“我很好”", "help": "需要帮助，已生成工单", "confirmed": "已由网格员确认平安"}[
        answer
    ]
    return f"平安问候：{name} {outcome}。"


LEDGER_EMPTY = "台账里还没有登记的居民。"
LEDGER_HEADER = "重点关爱居民台账（敏感信息，请勿外传）："
CONSENT_LABELS = {"pending": "待本人同意", "chat": "本人已同意", "paper": "书面同意"}
LEDGER_ADD_USAGE = (
    "用法：/ledger_add 居民id 类别 [paper]\n"
    "类别：独居老人、孕产妇、残疾人、慢性病患者、困难家庭（可多个，用逗号隔开）；"
    "已签书面同意书的加 paper，否则机器人会先征求本人同意。"
)
LEDGER_UNKNOWN_RESIDENT = "没有找到这位居民（需要先在机器人里发过 /start）。"
BTN_AGREE_LEDGER = "同意"
BTN_DECLINE_LEDGER = "不需要"
LEDGER_CONSENT_THANKS = "谢谢您！有需要时我们会优先为您服务。"
LEDGER_CONSENT_DECLINED = "好的，已为您取消登记，不会保留这些信息。"


def ledger_added(name: str, paper: bool) -> str:
    if paper:
        return f"已将 {name} 登记入台账（书面同意），其工单将走绿色通道。"
    return f"已将 {name} 登记入台账，正在征求本人同意；同意后工单走绿色通道。"


def ledger_consent_question(kinds: str) -> str:
    return (
        f"您好！社区想把您登记为重点关爱对象（{kinds}），"
        "这样您报的事会优先处理，网格员也会多关心您。这些信息只有社区工作人员和您所在网格的网格员能看到。"
        "您同意吗？"
    )


def ledger_consent_given(name: str) -> str:
    return f"{name} 已同意登记入台账。"


def ledger_consent_refused(name: str) -> str:
    return f"{name} 不同意登记，已从台账删除。"


def ledger_removed(name: str) -> str:
    return f"已将 {name} 从台账移除。"
