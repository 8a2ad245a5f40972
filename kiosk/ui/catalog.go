package ui

import "roomkiosk/internal/i18n"

// Msg is a catalog key. Every string the screen shows comes from a catalog,
// except what the device config supplies (room name, manual checklist lines,
// the agreement text) and measured values.
type Msg string

// Languages the catalogs cover, in the order the language switch shows them.
var Languages = []string{"en", "zh"}

// catalogs holds one map per language. Placeholders are {name}; both
// languages must use the same ones (TestCatalogsMatch).
var catalogs = map[string]map[Msg]string{
	"en": {
		"lang.en": "English",
		"lang.zh": "中文",

		"conn.title": "Connecting…",
		"conn.sub":   "Waiting for the room service",

		"door.free":           "Free",
		"door.in_session":     "In session",
		"door.out_of_service": "Out of service",
		"door.sub.free":       "This room is available",
		"door.sub.in_session": "Please do not disturb",
		"door.sub.out":        "Please contact the front desk",
		"door.elapsed":        "Started {d} ago",
		"door.start":          "Start session",
		"door.maintenance":    "Maintenance",
		"door.checks.ok":      "All checks passed",
		"door.checks.bad":     "{n} check(s) need attention",
		"door.checks.none":    "Checks not run yet",
		"privacy.recording":   "Recording",
		"privacy.not":         "Not recorded",

		"pin.title.start":       "Counselor PIN",
		"pin.title.end":         "Counselor PIN to end the session",
		"pin.title.maintenance": "Counselor or technician PIN for maintenance",
		"pin.ok":                "OK",
		"pin.back":              "Delete",
		"pin.cancel":            "Cancel",
		"pin.wrong":             "Wrong PIN, please try again",
		"pin.checking":          "Checking…",
		"pin.locked":            "Too many wrong PINs. Try again in {d}",

		"check.title":           "Before the session",
		"check.auto":            "Equipment and environment",
		"check.manual":          "Confirm by hand",
		"check.good":            "Good",
		"check.abnormal":        "Abnormal",
		"check.unknown":         "Unknown",
		"check.blocked":         "A required check failed",
		"check.tick":            "Tick every item to continue",
		"check.ready":           "Ready",
		"check.continue":        "Continue",
		"check.override":        "Override…",
		"check.cancel":          "Cancel",
		"check.none":            "No results yet",
		"check.temperature":     "Temperature",
		"check.humidity":        "Humidity",
		"check.light":           "Light",
		"check.door":            "Door closed",
		"check.presence":        "Presence",
		"check.microphone":      "Microphone",
		"check.storage":         "Storage",
		"check.upload":          "Upload path",
		"check.clock":           "Clock",
		"check.backlog":         "Upload backlog",
		"check.cpu_temperature": "Board temperature",
		"check.memory":          "Memory",
		"check.network":         "Network",

		"override.title":                     "Continue despite a failed required check?",
		"override.sub":                       "Choose the reason; it is kept with the session record.",
		"override.reason.checked_in_person":  "Checked in person: the room is fine",
		"override.reason.known_sensor_fault": "Known sensor fault, already reported",
		"override.reason.urgent_session":     "Urgent session that cannot wait",
		"override.back":                      "Back",

		"participants.title": "How many clients are present?",
		"participants.sub":   "Each client will be asked separately.",
		"participants.back":  "Cancel",

		"record.title": "Record this session?",
		"record.sub":   "Every client is asked for consent first. Any “no” means no recording.",
		"record.yes":   "Record, with consent",
		"record.no":    "Do not record",

		"consent.title":   "Participant {n} of {total}",
		"consent.sub":     "Please read the agreement. You may stop the recording at any time.",
		"consent.yes":     "I agree to recording",
		"consent.no":      "I do not agree",
		"consent.readall": "Read every page to agree ({n}/{total})",

		"session.stop":       "Stop recording",
		"session.end":        "End session",
		"session.declined":   "Not recorded: a participant did not agree",
		"session.withdrawn":  "Recording stopped at a participant's request",
		"session.unrecorded": "This session is not recorded",
		"session.starting":   "Starting the recording…",
		"session.fault":      "Recording interrupted, retrying",
		"session.stopped":    "Recording stopped",
		"session.failed":     "Not recorded: the recorder could not start",
		"session.maxlen":     "Recording stopped: the maximum length was reached",
		"session.resumed":    "Recording resumed after an interruption ({d} not recorded)",
		"session.level":      "Mic",
		"session.alerts":     "For the counselor",
		"session.overridden": "Started despite a failed required check",

		"alert.mic_silent":         "Microphone is silent",
		"alert.mic_lost":           "Microphone lost",
		"alert.disk_low":           "Storage almost full",
		"alert.max_length_near":    "Maximum length is near",
		"alert.upload_failing":     "Uploads are failing",
		"alert.other":              "Equipment alert",
		"alert.max_length_reached": "Maximum length reached",
		"alert.recorder_failed":    "Recorder could not start",
		"alert.keep_failed":        "Kept recording held on the device",
		"alert.spool_write_failed": "Storage write failing",

		"withdraw.title":  "Recording stopped",
		"withdraw.sub":    "Keep what was recorded so far, or delete it?",
		"withdraw.keep":   "Keep it",
		"withdraw.delete": "Delete it",

		"feedback.title": "How was your session today?",
		"feedback.sub":   "Optional and anonymous.",
		"feedback.1":     "Poor",
		"feedback.2":     "Fair",
		"feedback.3":     "Good",
		"feedback.4":     "Very good",
		"feedback.5":     "Excellent",
		"feedback.skip":  "Skip",

		"maint.title":    "Maintenance",
		"maint.checks":   "Checks",
		"maint.faults":   "Recent faults",
		"maint.nofaults": "No faults",
		"maint.network":  "Network",
		"maint.storage":  "Storage",
		"maint.version":  "Software {v}",
		"maint.back":     "Back",

		"dur.min":  "{m} min",
		"dur.hmin": "{h} h {m} min",
		"dur.msec": "{m} min {s} s",
	},
	"zh": {
		"lang.en": "English",
		"lang.zh": "中文",

		"conn.title": "正在连接…",
		"conn.sub":   "正在等待房间服务",

		"door.free":           "空闲",
		"door.in_session":     "咨询中",
		"door.out_of_service": "暂停使用",
		"door.sub.free":       "本房间可以使用",
		"door.sub.in_session": "请勿打扰",
		"door.sub.out":        "请联系前台",
		"door.elapsed":        "已进行 {d}",
		"door.start":          "开始咨询",
		"door.maintenance":    "维护",
		"door.checks.ok":      "检查全部通过",
		"door.checks.bad":     "{n} 项检查需要处理",
		"door.checks.none":    "尚未检查",
		"privacy.recording":   "正在录音",
		"privacy.not":         "未录音",

		"pin.title.start":       "咨询师\u00a0PIN\u00a0码",
		"pin.title.end":         "输入\u200b咨询师\u00a0PIN\u00a0码\u200b以\u200b结束\u200b咨询",
		"pin.title.maintenance": "输入\u200b咨询师\u200b或\u200b技术员\u00a0PIN\u00a0码\u200b以\u200b进入\u200b维护",
		"pin.ok":                "确定",
		"pin.back":              "删除",
		"pin.cancel":            "取消",
		"pin.wrong":             "PIN\u00a0码\u200b错误，请\u200b重试",
		"pin.checking":          "正在验证…",
		"pin.locked":            "PIN\u00a0码\u200b错误\u200b次数\u200b过多，请\u00a0{d}\u00a0后\u200b重试",

		"check.title":           "咨询前检查",
		"check.auto":            "设备与环境",
		"check.manual":          "人工确认",
		"check.good":            "正常",
		"check.abnormal":        "异常",
		"check.unknown":         "未知",
		"check.blocked":         "有\u200b必需\u200b检查\u200b未\u200b通过",
		"check.tick":            "请\u200b确认\u200b所有\u200b项目\u200b后\u200b继续",
		"check.ready":           "就绪",
		"check.continue":        "继续",
		"check.override":        "强制继续…",
		"check.cancel":          "取消",
		"check.none":            "暂无结果",
		"check.temperature":     "温度",
		"check.humidity":        "湿度",
		"check.light":           "光照",
		"check.door":            "房门关闭",
		"check.presence":        "有人在场",
		"check.microphone":      "麦克风",
		"check.storage":         "存储",
		"check.upload":          "上传通道",
		"check.clock":           "时钟",
		"check.backlog":         "待上传积压",
		"check.cpu_temperature": "主板温度",
		"check.memory":          "内存",
		"check.network":         "网络",

		"override.title":                     "必需\u200b检查\u200b未\u200b通过，仍要\u200b继续吗？",
		"override.sub":                       "请\u200b选择\u200b原因，原因\u200b会\u200b随\u200b本次\u200b咨询\u200b记录\u200b保存。",
		"override.reason.checked_in_person":  "已\u200b现场\u200b确认，房间\u200b正常",
		"override.reason.known_sensor_fault": "已知\u200b传感器\u200b故障，已\u200b报修",
		"override.reason.urgent_session":     "紧急\u200b咨询，无法\u200b等待",
		"override.back":                      "返回",

		"participants.title": "有几位来访者在场？",
		"participants.sub":   "将\u200b逐一\u200b征求\u200b每位\u200b来访者的\u200b意见。",
		"participants.back":  "取消",

		"record.title": "本次咨询是否录音？",
		"record.sub":   "录音前\u200b须\u200b征得\u200b每位\u200b来访者\u200b同意，任何\u200b一人\u200b不同意\u200b即\u200b不录音。",
		"record.yes":   "录音（需\u200b同意）",
		"record.no":    "不录音",

		"consent.title":   "来访者 {n} / {total}",
		"consent.sub":     "请\u200b阅读\u200b以下\u200b同意书。您\u200b可以\u200b随时\u200b停止\u200b录音。",
		"consent.yes":     "我同意录音",
		"consent.no":      "我不同意",
		"consent.readall": "请\u200b读完\u200b每一页\u200b后\u200b同意（第\u00a0{n}/{total}\u00a0页）",

		"session.stop":       "停止录音",
		"session.end":        "结束咨询",
		"session.declined":   "未录音：有\u200b来访者\u200b不同意\u200b录音",
		"session.withdrawn":  "已应\u200b来访者\u200b要求\u200b停止\u200b录音",
		"session.unrecorded": "本次咨询不录音",
		"session.starting":   "正在开始录音…",
		"session.fault":      "录音中断，正在重试",
		"session.stopped":    "录音已停止",
		"session.failed":     "未录音：录音\u200b设备\u200b无法\u200b启动",
		"session.maxlen":     "录音\u200b已停止：已\u200b达到\u200b最长\u200b时长",
		"session.resumed":    "中断后\u200b录音\u200b已\u200b恢复（{d} 未\u200b录音）",
		"session.level":      "麦克风",
		"session.alerts":     "咨询师提示",
		"session.overridden": "有\u200b必需\u200b检查\u200b未\u200b通过，已\u200b强制\u200b开始",

		"alert.mic_silent":         "麦克风无声音",
		"alert.mic_lost":           "麦克风已断开",
		"alert.disk_low":           "存储空间不足",
		"alert.max_length_near":    "即将达到最长时长",
		"alert.upload_failing":     "上传失败",
		"alert.other":              "设备提示",
		"alert.max_length_reached": "已达到最长时长",
		"alert.recorder_failed":    "录音设备无法启动",
		"alert.keep_failed":        "保留的录音暂存于设备",
		"alert.spool_write_failed": "存储写入失败",

		"withdraw.title":  "录音已停止",
		"withdraw.sub":    "保留\u200b还是\u200b删除\u200b已录制的\u200b内容？",
		"withdraw.keep":   "保留",
		"withdraw.delete": "删除",

		"feedback.title": "您\u200b对\u200b今天的\u200b咨询\u200b满意吗？",
		"feedback.sub":   "可选，匿名。",
		"feedback.1":     "很不满意",
		"feedback.2":     "不太满意",
		"feedback.3":     "一般",
		"feedback.4":     "满意",
		"feedback.5":     "非常满意",
		"feedback.skip":  "跳过",

		"maint.title":    "维护",
		"maint.checks":   "检查",
		"maint.faults":   "最近故障",
		"maint.nofaults": "无故障",
		"maint.network":  "网络",
		"maint.storage":  "存储",
		"maint.version":  "软件版本 {v}",
		"maint.back":     "返回",

		"dur.min":  "{m} 分钟",
		"dur.hmin": "{h} 小时 {m} 分钟",
		"dur.msec": "{m} 分 {s} 秒",
	},
}

// catalog is the screen's catalogs with the shared mechanism (internal/i18n,
// which the console uses too): English for an unknown language, a missing
// key reads as itself (the catalog tests catch it).
var catalog = i18n.Catalog[Msg]{Messages: catalogs}

// T returns the message in lang (English when lang is unknown), with {name}
// placeholders replaced from kv pairs ("n", "3", ...). A missing key returns
// the key itself, which the catalog tests catch.
func T(lang string, m Msg, kv ...string) string {
	return stripBreaks(translate(lang, m, kv...))
}

// translate is T with the WordBreak marks kept, for the layout.
func translate(lang string, m Msg, kv ...string) string {
	args := make([]any, len(kv))
	for i, v := range kv {
		args[i] = v
	}
	return catalog.T(lang, m, args...)
}

// Has reports whether the catalog has m.
func Has(m Msg) bool { return catalog.Has(m) }

// Keys returns every catalog key, sorted.
func Keys() []Msg { return catalog.Keys() }

// placeholders lists the {name} placeholders of s, sorted.
func placeholders(s string) []string { return i18n.Placeholders(s) }

// Supported reports whether the screen has a catalog for lang.
func Supported(lang string) bool { return catalog.Supported(lang) }
