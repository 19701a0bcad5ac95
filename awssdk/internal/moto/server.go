// Package moto runs moto (moto_server, a widely used AWS emulator written by
// others) on a loopback port for the awssdk tests, and puts a Backend in
// front of it: a counting, fault-injecting proxy that seeds parameters and
// secrets with the same methods as mwtest.Extension.
package moto

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// Command is the program Start runs.
const Command = "moto_server"

// ErrMissing is what Start returns when Command is not on PATH.
var ErrMissing = errors.New(Command + " not found on PATH: the awssdk tests run against moto, a local AWS (moto 5.2.1: pip install 'moto[server]==5.2.1')")

// A Server is a running moto_server. Its state (every parameter and secret)
// is shared by all who use it; Reset clears it.
type Server struct {
	URL  string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	out  bytes.Buffer  // its output, for a failure to start
}

// Start runs moto_server on a free loopback port in a process group of its
// own, and returns once it answers HTTP, or fails within timeout. Close
// stops it.
func Start(timeout time.Duration) (*Server, error) {
	path, err := exec.LookPath(Command)
	if err != nil {
		return nil, ErrMissing
	}
	var lastErr error
	for range 3 { // the free port may be taken before moto binds it
		s, err := start(path, timeout)
		if err == nil {
			return s, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func start(path string, timeout time.Duration) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &Server{URL: "http://127.0.0.1:" + strconv.Itoa(port), done: make(chan struct{})}
	s.cmd = exec.Command(path, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	s.cmd.Stdout, s.cmd.Stderr = &s.out, &s.out
	// Its own process group, so that Close ends moto and any child of the
	// pyenv shim that runs it; and killed with the test binary.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("moto: start %s: %w", path, err)
	}
	go func() {
		s.cmd.Wait() // its exit is reported through done
		close(s.done)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := s.waitReady(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("moto: %s did not answer on %s: %w; its output:\n%s", Command, s.URL, err, s.out.String())
	}
	return s, nil
}

// waitReady polls the server until it answers, it exits, or ctx ends.
func (s *Server) waitReady(ctx context.Context) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/moto-api/data.json", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.done:
			return errors.New("it exited")
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Reset clears every parameter and secret (moto's POST /moto-api/reset).
func (s *Server) Reset() error {
	resp, err := http.Post(s.URL+"/moto-api/reset", "application/json", nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("moto: reset: HTTP %d", resp.StatusCode)
	}
	return nil
}

// Close stops the server's process group (SIGTERM, then SIGKILL after 5 s)
// and waits for it to exit.
func (s *Server) Close() {
	pgid := s.cmd.Process.Pid
	syscall.Kill(-pgid, syscall.SIGTERM) // it may have exited
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-s.done
	}
}

// Missing reports, for TestMain, what to do when moto_server is missing:
// it says so on standard error, and returns true when the tests must
// fail, which they do unless MW_MOTO_ALLOW_SKIP=1 asks to skip them: a
// skipped test must not pass for a tested one unseen.
func Missing() (fail bool) {
	fail = os.Getenv("MW_MOTO_ALLOW_SKIP") != "1"
	what := "skipping the tests that need it, as MW_MOTO_ALLOW_SKIP=1 asks"
	if fail {
		what = "failing; install moto, or set MW_MOTO_ALLOW_SKIP=1 to skip the tests that need it"
	}
	fmt.Fprintf(os.Stderr, "awssdk: %v; %s\n", ErrMissing, what)
	return fail
}

// Main is a test binary's TestMain: it starts moto_server, gives it to use
// (nil when it is missing and Missing allows skipping), runs the tests,
// stops the server, and returns the exit code for os.Exit.
func Main(m *testing.M, use func(*Server)) int {
	srv, err := Start(30 * time.Second)
	switch {
	case err == ErrMissing:
		if Missing() {
			return 1
		}
	case err != nil:
		fmt.Println("awssdk:", err)
		return 1
	default:
		use(srv)
		defer srv.Close()
	}
	return m.Run()
}
