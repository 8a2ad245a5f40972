package i18n

import (
	"reflect"
	"strings"
	"testing"
)

var cat = Catalog[string]{Messages: map[string]map[string]string{
	"en": {"rooms": "{n} rooms", "rooms.one": "{n} room", "hello": "Hello {name}", "only.en": "English only"},
	"zh": {"rooms": "{n} 个房间", "rooms.one": "{n} 个房间", "hello": "你好 {name}"},
}}

func TestT(t *testing.T) {
	last := cat
	last.Missing = func(k string) string { return k[strings.IndexByte(k, '.')+1:] }
	for _, tc := range []struct {
		name string
		c    Catalog[string]
		lang string
		key  string
		args []any
		want string
	}{
		{"placeholder", cat, "en", "hello", []any{"name", "Ann"}, "Hello Ann"},
		{"another language", cat, "zh", "hello", []any{"name", "Ann"}, "你好 Ann"},
		{"unknown language: English", cat, "fr", "hello", []any{"name", "Ann"}, "Hello Ann"},
		{"missing in the language: English", cat, "zh", "only.en", nil, "English only"},
		{"missing everywhere: the key", cat, "en", "no.such", nil, "no.such"},
		{"missing everywhere: as Missing says", last, "en", "action.revoke-all", nil, "revoke-all"},
		{"plural: 2", cat, "en", "rooms", []any{"n", 2}, "2 rooms"},
		{"plural: 1", cat, "en", "rooms", []any{"n", 1}, "1 room"},
		{"plural: int64 1", cat, "en", "rooms", []any{"n", int64(1)}, "1 room"},
		{"plural: the string 1 is no number", cat, "en", "rooms", []any{"n", "1"}, "1 rooms"},
		{"plural, Chinese", cat, "zh", "rooms", []any{"n", 1}, "1 个房间"},
		{"a value with braces is not expanded again", cat, "en", "hello", []any{"name", "{name}"}, "Hello {name}"},
		{"odd args: the message as it is", cat, "en", "hello", []any{"name"}, "Hello {name}"},
	} {
		if got := tc.c.T(tc.lang, tc.key, tc.args...); got != tc.want {
			t.Errorf("%s: T(%q, %q, %v) = %q, want %q", tc.name, tc.lang, tc.key, tc.args, got, tc.want)
		}
	}
}

func TestMismatches(t *testing.T) {
	bad := Catalog[string]{Messages: map[string]map[string]string{
		"en": {"a": "{n} a", "b": "b"},
		"zh": {"a": "{m} a", "c": "c"},
	}}
	want := []string{
		`zh: "a": placeholders [{m}], English has [{n}]`,
		`zh: "b" missing`,
		`zh: "c" not in English`,
	}
	if got := bad.Mismatches(); !reflect.DeepEqual(got, want) {
		t.Errorf("Mismatches = %q, want %q", got, want)
	}
	good := Catalog[string]{Messages: map[string]map[string]string{"en": {"a": "{n}"}, "zh": {"a": "{n} 个"}}}
	if got := good.Mismatches(); len(got) != 0 {
		t.Errorf("a matching catalog: %q", got)
	}
	if got := cat.Keys(); !reflect.DeepEqual(got, []string{"hello", "only.en", "rooms", "rooms.one"}) {
		t.Errorf("Keys = %q", got)
	}
}
