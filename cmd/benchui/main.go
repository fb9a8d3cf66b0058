// Command benchui measures Tandem's pages against the Ory endpoints they
// are built from, on loopback: the same flow, the same cookies, closed-loop
// load from the same number of workers, phases alternated so that every
// target sees the same machine. It measures
//
//   - the login page (GET /login?flow=), in English and with
//     Accept-Language: de, against Kratos' GET /self-service/login/flows;
//   - the settings page of a signed-in identity (GET /settings?flow=)
//     against Kratos' GET /self-service/settings/flows;
//   - with -consent (the default), the consent page for Ory Hydra (one real
//     consent challenge for a real identity) against Hydra's own admin
//     endpoint for that challenge.
//
// With -brand, Tandem runs with a custom brand (name, logo, accent, links).
// It prints rates, p50/p99, their ratios, CPU per request and Tandem's peak
// RSS. Run it with `make bench-ui`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "benchui:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("benchui", flag.ContinueOnError)
	var o stackOptions
	workers := fs.Int("c", 16, "concurrent workers")
	phase := fs.Duration("phase", 4*time.Second, "length of one measured phase")
	rounds := fs.Int("rounds", 3, "phases per target, alternated")
	fs.StringVar(&o.tandemBin, "tandem", ".bin/tandem", "tandem binary")
	fs.StringVar(&o.tandemEnv, "tandem-env", "", "extra environment for tandem only, comma-separated (e.g. GOGC=100,GOMEMLIMIT=32MiB)")
	fs.BoolVar(&o.consent, "consent", true, "also measure the consent page against Hydra (needs .bin/hydra)")
	fs.BoolVar(&o.settings, "settings", true, "also measure the settings page of a signed-in identity")
	fs.BoolVar(&o.brand, "brand", false, "run Tandem with a custom brand (name, logo, accent, links)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "benchui-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	s, err := startStack(ctx, dir, o)
	if err != nil {
		return err
	}
	defer s.close()

	pairs, err := s.pairs(ctx, *workers)
	if err != nil {
		return err
	}
	fmt.Printf("benchui: %d workers, %d alternating phases of %v per target, loopback, %d CPUs, brand %v\n",
		*workers, *rounds, *phase, numCPU(), o.brand)
	m := &meter{client: s.client, workers: *workers, procs: s.procs()}
	m.measure(ctx, targetsOf(pairs), *rounds, *phase)
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := report(pairs, s.tandem.Process.Pid); err != nil {
		return err
	}
	for _, t := range targetsOf(pairs) {
		if t.errs > 0 {
			return errors.New("requests failed")
		}
	}
	return nil
}
