package ui

import (
	"math"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Align is the horizontal alignment of text in its box.
type Align int

const (
	AlignLeft Align = iota
	AlignCenter
	AlignRight
)

// TextStyle says how a string is fitted into its box.
type TextStyle struct {
	Size    float64 // preferred pixel size
	MinSize float64 // smallest size the fitter may shrink to; 0 means Size
	Bold    bool
	Align   Align
	Top     bool    // align to the top of the box instead of centring vertically
	Wrap    bool    // may break into several lines
	Leading float64 // line height as a multiple of the font's; 0 means 1.15

	// words: the text is a catalog message whose Chinese marks its word
	// boundaries (WordBreak); it breaks only there, at spaces and after
	// CJK punctuation, never inside a word (set by the scene builder).
	words bool
}

// WordBreak (U+200B ZERO WIDTH SPACE) marks where a catalog message may
// break between two Chinese words: Chinese has no spaces, and a title split
// inside a word ("以结" / "束") reads badly. It is never drawn. A no-break
// space (U+00A0) keeps a mixed term such as "PIN 码" on one line.
const WordBreak = '\u200b'

// stripBreaks removes the WordBreak marks.
func stripBreaks(s string) string {
	if !strings.ContainsRune(s, WordBreak) {
		return s
	}
	return strings.ReplaceAll(s, string(WordBreak), "")
}

// Fit finds the largest size between st.Size and st.MinSize at which s fits
// a w x h box (word-wrapped when st.Wrap), and returns its lines. ok is false
// when even the smallest size overflows; the lines are then cut to the box.
func (f *Fonts) Fit(s string, w, h float64, st TextStyle) (lines []string, size float64, ok bool) {
	minSize := st.MinSize
	if minSize <= 0 || minSize > st.Size {
		minSize = st.Size
	}
	for size = math.Round(st.Size); size >= minSize; size-- {
		lines, ok = f.layout(s, w, h, size, st)
		if ok {
			return lines, size, true
		}
	}
	size = math.Round(minSize)
	lines, _ = f.layout(s, w, h, size, st)
	return lines, size, false
}

func (f *Fonts) layout(s string, w, h, size float64, st TextStyle) ([]string, bool) {
	face := f.face(size, st.Bold)
	lh := f.lineHeight(size, st)
	plain := stripBreaks(s)
	asc, desc := face.lineMetrics(plain)
	if asc+desc > h+0.5 {
		return []string{plain}, false
	}
	if !st.Wrap {
		return []string{plain}, face.advance(plain) <= w+0.5 && !strings.Contains(plain, "\n")
	}
	var lines []string
	if st.words {
		lines = f.wrapWords(s, w, size, st.Bold)
	} else {
		lines = f.Wrap(plain, w, size, st.Bold)
	}
	ok := true
	for _, l := range lines {
		if face.advance(l) > w+0.5 {
			ok = false
		}
	}
	maxLines := int(math.Floor((h-(asc+desc))/lh)) + 1
	if len(lines) > maxLines {
		return lines[:maxLines], false
	}
	return lines, ok
}

// LineHeight is the distance between baselines of wrapped lines.
func (f *Fonts) lineHeight(size float64, st TextStyle) float64 {
	lead := st.Leading
	if lead == 0 {
		lead = 1.15
	}
	m := f.face(size, st.Bold).Metrics()
	return math.Ceil(fx(m.Ascent+m.Descent) * lead)
}

// Wrap breaks s into lines no wider than w: at spaces in Latin text, between
// any two CJK characters, never before closing punctuation nor after opening
// punctuation, and at every newline. A word longer than the line is broken
// between characters.
func (f *Fonts) Wrap(s string, w, size float64, bold bool) []string {
	face := f.face(size, bold)
	var out []string
	for _, para := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		var line string
		for _, tok := range tokens(para) {
			cand := line + tok
			if face.advance(strings.TrimRight(cand, " ")) <= w || line == "" {
				line = cand
				if line == tok && face.advance(strings.TrimRight(tok, " ")) > w {
					// A single token wider than the line: break it by rune.
					parts := breakRunes(face, tok, w)
					out = append(out, parts[:len(parts)-1]...)
					line = parts[len(parts)-1]
				}
				continue
			}
			out = append(out, strings.TrimRight(line, " "))
			line = strings.TrimLeft(tok, " ")
			if face.advance(strings.TrimRight(line, " ")) > w {
				parts := breakRunes(face, line, w)
				out = append(out, parts[:len(parts)-1]...)
				line = parts[len(parts)-1]
			}
		}
		out = append(out, strings.TrimRight(line, " "))
	}
	return out
}

