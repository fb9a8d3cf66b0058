package locale

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"text/template"
	"text/template/parse"

	"github.com/nicksnyder/go-i18n/v2/i18n"
)

// pluralForms are the CLDR plural forms each shipped language uses, as
// go-i18n v2.7.0's rules have them (internal/plural/rule_gen.go).
var pluralForms = map[string][]string{
	"en": {"one", "other"}, "de": {"one", "other"},
	"fr": {"one", "many", "other"}, "es": {"one", "many", "other"}, "pt-BR": {"one", "many", "other"},
	"ja": {"other"}, "ar": {"zero", "one", "two", "few", "many", "other"},
}

func forms(m *i18n.Message) map[string]string {
	out := map[string]string{}
	for name, v := range map[string]string{"zero": m.Zero, "one": m.One, "two": m.Two, "few": m.Few, "many": m.Many, "other": m.Other} {
		if v != "" {
			out[name] = v
		}
	}
	return out
}

// fields lists the {{.x}} a template uses, and fails on one that does not
// parse with the functions a catalog entry may call.
func fields(t *testing.T, where, src string) map[string]bool {
	t.Helper()
	funcs := template.FuncMap{"join": func(string, any) string { return "" }, "date": func(any) string { return "" }, "datetime": func(any) string { return "" }}
	if _, err := template.New(where).Funcs(funcs).Parse(src); err != nil {
		t.Errorf("%s does not parse: %v", where, err)
		return nil
	}
	pt := parse.New(where)
	pt.Mode = parse.SkipFuncCheck
	trees := map[string]*parse.Tree{}
	if _, err := pt.Parse(src, "{{", "}}", trees); err != nil {
		t.Errorf("%s does not parse: %v", where, err)
		return nil
	}
	out := map[string]bool{}
	var walk func(n parse.Node)
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n != nil {
				for _, c := range n.Nodes {
					walk(c)
				}
			}
		case *parse.ActionNode:
			walk(n.Pipe)
		case *parse.PipeNode:
			if n != nil {
				for _, c := range n.Cmds {
					walk(c)
				}
			}
		case *parse.CommandNode:
			for _, a := range n.Args {
				walk(a)
			}
		case *parse.FieldNode:
			out[strings.Join(n.Ident, ".")] = true
		case *parse.IfNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.WithNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.RangeNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		}
	}
	for _, tr := range trees {
		walk(tr.Root)
	}
	return out
}

// TestEveryLocaleIsComplete: each shipped catalog has exactly English's
// keys, the plural forms its language needs, and the same template
// fields as English (a translated {{.provder}} would print nothing).
func TestEveryLocaleIsComplete(t *testing.T) {
	c, err := Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	en := c.Default()
	enKeys := en.Keys()
	for _, l := range c.Locales() {
		t.Run(l.Tag(), func(t *testing.T) {
			keys := l.Keys()
			for _, k := range enKeys {
				if !slices.Contains(keys, k) {
					t.Errorf("missing key %s", k)
				}
			}
			for _, k := range keys {
				if !slices.Contains(enKeys, k) {
					t.Errorf("key %s is not in the English catalog", k)
				}
			}
			for _, k := range keys {
				m, _ := l.Message(k)
				em, ok := en.Message(k)
				if !ok {
					continue
				}
				got, want := forms(m), forms(em)
				if len(want) > 1 {
					need := pluralForms[l.Tag()]
					if have := slices.Sorted(maps.Keys(got)); !slices.Equal(have, slices.Sorted(slices.Values(need))) {
						t.Errorf("%s: plural forms %v, %s needs %v", k, have, l.Tag(), need)
					}
				} else if len(got) != 1 || got["other"] == "" {
					t.Errorf("%s: want one plain value, got forms %v", k, slices.Sorted(maps.Keys(got)))
					continue
				}
				enFields := map[string]bool{}
				for _, v := range want {
					maps.Copy(enFields, fields(t, "en "+k, v))
				}
				// A date format may use any field Locale.Date fills in,
				// whichever its language writes.
				if k == "format.date" {
					enFields = map[string]bool{"Day": true, "Month": true, "MonthNumber": true, "Year": true}
				}
				for form, v := range got {
					f := fields(t, l.Tag()+" "+k+" "+form, v)
					for name := range f {
						if !enFields[name] {
							t.Errorf("%s (%s): uses {{.%s}}, which English does not have", k, form, name)
						}
					}
					if len(want) == 1 && k != "format.date" {
						for name := range enFields {
							if !f[name] {
								t.Errorf("%s: drops {{.%s}}", k, name)
							}
						}
					}
				}
			}
		})
	}
}
