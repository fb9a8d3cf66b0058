package main

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// figures are one target's results.
type figures struct {
	rate     float64
	p50, p99 time.Duration
}

func (t *target) figures() figures {
	slices.Sort(t.lat)
	return figures{rate: float64(t.n) / t.took.Seconds(), p50: pct(t.lat, 0.50), p99: pct(t.lat, 0.99)}
}

// report prints each target, each Tandem page's ratios to its reference
// (the goals are the login page's), how the settings and consent pages
// compare with the login page, and Tandem's memory.
func report(pairs []pair, tandemPID int) error {
	fig := map[*target]figures{}
	for _, t := range targetsOf(pairs) {
		f := t.figures()
		fig[t] = f
		fmt.Printf("  %-42s %8.0f req/s   p50 %-9v p99 %-9v errors %d\n", t.name, f.rate, f.p50.Round(time.Microsecond), f.p99.Round(time.Microsecond), t.errs)
		if t.n > 0 {
			fmt.Printf("  %-42s CPU per request: kratos %v, tandem %v, hydra %v, load generator %v\n", "",
				perRequest(t, "kratos"), perRequest(t, "tandem"), perRequest(t, "hydra"), perRequest(t, "loadgen"))
		}
	}
	login := fig[pairs[0].tandem]
	for _, p := range pairs {
		t, r := fig[p.tandem], fig[p.reference]
		fmt.Printf("  ratio %-36s rate %.2fx   p50 %.2fx   p99 %.2fx   (rate against the login page %.2fx)\n",
			p.tandem.name+":", t.rate/r.rate, float64(t.p50)/float64(r.p50), float64(t.p99)/float64(r.p99), t.rate/login.rate)
	}
	fmt.Println("  goals: the login page ≥ 0.75x Kratos' rate with p99 ≤ 1.5x; the settings page not more than 2x slower than the login page")
	rss, err := peakRSS(tandemPID)
	if err != nil {
		return err
	}
	anon, file := rssSplit(tandemPID)
	fmt.Printf("  tandem peak RSS: %.1f MB (goal ≤ 40); now %.1f MB anonymous + %.1f MB mapped from the binary\n",
		float64(rss)/1e6, float64(anon)/1e6, float64(file)/1e6)
	return nil
}

func perRequest(t *target, proc string) time.Duration {
	return (t.cpu[proc] / time.Duration(t.n)).Round(time.Microsecond)
}

// peakRSS reads the process' high-water resident set (VmHWM) in bytes.
func peakRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			f := strings.Fields(line)
			kb, err := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024, err
		}
	}
	return 0, errors.New("no VmHWM")
}

// rssSplit reads the process' resident memory now: anonymous (heap,
// stacks) and file-backed (the binary's pages).
func rssSplit(pid int) (anon, file int64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "RssAnon:":
			anon = kb * 1024
		case "RssFile:":
			file = kb * 1024
		}
	}
	return anon, file
}

// cpuTimes reads each process' user+system CPU time from /proc.
func cpuTimes(procs map[string]int) map[string]time.Duration {
	out := map[string]time.Duration{}
	for name, pid := range procs {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// Fields after the command name, which is in parentheses.
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
		utime, _ := strconv.ParseInt(f[11], 10, 64)
		stime, _ := strconv.ParseInt(f[12], 10, 64)
		out[name] = time.Duration(utime+stime) * time.Second / 100 // USER_HZ
	}
	return out
}

func numCPU() int {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return 0
	}
	return strings.Count(string(b), "processor\t:")
}
