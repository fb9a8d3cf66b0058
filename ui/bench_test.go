package ui

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/tandemauth/tandem/devices"
	"github.com/tandemauth/tandem/kratosext"
)

// BenchmarkLoginPage renders the real login flow fixture through the whole
// handler, Kratos fetch included (over loopback HTTP to a fixture server).
func BenchmarkLoginPage(b *testing.B) {
	for _, lang := range []string{"", "de", "ar"} {
		b.Run("lang="+lang, func(b *testing.B) { benchLoginPage(b, lang) })
	}
}

func benchLoginPage(b *testing.B, lang string) {
	fk, byName := fixtures(b)
	s, _ := newTestServer(b, fk)
	h := s.Handler()
	target := "/login?flow=" + byName["login"]
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodGet, target, nil)
		req.Header.Set("Cookie", "csrf_token_x=abc")
		if lang != "" {
			req.Header.Set("Accept-Language", lang)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
}

// BenchmarkRenderLogin is the page work alone: a decoded flow to HTML,
// without any HTTP.
func BenchmarkRenderLogin(b *testing.B) {
	fk, byName := fixtures(b)
	s, _ := newTestServer(b, fk)
	var f kratosext.Flow
	if err := json.Unmarshal(fk.flows[byName["login"]], &f); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		c, _ := gin.CreateTestContext(httptest.NewRecorder())
		c.Request = httptest.NewRequest(http.MethodGet, "/login", nil)
		cer, err := kratosext.Ceremonies(&f.UI)
		if err != nil {
			b.Fatal(err)
		}
		page, err := s.buildLogin(flowInput{c: c, kind: kratosext.Login, f: &f, ceremonies: cer,
			dev: devices.Device{Class: devices.ClassDesktop}, l: s.catalog.Default()})
		if err != nil {
			b.Fatal(err)
		}
		if err := s.render(c, http.StatusOK, "flow", page.Heading, page); err != nil {
			b.Fatal(err)
		}
	}
}
