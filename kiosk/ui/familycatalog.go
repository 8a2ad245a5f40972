package ui

// Catalog entries of family sessions with children (issue 24): the
// participants' roles, the guardian's agreement and the child's assent.
// Merged into the catalogs at init, like maintcatalog.go.
func init() {
	add := func(lang string, m map[Msg]string) {
		for k, v := range m {
			catalogs[lang][k] = v
		}
	}
	add("en", map[Msg]string{
		"participants.sub.family": "Children are under {age}. Set the children first, then tap the number of adults.",
		"participants.adults":     "Adults",
		"participants.children":   "Children under {age}",

		"consent.title.adult":    "Adult {n} of {total}",
		"consent.title.guardian": "Guardian of child {n}",
		"consent.sub.guardian":   "A parent or legal guardian of child {n} who is present reads and answers.",
		"consent.guardian.yes":   "I agree as the guardian",

		"assent.title":   "Child {n}: your turn",
		"assent.sub":     "A question about the microphone. You can say no.",
		"assent.yes":     "Yes, that's OK",
		"assent.no":      "No",
		"assent.readall": "Read it all first ({n}/{total})",

		"session.noguardian":  "Not recorded: a child cannot be recorded without a parent or guardian here",
		"withdraw.sub.family": "A parent or guardian of the child chooses: keep what was recorded so far, or delete it?",
	})
	add("zh", map[Msg]string{
		"participants.sub.family": "儿童\u200b指\u200b未满\u00a0{age}\u00a0岁者。\u200b请\u200b先\u200b选\u200b儿童\u200b人数，\u200b再\u200b点\u200b成人\u200b人数。",
		"participants.adults":     "成人",
		"participants.children":   "未满\u00a0{age}\u00a0岁的\u200b儿童",

		"consent.title.adult":    "成人\u00a0{n}\u00a0/\u00a0{total}",
		"consent.title.guardian": "儿童\u00a0{n}\u00a0的\u200b监护人",
		"consent.sub.guardian":   "请\u200b在场的\u200b儿童\u00a0{n}\u00a0的\u200b父母\u200b或\u200b法定\u200b监护人\u200b阅读\u200b并\u200b回答。",
		"consent.guardian.yes":   "我\u200b作为\u200b监护人\u200b同意",

		"assent.title":   "儿童\u00a0{n}：\u200b轮到\u200b你了",
		"assent.sub":     "关于\u200b麦克风的\u200b问题。\u200b你\u200b可以\u200b说\u200b不。",
		"assent.yes":     "可以",
		"assent.no":      "不可以",
		"assent.readall": "先\u200b读完\u200b（{n}/{total}）",

		"session.noguardian":  "未录音：\u200b没有\u200b父母\u200b或\u200b监护人\u200b在场，\u200b儿童\u200b不能\u200b录音",
		"withdraw.sub.family": "由\u200b儿童的\u200b父母\u200b或\u200b监护人\u200b选择：\u200b保留\u200b还是\u200b删除\u200b已录制的\u200b内容？",
	})
}
