package kratosext

import (
	"encoding/json"
	"os"
	"testing"

	jsonv2 "github.com/go-json-experiment/json"
)

func BenchmarkDecodeFlow(b *testing.B) {
	raw, err := os.ReadFile("testdata/flows/login.json")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var f Flow
			if err := json.Unmarshal(raw, &f); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json/v2", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var f Flow
			if err := jsonv2.Unmarshal(raw, &f); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ceremonies", func(b *testing.B) {
		var f Flow
		_ = jsonv2.Unmarshal(raw, &f)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Ceremonies(&f.UI); err != nil {
				b.Fatal(err)
			}
		}
	})
}
