package postgres_test

import (
	"testing"

	"github.com/tandemauth/tandem/devices/postgres"
	"github.com/tandemauth/tandem/devices/storetest"
)

// Run with, e.g.:
//
//	TEST_POSTGRES_DSN='postgres://postgres@127.0.0.1:5432/test?sslmode=disable' \
//	  go test ./devices/postgres -run '^$' -bench RecordLogin -benchtime 2s -count 3
func BenchmarkRecordLogin(b *testing.B) {
	for _, writers := range []int{1, 16} {
		b.Run(map[int]string{1: "writers=1", 16: "writers=16"}[writers], func(b *testing.B) {
			dsn := MustSchema(b)
			MustMigrate(b, dsn)
			s := MustOpen(b, dsn, postgres.Options{})
			storetest.BenchmarkRecordLogin(b, s, writers, nil)
		})
	}
}
