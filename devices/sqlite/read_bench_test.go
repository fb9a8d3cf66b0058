package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/tandemauth/tandem/devices"
)

// BenchmarkGetCredential reads one credential, as the after-login hook
// does for every passkey login, through the prepared statement the store
// keeps (prepared) and, for reference in the same run, through the same
// read pool parsing the SQL every time (parsed), as the store did before.
//
//	go test ./devices/sqlite -run '^$' -bench GetCredential -benchtime 2s -count 3
func BenchmarkGetCredential(b *testing.B) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "tandem.db")
	if _, err := Migrate(ctx, path); err != nil {
		b.Fatal(err)
	}
	s, err := Open(ctx, path, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	id, err := devices.CredentialIDFromBytes([]byte("benchmark-credential-id-00000001"))
	if err != nil {
		b.Fatal(err)
	}
	_, err = s.RecordRegistration(ctx, devices.Registration{Key: devices.EventKey{Point: "after-registration", FlowID: "f1"}, Method: "passkey",
		Credential: devices.Credential{ID: id, IdentityID: "i1", Type: devices.TypePasskey, Attachment: devices.AttachmentCrossPlatform, Transports: []string{"hybrid"}},
		Device:     devices.Device{ID: "0123456789abcdef0123456789abcdef", Class: devices.ClassDesktop}})
	if err != nil {
		b.Fatal(err)
	}
	const q = `SELECT ` + credentialCols + ` FROM credentials WHERE id = ?1`
	b.Run("prepared", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.GetCredential(ctx, id); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parsed", func(b *testing.B) {
		for b.Loop() {
			if _, err := scanCredential(s.reader.QueryRowContext(ctx, q, string(id))); err != nil {
				b.Fatal(err)
			}
		}
	})
}
