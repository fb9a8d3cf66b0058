package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"
)

// newMigrateCmd is `tandem migrate`: apply the device store's pending
// migrations and say which. `tandem serve` does the same at start unless
// store.migrate is false; operators who set it false (to migrate once,
// before rolling out replicas) run this instead.
func newMigrateCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Apply pending migrations to the device store (store.dsn)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := c.storeConfig()
			if err != nil {
				return err
			}
			t, err := parseStoreDSN(cfg.DSN)
			if err != nil {
				return err
			}
			applied, err := t.migrate(cmd.Context())
			if err != nil {
				return err
			}
			if len(applied) == 0 {
				_, err := fmt.Fprintf(c.stdout, "%s: schema is up to date, nothing to apply\n", t)
				return err
			}
			for _, m := range applied {
				if _, err := fmt.Fprintf(c.stdout, "%s: applied %s (version %d, %s)\n", t, m.Name, m.Version, m.Duration.Round(time.Microsecond)); err != nil {
					return err
				}
			}
			return nil
		},
	}
}
