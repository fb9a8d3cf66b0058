package locale

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// kratosVersion is the Kratos whose UI texts the catalogs word. Keep it
// equal to scripts/install-kratos.sh's.
const kratosVersion = "v1.3.1"

// kratosMessageIDs reads, from Kratos' own source, every UI text id its
// text package can send: the ids a constructor in text/message_*.go
// builds a Message with. The module is in the module cache once
// scripts/install-kratos.sh has run (make test runs it first).
func kratosMessageIDs(t *testing.T) map[int64]string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "github.com", "ory", "kratos@"+kratosVersion, "text")
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Kratos %s source not in the module cache (scripts/install-kratos.sh downloads it): %v", kratosVersion, err)
		}
		t.Skipf("Kratos %s source not in the module cache; run scripts/install-kratos.sh", kratosVersion)
	}
	fset := token.NewFileSet()
	idFile, err := parser.ParseFile(fset, filepath.Join(dir, "id.go"), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	consts := map[string]int64{}
	for _, d := range idFile.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		var base int64
		for i, spec := range g.Specs {
			vs := spec.(*ast.ValueSpec)
			if i == 0 {
				be, ok := vs.Values[0].(*ast.BinaryExpr)
				if !ok {
					break
				}
				base, _ = strconv.ParseInt(be.X.(*ast.BasicLit).Value, 10, 64)
			}
			consts[vs.Names[0].Name] = base + int64(i)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "message_*.go"))
	ids := map[int64]string{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(af, func(n ast.Node) bool {
			cl, ok := n.(*ast.CompositeLit)
			if !ok {
				return true
			}
			if id, ok := cl.Type.(*ast.Ident); !ok || id.Name != "Message" {
				return true
			}
			for _, e := range cl.Elts {
				kv := e.(*ast.KeyValueExpr)
				if k := kv.Key.(*ast.Ident); k.Name == "ID" {
					if name, ok := kv.Value.(*ast.Ident); ok {
						ids[consts[name.Name]] = name.Name
					}
				}
			}
			return true
		})
	}
	if len(ids) < 100 {
		t.Fatalf("found only %d Kratos message ids in %s: has the text package moved?", len(ids), dir)
	}
	return ids
}

// TestEveryKratosMessageHasEnglish: a message Kratos v1.3.1 can send that
// the English catalog does not word would reach people in Kratos'
// jargon, untranslated.
func TestEveryKratosMessageHasEnglish(t *testing.T) {
	ids := kratosMessageIDs(t)
	c, err := Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	en := c.Default()
	for id, name := range ids {
		if _, ok := en.Message("kratos." + strconv.FormatInt(id, 10)); !ok {
			t.Errorf("kratos.%d (%s) has no English entry", id, name)
		}
	}
	t.Logf("%d Kratos %s message ids, all worded", len(ids), kratosVersion)
}
