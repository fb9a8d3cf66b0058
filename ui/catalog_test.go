package ui

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	tparse "text/template/parse"
	"unicode"

	"golang.org/x/net/html"

	"github.com/tandemauth/tandem/ui/locale"
)

// TestTemplatesHaveNoLiteralText: every word a template shows comes from
// the catalog. A literal would stay English in every language.
func TestTemplatesHaveNoLiteralText(t *testing.T) {
	// Attributes whose values people read.
	wordy := map[string]bool{"alt": true, "title": true, "aria-label": true, "placeholder": true, "value": false}
	err := fs.WalkDir(assets, "templates", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		src, err := fs.ReadFile(assets, path)
		if err != nil {
			return err
		}
		pt := tparse.New(path)
		pt.Mode = tparse.SkipFuncCheck
		trees := map[string]*tparse.Tree{}
		if _, err := pt.Parse(string(src), "{{", "}}", trees); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		for name, tree := range trees {
			var markup strings.Builder
			var walk func(tparse.Node)
			walk = func(n tparse.Node) {
				switch n := n.(type) {
				case *tparse.TextNode:
					markup.Write(n.Text)
				case *tparse.ListNode:
					if n == nil {
						return
					}
					for _, c := range n.Nodes {
						walk(c)
					}
				case *tparse.IfNode:
					walk(n.List)
					walk(n.ElseList)
				case *tparse.WithNode:
					walk(n.List)
					walk(n.ElseList)
				case *tparse.RangeNode:
					walk(n.List)
					walk(n.ElseList)
				default:
					// An action: its output is data or catalog text.
					markup.WriteString(" ")
				}
			}
			walk(tree.Root)
			checkNoWords(t, path+":"+name, markup.String(), wordy)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// checkNoWords tokenizes a template's literal markup and fails on any
// letter outside tags, or in an attribute people read.
func checkNoWords(t *testing.T, where, markup string, wordy map[string]bool) {
	t.Helper()
	z := html.NewTokenizer(strings.NewReader(markup))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return
		case html.TextToken:
			if text := strings.TrimSpace(string(z.Text())); hasLetter(text) {
				t.Errorf("%s: literal text %q: put it in the catalog", where, text)
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			for {
				k, v, more := z.TagAttr()
				if wordy[string(k)] && hasLetter(string(v)) {
					t.Errorf("%s: literal %s=%q: put it in the catalog", where, k, v)
				}
				if !more {
					break
				}
			}
		}
	}
}

func hasLetter(s string) bool {
	return strings.IndexFunc(s, unicode.IsLetter) >= 0
}

// TestEveryKeyUsedExists: each catalog key the Go code, the templates and
// tandem.js name is in the English catalog, so no page ever shows a raw
// key.
func TestEveryKeyUsedExists(t *testing.T) {
	c, err := locale.Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	en := c.Default()
	goKey := regexp.MustCompile(`"((?:login|registration|settings|add|recovery|verification|welcome|prompt|common|error|footer|method|signed_in_with|time|brand|consent|scope|logout|social|oauth2)\.[a-z0-9_.]+[a-z0-9_])"`)
	tmplKey := regexp.MustCompile(`\.T "([a-z0-9_.]+)"`)
	files, _ := filepath.Glob("*.go")
	templates, _ := filepath.Glob("templates/*/*.html")
	for _, f := range append(files, templates...) {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, re := range []*regexp.Regexp{goKey, tmplKey} {
			for _, m := range re.FindAllStringSubmatch(string(src), -1) {
				key := m[1]
				if strings.HasSuffix(key, ".") || strings.Count(key, ".") == 0 {
					continue
				}
				if !en.Has(key) && !isKeyPrefix(en, key) {
					t.Errorf("%s names %q, which the English catalog lacks", f, key)
				}
			}
		}
	}
	js, err := os.ReadFile("static/tandem.js")
	if err != nil {
		t.Fatal(err)
	}
	script := en.Script()
	for _, m := range regexp.MustCompile(`\bt\("([a-z0-9_]+)"\)`).FindAllStringSubmatch(string(js), -1) {
		if _, ok := script[m[1]]; !ok {
			t.Errorf("tandem.js says t(%q), but the catalog has no js.%s", m[1], m[1])
		}
	}
}

// isKeyPrefix allows a Go literal that a key is built from (the prompt
// wording's "prompt.upgrade" + ".heading").
func isKeyPrefix(l *locale.Locale, prefix string) bool {
	for _, k := range l.Keys() {
		if strings.HasPrefix(k, prefix+".") {
			return true
		}
	}
	return false
}
