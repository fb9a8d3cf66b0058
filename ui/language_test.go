package ui

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestLanguageNegotiation(t *testing.T) {
	fk, byName := fixtures(t)
	s, _ := newTestServer(t, fk)
	page := "/login?flow=" + byName["login"]
	for _, tc := range []struct {
		name, target, cookie, accept string
		lang, dir                    string
		setsCookie                   bool
	}{
		{"default", page, "", "", "en", "ltr", false},
		{"accept-language", page, "", "ar-EG,ar;q=0.9", "ar", "rtl", false},
		{"query remembered", page + "&lang=de", "", "ar", "de", "ltr", true},
		{"cookie", page, langCookie + "=ja", "de", "ja", "ltr", false},
		{"junk query and cookie", page + "&lang=%3Cscript%3E", langCookie + "=%00%01", "", "en", "ltr", false},
		{"enormous header", page, "", strings.Repeat("x-y,", 50_000), "en", "ltr", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, tc.target, nil)
			req.Header.Set("Cookie", "csrf_token_x=abc")
			if tc.cookie != "" {
				req.Header.Set("Cookie", "csrf_token_x=abc; "+tc.cookie)
			}
			if tc.accept != "" {
				req.Header.Set("Accept-Language", tc.accept)
			}
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d", rec.Code)
			}
			doc := parse(t, rec.Body.String())
			h := queryAll(doc, "html")[0]
			if attr(h, "lang") != tc.lang || attr(h, "dir") != tc.dir {
				t.Errorf("<html lang=%q dir=%q>, want %s %s", attr(h, "lang"), attr(h, "dir"), tc.lang, tc.dir)
			}
			if got := rec.Header().Get("Content-Language"); got != tc.lang {
				t.Errorf("Content-Language %q", got)
			}
			set := false
			for _, c := range rec.Result().Cookies() {
				if c.Name == langCookie {
					set = c.Value == tc.lang && c.HttpOnly && c.Path == "/"
				}
			}
			if set != tc.setsCookie {
				t.Errorf("language cookie set: %v, want %v", set, tc.setsCookie)
			}
			// Every language is one click away, and the link keeps the flow.
			links := queryAll(doc, "nav.languages a")
			if len(links) != 6 {
				t.Fatalf("%d language links, want 6", len(links))
			}
			for _, a := range links {
				if href := attr(a, "href"); !strings.Contains(href, "flow="+byName["login"]) || !strings.Contains(href, "lang=") {
					t.Errorf("language link %q loses the flow", href)
				}
			}
		})
	}
}
