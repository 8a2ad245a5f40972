package console

import (
	"fmt"
	"strings"
)

// languages are the console's, in the order the switch shows them (the
// kiosk's: English and Simplified Chinese).
var languages = []string{"en", "zh"}

// catalogs hold every word the console shows, except what comes from the
// archive (room and session ids, check values, thresholds and hints as the
// device wrote them) and errors. Placeholders are {name}; both languages use
// the same ones (TestCatalogsMatch).
var catalogs = map[string]map[string]string{
	"en": {
		"lang.name": "English",
		"never":     "never",
		"ago.s":     "{n} s ago",
		"ago.m":     "{n} min ago",
		"ago.h":     "{n} h ago",
		"ago.d":     "{n} days ago",
		"ago.d.one": "{n} day ago",

		"nav.fleet":     "Fleet",
		"nav.sessions":  "Sessions",
		"nav.deletions": "Deletions",
		"nav.audit":     "Audit",
		"footer.now":    "Shown at {t}. Nothing on these pages is stored by the browser.",
		"error.title":   "Something went wrong",

		"fleet.title":          "Fleet",
		"fleet.summary":        "{total} rooms · {insession} in session · {recording} recording · {failing} with failing checks · {stale} stale",
		"fleet.summary.one":    "{total} room · {insession} in session · {recording} recording · {failing} with failing checks · {stale} stale",
		"fleet.tampered":       "{n} tampered sessions",
		"fleet.tampered.one":   "{n} tampered session",
		"fleet.tamper.pending": "checking sessions for tampering…",
		"fleet.empty":          "No room has uploaded anything yet.",

		"door.free":           "Free",
		"door.in_session":     "In session",
		"door.out_of_service": "Out of service",
		"door.unknown":        "Unknown",

		"tile.stale":        "STALE: not reporting",
		"tile.recording":    "Recording",
		"tile.notrecording": "Not recording",
		"tile.failing":      "Failing",
		"tile.checksok":     "All checks good",
		"tile.nochecks":     "No check results",
		"tile.backlog":      "Backlog",
		"tile.oldest":       "oldest",
		"tile.blocked":      "UPLOAD BLOCKED",
		"tile.quarantined":  "{n} quarantined",
		"tile.seen":         "Last seen",
		"tile.nostatus":     "This room has never reported its status.",
		"tile.neverseen":    "NEVER SEEN: provisioned, no report yet",
		"tile.provisioned":  "Provisioned {t}",
		"tile.revoked":      "REVOKED: its kiosk's keys no longer work",
		"tile.tampered":     "{n} tampered",
		"tile.forged":       "FORGED report ignored:",
		"room.truncated":    "This range holds more log than a page reads: the charts show its first part.",

		"room.title":       "Room {room}",
		"room.checks":      "Current checks",
		"room.required":    "required before a session",
		"room.clock":       "Clock offset",
		"clock.ahead":      "Device clock ahead by {s} s",
		"clock.behind":     "Device clock behind by {s} s",
		"clock.instep":     "Device clock in step with storage (within 0.5 s)",
		"room.history":     "History",
		"room.lines":       "{n} log lines from {from} to {to}",
		"room.lines.one":   "{n} log line from {from} to {to}",
		"room.skipped":     "{n} unreadable lines skipped",
		"room.skipped.one": "{n} unreadable line skipped",
		"room.nolog":       "No maintenance log uploaded for this period.",
		"room.faults":      "Fault timeline",
		"room.nofaults":    "No faults, recoveries or notes in this period.",
		"room.sessions":    "Sessions in this period",

		"range.24h": "24 hours",
		"range.7d":  "7 days",
		"range.30d": "30 days",

		"chart.min":        "min",
		"chart.max":        "max",
		"chart.nodata":     "no measurements",
		"chart.points":     "{n} measurements",
		"chart.points.one": "{n} measurement",
		"chart.last":       "last",

		"series.temperature":      "Temperature",
		"series.humidity":         "Humidity",
		"series.light":            "Light",
		"series.microphone_noise": "Microphone noise floor",
		"series.microphone_peak":  "Microphone peak",
		"series.clock":            "Clock offset",
		"series.backlog":          "Upload backlog",
		"series.backlog_oldest":   "Oldest unsent upload",
		"series.storage":          "Free storage",
		"series.cpu_temperature":  "CPU temperature",
		"series.memory":           "Free memory",

		"check.temperature":      "Temperature",
		"check.humidity":         "Humidity",
		"check.light":            "Light",
		"check.door":             "Door",
		"check.presence":         "Presence sensor",
		"check.microphone":       "Microphone",
		"check.storage":          "Storage",
		"check.upload":           "Upload",
		"check.clock":            "Clock",
		"check.backlog":          "Backlog",
		"check.cpu_temperature":  "CPU temperature",
		"check.memory":           "Memory",
		"check.reported_problem": "Reported problem",
		"check.bookings":         "Bookings feed",

		"cstate.good":     "Good",
		"cstate.abnormal": "Abnormal",
		"cstate.unknown":  "Unknown",

		"event.fault":       "Fault",
		"event.recovery":    "Recovered",
		"event.change":      "Changed",
		"event.override":    "Override",
		"event.note":        "Note",
		"event.maintenance": "Maintenance",
		"event.problem":     "Problem reported",

		"col.check":     "Check",
		"col.state":     "State",
		"col.value":     "Value",
		"col.threshold": "Threshold",
		"col.hint":      "What to do",
		"col.time":      "Time",
		"col.event":     "Event",
		"col.note":      "Note",
		"col.started":   "Started",
		"col.room":      "Room",
		"col.session":   "Session",
		"col.duration":  "Duration",
		"col.clients":   "Clients",
		"col.tamper":    "Tampering",
		"col.feedback":  "Feedback",
		"col.size":      "Size",

		"sessions.title":     "Sessions",
		"sessions.none":      "No sessions match.",
		"sessions.count":     "{n} sessions",
		"sessions.count.one": "{n} session",
		"filter.all":         "all",
		"filter.since":       "From",
		"filter.until":       "To",
		"filter.apply":       "Show",

		"state.recorded":           "recorded",
		"state.partial":            "partial",
		"state.interrupted":        "interrupted",
		"state.withdrawn":          "withdrawn",
		"state.deletion_requested": "deletion requested",
		"state.deleted":            "deleted",
		"state.declined":           "declined",
		"state.not_recorded":       "not recorded",
		"state.abandoned":          "abandoned",
		"state.uploading":          "uploading",
		"state.unreadable":         "unreadable",
		"state.tampered":           "tampered",

		"tamper.flag":    "tampered",
		"tamper.title":   "Tampered.",
		"tamper.explain": "Objects of this session were replaced after they were first stored. The archive keeps and trusts the first version; the session does not play until an admin has looked at it.",

		"session.title":        "Session {id}",
		"session.audio":        "Audio",
		"session.segments":     "{n} segments ({partial} partial)",
		"session.segments.one": "{n} segment ({partial} partial)",
		"session.gaps":         "{n} gaps, {d}",
		"session.gaps.one":     "{n} gap, {d}",
		"session.format":       "Format",
		"session.device":       "Device",
		"session.counselor":    "counselor",
		"session.declined":     "consent declined",
		"session.error":        "Problem",

		"consent.title":       "Consent record",
		"consent.agreement":   "Agreement",
		"consent.language":    "Language",
		"consent.hash":        "SHA-256 of the text shown",
		"consent.participant": "Participant",
		"consent.decision":    "Decision",
		"consent.yes":         "consented",
		"consent.no":          "declined",
		"consent.none":        "No consent record: the session was not recorded.",

		"play.title":          "Listen",
		"play.play":           "Play",
		"play.download":       "Download WAV",
		"play.note":           "Play and download verify and decrypt the recording on this computer; each one is recorded in the audit trail as a pull.",
		"play.audited":        "This play was recorded in the audit trail.",
		"play.none":           "There is no audio to play for this session.",
		"play.tampered":       "This session was tampered with: it does not play by default.",
		"play.original":       "Play the original",
		"play.original.check": "Play the first stored versions (what the kiosk uploaded before anything was written over them); this is audited as a pull of a tampered session.",

		"deletions.title":        "Deletions",
		"deletions.explain":      "Sessions whose participants withdrew and asked for their recording to be deleted. A request is verified when the session's first manifest or summary records the withdrawal with delete; any other is suspicious (a device may have forged it) and is applied only one by one. Applying removes every stored version of the session's audio and manifest; its summary and a deletion record stay, and each deletion is audited.",
		"deletions.requested":    "Requested",
		"deletions.reason":       "Reason",
		"deletions.verify":       "Verification",
		"deletions.valid":        "verified",
		"deletions.suspicious":   "suspicious",
		"deletions.review":       "Review and apply…",
		"confirm.one":            "Session {session} of room {room} will be deleted for good. This cannot be undone.",
		"applied.suspicious":     "Suspicious requests were left in place: review each on the Deletions page.",
		"deletions.removes":      "To remove",
		"deletions.versions":     "{n} stored versions",
		"deletions.versions.one": "{n} stored version",
		"deletions.apply":        "Apply deletions…",
		"deletions.none":         "No deletion requests.",

		"confirm.title":       "Confirm deletions",
		"confirm.explain":     "{n} sessions will be deleted for good. This cannot be undone; every version listed below is removed from the archive.",
		"confirm.explain.one": "{n} session will be deleted for good. This cannot be undone; every version listed below is removed from the archive.",
		"confirm.check":       "I have checked the list and want these recordings deleted for good.",
		"confirm.button":      "Delete for good",
		"confirm.cancel":      "Cancel",
		"confirm.needed":      "Nothing was deleted: tick the confirmation first.",

		"applied.title":   "Deletions applied",
		"applied.removed": "Versions removed",
		"applied.result":  "Result",
		"applied.audited": "Every outcome was written to the audit trail.",

		"audit.title":       "Audit trail",
		"audit.who":         "Who",
		"audit.host":        "Computer",
		"audit.action":      "Action",
		"audit.detail":      "Detail",
		"audit.objects":     "{n} objects",
		"audit.objects.one": "{n} object",
		"audit.none":        "No audit records in this period.",

		"action.pull":           "pull",
		"action.delete-session": "delete session",
		"action.provision":      "provision",
		"action.revoke":         "revoke",
		"action.rotate":         "rotate keys",
		"action.bucket-init":    "bucket init",
	},
	"zh": {
		"lang.name": "中文",
		"never":     "从未",
		"ago.s":     "{n} 秒前",
		"ago.m":     "{n} 分钟前",
		"ago.h":     "{n} 小时前",
		"ago.d":     "{n} 天前",
		"ago.d.one": "{n} 天前",

		"nav.fleet":     "全部房间",
		"nav.sessions":  "咨询记录",
		"nav.deletions": "删除请求",
		"nav.audit":     "审计日志",
		"footer.now":    "显示时间 {t}。浏览器不保存这些页面的任何内容。",
		"error.title":   "出错了",

		"fleet.title":          "全部房间",
		"fleet.summary":        "共 {total} 间 · {insession} 间咨询中 · {recording} 间录音中 · {failing} 间检查异常 · {stale} 间失联",
		"fleet.summary.one":    "共 {total} 间 · {insession} 间咨询中 · {recording} 间录音中 · {failing} 间检查异常 · {stale} 间失联",
		"fleet.tampered":       "{n} 个会话被篡改",
		"fleet.tampered.one":   "{n} 个会话被篡改",
		"fleet.tamper.pending": "正在检查会话是否被篡改…",
		"fleet.empty":          "还没有房间上传任何内容。",

		"door.free":           "空闲",
		"door.in_session":     "咨询中",
		"door.out_of_service": "暂停使用",
		"door.unknown":        "未知",

		"tile.stale":        "失联：没有上报状态",
		"tile.recording":    "录音中",
		"tile.notrecording": "未录音",
		"tile.failing":      "异常",
		"tile.checksok":     "所有检查正常",
		"tile.nochecks":     "没有检查结果",
		"tile.backlog":      "待上传",
		"tile.oldest":       "最早",
		"tile.blocked":      "上传受阻",
		"tile.quarantined":  "{n} 个已隔离",
		"tile.seen":         "最后上报",
		"tile.nostatus":     "这个房间从未上报过状态。",
		"tile.neverseen":    "从未上线：已开通，尚无上报",
		"tile.provisioned":  "开通于 {t}",
		"tile.revoked":      "已吊销：该设备的密钥已失效",
		"tile.tampered":     "{n} 个被篡改",
		"tile.forged":       "已忽略伪造的上报：",
		"room.truncated":    "此时间范围的日志超过页面可读取的上限：图表只显示前一部分。",

		"room.title":       "房间 {room}",
		"room.checks":      "当前检查",
		"room.required":    "咨询开始前必须通过",
		"room.clock":       "时钟偏差",
		"clock.ahead":      "设备时钟快 {s} 秒",
		"clock.behind":     "设备时钟慢 {s} 秒",
		"clock.instep":     "设备时钟与存储服务器一致（误差 0.5 秒以内）",
		"room.history":     "历史",
		"room.lines":       "{from} 至 {to} 共 {n} 行日志",
		"room.lines.one":   "{from} 至 {to} 共 {n} 行日志",
		"room.skipped":     "跳过 {n} 行无法读取的日志",
		"room.skipped.one": "跳过 {n} 行无法读取的日志",
		"room.nolog":       "这段时间没有上传的维护日志。",
		"room.faults":      "故障时间线",
		"room.nofaults":    "这段时间没有故障、恢复或备注。",
		"room.sessions":    "这段时间的会话",

		"range.24h": "24 小时",
		"range.7d":  "7 天",
		"range.30d": "30 天",

		"chart.min":        "下限",
		"chart.max":        "上限",
		"chart.nodata":     "没有测量值",
		"chart.points":     "{n} 个测量值",
		"chart.points.one": "{n} 个测量值",
		"chart.last":       "最新",

		"series.temperature":      "温度",
		"series.humidity":         "湿度",
		"series.light":            "光照",
		"series.microphone_noise": "麦克风底噪",
		"series.microphone_peak":  "麦克风峰值",
		"series.clock":            "时钟偏差",
		"series.backlog":          "待上传数量",
		"series.backlog_oldest":   "最早待上传时长",
		"series.storage":          "可用存储",
		"series.cpu_temperature":  "CPU 温度",
		"series.memory":           "可用内存",

		"check.temperature":      "温度",
		"check.humidity":         "湿度",
		"check.light":            "光照",
		"check.door":             "门",
		"check.presence":         "人体感应器",
		"check.microphone":       "麦克风",
		"check.storage":          "存储",
		"check.upload":           "上传",
		"check.clock":            "时钟",
		"check.backlog":          "待上传",
		"check.cpu_temperature":  "CPU 温度",
		"check.memory":           "内存",
		"check.reported_problem": "已报告的问题",
		"check.bookings":         "预约信息",

		"cstate.good":     "正常",
		"cstate.abnormal": "异常",
		"cstate.unknown":  "未知",

		"event.fault":       "故障",
		"event.recovery":    "恢复",
		"event.change":      "变化",
		"event.override":    "强制开始",
		"event.note":        "备注",
		"event.maintenance": "维护",
		"event.problem":     "问题报告",

		"col.check":     "检查项",
		"col.state":     "状态",
		"col.value":     "数值",
		"col.threshold": "阈值",
		"col.hint":      "处理建议",
		"col.time":      "时间",
		"col.event":     "事件",
		"col.note":      "备注",
		"col.started":   "开始时间",
		"col.room":      "房间",
		"col.session":   "会话",
		"col.duration":  "时长",
		"col.clients":   "来访者",
		"col.tamper":    "篡改",
		"col.feedback":  "反馈",
		"col.size":      "大小",

		"sessions.title":     "咨询记录",
		"sessions.none":      "没有符合条件的会话。",
		"sessions.count":     "共 {n} 个会话",
		"sessions.count.one": "共 {n} 个会话",
		"filter.all":         "全部",
		"filter.since":       "从",
		"filter.until":       "到",
		"filter.apply":       "显示",

		"state.recorded":           "已录音",
		"state.partial":            "部分录音",
		"state.interrupted":        "中断",
		"state.withdrawn":          "已撤回",
		"state.deletion_requested": "已请求删除",
		"state.deleted":            "已删除",
		"state.declined":           "未同意录音",
		"state.not_recorded":       "未录音",
		"state.abandoned":          "已放弃",
		"state.uploading":          "上传中",
		"state.unreadable":         "无法读取",
		"state.tampered":           "被篡改",

		"tamper.flag":    "被篡改",
		"tamper.title":   "被篡改。",
		"tamper.explain": "这个会话的对象在首次保存后被替换过。存档保留并只信任第一个版本；在管理员核查之前，这个会话不能播放。",

		"session.title":        "会话 {id}",
		"session.audio":        "录音",
		"session.segments":     "{n} 段（{partial} 段不完整）",
		"session.segments.one": "{n} 段（{partial} 段不完整）",
		"session.gaps":         "{n} 处中断，共 {d}",
		"session.gaps.one":     "{n} 处中断，共 {d}",
		"session.format":       "格式",
		"session.device":       "设备",
		"session.counselor":    "咨询师",
		"session.declined":     "未同意录音",
		"session.error":        "问题",

		"consent.title":       "同意记录",
		"consent.agreement":   "协议",
		"consent.language":    "语言",
		"consent.hash":        "所示文本的 SHA-256",
		"consent.participant": "参与者",
		"consent.decision":    "决定",
		"consent.yes":         "同意",
		"consent.no":          "拒绝",
		"consent.none":        "没有同意记录：这个会话没有录音。",

		"play.title":          "收听",
		"play.play":           "播放",
		"play.download":       "下载 WAV",
		"play.note":           "播放和下载都在本机校验并解密录音；每一次都作为一次提取记入审计日志。",
		"play.audited":        "这次播放已记入审计日志。",
		"play.none":           "这个会话没有可播放的录音。",
		"play.tampered":       "这个会话被篡改过：默认不能播放。",
		"play.original":       "播放原始版本",
		"play.original.check": "播放最先保存的版本（在被覆盖之前由设备上传的内容）；这会作为对被篡改会话的提取记入审计日志。",

		"deletions.title":        "删除请求",
		"deletions.explain":      "参与者撤回并要求删除录音的会话。会话的第一个清单或摘要记录了撤回并删除时，请求为已校验；否则为可疑（可能是设备伪造），只能逐个执行。执行后将删除该会话录音和清单的所有存储版本；会话摘要和删除记录会保留，每次删除都记入审计日志。",
		"deletions.requested":    "请求时间",
		"deletions.reason":       "原因",
		"deletions.verify":       "校验",
		"deletions.valid":        "已校验",
		"deletions.suspicious":   "可疑",
		"deletions.review":       "核查并执行…",
		"confirm.one":            "将永久删除房间 {room} 的会话 {session}。此操作无法撤销。",
		"applied.suspicious":     "可疑的请求未被执行：请在删除请求页面逐一核查。",
		"deletions.removes":      "将删除",
		"deletions.versions":     "{n} 个存储版本",
		"deletions.versions.one": "{n} 个存储版本",
		"deletions.apply":        "执行删除…",
		"deletions.none":         "没有删除请求。",

		"confirm.title":       "确认删除",
		"confirm.explain":     "将永久删除 {n} 个会话。此操作无法撤销；下列每个版本都会从存档中删除。",
		"confirm.explain.one": "将永久删除 {n} 个会话。此操作无法撤销；下列每个版本都会从存档中删除。",
		"confirm.check":       "我已核对清单，确认永久删除这些录音。",
		"confirm.button":      "永久删除",
		"confirm.cancel":      "取消",
		"confirm.needed":      "没有删除任何内容：请先勾选确认。",

		"applied.title":   "删除已执行",
		"applied.removed": "已删除版本",
		"applied.result":  "结果",
		"applied.audited": "每个结果都已写入审计日志。",

		"audit.title":       "审计日志",
		"audit.who":         "操作者",
		"audit.host":        "计算机",
		"audit.action":      "操作",
		"audit.detail":      "详情",
		"audit.objects":     "{n} 个对象",
		"audit.objects.one": "{n} 个对象",
		"audit.none":        "这段时间没有审计记录。",

		"action.pull":           "提取",
		"action.delete-session": "删除会话",
		"action.provision":      "开通房间",
		"action.revoke":         "吊销",
		"action.rotate":         "更换密钥",
		"action.bucket-init":    "初始化存储桶",
	},
}

