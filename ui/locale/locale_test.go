package locale

import (
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

func TestEnglishBasics(t *testing.T) {
	c, err := Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	en := c.Default()
	if got := en.T("login.heading"); got != "Sign in" {
		t.Errorf("login.heading = %q", got)
	}
	if got := en.Plural("time.days_ago", 1, nil); got != "1 day ago" {
		t.Errorf("1 day = %q", got)
	}
	if got := en.Plural("time.days_ago", 3, nil); got != "3 days ago" {
		t.Errorf("3 days = %q", got)
	}
	if got := en.Kratos(4000003, []byte(`{"min_length":8,"actual_length":3}`), "x"); got != "Must be at least 8 characters long (it is 3)." {
		t.Errorf("4000003 = %q", got)
	}
	if got := en.Kratos(4000026, []byte(`{"allowed_types":["string","number"],"actual_type":"null"}`), "x"); got != "Expected string or number, not null." {
		t.Errorf("4000026 = %q", got)
	}
	if got := en.Kratos(1050015, []byte(`{"secrets":[{"text":"a"},{"text":"b"}]}`), "x"); got != "a, b" {
		t.Errorf("1050015 = %q", got)
	}
	if got := en.Kratos(4000002, []byte(`{"property":"email"}`), "x"); got != "Please fill in E-mail address." {
		t.Errorf("4000002 = %q", got)
	}
	if got := en.Kratos(4000025, []byte(`{"index_a":0,"index_b":2}`), "x"); got != "Entries 1 and 3 are the same." {
		t.Errorf("4000025 counts from one: %q", got)
	}
	if got := en.Kratos(4010900, nil, "Hook says no"); got != "Hook says no" {
		t.Errorf("unknown id = %q", got)
	}
	if got := en.Kratos(1010002, nil, "Sign in with GitHub"); got != "Sign in with GitHub" {
		t.Errorf("missing context = %q", got)
	}
	d := time.Date(2026, 11, 29, 14, 5, 0, 0, time.UTC)
	if got := en.DateTime(d); got != "29 November 2026, 14:05 UTC" {
		t.Errorf("datetime = %q", got)
	}
	if got := en.Kratos(1060001, []byte(`{"privileged_session_expires_at":"2026-11-29T14:05:00Z"}`), "x"); got == "x" {
		t.Errorf("1060001 fell back")
	}
}

func TestNegotiate(t *testing.T) {
	c, err := Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	huge := strings.Repeat("xx-YY;q=0.1,", 100_000) + "de"
	for _, tc := range []struct {
		name, query, cookie, accept, want string
	}{
		{"nothing", "", "", "", "en"},
		{"query wins", "fr", "de", "es", "fr"},
		{"query is case-insensitive", "PT-br", "", "", "pt-BR"},
		{"unknown query falls through to the cookie", "xx", "de", "es", "de"},
		{"cookie wins over the header", "", "ja", "de", "ja"},
		{"junk cookie falls through", "", "<script>", "es", "es"},
		{"header picks the best match", "", "", "da, de-AT;q=0.9, en;q=0.5", "de"},
		{"regional variant", "", "", "ar-EG", "ar"},
		{"Portuguese from Portugal gets Brazilian", "", "", "pt-PT", "pt-BR"},
		{"unsupported language", "", "", "zh-CN, ko", "en"},
		{"malformed header", "", "", ";;;q=x,,=", "en"},
		{"wildcard", "", "", "*", "en"},
		{"enormous header", "", "", huge, "en"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := c.Negotiate(tc.query, tc.cookie, tc.accept).Tag(); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestOverrides(t *testing.T) {
	dir := fstest.MapFS{"de.toml": {Data: []byte("[login]\nheading = \"Willkommen zurück\"\n")}}
	c, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	de, _ := c.Lookup("de")
	if got := de.T("login.heading"); got != "Willkommen zurück" {
		t.Errorf("override not applied: %q", got)
	}
	for name, fsys := range map[string]fstest.MapFS{
		"unknown key":    {"de.toml": {Data: []byte("[login]\nheadng = \"x\"\n")}},
		"unknown locale": {"xx.toml": {Data: []byte("[login]\nheading = \"x\"\n")}},
		"not TOML":       {"de.toml": {Data: []byte("[login\n")}},
	} {
		if _, err := Load(fsys); err == nil || !strings.Contains(err.Error(), "ui.locales_dir") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestFrenchFirstOfTheMonth(t *testing.T) {
	c, err := Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	fr, ok := c.Lookup("fr")
	if !ok {
		t.Fatal("no fr")
	}
	for day, want := range map[int]string{1: "1er décembre 2026", 2: "2 décembre 2026"} {
		if got := fr.Date(time.Date(2026, 12, day, 9, 0, 0, 0, time.UTC)); got != want {
			t.Errorf("day %d: %q, want %q", day, got, want)
		}
	}
}
