package sqlite_test

import (
	"testing"

	"github.com/tandemauth/tandem/devices/sqlite"
	"github.com/tandemauth/tandem/devices/storetest"
)

// Run with, e.g.:
//
//	go test ./devices/sqlite -run '^$' -bench RecordLogin -benchtime 2s -count 3
func BenchmarkRecordLogin(b *testing.B) {
	for _, writers := range []int{1, 16} {
		b.Run(map[int]string{1: "writers=1", 16: "writers=16"}[writers], func(b *testing.B) {
			s, _ := MustOpen(b, sqlite.Options{})
			storetest.BenchmarkRecordLogin(b, s, writers, sqlite.IsBusy)
		})
	}
}
