package kratostest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tandemauth/tandem/internal/servertest"
)

// Mailpit is a running Mailpit (scripts/install-mailpit.sh builds it): an
// SMTP server Kratos' courier delivers to, with a REST API the tests read
// the messages from, so that recovery and verification e-mails go over a
// real SMTP connection.
type Mailpit struct {
	// SMTPURL is the courier's connection URI (plain SMTP on loopback).
	SMTPURL string
	// WebURL is the inbox page and the API's base.
	WebURL string

	// Process is the running server: Close, PID, Alive, Log, LogTail.
	*servertest.Process
}

// ErrNoMailpit means the Mailpit binary is not installed.
var ErrNoMailpit = errors.New("mailpit binary not found: run scripts/install-mailpit.sh (make test does)")

// MailpitBinary returns $MAILPIT_BIN or the repository's .bin/mailpit.
func MailpitBinary() (string, error) {
	return servertest.Binary("mailpit", "MAILPIT_BIN", ErrNoMailpit)
}

// StartMailpit runs Mailpit on free loopback ports, its database under
// dir. Call Close.
func StartMailpit(dir string) (*Mailpit, error) {
	bin, err := MailpitBinary()
	if err != nil {
		return nil, err
	}
	smtpPort, err := FreePort()
	if err != nil {
		return nil, err
	}
	webPort, err := FreePort()
	if err != nil {
		return nil, err
	}
	m := &Mailpit{
		SMTPURL: "smtp://127.0.0.1:" + strconv.Itoa(smtpPort) + "/?disable_starttls=true",
		WebURL:  "http://127.0.0.1:" + strconv.Itoa(webPort),
	}
	m.Process, err = servertest.Start(servertest.Command{Name: "mailpit", Bin: bin,
		Args: []string{"--smtp", "127.0.0.1:" + strconv.Itoa(smtpPort), "--listen", "127.0.0.1:" + strconv.Itoa(webPort),
			"--database", filepath.Join(dir, "mailpit.db"), "--disable-version-check"},
		LogPath: filepath.Join(dir, "mailpit.log")}, 15*time.Second, m.WebURL+"/readyz")
	if err != nil {
		return nil, err
	}
	return m, nil
}

// Mail is a message as Mailpit's API shows it.
type Mail struct {
	ID      string
	Subject string
	To      []string
	Text    string
}

// Mails lists the messages to recipient, newest first, with their text.
func (m *Mailpit) Mails(ctx context.Context, recipient string) ([]Mail, error) {
	var list struct {
		Messages []struct {
			ID      string `json:"ID"`
			Subject string `json:"Subject"`
			To      []struct {
				Address string `json:"Address"`
			} `json:"To"`
		} `json:"messages"`
	}
	q := url.Values{"query": {`to:"` + recipient + `"`}}
	if err := m.getJSON(ctx, "/api/v1/search?"+q.Encode(), &list); err != nil {
		return nil, err
	}
	var out []Mail
	for _, l := range list.Messages {
		var msg struct {
			Text string `json:"Text"`
		}
		if err := m.getJSON(ctx, "/api/v1/message/"+url.PathEscape(l.ID), &msg); err != nil {
			return nil, err
		}
		mail := Mail{ID: l.ID, Subject: l.Subject, Text: msg.Text}
		for _, to := range l.To {
			mail.To = append(mail.To, to.Address)
		}
		out = append(out, mail)
	}
	return out, nil
}

// Code waits (until ctx ends) for a message to recipient whose subject
// contains subject and returns the six-digit code in it. It never returns
// a code from a message in skip (ids of messages already used).
func (m *Mailpit) Code(ctx context.Context, recipient, subject string, skip ...string) (string, Mail, error) {
	for {
		mails, err := m.Mails(ctx, recipient)
		if err == nil {
			for _, mail := range mails {
				if !strings.Contains(mail.Subject, subject) || contains(skip, mail.ID) {
					continue
				}
				if c := sixDigits.FindStringSubmatch(mail.Text); c != nil {
					return c[1], mail, nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return "", Mail{}, fmt.Errorf("no message %q to %s in Mailpit: %w", subject, recipient, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func (m *Mailpit) getJSON(ctx context.Context, path string, dst any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.WebURL+path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("mailpit %s: %d", path, resp.StatusCode)
	}
	return json.Unmarshal(body, dst)
}

// RequireMailpit returns a running Mailpit for the test, or ends it: a
// skip locally when the binary is missing, a failure when CI=true.
func RequireMailpit(tb testing.TB) *Mailpit {
	tb.Helper()
	m, err := StartMailpit(tb.TempDir())
	if err != nil {
		if errors.Is(err, ErrNoMailpit) && os.Getenv("CI") != "true" {
			tb.Skip(err.Error())
		}
		tb.Fatal(err)
	}
	tb.Cleanup(func() { m.Close() })
	return m
}