func hasKey(k string) bool { _, ok := catalogs["en"][k]; return ok }

// tr translates key into lang with {name} placeholders from args (name,
// value pairs). A key missing in lang falls back to English; one missing
// everywhere shows its last part (an action the catalog does not know yet
// reads as itself).
//
// Plurals: when the first argument's value is the number 1 and the
// catalog has key+".one", that form is used ("1 room", "2 rooms"); Chinese
// has no plural and repeats its one form.
func tr(lang, key string, args ...any) string {
	if len(args) >= 2 && isOne(args[1]) {
		if _, ok := catalogs[lang][key+".one"]; ok {
			key += ".one"
		}
	}
	s, ok := catalogs[lang][key]
	if !ok {
		if s, ok = catalogs["en"][key]; !ok {
			s = key[strings.IndexByte(key, '.')+1:]
		}
	}
	for i := 0; i+1 < len(args); i += 2 {
		s = strings.ReplaceAll(s, "{"+fmt.Sprint(args[i])+"}", fmt.Sprint(args[i+1]))
	}
	return s
}

// isOne says whether a placeholder's value is the number 1.
func isOne(v any) bool {
	switch n := v.(type) {
	case int:
		return n == 1
	case int64:
		return n == 1
	case uint64:
		return n == 1
	}
	return false
}
