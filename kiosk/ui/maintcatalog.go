package ui

// Catalog entries of the maintenance work (issue 16): technicians' actions,
// problem reports and held recordings. Merged into the catalogs at init so
// the main catalog file stays as it is.
func init() {
	add := func(lang string, m map[Msg]string) {
		for k, v := range m {
			catalogs[lang][k] = v
		}
	}
	add("en", map[Msg]string{
		"check.reported_problem": "Reported problem",

		"feedback.problem":      "Equipment problem? Report it:",
		"feedback.problem.sent": "Reported to the technician. Another one?",
		"problem.audio":         "Audio",
		"problem.screen":        "Screen",
		"problem.climate":       "Climate",
		"problem.door_lock":     "Door or lock",
		"problem.other":         "Other",

		"maint.tech.record":          "Record what you did",
		"action.cleaned":             "Cleaned",
		"action.microphone_replaced": "Microphone replaced",
		"action.sensor_replaced":     "Sensor replaced",
		"action.software_updated":    "Software updated",
		"action.calibrated":          "Calibrated",
		"action.other":               "Other",
		"maint.last":                 "Last: {action}, {when}",
		"maint.last.none":            "No maintenance recorded yet",
		"maint.problems":             "Reported: {list}",
		"maint.problems.none":        "No reported problems",
		"maint.held.note":            "A recording waits for a counselor's decision",

		"maint.held.title":  "A recording waits for a decision",
		"maint.held.sub":    "Consent was withdrawn and the kiosk restarted before the choice. Only the client can keep it: let them choose. Undecided, it is deleted at its deadline.",
		"maint.held.count":  "{n} waiting",
		"maint.held.ask":    "Client chooses",
		"maint.held.delete": "Delete it",
	})
	add("zh", map[Msg]string{
		"check.reported_problem": "报告的\u200b问题",

		"feedback.problem":      "设备\u200b有\u200b问题？\u200b请\u200b报告：",
		"feedback.problem.sent": "已\u200b报告\u200b给\u200b技术员。\u200b还有\u200b其他\u200b问题？",
		"problem.audio":         "音频",
		"problem.screen":        "屏幕",
		"problem.climate":       "温湿度",
		"problem.door_lock":     "门\u200b或\u200b锁",
		"problem.other":         "其他",

		"maint.tech.record":          "记录\u200b维护\u200b操作",
		"action.cleaned":             "已\u200b清洁",
		"action.microphone_replaced": "更换\u200b麦克风",
		"action.sensor_replaced":     "更换\u200b传感器",
		"action.software_updated":    "更新\u200b软件",
		"action.calibrated":          "已\u200b校准",
		"action.other":               "其他",
		"maint.last":                 "上次\u200b维护：\u200b{action}，\u200b{when}",
		"maint.last.none":            "尚无\u200b维护\u200b记录",
		"maint.problems":             "已\u200b报告：\u200b{list}",
		"maint.problems.none":        "没有\u200b报告的\u200b问题",
		"maint.held.note":            "有\u200b录音\u200b等待\u200b咨询师\u200b决定",

		"maint.held.title":  "有\u200b录音\u200b等待\u200b决定",
		"maint.held.sub":    "来访者\u200b撤回了\u200b同意，\u200b选择\u200b之前\u200b设备\u200b重启了。\u200b只有\u200b来访者\u200b可以\u200b保留：\u200b请\u200b让\u200b来访者\u200b选择。\u200b无人\u200b决定\u200b则\u200b到期\u200b删除。",
		"maint.held.count":  "{n}\u00a0个\u200b等待中",
		"maint.held.ask":    "来访者\u200b选择",
		"maint.held.delete": "删除",
	})
}