// wrapWords breaks a catalog message into lines no wider than w where its
// language allows: at spaces, at WordBreak marks, after CJK punctuation and
// before CJK opening punctuation. A word is never split: one wider than the
// line overflows, and Fit shrinks the text instead.
func (f *Fonts) wrapWords(s string, w, size float64, bold bool) []string {
	face := f.face(size, bold)
	var out []string
	for _, para := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		var line string
		for _, tok := range wordTokens(para) {
			if cand := line + tok; line == "" || face.advance(strings.TrimRight(cand, " ")) <= w {
				line = cand
				continue
			}
			out = append(out, strings.TrimRight(line, " "))
			line = strings.TrimLeft(tok, " ")
		}
		out = append(out, strings.TrimRight(line, " "))
	}
	return out
}

// wordTokens splits a paragraph of a catalog message into words: after a
// run of spaces, at a WordBreak (dropped), after CJK closing punctuation
// (unless more closing punctuation follows) and before CJK opening
// punctuation.
func wordTokens(s string) []string {
	var out []string
	var cur strings.Builder
	flush := func() {
		if cur.Len() > 0 {
			out = append(out, cur.String())
			cur.Reset()
		}
	}
	rs := []rune(s)
	for i, r := range rs {
		next := rune(0)
		if i+1 < len(rs) {
			next = rs[i+1]
		}
		switch {
		case r == WordBreak:
			flush()
		case r == ' ':
			cur.WriteRune(r)
			if next != ' ' {
				flush()
			}
		case isCJK(r) && opening(r):
			flush()
			cur.WriteRune(r)
		case isCJK(r) && closing(r):
			cur.WriteRune(r)
			if !closing(next) {
				flush()
			}
		default:
			cur.WriteRune(r)
		}
	}
	flush()
	return out
}

func breakRunes(face *fallbackFace, s string, w float64) []string {
	var out []string
	var cur []rune
	for _, r := range s {
		if len(cur) > 0 && face.advance(string(append(cur, r))) > w {
			if closing(r) && len(cur) > 1 {
				// Never start a line with closing punctuation: carry the
				// character before it along.
				last := cur[len(cur)-1]
				out = append(out, string(cur[:len(cur)-1]))
				cur = append(cur[:0], last)
			} else {
				out = append(out, string(cur))
				cur = cur[:0]
			}
		}
		cur = append(cur, r)
	}
	return append(out, string(cur))
}

// tokens splits a paragraph into unbreakable pieces; trailing spaces stay
// with the piece before them.
func tokens(s string) []string {
	var out []string
	var cur strings.Builder
	flush := func() {
		if cur.Len() > 0 {
			out = append(out, cur.String())
			cur.Reset()
		}
	}
	for i, r := range s {
		switch {
		case r == ' ':
			cur.WriteRune(r)
			if next, _ := utf8.DecodeRuneInString(s[i+1:]); next != ' ' {
				flush()
			}
		case closing(r):
			// Stays on the line before: append to the last piece.
			if cur.Len() == 0 && len(out) > 0 {
				out[len(out)-1] += string(r)
			} else {
				cur.WriteRune(r)
			}
		case isCJK(r):
			if cur.Len() > 0 && !endsWithOpening(cur.String()) {
				flush()
			}
			cur.WriteRune(r)
			if !opening(r) {
				flush()
			}
		default:
			if cur.Len() > 0 && isCJKString(cur.String()) && !endsWithOpening(cur.String()) {
				flush()
			}
			cur.WriteRune(r)
		}
	}
	flush()
	return out
}

func isCJK(r rune) bool {
	return unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r) ||
		(r >= 0x3000 && r <= 0x303f) || (r >= 0xff00 && r <= 0xffef)
}

func isCJKString(s string) bool {
	r, _ := utf8.DecodeLastRuneInString(s)
	return isCJK(r)
}

func closing(r rune) bool {
	return strings.ContainsRune("，。、；：！？）」』”’》…,.;:!?)", r)
}

func opening(r rune) bool { return strings.ContainsRune("（「『“‘《(", r) }

func endsWithOpening(s string) bool {
	r, _ := utf8.DecodeLastRuneInString(s)
	return opening(r)
}
