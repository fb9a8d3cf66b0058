package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/tandemauth/tandem/kratosext/kratostest"
)

// A second stack wearing a team's brand: its name, logo, accent and
// footer links, all from tandem.yml.

// brandAccent is the team's accent: a burnt orange, far from Tandem's
// blue; on the dark card the derived palette must lighten it.
const brandAccent = "#c2410c"

// brandLogo is the team's logo, a file Tandem serves itself.
const brandLogo = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="8" fill="#c2410c"/><path d="M9 23l7-14 7 14" stroke="#fff" stroke-width="3" fill="none"/></svg>`

var (
	brandOnce  sync.Once
	brandStack *stack
	brandErr   error
)

// requireBrandStack returns the branded stack, starting it on first use.
func requireBrandStack(t *testing.T) *stack {
	t.Helper()
	brandOnce.Do(func() { brandStack, brandErr = startExtraStack("brand", "", brandYAML) })
	return requireExtra(t, brandStack, brandErr)
}

// brandYAML writes the logo into dir and returns the brand section.
func brandYAML(dir string) (string, error) {
	logo := filepath.Join(dir, "ackerland.svg")
	if err := os.WriteFile(logo, []byte(brandLogo), 0o600); err != nil {
		return "", err
	}
	return `brand:
  name: Ackerland
  logo: ` + logo + `
  accent: "` + brandAccent + `"
  links:
    help: https://help.example.com/
    privacy: https://example.com/privacy
`, nil
}

// startExtraStack starts a stack of its own (Kratos, Mailpit, Tandem) with
// Tandem's public URL under basePath ("" for the root) and the extra
// configuration extra returns, registered for TestMain to stop.
func startExtraStack(name, basePath string, extra func(dir string) (string, error)) (*stack, error) {
	if _, err := chromiumPath(); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "tandem-e2e-"+name+"-")
	if err != nil {
		return nil, err
	}
	p, err := newStackPorts()
	if err != nil {
		return nil, err
	}
	p.basePath = basePath
	p.uiURL += basePath
	yaml := ""
	if extra != nil {
		if yaml, err = extra(dir); err != nil {
			return nil, err
		}
	}
	s, err := startStackWith(dir, p, kratostest.Options{}, yaml)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	extraStacks.add(s)
	return s, nil
}

// requireExtra skips or fails like requireStack.
func requireExtra(t *testing.T, s *stack, err error) *stack {
	t.Helper()
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	if err != nil {
		if os.Getenv("CI") != "true" && (errors.Is(err, kratostest.ErrNoBinary) || errors.Is(err, kratostest.ErrNoMailpit) ||
			strings.Contains(err.Error(), "chromium not found")) {
			t.Skip("e2e: ", err)
		}
		t.Fatal("e2e: ", err)
	}
	return s
}

// TestE2EBrandedGermanSignIn: the branded stack's sign-in page in German
// at a phone's width shows the team's name, logo and accent, in German.
// With TANDEM_UPDATE_DOCS=1 it writes the README's screenshot.
func TestE2EBrandedGermanSignIn(t *testing.T) {
	s := requireBrandStack(t)
	b := newPromptBrowser(t, s, browserOptions{width: 390, height: 844, phone: true})
	b.open("/login?lang=de")
	b.waitPath("/login")
	b.settle()
	if got := b.text(`header.brand`); got != "Ackerland" {
		t.Errorf("header reads %q, want the brand's name", got)
	}
	if got, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.documentElement.lang`)); got != "de" {
		t.Errorf("<html lang=%q>, want de", got)
	}
	logo, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`(() => { const i = document.querySelector("header img.logo-img"); return !!i && i.complete && i.naturalWidth > 0; })()`))
	if err != nil || !logo {
		b.fail("the brand's logo did not load (%v)", err)
	}
	accent, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector("section.primary button[data-ceremony]")).backgroundColor`))
	if accent == "" || accent == "rgb(31, 94, 255)" {
		t.Errorf("the primary button is %q, not the brand's accent", accent)
	}
	if got, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.title`)); !strings.Contains(got, "Ackerland") {
		t.Errorf("title %q lacks the brand's name", got)
	}
	b.noSideways("the branded German sign-in")
	b.screenshot("sign-in-de-branded")
	if os.Getenv("TANDEM_UPDATE_DOCS") == "1" {
		png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		root, err := kratostest.RepoRoot()
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(root, "docs", "sign-in-de-branded-390.png")
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", file)
	}
}
