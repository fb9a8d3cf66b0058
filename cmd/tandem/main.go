// Command tandem is the Tandem binary: a passkey-first self-service UI and
// web-hook companion for Ory Kratos. main only calls run, so tests can run
// the whole program in process.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/tandemauth/tandem/config"
)

// version is set at link time (-ldflags "-X main.version=…").
var version = "dev"

func main() {
	ginReleaseMode()
	tuneGC(os.Getenv)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "tandem:", err)
		os.Exit(1)
	}
}

// tuneGC sets the collector for a small, busy server unless the operator
// set GOGC or GOMEMLIMIT. Tandem's live heap is a few MB, so the default
// GOGC=100 collects every few hundred requests: 200 halves that cost (a
// page went from ~326 to ~276 µs of CPU under saturating load, make
// bench-ui). A 24 MiB soft limit then keeps the headroom from growing
// under load (peak RSS 39 MB instead of 64), and only binds when the heap
// nears it; the runtime caps the collector's CPU if it ever does.
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(200)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(24 << 20)
	}
}

// cli is what every command shares: where to write, and how to read the
// configuration. It holds no globals; run builds a fresh one per call.
type cli struct {
	v      *viper.Viper
	getenv func(string) string
	stdout io.Writer
	stderr io.Writer
	// configFile is the --config flag.
	configFile string
}

// run builds the command tree and executes it with args.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	c := &cli{v: config.NewViper(), getenv: getenv, stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:           "tandem",
		Short:         "Passkey-first, phone-first self-service UI and web-hook companion for Ory Kratos",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVarP(&c.configFile, "config", "c", "", "configuration file (default: ./tandem.yml if present)")
	root.AddCommand(
		newServeCmd(c),
		newMigrateCmd(c),
		newDevicesCmd(c),
		newDoctorCmd(c),
		newVersionCmd(c),
	)
	return root.ExecuteContext(ctx)
}

// readConfig loads the file (if any), the environment and bound flags into
// a Config. It does not validate: each command checks what it needs.
func (c *cli) readConfig() (*config.Config, error) {
	if c.configFile != "" {
		c.v.SetConfigFile(c.configFile)
		if err := c.v.ReadInConfig(); err != nil {
			return nil, fmt.Errorf("read %s: %w", c.configFile, err)
		}
	} else if _, err := os.Stat("tandem.yml"); err == nil {
		c.v.SetConfigFile("tandem.yml")
		if err := c.v.ReadInConfig(); err != nil {
			return nil, fmt.Errorf("read tandem.yml: %w", err)
		}
	}
	if err := config.MergeEnv(c.v, c.getenv); err != nil {
		return nil, err
	}
	return config.Load(c.v)
}

// storeConfig is the part of the configuration the store commands need.
func (c *cli) storeConfig() (config.StoreConfig, error) {
	cfg, err := c.readConfig()
	if err != nil {
		return config.StoreConfig{}, err
	}
	if cfg.Store.DSN == "" {
		return config.StoreConfig{}, &config.ValidationError{Field: "store.dsn", Reason: "is required"}
	}
	return cfg.Store, nil
}

// newLogger builds the process logger from the log section.
func newLogger(w io.Writer, lc config.LogConfig) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(lc.Level))
	opts := &slog.HandlerOptions{Level: level}
	if lc.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func newVersionCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(c.stdout, "tandem", version)
			return err
		},
	}
}
