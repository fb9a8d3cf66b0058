package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tandemauth/tandem/devices"
)

// newDevicesCmd is `tandem devices --identity ID`: what Tandem knows of an
// identity's passkeys and devices, as tables or, with --json, as JSON.
// It only reads: it never migrates the store.
func newDevicesCmd(c *cli) *cobra.Command {
	var identity string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "devices --identity ID",
		Short: "List an identity's passkeys and devices",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := c.storeConfig()
			if err != nil {
				return err
			}
			cfg.Migrate = false
			ctx := cmd.Context()
			store, err := openStore(ctx, cfg, slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
			if err != nil {
				return err
			}
			defer store.Close()
			creds, err := store.ListCredentials(ctx, identity, devices.CredentialFilter{IncludeRemoved: true})
			if err != nil {
				return err
			}
			linked, err := store.ListDevices(ctx, identity)
			if err != nil {
				return err
			}
			if asJSON {
				return writeDevicesJSON(c.stdout, identity, creds, linked)
			}
			return writeDevicesTables(c.stdout, identity, creds, linked)
		},
	}
	cmd.Flags().StringVar(&identity, "identity", "", "Kratos identity id (required)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of tables")
	_ = cmd.MarkFlagRequired("identity")
	return cmd
}

// devicesReport is the --json output.
type devicesReport struct {
	IdentityID  string                 `json:"identity_id"`
	Credentials []devices.Credential   `json:"credentials"`
	Devices     []devices.LinkedDevice `json:"devices"`
}

func writeDevicesJSON(w io.Writer, identity string, creds []devices.Credential, linked []devices.LinkedDevice) error {
	// Empty lists, never null: scripts iterate over them.
	if creds == nil {
		creds = []devices.Credential{}
	}
	if linked == nil {
		linked = []devices.LinkedDevice{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(devicesReport{IdentityID: identity, Credentials: creds, Devices: linked})
}

// nickname quotes the name the person gave a passkey (it may hold
// spaces), or "-".
func nickname(cr devices.Credential) string {
	if cr.Nickname == "" {
		return "-"
	}
	return strconv.Quote(cr.Nickname)
}

func writeDevicesTables(w io.Writer, identity string, creds []devices.Credential, linked []devices.LinkedDevice) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Passkeys of identity %s\n", identity)
	if len(creds) == 0 {
		fmt.Fprintln(tw, "  (none recorded)")
	} else {
		fmt.Fprintln(tw, "ID\tTYPE\tPROVIDER\tHELD BY\tTRANSPORTS\tCREATED ON\tCREATED\tLAST USED\tVIA\tUSES\tSTATUS\tNICKNAME")
		for _, cr := range creds {
			status := "active"
			if cr.Removed() {
				status = "removed " + tableTime(cr.RemovedAt)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n",
				shortID(string(cr.ID)), cr.Type, cr.ProviderName, heldBy(cr), dashIfEmpty(strings.Join(cr.Transports, ",")),
				createdOn(cr), tableTime(cr.CreatedAt), tableTime(cr.LastUsedAt), dashIfEmpty(string(cr.LastUsedVia)), cr.UseCount, status,
				nickname(cr))
		}
	}
	fmt.Fprintf(tw, "\nDevices of identity %s\n", identity)
	if len(linked) == 0 {
		fmt.Fprintln(tw, "  (none recorded)")
	} else {
		fmt.Fprintln(tw, "ID\tCLASS\tOS\tBROWSER\tPASSKEY-READY\tAUTOFILL\tHYBRID\tLOCAL PASSKEY\tFIRST SEEN\tLAST SEEN\tPROMPTS")
		for _, ld := range linked {
			d, l := ld.Device, ld.Link
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
				shortID(d.ID), d.Class, dashIfEmpty(d.OS), dashIfEmpty(d.Browser), d.Capabilities.PlatformAuthenticator,
				d.Capabilities.ConditionalMediation, d.Capabilities.HybridTransport, yesNo(l.LocalPasskey),
				tableTime(l.FirstSeenAt), tableTime(l.LastSeenAt), prompts(l))
		}
	}
	return tw.Flush()
}

// shortID keeps long ids readable in a table; --json has them whole.
func shortID(id string) string {
	const n = 22
	if len(id) <= n {
		return id
	}
	return id[:n] + "…"
}

func heldBy(c devices.Credential) string {
	switch {
	case c.PhoneHeld:
		return "phone"
	case c.Attachment == devices.AttachmentPlatform:
		return "built-in"
	case c.Attachment == devices.AttachmentCrossPlatform:
		return "security key"
	}
	return "-"
}

func createdOn(c devices.Credential) string {
	if c.CreatedOnClass == "" {
		return "-"
	}
	var parts []string
	for _, p := range []string{c.CreatedOnOS, c.CreatedOnBrowser} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 {
		return string(c.CreatedOnClass)
	}
	return string(c.CreatedOnClass) + " (" + strings.Join(parts, ", ") + ")"
}

func prompts(l devices.Link) string {
	var out []string
	for _, p := range []struct {
		name string
		s    devices.PromptState
	}{{"post-cda", l.PostCDA}, {"upgrade", l.Upgrade}} {
		var facts []string
		if p.s.ShownCount > 0 {
			facts = append(facts, fmt.Sprintf("shown %d", p.s.ShownCount))
		}
		if !p.s.SnoozedUntil.IsZero() {
			facts = append(facts, "snoozed until "+tableTime(p.s.SnoozedUntil))
		}
		if !p.s.AcceptedAt.IsZero() {
			facts = append(facts, "accepted")
		}
		if p.s.Never {
			facts = append(facts, "never")
		}
		if len(facts) > 0 {
			out = append(out, p.name+": "+strings.Join(facts, ", "))
		}
	}
	if len(out) == 0 {
		return "-"
	}
	return strings.Join(out, "; ")
}

func tableTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04Z")
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
