package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDefaultsAreValidInDevMode(t *testing.T) {
	v := NewViper()
	v.Set("dev", true)
	c, err := Load(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults in dev mode: %v", err)
	}
	if c.Prompts.Snooze != 14*24*time.Hour || c.Prompts.MaxShown != 3 {
		t.Errorf("prompt defaults = %v, %d", c.Prompts.Snooze, c.Prompts.MaxShown)
	}
}

func TestProductionNeedsSecrets(t *testing.T) {
	c, err := Load(NewViper())
	if err != nil {
		t.Fatal(err)
	}
	err = c.Validate()
	for _, field := range []string{"ui.cookie_secret", "hooks.api_key"} {
		var found bool
		for _, e := range unwrapAll(err) {
			var ve *ValidationError
			if errors.As(e, &ve) && ve.Field == field {
				found = true
			}
		}
		if !found {
			t.Errorf("no error names %s; got %v", field, err)
		}
	}
}

func unwrapAll(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func TestValidateNamesTheField(t *testing.T) {
	cases := map[string]struct {
		key   string
		value any
	}{
		"kratos.public_url":         {"kratos.public_url", "localhost:4433"},
		"kratos.admin_url":          {"kratos.admin_url", "ftp://x"},
		"ui.public_url":             {"ui.public_url", "http://127.0.0.1:4455"},
		"ui.listen":                 {"ui.listen", "4455"},
		"store.dsn":                 {"store.dsn", "mysql://x"},
		"log.level":                 {"log.level", "loud"},
		"hooks.admin_key":           {"hooks.admin_key", "same-key-as-the-hook-key"},
		"kratos.timeout":            {"kratos.timeout", "-1s"},
		"ui.allowed_return_urls[0]": {"ui.allowed_return_urls", []string{"not a url"}},
	}
	for want, tc := range cases {
		t.Run(want, func(t *testing.T) {
			v := NewViper()
			v.Set("dev", true)
			v.Set("hooks.api_key", "same-key-as-the-hook-key")
			v.Set(tc.key, tc.value)
			c, err := Load(v)
			if err != nil {
				t.Fatal(err)
			}
			err = c.Validate()
			if err == nil || !strings.Contains(err.Error(), want+":") {
				t.Fatalf("want an error naming %s, got %v", want, err)
			}
		})
	}
}

func TestPrecedenceFileEnvFlag(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "tandem.yml")
	if err := os.WriteFile(file, []byte("kratos:\n  public_url: http://from-file:4433\n  admin_url: http://file-admin:4434\nlog:\n  level: debug\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	v := NewViper()
	v.SetConfigFile(file)
	if err := v.ReadInConfig(); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"TANDEM_KRATOS_PUBLIC_URL":      "http://from-env:4433",
		"TANDEM_UI_ALLOWED_RETURN_URLS": "http://a.example,http://b.example",
		"TANDEM_PROMPTS_SNOOZE":         "48h",
		"TANDEM_DEV":                    "true",
	}
	if err := MergeEnv(v, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	v.Set("log.level", "warn") // what a bound flag does
	c, err := Load(v)
	if err != nil {
		t.Fatal(err)
	}
	if c.Kratos.PublicURL != "http://from-env:4433" {
		t.Errorf("env must beat the file: %s", c.Kratos.PublicURL)
	}
	if c.Kratos.AdminURL != "http://file-admin:4434" {
		t.Errorf("the file must beat defaults: %s", c.Kratos.AdminURL)
	}
	if c.Log.Level != "warn" {
		t.Errorf("flags must beat the file: %s", c.Log.Level)
	}
	if len(c.UI.AllowedReturnURLs) != 2 || c.Prompts.Snooze != 48*time.Hour || !c.Dev {
		t.Errorf("env values not decoded: %v %v %v", c.UI.AllowedReturnURLs, c.Prompts.Snooze, c.Dev)
	}
}
