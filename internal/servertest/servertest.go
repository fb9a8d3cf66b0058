// Package servertest runs the server binaries that Tandem's tests and
// benchmarks talk to (Kratos, Hydra, Mailpit) as real processes on
// loopback: found in the repository's .bin (or where an environment
// variable says), each in its own process group with its output in a log
// file, started, awaited until its health endpoints answer, and stopped.
// The packages that know each server's flags and configuration
// (kratosext/kratostest, hydraext/hydratest) build on it.
package servertest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// RepoRoot finds the repository root: the nearest parent with a go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// Binary returns the path of a server binary: the one the environment
// variable envVar names, or the repository's .bin/name; missing is the
// error when neither exists (it says how to install it).
func Binary(name, envVar string, missing error) (string, error) {
	if p := os.Getenv(envVar); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w", envVar, p, err)
		}
		return p, nil
	}
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	p := filepath.Join(root, ".bin", name)
	if _, err := os.Stat(p); err != nil {
		return "", missing
	}
	return p, nil
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Command is one run of a server binary.
type Command struct {
	// Name names the server in errors ("kratos").
	Name string
	// Bin and Args are what to run.
	Bin  string
	Args []string
	// Env is the environment (nil: this process's).
	Env []string
	// LogPath is the file its standard output and error go to; a Prepare
	// command appends to it.
	LogPath string
}

// Prepare runs a one-off command to completion (a migration, say) with its
// output in LogPath; its error carries the log's last lines.
func Prepare(c Command) error {
	logFile, err := os.OpenFile(c.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd := exec.Command(c.Bin, c.Args...)
	cmd.Env, cmd.Stdout, cmd.Stderr = c.Env, logFile, logFile
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w\n%s", c.Name, strings.Join(c.Args, " "), err, tail(c.LogPath, 40))
	}
	return nil
}

// Process is a running server.
type Process struct {
	name    string
	cmd     *exec.Cmd
	done    chan error
	once    sync.Once
	logPath string
}

// Start starts the server in its own process group (so that stopping it
// never signals the test) and waits up to timeout until every one of
// ready answers 200. On failure the server is stopped and the error
// carries its log's last lines. Call Close.
func Start(c Command, timeout time.Duration, ready ...string) (*Process, error) {
	logFile, err := os.OpenFile(c.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	p := &Process{name: c.Name, done: make(chan error, 1), logPath: c.LogPath}
	p.cmd = exec.Command(c.Bin, c.Args...)
	p.cmd.Env, p.cmd.Stdout, p.cmd.Stderr = c.Env, logFile, logFile
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", c.Name, err)
	}
	go func() { p.done <- p.cmd.Wait(); logFile.Close() }()

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := p.waitReady(ctx, ready); err != nil {
		p.Close()
		return nil, fmt.Errorf("%s did not become ready: %w\n%s", c.Name, err, p.LogTail(40))
	}
	return p, nil
}

func (p *Process) waitReady(ctx context.Context, urls []string) error {
	for _, u := range urls {
		for {
			resp, err := http.Get(u)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			select {
			case err := <-p.done:
				p.done <- err
				return fmt.Errorf("%s exited: %v", p.name, err)
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	return nil
}

// Close stops the server (SIGTERM, then SIGKILL after 5 s) and waits for
// it; the error says when it had to be killed.
func (p *Process) Close() error {
	var err error
	p.once.Do(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
			err = fmt.Errorf("%s did not stop on SIGTERM; killed", p.name)
		}
	})
	return err
}

// PID is the server's process id.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Alive reports whether the server is still running.
func (p *Process) Alive() bool {
	select {
	case err := <-p.done:
		p.done <- err
		return false
	default:
		return true
	}
}

// Log returns everything the server has written so far.
func (p *Process) Log() (string, error) {
	b, err := os.ReadFile(p.logPath)
	return string(b), err
}

// LogTail returns the last n lines the server wrote.
func (p *Process) LogTail(n int) string { return tail(p.logPath, n) }

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
