// Package i18n is the one translation mechanism of the screen (kiosk/ui)
// and the admin console (sync/console): messages per language with {name}
// placeholders, English as the fallback, and a ".one" plural form. Each
// front end keeps its own words in its own catalog; only the mechanism is
// shared, on the ground floor, so the screen links no console code and the
// console no screen code. Standard library only.
package i18n

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Fallback is the language used for an unknown language or a missing
// message, and the reference every other language must match.
const Fallback = "en"

// Catalog holds one map of messages per language.
type Catalog[K ~string] struct {
	Messages map[string]map[K]string
	// Missing is what a key found in no language reads as (nil: the key).
	Missing func(K) string
}

// T returns key's message in lang, its {name} placeholders replaced from
// args (name, value pairs; values printed with fmt.Sprint, all at once, so
// a value holding braces is never expanded again). An unknown language, or
// a key missing in lang, falls back to English.
//
// Plurals: when the first value is the number 1 and the catalog has
// key+".one", that form is used ("1 room", "2 rooms"); a language without
// plurals (Chinese) repeats its one form under both keys.
func (c Catalog[K]) T(lang string, key K, args ...any) string {
	if len(args) >= 2 && isOne(args[1]) {
		if _, ok := c.lookup(lang, key+".one"); ok {
			key += ".one"
		}
	}
	s, ok := c.lookup(lang, key)
	if !ok {
		if c.Missing != nil {
			return c.Missing(key)
		}
		return string(key)
	}
	if len(args) < 2 {
		return s
	}
	pairs := make([]string, 0, len(args))
	for i := 0; i+1 < len(args); i += 2 {
		pairs = append(pairs, "{"+fmt.Sprint(args[i])+"}", fmt.Sprint(args[i+1]))
	}
	return strings.NewReplacer(pairs...).Replace(s)
}

func (c Catalog[K]) lookup(lang string, key K) (string, bool) {
	if s, ok := c.Messages[lang][key]; ok {
		return s, true
	}
	s, ok := c.Messages[Fallback][key]
	return s, ok
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

// Has reports whether the catalog has key (in English).
func (c Catalog[K]) Has(key K) bool { _, ok := c.Messages[Fallback][key]; return ok }

// Supported reports whether the catalog has a language.
func (c Catalog[K]) Supported(lang string) bool { _, ok := c.Messages[lang]; return ok }

// Keys returns every key, sorted.
func (c Catalog[K]) Keys() []K {
	keys := make([]K, 0, len(c.Messages[Fallback]))
	for k := range c.Messages[Fallback] {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	return keys
}

// Mismatches lists every key that one language has and another lacks, and
// every message whose placeholders differ from the English one: what a
// catalog test reports.
func (c Catalog[K]) Mismatches() []string {
	var out []string
	en := c.Messages[Fallback]
	langs := make([]string, 0, len(c.Messages))
	for l := range c.Messages {
		langs = append(langs, l)
	}
	sort.Strings(langs)
	for _, lang := range langs {
		if lang == Fallback {
			continue
		}
		cat := c.Messages[lang]
		for _, k := range c.Keys() {
			v, ok := cat[k]
			if !ok {
				out = append(out, fmt.Sprintf("%s: %q missing", lang, k))
				continue
			}
			if p, q := Placeholders(en[k]), Placeholders(v); strings.Join(p, " ") != strings.Join(q, " ") {
				out = append(out, fmt.Sprintf("%s: %q: placeholders %v, English has %v", lang, k, q, p))
			}
		}
		for k := range cat {
			if _, ok := en[k]; !ok {
				out = append(out, fmt.Sprintf("%s: %q not in English", lang, k))
			}
		}
	}
	sort.Strings(out)
	return out
}

var placeholder = regexp.MustCompile(`\{[a-z_]+\}`)

// Placeholders lists the {name} placeholders of s, sorted.
func Placeholders(s string) []string {
	p := placeholder.FindAllString(s, -1)
	sort.Strings(p)
	return p
}
