package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// AWS's Lambda Runtime Interface Emulator: installed, started, invoked,
// stopped.

const (
	rieModule = "github.com/aws/aws-lambda-runtime-interface-emulator"
	// rieVersion is pinned: RIE's tags are not semantic versions, so this
	// is the pseudo-version @latest resolved to. scripts/e2e.sh pins the
	// same one (a test keeps them equal).
	rieVersion = "v0.0.0-20261030222936-bef5c4ba774d"
	// rieInvokePath is where RIE takes invokes, as Lambda's Invoke API.
	rieInvokePath = "/2015-03-31/functions/function/invocations"
	// maxResponse bounds a response read: Lambda's payload limit is 6 MB.
	maxResponse = 7 << 20
)

// installRIE returns the RIE binary to run: -rie, or the pinned version,
// which it installs into the cache the first time.
func installRIE(ctx context.Context, cfg config, logw io.Writer) (string, error) {
	if cfg.rie != "" {
		fi, err := os.Stat(cfg.rie)
		if err != nil {
			return "", fmt.Errorf("-rie: %w", err)
		}
		if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
			return "", fmt.Errorf("-rie: %s is not an executable file", cfg.rie)
		}
		return cfg.rie, nil
	}
	dir := filepath.Join(cfg.cache, "rie-"+rieVersion+"-"+runtime.GOARCH)
	bin := filepath.Join(dir, "aws-lambda-rie")
	if fi, err := os.Stat(bin); err == nil && fi.Mode().IsRegular() {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("RIE's cache: %w", err)
	}
	// Installed into a directory of its own, then renamed into place: two
	// runs that install at once each get a whole binary.
	tmp, err := os.MkdirTemp(dir, "install-")
	if err != nil {
		return "", fmt.Errorf("RIE's cache: %w", err)
	}
	defer os.RemoveAll(tmp)
	pkg := rieModule + "/cmd/aws-lambda-rie@" + rieVersion
	fmt.Fprintf(logw, "mw-local: installing AWS's Lambda Runtime Interface Emulator, once: go install %s\n", pkg)
	cmd := exec.CommandContext(ctx, "go", "install", pkg)
	cmd.Env = append(os.Environ(), "GOBIN="+tmp, "GOOS=linux", "GOARCH="+runtime.GOARCH, "CGO_ENABLED=0")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		_, _ = logw.Write(out.Bytes())
		return "", fmt.Errorf("installing RIE failed (go install %s: %v); it needs the Go module proxy the first time, or give a binary with -rie", pkg, err)
	}
	if err := os.Rename(filepath.Join(tmp, "aws-lambda-rie"), bin); err != nil {
		return "", fmt.Errorf("RIE's cache: %w", err)
	}
	return bin, nil
}

// errRIEExited says RIE is gone.
var errRIEExited = errors.New("RIE exited")

// rie is a running RIE.
type rie struct {
	cmd    *exec.Cmd
	addr   string // host:port where it takes invokes
	log    *rieLog
	exited chan struct{} // closed when it has exited
	err    error         // how it exited, once exited is closed
	client *http.Client
}

// startRIE runs bin on the bootstrap (the shim), taking invokes at addr and
// serving the Runtime API at apiAddr, with env as its environment (which it
// passes on to the function). The function's output goes to out.
func startRIE(bin, addr, apiAddr, bootstrap string, env []string, out *output, log *rieLog, timeout time.Duration) (*rie, error) {
	cmd := exec.Command(bin,
		"--runtime-interface-emulator-address", addr,
		"--runtime-api-address", apiAddr,
		"--log-level", "info",
		bootstrap)
	cmd.Env = env
	cmd.Stdout = out.w
	cmd.Stderr = log.w
	cmd.SysProcAttr = procAttr()
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting RIE: %w", err)
	}
	r := &rie{
		cmd:    cmd,
		addr:   addr,
		log:    log,
		exited: make(chan struct{}),
		// An invoke may take its INIT and its timeout, each as long as
		// -timeout under RIE, and then some.
		client: &http.Client{Timeout: 2*timeout + 30*time.Second, Transport: &http.Transport{}},
	}
	go func() {
		r.err = cmd.Wait()
		close(r.exited)
	}()
	return r, r.waitUp()
}

// waitUp waits until RIE takes connections, or exits, for up to 10 s. RIE
// says nothing when it listens: it is asked.
func (r *rie) waitUp() error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", r.addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-r.exited:
			r.log.mark()
			return fmt.Errorf("%w before it took invokes (%v); its last words:\n  %s", errRIEExited, r.err, strings.Join(r.log.lastLines(10), "\n  "))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			r.stop()
			return fmt.Errorf("RIE did not take connections on %s within 10 s", r.addr)
		}
	}
}

// invoke sends one invoke, with id as its request id, and returns RIE's
// answer.
func (r *rie) invoke(ctx context.Context, id string, event []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+r.addr+rieInvokePath, bytes.NewReader(event))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("X-Amzn-RequestId", id)
	req.Header.Set("Content-Type", "application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		select {
		case <-r.exited:
			return 0, nil, fmt.Errorf("%w during the invoke (%v)", errRIEExited, r.err)
		default:
			return 0, nil, err
		}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	return resp.StatusCode, body, err
}

// stop asks RIE to stop (SIGTERM: it stops the function first, as Lambda
// sends SHUTDOWN), and kills it if it has not within 5 s.
func (r *rie) stop() {
	r.client.CloseIdleConnections()
	select {
	case <-r.exited:
		return
	default:
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.exited:
	case <-time.After(5 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.exited
	}
}

// freeAddr returns a loopback address with a port free now, for a server
// mw-local cannot hand a listener (RIE).
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// errAddrInUse tells whether RIE exited because a port was taken since
// freeAddr found it free.
func errAddrInUse(err error, log *rieLog) bool {
	if !errors.Is(err, errRIEExited) {
		return false
	}
	for _, l := range log.lastLines(10) {
		if strings.Contains(l, "address already in use") {
			return true
		}
	}
	return false
}
