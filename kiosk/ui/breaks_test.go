package ui

import (
	"fmt"
	"strings"
	"testing"
)

// breakProblems checks, independently of the wrapper, where lines (the
// laid-out lines of src) were broken: only where the language allows it,
// i.e. at a space or newline, at a WordBreak mark, after CJK punctuation or
// before CJK opening punctuation, and never before closing punctuation.
// Two Chinese characters with no mark between them are one word; so are
// two letters or digits.
func breakProblems(src string, lines []string) []string {
	rs := []rune(src)
	pos := 0
	var out []string
	for i, line := range lines {
		if i > 0 {
			sep := false
			for pos < len(rs) && (rs[pos] == ' ' || rs[pos] == '\n' || rs[pos] == WordBreak) {
				sep = true
				pos++
			}
			prev, next := prevRune(rs, pos), rune(0)
			if lr := []rune(line); len(lr) > 0 {
				next = lr[0]
			}
			allowed := sep || (isCJK(prev) && closing(prev)) || (isCJK(next) && opening(next))
			if !allowed || closing(next) {
				out = append(out, fmt.Sprintf("%q broken inside a word: %q / %q", stripBreaks(src), lines[i-1], line))
			}
		}
		for _, r := range line {
			for pos < len(rs) && rs[pos] == WordBreak {
				pos++
			}
			if pos >= len(rs) || rs[pos] != r {
				return append(out, fmt.Sprintf("lines %q are not the text %q", lines, stripBreaks(src)))
			}
			pos++
		}
	}
	return out
}

// prevRune is the last rune before pos that is not a separator.
func prevRune(rs []rune, pos int) rune {
	for i := pos - 1; i >= 0; i-- {
		if rs[i] != ' ' && rs[i] != '\n' && rs[i] != WordBreak {
			return rs[i]
		}
	}
	return 0
}

// sceneBreakProblems runs breakProblems over every catalog message of a
// scene (config text, such as the agreement, carries no word marks).
func sceneBreakProblems(sc *Scene) []string {
	var out []string
	els := sc.Elements
	for i := 0; i < len(els); {
		e := els[i]
		if e.Kind != KindText || e.FromKey == "" {
			i++
			continue
		}
		lines := []string{e.Text}
		j := i + 1
		for ; j < len(els) && els[j].Kind == KindText && els[j].FromKey == e.FromKey && els[j].Box == e.Box && els[j].Source == e.Source; j++ {
			lines = append(lines, els[j].Text)
		}
		for _, p := range breakProblems(e.Source, lines) {
			out = append(out, string(e.FromKey)+": "+p)
		}
		i = j
	}
	return out
}

// TestBreakChecker: the checker catches the break issue 13 found in the end
// PIN title ("输入咨询师 PIN 码以结" / "束咨询"), a Latin word cut in two,
// a line starting with closing punctuation, and lets proper breaks pass.
func TestBreakChecker(t *testing.T) {
	tests := []struct {
		src   string
		lines []string
		bad   bool
	}{
		{"输入咨询师 PIN 码以结束咨询", []string{"输入咨询师 PIN 码以结", "束咨询"}, true},
		{"Counselor PIN to end the session", []string{"Counselor PIN to end the ses", "sion"}, true},
		{"请选择原因，原因会随本次咨询记录保存。", []string{"请选择原因", "，原因会随本次咨询记录保存。"}, true},
		{"Counselor PIN to end the session", []string{"Counselor PIN to end", "the session"}, false},
		{"请选择原因，原因会随本次咨询记录保存。", []string{"请选择原因，", "原因会随本次咨询记录保存。"}, false},
		{"输入咨询师\u00a0PIN\u00a0码\u200b以结束咨询", []string{"输入咨询师\u00a0PIN\u00a0码", "以结束咨询"}, false},
		{"录音（需同意）", []string{"录音", "（需同意）"}, false},
	}
	for _, tt := range tests {
		got := breakProblems(tt.src, tt.lines)
		if (len(got) > 0) != tt.bad {
			t.Errorf("%q as %q: problems %q, want bad=%v", tt.src, tt.lines, got, tt.bad)
		}
	}
	// And the wrapper that lays out catalog messages makes no such break,
	// down to widths that force one word a line.
	f := testFonts(t)
	for _, lang := range Languages {
		for _, k := range Keys() {
			src := translate(lang, k)
			for _, w := range []float64{80, 140, 220, 360} {
				lines := f.wrapWords(src, w, 24, true)
				if p := breakProblems(src, lines); len(p) > 0 {
					t.Errorf("%s/%s at %.0f px: %q", lang, k, w, p)
				}
				if strings.Contains(strings.Join(lines, ""), string(WordBreak)) {
					t.Errorf("%s/%s: a WordBreak mark left in a line", lang, k)
				}
			}
		}
	}
}

// TestZhTermsStayTogether: "PIN 码" is one term; a plain space inside it
// would let a line break split it, so the catalog spells it with a no-break
// space.
func TestZhTermsStayTogether(t *testing.T) {
	for k, s := range catalogs["zh"] {
		if strings.Contains(s, "PIN 码") || strings.Contains(s, "PIN"+string(WordBreak)+"码") {
			t.Errorf("zh %s: %q can break inside \"PIN 码\" (use U+00A0)", k, s)
		}
	}
}
